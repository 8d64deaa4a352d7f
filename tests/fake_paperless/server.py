"""A fake Paperless-NGX server over real HTTP, answering like ``../shared/paperless-api/captures``.

``FakePaperless`` runs a ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) on loopback. Its library is
``.state`` (see ``state.py``); its misbehaviour is scripted with ``fail_next``, ``throttle_next``,
``delay_next``, ``drop_next``, ``malformed_next`` and ``after_request`` hooks; every request it
receives is recorded in ``.requests``.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import math
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import policy as email_policy
from email.parser import BytesParser
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from tests.fake_paperless.state import OWNER_ID, FakeDocument, FakeState, SeedResult
from tests.fake_paperless.workflows import (
    WebhookDelivery,
    WorkflowInvalid,
    WorkflowRunner,
    store_workflow,
    validate_workflow,
)

PAPERLESS_VERSION = "3.0.5"
MAX_PAGE_SIZE = 100_000
DEFAULT_PAGE_SIZE = 25
VARY = "Accept, Accept-Language, origin, Cookie"

SERVER_ERROR_HTML = (
    b'\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n'
    b"</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)
DOCS_MISSING = "Some documents in documents don't exist or were specified twice."
NO_DOCUMENT = "No Document matches the given query."
OBJECT_KINDS = ("tags", "correspondents", "document_types", "storage_paths", "custom_fields")
DOCUMENT_FIELDS = (
    "id",
    "correspondent",
    "document_type",
    "storage_path",
    "title",
    "content",
    "tags",
    "created",
    "created_date",
    "modified",
    "added",
    "deleted_at",
    "archive_serial_number",
    "original_file_name",
    "archived_file_name",
    "duplicate_documents",
    "owner",
    "user_can_change",
    "is_shared_by_requester",
    "notes",
    "custom_fields",
    "page_count",
    "mime_type",
    "root_document",
    "versions",
)


def iso(value: datetime) -> str:
    """A datetime the way Django REST framework writes it: UTC with a ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")


def dumps(value: object) -> bytes:
    return json.dumps(value, default=_json_default, separators=(",", ":")).encode()


@dataclass(slots=True)
class RecordedRequest:
    """One request the fake received, for assertions (``headers`` keys are lower case)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    time: float

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass(slots=True)
class Fault:
    """A scripted misbehaviour for the next ``remaining`` matching requests."""

    kind: str  # "status", "throttle", "delay", "drop", "lose_answer", "malformed"
    remaining: int
    method: str | None = None
    path: str | None = None
    status: int = 500
    retry_after: int | None = 1
    seconds: float = 0.0

    def matches(self, *, method: str, path: str) -> bool:
        return _request_matches(self.method, self.path, method=method, path=path)


@dataclass(slots=True)
class Hook:
    """Runs ``callback(state, request)`` after a matching request has been answered."""

    callback: Callable[[FakeState, RecordedRequest], None]
    method: str | None = None
    path: str | None = None
    page: int | None = None
    once: bool = True
    fired: int = 0

    def matches(self, request: RecordedRequest) -> bool:
        if not _request_matches(self.method, self.path, method=request.method, path=request.path):
            return False
        if self.page is not None and int(request.param("page") or "1") != self.page:
            return False
        return not (self.once and self.fired)


def _request_matches(
    want_method: str | None, want_path: str | None, *, method: str, path: str
) -> bool:
    """``want_path`` matches exactly, or as a prefix when it ends with ``*``."""
    if want_method is not None and want_method.upper() != method:
        return False
    if want_path is None:
        return True
    if want_path.endswith("*"):
        return path.startswith(want_path[:-1])
    return path == want_path


class HttpError(Exception):
    """Raised inside a route to answer with an error status and a JSON body."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: object, **headers: str) -> Response:
    return Response(status=status, body=dumps(body), headers=headers)


FILE_ENDPOINTS = ("/thumb", "/preview", "/download", "/metadata")


