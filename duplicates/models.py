"""What the duplicate analysis stores: sketches, scored pairs (edges), groups, decisions.

Ids given to the engine are ``Document.pk``. Everything here references ``documents.Document``
with ``CASCADE``: a document deleted in Paperless (and so by the sync) takes its sketch, edges,
memberships and decisions with it; a group left with fewer than two members is dissolved by the
next analysis (:meth:`DuplicateGroupQuerySet.dissolve_broken`), which the sync queues.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from duplicates.engine import Decisions, ScoringConfig, SignatureParams


def signature_key(params: SignatureParams) -> str:
    """A short stable key of the parameters that make a signature (any change invalidates)."""
    return (
        f"{params.scheme}/p{params.num_perm}/s{params.seed}/k{params.shingle_size}/"
        f"{params.shingle_hash}/a{params.anchor_rate}/n{params.normaliser_version}"
    )


def scoring_key(config: ScoringConfig) -> str:
    """A digest of the weights, switches and learned model that turned stored factors into
    confidences."""
    data = {
        "weights": {k: float(v) for k, v in sorted(config.weights.items())},
        "enabled": sorted(config.enabled),
        "model": config.model.key,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class DocumentSketchQuerySet(models.QuerySet["DocumentSketch"]):
    def current(self, *, params: SignatureParams) -> DocumentSketchQuerySet:
        """Sketches made with ``params`` from the document's present text."""
        return self.filter(
            params_key=signature_key(params), text_fingerprint=F("document__text_fingerprint")
        )


class DocumentSketch(models.Model):
    """A document's MinHash signature blob (the engine's serialised sketch, which carries its own
    parameters and text digest) plus the keys that say, without reading the text, whether it is
    still valid: the signature parameters and the sync's text fingerprint it was made from."""

    document = models.OneToOneField(
        "documents.Document", on_delete=models.CASCADE, primary_key=True, related_name="sketch"
    )
    blob = models.BinaryField()
    params_key = models.CharField(max_length=100)
    text_fingerprint = models.CharField(max_length=64, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    objects = DocumentSketchQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Sketch of {self.document_id}"


class PairEdgeQuerySet(models.QuerySet["PairEdge"]):
    def touching(self, document_ids: Iterable[int]) -> PairEdgeQuerySet:
        ids = list(document_ids)
        return self.filter(Q(a_id__in=ids) | Q(b_id__in=ids))

    def between(self, first: int, second: int) -> PairEdgeQuerySet:
        a, b = sorted((first, second))
        return self.filter(a_id=a, b_id=b)

    def part_of(self, *, scoring: ScoringConfig) -> PairEdgeQuerySet:
        """Pairs where one text lies inside a clearly longer one (an extract, a document with a
        licence in its appendix), below the duplicate threshold, that a person has not said
        are unrelated: the "part of" relation (``duplicates.engine.scoring.part_of``)."""
        model = scoring.model
        decided = PairDecision.objects.filter(a_id=OuterRef("a_id"), b_id=OuterRef("b_id"))
        return self.filter(
            factors__containment__gte=model.part_of_containment,
            factors__length_ratio__lte=model.part_of_length_ratio,
            confidence__lt=scoring.threshold,
        ).exclude(Exists(decided))

    def strong(self, *, threshold: float) -> PairEdgeQuerySet:
        return self.filter(confidence__gte=threshold)


class PairEdge(models.Model):
    """One scored candidate pair, ``a < b`` (document pks), every factor kept separately so the
    confidence can be re-weighted later without texts or signatures."""

    a = models.ForeignKey("documents.Document", on_delete=models.CASCADE, related_name="+")
    b = models.ForeignKey("documents.Document", on_delete=models.CASCADE, related_name="+")
    factors = models.JSONField(default=dict)
    confidence = models.FloatField()
    sources = models.JSONField(default=list)
    computed_at = models.DateTimeField(default=timezone.now)
    run_id = models.BigIntegerField(
        null=True, blank=True, help_text="The analysis job that scored it (full-run bookkeeping)."
    )

    objects = PairEdgeQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["a", "b"], name="pairedge_unique_pair"),
            models.CheckConstraint(condition=Q(a__lt=F("b")), name="pairedge_a_lt_b"),
        ]
        indexes = [
            models.Index(fields=["b"], name="pairedge_b"),
            models.Index(fields=["-confidence"], name="pairedge_confidence"),
        ]

    def __str__(self) -> str:
        return f"{self.a_id}~{self.b_id} {self.confidence:.3f}"


