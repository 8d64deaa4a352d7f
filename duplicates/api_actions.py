"""``/api/plans`` (make, read, confirm, list, undo a dry run) and ``/api/audit``: the same functions
as the pages (``duplicates/actions.py``). A plan is made first and returned as its preview (the
documents, what happens to each, the counts); nothing runs until ``POST /api/plans/{id}/confirm``,
which answers 202 with the job and refuses a second confirmation (409)."""

# No ``from __future__ import annotations``: ``@paginate`` makes django-ninja read the annotations
# of the views below in its own module, where our names are unknown.
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from dedupe_project.access import CONFIRM, PLAN, READ, UNDO, access
from dedupe_project.api import ApiError, ErrorOut, Id, InputSchema, Pagination
from duplicates import actions
from duplicates.models import AuditEntry, Plan, PlanItem
from processing.api import JobOut

PlanStatusName = Literal[("", *Plan.Status.values)]
AuditActionName = Literal[("", *AuditEntry.Action.values)]

plans_router = Router()
audit_router = Router()


class PlanIn(InputSchema):
    action: Literal[
        "mark_reviewed",
        "resolve",
        "not_duplicate",
        "delete_duplicates",
        "tag_duplicates",
        "delete_document",
        "keep_as_version",
    ]
    groups: list[Id] = Field([], max_length=10_000)
    all_matching: bool = False
    filter: str = ""
    document: Id | None = None
    group: Id | None = None
    tag: Id | None = None
    dry_run: bool = False
    merge_metadata: bool = True


class ConfirmIn(InputSchema):
    dry_run: bool = False
    merge_metadata: bool | None = None
    accept_kept_has_less: bool = Field(
        default=False,
        description="Confirm a deletion whose kept document has fewer pages or less text than "
        "one it deletes (refused with 409 kept_has_less otherwise; the plan's items say where).",
    )


class PlanItemOut(Schema):
    position: int
    group_id: int | None
    paperless_id: int | None
    title: str
    original_checksum: str
    modified: datetime | None
    kept_paperless_id: int | None
    kept_title: str
    status: str
    reason: str
    shortfalls: list[str] = Field(
        description="Where the kept document has less than this one (fewer pages, less text)."
    )
    carry_over: dict[str, Any] = Field(
        description="What merging gives the kept document from this one (tags, notes, custom "
        "fields, ASN), as the mirror knows it."
    )

    @staticmethod
    def resolve_shortfalls(item: PlanItem) -> list[str]:
        return list((item.data or {}).get("shortfalls", []))

    @staticmethod
    def resolve_carry_over(item: PlanItem) -> dict[str, Any]:
        return dict((item.data or {}).get("carry", {}))


class PlanSummaryOut(Schema):
    id: int
    action: str
    status: str
    dry_run: bool
    merge_metadata: bool
    tag_paperless_id: int | None
    tag_name: str
    group_ids: list[int]
    filter_query: str
    source_plan_id: int | None
    job_id: int | None
    counts: dict[str, int]
    deletes: bool
    can_undo: bool
    error: str
    created_at: datetime
    created_by: str | None
    confirmed_at: datetime | None
    confirmed_by: str | None
    finished_at: datetime | None

    @staticmethod
    def resolve_counts(plan: Plan) -> dict[str, int]:
        return plan.item_counts()

    @staticmethod
    def resolve_created_by(plan: Plan) -> str | None:
        return plan.created_by.get_username() if plan.created_by else None

    @staticmethod
    def resolve_confirmed_by(plan: Plan) -> str | None:
        return plan.confirmed_by.get_username() if plan.confirmed_by else None


class PlanOut(PlanSummaryOut):
    explanation: str
    documents_to_act_on: int
    items: list[PlanItemOut]

    @staticmethod
    def resolve_explanation(plan: Plan) -> str:
        return actions.ACTION_HELP.get(plan.action, "")

    @staticmethod
    def resolve_documents_to_act_on(plan: Plan) -> int:
        return plan.items.filter(status=PlanItem.Status.PENDING, paperless_id__isnull=False).count()

    @staticmethod
    def resolve_items(plan: Plan) -> list[PlanItem]:
        return list(plan.items.order_by("position"))


class ConfirmOut(Schema):
    plan: PlanOut
    job: JobOut


