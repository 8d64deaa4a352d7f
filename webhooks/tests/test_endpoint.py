"""The endpoint Paperless's workflows call: every body shape, the shared secret, the limits, and
never a 5xx."""

from __future__ import annotations

import json

import httpx
import pytest
from django.test import Client

from processing.models import Job
from tests.fake_paperless.state import FakeDocument
from tests.fake_paperless.workflows import build_request, placeholders
from webhooks import handling
from webhooks.models import WebhookEvent
from webhooks.tests.conftest import SECRET, post_hook

pytestmark = pytest.mark.django_db

# Capture 59, byte for byte: "use_params" + "as_json", every value a string.
CAPTURE_59 = (
    b'{"doc_id":"150","title":"scratch-webhook-test","doc_url":"http://127.0.0.1:8800/documents/'
    b'150/","original_filename":"scratch-webhook","filename":"","correspondent":"",'
    b'"document_type":"","owner":"admin","added":"2026-12-07T19:17:53.114466+00:00",'
    b'"created":"2026-12-07"}'
)
# Capture 55: a body template with a Content-Type header (values keep their types) ...
TYPED_BODY = (
    b'{"event": "document_updated", "doc_id": 150, "title": "typewriter-consume-folder", '
    b'"url": "http://127.0.0.1:8800/documents/150/"}'
)
# ... and a body template sent "as_json": the JSON arrives JSON-encoded once more.
JSON_STRING_BODY = b'"{\\"doc_id\\": 150}"'


def _headers(**extra: str) -> dict[str, str]:
    return {"X-Dedupe-Secret": SECRET, **extra}


@pytest.mark.parametrize(
    ("body", "content_type", "shape"),
    [
        (CAPTURE_59, "application/json", "json"),
        (TYPED_BODY, "application/json", "json"),
        (JSON_STRING_BODY, "application/json", "json-string"),
        (b"doc_id=150&title=scratch", "application/x-www-form-urlencoded", "form"),
        (b'{"doc_id": 150}', "", "json"),  # a body template without a Content-Type
        (b"doc_id=150", "text/plain", "raw"),
        (b"150", "", "json"),
        (b"see http://paperless.lan/documents/150/details", "text/plain", "raw"),
    ],
    ids=[
        "capture-59",
        "typed-json",
        "json-string",
        "form",
        "untyped-json",
        "raw-query",
        "bare-id",
        "doc-url",
    ],
)
def test_every_body_shape_names_the_document(client, secret, body, content_type, shape):
    response = client.generic(
        "POST",
        "/webhooks/paperless/added/",
        data=body,
        content_type=content_type,
        headers=_headers(),
    )
    assert response.status_code == 202, response.content
    event = WebhookEvent.objects.get()
    assert (event.paperless_id, event.event, event.status) == (150, "added", "pending")
    assert event.body_format == shape
    assert Job.objects.filter(kind=Job.Kind.WEBHOOK, status=Job.Status.QUEUED).count() == 1


def _workflow_request(webhook: dict) -> tuple[dict[str, str], bytes]:
    """What the fake Paperless (captures 55, 59) sends for a workflow's webhook action."""
    document = FakeDocument(id=147, title="scratch-webhook-test", text_seed=1)
    document.original_file_name = "scratch-webhook.txt"
    document.mime_type = "text/plain"
    document.content = "Scratch document used to capture workflow webhooks."

    class _Fake:
        state = type("S", (), {"correspondents": {}, "document_types": {}})()
        public_url = "http://127.0.0.1:8800"

    values = placeholders(_Fake(), document, event="added")  # type: ignore[arg-type]
    return build_request(webhook, values, document)


@pytest.mark.parametrize(
    "webhook",
    [
        {"use_params": True, "as_json": True, "params": {"doc_id": "{{ doc_id }}"}},
        {"use_params": True, "as_json": False, "params": {"doc_id": "{{ doc_id }}"}},
        {
            "use_params": True,
            "include_document": True,
            "params": {"doc_id": "{{ doc_id }}", "title": "{{ doc_title }}"},
        },
        {
            "use_params": False,
            "body": '{"doc_id": {{ doc_id }}}',
            "headers": {"Content-Type": "application/json"},
        },
        {"use_params": False, "as_json": True, "body": '{"doc_id": {{ doc_id }}}'},
        {"use_params": False, "body": "{{ doc_url }}"},
    ],
    ids=[
        "params-json",
        "params-form",
        "params-multipart-file",
        "body-json",
        "body-as-json",
        "body-raw-url",
    ],
)
def test_every_workflow_webhook_shape_is_accepted(secret, webhook):
    headers, body = _workflow_request(webhook)
    client = Client(enforce_csrf_checks=True)  # no session, no CSRF token: still accepted
    response = client.generic(
        "POST",
        "/webhooks/paperless/updated/",
        data=body,
        content_type={k.lower(): v for k, v in headers.items()}.get("content-type", ""),
        headers=_headers(),
    )
    assert response.status_code == 202, response.content
    assert WebhookEvent.objects.get().paperless_id == 147


