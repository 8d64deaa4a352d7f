"""Which documents a run sends: a filter (primaries of resolved duplicate groups, untagged, no
correspondent, a tag such as "ai-review") or a selection from the documents list.

Documents carrying a protected tag are never chosen (and are checked again against Paperless just
before sending); documents without text are left out (nothing to read); by default documents that
already have suggestions are left out too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from documents.models import Document


@dataclass(frozen=True)
class Selection:
    resolved_primaries: bool = False
    untagged: bool = False
    no_correspondent: bool = False
    tag: int | None = None
    """A Paperless tag id."""
    document_ids: tuple[int, ...] = ()
    """Paperless ids chosen on the documents list (the filters above still apply)."""
    skip_suggested: bool = True

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["document_ids"] = list(self.document_ids)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        return cls(
            resolved_primaries=bool(data.get("resolved_primaries")),
            untagged=bool(data.get("untagged")),
            no_correspondent=bool(data.get("no_correspondent")),
            tag=int(data["tag"]) if data.get("tag") else None,
            document_ids=tuple(int(pk) for pk in data.get("document_ids") or ()),
            skip_suggested=bool(data.get("skip_suggested", True)),
        )

    @property
    def is_empty(self) -> bool:
        return not (
            self.resolved_primaries
            or self.untagged
            or self.no_correspondent
            or self.tag
            or self.document_ids
        )

    def describe(self) -> str:
        parts = []
        if self.document_ids:
            parts.append(f"{len(self.document_ids)} chosen document(s)")
        if self.resolved_primaries:
            parts.append("primaries of resolved duplicate groups")
        if self.untagged:
            parts.append("without tags")
        if self.no_correspondent:
            parts.append("without correspondent")
        if self.tag:
            from documents.models import Tag

            tag = Tag.objects.filter(paperless_id=self.tag).first()
            parts.append(f"tagged '{tag.name if tag else self.tag}'")
        if self.skip_suggested:
            parts.append("not suggested before")
        return ", ".join(parts) or "nothing"


@dataclass
class Chosen:
    documents: list[Document]
    left_out: dict[str, int] = field(default_factory=dict)
    matching: int = 0


def protected_tag_ids() -> list[int]:
    from dedupe_project.models import Configuration

    return list(Configuration.objects.get_solo().ai_protected_tag_ids or [])


def _matching(selection: Selection) -> QuerySet[Document]:
    from duplicates.models import DuplicateGroup

    queryset = Document.objects.filter(is_version=False)
    if selection.document_ids:
        queryset = queryset.filter(paperless_id__in=selection.document_ids)
    if selection.resolved_primaries:
        queryset = queryset.filter(
            Exists(
                DuplicateGroup.objects.filter(
                    primary=OuterRef("pk"), status=DuplicateGroup.Status.RESOLVED
                )
            )
        )
    if selection.untagged:
        queryset = queryset.filter(tags__isnull=True)
    if selection.no_correspondent:
        queryset = queryset.filter(correspondent__isnull=True)
    if selection.tag:
        queryset = queryset.filter(tags__paperless_id=selection.tag)
    return queryset.distinct()


def choose(selection: Selection, *, limit: int) -> Chosen:
    """The documents to send, newest first, at most ``limit``, and how many were left out why:
    ``protected``, ``no_text``, ``suggested_before``, ``over_limit``."""
    from ai_review.models import Suggestion

    if selection.is_empty:
        return Chosen(documents=[])
    queryset = _matching(selection)
    matching = queryset.count()
    left_out: dict[str, int] = {}
    protected = protected_tag_ids()
    if protected:
        kept = queryset.exclude(tags__paperless_id__in=protected)
        left_out["protected"] = matching - kept.count()
        queryset = kept
    with_text = queryset.filter(content_length__gt=0)
    left_out["no_text"] = queryset.count() - with_text.count()
    queryset = with_text
    if selection.skip_suggested:
        fresh = queryset.exclude(
            Exists(
                Suggestion.objects.filter(
                    paperless_id=OuterRef("paperless_id"),
                    status__in=[Suggestion.Status.DONE, Suggestion.Status.PENDING],
                ).exclude(run__status="draft")
            )
        )
        left_out["suggested_before"] = queryset.count() - fresh.count()
        queryset = fresh
    total = queryset.count()
    documents = list(queryset.order_by("-paperless_id")[:limit])
    left_out["over_limit"] = max(0, total - len(documents))
    return Chosen(
        documents=documents, left_out={k: v for k, v in left_out.items() if v}, matching=matching
    )
