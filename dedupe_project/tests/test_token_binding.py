"""A stored Paperless token is only ever sent to the URL it was saved with: not by a connection
test with another URL, not after PATCH /api/config changes the URL (next sync, /health/ready)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from django.urls import reverse

from dedupe_project.models import Configuration
from documents.connection import connection_settings
from tests.fixtures import free_port

pytestmark = pytest.mark.django_db


class _Listener(http.server.BaseHTTPRequestHandler):
    """An attacker's host: records every Authorization header it receives."""

    seen: list[str] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization", ""))
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"detail": "Invalid token."}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[str]:
    _Listener.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def stored(fake_paperless) -> Configuration:
    config = Configuration.objects.get_solo()
    config.apply({"paperless_url": fake_paperless.url, "paperless_token": fake_paperless.token})
    return config


def _token_sent(token: str) -> bool:
    return any(token in header for header in _Listener.seen)


def test_connection_test_with_another_url_and_no_token_does_not_send_the_stored_one(
    auth_client, stored, fake_paperless, attacker
):
    for button in ("test", "save"):
        response = auth_client.post(reverse("connection"), {"url": attacker, button: "1"})
        assert response.status_code == 200
        assert b"only ever sent to" in response.content
    assert _Listener.seen == []
    assert Configuration.objects.get_solo().paperless_url == fake_paperless.url


def test_same_url_without_token_still_tests_with_the_stored_token(auth_client, stored):
    response = auth_client.post(reverse("connection"), {"url": stored.paperless_url, "test": "1"})
    assert b"Connected to Paperless-NGX" in response.content


def test_api_cannot_move_the_stored_token_to_another_url(
    auth_client, stored, fake_paperless, attacker
):
    response = auth_client.patch(
        "/api/config", data={"paperless_url": attacker}, content_type="application/json"
    )
    assert response.status_code == 422
    assert "paperless_token" in response.json()["field_errors"]
    assert Configuration.objects.get_solo().paperless_url == fake_paperless.url
    # the connection test with only a URL is refused as well
    refused = auth_client.post(
        "/api/config/connection/test",
        data={"url": attacker, "token": ""},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert _Listener.seen == []


def test_a_token_moved_by_other_means_is_withheld_from_sync_and_health(
    auth_client, stored, fake_paperless, attacker
):
    """Even if the URL column changes behind the form's back (the admin site, a restore), the
    stored token stays with the URL it was saved for: the next sync and /health/ready send
    nothing to the new host."""
    from dedupe_project.health import PaperlessReachable
    from processing import jobs
    from processing.models import Job

    Configuration.objects.update(paperless_url=attacker)
    conn = connection_settings()
    assert conn.token == "" and not conn.configured
    assert "enter the token again" in conn.token_withheld
    assert PaperlessReachable._probe() == ""  # what /health/ready asks: not configured
    sync = jobs.run_inline(kind=Job.Kind.SYNC, params={})
    assert sync.status == Job.Status.FAILED and "No Paperless connection" in sync.error
    page = auth_client.get(reverse("connection"))
    assert b'id="token-withheld"' in page.content
    assert _Listener.seen == []


def test_new_url_with_its_token_is_saved_and_bound(auth_client, stored, attacker):
    config = Configuration.objects.get_solo()
    config.apply({"paperless_url": attacker + "/", "paperless_token": "token-for-the-new-host"})
    config.refresh_from_db()
    assert config.paperless_token_url == attacker
    assert connection_settings().token == "token-for-the-new-host"


def test_environment_token_is_only_used_with_the_environment_url(settings, stored, attacker):
    settings.PAPERLESS_URL = ""
    settings.PAPERLESS_API_TOKEN = "operator-token"
    conn = connection_settings()
    assert conn.token == "" and "PAPERLESS_URL" in conn.token_withheld
    settings.PAPERLESS_URL = attacker
    assert connection_settings().token == "operator-token"
