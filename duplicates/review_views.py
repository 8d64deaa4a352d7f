"""Review mode: one group at a time, its documents' pages side by side, one key per decision.

``/duplicates/review/?<the list's filters>`` opens the first group not decided yet;
``/duplicates/review/<id>/`` shows one group. Decisions are POSTs that answer the next group
(with HTMX only the ``#review`` fragment, its URL pushed; without JavaScript a redirect), and
collect into one draft plan (``duplicates/review_session.py``) confirmed on the plan page.

Every answer carries ``Server-Timing: app;dur=<ms>`` so the time per decision can be measured.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from dedupe_project.access import PLAN, READ, REVIEW, access
from dedupe_project.models import Configuration
from documents.models import Document
from duplicates import review, review_session
from duplicates.filters import filter_query, page_filters, select_groups
from duplicates.models import DuplicateGroup, GroupMember, PairEdge, Plan, PlanItem, ReviewDecision

ZOOMS = {"fit": 600, "read": 900, "large": 1400}
"""Zoom levels and the width the pages are drawn at."""
DEFAULT_ZOOM = "read"
MAX_KEYED = 9
REVIEW_PARAMS = frozenset({"compare", "p", "zoom", "page", "cursor"})
DECISION_WORDS = {
    ReviewDecision.Kind.KEEP: "kept #{kept}, the others go in the plan",
    ReviewDecision.Kind.NOT_DUPLICATE: "not duplicates",
    ReviewDecision.Kind.SKIP: "skipped",
}


def _filters_of(data: QueryDict) -> str:
    """The list's filters, as a query string: the review's own parameters left out; without a
    status filter the review goes through the new groups."""
    query = filter_query(data, drop=REVIEW_PARAMS)
    if "status" not in data:
        query = f"status=new&{query}" if query else "status=new"
    return query


def _order(query: str) -> list[int]:
    filters, _errors = page_filters(QueryDict(query))
    saved = Configuration.objects.get_solo().scoring_config()
    return list(select_groups(filters, saved=saved).pks())


def _decided(user: Any) -> tuple[Plan | None, list[int]]:
    plan = review_session.current_plan(user)
    return plan, (plan.review_decisions.group_ids() if plan else [])


def review_url(group_id: int | None, query: str, **extra: str) -> str:
    if group_id is None:
        url = reverse("review-done")
    else:
        url = reverse("review-group", kwargs={"group_id": group_id})
    params = "&".join(part for part in (query, urlencode(extra) if extra else "") if part)
    return f"{url}?{params}" if params else url


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _timed(response: HttpResponse, started: float) -> HttpResponse:
    response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def _handled(group: DuplicateGroup, documents: list[Document], plan: Plan | None) -> list[str]:
    """What was already done with this group outside this review: in another plan, tagged by a
    dry run."""
    notes = []
    other_plans = (
        PlanItem.objects.filter(group_id=group.pk)
        .exclude(plan__status=Plan.Status.CANCELLED)
        .exclude(plan=plan)
        .values_list("plan_id", "plan__status", "plan__dry_run")
        .distinct()
    )
    for plan_id, status, dry in other_plans[:3]:
        label = Plan.Status(status).label.lower()
        notes.append(f"in plan #{plan_id} ({'dry run, ' if dry else ''}{label})")
    tag_id = Configuration.objects.get_solo().dry_run_tag_id
    if tag_id is not None:
        tagged = [
            d.paperless_id for d in documents if any(t.paperless_id == tag_id for t in d.tags.all())
        ]
        if tagged:
            notes.append("tagged by a dry run: " + ", ".join(f"#{pid}" for pid in tagged))
    return notes


def _pages(document: Document, page: int, width: int) -> dict[str, Any]:
    has_page = not document.page_count or page <= document.page_count
    url = reverse("document-page", kwargs={"paperless_id": document.paperless_id, "page": page})
    return {"document": document, "has_page": has_page, "src": f"{url}?width={width}"}


def review_context(
    request: HttpRequest,
    group_id: int,
    params: QueryDict,
    *,
    known: tuple[Plan | None, list[int], list[int]] | None = None,
) -> dict[str, Any]:
    """What the page shows; ``known`` is (plan, decided group ids, order) when the caller has
    just read them (a decision), so they are not read twice."""
    try:
        group = review.group_for_review(group_id)
    except DuplicateGroup.DoesNotExist as exc:
        raise Http404("No such duplicate group.") from exc
    query = _filters_of(params)
    if known is None:
        plan, decided = _decided(request.user)
        order = _order(query)
    else:
        plan, decided, order = known
    where = review_session.position(order=order, decided=decided, current=group.pk)
    documents = review.member_documents(group)
    left = documents[0] if documents else None
    right = review.active_member(group, _int(params.get("compare")) or 0)
    if right is None or right == left:
        right = documents[1] if len(documents) > 1 else None
    zoom = params.get("zoom", DEFAULT_ZOOM)
    zoom = zoom if zoom in ZOOMS else DEFAULT_ZOOM
    width = ZOOMS[zoom]
    shown = [d for d in (left, right) if d is not None]
    counts = [d.page_count or 1 for d in shown]
    last_page = max(counts) if counts else 1
    page = min(max(_int(params.get("p")) or 1, 1), last_page)
    reason = diff = None
    if left is not None and right is not None:
        a, b = sorted((left.pk, right.pk))
        factors = PairEdge.objects.filter(a_id=a, b_id=b).values_list("factors", flat=True).first()
        reason = review_session.reason_line(left=left, right=right, factors=factors)
        texts = review.texts_of(shown, max_chars=review.DIFF_MAX_CHARS + 1)
        diff = review.diff_texts(texts[left.pk], texts[right.pk])
    decision = plan.review_decisions.filter(group_id=group.pk).first() if plan else None
    state = {"compare": str(right.paperless_id)} if right else {}
    if zoom != DEFAULT_ZOOM:
        state["zoom"] = zoom
    next_group = None
    if where.next is not None:
        next_group = DuplicateGroup.objects.filter(pk=where.next).select_related("primary").first()
    prefetch = []
    if next_group is not None and next_group.primary is not None:
        # The next group's first pages, loaded by the browser while this one is looked at.
        member = (
            GroupMember.objects.filter(group=next_group, removed=False)
            .exclude(document_id=next_group.primary_id)
            .select_related("document")
            .first()
        )
        second = member.document if member else None
        for document in (next_group.primary, second):
            if document is not None:
                prefetch.append(_pages(document, 1, width)["src"])
    keep_count = (
        plan.items.filter(paperless_id__isnull=False, status=PlanItem.Status.PENDING).count()
        if plan
        else 0
    )
    return {
        "group": group,
        "documents": documents,
        "keyed": documents[:MAX_KEYED],
        "left": left,
        "right": right,
        "columns": [_pages(d, page, width) for d in shown],
        "page": page,
        "last_page": last_page,
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if page < last_page else None,
        "zoom": zoom,
        "zooms": list(ZOOMS),
        "reason": reason,
        "diff": diff,
        "kept": review.kept_explanation(group),
        "handled": _handled(group, documents, plan),
        "decision": decision,
        "decision_text": (
            DECISION_WORDS[decision.kind].format(kept=decision.kept_paperless_id)
            if decision
            else ""
        ),
        "plan": plan,
        "decided_count": where.decided,
        "remaining": where.remaining,
        "keep_count": keep_count,
        "query": query,
        "state_query": urlencode(state),
        "previous_url": review_url(where.previous, query) if where.previous else None,
        "next_url": review_url(where.next, query) if where.next else None,
        "done_url": review_url(None, query),
        "prefetch": prefetch,
        "list_url": f"{reverse('group-list')}?{query}",
        "can_decide": REVIEW.allows(request.user) and PLAN.allows(request.user),
    }


def _render(request: HttpRequest, context: dict[str, Any], *, push: str = "") -> HttpResponse:
    template = "duplicates/review.html#review" if request.htmx else "duplicates/review.html"
    response = render(request, template, context)
    if push and request.htmx:
        response["HX-Push-Url"] = push
    return response


@access(READ)
@require_http_methods(["GET"])
def review_start(request: HttpRequest) -> HttpResponse:
    """The first group of the list's filters not decided yet in this review."""
    query = _filters_of(request.GET)
    _plan, decided = _decided(request.user)
    first = review_session.first_undecided(order=_order(query), decided=decided)
    return redirect(review_url(first, query))


