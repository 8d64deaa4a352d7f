"""The diagnostics job: runs every readiness check one by one on a worker, reporting progress.

It shows, from the worker's side, that the database, Redis, the channel layer and Paperless can be
reached, which is what a person wants to know when a sync will not start.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.db import close_old_connections
from django.utils.module_loading import import_string
from health_check.base import HealthCheck

from processing.jobs import JobContext, job_kind
from processing.models import Job


class DiagnosticsAlreadyRunning(Exception):
    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(f"Diagnostics job #{job.pk} is already {job.status}; wait for it.")


def start_diagnostics(*, user: Any = None) -> Job:
    """Queue the diagnostics job, one at a time (the page, the API). Raises
    DiagnosticsAlreadyRunning with the job that is queued or running."""
    from django.db import transaction

    from processing import jobs

    with transaction.atomic():
        Job.objects.mark_stale()
        current = Job.objects.filter(kind=Job.Kind.DIAGNOSTICS).active().order_by("pk").first()
        if current is not None:
            raise DiagnosticsAlreadyRunning(current)
        return jobs.enqueue(kind=Job.Kind.DIAGNOSTICS, user=user)


def instantiate_check(check: Any) -> HealthCheck:
    options: dict[str, Any] = {}
    if isinstance(check, tuple):
        check, options = check
    if isinstance(check, str):
        check = import_string(check)
    return check(**options)


@job_kind("diagnostics", queue="maintenance")
def run_diagnostics(ctx: JobContext) -> dict[str, Any]:
    from dedupe_project.health import readiness_checks

    checks = [instantiate_check(c) for c in readiness_checks()]
    results: dict[str, str] = {}
    ctx.progress(done=0, total=len(checks), message="Starting checks", force=True)
    for index, check in enumerate(checks, start=1):
        name = type(check).__name__
        outcome = asyncio.run(check.get_result())
        close_old_connections()
        results[name] = "ok" if outcome.error is None else str(outcome.error)
        failed = sum(1 for value in results.values() if value != "ok")
        ctx.progress(
            done=index,
            message=f"Checked {name}: {results[name]}",
            counts={"checked": index, "failed": failed},
            force=True,
        )
    return {"checks": results}
