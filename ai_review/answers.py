"""Checking a model's answer and turning it into per-field proposals a person can accept.

Pure functions, no Django. An answer that is not JSON, or not the schema's shape, raises
:class:`AnswerRejected` with a reason a person can read: the document fails, the run goes on.
A well-formed answer whose single value does not fit (a correspondent that does not exist, a date
that is not a date, a custom-field value of the wrong type) only loses that value, with a note.

Proposals are made only where the value differs from the document's current one. Tags are added,
never removed; a tag name that does not exist is a *new* tag, created only when a person accepts it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ai_review.prompt import (
    EVIDENCE_MAX_CHARS,
    SUPPORTED_CUSTOM_FIELD_TYPES,
    CustomFieldInfo,
    Vocabulary,
)

TITLE_MAX_CHARS = 128
TAG_NAME_MAX_CHARS = 128
CUSTOM_STRING_MAX_CHARS = 128
EARLIEST_CREATED = date(1900, 1, 1)
CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}


class AnswerRejected(Exception):
    """The answer cannot be used at all; the message says why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Value(_Strict):
    value: str | None
    confidence: float | int
    evidence: str


class _Tag(_Strict):
    name: str
    confidence: float | int
    evidence: str


class _CustomValue(_Strict):
    field: str
    value: str
    confidence: float | int
    evidence: str


class _Answer(_Strict):
    title: _Value
    correspondent: _Value
    document_type: _Value
    created: _Value
    tags: list[_Tag]
    custom_fields: list[_CustomValue] = []


@dataclass
class Proposal:
    """One change a person can accept: ``key`` is unique per document (``title``,
    ``tag:<name>``, ``custom_field:<id>``); ``value`` is what Paperless stores (an id, a date as
    text, a custom field's typed value); ``display`` is what a person reads."""

    field: str
    key: str
    label: str
    value: Any
    display: str
    current_display: str
    confidence: float
    evidence: str
    evidence_found: bool
    is_new: bool = False


@dataclass
class Reading:
    proposals: list[Proposal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CurrentMetadata:
    """The document as Paperless has it now (ids), to propose only real changes."""

    title: str = ""
    correspondent: int | None = None
    document_type: int | None = None
    tags: tuple[int, ...] = ()
    created: date | None = None
    custom_fields: dict[int, Any] = field(default_factory=dict)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text).strip()


def quote_found(quote: str, text: str) -> bool:
    """True when ``quote`` appears in ``text`` (case and spacing aside)."""
    wanted = _normalise(quote)
    return bool(wanted) and wanted in _normalise(text)


def parse_answer(content: str | None) -> _Answer:
    """The answer's JSON in the schema's shape, or :class:`AnswerRejected`."""
    if not content or not content.strip():
        raise AnswerRejected("The model sent an empty answer.")
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise AnswerRejected(f"The answer is not valid JSON ({exc.msg} at {exc.pos}).") from None
    if not isinstance(data, dict):
        raise AnswerRejected("The answer is not a JSON object.")
    try:
        answer = _Answer.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'answer'}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise AnswerRejected(f"The answer does not fit the schema: {problems}.") from None
    confidences = [
        answer.title.confidence,
        answer.correspondent.confidence,
        answer.document_type.confidence,
        answer.created.confidence,
        *(t.confidence for t in answer.tags),
        *(c.confidence for c in answer.custom_fields),
    ]
    if any(not 0 <= c <= 1 for c in confidences):
        raise AnswerRejected("The answer does not fit the schema: a confidence is not 0 to 1.")
    return answer


def _evidence(value: str) -> str:
    return value.strip()[:EVIDENCE_MAX_CHARS]


