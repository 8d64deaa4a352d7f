"""Announcing job changes over Channels. The job row is always saved before this is called, so a
lost announcement costs only a delay (pages fall back to polling), never state."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

if TYPE_CHECKING:
    from processing.models import Job

logger = logging.getLogger(__name__)

JOBS_GROUP = "jobs"

# The event loop that serves WebSockets in this process. The in-memory channel layer's queues
# belong to it, so a worker thread in the same process (the embedded mode) must hand its
# announcements to that loop instead of sending from a loop of its own.
_web_loop: asyncio.AbstractEventLoop | None = None


def register_web_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _web_loop
    _web_loop = loop


def job_group(job_id: int) -> str:
    return f"job-{job_id}"


def announce_job(job: Job) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # the state as it is now: a page shows each step even when it renders after the job moved on
    message = {
        "type": "job.update", "job_id": job.pk, "status": job.status,
        "progress_done": job.progress_done, "progress_total": job.progress_total,
        "message": job.message,
    }  # fmt: skip
    try:
        _send(layer, JOBS_GROUP, message)
    except Exception:
        logger.warning("could not announce job progress", exc_info=True, extra={"job": job.pk})


def _send(layer: object, group: str, message: dict) -> None:
    loop = _web_loop
    if isinstance(layer, InMemoryChannelLayer) and loop is not None and loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(layer.group_send(group, message))
        else:
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop).result(5)
        return
    async_to_sync(layer.group_send)(group, message)
