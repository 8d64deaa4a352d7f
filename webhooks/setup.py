"""One-click set-up of the two Paperless workflows that call our webhook, their state, the checks
of what would stop Paperless from delivering, and a test delivery end to end.

Two workflows, one per trigger (Paperless's body says nothing about which trigger fired, so the
event is in the URL): "document added" (trigger 2) and "document updated" (trigger 3), each with
one webhook action (type 4) posting JSON params (``doc_id`` and a few names) to
``<public URL>/webhooks/paperless/<event>/`` with the shared secret in ``X-Dedupe-Secret``
(the shape of captures 48 and 59). Made through Paperless's API with the configured token;
updated in place when they exist, found again by name when our ids were lost.

The test delivery changes nothing but ``modified`` of one document: it saves the document's own
title again through the API, which fires "document updated" in Paperless, recorded as our own
change, and waits for that delivery to arrive here.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.cache import cache
from django.http.request import split_domain_port, validate_host
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from documents.connection import ConnectionNotConfigured, get_client
from documents.models import Document
from documents.paperless import BadRequest, NotFound, PaperlessClient, PaperlessError
from webhooks.models import SECRET_HEADER, WebhookEvent, WebhookSettings

EVENTS = ("added", "updated")
TRIGGERS = {"added": 2, "updated": 3}
WEBHOOK_ACTION = 4
WORKFLOW_NAMES = {
    "added": "Paperless Dedupe: document added",
    "updated": "Paperless Dedupe: document updated",
}
WORKFLOW_ORDER = 1000  # after a person's own workflows (which may tag or assign first)
MAX_URL = 256  # Paperless refuses longer webhook URLs
MAX_BASE_URL = WebhookSettings._meta.get_field("public_url").max_length  # what the column holds
PING_SECONDS = 3.0
TEST_WAIT = timedelta(seconds=15)
PARAMS = {
    "doc_id": "{{ doc_id }}",
    "title": "{{ doc_title }}",
    "doc_url": "{{ doc_url }}",
    "added": "{{ added }}",
}


class SetupError(Exception):
    """The set-up cannot be done; the message says what to do."""


# --- URLs -------------------------------------------------------------------------------------


def hook_url(base: str, event: str) -> str:
    """The URL a workflow posts to for ``event`` (``added`` or ``updated``)."""
    return base.rstrip("/") + reverse("webhook-receive", kwargs={"event": event})


def check_base_url(base: str) -> str:
    """``base`` normalised, or :class:`SetupError` for one Paperless would refuse."""
    text = (base or "").strip().rstrip("/")
    if not text:
        raise SetupError(
            "Enter the URL Paperless should call (this app's address as Paperless reaches it), "
            "or set DEDUPE_PUBLIC_URL."
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as error:
        raise SetupError(f"{text!r} is not a valid URL ({error}).") from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SetupError(
            f"{text!r} must start with http:// or https:// and name a host: Paperless calls "
            "nothing else."
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SetupError("The URL must have no user name, password, query or fragment.")
    longest = max(len(hook_url(text, event)) for event in EVENTS)
    if longest > MAX_URL:
        raise SetupError(f"The webhook URL would be {longest} characters; Paperless takes 256.")
    if len(text) > MAX_BASE_URL:
        raise SetupError(f"The URL is {len(text)} characters; at most {MAX_BASE_URL} are kept.")
    return text


# --- the workflows ----------------------------------------------------------------------------


def workflow_body(*, event: str, base: str, secret: str) -> dict[str, Any]:
    """The workflow for ``event`` as ``POST /api/workflows/`` takes it."""
    return {
        "name": WORKFLOW_NAMES[event],
        "order": WORKFLOW_ORDER,
        "enabled": True,
        "triggers": [
            {
                "type": TRIGGERS[event],
                "sources": [1, 2, 3, 4],
                "matching_algorithm": 0,
                "match": "",
                "filter_filename": None,
            }
        ],
        "actions": [
            {
                "type": WEBHOOK_ACTION,
                "webhook": {
                    "url": hook_url(base, event),
                    "use_params": True,
                    "as_json": True,
                    "params": dict(PARAMS),
                    "headers": {SECRET_HEADER: secret},
                    "include_document": False,
                },
            }
        ],
    }


@dataclass
class WorkflowState:
    """One of our workflows as Paperless has it now."""

    event: str
    workflow_id: int | None = None
    exists: bool = False
    enabled: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exists and self.enabled and not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "workflow_id": self.workflow_id,
            "exists": self.exists,
            "enabled": self.enabled,
            "ok": self.ok,
            "problems": self.problems,
        }


def _webhook_of(workflow: dict[str, Any]) -> dict[str, Any] | None:
    for action in workflow.get("actions") or ():
        if action.get("type") == WEBHOOK_ACTION and isinstance(action.get("webhook"), dict):
            return action["webhook"]
    return None


def describe(
    workflow: dict[str, Any] | None, *, event: str, base: str, secret: str
) -> WorkflowState:
    """What is right and wrong with Paperless's copy of our workflow for ``event``."""
    state = WorkflowState(event=event)
    if workflow is None:
        state.problems.append("Not set up in Paperless.")
        return state
    state.workflow_id = workflow.get("id")
    state.exists = True
    state.enabled = bool(workflow.get("enabled"))
    if not state.enabled:
        state.problems.append("Switched off in Paperless.")
    if not any(t.get("type") == TRIGGERS[event] for t in workflow.get("triggers") or ()):
        state.problems.append(f"Its trigger is not 'document {event}'.")
    webhook = _webhook_of(workflow)
    if webhook is None:
        state.problems.append("It has no webhook action.")
        return state
    if base and webhook.get("url") != hook_url(base, event):
        state.problems.append(f"It calls {webhook.get('url')}, not {hook_url(base, event)}.")
    sent = (webhook.get("headers") or {}).get(SECRET_HEADER)
    if not secret or sent != secret:
        state.problems.append(f"Its {SECRET_HEADER} header is not our secret.")
    return state


