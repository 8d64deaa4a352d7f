"""Workflows of the fake Paperless: ``/api/workflows/`` and the webhooks they send.

What a real Paperless-NGX 3.0.5 does (``../shared/paperless-api/FACTS.md``, "Webhooks" and
"Setting up a webhook workflow"; captures 48-51, 55, 59 and 60):

* a workflow has triggers (2 document added, 3 document updated) and actions; a type-4 action
  carries ``webhook``: ``url`` (http/https only, at most 256 characters: else 400 as in capture
  51), ``use_params``, ``params``, ``body``, ``as_json``, ``headers``, ``include_document``;
* the webhook is sent by a worker (Celery's ``send_webhook`` task) a little after the change;
  ``{{ doc_id }}``-style placeholders are filled in; with ``use_params`` + ``as_json`` every value
  arrives as a JSON string, ``use_params`` alone is a form (multipart with the file when
  ``include_document``), a ``body`` is sent as raw bytes (JSON-encoded as one string with
  ``as_json``); the workflow's headers go along as strings, a ``Host`` header is dropped;
* always POST, ``User-Agent: python-httpx/0.28.1``, 5 s timeout, no redirects followed; a non-2xx
  answer is retried up to 3 times with exponential backoff (4 attempts); a refused connection or
  a timeout is not retried; with ``allow_internal_requests`` off (Paperless's
  ``PAPERLESS_WEBHOOKS_ALLOW_INTERNAL_REQUESTS=false``) loopback and private addresses are not
  called at all.

Every delivery is recorded in ``FakePaperless.webhook_deliveries`` for the tests.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from tests.fake_paperless.state import FakeDocument, FakeState

if TYPE_CHECKING:
    from tests.fake_paperless.server import FakePaperless

TRIGGER_ADDED = 2
TRIGGER_UPDATED = 3
WEBHOOK_ACTION = 4
MAX_URL = 256
USER_AGENT = "python-httpx/0.28.1"
TIMEOUT = 5.0
MAX_RETRIES = 3

TRIGGER_DEFAULTS: dict[str, Any] = {
    "sources": [1, 2, 3],
    "type": 1,
    "filter_path": None,
    "filter_filename": None,
    "filter_mailrule": None,
    "matching_algorithm": 0,
    "match": "",
    "is_insensitive": True,
    "filter_has_tags": [],
    "filter_has_all_tags": [],
    "filter_has_not_tags": [],
    "filter_custom_field_query": None,
    "filter_has_any_correspondents": [],
    "filter_has_not_correspondents": [],
    "filter_has_any_document_types": [],
    "filter_has_not_document_types": [],
    "filter_has_any_storage_paths": [],
    "filter_has_not_storage_paths": [],
    "filter_has_correspondent": None,
    "filter_has_document_type": None,
    "filter_has_storage_path": None,
    "schedule_offset_days": 0,
    "schedule_is_recurring": False,
    "schedule_recurring_interval_days": 1,
    "schedule_date_field": "added",
    "schedule_date_custom_field": None,
}
ACTION_DEFAULTS: dict[str, Any] = {
    "type": 1,
    "assign_title": None,
    "assign_tags": [],
    "assign_correspondent": None,
    "assign_document_type": None,
    "assign_storage_path": None,
    "assign_owner": None,
    "assign_view_users": [],
    "assign_view_groups": [],
    "assign_change_users": [],
    "assign_change_groups": [],
    "assign_custom_fields": [],
    "assign_custom_fields_values": {},
    "remove_all_tags": False,
    "remove_tags": [],
    "remove_all_correspondents": False,
    "remove_correspondents": [],
    "remove_all_document_types": False,
    "remove_document_types": [],
    "remove_all_storage_paths": False,
    "remove_storage_paths": [],
    "remove_custom_fields": [],
    "remove_all_custom_fields": False,
    "remove_all_owners": False,
    "remove_owners": [],
    "remove_all_permissions": False,
    "remove_view_users": [],
    "remove_view_groups": [],
    "remove_change_users": [],
    "remove_change_groups": [],
    "email": None,
    "webhook": None,
    "passwords": None,
}
WEBHOOK_DEFAULTS: dict[str, Any] = {
    "url": None,
    "use_params": True,
    "as_json": False,
    "params": None,
    "body": None,
    "headers": None,
    "include_document": False,
}


class WorkflowInvalid(Exception):
    """The 400 body Paperless answers with."""

    def __init__(self, errors: dict) -> None:
        super().__init__(json.dumps(errors))
        self.errors = errors


# --- validation and storage ----------------------------------------------------------------------


def _url_error(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return "This field is required."
    if len(url) > MAX_URL:
        return f"Ensure this field has no more than {MAX_URL} characters."
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return f"URI scheme '{scheme}' is not allowed. Allowed schemes: https, http"
    if not urlsplit(url).hostname:
        return "Enter a valid URL."
    return None


def validate_workflow(body: Any, *, partial: bool = False) -> None:
    """Raise :class:`WorkflowInvalid` with Paperless's error shape (capture 51)."""
    if not isinstance(body, dict):
        raise WorkflowInvalid({"non_field_errors": ["Invalid data. Expected a dictionary."]})
    errors: dict[str, Any] = {}
    if (not partial or "name" in body) and not body.get("name"):
        errors["name"] = ["This field is required."]
    if not partial or "triggers" in body:
        triggers = body.get("triggers")
        if not isinstance(triggers, list) or not triggers:
            errors["triggers"] = ["This field is required."]
        else:
            trigger_errors = []
            for trigger in triggers:
                kind = trigger.get("type") if isinstance(trigger, dict) else trigger
                ok = kind in (1, 2, 3, 4)
                trigger_errors.append({} if ok else {"type": [f'"{kind}" is not a valid choice.']})
            if any(trigger_errors):
                errors["triggers"] = trigger_errors
    if not partial or "actions" in body:
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            errors["actions"] = ["This field is required."]
        else:
            action_errors: list[dict] = []
            for action in actions:
                problem: dict[str, Any] = {}
                if not isinstance(action, dict):
                    problem = {"non_field_errors": ["Invalid data. Expected a dictionary."]}
                elif action.get("type", 1) == WEBHOOK_ACTION:
                    webhook = action.get("webhook")
                    if not isinstance(webhook, dict):
                        problem = {"webhook": ["Webhook data is required for webhook actions"]}
                    elif error := _url_error(webhook.get("url")):
                        problem = {"webhook": {"url": [error]}}
                action_errors.append(problem)
            if any(action_errors):
                errors["actions"] = action_errors
    if errors:
        raise WorkflowInvalid(errors)


