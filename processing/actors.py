"""Dramatiq actors: thin and idempotent. Each takes a job id and hands it to ``jobs.execute``,
which claims the row (a message delivered twice runs once) and records the outcome.

One actor per queue, so sync, analysis, actions and AI never starve one another.
"""

from __future__ import annotations

import dramatiq
from django.conf import settings

from processing import jobs

# Analysis of a big library and a full sync legitimately take hours; a hung job is caught by the
# heartbeat, not by a time limit.
_DAY_MS = 24 * 60 * 60 * 1000


def _make_actor(queue: str) -> dramatiq.Actor:
    def run_job(job_id: int) -> None:
        jobs.execute(job_id)

    run_job.__name__ = f"run_{queue}_job"
    return dramatiq.actor(
        run_job, actor_name=f"run_{queue}_job", queue_name=queue, max_retries=0, time_limit=_DAY_MS
    )


ACTORS_BY_QUEUE: dict[str, dramatiq.Actor] = {q: _make_actor(q) for q in settings.DEDUPE_QUEUES}
