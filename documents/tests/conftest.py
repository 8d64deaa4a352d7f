"""Fixtures for the documents app: a configured connection to the fake Paperless, and a sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from processing import jobs
from processing.models import Job
from tests.fake_paperless.server import FakePaperless


@pytest.fixture
def paperless(fake_paperless: FakePaperless, settings, tmp_path) -> FakePaperless:
    """The fake Paperless, configured as this app's connection, with a private thumbnail cache."""
    settings.PAPERLESS_URL = fake_paperless.url
    settings.PAPERLESS_API_TOKEN = fake_paperless.token
    settings.DATA_DIR = tmp_path
    return fake_paperless


@pytest.fixture
def run_sync(db) -> Callable[..., Job]:
    """Run the sync job inline, as ``manage.py sync`` does; returns the finished job."""

    def run(*, full: bool = False, **params: Any) -> Job:
        return jobs.run_inline(kind=Job.Kind.SYNC, params={"full": full, **params})

    return run
