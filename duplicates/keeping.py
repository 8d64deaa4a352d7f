"""Which copy of a group is kept, from the mirror: the facts the primary policy
(``duplicates/engine/primary.py``) looks at, read in bulk, and the words for it.

Used by the grouping (every regroup picks primaries with :func:`facts_for`), the group page
("kept: 4 pages, has a text layer") and the plans (the confirmation warns when the kept copy has
fewer pages or less text than one it would delete).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from documents.models import Document
from duplicates.engine.primary import POLICY, PrimaryFacts, primary_reasons, shortfalls
from duplicates.store import AnalysisReader

ID_CHUNK = 900
FACT_FIELDS = (
    "page_count",
    "content_length",
    "mime_type",
    "archive_checksum",
    "archived_file_name",
    "original_size",
    "archive_serial_number",
    "notes_count",
    "custom_fields",
    "added",
)


def _facts(pk: int, row: Sequence, tags: int) -> PrimaryFacts:
    (pages, length, mime, archive_checksum, archived_name, size, asn, notes, custom_fields,
     added) = row  # fmt: skip
    has_archive = bool(archive_checksum or archived_name)
    return PrimaryFacts(
        id=pk,
        page_count=pages,
        text_length=length or 0,
        born_digital=bool(length) and not has_archive and mime == "application/pdf",
        size=size,
        asn=asn,
        tag_count=tags,
        note_count=notes or 0,
        custom_field_count=len(custom_fields) if isinstance(custom_fields, list) else 0,
        added=added,
    )


def facts_for(document_ids: Iterable[int]) -> dict[int, PrimaryFacts]:
    """The policy's facts of each document (by pk), in bulk."""
    ids = list(dict.fromkeys(document_ids))
    facts: dict[int, PrimaryFacts] = {}
    reader = AnalysisReader()
    if reader.postgres:  # one binary read each for the lot
        tag_counts = reader.tag_counts(ids)
        for pk, *row in reader.columns(ids, FACT_FIELDS):
            facts[pk] = _facts(pk, row, tag_counts.get(pk, 0))
        return facts
    through = Document.tags.through
    for start in range(0, len(ids), ID_CHUNK):
        part = ids[start : start + ID_CHUNK]
        counts: dict[int, int] = {}
        for doc_id in through.objects.filter(document_id__in=part).values_list(
            "document_id", flat=True
        ):
            counts[doc_id] = counts.get(doc_id, 0) + 1
        for pk, *row in Document.objects.filter(pk__in=part).values_list("pk", *FACT_FIELDS):
            facts[pk] = _facts(pk, row, counts.get(pk, 0))
    return facts


@dataclass(frozen=True)
class KeptExplanation:
    """Why a group keeps its primary, and what it lacks against the others."""

    reasons: list[str]
    chosen_by_person: bool
    shortfalls: list[str] = field(default_factory=list)
    policy: str = POLICY

    @property
    def summary(self) -> str:
        """ "kept: 4 pages, has a text layer" (or "kept: chosen by a person")."""
        parts = []
        if self.chosen_by_person:
            parts.append("chosen by a person")
        parts += self.reasons
        return "kept: " + (", ".join(parts) if parts else "equal on every point; the oldest id")


def explain_kept(*, kept_id: int, other_ids: Sequence[int], chosen: bool) -> KeptExplanation:
    """Why ``kept_id`` is kept over ``other_ids`` (document pks), by the policy; and where it
    has fewer pages or less text than one of them (named by their Paperless ids)."""
    facts = by_paperless_id(facts_for([kept_id, *other_ids]))
    kept = facts.get(kept_id)
    if kept is None:
        return KeptExplanation(reasons=[], chosen_by_person=chosen)
    others = [facts[pk] for pk in other_ids if pk in facts and pk != kept_id]
    return KeptExplanation(
        reasons=primary_reasons(kept, others),
        chosen_by_person=chosen,
        shortfalls=[line for other in others for line in shortfalls(kept, other)],
    )


def by_paperless_id(facts: dict[int, PrimaryFacts]) -> dict[int, PrimaryFacts]:
    """The same facts (still keyed by pk) with ``id`` the Paperless id, for messages."""
    paperless = dict(Document.objects.filter(pk__in=list(facts)).values_list("pk", "paperless_id"))
    return {pk: replace(f, id=paperless.get(pk, f.id)) for pk, f in facts.items()}
