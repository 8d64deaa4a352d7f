"""/health/ready: a status for anyone, the details for a logged-in account or the metrics
token, and Paperless asked at most once every few seconds."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from dedupe_project.health import PAPERLESS_CACHE_KEY

# the checks run in other threads, which must see committed data
pytestmark = pytest.mark.django_db(transaction=True)

UNREACHABLE = "http://127.0.0.1:9/paperless"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.delete(PAPERLESS_CACHE_KEY)
    yield
    cache.delete(PAPERLESS_CACHE_KEY)


def test_anonymous_caller_gets_only_the_status(client, settings):
    settings.PAPERLESS_URL, settings.PAPERLESS_API_TOKEN = UNREACHABLE, "secret-token-value"
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    body = response.content.decode()
    assert "127.0.0.1:9" not in body and "paperless" not in body.lower()


def test_logged_in_account_and_metrics_token_get_the_details(client, settings, viewer_user):
    settings.PAPERLESS_URL, settings.PAPERLESS_API_TOKEN = UNREACHABLE, "secret-token-value"
    settings.METRICS_TOKEN = "metrics-secret-value"
    with_token = client.get("/health/ready", HTTP_AUTHORIZATION="Bearer metrics-secret-value")
    assert with_token.status_code == 503
    checks = with_token.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["paperless"] != "ok"
    wrong = client.get("/health/ready", HTTP_AUTHORIZATION="Bearer nope")
    assert "checks" not in wrong.json()
    client.force_login(viewer_user)
    assert client.get("/health/ready").json()["checks"]["paperless"] == checks["paperless"]


def test_paperless_is_asked_once_for_many_health_checks(client, paperless):
    answers = [client.get("/health/ready") for _ in range(20)]
    assert {answer.status_code for answer in answers} == {200}
    asked = paperless.requests_for(method="GET", path="/api/documents/")
    assert len(asked) == 1, [r.path for r in paperless.requests]


def test_served_app_answers_ready_with_every_check_ok(live_app):
    """Through daphne, as a container check sees it (the async checks run on the loop)."""
    import httpx

    anonymous = httpx.get(live_app.url + "/health/ready")
    assert anonymous.status_code == 200, (anonymous.text, live_app.output())
    assert anonymous.json() == {"status": "ok"}
