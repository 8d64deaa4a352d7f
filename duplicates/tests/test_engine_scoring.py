import random
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from duplicates.engine.corpus import jitter_layout, random_layout
from duplicates.engine.scoring import (
    FACTORS,
    ScoringConfig,
    build_context,
    confidence,
    contributions,
    score_factors,
    shingle_factors,
)
from duplicates.engine.signatures import SignatureParams
from duplicates.engine.types import DocFeatures

PARAMS = SignatureParams()
PAGE = " ".join(f"wort{i % 97} satz{i % 13} teil{i % 7}" for i in range(150))


def _doc(doc_id, **fields):
    base = {
        "text": PAGE,
        "correspondent_id": 1,
        "document_type_id": 2,
        "created": date(2024, 3, 1),
        "page_count": 2,
        "size": 100_000,
        "title": "Vertrag Wohnung",
        "original_file_name": "vertrag.pdf",
        "checksum": f"c{doc_id}",
    }
    base.update(fields)
    return DocFeatures(id=doc_id, **base)


def _factors(left, right, config=None):
    config = config or ScoringConfig()
    return score_factors(
        left,
        right,
        left_context=build_context(left, params=PARAMS),
        right_context=build_context(right, params=PARAMS),
        config=config,
    )


def test_every_factor_is_kept_separately():
    factors = _factors(_doc(1), _doc(2))
    assert set(FACTORS) <= set(factors)


def test_identical_text_has_full_jaccard_containment_and_fuzzy_ratio():
    factors = _factors(_doc(1), _doc(2))
    assert factors["jaccard"] == factors["containment"] == factors["fuzzy"] == 1.0