@access(READ)
@require_http_methods(["GET"])
def review_group(request: HttpRequest, group_id: int) -> HttpResponse:
    started = time.perf_counter()
    context = review_context(request, group_id, request.GET)
    return _timed(_render(request, context), started)


@access(READ)
@require_http_methods(["GET"])
def review_done(request: HttpRequest) -> HttpResponse:
    """Nothing left to review with these filters: what was decided, and the plan to confirm."""
    query = _filters_of(request.GET)
    plan, decided = _decided(request.user)
    counts = {kind: 0 for kind in ReviewDecision.Kind.values}
    if plan is not None:
        for kind in plan.review_decisions.values_list("kind", flat=True):
            counts[kind] += 1
    last = decided[-1] if decided else None
    context = {
        "plan": plan,
        "counts": counts,
        "kept": counts[ReviewDecision.Kind.KEEP],
        "not_duplicate": counts[ReviewDecision.Kind.NOT_DUPLICATE],
        "skipped": counts[ReviewDecision.Kind.SKIP],
        "query": query,
        "list_url": f"{reverse('group-list')}?{query}",
        "previous_url": review_url(last, query) if last else None,
        "can_decide": REVIEW.allows(request.user) and PLAN.allows(request.user),
    }
    template = (
        "duplicates/review_done.html#review" if request.htmx else "duplicates/review_done.html"
    )
    return render(request, template, context)