def _find_name(name: str, choices: dict[str, int]) -> tuple[str, int] | None:
    """The listed name matching ``name`` (exactly, else ignoring case and spacing)."""
    if name in choices:
        return name, choices[name]
    wanted = _normalise(name)
    for candidate, pk in choices.items():
        if _normalise(candidate) == wanted:
            return candidate, pk
    return None


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _number(text: str) -> Decimal | None:
    """A number from '1.234,56', '1,234.56', '12,5' or '12.50'."""
    cleaned = re.sub(r"[^\d,.\-]", "", text)
    if not re.search(r"\d", cleaned):
        return None
    if "," in cleaned and "." in cleaned:
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        head, _, tail = cleaned.rpartition(",")
        cleaned = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else cleaned.replace(",", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def custom_field_value(info: CustomFieldInfo, raw: str) -> tuple[Any, str]:
    """``raw`` as Paperless stores a value of ``info``'s type, and how to show it.
    Raises ``ValueError`` with a reason when it does not fit."""
    text = raw.strip()
    kind = info.data_type
    if not text:
        raise ValueError("empty")
    if kind in ("string", "longtext"):
        if kind == "string" and len(text) > CUSTOM_STRING_MAX_CHARS:
            raise ValueError(f"longer than {CUSTOM_STRING_MAX_CHARS} characters")
        return text, text
    if kind == "url":
        if not re.match(r"^https?://\S+$", text):
            raise ValueError("not a http(s) URL")
        return text, text
    if kind == "date":
        parsed = _parse_date(text)
        if parsed is None:
            raise ValueError("not a date (YYYY-MM-DD)")
        return parsed.isoformat(), parsed.isoformat()
    if kind == "boolean":
        lowered = text.casefold()
        if lowered in ("true", "yes", "ja", "oui", "1"):
            return True, "yes"
        if lowered in ("false", "no", "nein", "non", "0"):
            return False, "no"
        raise ValueError("not true or false")
    if kind == "integer":
        number = _number(text)
        if number is None or number != number.to_integral_value():
            raise ValueError("not a whole number")
        return int(number), str(int(number))
    if kind == "float":
        number = _number(text)
        if number is None:
            raise ValueError("not a number")
        return float(number), f"{number}"
    if kind == "monetary":
        code_match = re.search(r"\b([A-Z]{3})\b", text.upper())
        code = code_match.group(1) if code_match else ""
        for symbol, symbol_code in CURRENCY_SYMBOLS.items():
            if symbol in text:
                code = code or symbol_code
        number = _number(re.sub(r"[A-Za-z]{3}", "", text))
        if number is None:
            raise ValueError("not an amount")
        value = f"{code}{number.quantize(Decimal('0.01'))}"
        return value, value
    if kind == "select":
        for stored, label in info.options:
            if _normalise(label) == _normalise(text):
                return stored, label
        raise ValueError("not one of the options")
    raise ValueError(f"fields of type {kind} are not filled in")


def read_answer(
    content: str | None,
    *,
    vocabulary: Vocabulary,
    current: CurrentMetadata,
    text: str,
    max_tags: int,
    today: date,
) -> Reading:
    """The proposals in a model's answer, constrained to ``vocabulary`` and differing from
    ``current``. Raises :class:`AnswerRejected` when the answer cannot be used at all."""
    answer = parse_answer(content)
    reading = Reading()
    correspondent_names = vocabulary.names("correspondents")
    type_names = vocabulary.names("document_types")

    def propose(**kwargs: Any) -> None:
        evidence = _evidence(kwargs.pop("evidence"))
        reading.proposals.append(
            Proposal(
                evidence=evidence,
                evidence_found=quote_found(evidence, text),
                confidence=float(kwargs.pop("confidence")),
                **kwargs,
            )
        )

    title = (answer.title.value or "").strip()
    if title:
        if len(title) > TITLE_MAX_CHARS:
            title = title[:TITLE_MAX_CHARS].rsplit(" ", 1)[0].strip() or title[:TITLE_MAX_CHARS]
            reading.notes.append(
                f"The suggested title was shortened to {TITLE_MAX_CHARS} characters."
            )
        if title != current.title:
            propose(
                field="title",
                key="title",
                label="Title",
                value=title,
                display=title,
                current_display=current.title,
                confidence=answer.title.confidence,
                evidence=answer.title.evidence,
            )

    for field_name, label, choices, names, now in (
        ("correspondent", "Correspondent", vocabulary.correspondents, correspondent_names,
         current.correspondent),
        ("document_type", "Document type", vocabulary.document_types, type_names,
         current.document_type),
    ):  # fmt: skip
        suggestion = getattr(answer, field_name)
        if not suggestion.value:
            continue
        found = _find_name(suggestion.value, choices)
        if found is None:
            reading.notes.append(
                f"The {label.lower()} '{suggestion.value[:80]}' does not exist in Paperless: "
                "not offered."
            )
            continue
        name, pk = found
        if pk != now:
            propose(
                field=field_name,
                key=field_name,
                label=label,
                value=pk,
                display=name,
                current_display=names.get(now, "") if now is not None else "",
                confidence=suggestion.confidence,
                evidence=suggestion.evidence,
            )

    if answer.created.value:
        created = _parse_date(answer.created.value)
        if created is None:
            reading.notes.append(f"The created date '{answer.created.value[:40]}' is not a date.")
        elif not EARLIEST_CREATED <= created <= today + timedelta(days=366):
            reading.notes.append(f"The created date {created} is not plausible: not offered.")
        elif created != current.created:
            propose(
                field="created",
                key="created",
                label="Created",
                value=created.isoformat(),
                display=created.isoformat(),
                current_display=current.created.isoformat() if current.created else "",
                confidence=answer.created.confidence,
                evidence=answer.created.evidence,
            )

    seen: set[str] = set()
    tags = sorted(answer.tags, key=lambda t: -t.confidence)
    for tag in tags:
        name = " ".join(tag.name.split())[:TAG_NAME_MAX_CHARS]
        if not name or _normalise(name) in seen:
            continue
        if len(seen) >= max_tags:
            reading.notes.append(f"Only the {max_tags} most confident tags are offered.")
            break
        seen.add(_normalise(name))
        found = _find_name(name, vocabulary.tags)
        if found is not None and found[1] in current.tags:
            continue
        propose(
            field="tag",
            key=f"tag:{_normalise(found[0] if found else name)}",
            label="Tag",
            value=found[1] if found else None,
            display=found[0] if found else name,
            current_display="",
            confidence=tag.confidence,
            evidence=tag.evidence,
            is_new=found is None,
        )

    done: set[int] = set()
    for entry in answer.custom_fields:
        info = vocabulary.custom_fields.get(entry.field) or next(
            (
                f
                for n, f in vocabulary.custom_fields.items()
                if _normalise(n) == _normalise(entry.field)
            ),
            None,
        )
        if info is None or info.data_type not in SUPPORTED_CUSTOM_FIELD_TYPES:
            reading.notes.append(
                f"The custom field '{entry.field[:80]}' does not exist: not offered."
            )
            continue
        if info.id in done:
            continue
        try:
            value, display = custom_field_value(info, entry.value)
        except ValueError as exc:
            reading.notes.append(f"{info.name}: '{entry.value[:80]}' is {exc}: not offered.")
            continue
        done.add(info.id)
        now = current.custom_fields.get(info.id)
        if now == value:
            continue
        propose(
            field="custom_field",
            key=f"custom_field:{info.id}",
            label=info.name,
            value=value,
            display=display,
            current_display="" if now is None else str(now),
            confidence=entry.confidence,
            evidence=entry.evidence,
        )
    return reading
