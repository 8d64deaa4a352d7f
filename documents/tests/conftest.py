"""Fixtures for the documents app: a configured connection to the fake Paperless, and a sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from processing import jobs
from processing.models import Job


@pytest.fixture
def run_sync(db) -> Callable[..., Job]:
    """Run the sync job inline, as ``manage.py sync`` does; returns the finished job."""

    def run(*, full: bool = False, **params: Any) -> Job:
        return jobs.run_inline(kind=Job.Kind.SYNC, params={"full": full, **params})

    return run
