"""Plain data types that go in and out of the engine (no Django, no ORM)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

DocId = Hashable


def id_sort_key(doc_id: DocId) -> tuple[str, str]:
    """A total order over ids of any type (ints sort numerically among themselves)."""
    return (type(doc_id).__name__, f"{doc_id!s:>20}")


@dataclass(slots=True)
class DocFeatures:
    """Everything the engine knows about one document.

    ``dhash`` and ``phash`` are perceptual hashes as ``int`` or ``bytes`` (any bit length, the
    same for every document); ``layout`` is the first page's layout signature
    (:mod:`duplicates.engine.layout`), what the image factor compares. ``signature`` is a
    stored signature blob (see :func:`duplicates.engine.signatures.serialise_sketch`); when it
    is missing or no longer valid for the current parameters the engine recomputes it from
    ``text``.
    """

    id: DocId
    text: str = ""
    checksum: str | None = None
    archive_checksum: str | None = None
    correspondent_id: int | None = None
    document_type_id: int | None = None
    created: date | None = None
    added: date | None = None
    page_count: int | None = None
    size: int | None = None
    title: str = ""
    original_file_name: str = ""
    has_archive: bool = False
    original_kept: bool = True
    tag_count: int = 0
    dhash: int | bytes | None = None
    phash: int | bytes | None = None
    signature: bytes | None = None
    layout: bytes | None = None


@dataclass(slots=True)
class PairScore:
    """One scored candidate pair (an edge). ``a < b`` in the engine's id order.

    ``factors`` holds every factor separately (``None`` when it could not be computed), so
    :func:`duplicates.engine.scoring.confidence` can re-weight it later without the texts.
    ``sources`` says which candidate passes proposed the pair.
    """

    a: DocId
    b: DocId
    factors: dict[str, float | None]
    confidence: float
    sources: tuple[str, ...] = ()


Edge = PairScore


@dataclass(slots=True)
class Group:
    """A duplicate group (see :mod:`.grouping`): ``confidence`` is the mean of the members'
    confidences to the primary (``member_confidence``)."""

    members: tuple[DocId, ...]
    primary: DocId
    confidence: float
    member_confidence: dict[DocId, float] = field(default_factory=dict)


@dataclass(slots=True)
class Decisions:
    """What a person decided; honoured by every (re)analysis.

    ``not_duplicate``: pairs never to be put in one group.
    ``removed``: a document removed from a group -> the members it was removed from; it is
    never grouped with any of them again.
    ``primaries``: documents chosen as primary; such a document is primary of whatever group
    it ends up in, and two chosen primaries are never merged into one group.
    """

    not_duplicate: set[frozenset[DocId]] = field(default_factory=set)
    removed: dict[DocId, frozenset[DocId]] = field(default_factory=dict)
    primaries: set[DocId] = field(default_factory=set)

    def forbids(self, a: DocId, b: DocId) -> bool:
        if frozenset((a, b)) in self.not_duplicate:
            return True
        return b in self.removed.get(a, ()) or a in self.removed.get(b, ())


@dataclass(slots=True)
class AnalysisResult:
    edges: list[PairScore]
    groups: list[Group]
    sketches: dict[DocId, bytes]
    stats: dict[str, Any] = field(default_factory=dict)