def _find(client: PaperlessClient, setup: WebhookSettings) -> dict[str, dict[str, Any] | None]:
    """Our two workflows in Paperless: by the ids we keep, else by their names."""
    ids = setup.workflow_ids()
    workflows = client.list_workflows()
    by_id = {w.get("id"): w for w in workflows}
    found: dict[str, dict[str, Any] | None] = {}
    for event in EVENTS:
        workflow = by_id.get(ids[event]) if ids[event] else None
        if workflow is None:
            workflow = next((w for w in workflows if w.get("name") == WORKFLOW_NAMES[event]), None)
        found[event] = workflow
    return found


def workflow_states(client: PaperlessClient, setup: WebhookSettings) -> list[WorkflowState]:
    found = _find(client, setup)
    base, secret = setup.base_url(), setup.secret()
    return [describe(found[e], event=e, base=base, secret=secret) for e in EVENTS]


def _bad_request_text(error: BadRequest) -> str:
    """Paperless's nested 400 (capture 51) as one sentence."""
    messages: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            messages.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(error.errors)
    return "; ".join(messages) or str(error)


def page_client() -> PaperlessClient:
    """A client for the set-up page: a person is waiting, so a short timeout and one retry."""
    from documents.connection import PROBE_TIMEOUT, connection_settings, make_client

    conn = connection_settings()
    if not conn.configured:
        raise ConnectionNotConfigured()
    return make_client(url=conn.url, token=conn.token, timeout=PROBE_TIMEOUT, max_retries=1)


def apply(
    *, user: Any = None, public_url: str | None = None, new_secret: str | None = None
) -> list[WorkflowState]:
    """Create or update both workflows in Paperless (one click); makes the shared secret when
    there is none. ``public_url``: store this URL first (ignored when DEDUPE_PUBLIC_URL is set).
    ``new_secret``: send this one instead, and keep it only once Paperless took both workflows.
    Raises :class:`SetupError` with what to do."""
    setup = WebhookSettings.objects.get_solo()
    if public_url is not None and not setup.public_url_from_env:
        setup.public_url = check_base_url(public_url) if public_url.strip() else ""
    base = check_base_url(setup.base_url())
    if not setup.secret():
        setup.set_secret(secrets.token_urlsafe(32))
    secret = new_secret or setup.secret()
    try:
        with get_client() as client:
            found = _find(client, setup)
            for event in EVENTS:
                body = workflow_body(event=event, base=base, secret=secret)
                existing = found[event]
                if existing is not None:
                    try:
                        saved = client.update_workflow(existing["id"], body)
                    except NotFound:
                        saved = client.create_workflow(body)
                else:
                    saved = client.create_workflow(body)
                setattr(setup, f"workflow_{event}_id", saved["id"])
                found[event] = saved
    except BadRequest as error:
        raise SetupError(f"Paperless refused the workflow: {_bad_request_text(error)}") from error
    except (PaperlessError, ConnectionNotConfigured) as error:
        raise SetupError(str(error)) from error
    finally:
        setup.save()
    if new_secret:
        setup.set_secret(new_secret)
        setup.save(update_fields=["secret_encrypted"])
    setup.set_up_at = timezone.now()
    setup.set_up_by = user if getattr(user, "is_authenticated", False) else None
    setup.save(update_fields=["set_up_at", "set_up_by"])
    return [describe(found[e], event=e, base=base, secret=secret) for e in EVENTS]


