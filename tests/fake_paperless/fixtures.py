"""Pytest fixtures for the fake Paperless (loaded by ``pytest_plugins`` in ``tests/conftest.py``).

``fake_paperless`` gives each test a running fake with an empty library, no scripted faults, no
recorded requests and API version 10; the server itself is started once per session.

    def test_something(fake_paperless):
        fake_paperless.seed(documents=50)
        fake_paperless.fail_next(2, path="/api/documents/")
        client = PaperlessClient(base_url=fake_paperless.url, token=fake_paperless.token)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_paperless.server import FakePaperless


@pytest.fixture(scope="session")
def fake_paperless_server() -> Iterator[FakePaperless]:
    """The fake's HTTP server, one per test session; use ``fake_paperless`` in tests."""
    with FakePaperless(token="fake-paperless-token") as fake:
        yield fake


@pytest.fixture
def fake_paperless(fake_paperless_server: FakePaperless) -> Iterator[FakePaperless]:
    """A running fake Paperless, reset to an empty library with no faults for this test."""
    fake_paperless_server.reset()
    yield fake_paperless_server
    fake_paperless_server.reset()


@pytest.fixture
def paperless(fake_paperless: FakePaperless, settings, tmp_path) -> FakePaperless:
    """The fake Paperless, configured as this app's connection, with a private data directory
    (thumbnail and preview caches)."""
    settings.PAPERLESS_URL = fake_paperless.url
    settings.PAPERLESS_API_TOKEN = fake_paperless.token
    settings.DATA_DIR = tmp_path
    return fake_paperless