class FakePaperless:
    """A fake Paperless-NGX on ``127.0.0.1``; ``start()`` it, use ``.url`` and ``.token``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "fake-paperless-token",  # noqa: S107 - a test server's token
        api_version: int = 10,
        paperless_version: str = PAPERLESS_VERSION,
    ) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.state = FakeState()
        self.api_version = api_version
        self.default_version: int | None = None
        self.paperless_version = paperless_version
        self.requests: list[RecordedRequest] = []
        # Seconds each file request (thumb, preview, download, metadata) takes before it is
        # answered, as on a real server (the captured Paperless took 62 ms for one thumbnail).
        self.file_latency = 0.0
        self._faults: list[Fault] = []
        self._hooks: list[Hook] = []
        self._control_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._initial = (token, api_version, paperless_version)
        # Workflows and their webhooks (see workflows.py): every webhook sent is recorded here.
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.runner = WorkflowRunner(self)
        self.state.listeners.append(self.runner.on_event)
        self._set_webhook_defaults()

    def _set_webhook_defaults(self) -> None:
        # Seconds between the change and the webhook leaving (a real Paperless: ~4 s after the
        # consume task for "document added", under 1 s after a PATCH).
        self.webhook_delay = 0.0
        # Seconds before the first retry of a non-2xx answer, doubling (Celery's retry_backoff).
        self.webhook_retry_base = 1.0
        # Webhooks sent at once (Paperless's Celery task workers, PAPERLESS_TASK_WORKERS; set
        # before the first webhook). A retry waits in its worker here, unlike Celery's.
        self.webhook_workers = 4
        # PAPERLESS_WEBHOOKS_ALLOW_INTERNAL_REQUESTS (default true).
        self.webhooks_allow_internal = True
        # PAPERLESS_URL, for {{ doc_url }}; None: the fake's own URL.
        self.paperless_url_setting: str | None = None
        # Seconds a consume task (post_document, update_version) takes; an error message makes
        # the next one fail like capture 70.
        self.consume_delay = 0.05
        self.fail_next_consume: str | None = None
        self.celery_status = "OK"
        self.install_type = "bare-metal"

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakePaperless:
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.runner.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakePaperless:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def public_url(self) -> str:
        """What ``{{ doc_url }}`` starts with (Paperless's PAPERLESS_URL)."""
        if self.paperless_url_setting is not None:
            return self.paperless_url_setting
        return self.url

    @property
    def has_versions(self) -> bool:
        """Document versions exist from Paperless 3 (API 10) on; a 2.x server has none."""
        return self.api_version >= 10

    def wait_for_deliveries(self, count: int, *, timeout: float = 10.0) -> list[WebhookDelivery]:
        """Wait until ``count`` webhooks were sent and finished (all attempts); returns them."""
        deadline = time.monotonic() + timeout
        while True:
            with self._control_lock:
                deliveries = list(self.webhook_deliveries)
            if len(deliveries) >= count and all(d.done.is_set() for d in deliveries[:count]):
                return deliveries
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(deliveries)} webhook(s) queued, "
                    f"{sum(d.done.is_set() for d in deliveries)} finished; wanted {count}"
                )
            time.sleep(0.01)

    def reset(self) -> None:
        """Empty library, no faults or hooks, no recorded requests, the initial versions."""
        self.runner.reset()
        self.state.reset()
        with self._control_lock:
            self._faults.clear()
            self._hooks.clear()
            self.requests.clear()
            self.webhook_deliveries.clear()
        self.token, self.api_version, self.paperless_version = self._initial
        self.default_version = None
        self.file_latency = 0.0
        self._set_webhook_defaults()

    def seed(self, **options: Any) -> SeedResult:
        """Generate documents; see ``FakeState.seed``."""
        return self.state.seed(**options)

    # --- misbehaviour ----------------------------------------------------------------------------

    def reset_faults(self) -> None:
        """No scripted misbehaviour any more (the library and the records stay)."""
        with self._control_lock:
            self._faults.clear()

    def _add_fault(self, fault: Fault) -> None:
        with self._control_lock:
            self._faults.append(fault)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``count`` matching requests get ``status`` (500: Django's HTML error page)."""
        self._add_fault(Fault("status", count, method, path, status=status))

    def throttle_next(
        self,
        count: int = 1,
        *,
        retry_after: int | None = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``count`` matching requests get 429 with ``Retry-After`` (None: no header)."""
        self._add_fault(Fault("throttle", count, method, path, status=429, retry_after=retry_after))

    def delay_next(
        self,
        count: int = 1,
        *,
        seconds: float,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``count`` matching requests are answered normally, ``seconds`` late."""
        self._add_fault(Fault("delay", count, method, path, seconds=seconds))

    def drop_next(
        self, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """The next ``count`` matching requests get no answer: the connection is closed."""
        self._add_fault(Fault("drop", count, method, path))

    def lose_answer_next(
        self, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """The next ``count`` matching requests are carried out, then the answer is lost (the
        connection closes): the client cannot know the change happened."""
        self._add_fault(Fault("lose_answer", count, method, path))

    def malformed_next(
        self, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """The next ``count`` matching requests get 200 with a truncated JSON body."""
        self._add_fault(Fault("malformed", count, method, path))

    def after_request(
        self,
        callback: Callable[[FakeState, RecordedRequest], None],
        *,
        method: str | None = None,
        path: str | None = None,
        page: int | None = None,
        once: bool = True,
    ) -> None:
        """Run ``callback(state, request)`` after answering a matching request (``page=K``)."""
        with self._control_lock:
            self._hooks.append(Hook(callback, method, path, page, once))

    def after_documents_page(self, page: int, callback: Callable[[FakeState], None]) -> None:
        """Change the library right after page ``page`` of the document list was served."""
        self.after_request(
            lambda state, _request: callback(state), method="GET", path="/api/documents/", page=page
        )

    def requests_for(
        self, *, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests matching ``method`` and ``path`` (exact, or prefix ending in ``*``)."""
        with self._control_lock:
            return [
                request
                for request in self.requests
                if _request_matches(method, path, method=request.method, path=request.path)
            ]

    def _record(self, request: RecordedRequest) -> Fault | None:
        with self._control_lock:
            self.requests.append(request)
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method=request.method, path=request.path):
                    fault.remaining -= 1
                    return fault
        return None

    def _run_hooks(self, request: RecordedRequest) -> None:
        with self._control_lock:
            due = [hook for hook in self._hooks if hook.matches(request)]
            for hook in due:
                hook.fired += 1
        for hook in due:
            with self.state.lock:
                hook.callback(self.state, request)

    # --- versions --------------------------------------------------------------------------------

    def allowed_versions(self) -> set[str]:
        return {str(number) for number in range(1, self.api_version + 1)}


_VERSION_RE = re.compile(r"version\s*=\s*([^;,\s]+)")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "granian"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are recorded on the fake instead."""

    @property
    def fake(self) -> FakePaperless:
        return self.server.fake  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # --- plumbing --------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=query,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
            time=time.monotonic(),
        )
        fake = self.fake
        fault = fake._record(request)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fake.file_latency and parts.path.rstrip("/").endswith(FILE_ENDPOINTS):
            time.sleep(fake.file_latency)
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        response = self._answer(request, fault)
        if fault is not None and fault.kind == "lose_answer":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._write(response, authenticated=self._authenticated)
        fake._run_hooks(request)

    def _write(self, response: Response, *, authenticated: bool) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Vary", VARY)
        if authenticated and response.status != 406:
            self.send_header("X-Api-Version", str(self.fake.api_version))
            self.send_header("X-Version", self.fake.paperless_version)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status != 204:
            self.wfile.write(response.body)

    def _answer(self, request: RecordedRequest, fault: Fault | None) -> Response:
        self._authenticated = False
        fake = self.fake
        if request.path in ("/api", "/api/"):
            return Response(
                302, content_type="text/html; charset=utf-8", headers={"Location": "schema/view/"}
            )
        if not request.path.startswith("/api/"):
            return Response(404, b"<h1>Not Found</h1>", "text/html; charset=utf-8")
        match = _VERSION_RE.search(request.headers.get("accept", ""))
        if match and match.group(1) not in fake.allowed_versions():
            return json_response(406, {"detail": 'Invalid version in "Accept" header.'})
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Token "):
            return json_response(
                401,
                {"detail": "Authentication credentials were not provided."},
                **{"WWW-Authenticate": "Token"},
            )
        if authorization[len("Token ") :].strip() != fake.token:
            return json_response(401, {"detail": "Invalid token."}, **{"WWW-Authenticate": "Token"})
        self._authenticated = True
        if fault is not None:
            if fault.kind == "status":
                if fault.status >= 500:
                    return Response(fault.status, SERVER_ERROR_HTML, "text/html; charset=utf-8")
                return json_response(fault.status, {"detail": "Scripted failure."})
            if fault.kind == "throttle":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                detail = (
                    f"Request was throttled. Expected available in {fault.retry_after} seconds."
                )
                return json_response(429, {"detail": detail}, **headers)
            if fault.kind == "malformed":
                return Response(200, b'{"count": 3, "next": null, "results": [{"id": 1,')
        version = int(match.group(1)) if match else (fake.default_version or fake.api_version)
        routes = _Routes(
            fake=fake, request=request, version=version, host=self.headers.get("Host", "")
        )
        try:
            with fake.state.lock:
                return routes.route()
        except HttpError as error:
            return json_response(error.status, error.body)
        except Exception:  # a bug in the fake: answer like Django would, and show it
            traceback.print_exc()
            return Response(500, SERVER_ERROR_HTML, "text/html; charset=utf-8")


_DETAIL_RE = re.compile(
    r"^/api/documents/(\d+)/(?:(thumb|preview|download|metadata|notes|update_version|root)/)?$"
)
_VERSION_RE_PATH = re.compile(r"^/api/documents/(\d+)/versions/(\d+)/$")
_WORKFLOW_RE = re.compile(r"^/api/workflows/(?:(\d+)/)?$")
_OBJECT_RE = re.compile(r"^/api/(" + "|".join(OBJECT_KINDS) + r")/(?:(\d+)/)?$")


class _Routes:
    """Answers one authenticated request; runs under ``state.lock``."""

    def __init__(
        self, *, fake: FakePaperless, request: RecordedRequest, version: int, host: str
    ) -> None:
        self.fake = fake
        self.state = fake.state
        self.request = request
        self.version = version
        self.host = host
        self.method = "GET" if request.method == "HEAD" else request.method

    def route(self) -> Response:
        path = self.request.path
        if path == "/api/documents/":
            return self._allow(("GET",), self.list_documents)
        if path == "/api/documents/bulk_edit/":
            return self._allow(("POST",), self.bulk_edit)
        if path == "/api/documents/delete/":
            return self._allow(("POST",), self.delete_documents)
        if path == "/api/trash/":
            return self._allow(("GET", "POST"), self.trash)
        if path == "/api/statistics/":
            return self._allow(("GET",), self.statistics)
        if path == "/api/status/":
            return self._allow(("GET",), self.system_status)
        if path == "/api/tasks/":
            return self._allow(("GET",), self.list_tasks)
        if path == "/api/documents/post_document/":
            return self._allow(("POST",), self.post_document)
        match = _WORKFLOW_RE.match(path)
        if match:
            if match.group(1) is None:
                return self._allow(("GET", "POST"), self.workflows)
            workflow_id = int(match.group(1))
            return self._allow(
                ("GET", "PUT", "PATCH", "DELETE"), lambda: self.workflow(workflow_id)
            )
        match = _VERSION_RE_PATH.match(path)
        if match and self.fake.has_versions:
            root_id, version_id = int(match.group(1)), int(match.group(2))
            return self._allow(
                ("DELETE", "PATCH"), lambda: self.document_version(root_id, version_id)
            )
        match = _DETAIL_RE.match(path)
        if match:
            document_id, action = int(match.group(1)), match.group(2)
            if action is None:
                return self._allow(
                    ("GET", "PUT", "PATCH", "DELETE"), lambda: self.document(document_id)
                )
            if action == "notes":
                return self._allow(("GET", "POST", "DELETE"), lambda: self.notes(document_id))
            if action in ("update_version", "root"):
                if not self.fake.has_versions:
                    raise HttpError(404, {"detail": "Not found."})
                if action == "root":
                    return self._allow(("GET",), lambda: self.root(document_id))
                return self._allow(("POST",), lambda: self.update_version(document_id))
            return self._allow(("GET",), lambda: self.file(document_id, action))
        match = _OBJECT_RE.match(path)
        if match:
            kind, object_id = match.group(1), match.group(2)
            if object_id is None:
                return self._allow(("GET", "POST"), lambda: self.objects(kind))
            return self._allow(("GET",), lambda: self.one_object(kind, int(object_id)))
        raise HttpError(404, {"detail": "Not found."})

    def _allow(self, methods: tuple[str, ...], handler: Callable[[], Response]) -> Response:
        if self.method not in methods:
            raise HttpError(405, {"detail": f'Method "{self.request.method}" not allowed.'})
        return handler()

    def _json_body(self) -> dict:
        try:
            body = self.request.json
        except ValueError as error:
            raise HttpError(400, {"detail": f"JSON parse error - {error}"}) from error
        if not isinstance(body, dict):
            raise HttpError(400, {"non_field_errors": ["Invalid data. Expected a dictionary."]})
        return body

    # --- pagination ------------------------------------------------------------------------------

    def paginate(
        self, items: list, render: Callable[[Any], dict], *, extra: dict | None = None
    ) -> Response:
        query = self.request.query
        try:
            page_size = int(query.get("page_size", [""])[-1])
            if page_size < 1:
                raise ValueError
            page_size = min(page_size, MAX_PAGE_SIZE)
        except ValueError:
            page_size = DEFAULT_PAGE_SIZE
        count = len(items)
        pages = max(1, math.ceil(count / page_size))
        raw_page = query.get("page", ["1"])[-1]
        try:
            page = pages if raw_page == "last" else int(raw_page)
        except ValueError:
            page = 0
        if page < 1 or page > pages:
            raise HttpError(404, {"detail": "Invalid page."})
        start = (page - 1) * page_size
        body: dict[str, Any] = {
            "count": count,
            "next": self._page_url(page + 1) if page < pages else None,
            "previous": self._page_url(page - 1) if page > 1 else None,
        }
        if extra:
            body.update(extra)
        body["results"] = [render(item) for item in items[start : start + page_size]]
        return json_response(200, body)

    def _page_url(self, page: int) -> str:
        params = [(k, v) for k, values in self.request.query.items() for v in values if k != "page"]
        if page > 1:
            params.append(("page", str(page)))
        return f"http://{self.host}{self.request.path}" + (
            "?" + urlencode(sorted(params)) if params else ""
        )

    # --- documents -------------------------------------------------------------------------------

    def _fields(self) -> set[str] | None:
        raw = self.request.param("fields")
        if not raw:
            return None
        return {name.strip() for name in raw.split(",") if name.strip()}

    def render_document(
        self, document: FakeDocument, *, fields: set[str] | None, detail: bool = False
    ) -> dict:
        wanted = DOCUMENT_FIELDS if fields is None else [f for f in DOCUMENT_FIELDS if f in fields]
        if not self.fake.has_versions:  # Paperless 2.x: no versions at all
            wanted = [name for name in wanted if name not in ("versions", "root_document")]
        # A root document shows its newest version's text (Paperless's "effective content").
        effective = self.state.latest_version(document)
        out: dict[str, Any] = {}
        for name in wanted:
            if name == "content":
                out[name] = effective.content
            elif name == "created":
                out[name] = (
                    document.created.isoformat()
                    if self.version >= 9
                    else f"{document.created.isoformat()}T00:00:00Z"
                )
            elif name == "created_date":
                out[name] = document.created.isoformat()
            elif name in ("modified", "added"):
                out[name] = iso(getattr(document, name))
            elif name == "deleted_at":
                out[name] = iso(document.deleted_at) if document.deleted_at else None
            elif name == "duplicate_documents":
                twins = self.state.twins_of(document) if detail else []
                out[name] = [
                    {
                        "id": twin.id,
                        "title": twin.title,
                        "deleted_at": iso(twin.deleted_at) if twin.deleted_at else None,
                    }
                    for twin in sorted(twins, key=lambda twin: twin.id)
                ]
            elif name == "user_can_change":
                out[name] = True
            elif name == "is_shared_by_requester":
                out[name] = False
            elif name == "root_document":
                out[name] = document.root_document
            elif name == "versions":
                root = document
                if document.root_document is not None:
                    root = self.state.get_document_or_version(document.root_document) or document
                out[name] = [
                    {
                        "id": version.id,
                        "added": iso(version.added),
                        "version_label": version.version_label,
                        "checksum": version.checksum,
                        "is_root": version is root,
                    }
                    for version in [root, *self.state.versions_of(root)]
                ]
            elif name == "notes":
                out[name] = [
                    {**note, "created": iso(note["created"]), "user": note["user"]["id"]}
                    for note in document.notes
                ]
            elif name == "tags":
                out[name] = list(document.tags)
            elif name == "custom_fields":
                out[name] = [dict(value) for value in document.custom_fields]
            else:
                out[name] = getattr(document, name)
        return out

    def _filtered_documents(self) -> list[FakeDocument]:
        query = self.request.query
        state = self.state
        ordering = self.request.param("ordering") or "-created"
        filters: list[Callable[[FakeDocument], bool]] = []

        def single(name: str) -> str | None:
            value = self.request.param(name)
            return value if value not in (None, "") else None

        if (raw := single("id__in")) is not None:
            wanted = {int(part) for part in raw.split(",") if part.strip().isdigit()}
            filters.append(lambda d, wanted=wanted: d.id in wanted)
        if (raw := single("id")) is not None and raw.isdigit():
            filters.append(lambda d, wanted=int(raw): d.id == wanted)
        if (raw := single("checksum__iexact")) is not None:
            checksum = raw.lower()
            filters.append(lambda d, checksum=checksum: d.checksum == checksum)
        if (raw := single("title__icontains")) is not None:
            needle = raw.lower()
            filters.append(lambda d, needle=needle: needle in d.title.lower())
        if (raw := single("tags__id__all")) is not None:
            tag_ids = {int(part) for part in raw.split(",") if part.strip().isdigit()}
            filters.append(lambda d, tag_ids=tag_ids: tag_ids.issubset(d.tags))
        if (raw := single("tags__id__in")) is not None:
            any_ids = {int(part) for part in raw.split(",") if part.strip().isdigit()}
            filters.append(lambda d, any_ids=any_ids: bool(any_ids.intersection(d.tags)))
        for name in ("modified", "added"):
            for lookup, test in (
                ("gt", lambda a, b: a > b),
                ("gte", lambda a, b: a >= b),
                ("lt", lambda a, b: a < b),
            ):
                raw = single(f"{name}__{lookup}")
                if raw is None:
                    continue
                bound = _parse_datetime(raw)
                if bound is None:
                    raise HttpError(400, {f"{name}__{lookup}": ["Enter a valid date/time."]})
                filters.append(
                    lambda d, name=name, test=test, bound=bound: test(getattr(d, name), bound)
                )
        del query
        if not filters and ordering == "id":
            ids = state.live_ids()
            return _LazyDocuments(ids, state.documents)  # type: ignore[return-value]
        documents = [state.documents[i] for i in state.live_ids()]
        if filters:
            documents = [d for d in documents if all(test(d) for test in filters)]
        return _order(documents, ordering)

    def list_documents(self) -> Response:
        documents = self._filtered_documents()
        fields = self._fields()
        extra = None
        if self.version <= 9:
            extra = {"all": [document.id for document in documents]}
        return self.paginate(
            documents, lambda document: self.render_document(document, fields=fields), extra=extra
        )

    def _document_or_404(self, document_id: int) -> FakeDocument:
        document = self.state.get_document(document_id)
        if document is None:
            raise HttpError(404, {"detail": NO_DOCUMENT})
        return document

    def document(self, document_id: int) -> Response:
        if self.method == "GET" and document_id in self.state.versions:
            version = self.state.versions[document_id]
            rendered = self.render_document(version, fields=self._fields(), detail=True)
            return json_response(200, rendered)
        document = self._document_or_404(document_id)
        if self.method == "GET":
            rendered = self.render_document(document, fields=self._fields(), detail=True)
            return json_response(200, rendered)
        if self.method == "DELETE":
            self.state.trash_document(document_id)
            return Response(204, content_type=None)
        self._patch_document(document, self._json_body())
        rendered = self.render_document(document, fields=None, detail=True)
        rendered.pop("user_can_change")
        rendered.pop("is_shared_by_requester")
        rendered["permissions"] = {
            "view": {"users": [], "groups": []},
            "change": {"users": [], "groups": []},
        }
        return json_response(200, {key: rendered[key] for key in _patch_order(rendered)})

    def _patch_document(self, document: FakeDocument, body: dict) -> None:
        errors: dict[str, Any] = {}
        state = self.state
        if "tags" in body:
            missing = [tag for tag in body["tags"] if tag not in state.tags]
            if missing:
                errors["tags"] = [f'Invalid pk "{missing[0]}" - object does not exist.']
        if "created" in body:
            try:
                date.fromisoformat(str(body["created"]))
            except ValueError:
                errors["created"] = [
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
                ]
        for kind, key in (
            ("correspondents", "correspondent"),
            ("document_types", "document_type"),
            ("storage_paths", "storage_path"),
        ):
            value = body.get(key)
            if value is not None and value not in getattr(state, kind):
                errors[key] = [f'Invalid pk "{value}" - object does not exist.']
        if "custom_fields" in body:
            field_errors = []
            for entry in body["custom_fields"]:
                if not isinstance(entry, dict) or entry.get("field") not in state.custom_fields:
                    field_errors.append({"field": ["Invalid pk - object does not exist."]})
            if field_errors:
                errors["custom_fields"] = field_errors
        if "archive_serial_number" in body:
            asn = body["archive_serial_number"]
            if asn is not None and not (isinstance(asn, int) and asn >= 0):
                errors["archive_serial_number"] = ["A valid integer is required."]
        if errors:
            raise HttpError(400, errors)
        for key in (
            "title",
            "tags",
            "correspondent",
            "document_type",
            "storage_path",
            "archive_serial_number",
        ):
            if key in body:
                setattr(document, key, list(body[key]) if key == "tags" else body[key])
        if "content" in body:
            document.content = body["content"]
        if "created" in body:
            document.created = date.fromisoformat(str(body["created"]))
        if "custom_fields" in body:
            document.custom_fields = [
                {"value": entry.get("value"), "field": entry["field"]}
                for entry in body["custom_fields"]
            ]
        state.touch(document)
        state.emit("updated", document)

    def file(self, document_id: int, action: str) -> Response:
        document = self.state.get_document_or_version(document_id)
        if document is None:
            raise HttpError(404, {"detail": "Not found." if action != "metadata" else NO_DOCUMENT})
        if self.fake.has_versions:
            wanted = self.request.param("version")
            if wanted is not None:
                root = document
                choices = {root.id: root, **{v.id: v for v in self.state.versions_of(root)}}
                if not wanted.isdigit() or int(wanted) not in choices:
                    raise HttpError(404, {"detail": "Not found."})
                document = choices[int(wanted)]
            else:
                document = self.state.latest_version(document)
        last_modified = format_datetime(document.modified.astimezone(UTC), usegmt=True)
        if action == "thumb":
            etag = f'"{document.checksum}"'
            if self.request.headers.get("if-none-match") == etag:
                return Response(304, content_type=None, headers={"ETag": etag})
            return Response(
                200,
                document.thumbnail,
                "image/webp",
                {
                    "Content-Disposition": f'inline; filename="{document.id:07d}.webp"',
                    "Last-Modified": last_modified,
                    "ETag": f'"{document.checksum}"',
                    "Cache-Control": "no-cache",
                },
            )
        if action == "metadata":
            archive = document.archive
            original = document.original
            return json_response(
                200,
                {
                    "original_checksum": document.checksum,
                    "original_size": len(original),
                    "original_mime_type": document.mime_type,
                    "media_filename": f"{document.id:07d}.pdf",
                    "has_archive_version": archive is not None,
                    "original_metadata": [],
                    "archive_checksum": _sha(archive),
                    "archive_media_filename": f"{document.id:07d}.pdf" if archive else None,
                    "original_filename": document.original_file_name,
                    "archive_size": len(archive) if archive else None,
                    "archive_metadata": [] if archive else None,
                    "lang": "en",
                },
                ETag=f'"{document.checksum}:{document.modified.isoformat()}"',
                **{"Last-Modified": last_modified, "Cache-Control": "no-cache"},
            )
        want_original = self.request.param("original") == "true"
        archive = None if want_original else document.archive
        data = archive if archive is not None else document.original
        mime_type = "application/pdf" if archive is not None else document.mime_type
        extension = "pdf" if mime_type == "application/pdf" else "txt"
        filename = f"{document.created.isoformat()} {document.title}.{extension}"
        disposition = "inline" if action == "preview" else "attachment"
        headers = {
            "Content-Disposition": (
                f"{disposition}; filename=\"{filename}\"; filename*=utf-8''{quote(filename)}"
            )
        }
        if action == "preview":
            headers.update(
                {
                    "Last-Modified": last_modified,
                    "ETag": f'"{_sha(data)}"',
                    "Cache-Control": "no-cache",
                }
            )
        return Response(200, data, mime_type, headers)

    def notes(self, document_id: int) -> Response:
        document = self._document_or_404(document_id)
        if self.method == "POST":
            text = self._json_body().get("note")
            if not text:
                raise HttpError(400, {"error": "Unknown error"})
            self.state.add_note(document, str(text))
        elif self.method == "DELETE":
            note_id = self.request.param("id")
            document.notes = [note for note in document.notes if str(note["id"]) != note_id]
        rendered = [{**note, "created": iso(note["created"])} for note in reversed(document.notes)]
        return json_response(200, rendered)

    def _require_documents(self, body: dict, *, pool: dict[int, FakeDocument]) -> list[int]:
        ids = body.get("documents")
        if not isinstance(ids, list) or not ids:
            raise HttpError(400, {"documents": ["This field is required."]})
        if len(set(ids)) != len(ids) or any(document_id not in pool for document_id in ids):
            raise HttpError(400, {"documents": [DOCS_MISSING]})
        return ids

    def bulk_edit(self) -> Response:
        body = self._json_body()
        method = body.get("method")
        parameters = body.get("parameters") or {}
        known = {
            "add_tag",
            "remove_tag",
            "modify_tags",
            "set_correspondent",
            "set_document_type",
            "set_storage_path",
            "delete",
        }
        if method not in known:
            raise HttpError(400, {"method": [f'"{method}" is not a valid choice.']})
        ids = self._require_documents(body, pool=self.state.documents)
        state = self.state
        if method in ("add_tag", "remove_tag"):
            tag = parameters.get("tag")
            if tag not in state.tags:
                raise HttpError(400, {"parameters": [f"Tag {tag} does not exist"]})
            add, remove = ([tag], []) if method == "add_tag" else ([], [tag])
        elif method == "modify_tags":
            add = list(parameters.get("add_tags") or [])
            remove = list(parameters.get("remove_tags") or [])
            if any(tag not in state.tags for tag in add + remove):
                raise HttpError(400, {"parameters": ["Some tags in add_tags don't exist."]})
        if method == "delete":
            for document_id in ids:
                state.trash_document(document_id)
            return json_response(200, {"result": "OK"})
        for document_id in ids:
            document = state.documents[document_id]
            if method in ("add_tag", "remove_tag", "modify_tags"):
                tags = [tag for tag in document.tags if tag not in remove]
                tags += [tag for tag in add if tag not in tags]
                document.tags = tags
            else:
                key = method.removeprefix("set_")
                setattr(document, key, parameters.get(key))
            state.touch(document)
            state.emit("updated", document)
        return json_response(200, {"result": "OK"})

    def delete_documents(self) -> Response:
        ids = self._require_documents(self._json_body(), pool=self.state.documents)
        for document_id in ids:
            self.state.trash_document(document_id)
        return json_response(200, {"result": "OK"})

    def trash(self) -> Response:
        state = self.state
        if self.method == "GET":
            documents = sorted(state.trash.values(), key=lambda d: d.deleted_at, reverse=True)
            return self.paginate(documents, lambda d: self.render_document(d, fields=None))
        body = self._json_body()
        action = body.get("action")
        if action not in ("restore", "empty"):
            raise HttpError(400, {"action": [f'"{action}" is not a valid choice.']})
        ids = body.get("documents")
        if ids is None and action == "empty":
            ids = list(state.trash)
        if not isinstance(ids, list) or any(document_id not in state.trash for document_id in ids):
            raise HttpError(
                400, {"documents": ["Some documents in the list have not yet been deleted."]}
            )
        for document_id in ids:
            if action == "restore":
                state.restore_document(document_id)
            else:
                del state.trash[document_id]
        return json_response(200, {"result": "OK", "doc_ids": ids})

    # --- workflows (webhooks) ---------------------------------------------------------------------

    def workflows(self) -> Response:
        state = self.state
        if self.method == "GET":
            items = sorted(state.workflows.values(), key=lambda w: (w["order"], w["id"]))
            return self.paginate(items, lambda workflow: workflow)
        body = self._json_body()
        try:
            validate_workflow(body)
        except WorkflowInvalid as error:
            raise HttpError(400, error.errors) from error
        return json_response(201, store_workflow(state, body))

    def workflow(self, workflow_id: int) -> Response:
        state = self.state
        existing = state.workflows.get(workflow_id)
        if existing is None:
            raise HttpError(404, {"detail": "No Workflow matches the given query."})
        if self.method == "GET":
            return json_response(200, existing)
        if self.method == "DELETE":
            del state.workflows[workflow_id]
            return Response(204, content_type=None)
        body = self._json_body()
        partial = self.method == "PATCH"
        try:
            validate_workflow(body, partial=partial)
        except WorkflowInvalid as error:
            raise HttpError(400, error.errors) from error
        merged = {**existing, **body} if partial else body
        return json_response(200, store_workflow(state, merged, workflow_id=workflow_id))

    # --- uploads, versions and tasks -------------------------------------------------------------

    def _multipart(self) -> dict[str, tuple[str | None, bytes]]:
        """The parts of a multipart/form-data body: name -> (file name or None, bytes)."""
        content_type = self.request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return {}
        message = BytesParser(policy=email_policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + self.request.body
        )
        parts: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                parts[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
        return parts

    def _consume_later(self, task: dict, make: Callable[[], FakeDocument]) -> None:
        """Finish a consume task after ``consume_delay`` in the background (like Celery); the new
        document fires the "document added" workflows."""
        fake = self.fake
        error, fake.fail_next_consume = fake.fail_next_consume, None

        def consume() -> None:
            time.sleep(fake.consume_delay)
            if error is not None:
                fake.state.finish_task(task, error=error)
                return
            document = make()
            fake.state.finish_task(task, document_id=document.id)
            fake.state.emit("added", document)

        threading.Thread(target=consume, name="fake-consume", daemon=True).start()

    def post_document(self) -> Response:
        parts = self._multipart()
        if "document" not in parts or parts["document"][0] is None:
            raise HttpError(400, {"document": ["No file was submitted."]})
        filename, data = parts["document"]
        title = parts.get("title", (None, b""))[1].decode() or (filename or "").rsplit(".", 1)[0]
        task = self.state.add_task(
            task_type="consume_file", filename=filename or "", mime_type="application/pdf"
        )
        state = self.state

        def make() -> FakeDocument:
            with state.lock:
                document_id = state._next_document_id
                state._next_document_id += 1
                now = state.now()
                document = FakeDocument(
                    id=document_id,
                    title=title,
                    text_seed=document_id,
                    content_override=data.decode("utf-8", "replace")[:100_000],
                    original_file_name=filename or f"{document_id}.pdf",
                    added=now,
                    modified=now,
                    created=now.date(),
                    file_bytes=data,
                    mime_type="text/plain" if data.isascii() else "application/pdf",
                )
                state.documents[document_id] = document
                bisect.insort(state._live_ids, document_id)
                return document

        self._consume_later(task, make)
        return json_response(200, task["task_id"])

    def update_version(self, document_id: int) -> Response:
        state = self.state
        target = state.get_document_or_version(document_id)
        if target is None:
            raise HttpError(404, {"detail": NO_DOCUMENT})
        root = state.get_document(target.root_document) if target.root_document else target
        if root is None:
            raise HttpError(404, {"detail": NO_DOCUMENT})
        parts = self._multipart()
        if "document" not in parts or parts["document"][0] is None:
            raise HttpError(400, {"document": ["No file was submitted."]})
        label = parts.get("version_label", (None, b""))[1].decode() or None
        if label is not None and len(label) > 64:
            raise HttpError(
                400, {"version_label": ["Ensure this field has no more than 64 characters."]}
            )
        filename, data = parts["document"]
        task = state.add_task(
            task_type="consume_file", filename=filename or "", mime_type=root.mime_type
        )
        self._consume_later(
            task,
            lambda: state.add_version(root, data=data, label=label, filename=filename or ""),
        )
        return json_response(200, task["task_id"])

    def root(self, document_id: int) -> Response:
        document = self.state.get_document_or_version(document_id)
        if document is None:
            raise HttpError(404, {"detail": NO_DOCUMENT})
        return json_response(200, {"root_id": document.root_document or document.id})

    def document_version(self, root_id: int, version_id: int) -> Response:
        state = self.state
        root = self._document_or_404(root_id)
        if version_id == root.id:
            raise HttpError(400, {"detail": "Cannot delete the root/original version."})
        version = state.versions.get(version_id)
        if version is None or version.root_document != root.id:
            raise HttpError(404, {"detail": "Version not found."})
        if self.method == "PATCH":
            label = self._json_body().get("version_label")
            if label is not None and len(str(label)) > 64:
                raise HttpError(
                    400, {"version_label": ["Ensure this field has no more than 64 characters."]}
                )
            version.version_label = label
            state.touch(root)
            return json_response(
                200,
                {
                    "id": version.id,
                    "added": iso(version.added),
                    "version_label": version.version_label,
                    "checksum": version.checksum,
                    "is_root": False,
                },
            )
        state.delete_version(root, version_id)
        return json_response(
            200, {"result": "OK", "current_version_id": state.latest_version(root).id}
        )

    def list_tasks(self) -> Response:
        tasks = sorted(self.state.tasks.values(), key=lambda t: t["id"], reverse=True)
        wanted = self.request.param("task_id")
        if wanted:
            tasks = [task for task in tasks if task["task_id"] == wanted]
        if self.version <= 9:  # capture 73: a plain list in the old shape
            return json_response(
                200,
                [
                    {
                        "id": t["id"],
                        "task_id": t["task_id"],
                        "task_name": t["task_type"],
                        "task_file_name": t["input_data"].get("filename"),
                        "type": "manual_task",
                        "status": t["status"].upper(),
                        "date_created": t["date_created"],
                        "date_done": t["date_done"],
                        "result": (t["result_data"] or {}).get("error_message")
                        or (
                            f"Success. New document id {t['related_document_ids'][0]} created"
                            if t["related_document_ids"]
                            else None
                        ),
                        "acknowledged": False,
                        "related_document": (
                            str(t["related_document_ids"][0]) if t["related_document_ids"] else None
                        ),
                        "duplicate_documents": [],
                        "owner": OWNER_ID,
                    }
                    for t in tasks
                ],
            )
        return self.paginate(tasks, lambda task: task)

    def system_status(self) -> Response:
        fake = self.fake
        return json_response(
            200,
            {
                "pngx_version": fake.paperless_version,
                "server_os": "Linux",
                "install_type": fake.install_type,
                "storage": {"total": 270553174016, "available": 81622368256},
                "database": {"type": "sqlite", "url": "<file>", "status": "OK", "error": None},
                "tasks": {
                    "redis_url": "redis://127.0.0.1:6379",
                    "redis_status": "OK",
                    "redis_error": None,
                    "celery_status": fake.celery_status,
                    "celery_url": "celery@fake",
                    "celery_error": None if fake.celery_status == "OK" else "No celery workers",
                },
            },
        )

    def statistics(self) -> Response:
        state = self.state
        documents = [state.documents[i] for i in state.live_ids()]
        mime_counts: dict[str, int] = {}
        for document in documents:
            mime_counts[document.mime_type] = mime_counts.get(document.mime_type, 0) + 1
        asns = [d.archive_serial_number for d in documents if d.archive_serial_number is not None]
        return json_response(
            200,
            {
                "documents_total": len(documents),
                "documents_inbox": None,
                "inbox_tag": None,
                "inbox_tags": None,
                "document_file_type_counts": [
                    {"mime_type": mime, "mime_type_count": count}
                    for mime, count in sorted(mime_counts.items(), key=lambda item: -item[1])
                ],
                "character_count": sum(len(d.content) for d in documents),
                "tag_count": len(state.tags),
                "correspondent_count": len(state.correspondents),
                "document_type_count": len(state.document_types),
                "storage_path_count": len(state.storage_paths),
                "current_asn": max(asns, default=0),
            },
        )

    # --- tags and other objects ------------------------------------------------------------------

    def _document_counts(self, kind: str) -> dict[int, int]:
        counts: dict[int, int] = {}
        if kind == "custom_fields":
            return counts
        for document_id in self.state.live_ids():
            document = self.state.documents[document_id]
            if kind == "tags":
                for tag in document.tags:
                    counts[tag] = counts.get(tag, 0) + 1
            else:
                value = getattr(document, kind.removesuffix("s"))
                if value is not None:
                    counts[value] = counts.get(value, 0) + 1
        return counts

    def objects(self, kind: str) -> Response:
        store: dict[int, dict] = getattr(self.state, kind)
        if self.method == "POST":
            return self._create_object(kind, store)
        items = list(store.values())
        query = self.request.query
        if (raw := self.request.param("name__iexact")) is not None:
            items = [item for item in items if item["name"].lower() == raw.lower()]
        if (raw := self.request.param("name__icontains")) is not None:
            items = [item for item in items if raw.lower() in item["name"].lower()]
        if (raw := self.request.param("id__in")) is not None:
            wanted = {int(part) for part in raw.split(",") if part.strip().isdigit()}
            items = [item for item in items if item["id"] in wanted]
        del query
        ordering = self.request.param("ordering") or "name"
        reverse = ordering.startswith("-")
        key = ordering.lstrip("-")
        if key not in ("id", "name"):
            key = "name"
        items.sort(
            key=lambda item: item[key].lower() if key == "name" else item[key], reverse=reverse
        )
        counts = self._document_counts(kind)

        def render(item: dict) -> dict:
            rendered = dict(item)
            if kind != "custom_fields":
                rendered["document_count"] = counts.get(item["id"], 0)
                if kind == "tags":
                    rendered = {k: rendered[k] for k in _tag_order(rendered)}
            else:
                rendered["document_count"] = 0
            return rendered

        extra_after = {"display_count": len(items)} if kind == "tags" else None
        response = self.paginate(items, render)
        if extra_after:
            body = json.loads(response.body)
            body.update(extra_after)
            response.body = dumps(body)
        return response

    def _create_object(self, kind: str, store: dict[int, dict]) -> Response:
        body = self._json_body()
        errors: dict[str, list[str]] = {}
        name = body.get("name")
        if not name:
            errors["name"] = ["This field is required."]
        color = body.get("color")
        if (
            kind == "tags"
            and color is not None
            and not re.fullmatch(r"#[0-9a-fA-F]{6}", str(color))
        ):
            errors["color"] = ["Invalid color."]
        algorithm = body.get("matching_algorithm", 1)
        if kind != "custom_fields" and algorithm not in range(7):
            errors["matching_algorithm"] = [f'"{algorithm}" is not a valid choice.']
        if kind == "custom_fields" and not body.get("data_type"):
            errors["data_type"] = ["This field is required."]
        if errors:
            raise HttpError(400, errors)
        if any(item["name"] == name for item in store.values()):
            raise HttpError(400, {"error": "Object violates owner / name unique constraint"})
        fields = {
            key: value
            for key, value in body.items()
            if key
            in (
                "color",
                "match",
                "is_insensitive",
                "is_inbox_tag",
                "parent",
                "path",
                "data_type",
                "extra_data",
            )
        }
        if kind != "custom_fields":
            fields["matching_algorithm"] = algorithm
        record = self.state.add_object(kind, name=name, **fields)
        return json_response(201, record)

    def one_object(self, kind: str, object_id: int) -> Response:
        record = getattr(self.state, kind).get(object_id)
        if record is None:
            raise HttpError(404, {"detail": "No matching object found."})
        return json_response(200, record)


class _LazyDocuments:
    """The live id list seen as documents, so a page of a 100k library is a slice, not a copy."""

    def __init__(self, ids: list[int], documents: dict[int, FakeDocument]) -> None:
        self._ids = ids
        self._documents = documents

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self._documents[i] for i in self._ids)

    def __getitem__(self, index: slice) -> list[FakeDocument]:
        return [self._documents[i] for i in self._ids[index]]


def _order(documents: list[FakeDocument], ordering: str) -> list[FakeDocument]:
    reverse = ordering.startswith("-")
    key = ordering.lstrip("-")
    if key not in ("id", "created", "added", "modified", "title"):
        key, reverse = "created", True
    if key == "id":
        return sorted(documents, key=lambda d: d.id, reverse=reverse)
    return sorted(documents, key=lambda d: (getattr(d, key), d.id), reverse=reverse)


def _parse_datetime(raw: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def _patch_order(rendered: dict) -> list[str]:
    order = [key for key in DOCUMENT_FIELDS if key in rendered]
    index = order.index("owner") + 1
    return [*order[:index], "permissions", *order[index:]]


def _tag_order(rendered: dict) -> list[str]:
    preferred = [
        "id",
        "slug",
        "name",
        "color",
        "text_color",
        "match",
        "matching_algorithm",
        "is_insensitive",
        "is_inbox_tag",
        "document_count",
        "owner",
        "user_can_change",
        "parent",
        "children",
    ]
    return [key for key in preferred if key in rendered] + [
        key for key in rendered if key not in preferred
    ]


__all__ = ["OWNER_ID", "FakePaperless", "RecordedRequest"]
