"""Which copy of a group is kept (the primary), by a stated policy, and why.

The policy, in order; the first criterion on which two documents differ decides:

1. **most pages** (a 1-page extract never beats the 4-page scan it came from);
2. **a text layer** (searchable text, from OCR or the file itself), and **the full text**: not
   clearly less text than the fullest copy of the group (less than 90 % of it and at least 200
   characters shorter: an extract, not OCR noise);
3. **born digital** (a PDF with its own text, which Paperless keeps without an OCR'd archive
   copy, over a scan);
4. **larger file** (a higher-resolution scan is the larger one);
5. **an ASN**, then **more tags**, **more notes**, **more custom fields** (what a person added);
6. **added first** (the original, not the re-upload);
7. then the lowest id, so the choice never depends on the order documents come in.

:func:`primary_reasons` says in words why the kept document beat the others ("4 pages, has a
text layer"); :func:`shortfalls` says where a kept document is worse than one that would be
deleted (fewer pages, less text), for the confirmation to warn about. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .types import DocId

LESS_TEXT_RATIO = 0.9
"""The kept text is "less" when shorter than this share of the other's (OCR of the same page
differs by a few per cent, which is not worth a warning) ..."""
LESS_TEXT_MIN_CHARS = 200
"""... and at least this many characters shorter."""


@dataclass(frozen=True, slots=True)
class PrimaryFacts:
    """What the policy looks at, for one document."""

    id: DocId
    page_count: int | None = None
    text_length: int = 0
    born_digital: bool = False
    size: int | None = None
    asn: int | None = None
    tag_count: int = 0
    note_count: int = 0
    custom_field_count: int = 0
    added: date | datetime | None = None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _size(value: int | None) -> str:
    size = float(value or 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def _added_key(value: date | datetime | None) -> float:
    if value is None:
        return float("-inf")
    if isinstance(value, datetime):
        return -value.timestamp()
    return -float(value.toordinal() * 86400 - 62135596800)  # a date as midnight, same scale


def clearly_less_text(mine: int, other: int) -> bool:
    """``mine`` is clearly less text than ``other``: an extract, not OCR noise."""
    return mine < other * LESS_TEXT_RATIO and other - mine >= LESS_TEXT_MIN_CHARS


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    key: Callable[[PrimaryFacts, int], Any]  # (facts, the longest text among the candidates)
    phrase: Callable[[PrimaryFacts], str]


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "pages", lambda f, _: f.page_count or 0, lambda f: _plural(f.page_count or 0, "page")
    ),
    Criterion("text", lambda f, _: f.text_length > 0, lambda f: "has a text layer"),
    Criterion(
        "full_text",
        lambda f, longest: not clearly_less_text(f.text_length, longest),
        lambda f: f"more text ({f.text_length:,} characters)",
    ),
    Criterion("born_digital", lambda f, _: f.born_digital, lambda f: "born digital, not a scan"),
    Criterion("size", lambda f, _: f.size or 0, lambda f: f"larger file ({_size(f.size)})"),
    Criterion("asn", lambda f, _: f.asn is not None, lambda f: f"has ASN {f.asn}"),
    Criterion("tags", lambda f, _: f.tag_count, lambda f: _plural(f.tag_count, "tag")),
    Criterion("notes", lambda f, _: f.note_count, lambda f: _plural(f.note_count, "note")),
    Criterion(
        "custom_fields",
        lambda f, _: f.custom_field_count,
        lambda f: _plural(f.custom_field_count, "custom field"),
    ),
    Criterion("added", lambda f, _: _added_key(f.added), lambda f: "added first"),
)
POLICY = (
    "most pages, then a text layer and the full text, then born digital, then the larger file, "
    "then an ASN, tags, notes and custom fields, then the one added first"
)


def primary_key(facts: PrimaryFacts, *, longest_text: int | None = None) -> tuple:
    """Sort key, higher is better, among candidates whose longest text is ``longest_text``
    (default: this document's own; ties: let the caller add the id)."""
    longest = facts.text_length if longest_text is None else longest_text
    return tuple(criterion.key(facts, longest) for criterion in CRITERIA)


def _id_key(doc_id: DocId) -> tuple:
    return (-doc_id,) if isinstance(doc_id, int | float) else tuple(-ord(c) for c in str(doc_id))


def choose(candidates: Sequence[PrimaryFacts]) -> DocId:
    """The document the policy keeps (ties: the lowest id)."""
    longest = max((f.text_length for f in candidates), default=0)
    return max(candidates, key=lambda f: (primary_key(f, longest_text=longest), _id_key(f.id))).id


def deciding_criterion(
    kept: PrimaryFacts, other: PrimaryFacts, *, longest_text: int | None = None
) -> Criterion | None:
    """The first criterion on which ``kept`` beats ``other`` (None: equal on every one)."""
    longest = max(kept.text_length, other.text_length) if longest_text is None else longest_text
    for criterion in CRITERIA:
        mine, theirs = criterion.key(kept, longest), criterion.key(other, longest)
        if mine != theirs:
            return criterion if mine > theirs else None
    return None


def primary_reasons(kept: PrimaryFacts, others: Iterable[PrimaryFacts]) -> list[str]:
    """Why ``kept`` beats each of ``others`` by the policy, in the policy's order, once each:
    ``["4 pages", "has a text layer"]``. Empty when it beats none of them (a tie broken by
    the id, or a person's choice against the policy)."""
    others = list(others)
    longest = max((f.text_length for f in [kept, *others]), default=0)
    deciding = {
        c.name
        for c in (deciding_criterion(kept, o, longest_text=longest) for o in others)
        if c is not None
    }
    return [criterion.phrase(kept) for criterion in CRITERIA if criterion.name in deciding]


def shortfalls(kept: PrimaryFacts, other: PrimaryFacts) -> list[str]:
    """Where ``kept`` has less than ``other``, which would be deleted: fewer pages, or clearly
    less text (see :data:`LESS_TEXT_RATIO`). Empty when nothing is lost."""
    found = []
    if (kept.page_count or 0) < (other.page_count or 0):
        found.append(
            f"the kept #{kept.id} has {_plural(kept.page_count or 0, 'page')}, "
            f"#{other.id} has {other.page_count}"
        )
    if clearly_less_text(kept.text_length, other.text_length):
        found.append(
            f"the kept #{kept.id} has {kept.text_length:,} characters of text, "
            f"#{other.id} has {other.text_length:,}"
        )
    return found
