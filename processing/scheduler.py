"""Periodic work: the sync schedule from the configuration, and noticing dead jobs.

``manage.py scheduler`` runs it as its own process in production; the embedded mode runs it in a
background thread of the web process. Either way the work is one function, :func:`tick`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from django.db import close_old_connections
from django.utils import timezone

from processing import jobs
from processing.models import Job

logger = logging.getLogger(__name__)

TICK_SECONDS = 60
STALE_CHECK_SECONDS = 15


def tick(*, now: datetime | None = None) -> dict[str, object]:
    """Mark jobs whose worker died, and start a sync when the schedule says one is due."""
    from dedupe_project.models import Configuration

    now = now or timezone.now()
    outcome: dict[str, object] = {"stale": Job.objects.mark_stale(now=now), "sync_job": None}
    from documents.connection import connection_settings

    interval = Configuration.objects.get_solo().sync_interval_minutes
    if (
        interval
        and _sync_registered()
        and connection_settings().configured
        and _sync_due(now=now, interval_minutes=interval)
    ):
        job = jobs.enqueue(kind=Job.Kind.SYNC, params={"scheduled": True})
        outcome["sync_job"] = job.pk
    from webhooks.handling import housekeeping

    outcome["webhooks"] = housekeeping(now=now)  # deliveries nobody works on, old ones pruned
    return outcome


def _sync_registered() -> bool:
    try:
        jobs.get_kind(Job.Kind.SYNC)
    except LookupError:
        return False
    return True


def _sync_due(*, now: datetime, interval_minutes: int) -> bool:
    syncs = Job.objects.filter(kind=Job.Kind.SYNC)
    if syncs.active().exists():
        return False
    last = syncs.order_by("-created_at").values_list("created_at", flat=True).first()
    return last is None or now - last >= timedelta(minutes=interval_minutes)


def _safe_tick() -> None:
    try:
        tick()
    except Exception:
        logger.exception("scheduler tick failed")
    finally:
        close_old_connections()


def _safe_stale_check() -> None:
    """Dead workers' jobs marked interrupted soon after their heartbeats stop (every 15 s, so
    within ``JOB_STALE_AFTER_SECONDS`` + 15 s), between the minute ticks."""
    try:
        Job.objects.mark_stale()
    except Exception:
        logger.exception("stale job check failed")
    finally:
        close_old_connections()


def _add_jobs(scheduler: BackgroundScheduler | BlockingScheduler) -> None:
    scheduler.add_job(
        _safe_stale_check,
        "interval",
        seconds=STALE_CHECK_SECONDS,
        id="stale-jobs",
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        _safe_tick,
        "interval",
        seconds=TICK_SECONDS,
        id="tick",
        next_run_time=timezone.now() + timedelta(seconds=5),
        coalesce=True,
        max_instances=1,
    )


def start_in_background() -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    _add_jobs(scheduler)
    scheduler.start()
    return scheduler


def run_forever() -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    _add_jobs(scheduler)
    logger.info("scheduler started", extra={"tick_seconds": TICK_SECONDS})
    scheduler.start()
