"""AI review in a real browser, by keyboard: move between documents and suggestions, accept,
reject, edit, accept a document above the confidence, see the keys; then apply and find the
change in Paperless."""

from __future__ import annotations

import re
import time

import pytest

from ai_review.models import FieldSuggestion, Suggestion
from dedupe_project.models import Configuration
from tests.browser.conftest import log_in
from tests.fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _row(page, field: FieldSuggestion):
    return page.locator(f"#field-{field.pk}")


def _wait_decision(page, field: FieldSuggestion, decision: str) -> None:
    page.locator(f"#field-{field.pk}[data-decision='{decision}']").wait_for()


def test_review_by_keyboard_then_apply(page, live_app, admin_user, suggest, library, paperless):
    run = suggest()
    Configuration.objects.get_solo().apply(
        {"paperless_url": paperless.url, "paperless_token": paperless.token}
    )
    letter, invoice = (
        run.suggestions.get(paperless_id=library.ids["letter"]),
        run.suggestions.get(paperless_id=library.ids["invoice"]),
    )
    # The review lists the newest run's documents in run order: the letter first (newest).
    first = [f for f in letter.fields.order_by("position", "pk")]
    assert [f.key for f in first[:3]] == ["title", "correspondent", "document_type"]

    log_in(page, live_app, password=PASSWORD)
    page.goto(live_app.url + f"/ai/review/?run={run.pk}")
    page.locator(f"#suggestion-{letter.pk}.current").wait_for()
    assert page.locator(f"#field-{first[0].pk}.current").count() == 1

    page.keyboard.press("a")  # accept the title, move on to the correspondent
    _wait_decision(page, first[0], "accepted")
    page.locator(f"#field-{first[1].pk}.current").wait_for()
    page.keyboard.press("r")  # reject the correspondent, move on to the document type
    _wait_decision(page, first[1], "rejected")
    page.locator(f"#field-{first[2].pk}.current").wait_for()
    page.keyboard.press("u")  # nothing to undo on an open field: no change
    page.keyboard.press("ArrowUp")  # back to the rejected correspondent, and undo it
    page.locator(f"#field-{first[1].pk}.current").wait_for()
    page.keyboard.press("u")
    _wait_decision(page, first[1], "pending")

    # Edit the title of the invoice: j to the next document, e, type, Enter.
    page.keyboard.press("j")
    page.locator(f"#suggestion-{invoice.pk}.current").wait_for()
    title = invoice.fields.get(key="title")
    assert page.locator(f"#field-{title.pk}.current").count() == 1
    page.keyboard.press("e")
    box = _row(page, title).locator("input[name=value]")
    box.wait_for()
    box.fill("Electricity bill March 2024")
    page.keyboard.press("Enter")
    _wait_decision(page, title, "accepted")
    assert "Electricity bill March 2024" in _row(page, title).inner_text()

    # A: accept the rest of this document's suggestions above the confidence (80%).
    page.keyboard.press("A")
    page.locator(f"#suggestion-{invoice.pk} [data-decision='accepted']").nth(2).wait_for()

    # ? lists the keys.
    page.keyboard.press("?")
    assert page.locator("dialog#ai-keys").is_visible()
    page.keyboard.press("Escape")

    decisions = dict(FieldSuggestion.objects.values_list("pk", "decision"))
    assert decisions[first[0].pk] == "accepted"
    assert decisions[first[1].pk] == "pending"
    high = invoice.fields.filter(confidence__gte=0.8).exclude(key="title")
    assert high.exists() and all(decisions[f.pk] == "accepted" for f in high)
    low = invoice.fields.filter(confidence__lt=0.8)
    assert all(decisions[f.pk] == "pending" for f in low)

    # Apply: the confirmation lists the changes; confirmed, the job changes Paperless.
    page.goto(live_app.url + f"/ai/review/?run={run.pk}")
    page.click("#ai-apply button[type=submit]")
    page.wait_for_url(re.compile(r"/ai/plans/\d+/"))
    assert "Electricity bill March 2024" in page.locator("table.plan-items").inner_text()
    page.click("button:has-text('Apply to 2 documents')")
    page.locator(".badge.plan-status.done").wait_for(timeout=60_000)
    deadline = time.monotonic() + 10
    document = paperless.state.get_document(library.ids["invoice"])
    while document.title != "Electricity bill March 2024" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert document.title == "Electricity bill March 2024"
    assert paperless.state.get_document(library.ids["letter"]).title == first[0].display
    assert Suggestion.objects.to_review().filter(pk=invoice.pk).exists()  # low ones still open


def test_a_key_pressed_right_after_a_decision_keeps_its_mark(
    page, live_app, admin_user, suggest, library
):
    """htmx restores a swapped row's class 20 ms after the swap; a key pressed in between (here
    at the swap itself) must still leave its row marked current once that has settled."""
    run = suggest()
    letter = run.suggestions.get(paperless_id=library.ids["letter"])
    first = list(letter.fields.order_by("position", "pk"))
    log_in(page, live_app, password=PASSWORD)
    page.goto(live_app.url + f"/ai/review/?run={run.pk}")
    page.locator(f"#field-{first[0].pk}.current").wait_for()
    page.evaluate(
        """() => document.addEventListener("htmx:afterSwap", () => {
            document.body.dispatchEvent(
                new KeyboardEvent("keydown", {key: "ArrowUp", bubbles: true}));
            window.pressedAt = performance.now();
        }, {once: true})"""
    )
    page.keyboard.press("r")  # reject the title: the page moves on, the swap presses ArrowUp back
    _wait_decision(page, first[0], "rejected")
    page.wait_for_function("() => window.pressedAt && performance.now() - window.pressedAt > 200")
    assert page.locator(f"#field-{first[0].pk}.current").count() == 1
    assert page.locator("[data-field-row].current").count() == 1
