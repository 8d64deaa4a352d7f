"""``/api/ai``: everything the AI review pages do: status and usage, runs (estimate, start, retry),
suggestions with their fields, decisions, accept-above, apply and revert plans."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from ai_review import apply, budget, review, runs
from ai_review.llm import ai_settings
from ai_review.models import ApplyPlan, FieldSuggestion, ReviewRun, Suggestion
from ai_review.selection import Selection
from dedupe_project.access import CONFIRM, PLAN, READ, REVIEW, RUN_JOBS, access
from dedupe_project.api import ApiError, ErrorOut, Id, InputSchema, Pagination
from dedupe_project.models import Configuration
from duplicates.models import AuditEntry

router = Router()


class UsageOut(Schema):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: Decimal
    calls: int
    unpriced_calls: int


class StatusOut(Schema):
    endpoint: str
    model: str
    key_sent: bool
    key_note: str
    month: UsageOut
    monthly_budget: Decimal | None
    to_review: int


class RunIn(InputSchema):
    """Which documents (filters combine); ``start`` sends them at once, else you get the
    estimate of a draft to start later."""

    resolved_primaries: bool = False
    untagged: bool = False
    no_correspondent: bool = False
    tag: Id | None = None
    document_ids: list[Id] = Field([], max_length=100_000)
    skip_suggested: bool = True
    start: bool = False


class RunOut(Schema):
    id: int
    status: str
    source: str
    model: str
    endpoint: str
    selection: dict[str, Any]
    estimate: dict[str, Any]
    counts: dict[str, int]
    usage: UsageOut
    stopped_reason: str
    error: str
    job_id: int | None
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_counts(run: ReviewRun) -> dict[str, int]:
        return run.suggestion_counts()

    @staticmethod
    def resolve_usage(run: ReviewRun) -> dict[str, Any]:
        return run.usage()


class FieldOut(Schema):
    id: int
    field: str
    label: str
    value: Any
    display: str
    current_display: str
    suggested_display: str
    confidence: float
    evidence: str
    evidence_found: bool
    is_new: bool
    edited: bool
    decision: str
    outcome: str


class SuggestionOut(Schema):
    id: int
    run_id: int
    paperless_id: int
    title: str
    status: str
    reason: str
    notes: list[str]
    modified: datetime | None
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal | None
    fields: list[FieldOut]

    @staticmethod
    def resolve_fields(suggestion: Suggestion) -> list[FieldSuggestion]:
        return list(suggestion.fields.all())


class DecisionIn(InputSchema):
    decision: Literal[tuple(review.DECISIONS)]  # type: ignore[valid-type]
    value: str | None = Field(None, max_length=10_000)


class AcceptAboveIn(InputSchema):
    threshold: float = Field(ge=0, le=1)
    run: Id | None = None


class CountOut(Schema):
    count: int


class AiPlanIn(InputSchema):
    run: Id | None = None


class ItemOut(Schema):
    paperless_id: int
    title: str
    changes: list[dict[str, Any]]
    status: str
    reason: str
    audit_entry_id: int | None


class AiPlanOut(Schema):
    id: int
    kind: str
    status: str
    counts: dict[str, int]
    error: str
    job_id: int | None
    items: list[ItemOut]
    created_at: datetime

    @staticmethod
    def resolve_counts(plan: ApplyPlan) -> dict[str, int]:
        return plan.item_counts()

    @staticmethod
    def resolve_items(plan: ApplyPlan) -> list[Any]:
        return list(plan.items.order_by("position"))


def _run_error(exc: runs.RunError) -> ApiError:
    return ApiError(status=exc.status, code=exc.code, detail=str(exc))


def _apply_error(exc: apply.ApplyError) -> ApiError:
    return ApiError(status=exc.status, code=exc.code, detail=str(exc))


@router.get("/status", response=StatusOut, summary="The AI connection and this month's usage")
@access(READ)
def status(request: HttpRequest) -> dict[str, Any]:
    ai = ai_settings()
    return {
        "endpoint": ai.endpoint,
        "model": ai.model,
        "key_sent": bool(ai.key),
        "key_note": ai.key_note,
        "month": budget.month_usage(),
        "monthly_budget": Configuration.objects.get_solo().ai_monthly_budget,
        "to_review": Suggestion.objects.to_review().count(),
    }


@router.post(
    "/runs",
    response={201: RunOut, 409: ErrorOut, 422: ErrorOut},
    summary="Make a run (with its estimate); start it at once with start=true",
)
@access(RUN_JOBS)
def create_run(request: HttpRequest, payload: RunIn) -> Status:
    selection = Selection(
        resolved_primaries=payload.resolved_primaries,
        untagged=payload.untagged,
        no_correspondent=payload.no_correspondent,
        tag=payload.tag,
        document_ids=tuple(payload.document_ids),
        skip_suggested=payload.skip_suggested,
    )
    try:
        run = runs.create_run(selection=selection, user=request.user, source=ReviewRun.Source.API)
        if payload.start:
            runs.start_run(run=run, user=request.user)
    except runs.RunError as exc:
        raise _run_error(exc) from exc
    return Status(201, run)


@router.get("/runs", response=list[RunOut], summary="AI runs, newest first")
@paginate(Pagination)
@access(READ)
def list_runs(request: HttpRequest) -> Any:
    return ReviewRun.objects.all()


@router.get("/runs/{int:run_id}", response={200: RunOut, 404: ErrorOut})
@access(READ)
def get_run(request: HttpRequest, run_id: int) -> ReviewRun:
    return get_object_or_404(ReviewRun, pk=run_id)


@router.post(
    "/runs/{int:run_id}/start",
    response={202: RunOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Start a draft, or continue a run whose documents still wait",
)
@access(RUN_JOBS)
def start_run(request: HttpRequest, run_id: int) -> Status:
    run = get_object_or_404(ReviewRun, pk=run_id)
    try:
        runs.start_run(run=run, user=request.user)
    except runs.RunError as exc:
        raise _run_error(exc) from exc
    return Status(202, run)


@router.post(
    "/runs/{int:run_id}/retry-failed",
    response={202: RunOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
)
@access(RUN_JOBS)
def retry_run(request: HttpRequest, run_id: int) -> Status:
    run = get_object_or_404(ReviewRun, pk=run_id)
    try:
        runs.retry_failed(run=run, user=request.user)
    except runs.RunError as exc:
        raise _run_error(exc) from exc
    run.refresh_from_db()
    return Status(202, run)


@router.get(
    "/suggestions",
    response=list[SuggestionOut],
    summary="Documents of runs with their suggested fields (to_review: only undecided or "
    "accepted and not applied)",
)
@paginate(Pagination)
@access(READ)
def list_suggestions(request: HttpRequest, run: int | None = None, to_review: bool = True) -> Any:
    queryset = Suggestion.objects.to_review() if to_review else Suggestion.objects.all()
    if run is not None:
        queryset = queryset.filter(run_id=run)
    return queryset.prefetch_related("fields").order_by("-run_id", "position")


@router.post(
    "/fields/{int:field_id}",
    response={200: FieldOut, 404: ErrorOut, 422: ErrorOut},
    summary="Accept (with value: accept an edit), reject or reset one suggested field",
)
@access(REVIEW)
def decide_field(request: HttpRequest, field_id: int, payload: DecisionIn) -> FieldSuggestion:
    field = get_object_or_404(FieldSuggestion, pk=field_id)
    try:
        return review.decide(
            field=field, decision=payload.decision, user=request.user, value=payload.value
        )
    except review.ReviewError as exc:
        raise ApiError(
            status=422, code="invalid_decision", detail=str(exc), field_errors={"value": [str(exc)]}
        ) from exc


@router.post(
    "/accept-above",
    response={200: CountOut, 422: ErrorOut},
    summary="Accept every undecided field at or above a confidence (0 to 1)",
)
@access(REVIEW)
def accept_above(request: HttpRequest, payload: AcceptAboveIn) -> dict[str, int]:
    scope = Suggestion.objects.to_review()
    if payload.run is not None:
        scope = scope.filter(run_id=payload.run)
    try:
        count = review.accept_above(
            suggestions=Suggestion.objects.filter(pk__in=scope.values("pk")),
            threshold=payload.threshold,
            user=request.user,
        )
    except review.ReviewError as exc:
        raise ApiError(status=422, code="invalid_threshold", detail=str(exc)) from exc
    return {"count": count}


@router.post(
    "/plans",
    response={201: AiPlanOut, 422: ErrorOut},
    summary="Freeze the accepted fields (of one run, or all) into a plan to confirm",
)
@access(PLAN)
def create_plan(request: HttpRequest, payload: AiPlanIn) -> Status:
    scope = Suggestion.objects.all()
    if payload.run is not None:
        scope = scope.filter(run_id=payload.run)
    try:
        plan = apply.create_apply_plan(suggestions=scope, user=request.user)
    except apply.ApplyError as exc:
        raise _apply_error(exc) from exc
    return Status(201, plan)


@router.get("/plans/{int:plan_id}", response={200: AiPlanOut, 404: ErrorOut})
@access(READ)
def get_plan(request: HttpRequest, plan_id: int) -> ApplyPlan:
    return get_object_or_404(ApplyPlan, pk=plan_id)


@router.post(
    "/plans/{int:plan_id}/confirm",
    response={202: AiPlanOut, 404: ErrorOut, 409: ErrorOut},
    summary="Confirm a plan once: its job applies (or reverts) the changes",
)
@access(CONFIRM)
def confirm_plan(request: HttpRequest, plan_id: int) -> Status:
    plan = get_object_or_404(ApplyPlan, pk=plan_id)
    try:
        apply.confirm_plan(plan=plan, user=request.user)
    except apply.ApplyError as exc:
        raise _apply_error(exc) from exc
    return Status(202, plan)


@router.post(
    "/plans/{int:plan_id}/retry-failed",
    response={202: AiPlanOut, 404: ErrorOut, 409: ErrorOut},
    summary="A new plan, confirmed at once, for the documents that failed",
)
@access(CONFIRM)
def retry_plan(request: HttpRequest, plan_id: int) -> Status:
    plan = get_object_or_404(ApplyPlan, pk=plan_id)
    try:
        retry = apply.retry_failed(plan=plan, user=request.user)
    except apply.ApplyError as exc:
        raise _apply_error(exc) from exc
    return Status(202, retry)


@router.post(
    "/audit/{int:entry_id}/revert",
    response={201: AiPlanOut, 404: ErrorOut, 409: ErrorOut},
    summary="A revert plan (to confirm) for an applied AI change, from its audit entry",
)
@access(CONFIRM)
def revert(request: HttpRequest, entry_id: int) -> Status:
    entry = get_object_or_404(AuditEntry, pk=entry_id)
    try:
        plan = apply.create_revert_plan(entry=entry, user=request.user)
    except apply.ApplyError as exc:
        raise _apply_error(exc) from exc
    return Status(201, plan)
