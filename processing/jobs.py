"""Running jobs: the registry of job kinds, the context a job function reports through, and the one
``execute`` every actor calls.

A job kind is a plain function ``func(ctx: JobContext) -> dict`` registered with :func:`job_kind`.
The same function is what a management command calls (through :func:`run_inline`), so a command
and the background worker share one code path.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from processing import events
from processing.models import Job, worker_identity

logger = logging.getLogger(__name__)

PROGRESS_MIN_INTERVAL = 0.5


class JobCancelled(Exception):
    """Raised inside a job function when a person asked to cancel it."""


class JobLost(Exception):
    """This worker no longer owns the job: it was marked interrupted (its heartbeat looked
    dead) and resumed elsewhere, or taken over. The worker stops and writes nothing more."""


@dataclass(frozen=True)
class JobKind:
    kind: str
    queue: str
    func: Callable[[JobContext], dict[str, Any] | None]


_REGISTRY: dict[str, JobKind] = {}


def job_kind(kind: str, *, queue: str) -> Callable:
    """Register ``func`` as the code that runs jobs of ``kind`` on ``queue``."""
    if queue not in settings.DEDUPE_QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def register(func: Callable[[JobContext], dict[str, Any] | None]) -> Callable:
        _REGISTRY[kind] = JobKind(kind=kind, queue=queue, func=func)
        return func

    return register


def get_kind(kind: str) -> JobKind:
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise LookupError(f"No job function is registered for {kind!r}") from None


class JobContext:
    """What a running job function sees: its parameters, its checkpoint, and ways to report."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._last_progress = 0.0
        self._last_cancel_check = float("-inf")
        self.lost = threading.Event()

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    @property
    def checkpoint_data(self) -> dict[str, Any]:
        return self.job.checkpoint

    def progress(
        self,
        *,
        done: int,
        total: int | None = None,
        message: str | None = None,
        counts: dict[str, int] | None = None,
        force: bool = False,
    ) -> None:
        """Save progress to the job row first, then announce it. Throttled unless ``force``."""
        now = time.monotonic()
        self.job.progress_done = done
        if total is not None:
            self.job.progress_total = total
        if message is not None:
            self.job.message = message[:500]
        if counts is not None:
            self.job.counts = {**self.job.counts, **counts}
        if not force and now - self._last_progress < PROGRESS_MIN_INTERVAL:
            return
        self._last_progress = now
        self._save("progress_done", "progress_total", "message", "counts")
        events.announce_job(self.job)

    def save_checkpoint(self, data: dict[str, Any]) -> None:
        """Persist where the job is, so a killed job resumes here. Call after committing work."""
        self.job.checkpoint = data
        self._save("checkpoint", "progress_done", "progress_total", "counts", "message")

    def check_cancelled(self, *, at_most_every: float = 0.0) -> None:
        """Raise :class:`JobCancelled` when someone asked to cancel the job (one query), or
        :class:`JobLost` when another worker owns it now.

        ``at_most_every``: seconds; calls in between return at once. For loops whose steps are
        cheap and harmless (the sync's pages: a query each was 4 ms of an 80 ms page); a step
        that changes Paperless checks every time, so a cancel stops it before the next one."""
        if self.lost.is_set():
            raise JobLost()
        now = time.monotonic()
        if at_most_every and now - self._last_cancel_check < at_most_every:
            return
        self._last_cancel_check = now
        row = Job.objects.filter(pk=self.job.pk).values("cancel_requested", "worker").first()
        if row is None or row["worker"] != self.job.worker:
            self.lost.set()
            raise JobLost()
        if row["cancel_requested"]:
            raise JobCancelled()

    def _save(self, *fields: str) -> None:
        """Write to the job row while this worker owns it (the same worker, not finished)."""
        self.job.heartbeat_at = timezone.now()
        updates = {name: getattr(self.job, name) for name in (*fields, "heartbeat_at")}
        if not _owned(self.job).update(**updates):
            self.lost.set()


def _owned(job: Job) -> Any:
    """The job's row, if this worker still owns it (a person may have marked it interrupted
    while it looked dead; it is ours again as long as nobody else resumed it)."""
    return Job.objects.filter(pk=job.pk, worker=job.worker).exclude(
        status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED]
    )


