"""Pages for the "part of" relation (:mod:`duplicates.relations`): the list of documents whose
text lies inside a longer one, and a person's "not related"."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from dedupe_project.access import READ, REVIEW, access
from dedupe_project.models import Configuration
from documents.models import Document
from duplicates import relations

PAGE_SIZE = 50


@access(READ)
@require_http_methods(["GET"])
def part_of_list(request: HttpRequest) -> HttpResponse:
    scoring = Configuration.objects.get_solo().scoring_config()
    page = Paginator(relations.part_of_edges(scoring=scoring), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "rows": relations.rows(page.object_list)}
    template = "duplicates/part_of.html#parts" if request.htmx else "duplicates/part_of.html"
    return render(request, template, context)


@access(REVIEW)
@require_http_methods(["POST"])
def part_of_not_related(request: HttpRequest) -> HttpResponse:
    part = get_object_or_404(Document, paperless_id=_int(request.POST.get("part")))
    whole = get_object_or_404(Document, paperless_id=_int(request.POST.get("whole")))
    relations.not_related(first=part, second=whole, user=request.user)
    messages.success(
        request, f"#{part.paperless_id} and #{whole.paperless_id} are not related: not shown again."
    )
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("part-of-list")


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return -1