class DuplicateGroupQuerySet(models.QuerySet["DuplicateGroup"]):
    def with_status(self, status: str) -> DuplicateGroupQuerySet:
        return self.filter(status=status)

    def by_confidence(self) -> DuplicateGroupQuerySet:
        return self.order_by("-confidence", "pk")

    def for_list(self) -> DuplicateGroupQuerySet:
        active = GroupMember.objects.filter(removed=False).select_related(
            "document", "document__correspondent", "document__document_type"
        )
        return self.select_related("primary").prefetch_related(
            models.Prefetch("members", queryset=active, to_attr="active_members")
        )

    def handled(self, *, dry_run_tag_id: int | bool | None = False) -> DuplicateGroupQuerySet:
        """Groups something is already being done with: in a plan that is queued or running,
        kept in someone's review plan awaiting confirmation, or with a member a dry run tagged
        (and no undo has untagged since). ``dry_run_tag_id``: the setting, when the caller has
        read it already."""
        return self.filter(handled_q(dry_run_tag_id=dry_run_tag_id))

    def not_handled(self, *, dry_run_tag_id: int | bool | None = False) -> DuplicateGroupQuerySet:
        return self.exclude(handled_q(dry_run_tag_id=dry_run_tag_id))

    def dissolve_broken(self) -> int:
        """Delete groups with fewer than two members left (documents deleted in Paperless);
        groups a person closed as "not duplicates" are kept as the record of that decision.
        Returns how many were deleted."""
        broken = (
            self.exclude(status=DuplicateGroup.Status.NOT_DUPLICATE)
            .annotate(active=models.Count("members", filter=Q(members__removed=False)))
            .filter(active__lt=2)
        )
        return broken.delete()[1].get(DuplicateGroup._meta.label, 0)


def handled_q(*, dry_run_tag_id: int | bool | None = False) -> Q:
    """The condition of :meth:`DuplicateGroupQuerySet.handled`, for any group queryset
    (``dry_run_tag_id`` False: read from the configuration)."""
    from dedupe_project.models import Configuration

    in_plan = PlanItem.objects.filter(group_id=models.OuterRef("pk")).filter(
        Q(plan__status__in=[Plan.Status.QUEUED, Plan.Status.RUNNING])
        | Q(plan__status=Plan.Status.DRAFT, plan__review=True, paperless_id__isnull=False)
    )
    condition = Q(models.Exists(in_plan))
    tag_id = (
        Configuration.objects.get_solo().dry_run_tag_id
        if dry_run_tag_id is False
        else dry_run_tag_id
    )
    if tag_id is not None:
        tagged = GroupMember.objects.filter(
            group=models.OuterRef("pk"), removed=False, document__tags__paperless_id=tag_id
        )
        condition |= Q(models.Exists(tagged))
    return condition