def store_workflow(state: FakeState, body: dict, *, workflow_id: int | None = None) -> dict:
    """Create (or replace) a workflow with ids for it, its triggers, actions and webhooks."""
    ids = state._next_workflow_ids

    def next_id(kind: str) -> int:
        value = ids[kind]
        ids[kind] += 1
        return value

    with state.lock:
        if workflow_id is None:
            workflow_id = next_id("workflow")
        triggers = [
            {"id": next_id("trigger"), **TRIGGER_DEFAULTS, **_without_id(t)}
            for t in body["triggers"]
        ]
        actions = []
        for raw in body["actions"]:
            action = {"id": next_id("action"), **ACTION_DEFAULTS}
            action.update({k: v for k, v in raw.items() if k not in ("id", "webhook")})
            if raw.get("type") == WEBHOOK_ACTION:
                webhook = {**WEBHOOK_DEFAULTS, **raw["webhook"]}
                webhook = {"id": next_id("webhook"), **webhook}
                if webhook["use_params"] and webhook.get("params") is None:
                    webhook["params"] = {}
                action["webhook"] = webhook
            actions.append(action)
        workflow = {
            "id": workflow_id,
            "name": body["name"],
            "order": body.get("order", 0),
            "enabled": body.get("enabled", True),
            "triggers": triggers,
            "actions": actions,
        }
        state.workflows[workflow_id] = workflow
        return workflow


def _without_id(item: dict) -> dict:
    return {key: value for key, value in item.items() if key != "id"}


# --- sending -------------------------------------------------------------------------------------


@dataclass
class WebhookDelivery:
    """One webhook the fake sent (or refused to send), with every attempt's outcome."""

    workflow_id: int
    event: str
    document_id: int
    url: str
    headers: dict[str, str]
    body: bytes
    queued_at: float
    attempts: list[str] = field(default_factory=list)  # "204", "500", "refused", "timeout", ...
    sent_at: list[float] = field(default_factory=list)
    sent_wall: list[float] = field(default_factory=list)  # time.time() of each attempt
    backoff: list[float] = field(default_factory=list)  # seconds waited before each retry
    answer_seconds: list[float] = field(default_factory=list)  # how long each answer took
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def delivered(self) -> bool:
        last = self.attempts[-1] if self.attempts else ""
        return last.isdigit() and 200 <= int(last) < 300


_PLACEHOLDER = re.compile(r"\{\{\s*([a-zA-Z_]+)\s*\}\}")


def placeholders(fake: FakePaperless, document: FakeDocument, *, event: str) -> dict[str, str]:
    """The values Paperless fills into ``{{ ... }}`` (``templating/workflows.py``)."""
    state = fake.state
    correspondent = state.correspondents.get(document.correspondent or -1, {}).get("name", "")
    document_type = state.document_types.get(document.document_type or -1, {}).get("name", "")
    added = document.added.astimezone(UTC)
    created = document.created
    values = {
        "doc_id": str(document.id),
        "doc_title": document.title,
        "doc_url": f"{fake.public_url}/documents/{document.id}/" if fake.public_url else "",
        "correspondent": correspondent,
        "document_type": document_type,
        "owner_username": "admin",
        "original_filename": document.original_file_name.rsplit(".", 1)[0],
        "filename": "" if event == "added" else f"{document.id:07d}",
        "added": added.isoformat(),
        "created": created.isoformat(),
    }
    for name, when in (("added", added), ("created", created)):
        values.update(
            {
                f"{name}_year": f"{when.year}",
                f"{name}_year_short": f"{when.year % 100:02d}",
                f"{name}_month": f"{when.month:02d}",
                f"{name}_month_name": when.strftime("%B"),
                f"{name}_month_name_short": when.strftime("%b"),
                f"{name}_day": f"{when.day:02d}",
            }
        )
    return values


