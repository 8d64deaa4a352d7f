"""The webhook endpoint Paperless calls, the one-click set-up page and the events page.

The endpoint (``POST /webhooks/paperless/<event>/``) has no session and no CSRF: it is
authenticated by the shared secret in ``X-Dedupe-Secret``, compared in constant time. Everything
else about it is strict: a size limit, a rate limit per address (refused deliveries far lower),
no detail for a missing (401) or wrong (403) secret, and never a 5xx: when the delivery cannot be
recorded it answers 429 with ``Retry-After``, so Paperless sends it again. It records the
delivery and answers 202 at once; the ``webhook`` job does the work (``webhooks/handling.py``).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
)
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import get_usage

from dedupe_project.access import CONNECTION, PUBLIC, READ, RUN_JOBS, access
from dedupe_project.network import client_ip
from documents.connection import ConnectionNotConfigured
from documents.models import Tag
from documents.paperless import PaperlessError
from webhooks import handling, setup
from webhooks.models import SECRET_HEADER, WebhookEvent, WebhookSettings
from webhooks.receive import Delivery, parse_form, parse_json_body, parse_text
from webhooks.stats import webhook_stats

logger = logging.getLogger(__name__)

EVENTS_PAGE_SIZE = 50
RETRY_AFTER_SECONDS = "5"


# --- the endpoint -----------------------------------------------------------------------------


class _DropFiles(FileUploadHandler):
    """Reads a multipart file part (``include_document``) and keeps nothing of it."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        return None

    def file_complete(self, file_size: int) -> None:
        return None


