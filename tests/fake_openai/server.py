"""A fake OpenAI-compatible endpoint over real HTTP on loopback (like Ollama's or OpenAI's
``/v1``): ``POST /v1/chat/completions`` with structured output and ``usage``, ``GET /v1/models``.

Its default answer is made from the request the way a careful model would answer, so tests can
predict it: the title is the text's first line; the correspondent and document type are the first
listed names the text mentions; the created date is the first date in the text; tags are listed
tag names the text mentions plus a new tag for every ``#word``; a custom field gets the value after
``<field name>:`` on a line. Tokens are counted as characters / 4 (messages and schema for the
prompt, the answer's JSON for the completion).

Misbehaviour on demand for the next request(s): ``throttle_next`` (429 with ``Retry-After``),
``fail_next`` (500), ``delay_next`` (answer late: a client timeout), ``malformed_next`` (content
is not JSON), ``violate_schema_next`` (JSON of the wrong shape), ``refuse_next`` (a refusal),
``truncate_next`` (``finish_reason: length``), ``no_usage_next``, ``answer_next`` (this content).
Every request is recorded in ``.requests``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DATE_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b|\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
HASHTAG_RE = re.compile(r"#([A-Za-z][\w-]{1,30})")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Fault:
    kind: str
    remaining: int
    retry_after: str | None = None
    seconds: float = 0.0
    status: int = 500
    content: str | None = None


@dataclass
class FakeOpenAI:
    """``start()`` it, point the app at ``.url`` (the ``/v1`` base) with ``.key``."""

    key: str | None = "sk-fake-openai-key-0123456789"
    models: tuple[str, ...] = ("gpt-4o-mini", "llama3.1:8b")
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._initial = (self.key, self.models)

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests.clear()
        self.key, self.models = self._initial

    def completions(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # --- misbehaviour ----------------------------------------------------------------------------

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def throttle_next(self, count: int = 1, *, retry_after: str | None = "1") -> None:
        self._add(Fault("throttle", count, retry_after=retry_after, status=429))

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        self._add(Fault("status", count, status=status))

    def delay_next(self, count: int = 1, *, seconds: float) -> None:
        self._add(Fault("delay", count, seconds=seconds))

    def malformed_next(self, count: int = 1) -> None:
        self._add(Fault("content", count, content='{"title": {"value": "Invoice", "conf'))

    def violate_schema_next(self, count: int = 1) -> None:
        self._add(Fault("content", count, content=json.dumps({"title": "Invoice", "tags": "x"})))

    def refuse_next(self, count: int = 1) -> None:
        self._add(Fault("refuse", count))

    def truncate_next(self, count: int = 1) -> None:
        self._add(Fault("truncate", count))

    def no_usage_next(self, count: int = 1) -> None:
        self._add(Fault("no_usage", count))

    def answer_next(self, content: dict[str, Any] | str, count: int = 1) -> None:
        text = content if isinstance(content, str) else json.dumps(content)
        self._add(Fault("content", count, content=text))

    def _take_fault(self) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None


def _error(status: int, message: str, kind: str, code: str | None = None) -> tuple[int, dict]:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _tokens(text: str) -> int:
    return -(-len(text) // 4)


def _document_text(user: str) -> str:
    match = re.search(r"<<<\n(.*)\n>>>", user, re.DOTALL)
    return match.group(1) if match else ""


def _listed(user: str, label: str) -> list[str]:
    match = re.search(rf"^{label}: (\[.*\])", user, re.MULTILINE)
    return json.loads(match.group(1)) if match else []


def _mentioned(names: list[str], text: str) -> str | None:
    lowered = text.lower()
    for name in names:
        if name and name.lower() in lowered:
            return name
    return None


def _line_with(needle: str, text: str) -> str:
    for line in text.splitlines():
        if needle.lower() in line.lower():
            return line.strip()[:200]
    return needle


def default_answer(request: dict[str, Any]) -> dict[str, Any]:
    """What the fake model answers to ``request`` (see the module's docstring)."""
    messages = request.get("messages") or []
    user = next((m["content"] for m in messages if m.get("role") == "user"), "")
    text = _document_text(user)
    schema = request["response_format"]["json_schema"]["schema"]["properties"]

    def choice(name: str) -> dict[str, Any]:
        names = [n for n in schema[name]["properties"]["value"].get("enum", []) if n]
        if not names:
            names = _listed(
                user,
                "Existing correspondents" if name == "correspondent" else "Existing document types",
            )
        found = _mentioned(names, text)
        return {
            "value": found,
            "confidence": 0.85 if found else 0.0,
            "evidence": _line_with(found, text) if found else "",
        }

    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    date_match = DATE_RE.search(text)
    created = None
    if date_match:
        if date_match.group(1):
            created = f"{date_match.group(1)}-{date_match.group(2)}-{date_match.group(3)}"
        else:
            day, month, year = date_match.group(4), date_match.group(5), date_match.group(6)
            created = f"{year}-{int(month):02d}-{int(day):02d}"
    tags = [
        {"name": name, "confidence": 0.7, "evidence": _line_with(name, text)}
        for name in _listed(user, "Existing tags")
        if name.lower() in text.lower()
    ]
    tags += [
        {"name": tag, "confidence": 0.4, "evidence": f"#{tag}"}
        for tag in dict.fromkeys(HASHTAG_RE.findall(text))
    ]
    answer: dict[str, Any] = {
        "title": {
            "value": first_line[:60] or None,
            "confidence": 0.9 if first_line else 0.0,
            "evidence": first_line[:200],
        },
        "correspondent": choice("correspondent"),
        "document_type": choice("document_type"),
        "created": {
            "value": created,
            "confidence": 0.8 if created else 0.0,
            "evidence": date_match.group(0) if date_match else "",
        },
        "tags": tags,
    }
    if "custom_fields" in schema:
        fields = []
        for name in schema["custom_fields"]["items"]["properties"]["field"].get("enum", []):
            match = re.search(
                rf"^\s*{re.escape(name)}\s*:\s*(.+)$", text, re.MULTILINE | re.IGNORECASE
            )
            if match:
                fields.append(
                    {
                        "field": name,
                        "value": match.group(1).strip(),
                        "confidence": 0.75,
                        "evidence": match.group(0).strip(),
                    }
                )
        answer["custom_fields"] = fields
    return answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded on the fake."""

    @property
    def fake(self) -> FakeOpenAI:
        return self.server.fake  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=self.path.split("?")[0],
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            time=time.monotonic(),
        )
        fake = self.fake
        with fake._lock:
            fake.requests.append(request)
        status, payload, headers = self._answer(request)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            pass

    def _answer(self, request: Request) -> tuple[int, dict, dict[str, str]]:
        fake = self.fake
        auth = request.headers.get("authorization", "")
        if fake.key is not None and auth != f"Bearer {fake.key}":
            given = auth.removeprefix("Bearer ")
            return (*_error(401, f"Incorrect API key provided: {given}.", "invalid_request_error",
                            "invalid_api_key"), {})  # fmt: skip
        if request.method == "GET" and request.path.endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "fake"} for m in fake.models]
            return 200, {"object": "list", "data": data}, {}
        if request.method != "POST" or not request.path.endswith("/chat/completions"):
            return (*_error(404, "Not found", "invalid_request_error"), {})
        try:
            body = json.loads(request.body)
        except ValueError:
            return (*_error(400, "We could not parse the JSON body.", "invalid_request_error"), {})
        model = body.get("model")
        if model not in fake.models:
            return (*_error(404, f"The model `{model}` does not exist.", "invalid_request_error",
                            "model_not_found"), {})  # fmt: skip
        fault = fake._take_fault()
        if fault is not None:
            if fault.kind == "throttle":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return (*_error(429, "Rate limit reached for requests.", "requests",
                                "rate_limit_exceeded"), headers)  # fmt: skip
            if fault.kind == "status":
                return (*_error(fault.status, "The server had an error.", "server_error"), {})
            if fault.kind == "delay":
                time.sleep(fault.seconds)
        refusal = None
        finish = "stop"
        if fault is not None and fault.kind == "content":
            content: str | None = fault.content
        elif fault is not None and fault.kind == "refuse":
            content, refusal = None, "I'm sorry, I cannot help with that request."
        else:
            content = json.dumps(default_answer(body), ensure_ascii=False)
            if fault is not None and fault.kind == "truncate":
                content, finish = content[: len(content) // 2], "length"
        prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages") or [])
        prompt += len(json.dumps(body.get("response_format") or {}))
        completion_tokens = _tokens(content or refusal or "")
        payload: dict[str, Any] = {
            "id": f"chatcmpl-fake-{len(fake.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                    "finish_reason": finish,
                }
            ],
        }
        if fault is None or fault.kind != "no_usage":
            payload["usage"] = {
                "prompt_tokens": -(-prompt // 4),
                "completion_tokens": completion_tokens,
                "total_tokens": -(-prompt // 4) + completion_tokens,
            }
        return 200, payload, {}
