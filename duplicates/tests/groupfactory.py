"""Groups written straight to the database (documents, members, edges with factors), so list,
API and dashboard tests control every value without running an analysis."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from documents.models import Correspondent, Document, DocumentType, Tag
from duplicates.engine import ScoringConfig, confidence
from duplicates.models import DuplicateGroup, GroupMember, PairEdge

_ids = itertools.count(1000)

# the factors of a rescan of a one-page letter, as the engine stores them
STRONG = {
    "text_reliable": 1.0, "length_ratio": 1.0, "jaccard": 0.9, "fuzzy": 0.97, "characters": 0.96,
    "containment": 0.95, "words": 0, "words_rate": 0.0, "correspondent": 1.0,
    "document_type": 1.0, "created": 1.0, "title": 1.0, "page_count": 1.0, "size": 1.0,
    "filename": 0.8, "image": 0.9, "tokens": 220, "id_exact": 6, "id_near": 0,
    "id_conflicts": 0, "id_versions": 0, "id_agreement": 1.0, "discriminative": 1.0,
}  # fmt: skip


def factors(**changes: Any) -> dict[str, Any]:
    return {**STRONG, **changes}


# Ways a pair looks less alike, from which :func:`weaker` picks (each lowers the learned model's
# score or leaves it: the model is monotone in every factor).
WEAKENINGS: tuple[tuple[str, float], ...] = (
    ("size", 0.3), ("document_type", 0.0), ("jaccard", 0.7), ("length_ratio", 0.7),
    ("containment", 0.7), ("created", 0.5), ("image", 0.7), ("image", 0.55), ("image", 0.4),
    ("characters", 0.9), ("characters", 0.8), ("characters", 0.75), ("characters", 0.7),
    ("characters", 0.6), ("id_agreement", 0.9), ("id_agreement", 0.8), ("id_agreement", 0.7),
    ("page_count", 0.8), ("page_count", 0.5), ("id_conflicts", 1), ("id_conflicts", 2),
    ("id_conflicts", 3), ("words_rate", 10.0),
)  # fmt: skip


def weaker(
    low: float,
    high: float,
    *,
    also: tuple[dict[str, Any], ...] = ({},),
    keep: tuple[str, ...] = (),
    scoring: ScoringConfig | None = None,
) -> dict[str, Any]:
    """Changes to :data:`STRONG` that make the shipped model score a pair in ``[low, high)``,
    with each of ``also`` (further changes) applied on top too; ``keep``: factors left alone.
    Searched (greedily: each step the weakening that lowers the score most without leaving
    ``low`` behind) rather than written down, so tests do not hang on the calibrated numbers."""
    scoring = scoring or ScoringConfig()

    def scores(changes: dict[str, Any]) -> list[float]:
        return [confidence(factors(**{**changes, **extra}), config=scoring) for extra in also]

    options = [(name, value) for name, value in WEAKENINGS if name not in keep]
    changes: dict[str, Any] = {}
    current = scores(changes)
    while not all(low <= score < high for score in current):
        best: tuple[float, dict[str, Any], list[float]] | None = None
        for name, value in options:
            trial = {**changes, name: value}
            result = scores(trial)
            lower = min(result) >= low and max(result) < max(current)
            if lower and (best is None or max(result) < best[0]):
                best = (max(result), trial, result)
        if best is None:
            raise AssertionError(f"no weakening scores in [{low}, {high}) under this model")
        _, changes, current = best
    return changes


def document(**fields: Any) -> Document:
    pid = next(_ids)
    tags = fields.pop("tags", [])
    defaults: dict[str, Any] = {
        "paperless_id": pid,
        "title": f"Document {pid}",
        "created": date(2023, 3, 14),
        "original_size": 100_000,
        "page_count": 1,
    }
    defaults.update(fields)
    doc = Document.objects.create(**defaults)
    if tags:
        doc.tags.set(tags)
    return doc


def tag(name: str) -> Tag:
    return Tag.objects.create(paperless_id=next(_ids), name=name)


def correspondent(name: str) -> Correspondent:
    return Correspondent.objects.create(paperless_id=next(_ids), name=name)


def document_type(name: str) -> DocumentType:
    return DocumentType.objects.create(paperless_id=next(_ids), name=name)


def make_group(
    *,
    pair_factors: list[dict[str, Any]] | None = None,
    status: str = DuplicateGroup.Status.NEW,
    primary: dict[str, Any] | None = None,
    others: list[dict[str, Any]] | None = None,
    scoring: ScoringConfig | None = None,
) -> DuplicateGroup:
    """A group of a primary and one member per entry of ``pair_factors`` (the factors of its pair
    with the primary); ``primary`` / ``others`` give document fields."""
    scoring = scoring or ScoringConfig()
    pair_factors = pair_factors if pair_factors is not None else [factors()]
    others = others or [{} for _ in pair_factors]
    head = document(**(primary or {}))
    members = [document(**fields) for fields in others]
    scores = [confidence(f, config=scoring) for f in pair_factors]
    group = DuplicateGroup.objects.create(
        status=status,
        confidence=min(scores),
        primary=head,
        member_count=1 + len(members),
    )
    GroupMember.objects.create(group=group, document=head, is_primary=True)
    for doc, pair, score in zip(members, pair_factors, scores, strict=True):
        GroupMember.objects.create(group=group, document=doc, confidence=score)
        a, b = sorted((head.pk, doc.pk))
        PairEdge.objects.create(a_id=a, b_id=b, factors=pair, confidence=score)
    return group
