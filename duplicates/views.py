"""A minimal groups page and the export download (the review pages build on these)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dedupe_project.models import Configuration
from duplicates.analysis import AnalysisAlreadyRunning, start_analysis
from duplicates.api import export_response
from duplicates.export import FORMATS
from duplicates.models import DuplicateGroup


@require_http_methods(["GET"])
def group_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    queryset = DuplicateGroup.objects.for_list().by_confidence()
    if status in DuplicateGroup.Status.values:
        queryset = queryset.with_status(status)
    else:
        status = ""
    per_page = Configuration.objects.get_solo().groups_per_page
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    context = {"page": page, "status": status, "statuses": DuplicateGroup.Status.choices}
    template = "duplicates/group_list.html#groups" if request.htmx else "duplicates/group_list.html"
    return render(request, template, context)


@require_http_methods(["GET"])
def group_export(request: HttpRequest) -> HttpResponse:
    format = request.GET.get("format", "csv")
    if format not in FORMATS:
        return HttpResponseBadRequest("Unknown export format: use json or csv.")
    return export_response(format=format)


@require_http_methods(["POST"])
def analysis_start(request: HttpRequest) -> HttpResponse:
    try:
        job = start_analysis(full=request.POST.get("full") == "1", user=request.user)
        messages.success(request, f"Analysis #{job.pk} queued.")
    except AnalysisAlreadyRunning as exc:
        messages.info(request, str(exc))
    return redirect("group-list")