def render(template: Any, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), str(template or ""))


def build_request(
    webhook: dict, values: dict[str, str], document: FakeDocument
) -> tuple[dict[str, str], bytes]:
    """Headers and body, as ``workflows/webhooks.py`` builds them (shapes of capture 55)."""
    configured = webhook.get("headers") or {}
    headers = {str(k): str(v) for k, v in configured.items() if str(k).lower() != "host"}
    request = httpx.Request("POST", "http://placeholder/", headers=headers)
    if webhook.get("use_params", True):
        data = {str(k): render(v, values) for k, v in (webhook.get("params") or {}).items()}
        if webhook.get("as_json") and not webhook.get("include_document"):
            request = httpx.Request("POST", "http://placeholder/", headers=headers, json=data)
        elif webhook.get("include_document"):
            mime = document.mime_type or "application/octet-stream"
            name = document.original_file_name or f"{document.id}.pdf"
            files = {"file": (name, document.original, mime)}
            request = httpx.Request(
                "POST", "http://placeholder/", headers=headers, data=data, files=files
            )
        else:
            request = httpx.Request("POST", "http://placeholder/", headers=headers, data=data)
    else:
        body = render(webhook.get("body"), values)
        if webhook.get("as_json"):
            request = httpx.Request("POST", "http://placeholder/", headers=headers, json=body)
        else:
            request = httpx.Request(
                "POST", "http://placeholder/", headers=headers, content=body.encode()
            )
    body_bytes = request.read()
    out = {
        key.decode(): value.decode()
        for key, value in request.headers.raw
        if key.lower() not in (b"host", b"content-length")
    }
    return out, body_bytes


def _is_internal(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_private or address.is_loopback or address.is_link_local:
            return True
    return False


class WorkflowRunner:
    """Fires the workflows of a fake on document events, sending webhooks from a small pool of
    worker threads, as Paperless's Celery worker does."""

    def __init__(self, fake: FakePaperless) -> None:
        self.fake = fake
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.generation = 0  # bumped by reset(): deliveries of an older test are dropped

    def reset(self) -> None:
        with self._lock:
            self.generation += 1

    def stop(self) -> None:
        with self._lock:
            self.generation += 1
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, delivery: WebhookDelivery, generation: int, delay: float) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.fake.webhook_workers, thread_name_prefix="fake-celery"
                )
            pool = self._pool
        pool.submit(self._deliver, delivery, generation, delay)

    def on_event(self, event: str, document: FakeDocument) -> None:
        """A document was added or updated: queue one webhook per matching workflow action."""
        trigger_type = TRIGGER_ADDED if event == "added" else TRIGGER_UPDATED
        fake = self.fake
        with fake.state.lock:
            workflows = [
                w
                for w in sorted(fake.state.workflows.values(), key=lambda w: (w["order"], w["id"]))
                if w["enabled"] and any(t["type"] == trigger_type for t in w["triggers"])
            ]
            if not workflows:
                return
            values = placeholders(fake, document, event=event)
            generation = self.generation
            for workflow in workflows:
                for action in workflow["actions"]:
                    if action["type"] != WEBHOOK_ACTION or not action.get("webhook"):
                        continue
                    webhook = action["webhook"]
                    headers, body = build_request(webhook, values, document)
                    delivery = WebhookDelivery(
                        workflow_id=workflow["id"],
                        event=event,
                        document_id=document.id,
                        url=webhook["url"],
                        headers={"User-Agent": USER_AGENT, **headers},
                        body=body,
                        queued_at=time.monotonic(),
                    )
                    with fake._control_lock:
                        fake.webhook_deliveries.append(delivery)
                    self._submit(delivery, generation, fake.webhook_delay)

    def _deliver(self, delivery: WebhookDelivery, generation: int, delay: float) -> None:
        fake = self.fake
        try:
            if delay:
                time.sleep(delay)
            if not fake.webhooks_allow_internal and _is_internal(delivery.url):
                delivery.attempts.append("blocked")  # Paperless logs it and sends nothing
                return
            for attempt in range(MAX_RETRIES + 1):
                if generation != self.generation:
                    delivery.attempts.append("dropped")
                    return
                delivery.sent_at.append(time.monotonic())
                delivery.sent_wall.append(time.time())
                try:
                    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
                        response = client.post(
                            delivery.url, content=delivery.body, headers=delivery.headers
                        )
                except httpx.TimeoutException:
                    delivery.attempts.append("timeout")
                    return  # not retried
                except httpx.HTTPError:
                    delivery.attempts.append("refused")
                    return  # not retried
                delivery.answer_seconds.append(time.monotonic() - delivery.sent_at[-1])
                delivery.attempts.append(str(response.status_code))
                if response.is_success:
                    return
                if attempt < MAX_RETRIES:
                    delivery.backoff.append(fake.webhook_retry_base * 2**attempt)
                    time.sleep(delivery.backoff[-1])
        finally:
            delivery.done.set()