def test_extract_has_high_containment_but_low_jaccard():
    words = PAGE.split()
    factors = _factors(_doc(1), _doc(2, text=" ".join(words[: len(words) // 3])))
    assert factors["containment"] > 0.95
    assert factors["jaccard"] < 0.5


def test_shingle_factors_count_shared_shingles_exactly():
    left = np.array([1, 2, 3, 4], dtype=np.uint32)
    right = np.array([3, 4, 5], dtype=np.uint32)
    jaccard, containment = shingle_factors(left, right)
    assert jaccard == pytest.approx(2 / 5)
    assert containment == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("field", "other", "factor", "expected"),
    [
        ("correspondent_id", 9, "correspondent", 0.0),
        ("correspondent_id", None, "correspondent", None),
        ("document_type_id", 9, "document_type", 0.0),
        ("page_count", 4, "page_count", 0.5),
        ("size", 50_000, "size", 0.5),
        ("checksum", "c1", "checksum", 1.0),
    ],
)
def test_metadata_factors(field, other, factor, expected):
    assert _factors(_doc(1), _doc(2, **{field: other}))[factor] == expected


def test_created_factor_decays_with_days_apart():
    same = _factors(_doc(1), _doc(2))["created"]
    near = _factors(_doc(1), _doc(2, created=date(2024, 3, 10)))["created"]
    far = _factors(_doc(1), _doc(2, created=date(2024, 9, 1)))["created"]
    assert same == 1.0 > near > far == 0.0


def test_title_and_file_name_factors_use_fuzzy_similarity():
    factors = _factors(_doc(1), _doc(2, title="Vertrag Whonung", original_file_name="x.pdf"))
    assert 0.8 < factors["title"] < 1.0
    assert factors["filename"] < 0.5


def test_the_image_factor_compares_page_layouts_and_is_unknown_without_them():
    rng = random.Random(4)
    layout = random_layout(rng)
    same = _factors(_doc(1, layout=layout), _doc(2, layout=jitter_layout(layout, rng)))
    other = _factors(_doc(1, layout=layout), _doc(2, layout=random_layout(rng)))
    assert same["image"] > 0.9 > other["image"]
    # perceptual hashes of the whole page say nothing on their own any more
    assert (
        _factors(_doc(1, phash=0xFFFF0000FFFF0000), _doc(2, phash=0xFFFF0000FFFF0000))["image"]
        is None
    )


def test_checksum_match_is_certain():
    factors = _factors(_doc(1), _doc(2, checksum="c1", text="ganz anders"))
    assert confidence(factors, config=ScoringConfig()) == 1.0


def test_different_amounts_veto_an_otherwise_identical_bill():
    bill = PAGE + " Rechnung RE-2024-11111 vom 01.03.2024 Betrag 120,50 EUR faellig 15.03.2024"
    other = PAGE + " Rechnung RE-2024-22222 vom 01.04.2024 Betrag 98,10 EUR faellig 15.04.2024"
    factors = _factors(_doc(1, text=bill), _doc(2, text=other))
    assert factors["discriminative"] == 0.0
    assert confidence(factors, config=ScoringConfig()) < ScoringConfig().threshold
    assert confidence(factors, config=ScoringConfig(), veto=False) > ScoringConfig().threshold


def test_one_misread_character_keeps_a_bill_a_duplicate():
    bill = PAGE + " Rechnung RE-2024-11111 vom 01.03.2024 Betrag 120,50 EUR faellig 15.03.2024"
    misread = bill.replace("RE-2024-11111", "RE-2024-11171")
    factors = _factors(_doc(1, text=bill), _doc(2, text=misread))
    assert factors["discriminative"] == 1.0
    assert confidence(factors, config=ScoringConfig()) >= ScoringConfig().threshold


def test_rescoring_with_other_weights_needs_only_the_factors():
    # another sender, title, size and a date a year later: the metadata speaks against the pair
    other = _doc(2, correspondent_id=9, title="Anderes", size=10, created=date(2025, 3, 1))
    factors = _factors(_doc(1), other)
    default = confidence(factors, config=ScoringConfig())
    weights = {**ScoringConfig().weights, "metadata": 0.0}
    without_metadata = confidence(factors, config=ScoringConfig(weights=weights))
    assert without_metadata > default


def test_switching_off_a_factor_that_speaks_against_a_pair_raises_its_score():
    factors = _factors(_doc(1), _doc(2, page_count=5, created=date(2024, 9, 1)))
    config = ScoringConfig()
    moved = contributions(factors, config=config)
    against = [name for name, amount in moved.items() if amount < 0 and name in FACTORS]
    assert against
    for name in against:
        switched_off = replace(config, enabled=config.enabled - {name})
        assert confidence(factors, config=switched_off) > confidence(factors, config=config)
        assert name not in contributions(factors, config=switched_off)


def test_a_weight_multiplies_what_the_model_learned_for_the_factor():
    factors = _factors(_doc(1), _doc(2, page_count=5))
    config = ScoringConfig()
    learned = contributions(factors, config=config)
    double = ScoringConfig(weights={**config.weights, "page_count": 2.0})
    assert contributions(factors, config=double)["page_count"] == 2 * learned["page_count"]


def test_switching_off_the_discriminative_check_lets_template_bills_through():
    bill = PAGE + " Rechnung RE-2024-11111 vom 01.03.2024 Betrag 120,50 EUR"
    other = PAGE + " Rechnung RE-2024-22222 vom 01.04.2024 Betrag 98,10 EUR"
    factors = _factors(_doc(1, text=bill), _doc(2, text=other))
    config = ScoringConfig()
    off = replace(config, enabled=config.enabled - {"discriminative"})
    assert confidence(factors, config=off) > confidence(factors, config=config)


@pytest.mark.parametrize("text", ["", "Parcel notification: left with the neighbour."])
def test_a_closer_page_layout_never_lowers_a_score(text):
    rng = random.Random(9)
    layout = random_layout(rng)
    left = _doc(1, text=text, layout=layout)
    close = _factors(left, _doc(2, text=text, layout=jitter_layout(layout, rng)))
    far = _factors(left, _doc(3, text=text, layout=random_layout(rng)))
    config = ScoringConfig()
    assert close["image"] > far["image"]
    assert confidence(close, config=config) >= confidence(far, config=config)
