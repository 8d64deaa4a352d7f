"""Pages for the mirrored documents: the list, one document, its thumbnail, and "Sync now"."""

from __future__ import annotations

from typing import Any

from csp.decorators import csp_replace
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import quote_etag
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods

from dedupe_project.access import READ, RUN_JOBS, access
from documents import page_images, previews, thumbnails
from documents.models import Correspondent, Document, DocumentType, SyncState, Tag
from documents.paperless import etag_value
from documents.sync import SyncAlreadyRunning, last_sync_job, start_sync

PAGE_SIZE = 50


def _int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "")
    return int(raw) if raw.isdigit() else None


def list_filters(request: HttpRequest) -> dict[str, Any]:
    """The list filters from the query string (the page and the API read the same names)."""
    return {
        "q": request.GET.get("q", "").strip()[:200],
        "tag": _int_param(request, "tag"),
        "correspondent": _int_param(request, "correspondent"),
        "document_type": _int_param(request, "document_type"),
    }


@access(READ)
@require_http_methods(["GET"])
def document_list(request: HttpRequest) -> HttpResponse:
    filters = list_filters(request)
    queryset = Document.objects.filtered(**filters).for_list().order_by("-paperless_id")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "tags": Tag.objects.only("pk", "name"),
        "correspondents": Correspondent.objects.only("pk", "name"),
        "document_types": DocumentType.objects.only("pk", "name"),
    }
    template = "documents/list.html#document-table" if request.htmx else "documents/list.html"
    return render(request, template, context)


@access(READ)
@require_http_methods(["GET"])
def document_detail(request: HttpRequest, paperless_id: int) -> HttpResponse:
    document = get_object_or_404(
        Document.objects.select_related(
            "correspondent", "document_type", "storage_path", "content"
        ).prefetch_related("tags"),
        paperless_id=paperless_id,
    )
    from dedupe_project.models import Configuration
    from duplicates import relations

    scoring = Configuration.objects.get_solo().scoring_config()
    context = {"document": document, "related": relations.for_document(document, scoring=scoring)}
    template = "documents/detail.html#document" if request.htmx else "documents/detail.html"
    return render(request, template, context)


@access(READ)
@require_http_methods(["GET", "HEAD"])
def document_thumbnail(request: HttpRequest, paperless_id: int) -> HttpResponse:
    """The cached thumbnail (fetched from Paperless again if it was evicted), privately cacheable
    by the browser and revalidated with its ETag (the original file's checksum)."""
    document = get_object_or_404(
        Document.objects.only("paperless_id", "thumbnail_etag"), paperless_id=paperless_id
    )
    etag = quote_etag(etag_value(document.thumbnail_etag)) if document.thumbnail_etag else None
    if etag and etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        data = thumbnails.read(paperless_id)
        if data is None:
            data = _fetch_thumbnail(paperless_id)
        response = HttpResponse(data, content_type="image/webp")
    if etag:
        response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _fetch_thumbnail(paperless_id: int) -> bytes:
    from documents.connection import ConnectionNotConfigured, get_client
    from documents.paperless import PaperlessError

    try:
        with get_client() as client:
            data = client.get_thumbnail(paperless_id).content
    except (ConnectionNotConfigured, PaperlessError) as exc:
        raise Http404(f"No thumbnail: {exc}") from exc
    thumbnails.store(paperless_id, data)
    return data


@access(READ)
@require_http_methods(["GET", "HEAD"])
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"], "object-src": ["'self'"]})
def document_preview(request: HttpRequest, paperless_id: int) -> HttpResponse:
    """The file Paperless shows as the preview (archive PDF, else the original), from the disk
    cache or fetched once, for the browser's own viewer in a same-origin ``<iframe>`` (which pages
    and zooms with ``#page=N&zoom=Z``). Privately cacheable, revalidated with its version as ETag.
    A type a browser can't show safely inline is sent as a download."""
    document = get_object_or_404(
        Document.objects.only(
            "paperless_id",
            "archived_file_name",
            "archive_checksum",
            "original_checksum",
            "modified",
            "mime_type",
        ),
        paperless_id=paperless_id,
    )
    etag = quote_etag(previews.version_of(document))
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = _preview_response(document)
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _preview_response(document: Document) -> HttpResponse:
    from documents.connection import ConnectionNotConfigured
    from documents.paperless import NotFound, PaperlessError

    try:
        preview = previews.get_preview(document)
    except (ConnectionNotConfigured, PaperlessError) as exc:
        # Answered here, not raised: the message must show inside our frame, which the error
        # pages' "frame-ancestors 'none'" would block.
        not_found = isinstance(exc, (ConnectionNotConfigured, NotFound))
        return HttpResponse(
            f"No preview: {exc}" if not_found else f"Paperless did not send the preview: {exc}",
            status=404 if not_found else 502,
            content_type="text/plain; charset=utf-8",
        )
    filename = f"{document.paperless_id}.{preview.extension}"
    if preview.path is not None:
        try:
            handle = preview.path.open("rb")
        except FileNotFoundError:  # evicted between storing and serving: serve it anew
            return _preview_response(document)
        response: HttpResponse = FileResponse(
            handle,
            content_type=preview.content_type,
            as_attachment=not preview.inline,
            filename=filename,
        )
    else:
        response = HttpResponse(preview.data, content_type=preview.content_type)
        disposition = "inline" if preview.inline else "attachment"
        response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


