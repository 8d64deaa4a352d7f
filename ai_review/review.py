"""What a person decides about suggestions: accept, reject or edit one field, accept every field
above a confidence for a batch, or put a decision back. Nothing here touches Paperless: accepted
fields wait for an apply plan (``ai_review/apply.py``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ai_review.answers import TAG_NAME_MAX_CHARS, TITLE_MAX_CHARS, custom_field_value
from ai_review.models import FieldSuggestion, Suggestion
from ai_review.prompt import CustomFieldInfo
from documents.models import Correspondent, DocumentType, Tag

DECISIONS = ("accept", "reject", "reset")


class ReviewError(Exception):
    """A decision cannot be taken; the message belongs next to the field."""


def _who(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _edited(field: FieldSuggestion, raw: str) -> tuple[Any, str, bool]:
    """A person's edit of ``field`` as (value Paperless stores, display, is a new tag)."""
    text = " ".join(str(raw).split()) if field.field != "custom_field" else str(raw).strip()
    if not text:
        raise ReviewError("Enter a value, or reject the suggestion.")
    if field.field == "title":
        if len(text) > TITLE_MAX_CHARS:
            raise ReviewError(f"A title has at most {TITLE_MAX_CHARS} characters.")
        return text, text, False
    if field.field in ("correspondent", "document_type"):
        model = Correspondent if field.field == "correspondent" else DocumentType
        found = (
            model.objects.filter(paperless_id=int(text)).first()
            if text.isdigit()
            else model.objects.filter(name__iexact=text).first()
        )
        if found is None:
            raise ReviewError(f"No {field.label.lower()} of that name exists in Paperless.")
        return found.paperless_id, found.name, False
    if field.field == "created":
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            raise ReviewError("Enter the date as YYYY-MM-DD.") from None
        return parsed.isoformat(), parsed.isoformat(), False
    if field.field == "tag":
        if len(text) > TAG_NAME_MAX_CHARS:
            raise ReviewError(f"A tag name has at most {TAG_NAME_MAX_CHARS} characters.")
        tag = Tag.objects.filter(name__iexact=text).first()
        if tag is not None:
            return tag.paperless_id, tag.name, False
        return None, text, True
    if field.field == "custom_field":
        meta = field.meta or {}
        info = CustomFieldInfo(
            id=int(meta.get("field_id") or 0),
            name=field.label,
            data_type=str(meta.get("data_type") or "string"),
            options=tuple(tuple(option) for option in meta.get("options") or ()),  # type: ignore[misc]
        )
        try:
            value, display = custom_field_value(info, text)
        except ValueError as exc:
            raise ReviewError(f"{field.label}: {exc}.") from None
        return value, display, False
    raise ReviewError("This field cannot be edited.")


def decide(
    *, field: FieldSuggestion, decision: str, user: Any = None, value: str | None = None
) -> FieldSuggestion:
    """Accept (with ``value``: accept an edit), reject, or reset one field. A field already
    applied (or skipped, failed, reverted by a plan) is history and cannot change."""
    if decision not in DECISIONS:
        raise ReviewError(f"Unknown decision {decision!r}.")
    with transaction.atomic():
        locked = FieldSuggestion.objects.select_for_update().get(pk=field.pk)
        if locked.outcome:
            raise ReviewError(
                f"This suggestion was already {locked.get_outcome_display().lower()}; it can no "
                "longer be changed here."
            )
        if decision == "reset":
            locked.decision = FieldSuggestion.Decision.PENDING
            locked.value, locked.display = locked.suggested_value, locked.suggested_display
            locked.edited = False
            locked.is_new = locked.field == "tag" and locked.suggested_value is None
            locked.decided_by, locked.decided_at = None, None
        else:
            if decision == "accept" and value is not None and value.strip() != locked.display:
                locked.value, locked.display, is_new = _edited(locked, value)
                locked.is_new = is_new
                locked.edited = True
            locked.decision = (
                FieldSuggestion.Decision.ACCEPTED
                if decision == "accept"
                else FieldSuggestion.Decision.REJECTED
            )
            locked.decided_by, locked.decided_at = _who(user), timezone.now()
        locked.save()
    return locked


def open_fields(suggestions: QuerySet[Suggestion]) -> QuerySet[FieldSuggestion]:
    return FieldSuggestion.objects.filter(
        suggestion__in=suggestions, decision=FieldSuggestion.Decision.PENDING, outcome=""
    )


def accept_above(*, suggestions: QuerySet[Suggestion], threshold: float, user: Any = None) -> int:
    """Accept every undecided field of ``suggestions`` whose confidence is at least
    ``threshold``; returns how many. Decisions already taken stay as they are."""
    if not 0 <= threshold <= 1:
        raise ReviewError("The confidence must be between 0 and 1 (0% and 100%).")
    return (
        open_fields(suggestions)
        .filter(confidence__gte=threshold)
        .update(
            decision=FieldSuggestion.Decision.ACCEPTED,
            decided_by=_who(user),
            decided_at=timezone.now(),
        )
    )


def reject_rest(*, suggestions: QuerySet[Suggestion], user: Any = None) -> int:
    """Reject every undecided field of ``suggestions``."""
    return open_fields(suggestions).update(
        decision=FieldSuggestion.Decision.REJECTED,
        decided_by=_who(user),
        decided_at=timezone.now(),
    )
