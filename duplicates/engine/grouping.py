"""Groups from scored edges, without chaining, honouring a person's decisions.

Agglomeration in order of decreasing confidence (complete linkage on the thresholded graph):
two clusters merge only when *every* pair across them has an edge at or above the threshold and
no decision forbids it. So ``A~B``, ``B~C`` with ``A`` and ``C`` unrelated never puts ``A`` and
``C`` in one group, and every member of a group is linked above the threshold to its primary.

Decisions (:class:`~duplicates.engine.types.Decisions`): "not duplicate" pairs and removed
members forbid a pair; two documents chosen as primary are never merged; a chosen primary is
primary of its group. Otherwise the primary is the best document by :func:`primary_quality` (the
policy of :mod:`.primary`), or the one ``choose_primary`` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from .primary import PrimaryFacts, primary_key
from .primary import choose as choose_by_policy
from .types import Decisions, DocFeatures, DocId, Group, PairScore, id_sort_key


def primary_facts(doc: DocFeatures) -> PrimaryFacts:
    """What the primary policy (:mod:`.primary`) can know from the engine's features: no ASN,
    notes or custom fields here (the database-backed grouping passes them); born digital is a
    PDF with text and no OCR'd archive copy."""
    return PrimaryFacts(
        id=doc.id,
        page_count=doc.page_count,
        text_length=len(doc.text),
        born_digital=bool(doc.text) and not doc.has_archive,
        size=doc.size,
        tag_count=doc.tag_count,
        added=doc.added or doc.created,
    )


def primary_quality(doc: DocFeatures) -> tuple:
    """Sort key, higher is better, by the stated policy (:mod:`.primary`): most pages, a text
    layer, born digital, larger file, ASN / tags / notes / custom fields, added first."""
    return primary_key(primary_facts(doc))


def _linked(
    left: set[DocId], right: set[DocId], *, weights: Mapping[frozenset, float], decisions: Decisions
) -> bool:
    for a in left:
        for b in right:
            pair = frozenset((a, b))
            if pair not in weights or decisions.forbids(a, b):
                return False
    return True


def build_groups(
    edges: Iterable[PairScore],
    *,
    docs: Mapping[DocId, DocFeatures],
    threshold: float,
    decisions: Decisions | None = None,
    choose_primary: Callable[[Sequence[DocId]], DocId | None] | None = None,
) -> list[Group]:
    """Duplicate groups (two or more members) from edges at or above ``threshold``."""
    decisions = decisions or Decisions()
    strong = sorted(
        (
            e
            for e in edges
            if e.confidence >= threshold and e.a != e.b and not decisions.forbids(e.a, e.b)
        ),
        key=lambda e: (-e.confidence, id_sort_key(e.a), id_sort_key(e.b)),
    )
    weights = {frozenset((e.a, e.b)): e.confidence for e in strong}
    cluster_of: dict[DocId, set[DocId]] = {}
    for edge in strong:
        left = cluster_of.setdefault(edge.a, {edge.a})
        right = cluster_of.setdefault(edge.b, {edge.b})
        if left is right:
            continue
        if decisions.primaries & left and decisions.primaries & right:
            continue
        if not _linked(left, right, weights=weights, decisions=decisions):
            continue
        left |= right
        for member in right:
            cluster_of[member] = left
    clusters = {id(c): c for c in cluster_of.values() if len(c) > 1}.values()
    groups = [
        _group(c, docs=docs, weights=weights, decisions=decisions, choose=choose_primary)
        for c in clusters
    ]
    return sorted(groups, key=lambda g: (-g.confidence, id_sort_key(g.primary)))


def _group(
    members: set[DocId],
    *,
    docs: Mapping[DocId, DocFeatures],
    weights: Mapping[frozenset, float],
    decisions: Decisions,
    choose: Callable[[Sequence[DocId]], DocId | None] | None,
) -> Group:
    ordered = tuple(sorted(members, key=id_sort_key))
    fixed = [m for m in ordered if m in decisions.primaries]
    chosen = choose(ordered) if choose else None
    if fixed:
        primary = fixed[0]
    elif chosen in members:
        primary = chosen
    else:
        primary = choose_by_policy([primary_facts(docs[m]) for m in ordered])
    scores = {m: weights[frozenset((m, primary))] for m in ordered if m != primary}
    return Group(
        members=ordered,
        primary=primary,
        confidence=round(min(scores.values()), 6),
        member_confidence=scores,
    )