class DuplicateGroup(models.Model):
    """Documents the engine found to be copies of each other, with what a person decided.

    ``confidence`` is the mean of the members' confidences to the primary. ``primary_chosen``
    marks a primary picked by a person: re-analysis keeps it. ``status`` is kept across
    re-analyses (see ``duplicates/grouping.py`` for how a new group is matched to an old one).
    """

    class Status(models.TextChoices):
        NEW = "new", "New"
        REVIEWED = "reviewed", "Reviewed"
        RESOLVED = "resolved", "Resolved"
        NOT_DUPLICATE = "not_duplicate", "Not duplicates"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    confidence = models.FloatField(default=0.0)
    primary = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    primary_chosen = models.BooleanField(default=False)
    member_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time an analysis added or dropped a member."
    )

    objects = DuplicateGroupQuerySet.as_manager()

    class Meta:
        ordering = ["-confidence", "pk"]
        indexes = [
            models.Index(fields=["status", "-confidence"], name="group_status_confidence"),
            models.Index(fields=["-confidence"], name="group_confidence"),
            models.Index(fields=["member_count"], name="group_member_count"),
        ]

    def __str__(self) -> str:
        return f"Group {self.pk} ({self.member_count}, {self.confidence:.2f}, {self.status})"

    def set_status(self, status: str, *, user: object = None) -> None:
        self.status = status
        self.status_changed_at = timezone.now()
        self.status_changed_by = user if getattr(user, "is_authenticated", False) else None
        self.save(update_fields=["status", "status_changed_at", "status_changed_by"])

    def choose_primary(self, document_id: int, *, user: object = None) -> None:
        """A person's choice of primary; kept by every re-analysis.

        Members' confidences are to the primary, so they are read again from the stored edges
        with the new primary, as the next analysis would, and the group's confidence follows."""
        members = list(self.members.all())
        if not any(m.document_id == document_id and not m.removed for m in members):
            raise ValueError(f"document {document_id} is not a member of group {self.pk}")
        ids = [member.document_id for member in members]
        to_primary = {
            (a if b == document_id else b): score
            for a, b, score in PairEdge.objects.touching([document_id])
            .filter(a_id__in=ids, b_id__in=ids)
            .values_list("a_id", "b_id", "confidence")
        }
        for member in members:
            member.is_primary = member.document_id == document_id
            member.confidence = None if member.is_primary else to_primary.get(member.document_id)
        GroupMember.objects.bulk_update(members, ["is_primary", "confidence"])
        scores = [m.confidence for m in members if not m.removed and m.confidence is not None]
        if scores:
            self.confidence = min(scores)
        self.primary_id = document_id
        self.primary_chosen = True
        self.updated_at = timezone.now()
        self.save(update_fields=["primary", "primary_chosen", "updated_at", "confidence"])

    def remove_member(self, document_id: int, *, user: object = None) -> None:
        """Take a document out; it never joins the documents it was grouped with again."""
        now = timezone.now()
        self.members.filter(document_id=document_id).update(
            removed=True,
            removed_at=now,
            removed_by=user if getattr(user, "is_authenticated", False) else None,
        )
        if self.primary_id == document_id:
            self.primary_id, self.primary_chosen = None, False
            self.save(update_fields=["primary", "primary_chosen"])

    def mark_not_duplicate(self, *, user: object = None) -> None:
        """Every pair of the group is "not duplicates", and the group says so."""
        ids = list(self.members.filter(removed=False).values_list("document_id", flat=True))
        PairDecision.objects.record_not_duplicate(document_ids=ids, user=user)
        self.set_status(self.Status.NOT_DUPLICATE, user=user)


class GroupMember(models.Model):
    group = models.ForeignKey(DuplicateGroup, on_delete=models.CASCADE, related_name="members")
    document = models.ForeignKey(
        "documents.Document", on_delete=models.CASCADE, related_name="group_memberships"
    )
    confidence = models.FloatField(
        null=True, blank=True, help_text="Confidence to the group's primary (none for it)."
    )
    is_primary = models.BooleanField(default=False)
    removed = models.BooleanField(default=False)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_primary", "-confidence", "document_id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "document"], name="groupmember_unique"),
        ]
        indexes = [
            models.Index(fields=["document", "removed"], name="groupmember_document"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} in group {self.group_id}"


class PairDecisionQuerySet(models.QuerySet["PairDecision"]):
    def between(self, first: int, second: int) -> PairDecisionQuerySet:
        a, b = sorted((first, second))
        return self.filter(a_id=a, b_id=b)

    def record_not_duplicate(self, *, document_ids: Iterable[int], user: object = None) -> int:
        ids = sorted(set(document_ids))
        who = user if getattr(user, "is_authenticated", False) else None
        rows = [
            PairDecision(a_id=a, b_id=b, decided_by=who)
            for index, a in enumerate(ids)
            for b in ids[index + 1 :]
        ]
        self.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        return len(rows)


class PairDecision(models.Model):
    """A person said these two documents are not duplicates; no analysis groups them again."""

    a = models.ForeignKey("documents.Document", on_delete=models.CASCADE, related_name="+")
    b = models.ForeignKey("documents.Document", on_delete=models.CASCADE, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    objects = PairDecisionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["a", "b"], name="pairdecision_unique_pair"),
            models.CheckConstraint(condition=Q(a__lt=F("b")), name="pairdecision_a_lt_b"),
        ]

    def __str__(self) -> str:
        return f"{self.a_id} is not {self.b_id}"


