"""Fixtures for the webhooks: a secret, the fake Paperless as the connection, a clean rate-limit
cache, and a way to run the ``webhook`` job as a worker would."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache

from processing import jobs
from processing.models import Job
from webhooks import handling

SECRET = "test-webhook-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch):
    """Runs do not wait for more deliveries here (the tests say when they arrive)."""
    from webhooks import handling

    monkeypatch.setattr(handling, "SETTLE_SECONDS", 0)
    monkeypatch.setattr(handling, "LINGER_SECONDS", 0)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Rate-limit counters of this test only. (Never ``cache.clear()``: on Redis that is a
    FLUSHDB of the database other test runs share.)"""
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex}:"
    cache.delete(handling.ACTIVE_KEY)
    yield
    cache.delete(handling.ACTIVE_KEY)


@pytest.fixture
def secret(settings) -> str:
    settings.WEBHOOK_SECRET = SECRET
    return SECRET


@pytest.fixture
def run_webhook_jobs(db) -> Callable[..., list[Job]]:
    """Run every queued ``webhook`` job (not the delayed re-checks unless ``rechecks``) and the
    analyses they queue, in this process, as the worker would; returns the jobs run."""

    def run(*, rechecks: bool = False, analysis: bool = True) -> list[Job]:
        done: list[Job] = []
        for _ in range(20):
            queued = Job.objects.filter(status=Job.Status.QUEUED, kind=Job.Kind.WEBHOOK)
            if not rechecks:
                queued = queued.exclude(params__has_key="recheck_at")
            if analysis:
                queued = Job.objects.filter(pk__in=queued.values("pk")) | Job.objects.filter(
                    status=Job.Status.QUEUED, kind=Job.Kind.ANALYSIS
                )
            batch = list(queued.order_by("pk"))
            if not batch:
                break
            for job in batch:
                jobs.execute(job.pk)
                done.append(job)
        return done

    return run


def post_hook(client: Any, event: str, body: bytes | dict, **headers: Any) -> Any:
    """POST a delivery to our endpoint as Paperless would (raw bytes, or a dict as JSON)."""
    import json

    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers.setdefault("content_type", "application/json")
    return client.generic("POST", f"/webhooks/paperless/{event}/", data=body, **headers)


@pytest.fixture
def run_sync(db) -> Callable[..., Job]:
    """Run the sync job inline, as ``manage.py sync`` does; returns the finished job."""

    def run(*, full: bool = False, **params: Any) -> Job:
        return jobs.run_inline(kind=Job.Kind.SYNC, params={"full": full, **params})

    return run
