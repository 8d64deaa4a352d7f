"""``/api/groups/{id}/...``: one group compared pair by pair, and the decisions taken on it.

The same functions as the detail page (``duplicates/review.py``). Documents are named by their
Paperless id everywhere, as in the groups list. Every answer to a decision is the group as it now
stands; errors have the common shape (``dedupe_project.api.ApiError``).
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from dedupe_project.access import READ, REVIEW, access
from dedupe_project.api import ApiError, ErrorOut, Id, InputSchema
from duplicates import review
from duplicates.models import DuplicateGroup

router = Router()

ERRORS = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class GroupStateMemberOut(Schema):
    paperless_id: int
    title: str
    is_primary: bool
    confidence: float | None


class GroupStateOut(Schema):
    id: int
    status: str
    confidence: float
    primary_paperless_id: int | None
    primary_chosen: bool
    kept_because: str
    kept_has_less: list[str]
    members: list[GroupStateMemberOut]
    removed: list[int]


class ComparedFactorOut(Schema):
    name: str
    label: str
    value: float | None
    moved: float | None = Field(
        None,
        description="How much this factor moved the pair's confidence (with it minus without "
        "it, under the saved weights); null for a factor that adds nothing.",
    )


class ComparedPairOut(Schema):
    a: int
    b: int
    confidence: float | None
    not_duplicate: bool
    factors: list[ComparedFactorOut]


class IdentifierOut(Schema):
    kind: str
    value: str
    count: int


class IdentifiersOut(Schema):
    """Dates, amounts and numbers of one member against the primary's."""

    paperless_id: int
    shared: list[IdentifierOut]
    only_primary: list[IdentifierOut]
    only_member: list[IdentifierOut]
    exact: int
    near: int
    conflicts: int
    missing: int
    conflict: bool
    truncated: bool


class CompareOut(Schema):
    group: GroupStateOut
    pairs: list[ComparedPairOut]
    pairs_truncated: bool
    identifiers: list[IdentifiersOut]


class PrimaryIn(InputSchema):
    document_id: Id


class PairIn(InputSchema):
    a: Id
    b: Id


class StatusIn(InputSchema):
    status: Literal[tuple(DuplicateGroup.Status.values)]  # type: ignore[valid-type]


def _group(group_id: int) -> DuplicateGroup:
    try:
        return review.group_for_review(group_id)
    except DuplicateGroup.DoesNotExist as exc:
        raise ApiError(status=404, code="not_found", detail="No such duplicate group.") from exc


def _not_a_member(exc: Exception) -> ApiError:
    return ApiError(status=404, code="not_a_member", detail=str(exc))


def group_state(group: DuplicateGroup) -> dict[str, Any]:
    kept = review.kept_explanation(group)
    return {
        "kept_because": kept.summary if kept else "",
        "kept_has_less": kept.shortfalls if kept else [],
        "id": group.pk,
        "status": group.status,
        "confidence": group.confidence,
        "primary_paperless_id": group.primary.paperless_id if group.primary else None,
        "primary_chosen": group.primary_chosen,
        "members": [
            {
                "paperless_id": member.document.paperless_id,
                "title": member.document.title,
                "is_primary": member.document_id == group.primary_id,
                "confidence": member.confidence,
            }
            for member in group.active_members
        ],
        "removed": [member.document.paperless_id for member in group.removed_members],
    }


def _identifiers(paperless_id: int, report: review.IdentifierReport) -> dict[str, Any]:
    def values(attribute: str) -> list[dict[str, Any]]:
        return [
            {"kind": item.kind, "value": item.value, "count": item.count}
            for kind in report.kinds
            for item in getattr(kind, attribute)
        ]

    return {
        "paperless_id": paperless_id,
        "shared": values("shared"),
        "only_primary": values("only_left"),
        "only_member": values("only_right"),
        "exact": report.exact,
        "near": report.near,
        "conflicts": report.conflicts,
        "missing": report.missing,
        "conflict": report.conflict,
        "truncated": report.truncated,
    }


