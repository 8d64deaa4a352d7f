"""Pages of AI review: the overview with the run form, a run (estimate, start, progress, usage,
failures), the review page (a card per document, a decision per field, keyboard), apply and
revert plans, and the AI settings. Every page works without JavaScript; with HTMX a view renders
only its fragment."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from ai_review import apply, budget, review, runs
from ai_review.forms import AiSettingsForm, RunForm
from ai_review.llm import ai_settings, test_connection
from ai_review.models import ApplyPlan, FieldSuggestion, ReviewRun, Suggestion
from dedupe_project.access import CONFIRM, PLAN, READ, REVIEW, RUN_JOBS, SETTINGS, access
from dedupe_project.models import Configuration
from documents.models import Correspondent, DocumentType, Tag
from duplicates.models import AuditEntry

REVIEW_PAGE_SIZE = 10


def _status_context() -> dict[str, Any]:
    config = Configuration.objects.get_solo()
    ai = ai_settings()
    month = budget.month_usage()
    limit = config.ai_monthly_budget
    return {
        "ai": ai,
        "config": config,
        "key_hint": config.secret_hint("openai_api_key") if ai.key else "",
        "month": month,
        "budget_limit": limit,
        "budget_percent": min(100, round(100 * month["cost"] / limit)) if limit else None,
        "price": budget.price_for(ai.model, config.ai_price_table),
    }


@access(READ)
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    context = {
        **_status_context(),
        "form": RunForm(),
        "runs": ReviewRun.objects.select_related("created_by", "job").annotate(
            documents=Count("suggestions")
        )[:20],
        "to_review": Suggestion.objects.to_review().count(),
        "protected_count": runs.protected_documents_count(),
    }
    return render(
        request, "ai_review/home.html#status" if request.htmx else "ai_review/home.html", context
    )


@access(RUN_JOBS)
@require_http_methods(["POST"])
def run_create(request: HttpRequest) -> HttpResponse:
    """Make a draft run with its estimate (nothing is sent yet)."""
    form = RunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Check the filters: " + form.errors.as_text())
        return redirect("ai-home")
    try:
        run = runs.create_run(selection=form.selection(), user=request.user)
    except runs.RunError as exc:
        messages.error(request, str(exc))
        return redirect("ai-home")
    return redirect("ai-run-detail", run_id=run.pk)


def _run_context(run: ReviewRun) -> dict[str, Any]:
    suggestions = run.suggestions.all()
    return {
        "run": run,
        "job": run.job,
        "counts": run.suggestion_counts(),
        "usage": run.usage(),
        "problems": suggestions.filter(
            status__in=[Suggestion.Status.FAILED, Suggestion.Status.SKIPPED]
        ).order_by("position"),
        "to_review": suggestions.to_review().count(),
        "waiting": suggestions.filter(status=Suggestion.Status.PENDING).count(),
    }


@access(READ)
@require_http_methods(["GET"])
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(ReviewRun.objects.select_related("job", "created_by"), pk=run_id)
    template = "ai_review/run_detail.html#run" if request.htmx else "ai_review/run_detail.html"
    return render(request, template, {**_run_context(run), **_status_context()})


@access(RUN_JOBS)
@require_http_methods(["POST"])
def run_start(request: HttpRequest, run_id: int) -> HttpResponse:
    """Start a draft run, or continue one that stopped (budget), failed or was cancelled."""
    run = get_object_or_404(ReviewRun, pk=run_id)
    try:
        if request.POST.get("retry_failed"):
            runs.retry_failed(run=run, user=request.user)
            messages.success(request, "The failed documents are asked for again.")
        else:
            runs.start_run(run=run, user=request.user)
            messages.success(request, "Started: suggestions appear as they arrive.")
    except runs.RunError as exc:
        messages.error(request, str(exc))
    return redirect("ai-run-detail", run_id=run.pk)


def _review_queryset(request: HttpRequest) -> tuple[Any, dict[str, Any]]:
    run_id = request.GET.get("run", "")
    queryset = Suggestion.objects.to_review()
    filters: dict[str, Any] = {"run": None}
    if run_id.isdigit():
        queryset = queryset.filter(run_id=int(run_id))
        filters["run"] = int(run_id)
    return queryset, filters


def _fields_prefetch() -> Prefetch:
    return Prefetch("fields", queryset=FieldSuggestion.objects.order_by("position", "pk"))


def _choices() -> dict[str, Any]:
    return {
        "correspondent_choices": Correspondent.objects.order_by("name").only(
            "paperless_id", "name"
        ),
        "document_type_choices": DocumentType.objects.order_by("name").only("paperless_id", "name"),
        "tag_names": Tag.objects.order_by("name").values_list("name", flat=True),
    }


@access(READ)
@require_http_methods(["GET"])
def review_page(request: HttpRequest) -> HttpResponse:
    queryset, filters = _review_queryset(request)
    queryset = queryset.select_related("run", "document").prefetch_related(_fields_prefetch())
    page = Paginator(queryset.order_by("-run_id", "position"), REVIEW_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    scope = Suggestion.objects.filter(pk__in=queryset.values("pk"))
    accepted = FieldSuggestion.objects.filter(
        suggestion__in=scope, decision=FieldSuggestion.Decision.ACCEPTED, outcome=""
    )
    context = {
        "page": page,
        "filters": filters,
        "threshold": Configuration.objects.get_solo().ai_accept_threshold,
        "accepted_count": accepted.count(),
        "accepted_documents": accepted.values("suggestion_id").distinct().count(),
        "runs": ReviewRun.objects.filter(suggestions__in=Suggestion.objects.to_review()).distinct()[
            :50
        ],
        "query": urlencode({"run": filters["run"]}) if filters["run"] else "",
        **_choices(),
    }
    template = "ai_review/review.html#review" if request.htmx else "ai_review/review.html"
    return render(request, template, context)


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@access(REVIEW)
@require_http_methods(["POST"])
def field_decide(request: HttpRequest, field_id: int) -> HttpResponse:
    """Accept, reject, edit or reset one field; HTMX gets the row back."""
    field = get_object_or_404(FieldSuggestion.objects.select_related("suggestion"), pk=field_id)
    error = ""
    decision, value = request.POST.get("decision", ""), None
    if decision == "edit":
        decision, value = "accept", request.POST.get("value", "")
    try:
        field = review.decide(field=field, decision=decision, user=request.user, value=value)
    except review.ReviewError as exc:
        error = str(exc)
    if request.htmx:
        return render(
            request,
            "ai_review/partials/field_row.html",
            {"field": field, "error": error, **_choices()},
            status=422 if error else 200,
        )
    if error:
        messages.error(request, error)
    return redirect(_back(request, reverse("ai-review")) + f"#suggestion-{field.suggestion_id}")


@access(REVIEW)
@require_http_methods(["POST"])
def suggestion_decide(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    """One document: accept every field above the confidence, or reject the undecided rest."""
    suggestion = get_object_or_404(Suggestion, pk=suggestion_id)
    scope = Suggestion.objects.filter(pk=suggestion.pk)
    try:
        if request.POST.get("action") == "reject_rest":
            review.reject_rest(suggestions=scope, user=request.user)
        else:
            review.accept_above(suggestions=scope, threshold=_threshold(request), user=request.user)
    except review.ReviewError as exc:
        messages.error(request, str(exc))
    if request.htmx:
        suggestion = (
            Suggestion.objects.select_related("run", "document")
            .prefetch_related(_fields_prefetch())
            .get(pk=suggestion.pk)
        )
        return render(
            request,
            "ai_review/partials/review_card.html",
            {"suggestion": suggestion, "threshold": _threshold(request), **_choices()},
        )
    return redirect(_back(request, reverse("ai-review")) + f"#suggestion-{suggestion.pk}")


def _threshold(request: HttpRequest) -> float:
    raw = request.POST.get("threshold", "")
    try:
        value = float(raw)
    except ValueError:
        return Configuration.objects.get_solo().ai_accept_threshold
    return value / 100 if value > 1 else value


@access(REVIEW)
@require_http_methods(["POST"])
def accept_above(request: HttpRequest) -> HttpResponse:
    """Accept every undecided field at or above a confidence, for the whole batch shown."""
    run_id = request.POST.get("run", "")
    scope = Suggestion.objects.to_review()
    if run_id.isdigit():
        scope = scope.filter(run_id=int(run_id))
    try:
        count = review.accept_above(
            suggestions=Suggestion.objects.filter(pk__in=scope.values("pk")),
            threshold=_threshold(request),
            user=request.user,
        )
    except review.ReviewError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Accepted {count} suggestion{'s' if count != 1 else ''}.")
    return redirect(reverse("ai-review") + (f"?run={run_id}" if run_id.isdigit() else ""))


@access(PLAN)
@require_http_methods(["POST"])
def apply_create(request: HttpRequest) -> HttpResponse:
    """Freeze the accepted fields (of one run, or all) into a plan to confirm."""
    run_id = request.POST.get("run", "")
    scope = Suggestion.objects.all()
    if run_id.isdigit():
        scope = scope.filter(run_id=int(run_id))
    try:
        plan = apply.create_apply_plan(suggestions=scope, user=request.user)
    except apply.ApplyError as exc:
        messages.error(request, str(exc))
        return redirect("ai-review")
    return redirect("ai-plan-detail", plan_id=plan.pk)


def _plan_context(plan: ApplyPlan) -> dict[str, Any]:
    items = plan.items.order_by("position")
    return {
        "plan": plan,
        "job": plan.job,
        "items": items,
        "counts": plan.item_counts(),
        "failed": items.filter(status="failed").count(),
    }


@access(READ)
@require_http_methods(["GET"])
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(ApplyPlan.objects.select_related("job", "created_by"), pk=plan_id)
    template = "ai_review/plan_detail.html#plan" if request.htmx else "ai_review/plan_detail.html"
    return render(request, template, _plan_context(plan))


@access(CONFIRM)
@require_http_methods(["POST"])
def plan_confirm(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(ApplyPlan, pk=plan_id)
    try:
        if request.POST.get("retry_failed"):
            plan = apply.retry_failed(plan=plan, user=request.user)
            messages.success(request, "The failed documents are tried again.")
        else:
            apply.confirm_plan(plan=plan, user=request.user)
    except apply.ApplyError as exc:
        messages.error(request, str(exc))
    return redirect("ai-plan-detail", plan_id=plan.pk)


@access(CONFIRM)
@require_http_methods(["POST"])
def revert(request: HttpRequest, entry_id: int) -> HttpResponse:
    """A plan (to confirm) putting back what an audited AI change set."""
    entry = get_object_or_404(AuditEntry, pk=entry_id)
    try:
        plan = apply.create_revert_plan(entry=entry, user=request.user)
    except apply.ApplyError as exc:
        messages.error(request, str(exc))
        return redirect("audit")
    return redirect("ai-plan-detail", plan_id=plan.pk)


@access(SETTINGS)
@require_http_methods(["GET", "POST"])
def ai_settings_page(request: HttpRequest) -> HttpResponse:
    config = Configuration.objects.get_solo()
    form = AiSettingsForm(request.POST or None, instance=config)
    if request.method == "POST":
        if form.is_valid():
            form.instance.updated_by = request.user
            saved = form.save()
            messages.success(request, "AI settings saved.")
            ai = ai_settings()
            if saved.openai_api_key_encrypted and not ai.key:
                messages.warning(request, ai.key_note)
            return redirect("ai-settings")
        messages.error(request, "Nothing was saved: correct the fields marked below.")
    context = {
        "form": form,
        "stored_key_hint": config.secret_hint("openai_api_key"),
        **_status_context(),
    }
    template = (
        "ai_review/settings.html#ai-settings-form" if request.htmx else "ai_review/settings.html"
    )
    return render(request, template, context, status=422 if form.errors else 200)


@access(SETTINGS)
@require_http_methods(["POST"])
def ai_settings_test(request: HttpRequest) -> HttpResponse:
    result = test_connection()
    if request.htmx:
        return render(request, "ai_review/settings.html#ai-test-result", {"result": result})
    (messages.success if result.ok else messages.error)(request, result.detail)
    return redirect("ai-settings")
