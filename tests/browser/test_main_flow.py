"""The flow people use most, in a real browser against the real app and the fake Paperless:
log in, sync, analyse, filter, open a group, change the primary, dry-run the deletion, see the
tag in Paperless, undo it."""

from __future__ import annotations

import re
import time

import pytest

from dedupe_project.models import Configuration
from tests.browser.conftest import log_in
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _wait_for_groups(page, url: str, *, timeout: float = 90) -> None:
    """Reload the groups page until the analysis queued after the sync has produced groups."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(url)
        if page.locator("input[name=pk]").count():
            return
        time.sleep(2)
    raise AssertionError("no duplicate groups appeared")


def test_sync_analyse_review_dry_run_and_undo(page, live_app, admin_user, fake_paperless):
    seeded = fake_paperless.seed(documents=40, duplicate_ratio=0.3)
    assert seeded.duplicate_pairs
    Configuration.objects.get_solo().apply(
        {
            "paperless_url": fake_paperless.url,
            "paperless_token": fake_paperless.token,
            "sync_interval_minutes": 0,
            "dry_run": True,
        }
    )
    log_in(page, live_app, password=PASSWORD)

    # Sync from the dashboard; the analysis is queued by the sync when it changed documents.
    page.click("button:has-text('Sync now')")
    _wait_for_groups(page, live_app.url + "/duplicates/")

    # Filter: only confident groups. The filter lives in the URL.
    page.fill("input[name=confidence_min]", "0.5")
    page.locator("#group-filters button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"confidence_min=0\.5"))
    assert page.locator("input[name=pk]").count() >= 1

    # Open the first group and make another member the primary.
    first_group = page.locator("input[name=pk]").first.get_attribute("value")
    page.goto(f"{live_app.url}/duplicates/{first_group}/?confidence_min=0.5")
    with page.expect_response(re.compile(r"/primary/")) as answer:
        page.locator("button:has-text('Make primary')").first.click()
    assert answer.value.ok
    from duplicates.models import DuplicateGroup

    group = DuplicateGroup.objects.get(pk=first_group)
    assert group.primary_chosen
    kept = group.primary.paperless_id
    others = [
        m.document.paperless_id
        for m in group.members.select_related("document").filter(removed=False)
        if m.document.paperless_id != kept
    ]
    assert others

    # Back on the list, with the filter still applied: dry-run the deletion of this group.
    page.goto(f"{live_app.url}/duplicates/?confidence_min=0.5")
    page.check(f"input[name=pk][value='{first_group}']")
    page.click("button[value=delete_duplicates]")
    page.locator("button[name=mode][value=dry_run]").first.click()
    page.locator("text=Undo this dry run").wait_for(timeout=60_000)

    # In Paperless: the non-primary documents carry the dry-run tag; nothing was deleted.
    config = Configuration.objects.get_solo()
    assert config.dry_run_tag_id is not None
    for paperless_id in others:
        assert config.dry_run_tag_id in fake_paperless.state.get_document(paperless_id).tags
    assert config.dry_run_tag_id not in fake_paperless.state.get_document(kept).tags
    assert not fake_paperless.requests_for(method="DELETE", path="/api/documents/*")
    assert not fake_paperless.requests_for(method="POST", path="/api/documents/delete/")

    # Undo: the tag goes away again.
    page.click("text=Undo this dry run")
    page.locator("button[name=mode]").first.click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(
            config.dry_run_tag_id not in fake_paperless.state.get_document(pid).tags
            for pid in others
        ):
            break
        time.sleep(1)
    for paperless_id in others:
        assert config.dry_run_tag_id not in fake_paperless.state.get_document(paperless_id).tags
    assert fake_paperless.state.get_document(kept) is not None