def remove(*, user: Any = None) -> int:
    """Delete both workflows in Paperless; returns how many were there."""
    setup = WebhookSettings.objects.get_solo()
    removed = 0
    try:
        with get_client() as client:
            for workflow in _find(client, setup).values():
                if workflow is not None and client.delete_workflow(workflow["id"]):
                    removed += 1
    except (PaperlessError, ConnectionNotConfigured) as error:
        raise SetupError(str(error)) from error
    setup.workflow_added_id = setup.workflow_updated_id = None
    setup.set_up_at = None
    setup.save(update_fields=["workflow_added_id", "workflow_updated_id", "set_up_at"])
    return removed


def rotate_secret(*, user: Any = None) -> list[WorkflowState]:
    """A new shared secret, sent to both workflows; it replaces the old one only once Paperless
    took them (else deliveries would be refused)."""
    setup = WebhookSettings.objects.get_solo()
    if setup.secret_from_env:
        raise SetupError("The secret comes from DEDUPE_WEBHOOK_SECRET: change it there.")
    return apply(user=user, new_secret=secrets.token_urlsafe(32))


# --- what would stop delivery -----------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    level: str  # "ok", "info", "warning", "error"
    text: str


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def url_checks(base: str) -> list[Check]:
    """What the URL itself says about whether Paperless can call it (no request made)."""
    if not base:
        return [
            Check(
                "error",
                "No URL for Paperless to call: set DEDUPE_PUBLIC_URL or enter one below. "
                "Behind Docker it is this app's service name as Paperless's container sees it, "
                "e.g. http://dedupe:8000, not the address your browser uses.",
            )
        ]
    parts = urlsplit(base)
    host = parts.hostname or ""
    checks: list[Check] = []
    host_header = parts.netloc.rsplit("@", 1)[-1]
    domain, _port = split_domain_port(host_header)
    if not validate_host(domain, settings.ALLOWED_HOSTS):
        checks.append(
            Check(
                "error",
                f"Paperless will send 'Host: {host_header}', which DEDUPE_ALLOWED_HOSTS does not "
                f"list: this app would refuse every delivery (HTTP 400). Add {domain}.",
            )
        )
    addresses = _addresses(host)
    if host == "localhost" or any(a.is_loopback for a in addresses):
        checks.append(
            Check(
                "warning",
                f"{host} is a loopback address: it only reaches this app when Paperless runs on "
                "this same machine, outside Docker. In a container, localhost is Paperless's "
                "own: use this app's service or host name.",
            )
        )
    if any(a.is_private or a.is_loopback or a.is_link_local for a in addresses):
        checks.append(
            Check(
                "info",
                f"{host} is a private address. Paperless calls private and loopback addresses "
                "only while PAPERLESS_WEBHOOKS_ALLOW_INTERNAL_REQUESTS is true (its default); "
                "with false it sends nothing at all. The test delivery below tells.",
            )
        )
    elif not addresses:
        checks.append(
            Check(
                "info",
                f"{host} does not resolve here; Paperless may resolve it (Docker's own DNS). "
                "The test delivery below tells.",
            )
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if port not in (80, 443):
        checks.append(
            Check(
                "info",
                f"If Paperless sets PAPERLESS_WEBHOOKS_ALLOWED_PORTS, it must include {port}.",
            )
        )
    return checks


def ping(base: str) -> Check:
    """Does ``base`` reach this very installation? A one-time number is put in the cache and
    posted to ``<base>/webhooks/paperless/ping/`` from here; only this app knows it. No secret is
    sent. (From here, not from Paperless: Docker's networks may differ; the test delivery is the
    proof.)"""
    nonce = secrets.token_urlsafe(16)
    key = f"webhooks:ping:{nonce}"
    cache.set(key, "sent", 60)
    url = base.rstrip("/") + reverse("webhook-receive", kwargs={"event": "ping"})
    try:
        response = httpx.post(
            url, content=nonce.encode(), timeout=PING_SECONDS, follow_redirects=False
        )
    except httpx.HTTPError as error:
        return Check(
            "warning",
            f"From this server, {url} did not answer ({type(error).__name__}). That is fine "
            "if only Paperless's network reaches that name; the test delivery tells.",
        )
    if response.is_redirect:
        return Check(
            "error",
            f"{url} redirects to {response.headers.get('location')}: Paperless follows no "
            "redirects. Use the address it redirects to (https?).",
        )
    if response.status_code == 204 and cache.get(key) == "seen":
        return Check("ok", f"{base} reaches this app.")
    if response.status_code == 400:
        return Check(
            "error",
            f"{url} answered HTTP 400: is its host name in DEDUPE_ALLOWED_HOSTS?",
        )
    return Check(
        "warning",
        f"{url} answered HTTP {response.status_code}, not as this app would: is it another "
        "server, or another installation?",
    )


def paperless_checks(client: PaperlessClient) -> list[Check]:
    """What Paperless says about itself: its task worker sends the webhooks."""
    try:
        status = client.system_status()
    except PaperlessError as error:
        return [Check("info", f"Paperless's own status is not readable with this token ({error}).")]
    tasks = status.get("tasks") or {}
    checks = []
    if tasks.get("celery_status") not in (None, "OK"):
        checks.append(
            Check(
                "error",
                "Paperless's task worker (Celery) is not running: it is what sends the webhooks "
                f"({tasks.get('celery_error') or tasks.get('celery_status')}).",
            )
        )
    if status.get("install_type") == "docker":
        checks.append(
            Check(
                "info",
                "Paperless runs in Docker: the URL must be one its container can reach.",
            )
        )
    return checks


# --- the test delivery ------------------------------------------------------------------------


def start_delivery_test(*, user: Any = None) -> dict[str, Any]:
    """Save one document's own title again in Paperless (only ``modified`` changes), which fires
    the "document updated" workflow; recorded as our own change. Returns the test's record."""
    from duplicates.actions import begin_own_change, finish_own_change, refresh_mirror
    from webhooks.handling import TEST_CHANGE

    setup = WebhookSettings.objects.get_solo()
    try:
        with get_client() as client:
            raw = _document_to_touch(client)
            if raw is None:
                raise SetupError("Paperless has no document to test with: add one first.")
            change = begin_own_change(paperless_id=raw["id"], kind=TEST_CHANGE)
            started = timezone.now()
            after = client.update_document(raw["id"], title=raw.get("title") or "")
            finish_own_change(change, modified=after.get("modified"))
            refresh_mirror(after)
    except (PaperlessError, ConnectionNotConfigured) as error:
        raise SetupError(f"The test could not start: {error}") from error
    setup.last_test = {
        "started_at": started.isoformat(),
        "paperless_id": raw["id"],
        "title": str(raw.get("title") or "")[:200],
        "by": user.get_username() if getattr(user, "is_authenticated", False) else "",
    }
    setup.save(update_fields=["last_test"])
    return setup.last_test


def _document_to_touch(client: PaperlessClient) -> dict[str, Any] | None:
    for pid in Document.objects.order_by("-paperless_id").values_list("paperless_id", flat=True)[
        :5
    ]:
        try:
            return client.get_document(pid, fields=["id", "title", "modified"])
        except NotFound:
            continue
    for page in client.iter_document_pages(fields=["id", "title", "modified"], page_size=1):
        return page.documents[0] if page.documents else None
    return None


@dataclass(frozen=True)
class DeliveryTest:
    state: str  # "none", "waiting", "received", "missing"
    started_at: datetime | None = None
    paperless_id: int | None = None
    title: str = ""
    received_at: datetime | None = None

    @property
    def seconds_after_change(self) -> float | None:
        if self.received_at is None or self.started_at is None:
            return None
        return max(0.0, (self.received_at - self.started_at).total_seconds())

    @property
    def seconds_ago(self) -> float | None:
        if self.received_at is None:
            return None
        return max(0.0, (timezone.now() - self.received_at).total_seconds())

    @property
    def waiting_seconds(self) -> float:
        if self.started_at is None:
            return 0.0
        return (timezone.now() - self.started_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "started_at": self.started_at,
            "paperless_id": self.paperless_id,
            "title": self.title,
            "received_at": self.received_at,
            "seconds_after_change": self.seconds_after_change,
        }


def delivery_test_result(setup: WebhookSettings | None = None) -> DeliveryTest:
    """How the last test delivery went: still waiting, arrived (and when), or missing."""
    setup = setup or WebhookSettings.objects.get_solo()
    record = setup.last_test or {}
    started = parse_datetime(str(record.get("started_at") or ""))
    if started is None:
        return DeliveryTest(state="none")
    pid = record.get("paperless_id")
    event = (
        WebhookEvent.objects.filter(
            paperless_id=pid,
            event=WebhookEvent.Event.UPDATED,
            received_at__gte=started - timedelta(seconds=1),
        )
        .order_by("received_at")
        .first()
    )
    common = {"started_at": started, "paperless_id": pid, "title": record.get("title", "")}
    if event is not None:
        return DeliveryTest(state="received", received_at=event.received_at, **common)
    if timezone.now() - started < TEST_WAIT:
        return DeliveryTest(state="waiting", **common)
    return DeliveryTest(state="missing", **common)
