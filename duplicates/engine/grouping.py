"""Groups from scored edges: neither chaining nor splitting, honouring a person's decisions.

Average linkage over the edge graph, merging the closest clusters first: two clusters merge when
the *mean* confidence over every pair across them is at or above the threshold and *every* pair
across them has an edge of at least ``floor`` (a pair that is no candidate, or scored as clearly
different, counts as a veto). So ``A~B``, ``B~C`` with ``A`` and ``C`` unrelated never puts ``A``
and ``C`` in one group (chaining), while one weaker link among many strong ones (the TIFF of a
born-digital PDF whose OCR came out worse) does not split a group either.

Decisions (:class:`~duplicates.engine.types.Decisions`): "not duplicate" pairs and removed
members forbid a pair; two documents chosen as primary are never merged; a chosen primary is
primary of its group. Otherwise the primary is the best document by :func:`primary_quality` (the
policy of :mod:`.primary`), or the one ``choose_primary`` returns.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence

from .primary import PrimaryFacts, primary_key
from .primary import choose as choose_by_policy
from .types import Decisions, DocFeatures, DocId, Group, PairScore, id_sort_key

DEFAULT_FLOOR = 0.15


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


class _Clusters:
    """Clusters and, per pair of neighbouring clusters, the sum of their cross-edge confidences
    and how many cross pairs have an edge at or above the floor."""

    def __init__(self, decisions: Decisions) -> None:
        self.decisions = decisions
        self.members: dict[int, list[DocId]] = {}
        self.links: dict[int, dict[int, list[float]]] = {}
        self.primaries: dict[int, int] = {}
        self.version: dict[int, int] = {}
        self.of: dict[DocId, int] = {}

    def cluster(self, doc_id: DocId) -> int:
        found = self.of.get(doc_id)
        if found is None:
            found = self.of[doc_id] = len(self.of)
            self.members[found] = [doc_id]
            self.links[found] = {}
            self.primaries[found] = int(doc_id in self.decisions.primaries)
            self.version[found] = 0
        return found

    def average(self, a: int, b: int) -> float | None:
        """The mean cross confidence, or None when some cross pair has no usable edge (none, one
        below the floor, or one a person's decision forbids)."""
        link = self.links[a].get(b)
        if link is None:
            return None
        total, complete = link
        size = len(self.members[a]) * len(self.members[b])
        if complete < size:
            return None
        return total / size

    def can_merge(self, a: int, b: int) -> bool:
        return not (self.primaries[a] and self.primaries[b])

    def merge(self, a: int, b: int) -> None:
        """Cluster ``b`` into ``a``."""
        self.members[a].extend(self.members.pop(b))
        for doc_id in self.members[a]:
            self.of[doc_id] = a
        self.primaries[a] += self.primaries.pop(b)
        links_b = self.links.pop(b)
        links_a = self.links[a]
        links_a.pop(b, None)
        for other, (total, complete) in links_b.items():
            if other == a:
                continue
            mine = links_a.setdefault(other, [0.0, 0])
            mine[0] += total
            mine[1] += complete
            theirs = self.links[other]
            theirs.pop(b, None)
            theirs[a] = mine
        self.version[a] += 1
        del self.version[b]


def build_groups(
    edges: Iterable[PairScore],
    *,
    docs: Mapping[DocId, DocFeatures],
    threshold: float,
    floor: float = DEFAULT_FLOOR,
    decisions: Decisions | None = None,
    choose_primary: Callable[[Sequence[DocId]], DocId | None] | None = None,
) -> list[Group]:
    """Duplicate groups (two or more members) from edges (see the module docstring)."""
    decisions = decisions or Decisions()
    floor = min(floor, threshold)
    clusters = _Clusters(decisions)
    weights: dict[frozenset, float] = {}
    for edge in sorted(edges, key=lambda e: (id_sort_key(e.a), id_sort_key(e.b))):
        if edge.a == edge.b or edge.confidence < floor or decisions.forbids(edge.a, edge.b):
            continue
        pair = frozenset((edge.a, edge.b))
        if pair in weights:
            continue
        a, b = clusters.cluster(edge.a), clusters.cluster(edge.b)
        weights[pair] = edge.confidence
        link = [edge.confidence, 1]
        clusters.links[a][b] = link
        clusters.links[b][a] = link
    heap: list[tuple] = []

    def push(a: int, b: int) -> None:
        average = clusters.average(a, b)
        # (a mean of equal confidences can land a rounding error below them)
        if average is not None and average >= threshold - 1e-9 and clusters.can_merge(a, b):
            low, high = min(a, b), max(a, b)
            # rounded, so a tie is a tie whatever order the mean was summed in
            key = round(-average, 9)
            heapq.heappush(heap, (key, low, high, clusters.version[low], clusters.version[high]))

    for a in list(clusters.links):
        for b in clusters.links[a]:
            if a < b:
                push(a, b)
    while heap:
        _, a, b, version_a, version_b = heapq.heappop(heap)
        if clusters.version.get(a) != version_a or clusters.version.get(b) != version_b:
            continue  # stale: one of them merged since
        clusters.merge(a, b)
        for other in list(clusters.links[a]):
            push(a, other)
    groups = [
        _group(members, docs=docs, weights=weights, decisions=decisions, choose=choose_primary)
        for members in clusters.members.values()
        if len(members) > 1
    ]
    return sorted(groups, key=lambda g: (-g.confidence, id_sort_key(g.primary)))


def _group(
    members: list[DocId],
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
        confidence=round(sum(scores.values()) / len(scores), 6),
        member_confidence=scores,
    )
