"""The "part of" relation: one document's text lies inside a clearly longer one's.

An extract (one page of a three-page scan), the first half of a manual, a licence reproduced in a
manual's appendix: related, but not duplicates. The analysis keeps such pairs as edges (they
never form a duplicate group: their duplicate confidence is low); this module lists them, the
smaller document as the *part*, so a person can look and decide. "Not related" records a
decision (the pair is never shown or grouped again); the larger document is never proposed for
deletion.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from documents.models import Document
from duplicates.engine import ScoringConfig
from duplicates.models import PairDecision, PairEdge


@dataclass(frozen=True, slots=True)
class PartOf:
    part: Document
    whole: Document
    containment: float
    length_ratio: float

    @property
    def containment_percent(self) -> int:
        return round(self.containment * 100)

    @property
    def times_longer(self) -> float:
        """How many times longer the whole's text is than the part's."""
        return round(1 / self.length_ratio, 1) if self.length_ratio else 0.0


def part_of_edges(*, scoring: ScoringConfig) -> QuerySet[PairEdge]:
    return PairEdge.objects.part_of(scoring=scoring).order_by("-pk")


def rows(edges: QuerySet[PairEdge] | list[PairEdge]) -> list[PartOf]:
    """The edges as (part, whole) rows: the part is the document with the shorter text."""
    edges = list(edges)
    ids = {edge.a_id for edge in edges} | {edge.b_id for edge in edges}
    documents = Document.objects.select_related("correspondent", "document_type").in_bulk(ids)
    found = []
    for edge in edges:
        a, b = documents.get(edge.a_id), documents.get(edge.b_id)
        if a is None or b is None:
            continue
        part, whole = (a, b) if a.content_length <= b.content_length else (b, a)
        found.append(
            PartOf(
                part=part,
                whole=whole,
                containment=float(edge.factors.get("containment") or 0.0),
                length_ratio=float(edge.factors.get("length_ratio") or 0.0),
            )
        )
    return found


def for_document(document: Document, *, scoring: ScoringConfig) -> list[PartOf]:
    """The document's "part of" relations, both ways."""
    edges = part_of_edges(scoring=scoring).filter(Q(a=document) | Q(b=document))
    return rows(edges[:50])


def not_related(*, first: Document, second: Document, user: object = None) -> None:
    """A person says the two are not related: never shown as "part of" nor grouped again."""
    PairDecision.objects.record_not_duplicate(document_ids=[first.pk, second.pk], user=user)
