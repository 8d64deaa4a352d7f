"""AI review: runs that ask a model for metadata, the per-field suggestions a person decides on,
the token ledger the budget is kept with, and the plans that apply (or revert) what was accepted.

Nothing here changes Paperless by itself: a :class:`ReviewRun` only reads; an :class:`ApplyPlan`
that a person confirmed is the only way a suggestion reaches Paperless (``ai_review/apply.py``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Sum
from django.utils import timezone


class ReviewRun(models.Model):
    """One request for suggestions: which documents (frozen when it is made), with which model and
    prices, the estimate shown before it started, and how it ended."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Not started"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        PAGE = "page", "Started on the AI page"
        API = "api", "Started through the API"
        WEBHOOK = "webhook", "New document (webhook)"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    source = models.CharField(max_length=16, choices=Source.choices, default=Source.PAGE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    selection = models.JSONField(
        default=dict, blank=True, help_text="How the documents were chosen."
    )
    model = models.CharField(max_length=200)
    endpoint = models.CharField(max_length=500, help_text="The base URL (no key, ever).")
    price_input = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    price_output = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    estimate = models.JSONField(default=dict, blank=True)
    stopped_reason = models.TextField(blank=True)
    error = models.TextField(blank=True)
    job = models.ForeignKey(
        "processing.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"AI run {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    LEFT_OUT = {
        "protected": "with a protected tag",
        "no_text": "without text",
        "suggested_before": "suggested before",
        "over_limit": "over the per-run limit",
    }

    def left_out(self) -> list[str]:
        """Why matching documents are not in the run, as phrases ("2 with a protected tag")."""
        counts = self.selection.get("left_out") or {}
        return [f"{n} {self.LEFT_OUT.get(why, why)}" for why, n in counts.items()]

    @property
    def price_known(self) -> bool:
        return self.price_input is not None and self.price_output is not None

    def usage(self) -> dict[str, Any]:
        return ApiCall.objects.filter(run=self).totals()

    def suggestion_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(Suggestion.Status.values, 0)
        for row in self.suggestions.values("status").annotate(n=Count("pk")):
            counts[row["status"]] = row["n"]
        return counts


class SuggestionQuerySet(models.QuerySet["Suggestion"]):
    def to_review(self) -> SuggestionQuerySet:
        """Documents with a field still to decide, or accepted and not yet applied."""
        return self.filter(
            Q(fields__decision=FieldSuggestion.Decision.PENDING)
            | Q(fields__decision=FieldSuggestion.Decision.ACCEPTED, fields__outcome=""),
            status=Suggestion.Status.DONE,
        ).distinct()


class Suggestion(models.Model):
    """One document of a run: what it looked like when the model was asked (``snapshot``, and
    its ``modified``, against which "changed since the suggestion" is decided), the outcome, the
    tokens it cost, and its fields."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        DONE = "done", "Suggested"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(ReviewRun, on_delete=models.CASCADE, related_name="suggestions")
    position = models.PositiveIntegerField()
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paperless_id = models.PositiveBigIntegerField()
    title = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True, help_text="Why it failed or was skipped.")
    notes = models.JSONField(default=list, blank=True, help_text="Values of the answer left out.")
    snapshot = models.JSONField(default=dict, blank=True)
    modified = models.DateTimeField(null=True, blank=True)
    excerpt = models.TextField(blank=True, help_text="The text as it was sent (maybe shortened).")
    truncated = models.BooleanField(default=False)
    prompt_chars = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = SuggestionQuerySet.as_manager()

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="suggestion_unique_position"),
        ]
        indexes = [
            models.Index(fields=["paperless_id"], name="suggestion_document"),
            models.Index(fields=["run", "status"], name="suggestion_run_status"),
        ]

    def __str__(self) -> str:
        return f"Suggestion for #{self.paperless_id} ({self.status})"


class FieldSuggestion(models.Model):
    """One proposed change of one field (a tag is a field of its own), with the confidence and
    evidence the model gave, and what a person decided. ``value`` is what Paperless stores (an id,
    a date, a custom field's typed value); an edit replaces it and keeps the model's in
    ``suggested_value``."""

    class Decision(models.TextChoices):
        PENDING = "pending", "Not decided"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    class Outcome(models.TextChoices):
        NONE = "", "Not applied"
        APPLIED = "applied", "Applied"
        SKIPPED = "skipped", "Skipped (changed since)"
        FAILED = "failed", "Failed"
        REVERTED = "reverted", "Reverted"

    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveSmallIntegerField(default=0)
    field = models.CharField(max_length=32)
    key = models.CharField(max_length=200)
    label = models.CharField(max_length=256)
    value = models.JSONField(null=True, blank=True)
    display = models.TextField(blank=True)
    current_display = models.TextField(blank=True)
    suggested_value = models.JSONField(null=True, blank=True)
    suggested_display = models.TextField(blank=True)
    confidence = models.FloatField(default=0)
    evidence = models.TextField(blank=True)
    evidence_found = models.BooleanField(default=False)
    is_new = models.BooleanField(default=False, help_text="A tag that does not exist yet.")
    meta = models.JSONField(
        default=dict, blank=True, help_text="A custom field's id, type and select options."
    )
    edited = models.BooleanField(default=False)
    decision = models.CharField(
        max_length=16, choices=Decision.choices, default=Decision.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")

    class Meta:
        ordering = ["suggestion", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.label}: {self.display} ({self.decision})"

    @property
    def is_open(self) -> bool:
        """Still to decide, or accepted and waiting to be applied."""
        return self.decision == self.Decision.PENDING or (
            self.decision == self.Decision.ACCEPTED and not self.outcome
        )

    @property
    def confidence_percent(self) -> int:
        return round(self.confidence * 100)


class ApiCallQuerySet(models.QuerySet["ApiCall"]):
    def this_month(self, *, now: Any = None) -> ApiCallQuerySet:
        local = timezone.localtime(now or timezone.now())
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return self.filter(at__gte=start)

    def totals(self) -> dict[str, Any]:
        row = self.aggregate(
            sum_prompt=Sum("prompt_tokens"),
            sum_completion=Sum("completion_tokens"),
            sum_cost=Sum("cost"),
            calls=Count("pk"),
            unpriced=Count("pk", filter=Q(cost__isnull=True)),
        )
        prompt = row["sum_prompt"] or 0
        completion = row["sum_completion"] or 0
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            # SQLite sums decimals as floats: back to the ledger's six places.
            "cost": Decimal(str(row["sum_cost"] or 0)).quantize(Decimal("0.000001")),
            "calls": row["calls"],
            "unpriced_calls": row["unpriced"],
        }


class ApiCall(models.Model):
    """One answer the AI endpoint gave, with the tokens its ``usage`` reported and their cost.
    Append-only: the budget and the figures on the page and in /metrics are sums over it."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    run = models.ForeignKey(
        ReviewRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    suggestion = models.ForeignKey(
        Suggestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    model = models.CharField(max_length=200)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    usage_reported = models.BooleanField(
        default=True, help_text="False when the endpoint sent no usage and tokens were estimated."
    )

    objects = ApiCallQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.model}: {self.prompt_tokens}+{self.completion_tokens} tokens"


class ApplyPlan(models.Model):
    """Accepted suggestions frozen into changes a person confirms, like a deletion plan: each
    document is re-read first and skipped when it changed since the suggestion; one PATCH per
    document; checkpointed per item; audited with before and after. A *revert* plan puts an
    applied change back from its audit entry."""

    class Kind(models.TextChoices):
        APPLY = "apply", "Apply AI suggestions"
        REVERT = "revert", "Revert AI suggestions"

    class Status(models.TextChoices):
        DRAFT = "draft", "Awaiting confirmation"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.APPLY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    job = models.ForeignKey(
        "processing.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    def item_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ApplyItem.Status.values, 0)
        for row in self.items.values("status").annotate(n=Count("pk")):
            counts[row["status"]] = row["n"]
        return counts


class ApplyItem(models.Model):
    """One document of an apply (or revert) plan: the changes, the ``modified`` it must still
    have, and how far it got (``stage``: a job killed after sending resumes by re-reading)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    class Stage(models.TextChoices):
        NEW = "", "Not started"
        ACTING = "acting", "Change sent to Paperless"

    plan = models.ForeignKey(ApplyPlan, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    suggestion = models.ForeignKey(
        Suggestion, null=True, blank=True, on_delete=models.SET_NULL, related_name="apply_items"
    )
    paperless_id = models.PositiveBigIntegerField()
    title = models.CharField(max_length=1024, blank=True)
    expected_modified = models.DateTimeField(null=True, blank=True)
    changes = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, default="")
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    audit_entry_id = models.BigIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="applyitem_unique_position"),
        ]
        indexes = [models.Index(fields=["paperless_id"], name="applyitem_document")]

    def __str__(self) -> str:
        return f"Apply plan {self.plan_id} item {self.position} ({self.status})"
