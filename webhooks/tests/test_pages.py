"""The set-up page (admin only) and the events page: full page and HTMX, who may use them, the
buttons' effects, and retrying failed deliveries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from processing.models import Job
from webhooks.models import WebhookEvent, WebhookSettings

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def reviewer(make_user, client):
    """A logged-in reviewer: may retry deliveries, not set up webhooks."""
    client.force_login(make_user("reviewer", role="reviewer"))
    return client


@pytest.fixture
def viewer(make_user, client):
    """A logged-in viewer: reads the deliveries, changes nothing."""
    client.force_login(make_user("viewer", role="viewer"))
    return client


def test_the_set_up_page_shows_the_workflows_state_and_checks(auth_client, paperless, settings):
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    response = auth_client.get(reverse("webhook-setup"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    assert 'id="workflow-added"' in body and "Not set up in Paperless." in body
    assert "http://127.0.0.1:8000/webhooks/paperless/added/" in body
    assert "loopback" in body  # a check of what would stop delivery
    assert "DEDUPE_PUBLIC_URL" in body


def test_the_set_up_page_renders_its_fragment_for_htmx(auth_client, paperless):
    response = auth_client.get(reverse("webhook-setup"), headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="webhook-setup">')
    assert "<html" not in body


def test_one_click_sets_up_the_workflows_from_the_page(auth_client, paperless):
    response = auth_client.post(
        reverse("webhook-setup-apply"),
        {"public_url": "http://localhost:8000", "notify_tag": "possible duplicate"},
    )
    assert response.status_code == 302
    assert len(paperless.state.workflows) == 2
    stored = WebhookSettings.objects.get_solo()
    assert stored.public_url == "http://localhost:8000"
    assert stored.notify_tag_name == "possible duplicate"
    page = auth_client.get(reverse("webhook-setup")).content.decode()
    assert page.count('class="badge succeeded">working') == 2
    assert "The two workflows are set up in Paperless" in page


def test_set_up_errors_are_shown_and_nothing_is_made(auth_client, paperless):
    response = auth_client.post(
        reverse("webhook-setup-apply"), {"public_url": "ftp://x"}, headers=HTMX, follow=False
    )
    assert response.status_code == 200
    assert "must start with http:// or https://" in response.content.decode()
    assert paperless.state.workflows == {}


def test_remove_and_new_secret_buttons(auth_client, paperless):
    auth_client.post(reverse("webhook-setup-apply"), {"public_url": "http://localhost:8000"})
    old = WebhookSettings.objects.get_solo().secret()
    auth_client.post(reverse("webhook-setup-secret"))
    new = WebhookSettings.objects.get_solo().secret()
    assert new != old
    headers = {
        w["actions"][0]["webhook"]["headers"]["X-Dedupe-Secret"]
        for w in paperless.state.workflows.values()
    }
    assert headers == {new}
    auth_client.post(reverse("webhook-setup-remove"))
    assert paperless.state.workflows == {}


def test_the_test_button_touches_one_document_and_the_page_waits(auth_client, paperless):
    paperless.seed(documents=2)
    auth_client.post(reverse("webhook-setup-apply"), {"public_url": "http://localhost:8000"})
    response = auth_client.post(reverse("webhook-setup-test"), follow=True)
    assert "waiting for its" in response.content.decode()
    status = auth_client.get(reverse("webhook-setup-test-status"), headers=HTMX)
    assert 'hx-trigger="load delay:1s"' in status.content.decode()  # it polls itself


def test_the_set_up_is_for_admins_only(reviewer, paperless):
    for name in ("webhook-setup", "webhook-setup-test-status"):
        assert reviewer.get(reverse(name)).status_code == 403
    for name in ("webhook-setup-apply", "webhook-setup-remove", "webhook-setup-test"):
        assert reviewer.post(reverse(name)).status_code == 403
    assert paperless.state.workflows == {}


def test_pages_need_a_login_but_the_endpoint_does_not(client, settings):
    for name in ("webhook-setup", "webhook-events"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    settings.WEBHOOK_SECRET = "x" * 40
    endpoint = reverse("webhook-receive", kwargs={"event": "added"})
    assert client.post(endpoint, {"doc_id": "1"}).status_code == 401  # not a login redirect


def _events() -> None:
    WebhookEvent.objects.create(event="added", paperless_id=10, status="done", title="Invoice")
    WebhookEvent.objects.create(
        event="updated", paperless_id=11, status="failed", detail="Paperless did not answer"
    )
    WebhookEvent.objects.create(event="added", paperless_id=12, status="done", duplicate_group_id=5)


def test_the_events_page_lists_and_filters_deliveries(auth_client):
    _events()
    page = auth_client.get(reverse("webhook-events")).content.decode()
    assert "3 deliveries" in page and "Paperless did not answer" in page
    failed = auth_client.get(reverse("webhook-events"), {"status": "failed"}).content.decode()
    assert "1 delivery" in failed and "#11" in failed and "#10" not in failed
    dupes = auth_client.get(reverse("webhook-events"), {"duplicates": "1"}).content.decode()
    assert "#12" in dupes and "#10" not in dupes and "group 5" in dupes
    by_document = auth_client.get(reverse("webhook-events"), {"document": "10"}).content.decode()
    assert "1 delivery" in by_document


def test_the_events_page_renders_its_fragment_for_htmx(auth_client):
    _events()
    response = auth_client.get(reverse("webhook-events"), {"event": "updated"}, headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="events">')
    assert "1 delivery" in body and "<html" not in body


def test_a_failed_delivery_is_retried_from_the_events_page(auth_client):
    _events()
    failed = WebhookEvent.objects.get(status="failed")
    response = auth_client.post(
        reverse("webhook-event-retry", args=[failed.pk]), {"query": "status=failed"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?status=failed")
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert Job.objects.filter(kind=Job.Kind.WEBHOOK, status=Job.Status.QUEUED).exists()
    done = WebhookEvent.objects.filter(status="done").first()
    assert auth_client.post(reverse("webhook-event-retry", args=[done.pk])).status_code == 404


def test_retry_every_failed_delivery(auth_client):
    _events()
    WebhookEvent.objects.create(event="added", paperless_id=13, status="failed")
    auth_client.post(reverse("webhook-events-retry-failed"))
    assert not WebhookEvent.objects.filter(status="failed").exists()


def test_viewers_read_the_events_page_but_cannot_retry(viewer):
    _events()
    page = viewer.get(reverse("webhook-events")).content.decode()
    assert "Paperless did not answer" in page and "Retry" not in page and "Set-up" not in page
    failed = WebhookEvent.objects.get(status="failed")
    assert viewer.post(reverse("webhook-event-retry", args=[failed.pk])).status_code == 403
    assert viewer.post(f"/api/webhooks/events/{failed.pk}/retry").status_code == 403


def test_reviewers_retry_but_do_not_set_up(reviewer):
    _events()
    failed = WebhookEvent.objects.get(status="failed")
    assert "Retry" in reviewer.get(reverse("webhook-events")).content.decode()
    assert reviewer.post(reverse("webhook-event-retry", args=[failed.pk])).status_code == 302
    assert reviewer.get(reverse("webhook-setup")).status_code == 403


def test_the_dashboard_counts_duplicates_caught_on_arrival(auth_client):
    _events()
    page = auth_client.get(reverse("dashboard")).content.decode()
    assert 'id="webhook-stats"' in page
    assert "1</a> this week, 1 in all" in page


# --- the API --------------------------------------------------------------------------------


def test_the_api_lists_and_filters_events(auth_client):
    _events()
    body = auth_client.get("/api/webhooks/events", {"status": "failed"}).json()
    assert body["count"] == 1 and body["items"][0]["paperless_id"] == 11
    assert auth_client.get("/api/webhooks/events", {"duplicates": True}).json()["count"] == 1
    bad = auth_client.get("/api/webhooks/events", {"status": "nope"})
    assert bad.status_code == 422 and "status" in bad.json()["field_errors"]


def test_the_api_retries_and_refuses_what_cannot_be_retried(auth_client):
    _events()
    failed = WebhookEvent.objects.get(status="failed")
    answer = auth_client.post(f"/api/webhooks/events/{failed.pk}/retry")
    assert answer.status_code == 200 and answer.json()["status"] == "pending"
    again = auth_client.post(f"/api/webhooks/events/{failed.pk}/retry")
    assert again.status_code == 409 and again.json()["code"] == "not_failed"


def test_the_api_sets_up_tests_and_removes(auth_client, paperless):
    paperless.seed(documents=1)
    state = auth_client.get("/api/webhooks/setup").json()
    assert [w["ok"] for w in state["workflows"]] == [False, False]
    made = auth_client.post(
        "/api/webhooks/setup",
        {"public_url": "http://localhost:8000", "notify_tag": "possible duplicate"},
        content_type="application/json",
    )
    assert made.status_code == 200, made.content
    assert [w["ok"] for w in made.json()["workflows"]] == [True, True]
    assert made.json()["secret_set"] and "secret" not in made.json()  # only a hint
    test = auth_client.post("/api/webhooks/setup/test")
    assert test.status_code == 202 and test.json()["state"] in ("waiting", "received")
    refused = auth_client.post(
        "/api/webhooks/setup", {"public_url": "ftp://x"}, content_type="application/json"
    )
    assert refused.status_code == 422 and refused.json()["code"] == "setup_failed"
    removed = auth_client.delete("/api/webhooks/setup")
    assert removed.status_code == 200 and paperless.state.workflows == {}


def test_the_api_set_up_is_for_admins(reviewer):
    assert reviewer.get("/api/webhooks/setup").status_code == 403
    assert reviewer.post("/api/webhooks/setup/test").status_code == 403
    assert reviewer.get("/api/webhooks/events").status_code == 200


def test_the_settings_explain_that_deletions_need_the_sync(auth_client):
    page = auth_client.get(reverse("settings")).content.decode()
    assert 'id="sync-and-webhooks"' in page and "Deleting one" in page
