"""Export of duplicate groups as JSON or CSV: the command, the download view and the API call
these.

Per group: id, confidence, status, and every (not removed) member with its Paperless id, title,
primary flag, confidence to the primary and the factor scores of its pair with the primary (the
primary itself has none). CSV has one row per member, the factors as ``factor_<name>`` columns;
text a spreadsheet would run as a formula is escaped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from django.db.models import Prefetch, Q

from duplicates.engine import FACTORS
from duplicates.grouping import chunked
from duplicates.models import DuplicateGroup, GroupMember, PairEdge

FORMATS = ("json", "csv")
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
CSV_COLUMNS = [
    "group_id",
    "group_confidence",
    "status",
    "paperless_id",
    "title",
    "primary",
    "confidence",
    # Prefixed: the "title" factor would otherwise share its column name with the title.
    *(f"factor_{name}" for name in FACTORS),
]
GROUP_CHUNK = 500
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection: a document
# titled "=HYPERLINK(...)" would run when the export is opened). Such text cells get a leading
# apostrophe, which spreadsheets show as plain text (OWASP's advice).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet runs as a formula (numbers are left as they are)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _edge_factors(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for part in chunked(sorted(pairs), 300):
        condition = Q()
        for a, b in part:
            condition |= Q(a_id=a, b_id=b)
        for a, b, factors in PairEdge.objects.filter(condition).values_list(
            "a_id", "b_id", "factors"
        ):
            found[(a, b)] = factors
    return found


def iter_groups(queryset: Any = None) -> Iterator[dict[str, Any]]:
    """Groups as plain dicts, a chunk of groups at a time (constant memory)."""
    queryset = queryset if queryset is not None else DuplicateGroup.objects.by_confidence()
    active = GroupMember.objects.filter(removed=False).select_related("document")
    pks = list(queryset.values_list("pk", flat=True))
    for part in chunked(pks, GROUP_CHUNK):
        groups = list(
            DuplicateGroup.objects.filter(pk__in=part)
            .order_by("-confidence", "pk")
            .prefetch_related(Prefetch("members", queryset=active, to_attr="active_members"))
        )
        pairs = {
            tuple(sorted((m.document_id, g.primary_id)))
            for g in groups
            for m in g.active_members
            if g.primary_id and m.document_id != g.primary_id
        }
        factors = _edge_factors(pairs)  # type: ignore[arg-type]
        for group in groups:
            yield {
                "group_id": group.pk,
                "confidence": group.confidence,
                "status": group.status,
                "members": [
                    {
                        "paperless_id": member.document.paperless_id,
                        "title": member.document.title,
                        "primary": member.document_id == group.primary_id,
                        "confidence": member.confidence,
                        "factors": None
                        if member.document_id == group.primary_id
                        else factors.get(tuple(sorted((member.document_id, group.primary_id)))),
                    }
                    for member in sorted(
                        group.active_members, key=lambda m: (not m.is_primary, m.document_id)
                    )
                ],
            }


def write_json(stream: IO[str], *, queryset: Any = None) -> int:
    """A JSON array of groups, streamed; returns how many."""
    count = 0
    stream.write("[")
    for group in iter_groups(queryset):
        stream.write(("," if count else "") + "\n" + json.dumps(group, ensure_ascii=False))
        count += 1
    stream.write("\n]\n")
    return count


def csv_rows(queryset: Any = None) -> Iterator[list[Any]]:
    yield CSV_COLUMNS
    for group in iter_groups(queryset):
        for member in group["members"]:
            factors = member["factors"] or {}
            yield [
                group["group_id"],
                group["confidence"],
                group["status"],
                member["paperless_id"],
                spreadsheet_safe(member["title"]),
                int(member["primary"]),
                "" if member["confidence"] is None else member["confidence"],
                *("" if factors.get(name) is None else factors[name] for name in FACTORS),
            ]


def write_csv(stream: IO[str], *, queryset: Any = None) -> int:
    writer = csv.writer(stream)
    rows = 0
    for row in csv_rows(queryset):
        writer.writerow(row)
        rows += 1
    return rows - 1


def write(stream: IO[str], *, format: str, queryset: Any = None) -> int:
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}, use one of {', '.join(FORMATS)}")
    return (write_json if format == "json" else write_csv)(stream, queryset=queryset)


class _Echo:
    def write(self, value: str) -> str:
        return value


def stream_chunks(*, format: str, queryset: Any = None) -> Iterator[str]:
    """The export as chunks of text for a streaming HTTP response."""
    if format == "csv":
        writer = csv.writer(_Echo())
        for row in csv_rows(queryset):
            yield writer.writerow(row)
        return
    yield "["
    for index, group in enumerate(iter_groups(queryset)):
        yield ("," if index else "") + "\n" + json.dumps(group, ensure_ascii=False)
    yield "\n]\n"