@router.get("/{int:group_id}/compare", response={200: CompareOut, 404: ErrorOut})
@access(READ)
def compare(request: HttpRequest, group_id: Id) -> dict[str, Any]:
    """Every pair's stored factors (labelled; the primary's pairs first, at most
    ``MAX_PAIRS``), and each member's dates, amounts and numbers against the primary's: shared,
    only on one side, and the engine's verdict."""
    group = _group(group_id)
    pairs, truncated = review.pair_rows(group)
    documents = review.member_documents(group)
    identifiers = []
    if len(documents) > 1:
        texts = review.texts_of(documents, max_chars=review.IDENTIFIER_MAX_CHARS + 1)
        primary = documents[0]
        for document in documents[1:]:
            report = review.compare_texts_identifiers(texts[primary.pk], texts[document.pk])
            identifiers.append(_identifiers(document.paperless_id, report))
    return {
        "group": group_state(group),
        "pairs": [
            {
                "a": pair.a.paperless_id,
                "b": pair.b.paperless_id,
                "confidence": pair.confidence,
                "not_duplicate": pair.not_duplicate,
                "factors": [
                    {"name": f.name, "label": f.label, "value": f.value, "moved": f.moved}
                    for f in pair.factors
                ],
            }
            for pair in pairs
        ],
        "pairs_truncated": truncated,
        "identifiers": identifiers,
    }


@router.post("/{int:group_id}/primary", response={200: GroupStateOut, **ERRORS})
@access(REVIEW)
def set_primary(request: HttpRequest, group_id: Id, payload: PrimaryIn) -> dict[str, Any]:
    """Make a member (by Paperless id) the primary, the document kept; re-analysis keeps it."""
    try:
        review.choose_primary(_group(group_id), paperless_id=payload.document_id, user=request.user)
    except review.NotAMember as exc:
        raise _not_a_member(exc) from exc
    return group_state(_group(group_id))


@router.post(
    "/{int:group_id}/members/{int:document_id}/remove", response={200: GroupStateOut, **ERRORS}
)
@access(REVIEW)
def remove_member(request: HttpRequest, group_id: Id, document_id: Id) -> dict[str, Any]:
    """Take a document (Paperless id) out of the group; no analysis puts it back with these."""
    try:
        review.remove_member(_group(group_id), paperless_id=document_id, user=request.user)
    except review.NotAMember as exc:
        raise _not_a_member(exc) from exc
    return group_state(_group(group_id))


@router.post(
    "/{int:group_id}/members/{int:document_id}/put-back", response={200: GroupStateOut, **ERRORS}
)
@access(REVIEW)
def put_back(request: HttpRequest, group_id: int, document_id: int) -> dict[str, Any]:
    """Undo "remove from group": the document (Paperless id) is an active member again."""
    try:
        review.put_back(_group(group_id), paperless_id=document_id, user=request.user)
    except review.NotAMember as exc:
        raise _not_a_member(exc) from exc
    except review.CannotPutBack as exc:
        raise ApiError(status=409, code="in_another_group", detail=str(exc)) from exc
    return group_state(_group(group_id))


@router.post("/{int:group_id}/not-duplicate", response={200: GroupStateOut, **ERRORS})
@access(REVIEW)
def group_not_duplicate(request: HttpRequest, group_id: Id) -> dict[str, Any]:
    """Every pair of the group is "not duplicates"; the group is kept closed as the record."""
    review.set_status(
        _group(group_id), status=DuplicateGroup.Status.NOT_DUPLICATE, user=request.user
    )
    return group_state(_group(group_id))


@router.post("/{int:group_id}/pairs/not-duplicate", response={200: GroupStateOut, **ERRORS})
@access(REVIEW)
def pair_not_duplicate(request: HttpRequest, group_id: Id, payload: PairIn) -> dict[str, Any]:
    """Two members (Paperless ids ``a`` and ``b``) are not duplicates. A group of only these two
    is closed; a larger one is split by the next analysis."""
    try:
        review.mark_pair_not_duplicate(
            _group(group_id), a=payload.a, b=payload.b, user=request.user
        )
    except review.NotAMember as exc:
        raise _not_a_member(exc) from exc
    except ValueError as exc:
        raise ApiError(
            status=422,
            code="same_document",
            detail=str(exc),
            field_errors={"b": ["Must differ from a."]},
        ) from exc
    return group_state(_group(group_id))


@router.post("/{int:group_id}/status", response={200: GroupStateOut, **ERRORS})
@access(REVIEW)
def set_status(request: HttpRequest, group_id: Id, payload: StatusIn) -> dict[str, Any]:
    """``new``, ``reviewed``, ``resolved`` or ``not_duplicate`` (which records every pair;
    leaving it takes those pair decisions back)."""
    review.set_status(_group(group_id), status=payload.status, user=request.user)
    return group_state(_group(group_id))