class _Heartbeat:
    """Touches the job row every ``JOB_HEARTBEAT_SECONDS`` while the function runs, so a long
    step without progress reports is not mistaken for a dead worker, and a dead worker is seen
    within ``JOB_STALE_AFTER_SECONDS``; stops when the job ends (or the process dies). A beat
    that fails (a locked database) is logged and the next one tried; a beat that finds the job
    owned by another worker sets ``ctx.lost``."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.job_id = ctx.job.pk
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"job-{self.job_id}-heartbeat", daemon=True
        )

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    self.beat()
                except Exception:  # the next beat may work: never let the thread die
                    logger.warning("heartbeat failed", exc_info=True, extra={"job": self.job_id})
                    with contextlib.suppress(Exception):
                        close_old_connections()
        finally:
            with contextlib.suppress(Exception):
                close_old_connections()

    def beat(self) -> None:
        if not _owned(self.ctx.job).update(heartbeat_at=timezone.now()):
            self.ctx.lost.set()


def enqueue(
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    user: Any = None,
    delay_seconds: float = 0,
) -> Job:
    """Create the job row and send it to its queue once the row is committed; with
    ``delay_seconds`` the broker hands it to a worker that much later."""
    job_kind_ = get_kind(kind)
    job = Job.objects.create(
        kind=kind,
        params=params or {},
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    transaction.on_commit(lambda: send(job=job, queue=job_kind_.queue, delay_seconds=delay_seconds))
    events.announce_job(job)
    return job


def send(*, job: Job, queue: str, delay_seconds: float = 0) -> None:
    from processing import actors

    actor = actors.ACTORS_BY_QUEUE[queue]
    if delay_seconds > 0:
        actor.send_with_options(args=(job.pk,), delay=int(delay_seconds * 1000))
    else:
        actor.send(job.pk)


def resend_queued() -> int:
    """Send every queued job again (the embedded mode's in-memory queue is gone after a restart,
    its job rows are not). A message delivered twice runs its job once (``execute`` claims)."""
    count = 0
    for job in Job.objects.filter(status=Job.Status.QUEUED).order_by("pk"):
        try:
            queue = get_kind(job.kind).queue
        except LookupError:
            continue
        send(job=job, queue=queue)
        count += 1
    return count


def resume(*, job: Job) -> bool:
    """Queue an interrupted or failed job again; it continues from its checkpoint."""
    updated = Job.objects.filter(pk=job.pk, status__in=[Job.Status.INTERRUPTED, Job.Status.FAILED])
    if not updated.update(status=Job.Status.QUEUED, cancel_requested=False):
        return False
    job.refresh_from_db()
    transaction.on_commit(lambda: send(job=job, queue=get_kind(job.kind).queue))
    events.announce_job(job)
    return True


def cancel(*, job: Job) -> None:
    """Ask a job to stop; a queued one stops at once, a running one at its next check."""
    Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now(), cancel_requested=True
    )
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    events.announce_job(job)


def execute(job_id: int) -> None:
    """Run job ``job_id`` here, unless it is finished or alive on another worker. Idempotent."""
    me = worker_identity()
    if not Job.objects.claim(job_id=job_id, worker=me):
        logger.info(
            "job not taken: finished, cancelled or running elsewhere", extra={"job": job_id}
        )
        return
    job = Job.objects.get(pk=job_id)
    _run_claimed(job)


def run_inline(*, kind: str, params: dict[str, Any] | None = None, user: Any = None) -> Job:
    """Run a job in this process and wait for it (management commands)."""
    job = Job.objects.create(kind=kind, params=params or {}, created_by=user)
    Job.objects.claim(job_id=job.pk, worker=worker_identity())
    job.refresh_from_db()
    _run_claimed(job)
    job.refresh_from_db()
    return job


def _run_claimed(job: Job) -> None:
    ctx = JobContext(job)
    events.announce_job(job)
    started = time.monotonic()
    try:
        with _Heartbeat(ctx):
            result = get_kind(job.kind).func(ctx) or {}
    except JobLost:
        logger.warning("job taken over by another worker; stopped", extra={"job": job.pk})
        return
    except JobCancelled:
        _finish(job, status=Job.Status.CANCELLED, message="Cancelled")
    except Exception as exc:
        logger.exception("job failed", extra={"job": job.pk, "kind": job.kind})
        _finish(job, status=Job.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        _finish(job, status=Job.Status.SUCCEEDED, result=result)
    logger.info(
        "job finished",
        extra={
            "job": job.pk,
            "kind": job.kind,
            "status": job.status,
            "seconds": round(time.monotonic() - started, 3),
        },
    )


def _finish(
    job: Job,
    *,
    status: str,
    error: str = "",
    result: dict[str, Any] | None = None,
    message: str | None = None,
) -> None:
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    if result is not None:
        job.result = result
    if message is not None:
        job.message = message
    if status == Job.Status.SUCCEEDED and job.progress_total:
        job.progress_done = job.progress_total
    Job.objects.filter(pk=job.pk, worker=job.worker).update(
        status=job.status,
        error=job.error,
        finished_at=job.finished_at,
        result=job.result,
        message=job.message,
        progress_done=job.progress_done,
    )
    from duplicates.stats import forget_dashboard_stats

    forget_dashboard_stats()  # what the job changed shows at once
    events.announce_job(job)
