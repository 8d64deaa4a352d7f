"""Exact scoring of candidate pairs, one factor at a time, and the confidence formula.

:func:`score_factors` computes every factor of a pair on the *whole* documents and keeps each one
separately (``None`` when a factor cannot be computed, e.g. no correspondent on one side).
:func:`confidence` turns a factor dict into one number with a :class:`ScoringConfig`; it needs no
text or signature, so stored factors can be re-weighted at any time.

The formula, in words:

* *Content* is the stronger of two paths when both texts are long enough to be reliable: the
  whole-text path (weighted mean of the calibrated shingle Jaccard and fuzzy ratio) and the
  containment path (an extract or a scan with missing pages is contained in the other
  document; only used when the texts differ in length). When a text is too short to be
  reliable, content is the image similarity (perceptual hashes) alone.
* Metadata can only lower that: confidence is ``content * (1 - m + m * metadata)`` where
  ``metadata`` is the weighted mean of the metadata factors present (correspondent, document
  type, created date, page count, size, title, file name, and the image when the texts are
  reliable; each with its own weight) and ``m = weights["metadata"]`` is how much metadata
  counts at all. Same metadata never makes two different texts duplicates.
* An identical checksum means the same file: confidence 1.
* A conflict found by the discriminative check (other dates, amounts or reference numbers)
  multiplies confidence by ``1 - weights["discriminative"]``.

Disable a factor by leaving it out of ``enabled`` (or giving it weight 0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
from rapidfuzz import fuzz

from .candidates import hamming, hash_bits
from .identifiers import Identifier, compare_identifiers, extract_identifiers
from .normalise import normalise_tokens
from .signatures import SignatureParams, shingle_hashes
from .types import DocFeatures

CONTENT_FACTORS = ("jaccard", "fuzzy", "containment", "image")
METADATA_FACTORS = (
    "correspondent",
    "document_type",
    "created",
    "page_count",
    "size",
    "title",
    "filename",
)
RULE_FACTORS = ("checksum", "discriminative")
FACTORS = CONTENT_FACTORS + METADATA_FACTORS + RULE_FACTORS
INFO_FACTORS = ("text_reliable", "length_ratio")

DEFAULT_WEIGHTS: dict[str, float] = {
    "metadata": 0.3,
    "jaccard": 0.5,
    "fuzzy": 2.0,
    "containment": 1.0,
    "image": 0.3,
    "correspondent": 0.4,
    "document_type": 0.3,
    "created": 0.4,
    "page_count": 0.2,
    "size": 0.1,
    "title": 0.3,
    "filename": 0.2,
    "checksum": 1.0,
    "discriminative": 1.0,
}


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Weights, enabled factors, calibration and the decision threshold."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    enabled: frozenset[str] = frozenset(FACTORS)
    threshold: float = 0.7
    short_text_tokens: int = 25
    jaccard_full: float = 0.6
    fuzzy_floor: float = 0.75
    fuzzy_full: float = 0.96
    containment_floor: float = 0.55
    containment_full: float = 0.85
    containment_max_length_ratio: float = 0.9
    created_days_zero: int = 45

    def weight(self, name: str) -> float:
        if name != "metadata" and name not in self.enabled:
            return 0.0
        return float(self.weights.get(name, 0.0))


@dataclass(slots=True)
class DocContext:
    """Per-document values the factors need, computed once per document per run."""

    tokens_text: str
    shingles: np.ndarray
    identifiers: Counter[Identifier]
    token_count: int


def build_context(doc: DocFeatures, *, params: SignatureParams) -> DocContext:
    tokens = normalise_tokens(doc.text)
    return DocContext(
        tokens_text=" ".join(tokens),
        shingles=shingle_hashes(tokens, params=params),
        identifiers=extract_identifiers(doc.text),
        token_count=len(tokens),
    )


def _ratio(small: float | None, large: float | None) -> float | None:
    if not small or not large:
        return None
    return min(small, large) / max(small, large)


def _same(left: object, right: object) -> float | None:
    if left is None or right is None:
        return None
    return 1.0 if left == right else 0.0


def _text_ratio(left: str, right: str) -> float | None:
    if not left or not right:
        return None
    return fuzz.ratio(left, right) / 100.0


def shingle_factors(left: np.ndarray, right: np.ndarray) -> tuple[float | None, float | None]:
    """Exact Jaccard and containment (|A & B| / min(|A|, |B|)) of two shingle sets."""
    if not len(left) or not len(right):
        return None, None
    shared = len(np.intersect1d(left, right, assume_unique=True))
    return shared / (len(left) + len(right) - shared), shared / min(len(left), len(right))


def _hash_length(left: int | bytes, right: int | bytes) -> int:
    """Bit length of a hash pair: bytes know theirs; ints are rounded up to 64, 128, 256..."""
    if not isinstance(left, int) or not isinstance(right, int):
        return 8 * max(len(hash_bits(left, nbits=64)), len(hash_bits(right, nbits=64)))
    longest, nbits = max(left.bit_length(), right.bit_length()), 64
    while nbits < longest:
        nbits *= 2
    return nbits


def image_similarity(left: DocFeatures, right: DocFeatures) -> float | None:
    """Mean over the perceptual hashes both have of ``max(0, 1 - 2 * distance / bits)``."""
    values = []
    for a, b in ((left.phash, right.phash), (left.dhash, right.dhash)):
        if a is None or b is None:
            continue
        values.append(max(0.0, 1.0 - 2.0 * hamming(a, b) / _hash_length(a, b)))
    return sum(values) / len(values) if values else None


def _created(left: DocFeatures, right: DocFeatures, *, days_zero: int) -> float | None:
    if left.created is None or right.created is None:
        return None
    return max(0.0, 1.0 - abs((left.created - right.created).days) / days_zero)


def _checksum(left: DocFeatures, right: DocFeatures) -> float | None:
    mine = {v for v in (left.checksum, left.archive_checksum) if v}
    theirs = {v for v in (right.checksum, right.archive_checksum) if v}
    if not mine or not theirs:
        return None
    return 1.0 if mine & theirs else 0.0


def _stem(name: str) -> str:
    return PurePath(name).stem.casefold() if name else ""


def score_factors(
    left: DocFeatures,
    right: DocFeatures,
    *,
    left_context: DocContext,
    right_context: DocContext,
    config: ScoringConfig,
) -> dict[str, float | None]:
    """Every factor of one pair (see the module docstring)."""
    jaccard, containment = shingle_factors(left_context.shingles, right_context.shingles)
    reliable = min(left_context.token_count, right_context.token_count) >= config.short_text_tokens
    return {
        "jaccard": jaccard,
        "containment": containment,
        "fuzzy": _text_ratio(left_context.tokens_text, right_context.tokens_text),
        "image": image_similarity(left, right),
        "correspondent": _same(left.correspondent_id, right.correspondent_id),
        "document_type": _same(left.document_type_id, right.document_type_id),
        "created": _created(left, right, days_zero=config.created_days_zero),
        "page_count": _ratio(left.page_count, right.page_count),
        "size": _ratio(left.size, right.size),
        "title": _text_ratio(left.title.casefold(), right.title.casefold()),
        "filename": _text_ratio(_stem(left.original_file_name), _stem(right.original_file_name)),
        "checksum": _checksum(left, right),
        "discriminative": compare_identifiers(
            left=left_context.identifiers, right=right_context.identifiers
        ).score,
        "text_reliable": 1.0 if reliable else 0.0,
        "length_ratio": _ratio(left_context.token_count, right_context.token_count),
    }


def _scale(value: float, *, floor: float, full: float) -> float:
    return min(1.0, max(0.0, (value - floor) / (full - floor)))


def _content(factors: Mapping[str, float | None], config: ScoringConfig) -> float | None:
    if not factors.get("text_reliable"):
        image = factors.get("image")
        return image if config.weight("image") > 0 and image is not None else None
    paths: list[float] = []
    whole = [
        (config.weight("jaccard"), factors.get("jaccard"), 0.0, config.jaccard_full),
        (config.weight("fuzzy"), factors.get("fuzzy"), config.fuzzy_floor, config.fuzzy_full),
    ]
    whole = [(w, v, lo, hi) for w, v, lo, hi in whole if w > 0 and v is not None]
    if whole:
        total = sum(w for w, *_ in whole)
        paths.append(sum(w * _scale(v, floor=lo, full=hi) for w, v, lo, hi in whole) / total)
    containment, length_ratio = factors.get("containment"), factors.get("length_ratio") or 0.0
    if (
        config.weight("containment") > 0
        and containment is not None
        and length_ratio <= config.containment_max_length_ratio
    ):
        paths.append(
            _scale(containment, floor=config.containment_floor, full=config.containment_full)
        )
    return max(paths) if paths else None


def confidence(
    factors: Mapping[str, float | None], *, config: ScoringConfig, veto: bool = True
) -> float:
    """The confidence in [0, 1] that a pair is a duplicate, from stored factors only.

    ``veto=False`` leaves out the discriminative check (to keep vetoed pairs as edges the
    person can still see and re-weight).
    """
    if config.weight("checksum") > 0 and factors.get("checksum") == 1.0:
        return 1.0
    content = _content(factors, config)
    if content is None:
        return 0.0
    metadata = list(METADATA_FACTORS)
    if factors.get("text_reliable"):
        metadata.append("image")
    numerator = denominator = 0.0
    for name in metadata:
        value, weight = factors.get(name), config.weight(name)
        if value is not None and weight > 0:
            numerator += weight * value
            denominator += weight
    score = content
    if denominator:
        influence = min(1.0, config.weight("metadata"))
        score *= 1.0 - influence + influence * numerator / denominator
    if veto and factors.get("discriminative") == 0.0:
        score *= 1.0 - min(1.0, config.weight("discriminative"))
    return round(score, 6)
