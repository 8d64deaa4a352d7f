"""The real app in a subprocess: a job started through the broker runs on a real worker and its
progress arrives over a real WebSocket; sockets refuse strangers."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.conf import settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

pytestmark = pytest.mark.django_db(transaction=True)


def _ws_url(app) -> str:
    return app.url.replace("http://", "ws://") + "/ws/jobs/"


def _cookie_header(client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def test_job_started_through_broker_reports_progress_over_websocket(live_app, admin_user):
    client = live_app.login()
    with connect(
        _ws_url(live_app),
        additional_headers={"Cookie": _cookie_header(client), "Origin": live_app.url},
        open_timeout=10,
    ) as socket:
        response = client.post(
            "/api/jobs/diagnostics", headers={"X-CSRFToken": client.cookies["csrftoken"]}
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        fragments: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            message = socket.recv(timeout=max(0.1, deadline - time.monotonic()))
            if f'id="job-{job_id}-progress"' not in message:
                continue
            fragments.append(message)
            if re.search(r'class="badge (succeeded|failed)"', message):
                break
    assert fragments, live_app.output()
    assert "succeeded" in fragments[-1], fragments[-1]
    # Progress arrived step by step, not only as the final state.
    assert any("Checked" in f and "running" in f for f in fragments), fragments
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "succeeded"
    assert job["progress_done"] == job["progress_total"] >= 3
    assert all(value == "ok" for value in job["result"]["checks"].values()), job["result"]


IDLE_SECONDS = 30


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis channel layer needs REDIS_URL")
def test_an_idle_socket_stays_open_on_redis_and_then_receives_an_update(live_app, admin_user):
    """With redis-py 8 the channel layer's 5 s blocking pop used to lose the race against the
    client's 5 s read timeout: every idle socket was closed with 1011 after ~5 s and the web log
    filled with TimeoutError tracebacks."""
    client = live_app.login()
    with connect(
        _ws_url(live_app),
        additional_headers={"Cookie": _cookie_header(client), "Origin": live_app.url},
        open_timeout=10,
    ) as socket:
        with pytest.raises(TimeoutError):  # nothing arrives, and the socket is not closed
            socket.recv(timeout=IDLE_SECONDS)
        response = client.post(
            "/api/jobs/diagnostics", headers={"X-CSRFToken": client.cookies["csrftoken"]}
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        message = socket.recv(timeout=30)
    assert f'id="job-{job_id}-progress"' in message
    assert "TimeoutError" not in live_app.output()


def test_websocket_refuses_anonymous_users(live_app):
    # The consumer closes before accepting, so the handshake itself is refused.
    with pytest.raises(InvalidStatus) as refused:
        connect(_ws_url(live_app), additional_headers={"Origin": live_app.url})
    assert refused.value.response.status_code == 403


def test_websocket_refuses_foreign_origin(live_app, admin_user):
    client = live_app.login()
    with pytest.raises(InvalidStatus) as refused:
        connect(
            _ws_url(live_app),
            additional_headers={
                "Cookie": _cookie_header(client),
                "Origin": "http://evil.example.com",
            },
        )
    assert refused.value.response.status_code == 403


def test_api_token_works_against_the_running_app(live_app, admin_user):
    from dedupe_project.models import ApiToken

    _, raw = ApiToken.issue(user=admin_user, name="live")
    import httpx

    ok = httpx.get(live_app.url + "/api/config", headers={"Authorization": f"Bearer {raw}"})
    assert ok.status_code == 200 and "groups_per_page" in ok.json()
    anonymous = httpx.get(live_app.url + "/api/config")
    assert anonymous.status_code == 401
    assert json.loads(anonymous.text)["code"] == "unauthenticated"
