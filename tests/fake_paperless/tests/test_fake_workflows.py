"""The fake's workflows send webhooks the way captures 55, 59 and 60 show (with Paperless's retries)
and its document versions answer like FACTS.md's "Document versions"."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.fake_paperless import FakePaperless

CAPTURES = Path(__file__).resolve().parents[1] / "captures"  # copies of the real server's


class Listener:
    """A webhook receiver on loopback: records every request, answers ``statuses`` in turn."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                listener.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = listener.statuses.pop(0) if listener.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"{len(self.requests)} of {count} arrived"
            time.sleep(0.01)
        return self.requests


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.server.shutdown()


@pytest.fixture
def http(fake_paperless: FakePaperless) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=fake_paperless.url,
        headers={"Authorization": f"Token {fake_paperless.token}"},
        timeout=10,
    ) as client:
        yield client


def capture_request(name: str) -> dict:
    """The JSON a capture's first curl line sent."""
    line = (CAPTURES / name).read_text().splitlines()[0]
    for candidate in (line, *(CAPTURES / name).read_text().splitlines()):
        if "-d '" in candidate:
            return json.loads(candidate.split("-d '", 1)[1].split("' http", 1)[0])
    raise AssertionError(name)


def capture_response(name: str) -> dict:
    text = (CAPTURES / name).read_text()
    return json.loads(text[text.index("\n{") : text.rindex("}") + 1])


def test_creating_a_workflow_answers_like_capture_48(http, fake_paperless):
    body = capture_request("48-workflow-create-added-json.txt")
    response = http.post("/api/workflows/", json=body)
    assert response.status_code == 201
    expected = capture_response("48-workflow-create-added-json.txt")
    got = response.json()
    assert got == expected
    assert http.get("/api/workflows/").json()["results"] == [expected]
    assert http.delete(f"/api/workflows/{got['id']}/").status_code == 204
    assert http.get(f"/api/workflows/{got['id']}/").status_code == 404


def test_a_bad_webhook_url_gets_the_400_of_capture_51(http):
    body = capture_request("51-workflow-invalid-url-400.txt")
    response = http.post("/api/workflows/", json=body)
    assert response.status_code == 400
    assert response.json() == capture_response("51-workflow-invalid-url-400.txt")
    too_long = {**body, "actions": [{"type": 4, "webhook": {"url": "http://x/" + "a" * 260}}]}
    assert http.post("/api/workflows/", json=too_long).json() == {
        "actions": [{"webhook": {"url": ["Ensure this field has no more than 256 characters."]}}]
    }
    assert http.post("/api/workflows/", json={"name": ""}).status_code == 400


def _peer_workflow(url: str, **webhook: object) -> dict:
    """The workflow of capture 59 (triggers 2 and 3, one webhook action)."""
    body = capture_request("59-workflow-webhook-added.txt")
    body["actions"][0]["webhook"].update({"url": url, **webhook})
    return body


def test_a_document_added_sends_the_request_of_capture_59(http, fake_paperless, listener):
    http.post("/api/workflows/", json=_peer_workflow(f"{listener.url}/paperless/webhook"))
    document = fake_paperless.state.add_document(
        title="scratch-webhook-test", original_file_name="scratch-webhook.txt"
    )
    (received,) = listener.wait(1)
    assert received["path"] == "/paperless/webhook"
    headers = received["headers"]
    assert headers["User-Agent"] == "python-httpx/0.28.1"
    assert headers["X-Peer-Secret"] == "change-me-shared-secret"
    assert headers["Content-Type"] == "application/json"
    body = json.loads(received["body"])
    assert list(body) == [
        "doc_id", "title", "doc_url", "original_filename", "filename", "correspondent",
        "document_type", "owner", "added", "created",
    ]  # fmt: skip
    assert body["doc_id"] == str(document.id)  # every value a string
    assert body["doc_url"] == f"{fake_paperless.url}/documents/{document.id}/"
    assert body["original_filename"] == "scratch-webhook"
    assert body["filename"] == ""  # empty on "document added"
    assert all(isinstance(value, str) for value in body.values())