class AuditOut(Schema):
    id: int
    at: datetime
    username: str
    action: str
    dry_run: bool
    plan_id: int | None
    group_id: int | None
    paperless_id: int
    title: str
    original_checksum: str
    archive_checksum: str
    kept_paperless_id: int | None
    detail: dict[str, Any]


def _plan_error(exc: actions.PlanError) -> ApiError:
    return ApiError(status=exc.status, code=exc.code, detail=str(exc))


@plans_router.post(
    "", response={201: PlanOut, 422: ErrorOut}, summary="Make a plan and see what it would do"
)
@access(PLAN)
def create(request: HttpRequest, payload: PlanIn) -> Status:
    """Nothing runs yet: the answer is the frozen plan (documents, the one kept per group, what
    happens to each); confirm it to run it. ``all_matching`` with ``filter`` (the groups list's
    query string) selects every group that filter matches; otherwise ``groups``. One document:
    ``action=delete_document`` with ``document`` (its Paperless id) and optionally ``group``."""
    from duplicates.filters import FilterError

    try:
        plan = actions.create_plan(
            action=payload.action,
            user=request.user,
            group_ids=payload.groups,
            select_all=payload.all_matching,
            filter_query=payload.filter,
            document_id=payload.document,
            group_id=payload.group,
            tag_paperless_id=payload.tag,
            dry_run=payload.dry_run,
            merge_metadata=payload.merge_metadata,
        )
    except FilterError as exc:
        raise ApiError(
            status=422,
            code="invalid_filter",
            detail="The filter has invalid fields.",
            field_errors=exc.field_errors,
        ) from exc
    except actions.PlanError as exc:
        raise _plan_error(exc) from exc
    return Status(201, plan)


@plans_router.get("", response=list[PlanSummaryOut], summary="Confirmed plans, newest first")
@paginate(Pagination)
@access(READ)
def list_plans(
    request: HttpRequest, dry_run: bool | None = None, status: PlanStatusName = ""
) -> Any:
    queryset = Plan.objects.history().select_related("confirmed_by")
    if dry_run is not None:
        queryset = queryset.filter(dry_run=dry_run)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


@plans_router.get("/{plan_id}", response={200: PlanOut, 404: ErrorOut}, summary="One plan")
@access(READ)
def get_plan(request: HttpRequest, plan_id: Id) -> Plan:
    return get_object_or_404(Plan, pk=plan_id)


@plans_router.post(
    "/{plan_id}/confirm",
    response={202: ConfirmOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Confirm a plan: it runs once, as a job",
)
@access(CONFIRM)
def confirm(request: HttpRequest, plan_id: Id, payload: ConfirmIn | None = None) -> Status:
    """``dry_run`` can only make it safer (tag instead of delete); 409 if already confirmed."""
    plan = get_object_or_404(Plan, pk=plan_id)
    payload = payload or ConfirmIn()
    try:
        job = actions.confirm_plan(
            plan=plan,
            user=request.user,
            dry_run=payload.dry_run,
            merge_metadata=payload.merge_metadata,
            accept_kept_has_less=payload.accept_kept_has_less,
        )
    except actions.PlanError as exc:
        raise _plan_error(exc) from exc
    plan.refresh_from_db()
    return Status(202, {"plan": plan, "job": job})


@plans_router.post(
    "/{plan_id}/undo",
    response={201: PlanOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Make the plan that undoes a dry run (removes its tag); confirm it to run",
)
@access(UNDO)
def undo(request: HttpRequest, plan_id: Id) -> Status:
    plan = get_object_or_404(Plan, pk=plan_id)
    try:
        undo_plan = actions.create_undo_plan(plan=plan, user=request.user)
    except actions.PlanError as exc:
        raise _plan_error(exc) from exc
    return Status(201, undo_plan)


@audit_router.get("", response=list[AuditOut], summary="Every change made in Paperless")
@paginate(Pagination)
@access(READ)
def audit_list(
    request: HttpRequest,
    action: AuditActionName = "",
    q: str = "",
    dry_run: bool | None = None,
    user: str = "",
    plan: Id | None = None,
) -> Any:
    """Newest first. ``q`` matches a title, a Paperless id, a group id or a checksum."""
    return actions.audit_entries(action=action, q=q, dry_run=dry_run, user=user, plan=plan)
