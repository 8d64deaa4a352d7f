"""End-to-end tests in a real browser: Debian's chromium driven by Playwright.

`./dev test` installs chromium when it can (apt, as root). Without it these tests are skipped with
the reason, so the rest of the suite still runs on a machine without root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("DEDUPE_CHROMIUM", "/usr/bin/chromium")
# The flags a headless chromium needs here: no sandbox as root, and no background traffic, which a
# closed network answers with refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while it
    is open, which would break later tests that call async code through async_to_sync."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM}: `./dev test` installs it as root (apt)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make for
    # set-up are plain synchronous ones, so allow them.
    # Only while the browser is open: processes started later must not inherit it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def log_in(page, app, *, username: str = "admin", password: str) -> None:
    page.goto(app.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(app.url + "/")
