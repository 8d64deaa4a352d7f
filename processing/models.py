"""Jobs: one row per run of background work, the single source of truth for its state.

The queue only starts work; status, progress, counts, checkpoints and the outcome live here, so a
page, the API and a restarted worker all read the same thing.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class JobQuerySet(models.QuerySet["Job"]):
    def active(self) -> JobQuerySet:
        return self.filter(status__in=Job.ACTIVE_STATUSES)

    def stale(self, *, now: Any = None) -> JobQuerySet:
        now = now or timezone.now()
        cutoff = now - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
        return self.filter(status=Job.Status.RUNNING).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        )

    def mark_stale(self, *, now: Any = None) -> int:
        """Mark jobs whose worker stopped reporting as interrupted. Returns how many."""
        now = now or timezone.now()
        return self._interrupt(
            self.stale(now=now),
            now=now,
            reason=(
                "The worker running this job stopped responding. Resume it to continue from its "
                "last checkpoint."
            ),
        )

    def mark_orphaned_on_startup(self) -> int:
        """In the embedded mode the worker lives in the web process: at start-up, any job still
        marked running belonged to a process that is gone."""
        return self._interrupt(
            self.filter(status=Job.Status.RUNNING),
            now=timezone.now(),
            reason="The app stopped while this job ran. Resume it to continue from its checkpoint.",
        )

    def silent(self, *, now: Any = None) -> JobQuerySet:
        """Running jobs whose heartbeat stopped: three beats missed. A person may mark them
        interrupted (the scheduler does it by itself after ``JOB_STALE_AFTER_SECONDS``)."""
        now = now or timezone.now()
        cutoff = now - timedelta(seconds=3 * settings.JOB_HEARTBEAT_SECONDS)
        return self.filter(status=Job.Status.RUNNING).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        )

    def interrupt_silent(self, *, job_id: int, user: Any = None, now: Any = None) -> bool:
        """A person marks a job whose heartbeat stopped as interrupted, so it can be resumed at
        once instead of after the automatic wait. Refused (False) while its worker still beats."""
        now = now or timezone.now()
        who = user.get_username() if getattr(user, "is_authenticated", False) else "someone"
        return bool(
            self._interrupt(
                self.silent(now=now).filter(pk=job_id),
                now=now,
                reason=f"Marked interrupted by {who}: its worker stopped sending heartbeats. "
                "Resume it to continue from its last checkpoint.",
            )
        )

    def _interrupt(self, queryset: JobQuerySet, *, now: Any, reason: str) -> int:
        return queryset.update(status=Job.Status.INTERRUPTED, error=reason, finished_at=now)

    def claim(self, *, job_id: int, worker: str, now: Any = None) -> bool:
        """Atomically take a job for ``worker``. A job that is queued, interrupted, or running on a
        worker that stopped reporting can be taken; one that finished or is alive elsewhere can't
        (a message delivered twice must not run the job twice)."""
        now = now or timezone.now()
        cutoff = now - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
        takeable = Q(status__in=[Job.Status.QUEUED, Job.Status.INTERRUPTED]) | Q(
            status=Job.Status.RUNNING, heartbeat_at__lt=cutoff
        )
        updated = (
            self.filter(pk=job_id)
            .filter(takeable)
            .update(
                status=Job.Status.RUNNING,
                worker=worker,
                heartbeat_at=now,
                started_at=Coalesce(F("started_at"), now),
                finished_at=None,
                error="",
                attempts=F("attempts") + 1,
            )
        )
        return updated == 1


class Job(models.Model):
    class Kind(models.TextChoices):
        SYNC = "sync", "Sync from Paperless"
        ANALYSIS = "analysis", "Duplicate analysis"
        ACTION = "action", "Action on documents"
        AI = "ai", "AI metadata suggestions"
        AI_APPLY = "ai_apply", "Apply AI suggestions"
        DIAGNOSTICS = "diagnostics", "Diagnostics"
        WEBHOOK = "webhook", "Webhook deliveries from Paperless"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        INTERRUPTED = "interrupted", "Interrupted"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    checkpoint = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "status"], name="job_kind_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def heartbeat_stopped(self) -> bool:
        """Running, but its worker missed three heartbeats (see ``JobQuerySet.silent``)."""
        if self.status != self.Status.RUNNING:
            return False
        last = self.heartbeat_at or self.started_at
        limit = timedelta(seconds=3 * settings.JOB_HEARTBEAT_SECONDS)
        return last is not None and timezone.now() - last > limit

    @property
    def can_resume(self) -> bool:
        return self.status in (self.Status.INTERRUPTED, self.Status.FAILED)

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def duration_words(self) -> str:
        """The duration rounded to words ("24 seconds")."""
        from processing.summary import duration_words

        return duration_words(self.duration)

    @property
    def duration(self) -> timedelta | None:
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at
