"""The webhook set-up in a real browser: one click makes the workflows in the fake Paperless, the
test delivery comes back through it ("received"), and a document added there shows up as a
duplicate with nobody syncing."""

from __future__ import annotations

import re
import time

import pytest

from dedupe_project.models import Configuration
from documents.models import Document
from processing.models import Job
from tests.browser.conftest import log_in
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_one_click_set_up_test_delivery_and_a_new_duplicate(
    page, live_app, admin_user, fake_paperless, tmp_path
):
    fake_paperless.seed(documents=20, duplicate_ratio=0.0)
    Configuration.objects.get_solo().apply(
        {
            "paperless_url": fake_paperless.url,
            "paperless_token": fake_paperless.token,
            "sync_interval_minutes": 0,
        }
    )
    log_in(page, live_app, password=PASSWORD)
    page.click("button:has-text('Sync now')")
    deadline = time.monotonic() + 60
    while Document.objects.count() < 20 or Job.objects.active().exists():
        assert time.monotonic() < deadline, "the sync and its analysis did not finish"
        time.sleep(0.5)

    page.goto(live_app.url + "/")
    page.click("nav >> text=Webhooks")
    page.wait_for_url(re.compile(r"/webhooks/$"))
    assert page.locator("#workflow-added").inner_text().count("not set up")
    page.fill("input[name=public_url]", live_app.url)
    page.fill("input[name=notify_tag]", "possible duplicate")
    page.click("button:has-text('Set up the workflows')")
    page.locator("#workflow-added .badge.succeeded").wait_for()
    assert page.locator("#workflow-updated .badge.succeeded").inner_text() == "working"
    assert len(fake_paperless.state.workflows) == 2

    page.click("button:has-text('Send a test delivery')")
    page.locator("#webhook-test .message.success").wait_for(timeout=20_000)
    assert "Test delivery received" in page.locator("#webhook-test").inner_text()
    page.screenshot(path=str(tmp_path / "webhook-setup.png"), full_page=True)

    original = fake_paperless.state.documents[5]
    copy = fake_paperless.state.add_document(
        title="The same letter again", blob_key=original.blob_key, image_seed=original.image_seed
    )
    deadline = time.monotonic() + 10
    while True:
        page.goto(live_app.url + "/duplicates/")
        if page.locator(f"text=#{copy.id} ").count():
            break
        assert time.monotonic() < deadline, "the new duplicate did not show"
        time.sleep(0.5)
    page.goto(live_app.url + "/webhooks/events/?duplicates=1")
    assert f"#{copy.id}" in page.locator("#events").inner_text()
    tag = next(t for t in fake_paperless.state.tags.values() if t["name"] == "possible duplicate")
    deadline = time.monotonic() + 10
    while tag["id"] not in fake_paperless.state.documents[copy.id].tags:
        assert time.monotonic() < deadline, "the new duplicate was not tagged in Paperless"
        time.sleep(0.2)
