"""Detection on real documents: the labelled real-OCR corpus (duplicates/evaluation/data, built by
``manage.py build_corpus`` with ReportLab, poppler, tesseract and OCRmyPDF), scored by the
shipped model on its held-out part, which nothing was tuned on.

The figures these tests hold the engine to are the ones it reaches today (README, "Detection");
the issue's goals (recall 0.95 in every category) are not all reached yet, and the tests say
which are."""

from __future__ import annotations

import pytest

from duplicates.engine import EngineConfig
from duplicates.engine.model import default_model
from duplicates.evaluation import quality

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SOLID = ("resaved", "image_format", "image_pdf", "multi_tiff", "rescan", "stamped")


@pytest.fixture(scope="module")
def report() -> quality.Report:
    return quality.run(split="heldout", config=EngineConfig(workers=1))


def test_nothing_unrelated_is_grouped_on_the_held_out_part(report):
    row = report.by_variant()["engine"]["all"]
    assert row.true_pairs > 300
    assert row.precision >= 0.97


def test_hard_negatives_are_never_grouped(report):
    grouped = report.relations()["engine"]
    for relation in ("template_bill", "licence_revision", "form_letter", "short_near",
                     "same_shop", "part_of", "halves"):  # fmt: skip
        pairs, wrong = grouped[relation]
        assert pairs > 0 and wrong == 0, relation


def test_extracts_are_shown_as_part_of_their_document(report):
    labelled, shown = report.part_of_shown()
    assert labelled > 20 and shown >= 0.8 * labelled


def test_the_engine_finds_most_copies_and_beats_both_baselines_overall(report):
    rows = {method: rows["all"] for method, rows in report.by_variant().items()}
    assert rows["engine"].recall >= 0.8
    assert rows["engine"].f1 > rows["paperless_fuzzy"].f1
    assert rows["engine"].f1 > rows["minhash_lsh"].f1


@pytest.mark.parametrize("variant", SOLID)
def test_scans_pdfs_and_image_files_are_found(report, variant):
    row = report.by_variant()["engine"][variant]
    assert row.recall >= 0.85, (variant, row)
    assert row.precision >= 0.97, (variant, row)


def test_the_shipped_model_is_what_calibration_fits_on_the_training_part():
    """model.json must come from the committed corpus (re-run ``manage.py calibrate --write``
    after changing the corpus, the factors or the calibration)."""
    from duplicates.evaluation import calibrate

    shipped = default_model()
    corpus = quality.load(split="train")
    edges = calibrate.scored_pairs(corpus)
    labels = calibrate._labels(corpus, edges)
    assert shipped.info["training_pairs"] == len(edges)
    assert shipped.info["training_duplicates"] == int(labels.sum())
    matrix = calibrate.design(edges, short_tokens=shipped.short_tokens)
    regimes = calibrate.np.array(
        [calibrate.regime_of(e, short_tokens=shipped.short_tokens) for e in edges]
    )
    fitted = calibrate._fit_regimes(
        matrix, labels, regimes, iterations=shipped.info["trees"], leaves=shipped.info["leaves"]
    )
    for regime in calibrate.REGIMES:
        bias, features = calibrate.step_functions(
            fitted[regime], matrix[(regimes == regime) & (labels == 1)], regime=regime
        )
        assert bias == pytest.approx(shipped.bias[regime], abs=1e-5)
        mine = {f.name: f for f in shipped.features if f.regime == regime}
        assert {f.name for f in features} == set(mine)
        for feature in features:
            assert feature.edges == pytest.approx(mine[feature.name].edges)
            assert feature.values == pytest.approx(mine[feature.name].values, abs=1e-5)