def test_an_update_and_its_undo_send_the_same_request_like_capture_60(
    http, fake_paperless, listener
):
    fake_paperless.seed(documents=1, tags=3)
    http.post("/api/workflows/", json=_peer_workflow(f"{listener.url}/hook"))
    http.patch("/api/documents/1/", json={"tags": [1]})
    http.patch("/api/documents/1/", json={"tags": []})
    first, second = listener.wait(2)
    assert first["body"] == second["body"]
    assert json.loads(first["body"])["filename"] == "0000001"


def test_other_body_shapes(http, fake_paperless, listener):
    url = f"{listener.url}/h"
    shapes = [
        {"use_params": True, "as_json": False, "params": {"doc_id": "{{ doc_id }}"}},
        {"use_params": True, "include_document": True, "params": {"doc_id": "{{ doc_id }}"}},
        {"use_params": False, "as_json": True, "body": '{"doc_id": {{ doc_id }}}'},
        {
            "use_params": False,
            "as_json": False,
            "body": '{"doc_id": {{ doc_id }}}',
            "headers": {"Content-Type": "application/json"},
        },
    ]
    for shape in shapes:
        http.post("/api/workflows/", json=_peer_workflow(url, **shape))
    document = fake_paperless.state.add_document(mime_type="text/plain", content="hello")
    received = sorted(listener.wait(4), key=lambda r: r["headers"].get("Content-Type", ""))
    by_type = {r["headers"].get("Content-Type", "").split(";")[0]: r for r in received}
    assert by_type["application/x-www-form-urlencoded"]["body"] == f"doc_id={document.id}".encode()
    multipart = by_type["multipart/form-data"]["body"]
    assert b'name="doc_id"' in multipart and b'name="file"; filename="document-' in multipart
    assert b"hello" in multipart
    json_bodies = sorted(r["body"] for r in received if "json" in r["headers"]["Content-Type"])
    assert json_bodies == sorted(
        [f'"{{\\"doc_id\\": {document.id}}}"'.encode(), f'{{"doc_id": {document.id}}}'.encode()]
    )


def test_a_failing_listener_is_tried_four_times_then_given_up(http, fake_paperless, listener):
    fake_paperless.webhook_retry_base = 0.01
    listener.statuses = [500, 502, 503, 500, 200]
    http.post("/api/workflows/", json=_peer_workflow(f"{listener.url}/h"))
    fake_paperless.state.add_document()
    (delivery,) = fake_paperless.wait_for_deliveries(1)
    assert delivery.attempts == ["500", "502", "503", "500"]
    assert len(listener.requests) == 4
    assert delivery.backoff == [0.01, 0.02, 0.04]  # exponential, like Celery's retry_backoff


def test_a_retry_that_succeeds_stops_there(http, fake_paperless, listener):
    fake_paperless.webhook_retry_base = 0.01
    listener.statuses = [500]
    http.post("/api/workflows/", json=_peer_workflow(f"{listener.url}/h"))
    fake_paperless.state.add_document()
    (delivery,) = fake_paperless.wait_for_deliveries(1)
    assert delivery.attempts == ["500", "200"] and delivery.delivered


def test_a_refused_connection_is_not_retried(http, fake_paperless, listener):
    url = listener.url
    listener.server.shutdown()
    listener.server.server_close()
    http.post("/api/workflows/", json=_peer_workflow(f"{url}/h"))
    fake_paperless.state.add_document()
    (delivery,) = fake_paperless.wait_for_deliveries(1)
    assert delivery.attempts == ["refused"]


def test_internal_addresses_are_not_called_when_paperless_forbids_them(
    http, fake_paperless, listener
):
    fake_paperless.webhooks_allow_internal = False
    http.post("/api/workflows/", json=_peer_workflow(f"{listener.url}/h"))
    fake_paperless.state.add_document()
    (delivery,) = fake_paperless.wait_for_deliveries(1)
    assert delivery.attempts == ["blocked"]
    assert listener.requests == []