def _address(group: str, request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


def _limited(request: HttpRequest, *, group: str, rate: str, increment: bool) -> bool:
    """Over ``rate`` for this address: counting this request (``increment``), or already at it
    (without counting: refused deliveries are turned away once the budget is used up)."""
    usage = get_usage(
        request, group=group, key=_address, rate=rate, method=["POST"], increment=increment
    )
    if usage is None:
        return False
    return usage["should_limit"] if increment else usage["count"] >= usage["limit"]


def _empty(status: int, **headers: str) -> HttpResponse:
    response = HttpResponse(status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _secret_matches(request: HttpRequest) -> bool | None:
    """None: no secret was sent; else whether it is ours (constant time)."""
    sent = request.headers.get(SECRET_HEADER)
    if sent is None:
        return None
    expected = WebhookSettings.objects.get_solo().secret()
    if not expected:
        return False  # no secret set up: nothing is accepted
    return hmac.compare_digest(sent.encode(), expected.encode())


def _read(request: HttpRequest) -> Delivery:
    query = {key: request.GET.get(key, "") for key in request.GET}
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        request.upload_handlers = [_DropFiles(request)]
        return parse_form(request.POST.dict(), multipart=True, query=query)
    if content_type == "application/x-www-form-urlencoded":
        return parse_form(request.POST.dict(), multipart=False, query=query)
    body = request.body
    if content_type == "application/json":
        parsed = parse_json_body(body, query=query)
        if parsed is not None:
            return parsed
    return parse_text(body, query=query)


def _ping(request: HttpRequest) -> HttpResponse:
    """The set-up page's check that its URL reaches this installation (see ``setup.ping``)."""
    nonce = request.body[:64].decode("ascii", "replace")
    key = f"webhooks:ping:{nonce}"
    if nonce and cache.get(key) == "sent":
        cache.set(key, "seen", 60)
        return _empty(204)
    return _empty(404)


@access(PUBLIC)  # authenticated by its own secret, not a login
@csrf_exempt
@login_not_required
@require_http_methods(["POST"])
def receive(request: HttpRequest, event: str) -> HttpResponse:
    """Record one delivery from a Paperless workflow and answer at once (see the module)."""
    try:
        return _receive(request, event)
    except Exception:  # never a 5xx: Paperless sends it again after a 429
        logger.exception("webhook delivery not recorded", extra={"webhook_event": event})
        return _empty(429, **{"Retry-After": RETRY_AFTER_SECONDS})


def _receive(request: HttpRequest, event: str) -> HttpResponse:
    if event not in (*WebhookEvent.Event.values, "ping"):
        return _empty(404)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _empty(400)
    multipart = (request.content_type or "") == "multipart/form-data"
    limit = settings.WEBHOOK_MAX_BODY_BYTES if multipart else settings.WEBHOOK_MAX_FIELDS_BYTES
    if length > limit:
        return _empty(413)
    refused_rate = settings.WEBHOOK_REFUSED_RATE_LIMIT
    if _limited(request, group="webhooks-refused", rate=refused_rate, increment=False):
        return _empty(429, **{"Retry-After": "60"})
    if event == "ping":
        answer = _ping(request)
        if answer.status_code != 204:  # guessing numbers costs like guessing secrets
            _limited(request, group="webhooks-refused", rate=refused_rate, increment=True)
        return answer
    matches = _secret_matches(request)
    if not matches:
        _limited(request, group="webhooks-refused", rate=refused_rate, increment=True)
        logger.warning(
            "webhook refused: %s secret",
            "no" if matches is None else "wrong",
            extra={"remote_addr": client_ip(request), "webhook_event": event},
        )
        return _empty(401 if matches is None else 403)
    if _limited(request, group="webhooks", rate=settings.WEBHOOK_RATE_LIMIT, increment=True):
        return _empty(429, **{"Retry-After": RETRY_AFTER_SECONDS})
    try:
        delivery = _read(request)
    except (RequestDataTooBig, MultiPartParserError, ValueError):
        return _empty(400)
    record = handling.record_delivery(
        event=event, delivery=delivery, remote_addr=client_ip(request) or None
    )
    if record.paperless_id is None:
        return JsonResponse(
            {"detail": "No document id in the delivery: send doc_id (see the set-up page)."},
            status=400,
        )
    return JsonResponse({"event": record.pk, "status": record.status}, status=202)


# --- the set-up page --------------------------------------------------------------------------


def _setup_context(request: HttpRequest, *, checks: list[setup.Check] | None = None) -> dict:
    config = WebhookSettings.objects.get_solo()
    base = config.base_url()
    states: list[setup.WorkflowState] = []
    paperless_error = ""
    all_checks = list(checks or [])
    all_checks += setup.url_checks(base)
    try:
        with setup.page_client() as client:
            states = setup.workflow_states(client, config)
            all_checks += setup.paperless_checks(client)
    except (PaperlessError, ConnectionNotConfigured) as error:
        paperless_error = str(error)
    return {
        "config": config,
        "base_url": base,
        "suggested_url": request.build_absolute_uri("/").rstrip("/") if not base else "",
        "rows": [
            {"state": state, "url": setup.hook_url(base, state.event) if base else ""}
            for state in states
        ],
        "states": states,
        "all_ok": bool(states) and all(s.ok for s in states),
        "paperless_error": paperless_error,
        "checks": all_checks,
        "test": setup.delivery_test_result(config),
        "stats": webhook_stats(),
        "tags": Tag.objects.order_by("name").only("paperless_id", "name"),
        "secret_header": SECRET_HEADER,
    }


@access(CONNECTION)
@require_http_methods(["GET"])
def setup_page(request: HttpRequest) -> HttpResponse:
    checks = None
    if request.GET.get("check") == "1":
        base = WebhookSettings.objects.get_solo().base_url()
        checks = [setup.ping(base)] if base else []
    context = _setup_context(request, checks=checks)
    template = "webhooks/setup.html#setup" if request.htmx else "webhooks/setup.html"
    return render(request, template, context)


def _after_post(request: HttpRequest) -> HttpResponse:
    if request.htmx:
        return render(request, "webhooks/setup.html#setup", _setup_context(request))
    return redirect("webhook-setup")


@access(CONNECTION)
@require_http_methods(["POST"])
def setup_apply(request: HttpRequest) -> HttpResponse:
    """Create or update both workflows in Paperless (and the URL and tag entered with it)."""
    public_url = request.POST.get("public_url")
    try:
        _save_notify_tag(request.POST.get("notify_tag", None))
        states = setup.apply(user=request.user, public_url=public_url)
    except setup.SetupError as error:
        messages.error(request, str(error))
    else:
        ids = ", ".join(f"#{s.workflow_id}" for s in states)
        messages.success(request, f"The two workflows are set up in Paperless ({ids}).")
    return _after_post(request)


def _save_notify_tag(value: str | None) -> None:
    if value is None:
        return
    name = value.strip()
    if len(name) > 128:
        raise setup.SetupError("The tag's name is longer than 128 characters.")
    config = WebhookSettings.objects.get_solo()
    if name != config.notify_tag_name:
        config.notify_tag_name = name
        config.notify_tag_id = (
            Tag.objects.filter(name=name).values_list("paperless_id", flat=True).first()
        )
        config.save(update_fields=["notify_tag_name", "notify_tag_id"])


@access(CONNECTION)
@require_http_methods(["POST"])
def setup_remove(request: HttpRequest) -> HttpResponse:
    try:
        removed = setup.remove(user=request.user)
    except setup.SetupError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Removed {removed} workflow{'s' if removed != 1 else ''} from Paperless. "
            "The periodic sync keeps the mirror current.",
        )
    return _after_post(request)


@access(CONNECTION)
@require_http_methods(["POST"])
def setup_secret(request: HttpRequest) -> HttpResponse:
    """A new shared secret, sent to Paperless with the workflows at once."""
    try:
        setup.rotate_secret(user=request.user)
    except setup.SetupError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "New secret made and sent to Paperless's workflows.")
    return _after_post(request)


