"""The audit page and ``/api/audit``: every change we made in Paperless, filterable, paginated."""

from __future__ import annotations

import pytest
from django.urls import reverse

from duplicates.actions import create_plan
from duplicates.models import AuditEntry, Plan
from duplicates.tests.test_actions import library, real_mode, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(paperless, admin_user):
    """A real deletion of two documents and a dry run tagging one."""
    real_mode()
    deleted, dry = library(paperless, groups=2, size=3), None
    run(
        create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[deleted[0]["group"].pk]),
        user=admin_user,
    )
    dry = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[deleted[1]["group"].pk])
    run(dry, user=admin_user, dry_run=True)
    return {"deleted": deleted[0]["fakes"][1:], "tagged": deleted[1]["fakes"][1:]}


def test_audit_page_lists_every_change(history, auth_client):
    html = auth_client.get(reverse("audit")).content.decode()
    assert "<html" in html and "4 entries" in html
    for fake in history["deleted"] + history["tagged"]:
        assert f"#{fake.id} {fake.title}" in html
    assert html.count("Moved to the Paperless trash") >= 2
    assert "Dry run: tagged instead of deleted" in html


def test_audit_page_filters_and_htmx(history, auth_client):
    url = reverse("audit")
    only_deleted = auth_client.get(url, {"action": "deleted"}, HTTP_HX_REQUEST="true")
    html = only_deleted.content.decode()
    assert html.lstrip().startswith('<div id="audit"') and "<html" not in html
    assert "2 entries" in html
    assert history["tagged"][0].title not in html
    one = auth_client.get(url, {"q": history["deleted"][0].title}).content.decode()
    assert "1 entry" in one
    by_checksum = auth_client.get(url, {"q": history["deleted"][1].checksum}).content.decode()
    assert "1 entry" in by_checksum and history["deleted"][1].title in by_checksum
    dry = auth_client.get(url, {"dry_run": "1"}).content.decode()
    assert "2 entries" in dry and history["deleted"][0].title not in dry
    nobody = auth_client.get(url, {"user": "someone-else"}).content.decode()
    assert "0 entries" in nobody


def test_audit_page_is_paginated(history, auth_client, monkeypatch):
    from duplicates import action_views

    monkeypatch.setattr(action_views, "AUDIT_PAGE_SIZE", 3)
    first = auth_client.get(reverse("audit")).content.decode()
    assert "Page 1 of 2" in first and "?page=2" in first
    second = auth_client.get(reverse("audit"), {"page": 2}).content.decode()
    assert "Page 2 of 2" in second


def test_audit_api(history, auth_client):
    body = auth_client.get("/api/audit").json()
    assert body["count"] == 4
    entry = body["items"][-1]  # oldest last
    assert entry["action"] == "deleted" and entry["username"] == "admin"
    assert entry["original_checksum"] == history["deleted"][0].checksum
    assert entry["group_id"] and entry["plan_id"] and entry["kept_paperless_id"]
    dry = auth_client.get("/api/audit", {"dry_run": "true"}).json()
    assert {i["paperless_id"] for i in dry["items"]} == {f.id for f in history["tagged"]}
    bad = auth_client.get("/api/audit", {"action": "nope"})
    assert bad.status_code == 422 and "action" in bad.json()["field_errors"]
    paged = auth_client.get("/api/audit", {"limit": 1, "offset": 1}).json()
    assert paged["count"] == 4 and len(paged["items"]) == 1
    assert AuditEntry.objects.count() == 4
