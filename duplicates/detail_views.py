"""The group detail page and its per-group actions.

Every action is a plain POST form that works without JavaScript and redirects back to the page
(the Post/Redirect/Get pattern), carrying the groups list's filters along in ``next`` so they
survive the action; with HTMX the same view answers the re-rendered detail fragment instead.
The logic lives in ``duplicates/review.py``, shared with the API (``duplicates/api_detail.py``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from dedupe_project.access import READ, REVIEW, access
from documents import previews
from documents.connection import connection_settings
from documents.models import Document
from duplicates import review
from duplicates.models import DuplicateGroup

ZOOMS = ["fit", "50", "75", "100", "125", "150", "200"]
MAX_PREVIEW_PAGES = 9999
MAX_METADATA_COLUMNS = 12
PARTIALS = {"detail-preview": "duplicates/partials/detail_preview.html"}


def safe_next(request: HttpRequest, value: str | None) -> str:
    """Where to go back to (the groups list with its filters): a local URL only."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("group-list")


DETAIL_PARAMS = frozenset({"next", "compare", "page", "zoom"})


def back_to_list(request: HttpRequest, params: QueryDict) -> str:
    """The groups list to go back to: ``next`` when given, else the list with the filters the
    list's own links put on this page's query string (everything that isn't ours)."""
    if params.get("next"):
        return safe_next(request, params["next"])
    filters = [(k, v) for k in params for v in params.getlist(k) if k not in DETAIL_PARAMS and v]
    url = reverse("group-list")
    return f"{url}?{urlencode(filters)}" if filters else url


def versions_available() -> str:
    """Why "keep as a version" is not offered here ("" when it is)."""
    from duplicates.actions import versions_available as reason

    return reason()


