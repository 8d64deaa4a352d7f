"""Pages people reported as broken, in a real browser: /api/docs renders offline under the strict
CSP, settings answer in place with and without JavaScript, a finished job page reads as finished,
and at a phone's 390 px no page scrolls sideways. No console errors on any of them."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_api_docs_render_from_our_own_static_files(page, live_app, admin_user):
    errors = console_errors(page)
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith(live_app.url) and not request.url.startswith("data:")
            else None
        ),
    )
    log_in(page, live_app, password=PASSWORD)
    page.goto(live_app.url + "/api/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Paperless" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 10
    assert not outside, outside
    assert not errors, errors


def test_settings_confirm_a_save_and_show_field_errors_in_place(page, live_app, admin_user):
    errors = console_errors(page)
    log_in(page, live_app, password=PASSWORD)
    page.goto(live_app.url + "/settings/")
    page.fill("#id_groups_per_page", "7")
    page.click("#settings-form button[type=submit]")
    page.locator("#settings-messages .message.error").wait_for()
    field = page.locator("#id_groups_per_page").locator("xpath=..")
    assert "greater than or equal to 10" in field.inner_text()
    page.fill("#id_groups_per_page", "60")
    page.click("#settings-form button[type=submit]")
    page.locator("#settings-messages .message.success").wait_for()
    assert "Settings saved." in page.locator("#settings-messages").inner_text()
    assert page.locator("#id_groups_per_page").input_value() == "60"
    assert not errors, errors


def test_settings_without_javascript(browser, live_app, admin_user):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_app, password=PASSWORD)
        page.goto(live_app.url + "/settings/")
        page.fill("#id_groups_per_page", "7")
        page.click("#settings-form button[type=submit]")
        page.wait_for_load_state()
        assert "Nothing was saved" in page.content()
        assert "greater than or equal to 10" in page.content()
        page.fill("#id_groups_per_page", "60")
        page.click("#settings-form button[type=submit]")
        page.wait_for_load_state()
        assert "Settings saved." in page.locator("#messages").inner_text()
    finally:
        context.close()


def test_a_job_page_turns_into_its_summary_when_the_job_finishes(page, live_app, admin_user):
    from django.utils import timezone

    from duplicates.tests.groupfactory import make_group
    from processing.models import Job

    errors = console_errors(page)
    for _ in range(2):
        make_group()
    job = Job.objects.create(
        kind=Job.Kind.ANALYSIS, status=Job.Status.RUNNING, started_at=timezone.now()
    )
    log_in(page, live_app, password=PASSWORD)
    page.goto(f"{live_app.url}/jobs/{job.pk}/")
    assert page.locator(f"#job-{job.pk}-card button:has-text('Cancel')").count() == 1
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCEEDED,
        finished_at=timezone.now(),
        result={"mode": "full", "documents": 4, "compared": 4},
    )
    summary = page.locator("#job-summary strong")
    summary.wait_for(timeout=15_000)
    assert summary.inner_text() == "4 documents analysed; 2 groups of duplicates wait for review."
    assert page.locator(f"#job-{job.pk}-card button:has-text('Cancel')").count() == 0
    assert "Finished" in page.locator(f"#job-{job.pk}-card .facts").inner_text()
    page.click("text=Review them")
    page.wait_for_selector("#review[data-ready='1']")
    assert not errors, errors


def test_sync_now_without_a_connection_points_to_the_connection_page(page, live_app, admin_user):
    errors = console_errors(page)
    log_in(page, live_app, password=PASSWORD)
    page.click("button:has-text('Sync now')")
    message = page.locator("#messages .message.error")
    message.wait_for()
    assert "no Paperless connection is set up yet" in message.inner_text()
    message.locator("a:has-text('Connection')").click()
    page.wait_for_url("**/settings/connection/")
    assert not errors, errors
