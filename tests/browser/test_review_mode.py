"""Review mode in a real browser, by keyboard only: 50 groups decided with k / 2 / n / s (one
undone with u and decided again), going back and on with ← and j, every decision checked in the
database, the plan confirmed at the end listing every document. Prints the time per decision
(server: the decide answers' Server-Timing; browser: key press to the next group settled)."""

from __future__ import annotations

import statistics

import pytest

from dedupe_project.models import Configuration
from documents.models import Document
from duplicates.models import DuplicateGroup, GroupMember, PairEdge, Plan, ReviewDecision
from duplicates.tests.groupfactory import factors
from tests.browser.conftest import log_in
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GROUPS = 50
KEYS = ["k", "2", "n", "s"]
EXPECTED_KIND = {"k": "keep", "2": "keep", "n": "not_duplicate", "s": "skip"}

TIMING_SCRIPT = """
window.__decisionTimes = [];
document.addEventListener("keydown", () => { window.__keyAt = performance.now(); }, true);
document.addEventListener("htmx:afterSettle", () => {
  if (window.__keyAt !== undefined) {
    window.__decisionTimes.push(performance.now() - window.__keyAt);
    window.__keyAt = undefined;
  }
});
"""


def make_library(fake_paperless, *, groups: int = GROUPS) -> list[DuplicateGroup]:
    """Groups of two documents, in the fake Paperless and in our mirror, with the fake set up
    as the connection."""
    Configuration.objects.get_solo().apply(
        {
            "paperless_url": fake_paperless.url,
            "paperless_token": fake_paperless.token,
            "sync_interval_minutes": 0,
        }
    )
    made = []
    for number in range(groups):
        docs = []
        for side in range(2):
            fake = fake_paperless.state.add_document(title=f"Invoice {number}-{side}")
            docs.append(
                Document.objects.create(
                    paperless_id=fake.id,
                    title=fake.title,
                    modified=fake.modified,
                    original_checksum=fake.checksum,
                    page_count=1,
                    mime_type="application/pdf",
                )
            )
        group = DuplicateGroup.objects.create(confidence=0.95, primary=docs[0], member_count=2)
        GroupMember.objects.create(group=group, document=docs[0], is_primary=True)
        GroupMember.objects.create(group=group, document=docs[1], confidence=0.95)
        a, b = sorted((docs[0].pk, docs[1].pk))
        PairEdge.objects.create(a_id=a, b_id=b, factors=factors(fuzzy=0.99), confidence=0.95)
        made.append(group)
    return made


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def current_group(page) -> int:
    return int(page.locator("#review").get_attribute("data-group"))


def press_and_wait(page, key: str, *, before: int | None) -> None:
    """Press ``key`` and wait until another group (or the same one, for u) is shown and settled."""
    page.keyboard.press(key)
    page.wait_for_function(
        """(before) => {
            const root = document.getElementById("review");
            return root && root.dataset.ready === "1"
                && (before === null || root.dataset.group !== String(before));
        }""",
        arg=before,
    )


