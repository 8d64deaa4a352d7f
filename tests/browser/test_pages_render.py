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
    # the answer is held back a moment: meanwhile the button is busy and cannot be clicked again
    release = []

    def hold(route):
        release.append(route)

    page.route(
        "**/settings/",
        lambda route: hold(route) if route.request.method == "POST" else route.continue_(),
    )
    page.click("#settings-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#settings-form button[type=submit]').disabled"
    )
    assert page.locator("#settings-form button[type=submit][aria-busy=true]").count() == 1
    while not release:
        page.wait_for_timeout(50)
    release[0].continue_()
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


PHONE_PAGES = [
    "/",
    "/duplicates/",
    "/duplicates/{group}/",
    "/duplicates/review/{group}/",
    "/duplicates/plans/",
    "/duplicates/plans/{plan}/",
    "/duplicates/audit/",
    "/documents/",
    "/documents/{document}/",
    "/jobs/",
    "/jobs/{job}/",
    "/ai/",
    "/ai/review/",
    "/ai/settings/",
    "/settings/",
    "/settings/connection/",
    "/settings/api-tokens/",
    "/webhooks/",
    "/api/docs",
]


def test_at_390_px_no_page_scrolls_sideways_and_the_navigation_wraps(
    browser, live_app, admin_user, fake_paperless
):
    from django.utils import timezone

    from duplicates.actions import create_plan
    from duplicates.models import Plan
    from processing.models import Job
    from tests.browser.test_review_mode import make_library

    (group,) = make_library(fake_paperless, groups=1)
    type(group.primary).objects.filter(pk=group.primary_id).update(
        title="A rather long title that goes on " * 4
    )
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, user=admin_user, group_ids=[group.pk])
    job = Job.objects.create(
        kind=Job.Kind.SYNC,
        status=Job.Status.SUCCEEDED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        result={"created": 1, "unchanged": 2},
    )
    ids = {
        "group": group.pk,
        "plan": plan.pk,
        "document": group.primary.paperless_id,
        "job": job.pk,
    }
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = console_errors(page)
    try:
        log_in(page, live_app, password=PASSWORD)
        wide = {}
        for path in PHONE_PAGES:
            page.goto(live_app.url + path.format(**ids))
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                culprits = page.evaluate(
                    """() => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > 391)
                        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)"""
                )
                wide[path] = (width, culprits)
            if path == "/":
                nav = page.locator(".topbar nav")
                assert nav.bounding_box()["width"] <= 390
                page.screenshot(path="/work/wt-11-shots/phone-dashboard.png", full_page=True)
            if path.startswith("/duplicates/review/"):
                page.screenshot(path="/work/wt-11-shots/phone-review.png", full_page=True)
        assert not wide, "\n".join(f"{k}: {v}" for k, v in wide.items())
        assert not errors, errors
    finally:
        context.close()


CONTRAST_SCRIPT = """() => {
  const rgb = (text) => text.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el.parentElement; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && !c.endsWith(", 0)") && c !== "transparent") { return rgb(c); }
    }
    return [255, 255, 255];
  };
  const worst = [];
  const controls = "main input:not([type=checkbox]):not([type=radio]):not([type=hidden]),"
    + " main select, main button:not(.link)";
  for (const el of document.querySelectorAll(controls)) {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.borderTopStyle === "none") { continue; }
    const a = lum(rgb(style.borderTopColor)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 3) { worst.push(el.outerHTML.slice(0, 80) + " " + ratio.toFixed(2)); }
  }
  return {worst, body: getComputedStyle(document.body).backgroundColor,
          root: getComputedStyle(document.documentElement).backgroundColor};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_control_borders_have_3_to_1_contrast_and_dark_mode_follows_the_system(
    browser, live_app, admin_user, scheme
):
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    errors = console_errors(page)
    try:
        log_in(page, live_app, password=PASSWORD)
        for path in ("/settings/", "/duplicates/", "/documents/"):
            page.goto(live_app.url + path)
            found = page.evaluate(CONTRAST_SCRIPT)
            assert not found["worst"], (path, found["worst"])
            red, green, blue = (int(v) for v in found["root"][4:-1].split(",")[:3])
            dark = (red + green + blue) / 3 < 60
            assert dark == (scheme == "dark"), found["root"]
        page.screenshot(path=f"/work/wt-11-shots/documents-{scheme}.png")
        assert page.locator("link[rel=icon]").count() == 1
        assert not errors, errors
    finally:
        context.close()