def _require_review(request: HttpRequest) -> None:
    if not REVIEW.allows(request.user):
        raise PermissionDenied("Deciding groups needs the review permission.")


@access(PLAN)
@require_http_methods(["POST"])
def review_decide(request: HttpRequest, group_id: int) -> HttpResponse:
    """Record a decision (``decision`` = keep / not_duplicate / skip, ``document`` the one to
    keep) and answer the next group."""
    started = time.perf_counter()
    _require_review(request)
    query = _filters_of(QueryDict(request.POST.get("query", "")))
    group = DuplicateGroup.objects.select_related("primary").filter(pk=group_id).first()
    if group is None:
        raise Http404("No such duplicate group.")
    try:
        review_session.decide(
            group=group,
            kind=request.POST.get("decision", ""),
            user=request.user,
            keep_paperless_id=_int(request.POST.get("document")),
        )
    except review_session.DecisionError as exc:
        messages.error(request, str(exc))
        return _after(request, group.pk, query, started, state=request.POST)
    plan, decided = _decided(request.user)
    order = _order(query)
    where = review_session.position(order=order, decided=decided, current=group.pk)
    return _after(
        request, where.next, query, started, state=request.POST, known=(plan, decided, order)
    )


def _after(
    request: HttpRequest,
    group_id: int | None,
    query: str,
    started: float,
    *,
    state: QueryDict,
    known: tuple[Plan | None, list[int], list[int]] | None = None,
) -> HttpResponse:
    extra = {name: state[name] for name in ("zoom",) if state.get(name)}
    url = review_url(group_id, query, **extra)
    if not request.htmx:
        return redirect(url)
    if group_id is None:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return _timed(response, started)
    params = QueryDict(query, mutable=True)
    params.update(extra)
    context = review_context(request, group_id, params, known=known)
    return _timed(_render(request, context, push=url), started)


@access(PLAN)
@require_http_methods(["POST"])
def review_undo(request: HttpRequest) -> HttpResponse:
    """Take the last decision back and show its group again."""
    started = time.perf_counter()
    _require_review(request)
    query = _filters_of(QueryDict(request.POST.get("query", "")))
    undone = review_session.undo_last(user=request.user)
    if undone is None:
        messages.info(request, "Nothing to undo.")
        target = _int(request.POST.get("group"))
    else:
        messages.success(request, f"Undone: group {undone.group_id} is undecided again.")
        target = undone.group_id
        if not DuplicateGroup.objects.filter(pk=target).exists():
            target = None
    return _after(request, target, query, started, state=request.POST)


@access(PLAN)
@require_http_methods(["POST"])
def review_finish(request: HttpRequest) -> HttpResponse:
    """The plan of this review, to check every document and confirm it (or nothing to confirm)."""
    _require_review(request)
    query = _filters_of(QueryDict(request.POST.get("query", "")))
    plan = review_session.current_plan(request.user)
    if plan is None or not plan.group_ids:
        messages.info(request, "No group was kept in this review: there is nothing to confirm.")
        return redirect(f"{reverse('group-list')}?{query}")
    url = reverse("plan-detail", args=[plan.pk])
    back = review_url(None, query)
    target = f"{url}?{urlencode({'next': back})}"
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)