def load_decisions() -> Decisions:
    """Everything a person decided, in the engine's terms."""
    not_duplicate = {frozenset(pair) for pair in PairDecision.objects.values_list("a_id", "b_id")}
    removed: dict[int, set[int]] = {}
    removed_rows = GroupMember.objects.filter(removed=True).values_list("group_id", "document_id")
    by_group: dict[int, list[int]] = {}
    for group_id, document_id in removed_rows:
        by_group.setdefault(group_id, []).append(document_id)
    if by_group:
        for group_id, document_id in GroupMember.objects.filter(
            group_id__in=list(by_group)
        ).values_list("group_id", "document_id"):
            for gone in by_group[group_id]:
                if gone != document_id:
                    removed.setdefault(gone, set()).add(document_id)
    primaries = set(
        DuplicateGroup.objects.filter(primary_chosen=True, primary__isnull=False).values_list(
            "primary_id", flat=True
        )
    )
    return Decisions(
        not_duplicate=not_duplicate,
        removed={doc: frozenset(others) for doc, others in removed.items()},
        primaries=primaries,
    )


class AnalysisStatusManager(models.Manager["AnalysisStatus"]):
    def get_solo(self) -> AnalysisStatus:
        status, _ = self.get_or_create(pk=1)
        return status


class AnalysisStatus(models.Model):
    """What the stored edges and groups were made with: the scoring key their confidences were
    computed under (a different key means re-score), the last runs, and the cursor of an
    unfinished full run (any later analysis job resumes it, like the sync's cursor)."""

    scoring_key = models.CharField(max_length=32, blank=True)
    factors_version = models.PositiveIntegerField(
        default=0,
        help_text="The engine's FACTORS_VERSION the stored edges' factors were computed with; "
        "another one makes the next analysis a full one.",
    )
    last_full_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_job_id = models.BigIntegerField(null=True, blank=True)
    cursor = models.JSONField(
        default=dict, blank=True, help_text="Where an unfinished full analysis stands."
    )

    objects = AnalysisStatusManager()

    class Meta:
        verbose_name_plural = "analysis status"

    def __str__(self) -> str:
        return "Analysis status"


# --- Actions: frozen plans, their items, the audit log, our own changes ------------------------
# (owned by the actions work: duplicates/actions.py runs them; keep this block together)


class PlanQuerySet(models.QuerySet["Plan"]):
    def history(self) -> PlanQuerySet:
        return self.exclude(status=Plan.Status.DRAFT).select_related("created_by", "job")

    def for_document(self, paperless_id: int) -> PlanQuerySet:
        return self.filter(items__paperless_id=paperless_id).distinct()


