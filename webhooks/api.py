"""``/api/webhooks``: the deliveries (list, retry) and the set-up (state, set up, remove, test
delivery), the same functions as the pages. The set-up talks to Paperless with its token and
changes its workflows: the connection's rule (admins); retrying is running jobs (reviewers).

Input is as strict as the rest of the API (``dedupe_project/api.py``): ids are ``Id``, the status
and event filters are the schema's enums, bodies are ``InputSchema``, lists use ``Pagination``.

No ``from __future__ import annotations`` here: ``@paginate`` makes django-ninja read the
annotations in its own module, where our names (the enums) are unknown."""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from dedupe_project.access import CONNECTION, READ, RUN_JOBS, access
from dedupe_project.api import ApiError, ErrorOut, Id, InputSchema, Pagination
from documents.connection import ConnectionNotConfigured
from documents.paperless import PaperlessError
from webhooks import handling, setup
from webhooks.models import WebhookEvent, WebhookSettings
from webhooks.stats import webhook_stats

router = Router()

EventName = Literal[tuple(WebhookEvent.Event.values)]
EventStatusName = Literal[tuple(WebhookEvent.Status.values)]


class EventOut(Schema):
    id: int
    received_at: datetime
    event: str
    paperless_id: int | None
    title: str
    body_format: str
    status: str
    detail: str
    job_id: int | None
    attempts: int
    content_checks: int
    next_check_at: datetime | None
    mirrored_at: datetime | None
    analysed_at: datetime | None
    seconds_to_analysed: float | None
    duplicate_group_id: int | None
    notified: bool


@router.get("/events", response=list[EventOut], summary="Webhook deliveries, newest first")
@paginate(Pagination)
@access(READ)
def list_events(
    request: HttpRequest,
    status: EventStatusName | None = None,
    event: EventName | None = None,
    document: Id | None = None,
    duplicates: bool = False,
) -> Any:
    """``document``: a Paperless document id."""
    return WebhookEvent.objects.filtered(
        status=status or "", event=event or "", document=document, duplicates=duplicates
    )


@router.post(
    "/events/{int:event_id}/retry",
    response={200: EventOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Retry a failed delivery",
)
@access(RUN_JOBS)
def retry_event(request: HttpRequest, event_id: Id) -> WebhookEvent:
    event = get_object_or_404(WebhookEvent, pk=event_id)
    if not event.can_retry:
        raise ApiError(
            status=409, code="not_failed", detail="Only a failed delivery naming a document."
        )
    handling.retry(WebhookEvent.objects.filter(pk=event.pk))
    event.refresh_from_db()
    return event


class CheckOut(Schema):
    level: str
    text: str


class WorkflowOut(Schema):
    event: str
    workflow_id: int | None
    exists: bool
    enabled: bool
    ok: bool
    problems: list[str]


class DeliveryTestOut(Schema):
    state: str
    started_at: datetime | None
    paperless_id: int | None
    title: str
    received_at: datetime | None
    seconds_after_change: float | None


class SetupOut(Schema):
    public_url: str
    public_url_from_env: bool
    secret_set: bool
    secret_from_env: bool
    secret_hint: str
    notify_tag_name: str
    set_up_at: datetime | None
    workflows: list[WorkflowOut]
    paperless_error: str
    checks: list[CheckOut]
    test: DeliveryTestOut
    stats: dict[str, Any]


NOTIFY_TAG_MAX_LENGTH = WebhookSettings._meta.get_field("notify_tag_name").max_length


class SetupIn(InputSchema):
    """``public_url``: this app's address as Paperless reaches it (empty: forget the stored one);
    ``notify_tag``: the tag put on a document found to be a duplicate on arrival (empty: none)."""

    public_url: str | None = Field(None, max_length=setup.MAX_BASE_URL)
    notify_tag: str | None = Field(None, max_length=NOTIFY_TAG_MAX_LENGTH)


def _state() -> dict[str, Any]:
    config = WebhookSettings.objects.get_solo()
    workflows: list[dict[str, Any]] = []
    checks = setup.url_checks(config.base_url())
    error = ""
    try:
        with setup.page_client() as client:
            workflows = [s.as_dict() for s in setup.workflow_states(client, config)]
            checks += setup.paperless_checks(client)
    except (PaperlessError, ConnectionNotConfigured) as exc:
        error = str(exc)
    return {
        **config.as_dict(),
        "workflows": workflows,
        "paperless_error": error,
        "checks": [{"level": c.level, "text": c.text} for c in checks],
        "test": setup.delivery_test_result(config).as_dict(),
        "stats": webhook_stats(),
    }


@router.get("/setup", response={200: SetupOut, 403: ErrorOut}, summary="The webhook set-up")
@access(CONNECTION)
def get_setup(request: HttpRequest) -> dict[str, Any]:
    return _state()


@router.post(
    "/setup",
    response={200: SetupOut, 403: ErrorOut, 422: ErrorOut},
    summary="Create or update the two workflows in Paperless",
)
@access(CONNECTION)
def apply_setup(request: HttpRequest, payload: SetupIn) -> dict[str, Any]:
    try:
        if payload.notify_tag is not None:
            name = payload.notify_tag.strip()
            WebhookSettings.objects.filter(pk=WebhookSettings.objects.get_solo().pk).update(
                notify_tag_name=name, notify_tag_id=None
            )
        setup.apply(user=request.user, public_url=payload.public_url)
    except setup.SetupError as exc:
        raise ApiError(status=422, code="setup_failed", detail=str(exc)) from exc
    return _state()


@router.delete(
    "/setup",
    response={200: SetupOut, 403: ErrorOut, 422: ErrorOut},
    summary="Remove the two workflows from Paperless",
)
@access(CONNECTION)
def remove_setup(request: HttpRequest) -> dict[str, Any]:
    try:
        setup.remove(user=request.user)
    except setup.SetupError as exc:
        raise ApiError(status=422, code="setup_failed", detail=str(exc)) from exc
    return _state()


@router.post(
    "/setup/test",
    response={202: DeliveryTestOut, 403: ErrorOut, 422: ErrorOut},
    summary="Send a test delivery through Paperless",
)
@access(CONNECTION)
def start_test(request: HttpRequest) -> Status:
    try:
        setup.start_delivery_test(user=request.user)
    except setup.SetupError as exc:
        raise ApiError(status=422, code="test_failed", detail=str(exc)) from exc
    return Status(202, setup.delivery_test_result().as_dict())


@router.get(
    "/setup/test", response={200: DeliveryTestOut, 403: ErrorOut}, summary="The last test delivery"
)
@access(CONNECTION)
def get_test(request: HttpRequest) -> dict[str, Any]:
    return setup.delivery_test_result().as_dict()