def test_a_disabled_workflow_sends_nothing(http, fake_paperless, listener):
    http.post("/api/workflows/", json={**_peer_workflow(f"{listener.url}/h"), "enabled": False})
    fake_paperless.state.add_document()
    time.sleep(0.1)
    assert fake_paperless.webhook_deliveries == []


# --- versions ----------------------------------------------------------------------------------


def _wait_task(http: httpx.Client, task_id: str) -> dict:
    deadline = time.monotonic() + 5
    while True:
        (task,) = http.get("/api/tasks/", params={"task_id": task_id}).json()["results"]
        if task["status"] != "started":
            return task
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_update_version_adds_a_version_row_listed_on_its_root(http, fake_paperless):
    fake_paperless.seed(documents=2)
    other = fake_paperless.state.documents[2]
    response = http.post(
        "/api/documents/1/update_version/",
        files={"document": ("scan.pdf", other.original, "application/pdf")},
        data={"version_label": "from #2"},
    )
    assert response.status_code == 200
    task = _wait_task(http, response.json())
    assert task["status"] == "success"
    version_id = task["result_data"]["document_id"]
    root = http.get("/api/documents/1/").json()
    assert root["root_document"] is None
    assert [(v["id"], v["is_root"], v["version_label"]) for v in root["versions"]] == [
        (1, True, None),
        (version_id, False, "from #2"),
    ]
    assert root["versions"][1]["checksum"] == other.checksum
    assert root["content"] == other.content  # the newest version's text
    assert http.get("/api/documents/", params={"page_size": 10}).json()["count"] == 2
    version = http.get(f"/api/documents/{version_id}/").json()
    assert version["root_document"] == 1
    assert http.get(f"/api/documents/{version_id}/root/").json() == {"root_id": 1}
    assert http.get("/api/documents/1/root/").json() == {"root_id": 1}
    original = http.get("/api/documents/1/download/", params={"version": 1, "original": "true"})
    assert original.content == fake_paperless.state.documents[1].original


def test_versions_are_deleted_but_not_the_root(http, fake_paperless):
    fake_paperless.seed(documents=1)
    task_id = http.post(
        "/api/documents/1/update_version/", files={"document": ("a.txt", b"text", "text/plain")}
    ).json()
    version_id = _wait_task(http, task_id)["result_data"]["document_id"]
    assert http.delete("/api/documents/1/versions/1/").status_code == 400
    answer = http.delete(f"/api/documents/1/versions/{version_id}/")
    assert answer.json() == {"result": "OK", "current_version_id": 1}


def test_update_version_refuses_what_paperless_refuses(http, fake_paperless):
    fake_paperless.seed(documents=1)
    missing = http.post("/api/documents/1/update_version/", data={"version_label": "x"})
    assert missing.json() == {"document": ["No file was submitted."]}
    long = http.post(
        "/api/documents/1/update_version/",
        files={"document": ("a.txt", b"x", "text/plain")},
        data={"version_label": "x" * 65},
    )
    assert long.status_code == 400
    unknown = http.post("/api/documents/99/update_version/", files={"document": ("a", b"x")})
    assert unknown.status_code == 404
    fake_paperless.fail_next_consume = "a.txt: Error occurred while consuming document a.txt"
    task_id = http.post(
        "/api/documents/1/update_version/", files={"document": ("a.txt", b"x", "text/plain")}
    ).json()
    task = _wait_task(http, task_id)
    assert task["status"] == "failure"
    assert "Error occurred" in task["result_data"]["error_message"]


def test_a_paperless_2_has_no_versions(http, fake_paperless):
    fake_paperless.seed(documents=1)
    fake_paperless.api_version = 9
    document = http.get("/api/documents/1/").json()
    assert "versions" not in document and "root_document" not in document
    answer = http.post("/api/documents/1/update_version/", files={"document": ("a", b"x")})
    assert answer.status_code == 404
