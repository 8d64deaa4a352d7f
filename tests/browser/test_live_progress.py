"""A person starts a job and watches it progress without reloading: over the WebSocket, and by
polling when the socket is down."""

from __future__ import annotations

import pytest

from dedupe_project.models import Configuration
from tests.browser.conftest import log_in
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _slow_paperless(fake_paperless, seconds: float) -> None:
    """Point the app at the fake, which answers the diagnostics' Paperless check slowly, so the
    job is still running when its page opens."""
    config = Configuration.objects.get_solo()
    config.apply(
        {
            "paperless_url": fake_paperless.url,
            "paperless_token": fake_paperless.token,
            "sync_interval_minutes": 0,  # no scheduled sync competing for the slow answers
        }
    )
    fake_paperless.delay_next(2, seconds=seconds, path="/api/*")


def _start_diagnostics(page, app) -> None:
    page.goto(app.url + "/jobs/")
    page.click("text=Run diagnostics")
    page.wait_for_url("**/jobs/*/")
    # Mark this page load: a reload would lose the marker.
    page.evaluate("window.__samePage = true")


def test_job_progress_updates_live_over_websocket(page, live_app, admin_user, fake_paperless):
    _slow_paperless(fake_paperless, seconds=2.5)
    log_in(page, live_app, password=PASSWORD)
    _start_diagnostics(page, live_app)
    badge = page.locator(".job-progress .badge").first
    assert badge.inner_text() in ("Queued", "Running")
    page.locator(".job-progress .badge.succeeded").wait_for(timeout=30_000)
    assert page.evaluate("window.__samePage") is True
    assert page.evaluate("document.body.dataset.socket") == "open"
    assert "Checked PaperlessReachable: ok" in page.locator(".job-progress").inner_text()


def test_job_progress_falls_back_to_polling_without_websocket(
    page, live_app, admin_user, fake_paperless
):
    page.route_web_socket("**/ws/jobs/", lambda ws: ws.close())
    _slow_paperless(fake_paperless, seconds=2.5)
    log_in(page, live_app, password=PASSWORD)
    _start_diagnostics(page, live_app)
    page.locator(".job-progress .badge.succeeded").wait_for(timeout=30_000)
    assert page.evaluate("window.__samePage") is True
    assert page.evaluate("document.body.dataset.socket") != "open"
