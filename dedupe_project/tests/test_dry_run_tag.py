"""Choosing the dry-run tag: from the mirrored tags, or created in Paperless with no matching."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dedupe_project.models import Configuration
from documents.models import Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(fake_paperless):
    Configuration.objects.get_solo().apply(
        {"paperless_url": fake_paperless.url, "paperless_token": fake_paperless.token}
    )
    return fake_paperless


def test_creating_the_dry_run_tag_uses_no_auto_matching(auth_client, connected):
    response = auth_client.post(reverse("dry-run-tag"), {"name": "dedupe:dry-run"})
    assert response.status_code == 302
    created = [r for r in connected.requests_for(method="POST", path="/api/tags/")]
    assert len(created) == 1
    assert created[0].json == {"name": "dedupe:dry-run", "matching_algorithm": 0}
    config = Configuration.objects.get_solo()
    tag = Tag.objects.get(name="dedupe:dry-run")
    assert config.dry_run_tag_id == tag.paperless_id
    assert config.dry_run_tag_name == "dedupe:dry-run"


def test_an_existing_tag_of_that_name_is_reused_not_duplicated(auth_client, connected):
    first = auth_client.post(
        "/api/config/dry-run-tag", data={"name": "dupes"}, content_type="application/json"
    ).json()
    second = auth_client.post(
        "/api/config/dry-run-tag", data={"name": "dupes"}, content_type="application/json"
    ).json()
    assert first["dry_run_tag_id"] == second["dry_run_tag_id"]
    assert len(connected.requests_for(method="POST", path="/api/tags/")) == 1


def test_picking_a_mirrored_tag_in_the_api_and_refusing_an_unknown_one(auth_client):
    Tag.objects.create(paperless_id=42, name="review-later")
    ok = auth_client.patch(
        "/api/config", data={"dry_run_tag_id": 42}, content_type="application/json"
    )
    assert ok.status_code == 200 and ok.json()["dry_run_tag_name"] == "review-later"
    bad = auth_client.patch(
        "/api/config", data={"dry_run_tag_id": 999}, content_type="application/json"
    )
    assert bad.status_code == 422 and "dry_run_tag_id" in bad.json()["field_errors"]


def test_settings_page_lists_tag_names(auth_client):
    Tag.objects.create(paperless_id=7, name="Invoices")
    page = auth_client.get(reverse("settings")).content.decode()
    assert '<option value="7">Invoices</option>' in page


def test_paperless_failure_is_reported_and_nothing_changes(auth_client, connected):
    connected.fail_next(5, path="/api/tags/*")
    response = auth_client.post(reverse("dry-run-tag"), {"name": "x"}, follow=True)
    assert "could not be set up" in response.content.decode()
    assert Configuration.objects.get_solo().dry_run_tag_id is None