class Plan(models.Model):
    """What a person confirmed, frozen: the action, the exact documents (with a snapshot of each
    taken at review time), the groups, dry run or not, who and when. Executed by the ``action``
    job (:func:`duplicates.actions.execute_plan`), item by item, never beyond what it lists."""

    class Action(models.TextChoices):
        MARK_REVIEWED = "mark_reviewed", "Mark reviewed"
        RESOLVE = "resolve", "Resolve"
        NOT_DUPLICATE = "not_duplicate", "Mark not duplicates"
        DELETE_DUPLICATES = "delete_duplicates", "Delete the non-primary documents"
        TAG_DUPLICATES = "tag_duplicates", "Tag the non-primary documents"
        DELETE_DOCUMENT = "delete_document", "Delete one document"
        UNDO_DRY_RUN = "undo_dry_run", "Undo a dry run (remove the tag)"
        KEEP_AS_VERSION = (
            "keep_as_version",
            "Keep the non-primary documents as versions of the primary",
        )

    class Status(models.TextChoices):
        DRAFT = "draft", "Awaiting confirmation"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    GROUP_ACTIONS = (Action.MARK_REVIEWED, Action.RESOLVE, Action.NOT_DUPLICATE)
    DELETING_ACTIONS = (Action.DELETE_DUPLICATES, Action.DELETE_DOCUMENT, Action.KEEP_AS_VERSION)
    """Actions that move documents to the trash (keeping as a version first moves the file into
    the kept document); a dry run only tags instead."""
    TAGGING_ACTIONS = (Action.TAG_DUPLICATES,)

    action = models.CharField(max_length=32, choices=Action.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    dry_run = models.BooleanField(default=False)
    merge_metadata = models.BooleanField(
        default=False,
        help_text="Before deleting, the kept document receives tags, notes, custom fields, ASN.",
    )
    tag_paperless_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The tag added (tagging, dry runs) or removed (undo)."
    )
    tag_name = models.CharField(max_length=256, blank=True)
    group_ids = models.JSONField(default=list, blank=True)
    filter_query = models.TextField(
        blank=True, help_text="The list filter the groups were chosen by ('all N matching')."
    )
    source_plan = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undo_plans"
    )
    job = models.ForeignKey(
        "processing.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
    review = models.BooleanField(
        default=False, help_text="Collected in review mode, one group and one key at a time."
    )

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "-created_at"], name="plan_status_created")]

    def __str__(self) -> str:
        return f"Plan {self.pk}: {self.get_action_display()} ({self.status})"

    @property
    def touches_paperless(self) -> bool:
        return self.action not in self.GROUP_ACTIONS

    @property
    def deletes(self) -> bool:
        """True when confirming moves documents to the Paperless trash (not a dry run)."""
        return self.action in self.DELETING_ACTIONS and not self.dry_run

    @property
    def can_confirm(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def can_undo(self) -> bool:
        """A finished dry run whose tag is still on some documents (no undo done yet)."""
        return (
            self.dry_run
            and self.action in self.DELETING_ACTIONS
            and self.status in (self.Status.DONE, self.Status.FAILED)
            and not self.undo_plans.exclude(
                status__in=[self.Status.DRAFT, self.Status.CANCELLED, self.Status.FAILED]
            ).exists()
            and self.items.filter(status=PlanItem.Status.DONE).exists()
        )

    def item_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(PlanItem.Status.values, 0)
        for row in self.items.values("status").annotate(n=models.Count("pk")):
            counts[row["status"]] = row["n"]
        return counts


class PlanItem(models.Model):
    """One document (or, for group-only actions, one group) of a plan, with the snapshot the
    person reviewed and its own outcome. ``stage`` records how far a document got, so a job
    killed mid-document resumes at the right step (never deleting or noting twice)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    class Stage(models.TextChoices):
        NEW = "", "Not started"
        CHECKED = "checked", "Re-checked against Paperless"
        VERSIONING = "versioning", "Sent to Paperless as a new version of the kept document"
        ACTING = "acting", "Change sent to Paperless"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    group_id = models.BigIntegerField(null=True, blank=True)
    paperless_id = models.PositiveBigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=1024, blank=True)
    original_checksum = models.CharField(max_length=64, blank=True)
    archive_checksum = models.CharField(max_length=64, blank=True)
    modified = models.DateTimeField(null=True, blank=True)
    kept_paperless_id = models.PositiveBigIntegerField(null=True, blank=True)
    kept_title = models.CharField(max_length=1024, blank=True)
    kept_checksum = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, default="")
    reason = models.TextField(blank=True, help_text="Why it was skipped, or the error.")
    data = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="planitem_unique_position"),
        ]
        indexes = [models.Index(fields=["paperless_id"], name="planitem_document")]

    def __str__(self) -> str:
        return f"Plan {self.plan_id} item {self.position} ({self.status})"


class ReviewDecisionQuerySet(models.QuerySet["ReviewDecision"]):
    def group_ids(self) -> list[int]:
        """The decided groups, in the order they were decided."""
        return list(self.order_by("pk").values_list("group_id", flat=True))


class ReviewDecision(models.Model):
    """One key pressed in review mode, on one group, collected into a draft plan (``plan``).

    ``keep`` adds the group's other documents to the plan (nothing is deleted until a person
    confirms the plan); ``not_duplicate`` closes the group at once, as on the group page;
    ``skip`` only moves on. What the decision changed is kept (the primary and the status before
    it) so "undo" puts the group back exactly."""

    class Kind(models.TextChoices):
        KEEP = "keep", "Keep the primary, delete the others"
        NOT_DUPLICATE = "not_duplicate", "Not duplicates"
        SKIP = "skip", "Skipped"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="review_decisions")
    group_id = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    kept_paperless_id = models.PositiveBigIntegerField(null=True, blank=True)
    previous_primary_id = models.BigIntegerField(null=True, blank=True)
    previous_primary_chosen = models.BooleanField(default=False)
    previous_status = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReviewDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "group_id"], name="reviewdecision_one_per_group"
            )
        ]

    def __str__(self) -> str:
        return f"Plan {self.plan_id} group {self.group_id}: {self.kind}"


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def filtered(
        self,
        *,
        action: str = "",
        q: str = "",
        dry_run: bool | None = None,
        user: str = "",
        plan: int | None = None,
    ) -> AuditEntryQuerySet:
        queryset = self
        if action:
            queryset = queryset.filter(action=action)
        if dry_run is not None:
            queryset = queryset.filter(dry_run=dry_run)
        if user:
            queryset = queryset.filter(username__iexact=user)
        if plan:
            queryset = queryset.filter(plan_id=plan)
        text = q.strip()
        if text:
            condition = Q(title__icontains=text) | Q(original_checksum__iexact=text)
            if text.isdigit():
                condition |= Q(paperless_id=int(text)) | Q(group_id=int(text))
            queryset = queryset.filter(condition)
        return queryset


class AuditEntry(models.Model):
    """One change we made in Paperless: who, when, which document (its title and checksums as
    they were), from which group and plan. Never edited; kept when the document is gone."""

    class Action(models.TextChoices):
        DELETED = "deleted", "Moved to the Paperless trash"
        DRY_RUN_TAGGED = "dry_run_tagged", "Dry run: tagged instead of deleted"
        TAGGED = "tagged", "Tagged"
        UNTAGGED = "untagged", "Dry-run tag removed"
        MERGED = "merged", "Received metadata from a deleted duplicate"
        VERSIONED = "versioned", "Kept as a version of the kept document, then moved to the trash"
        AI_APPLIED = "ai_applied", "AI suggestions applied"
        AI_REVERTED = "ai_reverted", "AI suggestions reverted"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    dry_run = models.BooleanField(default=False)
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    group_id = models.BigIntegerField(null=True, blank=True)
    paperless_id = models.PositiveBigIntegerField()
    title = models.CharField(max_length=1024, blank=True)
    original_checksum = models.CharField(max_length=64, blank=True)
    archive_checksum = models.CharField(max_length=64, blank=True)
    kept_paperless_id = models.PositiveBigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["paperless_id"], name="audit_document")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} #{self.paperless_id}"


class OwnChangeQuerySet(models.QuerySet["OwnChange"]):
    def live(self, *, now: object = None) -> OwnChangeQuerySet:
        return self.filter(expires_at__gt=now or timezone.now())


class OwnChange(models.Model):
    """A change we are making (or made) to a Paperless document, so the "document updated"
    webhook it fires is recognised as ours (see :func:`duplicates.actions.is_own_change`).

    Written before the request is sent (``modified`` empty: any update of that document until
    ``expires_at`` is ours) and completed after it with the ``modified`` Paperless reported,
    which from then on must match exactly."""

    paperless_id = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=32)
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.CASCADE, related_name="own_changes"
    )
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    modified = models.DateTimeField(null=True, blank=True)

    objects = OwnChangeQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["paperless_id", "expires_at"], name="ownchange_document")]

    def __str__(self) -> str:
        return f"own {self.kind} of #{self.paperless_id}"
