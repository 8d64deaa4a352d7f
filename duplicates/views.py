"""The duplicate groups list, the export download and "Analyse now".

The list keeps every filter in the query string: the filter form, the pager, the sort and page-size
controls and every action form carry it (``filter_query`` in the context), so a person never loses
their filters. With ``request.htmx`` only the ``#groups`` partial is rendered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods

from dedupe_project.access import READ, RUN_JOBS, access
from dedupe_project.models import FACTORS as FACTOR_DESCRIPTIONS
from dedupe_project.models import Configuration
from documents.models import Correspondent, DocumentType, Tag
from duplicates.actions import versions_available
from duplicates.analysis import AnalysisAlreadyRunning, start_analysis
from duplicates.api import export_response
from duplicates.engine import FACTORS
from duplicates.export import FORMATS
from duplicates.filters import (
    FACTOR_LABELS,
    SORTS,
    check_scoring,
    filter_query,
    load_groups,
    page_filters,
    parse_page_size,
    select_groups,
)
from duplicates.models import DuplicateGroup

PAGE_SIZES = (10, 25, 50, 100, 200, 500)


def group_list_url(query: str = "") -> str:
    """The list with the filters of ``query`` (a query string without ``?``)."""
    url = reverse("group-list")
    return f"{url}?{query}" if query else url


def options_html(choices: Iterable[tuple[Any, str]], *, selected: Any = None) -> SafeString:
    """``<option>`` elements for a select, built in Python: a library's hundreds of tags and
    correspondents, each a few template variables, were a large share of the list page's
    rendering time."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if value == selected else "", label) for value, label in choices),
    )


@access(READ)
@require_http_methods(["GET"])
def group_list(request: HttpRequest) -> HttpResponse:
    config = Configuration.objects.get_solo()
    saved = config.scoring_config()
    filters, errors = page_filters(request.GET)
    scoring_errors = check_scoring(filters, saved)
    if scoring_errors:
        errors.update(scoring_errors)
        filters = page_filters(_without(request.GET, "off", "on"))[0]
    per_page, page_size_note = parse_page_size(
        request.GET.get("per_page"), default=config.groups_per_page
    )
    selection = select_groups(filters, saved=saved)
    page = Paginator(selection.pks(), per_page).get_page(request.GET.get("page"))
    rows = load_groups(list(page.object_list), scoring=selection.scoring)
    handled = set(
        DuplicateGroup.objects.filter(pk__in=[row.pk for row in rows])
        .handled(dry_run_tag_id=config.dry_run_tag_id)
        .values_list("pk", flat=True)
    )
    for row in rows:
        row.handled = row.pk in handled
    tags = list(Tag.objects.values_list("pk", "paperless_id", "name"))

    context: dict[str, Any] = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "errors": errors,
        "page_size_note": page_size_note,
        "per_page": per_page,
        "page_sizes": sorted({*PAGE_SIZES, per_page}),
        "filter_query": filter_query(request.GET),
        "rescored": selection.rescored,
        "hiding_handled": filters.hide_handled,
        "statuses": DuplicateGroup.Status.choices,
        "sorts": [
            (value, f"{label} {'↓' if value.startswith('-') else '↑'}")
            for key, label in SORTS.items()
            for value in (f"-{key}", key)
        ],
        # names for the filter and the bulk actions' tag choice (both in the partial too)
        "tag_options": options_html(((pk, name) for pk, _, name in tags), selected=filters.tag),
        "action_tag_options": options_html((pid, name) for _, pid, name in tags),
        "versions_unavailable": versions_available(),  # why "keep as versions" is off, if it is
        "factor_controls": [
            {
                "name": name,
                "label": FACTOR_LABELS[name],
                "description": FACTOR_DESCRIPTIONS.get(name, ""),
                "saved_on": name in saved.enabled,
                "on": name in selection.scoring.enabled,
                "minimum": request.GET.get(f"min_{name}", ""),
            }
            for name in FACTORS
        ],
    }
    if request.htmx:
        return render(request, "duplicates/group_list.html#groups", context)
    context.update(
        correspondent_options=options_html(
            Correspondent.objects.values_list("pk", "name"), selected=filters.correspondent
        ),
        document_type_options=options_html(
            DocumentType.objects.values_list("pk", "name"), selected=filters.document_type
        ),
    )
    return render(request, "duplicates/group_list.html", context)


def _without(data: Any, *names: str) -> Any:
    copy = data.copy()
    for name in names:
        copy.pop(name, None)
    return copy


@access(READ)
@require_http_methods(["GET"])
def group_export(request: HttpRequest) -> HttpResponse:
    format = request.GET.get("format", "csv")
    if format not in FORMATS:
        return HttpResponseBadRequest("Unknown export format: use json or csv.")
    return export_response(format=format)


@access(RUN_JOBS)
@require_http_methods(["POST"])
def analysis_start(request: HttpRequest) -> HttpResponse:
    try:
        job = start_analysis(full=request.POST.get("full") == "1", user=request.user)
        messages.success(request, f"Analysis #{job.pk} queued.")
    except AnalysisAlreadyRunning as exc:
        messages.info(request, str(exc))
    if request.POST.get("next") == "dashboard":
        return redirect("dashboard")
    # back to the list with the filters it was posted from (re-encoded: only ever our own URL)
    query = QueryDict(request.POST.get("query", "")).urlencode()
    return redirect(group_list_url(query))