PAGE_FIELDS = (
    "paperless_id",
    "archived_file_name",
    "archive_checksum",
    "original_checksum",
    "modified",
    "mime_type",
    "page_count",
)


@access(READ)
@require_http_methods(["GET", "HEAD"])
def document_page(request: HttpRequest, paperless_id: int, page: int) -> HttpResponse:
    """One page drawn as an image on our side (``?width=600|900|1400``), cached on disk and
    privately by the browser, revalidated with the file's version (review mode shows these)."""
    from documents.connection import ConnectionNotConfigured
    from documents.paperless import NotFound, PaperlessError

    document = get_object_or_404(Document.objects.only(*PAGE_FIELDS), paperless_id=paperless_id)
    raw_width = request.GET.get("width", str(page_images.DEFAULT_WIDTH))
    width = int(raw_width) if raw_width.isdigit() else 0
    etag = quote_etag(f"{previews.version_of(document)}-{page}-{width}")
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        try:
            data = page_images.page_image(document, page=page, width=width)
        except page_images.NoPage as exc:
            raise Http404(str(exc)) from exc
        except (ConnectionNotConfigured, PaperlessError) as exc:
            # Drawn in place of the page (a broken image says nothing), and not cached.
            reason = "Paperless has no such document" if isinstance(exc, NotFound) else str(exc)
            return _no_page_image(f"No preview of #{paperless_id}", reason)
        response = HttpResponse(data, content_type=page_images.CONTENT_TYPE)
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _no_page_image(title: str, reason: str) -> HttpResponse:
    from django.utils.html import escape

    lines = [reason[i : i + 60] for i in range(0, min(len(reason), 240), 60)]
    text = "".join(
        f'<text x="24" y="{110 + 26 * n}" font-size="18">{escape(line)}</text>'
        for n, line in enumerate(lines)
    )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="849" viewBox="0 0 600 849">'
        '<rect width="600" height="849" fill="#f2f4f7" stroke="#98a2b3"/>'
        f'<g font-family="sans-serif" fill="#344054"><text x="24" y="70" font-size="24">'
        f"{escape(title)}</text>{text}</g></svg>"
    )
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


@access(RUN_JOBS)
@require_http_methods(["POST"])
def sync_now(request: HttpRequest) -> HttpResponse:
    from django.urls import reverse
    from django.utils.html import format_html

    from documents.connection import connection_settings

    full = request.POST.get("full") == "1"
    if not connection_settings().configured:
        # Say what is missing before anything starts (the job would only fail).
        messages.error(
            request,
            format_html(
                "Nothing was synced: no Paperless connection is set up yet. Enter Paperless's "
                'URL and an API token on the <a href="{}">Connection</a> page first.',
                reverse("connection"),
            ),
        )
        if request.htmx:
            context = {**sync_status_context(), "sync_refused": True}
            return render(request, "documents/partials/sync_status.html", context)
        return redirect("dashboard")
    try:
        job = start_sync(full=full, user=request.user)
    except SyncAlreadyRunning as exc:
        messages.info(request, str(exc))
        job = exc.job
    else:
        messages.success(request, "Full sync started." if full else "Sync started.")
    if request.htmx:
        return render(request, "documents/partials/sync_status.html", sync_status_context())
    return redirect("job-detail", job_id=job.pk)


def sync_status_context() -> dict[str, Any]:
    """What the dashboard's sync card shows."""
    return {
        "sync_state": SyncState.objects.get_solo(),
        "sync_job": last_sync_job(),
        "document_count": Document.objects.count(),
        "documents_with_errors": Document.objects.exclude(sync_error="").count(),
    }


@access(READ)
@require_http_methods(["GET"])
def sync_status(request: HttpRequest) -> HttpResponse:
    return render(request, "documents/partials/sync_status.html", sync_status_context())
