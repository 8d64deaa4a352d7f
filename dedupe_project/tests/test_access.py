"""Who can reach what: login everywhere except health, metrics and the API's own auth."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from dedupe_project.api import api
from dedupe_project.models import ApiToken

pytestmark = pytest.mark.django_db

PAGES = [
    "dashboard",
    "settings",
    "connection",
    "api-tokens",
    "history",
    "admin:index",
]


@pytest.mark.parametrize("name", PAGES)
def test_page_redirects_anonymous_visitor_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert (
        response["Location"].startswith(reverse("login")) or "/admin/login/" in response["Location"]
    )


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_for_logged_in_user(auth_client, name):
    assert auth_client.get(reverse(name)).status_code == 200


def test_post_only_views_require_login(client):
    for url in (reverse("start-diagnostics"), reverse("settings-reset")):
        response = client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def _api_operations():
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method in methods:
            yield method.upper(), re.sub(r"\{[^}]+\}", "1", path)


def test_every_api_operation_requires_authentication(client):
    operations = list(_api_operations())
    assert len(operations) >= 8
    for method, path in operations:
        response = client.generic(method, path, data="{}", content_type="application/json")
        assert response.status_code == 401, (method, path, response.status_code)
        body = response.json()
        assert body["code"] == "unauthenticated"
        assert set(body) == {"code", "detail", "field_errors"}


def test_api_accepts_a_user_token_and_rejects_a_revoked_one(client, admin_user):
    token, raw = ApiToken.issue(user=admin_user, name="script")
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/config", headers=headers).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert raw not in token.digest
    token.delete()
    assert client.get("/api/config", headers=headers).status_code == 401


def test_api_session_writes_need_csrf(admin_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    response = strict.patch(
        "/api/config", data={"groups_per_page": 20}, content_type="application/json"
    )
    assert response.status_code in (401, 403)


@pytest.mark.django_db(transaction=True)
def test_health_endpoints_answer_without_login(client):
    # transaction=True: the checks run in other threads, which must see committed data and not
    # wait on the test's open SQLite write transaction.
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready", HTTP_ACCEPT="application/json")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


def test_metrics_need_token_or_allowed_address(client, settings):
    settings.METRICS_TOKEN = "metrics-secret-value"
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    wrong = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    ok = client.get(
        "/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer metrics-secret-value"
    )
    assert ok.status_code == 200
    assert b"django_http_requests" in ok.content


def test_metrics_include_our_own_figures_from_the_database(client, settings):
    from documents.models import Document
    from processing.models import Job

    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    Job.objects.create(kind="sync", status=Job.Status.SUCCEEDED)
    Job.objects.create(kind="sync", status=Job.Status.FAILED, error="x")
    Document.objects.create(paperless_id=1, title="a", sync_error="thumbnail undecodable")
    body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'dedupe_jobs{kind="sync",status="failed"} 1.0' in body
    assert 'dedupe_jobs{kind="sync",status="succeeded"} 1.0' in body
    assert "dedupe_documents 1.0" in body
    assert "dedupe_documents_with_sync_errors 1.0" in body


def test_first_run_creates_admin_then_disappears(client, django_user_model):
    assert b"create the first one" in client.get(reverse("login")).content
    response = client.post(
        reverse("first-run"),
        {
            "username": "owner",
            "email": "",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    user = django_user_model.objects.get(username="owner")
    assert user.is_superuser and user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    client.logout()
    assert client.get(reverse("first-run")).status_code == 404
    assert b"create the first one" not in client.get(reverse("login")).content


def test_pages_send_security_headers(auth_client):
    response = auth_client.get(reverse("dashboard"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
