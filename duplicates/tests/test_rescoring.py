"""The column-wise re-scoring gives exactly the engine's confidence, pair by pair."""

from __future__ import annotations

import random

import pytest

from duplicates.engine import FACTORS, ScoringConfig, confidence
from duplicates.engine.scoring import DEFAULT_WEIGHTS, INFO_FACTORS
from duplicates.rescoring import confidences

KEYS = (*FACTORS, *INFO_FACTORS)


def random_factors(rng: random.Random) -> dict[str, object]:
    factors: dict[str, object] = {}
    for name in KEYS:
        roll = rng.random()
        if roll < 0.15:
            continue  # missing
        if roll < 0.25:
            factors[name] = None
        elif roll < 0.4:
            factors[name] = rng.choice([0.0, 1.0, 0, 1, 0.5, 3, 12, 45])
        else:
            factors[name] = round(rng.random(), rng.choice([2, 4, 17]))
    return factors


def random_config(rng: random.Random) -> ScoringConfig:
    enabled = frozenset(name for name in FACTORS if rng.random() < 0.75)
    weights = {
        name: rng.choice([weight, 0.0, round(rng.uniform(0, 2.5), 3)])
        for name, weight in DEFAULT_WEIGHTS.items()
    }
    return ScoringConfig(weights=weights, enabled=enabled)


@pytest.mark.parametrize("seed", range(40))
def test_confidences_equal_the_engine_on_random_factor_dicts(seed):
    rng = random.Random(seed)
    config = ScoringConfig() if seed == 0 else random_config(rng)
    rows = [random_factors(rng) for _ in range(500)]
    rows += [{}, None, {"checksum": 1.0}, {"text_reliable": 0, "image": 0.8}]

    for veto in (True, False):
        expected = [confidence(f or {}, config=config, veto=veto) for f in rows]
        assert confidences(rows, config=config, veto=veto) == expected


def test_switched_off_factors_as_the_groups_list_does():
    rng = random.Random(7)
    saved = ScoringConfig()
    switched = ScoringConfig(enabled=saved.enabled - {"image", "title", "fuzzy"})
    rows = [random_factors(rng) for _ in range(2000)]
    for config in (saved, switched):
        assert confidences(rows, config=config) == [confidence(f, config=config) for f in rows]


def test_odd_values_take_the_engines_own_path():
    config = ScoringConfig()
    rows = [
        {"text_reliable": True, "jaccard": 0.9, "fuzzy": 0.97},
        {"text_reliable": 1.0, "jaccard": float("nan"), "fuzzy": 0.97},
        {"text_reliable": 1.0, "jaccard": 2**60, "fuzzy": 0.97},
    ]
    assert confidences(rows, config=config) == [confidence(f, config=config) for f in rows]
    assert confidences([], config=config) == []