def plan_create_url() -> str | None:
    """The safe-deletion plan page of the actions work, if it is installed (by URL name)."""
    for name in ("duplicates:plan-create", "plan-create"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


def paperless_base_url() -> str:
    """For "open in Paperless" links; empty (no links) when no connection is configured."""
    return connection_settings().url.rstrip("/")


def _load_group(group_id: int) -> DuplicateGroup:
    try:
        return review.group_for_review(group_id)
    except DuplicateGroup.DoesNotExist as exc:
        raise Http404("No such duplicate group.") from exc


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _preview_state(params: QueryDict, documents: list[Document]) -> dict[str, Any]:
    counts = [document.page_count for document in documents if document.page_count]
    last = max(counts) if counts else MAX_PREVIEW_PAGES
    page = min(max(_int(params.get("page")) or 1, 1), last)
    zoom = params.get("zoom", "fit")
    zoom = zoom if zoom in ZOOMS else "fit"
    # Chromium and Firefox (pdf.js) viewers both read #page and #zoom; "fit" is spelled for each.
    fragment = f"page={page}&" + ("view=Fit&zoom=page-fit" if zoom == "fit" else f"zoom={zoom}")
    return {
        "page": page,
        "zoom": zoom,
        "zooms": ZOOMS,
        "last_page": last if counts else None,
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if page < last else None,
        "fragment": fragment,
    }


def detail_context(
    request: HttpRequest, group: DuplicateGroup, params: QueryDict
) -> dict[str, Any]:
    """Everything the page shows: members, previews of the primary and the compared document,
    metadata side by side, the word diff of their texts, identifiers and the pairwise factors.
    ``compare`` picks the member compared with the primary; a document not in the group is 404."""
    documents = review.member_documents(group)
    left = documents[0] if documents else None
    right = None
    compare_id = _int(params.get("compare"))
    if compare_id is not None:
        right = review.active_member(group, compare_id)
        if right is None:
            raise Http404("That document is not in this group.")
        if right == left:
            right = None
    if right is None and len(documents) > 1:
        right = documents[1]
    shown = [document for document in (left, right) if document is not None]
    texts = review.texts_of(
        shown, max_chars=max(review.DIFF_MAX_CHARS, review.IDENTIFIER_MAX_CHARS) + 1
    )
    diff = identifiers = None
    if left is not None and right is not None:
        diff = review.diff_texts(texts[left.pk], texts[right.pk])
        identifiers = review.compare_texts_identifiers(texts[left.pk], texts[right.pk])
    pairs, pairs_truncated = review.pair_rows(group)
    next_url = back_to_list(request, params)
    query = {"next": next_url}
    if right is not None:
        query["compare"] = str(right.paperless_id)
    return {
        "group": group,
        "documents": documents,
        "left": left,
        "right": right,
        "shown": shown,
        "frames": [
            {"document": document, "inline": previews.is_previewable(document)}
            for document in shown
        ],
        "preview": _preview_state(params, shown),
        "metadata_documents": documents[:MAX_METADATA_COLUMNS],
        "metadata": review.metadata_rows(documents[:MAX_METADATA_COLUMNS]),
        "metadata_truncated": len(documents) > MAX_METADATA_COLUMNS,
        "diff": diff,
        "identifiers": identifiers,
        "pairs": pairs,
        "pairs_truncated": pairs_truncated,
        "statuses": DuplicateGroup.Status.choices,
        "next_url": next_url,
        "detail_query": urlencode(query),
        "paperless_url": paperless_base_url(),
        "plan_create_url": plan_create_url(),
        "versions_unavailable": versions_available(),
        "kept": review.kept_explanation(group),
        "confirm_remove": None,
    }


@access(READ)
@require_http_methods(["GET"])
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _load_group(group_id)
    context = detail_context(request, group, request.GET)
    if request.htmx:
        template = PARTIALS.get(request.htmx.target or "", "duplicates/group_detail.html#detail")
    else:
        template = "duplicates/group_detail.html"
    return render(request, template, context)


def _after_action(request: HttpRequest, group_id: int) -> HttpResponse:
    """Back to the page with its state (the compared document, the preview page and zoom, the
    list filters in ``next``); with HTMX the re-rendered fragment, messages included."""
    state = QueryDict(mutable=True)
    for name in ("compare", "page", "zoom"):
        if request.POST.get(name):
            state[name] = request.POST[name]
    state["next"] = safe_next(request, request.POST.get("next"))
    if request.htmx:
        group = _load_group(group_id)
        try:
            context = detail_context(request, group, state)
        except Http404:  # the compared document just left the group
            state.pop("compare")
            context = detail_context(request, group, state)
        return render(request, "duplicates/group_detail.html#detail", context)
    url = reverse("group-detail", kwargs={"group_id": group_id})
    return redirect(f"{url}?{state.urlencode()}")


def _member_param(request: HttpRequest, name: str = "document") -> int:
    value = _int(request.POST.get(name))
    if value is None:
        raise Http404("Say which document.")
    return value


@access(REVIEW)
@require_http_methods(["POST"])
def set_primary(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _load_group(group_id)
    paperless_id = _member_param(request)
    try:
        review.choose_primary(group, paperless_id=paperless_id, user=request.user)
    except review.NotAMember as exc:
        raise Http404(str(exc)) from exc
    messages.success(request, f"Document #{paperless_id} is now the primary: it is the one kept.")
    return _after_action(request, group_id)


@access(REVIEW)
@require_http_methods(["POST"])
def remove_member(request: HttpRequest, group_id: int) -> HttpResponse:
    """Take a document out of the group, after a confirmation (the same POST without
    ``confirm=1`` shows the question in a dialog on the group page)."""
    group = _load_group(group_id)
    paperless_id = _member_param(request)
    if request.POST.get("confirm") != "1":
        if review.active_member(group, paperless_id) is None:
            raise Http404("That document is not in this group.")
        return _confirm_removal(request, group, paperless_id)
    try:
        review.remove_member(group, paperless_id=paperless_id, user=request.user)
    except review.NotAMember as exc:
        raise Http404(str(exc)) from exc
    if request.POST.get("compare") == str(paperless_id):
        request.POST = request.POST.copy()
        request.POST.pop("compare")
    messages.success(
        request,
        f"Document #{paperless_id} was taken out of this group; no analysis will put it back "
        "with these documents. “Put back” in the list of removed documents undoes it.",
    )
    return _after_action(request, group_id)


def _confirm_removal(
    request: HttpRequest, group: DuplicateGroup, paperless_id: int
) -> HttpResponse:
    state = QueryDict(mutable=True)
    for name in ("compare", "page", "zoom"):
        if request.POST.get(name) and not (
            name == "compare" and request.POST[name] == str(paperless_id)
        ):
            state[name] = request.POST[name]
    state["next"] = safe_next(request, request.POST.get("next"))
    context = detail_context(request, group, state)
    context["confirm_remove"] = review.active_member(group, paperless_id)
    template = (
        "duplicates/group_detail.html#detail" if request.htmx else "duplicates/group_detail.html"
    )
    return render(request, template, context)


@access(REVIEW)
@require_http_methods(["POST"])
def put_back(request: HttpRequest, group_id: int) -> HttpResponse:
    """Undo a removal: the document is a member of the group again."""
    group = _load_group(group_id)
    paperless_id = _member_param(request)
    try:
        review.put_back(group, paperless_id=paperless_id, user=request.user)
    except review.NotAMember as exc:
        raise Http404(str(exc)) from exc
    except review.CannotPutBack as exc:
        messages.error(request, str(exc))
        return _after_action(request, group_id)
    messages.success(request, f"Document #{paperless_id} is back in this group.")
    return _after_action(request, group_id)


@access(REVIEW)
@require_http_methods(["POST"])
def pair_not_duplicate(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _load_group(group_id)
    a, b = _member_param(request, "a"), _member_param(request, "b")
    try:
        reformed = review.mark_pair_not_duplicate(group, a=a, b=b, user=request.user)
    except review.NotAMember as exc:
        raise Http404(str(exc)) from exc
    except ValueError as exc:
        messages.error(request, str(exc))
        return _after_action(request, group_id)
    if reformed.closed:
        messages.success(request, f"#{a} and #{b} are not duplicates: the group is closed.")
    elif reformed.left:
        gone = ", ".join(f"#{pid}" for pid in reformed.left)
        messages.success(
            request,
            f"#{a} and #{b} are not duplicates: {gone} left this group, and no plan will delete "
            "it as a duplicate of the kept document.",
        )
        if request.POST.get("compare") and int(request.POST["compare"]) in reformed.left:
            request.POST = request.POST.copy()
            request.POST.pop("compare")
    else:
        messages.success(request, f"#{a} and #{b} are not duplicates.")
    return _after_action(request, group_id)


@access(REVIEW)
@require_http_methods(["POST"])
def set_status(request: HttpRequest, group_id: int) -> HttpResponse:
    group = _load_group(group_id)
    status = request.POST.get("status", "")
    if status not in DuplicateGroup.Status.values:
        messages.error(request, "Unknown status.")
        return _after_action(request, group_id)
    review.set_status(group, status=status, user=request.user)
    messages.success(
        request, f"Group {group_id} is now “{DuplicateGroup.Status(status).label.lower()}”."
    )
    return _after_action(request, group_id)
