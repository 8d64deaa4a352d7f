"""The embedded mode: a Dramatiq worker and the scheduler inside the web process.

A new user runs one command and gets everything in one process, on the in-memory broker. Started
once per process, by the ASGI application.
"""

from __future__ import annotations

import logging
import threading

import dramatiq
from django.conf import settings

logger = logging.getLogger(__name__)

_started = threading.Lock()
_worker: dramatiq.Worker | None = None


def start() -> None:
    global _worker
    if not _started.acquire(blocking=False):
        return
    from processing import scheduler
    from processing.models import Job

    interrupted = Job.objects.mark_orphaned_on_startup()
    if interrupted:
        logger.warning(
            "jobs left running by a previous start marked interrupted", extra={"count": interrupted}
        )
    broker = dramatiq.get_broker()
    _worker = dramatiq.Worker(broker, worker_threads=settings.EMBEDDED_WORKER_THREADS)
    _worker.start()
    from processing import jobs

    resent = jobs.resend_queued()  # their messages were in the previous process's memory
    if resent:
        logger.info("queued jobs of a previous start sent again", extra={"count": resent})
    scheduler.start_in_background()
    logger.info("embedded worker started", extra={"queues": sorted(broker.get_declared_queues())})


def stop() -> None:
    if _worker is not None:
        _worker.stop()
