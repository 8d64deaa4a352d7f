"""Pytest fixtures for the fake OpenAI-compatible endpoint (loaded by ``pytest_plugins``).

``fake_openai``: a running fake with no faults and no recorded requests. ``ai_configured``: the app
pointed at it (base URL, model, the key stored encrypted) with the fake Paperless as connection.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_openai.server import FakeOpenAI


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    fake_openai_server.reset()
    yield fake_openai_server
    fake_openai_server.reset()


@pytest.fixture
def ai_configured(fake_openai: FakeOpenAI, paperless, db) -> FakeOpenAI:
    """The app's AI connection pointed at the fake, fast retries, no pacing."""
    from dedupe_project.models import Configuration

    Configuration.objects.get_solo().apply(
        {
            "ai_base_url": fake_openai.url,
            "ai_model": "gpt-4o-mini",
            "openai_api_key": fake_openai.key,
            "ai_requests_per_minute": 0,
            "ai_max_retries": 2,
            "ai_timeout_seconds": 5,
        }
    )
    return fake_openai
