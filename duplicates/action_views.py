"""Pages for actions: make a plan from a selection (or one document), confirm it, follow it, undo a
dry run, the plans history and the audit log. Every page works without JavaScript; with HTMX the
same views render only their fragment (the confirmation opens in a ``<dialog>``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods

from dedupe_project.access import CONFIRM, PLAN, READ, UNDO, access
from dedupe_project.models import Configuration
from documents.models import Tag
from duplicates import actions
from duplicates.models import AuditEntry, Plan

ACTION_ALIASES = {"delete": Plan.Action.DELETE_DOCUMENT, "tag": Plan.Action.TAG_DUPLICATES}
AUDIT_PAGE_SIZE = 50
PLANS_PAGE_SIZE = 50


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ints(values: list[str]) -> list[int]:
    return [number for value in values if (number := _int(value)) is not None]


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _back_url(request: HttpRequest, plan: Plan | None = None) -> str:
    """Where "back" goes: the page the person came from, else the list with its filters."""
    from duplicates.views import group_list_url

    target = _safe_next(request)
    if target:
        return target
    if plan is not None and plan.filter_query:
        return group_list_url(plan.filter_query)
    return group_list_url(request.POST.get("query", ""))


def _paperless_url() -> str:
    try:
        from duplicates.detail_views import paperless_base_url

        return paperless_base_url()
    except ImportError:  # pragma: no cover - the detail page is not installed
        return ""


def _plan_context(request: HttpRequest, plan: Plan) -> dict[str, Any]:
    config = Configuration.objects.get_solo()
    counts = plan.item_counts()
    preview = actions.plan_preview(plan)
    acting = sum(1 for g in preview for i in g.items if i.paperless_id and i.status == "pending")
    return {
        "plan": plan,
        "preview": preview,
        "shortfalls": actions.plan_shortfalls(plan) if plan.status == Plan.Status.DRAFT else [],
        "counts": counts,
        "acting": acting,
        "config_dry_run": config.dry_run,
        "dry_run_tag_name": plan.tag_name or config.dry_run_tag_name,
        "explanation": actions.ACTION_HELP.get(plan.action, ""),
        "paperless_url": _paperless_url(),
        "back_url": _back_url(request, plan),
        "next": _safe_next(request),
        "job": plan.job,
    }


@access(PLAN)
@require_http_methods(["POST"])
def plan_create(request: HttpRequest) -> HttpResponse:
    """Freeze a plan from the list's selection (``pk``, or ``all_matching`` with ``query``) or
    one document (``documents``, ``group``), and show what it will do."""
    post = request.POST
    action = ACTION_ALIASES.get(post.get("action", ""), post.get("action", ""))
    document_id = _int(post.get("documents") or post.get("document"))
    if action == Plan.Action.DELETE_DOCUMENT and document_id is None:
        action = Plan.Action.DELETE_DUPLICATES
    try:
        plan = actions.create_plan(
            action=action,
            user=request.user,
            group_ids=_ints(post.getlist("pk")),
            select_all=post.get("all_matching") == "1",
            filter_query=post.get("query", ""),
            document_id=document_id,
            group_id=_int(post.get("group")),
            tag_paperless_id=_int(post.get("tag")),
            dry_run=post.get("dry_run") == "1",
            merge_metadata=post.get("merge_metadata", "1") == "1",  # on unless asked off
        )
    except actions.PlanError as exc:
        if request.htmx:
            return render(
                request,
                "duplicates/plan_detail.html#plan-error",
                {"error": str(exc)},
                status=exc.status,
            )
        messages.error(request, str(exc))
        return redirect(_back_url(request))
    except ValueError as exc:  # the list's filter rejected the query string
        messages.error(request, f"The filter could not be applied: {exc}")
        return redirect(_back_url(request))
    if request.htmx:
        return render(request, "duplicates/plan_detail.html#plan", _plan_context(request, plan))
    url = reverse("plan-detail", args=[plan.pk])
    target = _safe_next(request)
    return redirect(f"{url}?{urlencode({'next': target})}" if target else url)


@access(READ)
@require_http_methods(["GET"])
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The confirmation (a draft), then the progress and the outcome of every document."""
    plan = get_object_or_404(Plan.objects.select_related("job", "created_by"), pk=plan_id)
    context = _plan_context(request, plan)
    context["tags"] = (
        Tag.objects.order_by("name") if plan.action == Plan.Action.TAG_DUPLICATES else []
    )
    template = "duplicates/plan_detail.html#plan" if request.htmx else "duplicates/plan_detail.html"
    return render(request, template, context)


@access(CONFIRM)
@require_http_methods(["POST"])
def plan_confirm(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(Plan, pk=plan_id)
    post = request.POST
    dry_run = post.get("mode") == "dry_run" or post.get("dry_run") == "1"
    try:
        job = actions.confirm_plan(
            plan=plan,
            user=request.user,
            dry_run=dry_run,
            merge_metadata=post.get("merge_metadata") == "1",
            accept_kept_has_less=post.get("accept_kept_has_less") == "1",
        )
    except actions.KeptHasLess as exc:
        messages.warning(request, str(exc))
        status = exc.status
    except actions.PlanError as exc:
        messages.error(request, str(exc))
        status = exc.status
    else:
        plan.refresh_from_db()
        what = "Dry run" if plan.dry_run else plan.get_action_display()
        messages.success(request, f"{what} started (job #{job.pk}).")
        status = 200
    if request.htmx:
        plan.refresh_from_db()
        return render(
            request, "duplicates/plan_detail.html#plan", _plan_context(request, plan), status=status
        )
    return redirect("plan-detail", plan_id=plan.pk)


@access(UNDO)
@require_http_methods(["POST"])
def plan_undo(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Make the plan that removes a dry run's tag, and show its confirmation."""
    plan = get_object_or_404(Plan, pk=plan_id)
    try:
        undo = actions.create_undo_plan(plan=plan, user=request.user)
    except actions.PlanError as exc:
        messages.error(request, str(exc))
        return redirect("plan-detail", plan_id=plan.pk)
    return redirect("plan-detail", plan_id=undo.pk)


@access(READ)
@require_http_methods(["GET"])
def plan_list(request: HttpRequest) -> HttpResponse:
    """The history of confirmed plans, dry runs included."""
    queryset = Plan.objects.history()
    dry = request.GET.get("dry_run", "")
    if dry in ("0", "1"):
        queryset = queryset.filter(dry_run=dry == "1")
    page = Paginator(queryset, PLANS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "dry_run": dry}
    template = "duplicates/plan_list.html#plans" if request.htmx else "duplicates/plan_list.html"
    return render(request, template, context)


def audit_filters(data: QueryDict) -> dict[str, Any]:
    action = data.get("action", "")
    dry = data.get("dry_run", "")
    return {
        "action": action if action in AuditEntry.Action.values else "",
        "q": data.get("q", "")[:200],
        "dry_run": {"1": True, "0": False}.get(dry),
        "user": data.get("user", "")[:150],
        "plan": _int(data.get("plan")),
    }


@access(READ)
@require_http_methods(["GET"])
def audit(request: HttpRequest) -> HttpResponse:
    """Every change we made in Paperless: filterable, paginated."""
    filters = audit_filters(request.GET)
    entries = actions.audit_entries(**filters)
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "dry_run": request.GET.get("dry_run", ""),
        "audit_actions": AuditEntry.Action.choices,
        "paperless_url": _paperless_url(),
    }
    template = "duplicates/audit.html#audit" if request.htmx else "duplicates/audit.html"
    return render(request, template, context)