def test_fifty_groups_decided_by_keyboard(page, live_app, admin_user, fake_paperless):
    groups = make_library(fake_paperless)
    errors = console_errors(page)
    server_ms: list[float] = []

    def on_response(response):
        if "/decide/" in response.url or "/review/undo/" in response.url:
            timing = response.headers.get("server-timing", "")
            if timing.startswith("app;dur="):
                server_ms.append(float(timing.split("=", 1)[1]))

    page.on("response", on_response)
    page.add_init_script(TIMING_SCRIPT)
    log_in(page, live_app, password=PASSWORD)
    page.goto(live_app.url + "/duplicates/")
    page.click("#review-link")
    page.wait_for_selector("#review[data-ready='1']")
    assert current_group(page) == groups[0].pk
    # both documents' first pages are drawn by us and load
    page.wait_for_function(
        "() => [...document.querySelectorAll('.page-image')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator(".page-image").count() == 2
    reason = page.locator("#review-reason strong").inner_text()
    assert reason == "Same text, same 1 page; scanned twice."

    # ? shows the keys; Escape closes them
    page.keyboard.press("?")
    page.locator("#review-keys-help").wait_for(state="visible")
    page.keyboard.press("Escape")
    page.locator("#review-keys-help").wait_for(state="hidden")

    expected: dict[int, tuple[str, int | None]] = {}
    for index in range(GROUPS):
        group_id = current_group(page)
        assert group_id == groups[index].pk
        if index == 1:
            # back to the decided group with ←, then on again with j, deciding nothing
            press_and_wait(page, "ArrowLeft", before=group_id)
            assert current_group(page) == groups[0].pk
            assert page.locator("#review-decision[data-decision='keep']").count() == 1
            press_and_wait(page, "j", before=groups[0].pk)
            assert current_group(page) == group_id
        if index == 10:
            # a decision taken by mistake, undone with u: the same group comes back undecided
            press_and_wait(page, "n", before=group_id)
            page.keyboard.press("u")
            page.wait_for_function(
                """(gid) => {
                    const root = document.getElementById("review");
                    return root && root.dataset.ready === "1" && root.dataset.group === String(gid)
                        && !document.getElementById("review-decision");
                }""",
                arg=group_id,
            )
        key = KEYS[index % len(KEYS)]
        members = list(
            GroupMember.objects.filter(group_id=group_id)
            .order_by("-is_primary", "document_id")
            .values_list("document__paperless_id", flat=True)
        )
        kept = {"k": members[0], "2": members[1]}.get(key)
        expected[group_id] = (EXPECTED_KIND[key], kept)
        if index == GROUPS - 1:
            browser_ms = page.evaluate("window.__decisionTimes")
            page.keyboard.press(key)
            page.wait_for_url("**/duplicates/review/done/**")
        else:
            press_and_wait(page, key, before=group_id)

    # Every decision recorded right, in one draft plan.
    plan = Plan.objects.get(review=True)
    assert plan.status == Plan.Status.DRAFT
    decisions = {d.group_id: d for d in ReviewDecision.objects.filter(plan=plan)}
    assert set(decisions) == {g.pk for g in groups}
    for group_id, (kind, kept) in expected.items():
        decision = decisions[group_id]
        assert decision.kind == kind, (group_id, decision.kind, kind)
        group = DuplicateGroup.objects.select_related("primary").get(pk=group_id)
        if kind == "keep":
            assert decision.kept_paperless_id == kept
            assert group.primary.paperless_id == kept
        if kind == "not_duplicate":
            assert group.status == DuplicateGroup.Status.NOT_DUPLICATE
        else:
            assert group.status == DuplicateGroup.Status.NEW
    keeps = [gid for gid, (kind, _) in expected.items() if kind == "keep"]
    assert sorted(plan.group_ids) == sorted(keeps)
    assert plan.items.filter(paperless_id__isnull=False).count() == len(keeps)
    # nothing was deleted or tagged in Paperless
    assert not fake_paperless.requests_for(method="DELETE")
    assert not fake_paperless.requests_for(method="PATCH")

    # The summary, then the existing confirmation page listing every document.
    summary = page.locator("#review-summary").inner_text()
    assert f"{len(keeps)} groups kept" in summary
    page.click("text=Check every document and confirm the plan")
    page.wait_for_url(f"**/duplicates/plans/{plan.pk}/**")
    body = page.locator("main").inner_text()
    for item in plan.items.filter(paperless_id__isnull=False):
        assert f"#{item.paperless_id}" in body

    assert len(server_ms) >= GROUPS and len(browser_ms) >= GROUPS - 1
    print(
        f"\nreview mode, {GROUPS} decisions: server median {statistics.median(server_ms):.1f} ms "
        f"(max {max(server_ms):.1f}); browser median "
        f"{statistics.median(browser_ms):.1f} ms (max {max(browser_ms):.1f})"
    )
    assert not errors, errors