def test_the_included_file_is_read_and_dropped(client, secret, tmp_path, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # a larger file would go to a temporary file
    request = httpx.Request(
        "POST", "http://x/", data={"doc_id": "9"}, files={"file": ("a.pdf", b"%PDF" * 10_000)}
    )
    body = request.read()
    response = client.generic(
        "POST",
        "/webhooks/paperless/added/",
        data=body,
        content_type=request.headers["content-type"],
        headers=_headers(),
    )
    assert response.status_code == 202
    assert WebhookEvent.objects.get().paperless_id == 9
    assert list(tmp_path.iterdir()) == []  # nothing of the file was kept


def test_missing_secret_is_401_and_wrong_secret_403_without_detail(client, secret):
    missing = post_hook(client, "added", {"doc_id": "1"})
    assert (missing.status_code, missing.content) == (401, b"")
    wrong = post_hook(client, "added", {"doc_id": "1"}, headers={"X-Dedupe-Secret": "guess"})
    assert (wrong.status_code, wrong.content) == (403, b"")
    almost = post_hook(client, "added", {"doc_id": "1"}, headers={"X-Dedupe-Secret": SECRET[:-1]})
    assert almost.status_code == 403
    assert not WebhookEvent.objects.exists()
    assert not Job.objects.exists()


def test_nothing_is_accepted_before_a_secret_is_set(client, settings):
    settings.WEBHOOK_SECRET = ""
    response = post_hook(client, "added", {"doc_id": "1"}, headers={"X-Dedupe-Secret": ""})
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_the_stored_secret_is_used_when_the_environment_has_none(client, settings):
    from webhooks.models import WebhookSettings

    settings.WEBHOOK_SECRET = ""
    setup = WebhookSettings.objects.get_solo()
    setup.set_secret("stored-secret-value-42")
    setup.save()
    headers = {"X-Dedupe-Secret": "stored-secret-value-42"}
    ok = post_hook(client, "added", {"doc_id": "3"}, headers=headers)
    assert ok.status_code == 202
    assert "stored-secret-value-42" not in setup.secret_encrypted


def test_repeated_wrong_secrets_are_throttled_per_address(client, secret, settings):
    settings.WEBHOOK_REFUSED_RATE_LIMIT = "3/m"
    codes = [
        post_hook(
            client, "added", {"doc_id": "1"}, headers={"X-Dedupe-Secret": f"guess-{n}"}
        ).status_code
        for n in range(5)
    ]
    assert codes == [403, 403, 403, 429, 429]
    # even the right secret waits now: guessing must not be cheap
    assert post_hook(client, "added", {"doc_id": "1"}, headers=_headers()).status_code == 429
    other = post_hook(client, "added", {"doc_id": "1"}, headers=_headers(), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 202


def test_deliveries_are_rate_limited(client, secret, settings):
    settings.WEBHOOK_RATE_LIMIT = "2/m"
    codes = [
        post_hook(client, "added", {"doc_id": str(n)}, headers=_headers()).status_code
        for n in range(1, 4)
    ]
    assert codes == [202, 202, 429]


def test_bodies_over_the_limit_are_refused(client, secret, settings):
    settings.WEBHOOK_MAX_FIELDS_BYTES = 100
    body = json.dumps({"doc_id": "1", "title": "x" * 200}).encode()
    response = client.generic(
        "POST",
        "/webhooks/paperless/added/",
        data=body,
        content_type="application/json",
        headers=_headers(),
    )
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_a_delivery_without_a_document_is_recorded_as_failed(client, secret):
    response = post_hook(client, "added", {"title": "no id here"}, headers=_headers())
    assert response.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert "doc_id" in event.detail and "title" in event.detail
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"--nope\r\nbroken", "multipart/form-data; boundary=nope"),
        (b"{" * 5000, "application/json"),
        (b"", ""),
    ],
)
def test_garbage_gets_a_4xx_never_a_5xx(client, secret, body, content_type):
    response = client.generic(
        "POST",
        "/webhooks/paperless/added/",
        data=body,
        content_type=content_type,
        headers=_headers(),
    )
    assert 400 <= response.status_code < 500


def test_an_unknown_event_or_method_is_refused(client, secret):
    assert post_hook(client, "deleted", {"doc_id": "1"}, headers=_headers()).status_code == 404
    assert client.get("/webhooks/paperless/added/").status_code == 405
    assert not WebhookEvent.objects.exists()


def test_a_failure_to_record_answers_429_so_paperless_retries(client, secret, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(handling, "record_delivery", broken)
    response = post_hook(client, "added", {"doc_id": "1"}, headers=_headers())
    assert response.status_code == 429
    assert response["Retry-After"] == "5"


def test_a_burst_queues_one_job(client, secret):
    for n in range(1, 51):
        assert post_hook(client, "added", {"doc_id": str(n)}, headers=_headers()).status_code == 202
    assert WebhookEvent.objects.count() == 50
    assert Job.objects.filter(kind=Job.Kind.WEBHOOK).count() == 1


def test_a_queued_tagging_job_does_not_hold_deliveries_back(client, secret):
    from processing import jobs

    jobs.enqueue(kind=Job.Kind.WEBHOOK, params={"notify": True})
    post_hook(client, "added", {"doc_id": "5"}, headers=_headers())
    runs = Job.objects.filter(kind=Job.Kind.WEBHOOK, status=Job.Status.QUEUED)
    assert runs.count() == 2 and runs.filter(params={}).exists()


def test_guessing_ping_numbers_is_throttled_like_secrets(client, settings):
    settings.WEBHOOK_REFUSED_RATE_LIMIT = "2/m"
    codes = [
        client.post(
            "/webhooks/paperless/ping/", data=b"guess", content_type="text/plain"
        ).status_code
        for _ in range(3)
    ]
    assert codes == [404, 404, 429]