@access(CONNECTION)
@require_http_methods(["POST"])
def setup_test(request: HttpRequest) -> HttpResponse:
    try:
        record = setup.start_delivery_test(user=request.user)
    except setup.SetupError as error:
        messages.error(request, str(error))
    else:
        messages.info(
            request,
            f"Document #{record['paperless_id']} saved again in Paperless: waiting for its "
            "'document updated' delivery.",
        )
    return _after_post(request)


@access(CONNECTION)
@require_http_methods(["GET"])
def setup_test_status(request: HttpRequest) -> HttpResponse:
    """The test delivery's state (the page polls it while waiting)."""
    context = {"test": setup.delivery_test_result(), "now": timezone.now()}
    return render(request, "webhooks/setup.html#test-status", context)


# --- the events page --------------------------------------------------------------------------


def event_filters(data: QueryDict) -> dict[str, Any]:
    status = data.get("status", "")
    event = data.get("event", "")
    try:
        document = int(data.get("document", "")) if data.get("document") else None
    except ValueError:
        document = None
    return {
        "status": status if status in WebhookEvent.Status.values else "",
        "event": event if event in WebhookEvent.Event.values else "",
        "document": document,
        "duplicates": data.get("duplicates") == "1",
    }


@access(READ)
@require_http_methods(["GET"])
def events_page(request: HttpRequest) -> HttpResponse:
    """Every delivery with its outcome, filtered and paginated."""
    filters = event_filters(request.GET)
    queryset = WebhookEvent.objects.filtered(**filters).select_related("job")
    page = Paginator(queryset, EVENTS_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "filter_query": query.urlencode(),
        "statuses": WebhookEvent.Status.choices,
        "event_kinds": WebhookEvent.Event.choices,
        "stats": webhook_stats(),
        "can_retry": RUN_JOBS.allows(request.user),
        "can_set_up": CONNECTION.allows(request.user),
    }
    template = "webhooks/events.html#events" if request.htmx else "webhooks/events.html"
    return render(request, template, context)


@access(RUN_JOBS)
@require_http_methods(["POST"])
def event_retry(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(WebhookEvent, pk=event_id)
    if not event.can_retry:
        raise Http404("Only a failed delivery naming a document can be retried.")
    handling.retry(WebhookEvent.objects.filter(pk=event.pk))
    messages.success(request, f"Delivery #{event.pk} for document #{event.paperless_id} retried.")
    return redirect(_events_url(request))


@access(RUN_JOBS)
@require_http_methods(["POST"])
def events_retry_failed(request: HttpRequest) -> HttpResponse:
    count = handling.retry(WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED))
    messages.success(request, f"{count} failed deliver{'y' if count == 1 else 'ies'} retried.")
    return redirect(_events_url(request))


def _events_url(request: HttpRequest) -> str:
    from django.urls import reverse

    query = QueryDict(request.POST.get("query", "")).urlencode()
    url = reverse("webhook-events")
    return f"{url}?{query}" if query else url
