"""What the webhooks keep: every delivery Paperless made (:class:`WebhookEvent`) and the set-up
(:class:`WebhookSettings`: the shared secret, the URL Paperless calls, the two workflows made in
Paperless, the optional "possible duplicate" tag).

A delivery is recorded before it is answered; the table is then the queue the ``webhook`` job
works through (``status``, ``next_check_at``), so a worker killed mid-event loses nothing: the
event is still there, claimed by a job that is no longer alive, and the next run takes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dedupe_project import crypto
from dedupe_project.logging import register_secret
from processing.models import Job

SECRET_HEADER = "X-Dedupe-Secret"  # noqa: S105 - a header's name
EVENT_RETENTION = timedelta(days=30)


class WebhookEventQuerySet(models.QuerySet["WebhookEvent"]):
    def claimable(self, *, now: datetime, job_id: int | None = None) -> WebhookEventQuerySet:
        """Events a run should take now: new ones and those whose next check is due (waiting for
        OCR text, or for Paperless to answer again), and those claimed by a job that is no longer
        alive (a killed worker) or by ``job_id`` itself (a resumed job)."""
        status = WebhookEvent.Status
        due = Q(next_check_at__isnull=True) | Q(next_check_at__lte=now)
        orphaned = Q(status=status.PROCESSING) & (
            Q(job__isnull=True) | ~Q(job__status__in=Job.ACTIVE_STATUSES)
        )
        if job_id is not None:
            orphaned |= Q(status=status.PROCESSING, job_id=job_id)
        return self.filter((Q(status__in=[status.PENDING, status.WAITING_TEXT]) & due) | orphaned)

    def waiting(self) -> WebhookEventQuerySet:
        """Events to check again later (no text yet, or Paperless did not answer)."""
        status = WebhookEvent.Status
        return self.filter(status__in=[status.PENDING, status.WAITING_TEXT]).exclude(
            next_check_at__isnull=True
        )

    def filtered(
        self,
        *,
        status: str = "",
        event: str = "",
        document: int | None = None,
        duplicates: bool = False,
        since: datetime | None = None,
    ) -> WebhookEventQuerySet:
        """The events page's and ``/api/webhooks/events``' filters."""
        queryset = self
        if status:
            queryset = queryset.filter(status=status)
        if event:
            queryset = queryset.filter(event=event)
        if document is not None:
            queryset = queryset.filter(paperless_id=document)
        if duplicates:
            queryset = queryset.filter(duplicate_group_id__isnull=False)
        if since is not None:
            queryset = queryset.filter(received_at__gte=since)
        return queryset

    def prune(self, *, now: datetime | None = None) -> int:
        """Forget finished events older than the retention (30 days)."""
        cutoff = (now or timezone.now()) - EVENT_RETENTION
        finished = [
            WebhookEvent.Status.DONE,
            WebhookEvent.Status.IGNORED,
            WebhookEvent.Status.FAILED,
        ]
        return self.filter(received_at__lt=cutoff, status__in=finished).delete()[0]


class WebhookEvent(models.Model):
    """One delivery from a Paperless workflow, and what became of it."""

    class Event(models.TextChoices):
        ADDED = "added", "Document added"
        UPDATED = "updated", "Document updated"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be mirrored"
        PROCESSING = "processing", "Being mirrored"
        WAITING_TEXT = "waiting_text", "Waiting for its OCR text"
        MIRRORED = "mirrored", "Mirrored, analysis queued"
        DONE = "done", "Analysed"
        IGNORED = "ignored", "Nothing to do"
        FAILED = "failed", "Failed"

    OPEN_STATUSES = (Status.PENDING, Status.PROCESSING, Status.WAITING_TEXT, Status.MIRRORED)

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    event = models.CharField(max_length=16, choices=Event.choices)
    paperless_id = models.PositiveBigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=300, blank=True, help_text="As the delivery named it.")
    body_format = models.CharField(
        max_length=16, blank=True, help_text="json, json-string, form, multipart or raw."
    )
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    detail = models.TextField(blank=True, help_text="Why it was ignored, or the error.")
    job = models.ForeignKey(
        "processing.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    content_checks = models.PositiveSmallIntegerField(
        default=0, help_text="Times it was read again while it had no text."
    )
    next_check_at = models.DateTimeField(null=True, blank=True)
    mirrored_at = models.DateTimeField(null=True, blank=True)
    analysed_at = models.DateTimeField(null=True, blank=True)
    duplicate_group_id = models.BigIntegerField(
        null=True, blank=True, help_text="The open duplicate group the analysis put it in."
    )
    notified = models.BooleanField(
        default=False, help_text="The 'possible duplicate' tag was added in Paperless."
    )

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_check_at"], name="webhookevent_queue"),
            models.Index(fields=["paperless_id"], name="webhookevent_document"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} #{self.paperless_id} ({self.status})"

    @property
    def can_retry(self) -> bool:
        return self.status == self.Status.FAILED and self.paperless_id is not None

    @property
    def seconds_to_analysed(self) -> float | None:
        if self.analysed_at is None:
            return None
        return (self.analysed_at - self.received_at).total_seconds()


class WebhookSettingsManager(models.Manager["WebhookSettings"]):
    def get_solo(self) -> WebhookSettings:
        row, _ = self.get_or_create(pk=1)
        return row


class WebhookSettings(models.Model):
    """The webhook set-up, one row. The secret is stored encrypted (like the Paperless token) and
    ``DEDUPE_WEBHOOK_SECRET`` wins over it; ``DEDUPE_PUBLIC_URL`` wins over ``public_url``."""

    secret_encrypted = models.TextField(blank=True, editable=False)
    public_url = models.URLField(
        "URL Paperless calls",
        max_length=200,
        blank=True,
        help_text="This app's address as Paperless reaches it (DEDUPE_PUBLIC_URL wins).",
    )
    workflow_added_id = models.PositiveBigIntegerField(null=True, blank=True)
    workflow_updated_id = models.PositiveBigIntegerField(null=True, blank=True)
    notify_tag_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Paperless tag put on a new document found a duplicate."
    )
    notify_tag_name = models.CharField(max_length=128, blank=True)
    set_up_at = models.DateTimeField(null=True, blank=True)
    set_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_test = models.JSONField(
        default=dict, blank=True, help_text="The last test delivery: when, which document."
    )

    objects = WebhookSettingsManager()

    class Meta:
        verbose_name = "webhook settings"
        verbose_name_plural = "webhook settings"

    def __str__(self) -> str:
        return "Webhook settings"

    # --- the secret -------------------------------------------------------------------------------

    @property
    def secret_from_env(self) -> bool:
        return bool(settings.WEBHOOK_SECRET)

    def secret(self) -> str:
        """The shared secret Paperless sends in ``X-Dedupe-Secret`` ("" when none is set)."""
        if settings.WEBHOOK_SECRET:
            return settings.WEBHOOK_SECRET
        if not self.secret_encrypted:
            return ""
        try:
            value = crypto.decrypt(self.secret_encrypted)
        except crypto.SecretUnreadable:
            return ""
        register_secret(value)
        return value

    def set_secret(self, value: str) -> None:
        register_secret(value)
        self.secret_encrypted = crypto.encrypt(value) if value else ""

    def secret_hint(self) -> str:
        return crypto.masked(self.secret())

    # --- the URL Paperless calls ------------------------------------------------------------------

    @property
    def public_url_from_env(self) -> bool:
        return bool(settings.PUBLIC_URL)

    def base_url(self) -> str:
        """This app's base URL as Paperless reaches it, without a trailing slash ("" unknown)."""
        return (settings.PUBLIC_URL or self.public_url).strip().rstrip("/")

    def workflow_ids(self) -> dict[str, int | None]:
        return {"added": self.workflow_added_id, "updated": self.workflow_updated_id}

    def as_dict(self) -> dict[str, Any]:
        return {
            "public_url": self.base_url(),
            "public_url_from_env": self.public_url_from_env,
            "secret_set": bool(self.secret()),
            "secret_from_env": self.secret_from_env,
            "secret_hint": self.secret_hint(),
            "workflow_added_id": self.workflow_added_id,
            "workflow_updated_id": self.workflow_updated_id,
            "notify_tag_id": self.notify_tag_id,
            "notify_tag_name": self.notify_tag_name,
            "set_up_at": self.set_up_at,
        }
