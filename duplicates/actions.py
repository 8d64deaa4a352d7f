"""Actions on duplicates: frozen plans a person confirms, and their safe execution.

Rules (the reasons are in the issue: people fear losing a document more than anything else):

* A plan is made from what the person saw (our mirror) and frozen: the action, every document
  with a snapshot (title, checksums, ``modified``), the document kept for each group, dry run or
  not. Confirming it is a one-way, once-only step (a second confirmation is refused); the ``action``
  job then does exactly what the plan lists, nothing more.
* What a person decided binds at once and in every plan: a document a "not duplicates" decision
  separates from the kept one (or taken out of its group, or in a group marked "not
  duplicates") is left out when a plan is made, skipped when it is confirmed, and skipped again
  when the plan runs (:func:`still_separate`).
* The kept copy is the group's primary, chosen by the policy in ``duplicates/engine/primary.py``
  (most pages, a text layer, ...) or by a person. When it has fewer pages or less text than one
  it would delete, the plan says so and a real deletion must be confirmed again
  (:class:`KeptHasLess`).
* Just before a document is touched it is re-read from Paperless. Gone, or changed since review
  (``modified`` or the original checksum differs from the snapshot), means skipped and reported,
  never deleted. The kept document is re-read too: if it is gone or its file changed, none of its
  duplicates is deleted. A document that has become a group's primary, or whose group's primary
  changed since review, is skipped as well. A primary is never deleted.
* Progress is kept per document in the database (``PlanItem.status`` and ``stage``): a job killed
  at any point resumes with the next unfinished document, and a document whose change was already
  sent is re-read before anything is sent again (no second DELETE, no second note).
* Deleting moves the document to the Paperless trash (restorable there); the trash is never
  emptied. With ``merge_metadata`` (on by default for real deletions) the kept document first
  receives the deleted one's tags, notes (with a line saying where they came from), custom fields
  it lacks, and its ASN if it has none; the confirmation lists what will be carried over.
* In a dry run (the setting, or the person's choice) deleting only adds the dry-run tag; dry runs
  can be undone by a new plan that removes the tag.
* Every change is in the audit log; deleted documents leave our mirror (and so their groups; a group
  left with one member is resolved). Changes we make are recorded as :class:`OwnChange` rows so the
  "document updated" webhook they fire is recognised by :func:`is_own_change`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from documents.connection import ConnectionNotConfigured, get_client
from documents.models import Document, Tag
from documents.paperless import (
    AuthenticationError,
    NotFound,
    PaperlessClient,
    PaperlessError,
    RateLimited,
    ServerError,
    Unreachable,
    root_checksum,
)
from duplicates.models import (
    AuditEntry,
    DuplicateGroup,
    GroupMember,
    OwnChange,
    PairDecision,
    Plan,
    PlanItem,
)
from processing import jobs
from processing.jobs import JobCancelled, JobContext, job_kind
from processing.models import Job

logger = logging.getLogger(__name__)

OWN_CHANGE_PENDING = timedelta(minutes=2)
"""How long a change we are sending counts as ours for any ``modified`` (the webhook can arrive
before we know the new ``modified``)."""
OWN_CHANGE_KEEP = timedelta(days=1)
"""How long a completed change is remembered, matched by its exact ``modified``."""
ITEM_BATCH = 1000

ACTION_HELP: dict[str, str] = {
    Plan.Action.MARK_REVIEWED: "Mark the groups reviewed; nothing changes in Paperless.",
    Plan.Action.RESOLVE: "Mark the groups resolved; nothing changes in Paperless.",
    Plan.Action.NOT_DUPLICATE: (
        "Record that the documents are not duplicates; they are never grouped again."
    ),
    Plan.Action.DELETE_DUPLICATES: (
        "Move every document except the primary to the Paperless trash (a dry run only tags them)."
    ),
    Plan.Action.TAG_DUPLICATES: "Add a tag in Paperless to every document except the primary.",
    Plan.Action.DELETE_DOCUMENT: "Move this one document to the Paperless trash.",
    Plan.Action.UNDO_DRY_RUN: "Remove the dry-run tag from the documents a dry run tagged.",
    Plan.Action.KEEP_AS_VERSION: (
        "Add each document except the primary to the primary as a new file version in Paperless "
        "(labelled with where it came from), then move it to the Paperless trash once Paperless "
        "lists the version (a dry run only tags them)."
    ),
}
BULK_ACTIONS = (
    Plan.Action.MARK_REVIEWED,
    Plan.Action.RESOLVE,
    Plan.Action.NOT_DUPLICATE,
    Plan.Action.DELETE_DUPLICATES,
    Plan.Action.TAG_DUPLICATES,
    Plan.Action.KEEP_AS_VERSION,
)
FATAL_ERRORS = (Unreachable, ServerError, RateLimited, AuthenticationError, ConnectionNotConfigured)
"""Failures that are not about one document: the job stops and can be resumed."""


class PlanError(Exception):
    """A plan cannot be made or confirmed; ``code`` for the API, the message for a person."""

    def __init__(self, message: str, *, code: str = "invalid_plan", status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class PlanAlreadyConfirmed(PlanError):
    def __init__(self, plan: Plan) -> None:
        super().__init__(
            f"Plan #{plan.pk} was already confirmed ({plan.get_status_display().lower()}); "
            "it runs only once.",
            code="plan_already_confirmed",
            status=409,
        )


def _who(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


# --- choosing groups ------------------------------------------------------------------------------


def groups_matching(filter_query: str) -> list[int]:
    """Ids of every group the list page's filter (its query string) matches, in list order: the
    list's own :func:`duplicates.filters.matching_group_ids`, so "all N matching" means exactly
    the groups the page counted. Raises ``FilterError`` (a ``ValueError``) for a bad filter."""
    from django.http import QueryDict

    from duplicates.filters import matching_group_ids

    return matching_group_ids(QueryDict(filter_query or ""))


def resolve_group_ids(
    *, group_ids: Iterable[int] = (), select_all: bool = False, filter_query: str = ""
) -> list[int]:
    """The selection: every group matching the filter, or the ticked ones that exist."""
    if select_all:
        return groups_matching(filter_query)
    wanted = list(dict.fromkeys(int(pk) for pk in group_ids))
    existing = set(DuplicateGroup.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    return [pk for pk in wanted if pk in existing]


# --- making plans ---------------------------------------------------------------------------------


def _snapshot(document: Document) -> dict[str, Any]:
    return {
        "paperless_id": document.paperless_id,
        "title": document.title,
        "original_checksum": document.original_checksum,
        "archive_checksum": document.archive_checksum,
        "modified": document.modified,
    }


def _primary_elsewhere(document_ids: Iterable[int]) -> dict[int, int]:
    """Document pk -> a group it is the (active) primary of."""
    rows = DuplicateGroup.objects.filter(primary_id__in=list(document_ids)).values_list(
        "primary_id", "pk"
    )
    return dict(rows)


def separated_pairs(document_ids: Iterable[int]) -> set[frozenset[int]]:
    """Pairs among ``document_ids`` (pks) a person said are not duplicates."""
    ids = list(set(document_ids))
    pairs: set[frozenset[int]] = set()
    for start in range(0, len(ids), 900):
        part = ids[start : start + 900]
        rows = PairDecision.objects.filter(a_id__in=part, b_id__in=ids).values_list("a_id", "b_id")
        pairs.update(frozenset(row) for row in rows)
    return pairs


def _separation(*, document: Document, kept: Document, pairs: set[frozenset[int]]) -> str:
    if frozenset((document.pk, kept.pk)) in pairs:
        return (
            f"A person marked it not a duplicate of the kept #{kept.paperless_id}: it is never "
            "deleted or tagged as its duplicate."
        )
    return ""


def carry_over(*, document: Document, kept: Document, skip_tags: set[int | None]) -> dict[str, Any]:
    """What merging would give the kept document from ``document``, from the mirror (the run
    reads both again from Paperless): tag names it lacks, notes, custom fields it lacks, the ASN
    if it has none."""
    from documents.models import CustomField

    kept_tags = {tag.pk for tag in kept.tags.all()}
    tags = sorted(
        tag.name
        for tag in document.tags.all()
        if tag.pk not in kept_tags and tag.paperless_id not in skip_tags
    )
    have = {entry.get("field") for entry in kept.custom_fields or [] if isinstance(entry, dict)}
    extra = [
        entry.get("field")
        for entry in document.custom_fields or []
        if isinstance(entry, dict) and entry.get("field") not in have
    ]
    names = dict(
        CustomField.objects.filter(paperless_id__in=extra).values_list("paperless_id", "name")
    )
    carried: dict[str, Any] = {}
    if tags:
        carried["tags"] = tags
    if document.notes_count:
        carried["notes"] = document.notes_count
    if extra:
        carried["custom_fields"] = [names.get(field, f"#{field}") for field in extra]
    if document.archive_serial_number is not None and kept.archive_serial_number is None:
        carried["asn"] = document.archive_serial_number
    return carried


def describe_carry_over(carried: dict[str, Any]) -> str:
    """ "tags Invoice, Paid; 2 notes; custom field Amount; ASN 1234" """
    parts = []
    if carried.get("tags"):
        parts.append(
            "tag" + ("s " if len(carried["tags"]) > 1 else " ") + ", ".join(carried["tags"])
        )
    if carried.get("notes"):
        parts.append(f"{carried['notes']} note{'s' if carried['notes'] != 1 else ''}")
    if carried.get("custom_fields"):
        fields = carried["custom_fields"]
        parts.append(
            "custom field" + ("s " if len(fields) > 1 else " ") + ", ".join(map(str, fields))
        )
    if carried.get("asn") is not None:
        parts.append(f"ASN {carried['asn']}")
    return "; ".join(parts)


def _shortfalls(*, facts: dict[int, Any], document: Document, kept: Document) -> list[str]:
    from duplicates.engine.primary import shortfalls

    mine, theirs = facts.get(kept.pk), facts.get(document.pk)
    if mine is None or theirs is None:
        return []
    return shortfalls(mine, theirs)


def _annotate(item: PlanItem, *, document: Document, kept: Document, plan: Plan,
              facts: dict[int, Any], skip_tags: set[int | None]) -> None:  # fmt: skip
    """What the confirmation shows for a document to act on: where the kept copy has less, and
    what merging carries over to it."""
    lacking = _shortfalls(facts=facts, document=document, kept=kept)
    if lacking:
        item.data["shortfalls"] = lacking
    if plan.action in Plan.DELETING_ACTIONS:
        carried = carry_over(document=document, kept=kept, skip_tags=skip_tags)
        if carried:
            item.data["carry"] = carried


def _skip_tags(plan: Plan) -> set[int | None]:
    from dedupe_project.models import Configuration

    return {Configuration.objects.get_solo().dry_run_tag_id, plan.tag_paperless_id}


def _items_for_groups(plan: Plan, group_ids: Sequence[int]) -> list[PlanItem]:
    from duplicates.keeping import by_paperless_id, facts_for

    items: list[PlanItem] = []
    if plan.action in Plan.GROUP_ACTIONS:
        for position, group_id in enumerate(group_ids):
            items.append(PlanItem(plan=plan, position=position, group_id=group_id))
        return items
    groups = (
        DuplicateGroup.objects.filter(pk__in=group_ids)
        .for_list()
        .prefetch_related("primary__tags", "active_members__document__tags")
        .in_bulk()
    )
    member_docs = [m.document for g in groups.values() for m in g.active_members]
    primaries = _primary_elsewhere(d.pk for d in member_docs)
    pairs = separated_pairs(d.pk for d in member_docs)
    facts = by_paperless_id(facts_for(d.pk for d in member_docs))
    skip_tags = _skip_tags(plan)
    seen: set[int] = set()
    for group_id in group_ids:
        group = groups.get(group_id)
        if group is None:
            continue
        kept = group.primary
        if group.status == DuplicateGroup.Status.NOT_DUPLICATE:
            items.append(
                PlanItem(
                    plan=plan,
                    position=len(items),
                    group_id=group_id,
                    status=PlanItem.Status.SKIPPED,
                    reason='A person marked this group "not duplicates": nothing in it is '
                    "deleted or tagged.",
                )
            )
            continue
        if kept is None or not any(m.document_id == kept.pk for m in group.active_members):
            items.append(
                PlanItem(
                    plan=plan,
                    position=len(items),
                    group_id=group_id,
                    status=PlanItem.Status.SKIPPED,
                    reason="The group has no primary: choose the document to keep first.",
                )
            )
            continue
        for member in group.active_members:
            document = member.document
            if document.pk == kept.pk:
                continue
            if document.pk in seen:
                continue
            seen.add(document.pk)
            item = PlanItem(
                plan=plan,
                position=len(items),
                group_id=group_id,
                kept_paperless_id=kept.paperless_id,
                kept_title=kept.title,
                kept_checksum=kept.original_checksum,
                **_snapshot(document),
            )
            separated = _separation(document=document, kept=kept, pairs=pairs)
            if document.pk in primaries:
                item.status = PlanItem.Status.SKIPPED
                item.reason = (
                    f"It is the primary of group {primaries[document.pk]}: a primary is never "
                    "deleted or tagged as a duplicate."
                )
            elif separated:
                item.status, item.reason = PlanItem.Status.SKIPPED, separated
            else:
                _annotate(item, document=document, kept=kept, plan=plan, facts=facts,
                          skip_tags=skip_tags)  # fmt: skip
            items.append(item)
    return items


@transaction.atomic
def create_plan(
    *,
    action: str,
    user: Any = None,
    group_ids: Iterable[int] = (),
    select_all: bool = False,
    filter_query: str = "",
    document_id: int | None = None,
    group_id: int | None = None,
    tag_paperless_id: int | None = None,
    dry_run: bool = False,
    merge_metadata: bool = True,
) -> Plan:
    """Freeze what the person is about to confirm. ``document_id`` is a Paperless id (the
    one-document delete from a group page, ``group_id`` its group); otherwise the groups are the
    ticked ``group_ids`` or, with ``select_all``, every group ``filter_query`` matches."""
    from dedupe_project.models import Configuration

    if action not in Plan.Action.values or action == Plan.Action.UNDO_DRY_RUN:
        raise PlanError(f"Unknown action {action!r}.", code="unknown_action")
    config = Configuration.objects.get_solo()
    plan = Plan(
        action=action,
        created_by=_who(user),
        dry_run=bool(dry_run or config.dry_run) and action in Plan.DELETING_ACTIONS,
        merge_metadata=bool(merge_metadata) and action in Plan.DELETING_ACTIONS,
        filter_query=filter_query if select_all else "",
    )
    if action == Plan.Action.TAG_DUPLICATES:
        tag = (
            Tag.objects.filter(paperless_id=tag_paperless_id).first() if tag_paperless_id else None
        )
        if tag is None:
            raise PlanError("Choose the tag to add.", code="tag_required")
        plan.tag_paperless_id, plan.tag_name = tag.paperless_id, tag.name
    if plan.dry_run:
        plan.tag_paperless_id = config.dry_run_tag_id
        plan.tag_name = config.dry_run_tag_name
    if action == Plan.Action.KEEP_AS_VERSION:
        _require_versions()
        if document_id is not None:
            if group_id is None:
                raise PlanError(
                    "Choose the group: the document becomes a version of its primary.",
                    code="group_required",
                )
            return _create_document_plan(plan, document_id=document_id, group_id=group_id)
    if action == Plan.Action.DELETE_DOCUMENT:
        return _create_document_plan(plan, document_id=document_id, group_id=group_id)
    ids = resolve_group_ids(group_ids=group_ids, select_all=select_all, filter_query=filter_query)
    if not ids:
        raise PlanError("Select at least one group.", code="empty_selection")
    plan.group_ids = ids
    plan.save()
    items = _items_for_groups(plan, ids)
    PlanItem.objects.bulk_create(items, batch_size=ITEM_BATCH)
    return plan


def versions_available() -> str:
    """Why this Paperless cannot keep a duplicate as a version ("" when it can), from what the
    last sync or webhook learnt of the server."""
    from documents.models import SyncState
    from duplicates.versions import versions_unavailable

    api_version = SyncState.objects.filter(pk=1).values_list("api_version", flat=True).first()
    return versions_unavailable(api_version=api_version)


def _require_versions() -> None:
    """Keeping as a version is offered only where the server has versions (API 10); when it is
    not known yet, ask the server."""
    from documents.models import SyncState

    reason = versions_available()
    if reason and SyncState.objects.get_solo().api_version is None:
        try:
            with get_client() as client:
                SyncState.record_api_version(client.api_version)
        except (PaperlessError, ConnectionNotConfigured) as error:
            raise PlanError(f"Paperless could not be asked: {error}", code="paperless") from error
        reason = versions_available()
    if reason:
        raise PlanError(reason, code="versions_unsupported")


def _create_document_plan(plan: Plan, *, document_id: int | None, group_id: int | None) -> Plan:
    document = Document.objects.filter(paperless_id=document_id).first() if document_id else None
    if document is None:
        raise PlanError("That document is not in the mirror (sync first).", code="not_found")
    primary_of = (
        DuplicateGroup.objects.filter(primary=document)
        .exclude(status=DuplicateGroup.Status.NOT_DUPLICATE)
        .first()
    )
    if primary_of is not None:
        raise PlanError(
            f"#{document.paperless_id} is the primary of group {primary_of.pk}: choose another "
            "document to keep first. A primary is never deleted.",
            code="is_primary",
        )
    group = None
    if group_id is not None:
        group = DuplicateGroup.objects.filter(
            pk=group_id, members__document=document, members__removed=False
        ).first()
        if group is None:
            raise PlanError("The document is not a member of that group.", code="not_member")
    kept = group.primary if group is not None else None
    if kept is not None and _separation(
        document=document, kept=kept, pairs=separated_pairs([document.pk, kept.pk])
    ):
        raise PlanError(
            f"A person marked #{document.paperless_id} not a duplicate of the kept "
            f"#{kept.paperless_id}: it is not deleted as its duplicate.",
            code="not_a_duplicate",
        )
    plan.group_ids = [group.pk] if group is not None else []
    plan.save()
    item = PlanItem(
        plan=plan,
        position=0,
        group_id=group.pk if group is not None else None,
        kept_paperless_id=kept.paperless_id if kept else None,
        kept_title=kept.title if kept else "",
        kept_checksum=kept.original_checksum if kept else "",
        **_snapshot(document),
    )
    if kept is not None:
        from duplicates.keeping import by_paperless_id, facts_for

        facts = by_paperless_id(facts_for([document.pk, kept.pk]))
        _annotate(item, document=document, kept=kept, plan=plan, facts=facts,
                  skip_tags=_skip_tags(plan))  # fmt: skip
    item.save()
    return plan


@transaction.atomic
def create_undo_plan(*, plan: Plan, user: Any = None) -> Plan:
    """A plan removing a dry run's tag from the documents it tagged."""
    if not (plan.dry_run and plan.action in Plan.DELETING_ACTIONS):
        raise PlanError("Only a dry run can be undone.", code="not_a_dry_run")
    if not plan.can_undo:
        raise PlanError(
            "This dry run has nothing to undo (not finished, already undone, or nothing tagged).",
            code="nothing_to_undo",
            status=409,
        )
    undo = Plan.objects.create(
        action=Plan.Action.UNDO_DRY_RUN,
        created_by=_who(user),
        source_plan=plan,
        tag_paperless_id=plan.tag_paperless_id,
        tag_name=plan.tag_name,
        group_ids=plan.group_ids,
    )
    done = plan.items.filter(status=PlanItem.Status.DONE).order_by("position")
    PlanItem.objects.bulk_create(
        [
            PlanItem(
                plan=undo,
                position=position,
                group_id=item.group_id,
                paperless_id=item.paperless_id,
                title=item.title,
                original_checksum=item.original_checksum,
                archive_checksum=item.archive_checksum,
                modified=item.modified,
            )
            for position, item in enumerate(done)
        ],
        batch_size=ITEM_BATCH,
    )
    return undo


class KeptHasLess(PlanError):
    """The kept copy has fewer pages or less text than one the plan deletes: ask again."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__(
            "The kept document has less than one it would delete: "
            + "; ".join(lines)
            + ". Choose another primary, or confirm again saying you know.",
            code="kept_has_less",
            status=409,
        )


def plan_shortfalls(plan: Plan) -> list[str]:
    """What the kept documents lack against those still to be deleted (pending items)."""
    return [
        line
        for data in plan.items.filter(status=PlanItem.Status.PENDING).values_list("data", flat=True)
        for line in (data or {}).get("shortfalls", [])
    ]


def still_separate(item: PlanItem) -> str:
    """Why ``item`` must not be acted on any more because of a decision taken since the plan
    was made ("" when nothing changed): the document left the group, the group was marked "not
    duplicates", or a person said it is not a duplicate of the kept one."""
    if item.group_id is None or item.kept_paperless_id is None or item.paperless_id is None:
        return ""
    group = DuplicateGroup.objects.filter(pk=item.group_id).only("status").first()
    if group is not None and group.status == DuplicateGroup.Status.NOT_DUPLICATE:
        return 'A person marked the group "not duplicates" since review.'
    pks = dict(
        Document.objects.filter(
            paperless_id__in=[item.paperless_id, item.kept_paperless_id]
        ).values_list("paperless_id", "pk")
    )
    document, kept = pks.get(item.paperless_id), pks.get(item.kept_paperless_id)
    if (
        document is not None
        and kept is not None
        and PairDecision.objects.between(document, kept).exists()
    ):
        return (
            f"A person marked it not a duplicate of the kept #{item.kept_paperless_id} since "
            "review."
        )
    if (
        group is not None
        and not GroupMember.objects.filter(
            group_id=item.group_id, document_id=document, removed=False
        ).exists()
    ):
        return "It was taken out of the group since review."
    return ""


def revalidate(plan: Plan) -> int:
    """Skip every pending item a decision taken since the plan was made separates from its
    kept document; returns how many."""
    skipped = 0
    for item in plan.items.filter(status=PlanItem.Status.PENDING, paperless_id__isnull=False):
        reason = still_separate(item)
        if reason:
            item.status, item.reason, item.finished_at = (
                PlanItem.Status.SKIPPED,
                reason,
                timezone.now(),
            )
            item.save(update_fields=["status", "reason", "finished_at"])
            skipped += 1
    return skipped


def confirm_plan(
    *,
    plan: Plan,
    user: Any = None,
    dry_run: bool | None = None,
    merge_metadata: bool | None = None,
    accept_kept_has_less: bool = False,
) -> Job:
    """Confirm a draft plan once and queue its job. Only the safer way can be chosen here: a
    dry run (or the setting) turns a deletion into tagging, never the other way round.

    Decisions taken since the plan was made win: the documents they separate from the kept
    one are skipped here (and checked again when the plan runs). A real deletion whose kept
    document has fewer pages or less text than one it deletes is refused (:class:`KeptHasLess`)
    unless ``accept_kept_has_less`` says the person saw that and confirmed again."""
    from dedupe_project.models import Configuration

    config = Configuration.objects.get_solo()
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        if locked.status != Plan.Status.DRAFT:
            raise PlanAlreadyConfirmed(locked)
        revalidate(locked)
        if locked.action in Plan.DELETING_ACTIONS:
            if (dry_run or config.dry_run) and not locked.dry_run:
                locked.dry_run = True
                locked.tag_paperless_id = config.dry_run_tag_id
                locked.tag_name = config.dry_run_tag_name
            if merge_metadata is not None:
                locked.merge_metadata = bool(merge_metadata)
            if locked.dry_run:
                locked.merge_metadata = False  # a dry run changes nothing but the tag
            else:
                lacking = plan_shortfalls(locked)
                if lacking and not accept_kept_has_less:
                    raise KeptHasLess(lacking)
        locked.status = Plan.Status.QUEUED
        locked.confirmed_at = timezone.now()
        locked.confirmed_by = _who(user)
        job = jobs.enqueue(kind=Job.Kind.ACTION, params={"plan": locked.pk}, user=user)
        locked.job = job
        locked.save()
    plan.refresh_from_db()
    return job


# --- the preview ----------------------------------------------------------------------------------


@dataclass
class GroupPreview:
    group_id: int | None
    kept_paperless_id: int | None
    kept_title: str
    items: list[PlanItem] = field(default_factory=list)


def plan_preview(plan: Plan) -> list[GroupPreview]:
    """The plan's items by group, in order, with the document kept in each."""
    groups: dict[Any, GroupPreview] = {}
    for item in plan.items.order_by("position"):
        item.carry_text = describe_carry_over((item.data or {}).get("carry", {}))
        key = item.group_id if item.group_id is not None else f"doc-{item.pk}"
        preview = groups.get(key)
        if preview is None:
            preview = groups[key] = GroupPreview(
                group_id=item.group_id,
                kept_paperless_id=item.kept_paperless_id,
                kept_title=item.kept_title,
            )
        preview.items.append(item)
    return list(groups.values())


# --- our own changes ------------------------------------------------------------------------------


def _as_datetime(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(str(value))


def is_own_change(paperless_id: int, modified: datetime | str | None) -> bool:
    """True when a "document updated" event for ``paperless_id`` at ``modified`` is one we caused:
    a change still being sent (any ``modified`` until it expires), or a finished one whose
    ``modified`` is exactly this. A later edit by a person has another ``modified``: not ours."""
    when = _as_datetime(modified)
    for row in OwnChange.objects.live().filter(paperless_id=int(paperless_id)):
        if row.modified is None or (when is not None and row.modified == when):
            return True
    return False


def begin_own_change(*, paperless_id: int, kind: str, plan: Plan | None = None) -> OwnChange:
    """Record, before sending it, a change we make to a Paperless document (any caller: these
    plans, AI suggestions being applied), so the webhook it fires is known as ours."""
    now = timezone.now()
    return OwnChange.objects.create(
        paperless_id=paperless_id,
        kind=kind,
        plan=plan,
        started_at=now,
        expires_at=now + OWN_CHANGE_PENDING,
    )


def finish_own_change(change: OwnChange, *, modified: datetime | None) -> None:
    change.modified = modified
    change.expires_at = timezone.now() + (OWN_CHANGE_KEEP if modified else OWN_CHANGE_PENDING)
    change.save(update_fields=["modified", "expires_at"])


def refresh_mirror(raw: dict[str, Any]) -> None:
    """Keep the mirror's ``modified`` and tags current after a change of ours."""
    _refresh_mirror(raw)


def _refresh_mirror(raw: dict[str, Any]) -> None:
    """Our change bumped ``modified`` (and tags, the ASN, notes, custom fields): keep the mirror
    current so the next review's snapshot is not mistaken for a change made by someone else.
    One transaction: a kill leaves the row as it was or as Paperless has it, never half."""
    if raw.get("modified") is None:
        return
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(paperless_id=raw["id"]).first()
        if document is None:
            return
        document.modified = raw["modified"]
        fields = ["modified"]
        if "archive_serial_number" in raw:
            document.archive_serial_number = raw["archive_serial_number"]
            fields.append("archive_serial_number")
        if isinstance(raw.get("custom_fields"), list):
            document.custom_fields = raw["custom_fields"]
            fields.append("custom_fields")
        if isinstance(raw.get("notes"), list):
            document.notes_count = len(raw["notes"])
            fields.append("notes_count")
        document.save(update_fields=fields)
        if "tags" in raw:
            document.tags.set(Tag.objects.filter(paperless_id__in=raw["tags"]))


# --- execution ------------------------------------------------------------------------------------


class Skip(Exception):
    """This document must not be touched; the message says why."""


@job_kind(Job.Kind.ACTION, queue="actions")
def action_job(ctx: JobContext) -> dict[str, Any]:
    return execute_plan(plan_id=int(ctx.params["plan"]), ctx=ctx)


def execute_plan(*, plan_id: int, ctx: JobContext | None = None) -> dict[str, Any]:
    """Carry out a confirmed plan; safe to call again (it continues with unfinished items)."""
    plan = Plan.objects.get(pk=plan_id)
    if plan.status == Plan.Status.DRAFT:
        raise PlanError("The plan was not confirmed.", code="not_confirmed")
    if plan.status in (Plan.Status.DONE, Plan.Status.CANCELLED):
        return {"plan": plan.pk, **plan.counts}
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.RUNNING, error="")
    plan.status = Plan.Status.RUNNING
    try:
        if plan.touches_paperless:
            with get_client() as client:
                executor = _Executor(plan=plan, client=client, ctx=ctx)
                try:
                    executor.run()
                finally:
                    try:
                        executor.refresh_kept()
                    except Exception:  # the plan's own outcome matters more; the sync catches up
                        logger.warning("kept documents not refreshed", exc_info=True)
        else:
            _Executor(plan=plan, client=None, ctx=ctx).run()
    except JobCancelled:
        _finish_plan(plan, status=Plan.Status.CANCELLED)
        raise
    except Exception as exc:
        _finish_plan(plan, status=Plan.Status.FAILED, error=f"{exc}")
        raise
    _finish_plan(plan, status=Plan.Status.DONE)
    return {"plan": plan.pk, **plan.counts}


def _finish_plan(plan: Plan, *, status: str, error: str = "") -> None:
    plan.counts = plan.item_counts()
    plan.status = status
    plan.error = error
    plan.finished_at = timezone.now()
    plan.save(update_fields=["counts", "status", "error", "finished_at"])


class _Executor:
    def __init__(self, *, plan: Plan, client: PaperlessClient | None, ctx: JobContext | None):
        self.plan = plan
        self.client = client
        self.ctx = ctx
        self.user = plan.confirmed_by
        self.kept_problem: dict[int, str | None] = {}
        self.kept_documents: dict[int, dict[str, Any]] = {}
        self.versioned: set[int] = set()  # kept documents that received a version

    # -- the loop --

    def run(self) -> None:
        plan = self.plan
        total = plan.items.count()
        done = plan.items.exclude(status=PlanItem.Status.PENDING).count()
        pending = list(plan.items.filter(status=PlanItem.Status.PENDING).order_by("position"))
        if pending and plan.touches_paperless:
            self._reread_in_flight(pending)
            self._prepare_tag()
        real_delete_blocked = self._real_delete_blocked()
        for item in pending:
            if self.ctx is not None:
                self.ctx.check_cancelled()
            try:
                if real_delete_blocked:
                    raise Skip(real_delete_blocked)
                self.process(item)
            except Skip as skip:
                self._close(item, status=PlanItem.Status.SKIPPED, reason=str(skip))
            except FATAL_ERRORS:
                raise
            except PaperlessError as error:
                self._close(item, status=PlanItem.Status.FAILED, reason=str(error))
            done += 1
            if self.ctx is not None:
                self.ctx.progress(
                    done=done,
                    total=total,
                    message=f"{plan.get_action_display()}: {done} of {total}",
                )
                self.ctx.save_checkpoint({"plan": plan.pk, "position": item.position})

    def _reread_in_flight(self, pending: list[PlanItem]) -> None:
        """A job killed while acting on a document left it changed in Paperless (tagged, its ASN
        moved, metadata merged into the kept one) but not in our mirror. Before going on, read
        those documents again from Paperless and bring the mirror in line."""
        assert self.client is not None
        ids: list[int] = []
        for item in pending:
            if item.stage:
                ids.append(item.paperless_id)
                if self.plan.merge_metadata and item.kept_paperless_id is not None:
                    ids.append(item.kept_paperless_id)
        for paperless_id in dict.fromkeys(i for i in ids if i is not None):
            try:
                raw = self.client.get_document(paperless_id)
            except NotFound:
                continue  # gone (deleted just before the kill): the step itself finds out
            _refresh_mirror(raw)

    def _real_delete_blocked(self) -> str:
        from dedupe_project.models import Configuration

        if self.plan.deletes and Configuration.objects.get_solo().dry_run:
            return "Dry-run mode was switched on after the plan was confirmed: nothing deleted."
        return ""

    def _prepare_tag(self) -> None:
        """A dry run's tag: the one frozen in the plan if Paperless still has it; otherwise (never
        made, or deleted in Paperless since) the configured dry-run tag, found by name or made
        again (``ensure_dry_run_tag`` records it in the configuration)."""
        from documents.tags import ensure_dry_run_tag

        plan = self.plan
        if not plan.dry_run:
            return
        if plan.tag_paperless_id and self._tag_exists(plan.tag_paperless_id):
            return
        tag = ensure_dry_run_tag(user=self.user)
        plan.tag_paperless_id, plan.tag_name = tag.paperless_id, tag.name
        plan.save(update_fields=["tag_paperless_id", "tag_name"])

    def _tag_exists(self, tag_id: int) -> bool:
        if self.client is None:  # only plans that touch Paperless tag, and they have a client
            return False
        try:
            self.client.get_tag(tag_id)
        except NotFound:
            return False
        return True

    def process(self, item: PlanItem) -> None:
        action = self.plan.action
        if action in Plan.GROUP_ACTIONS:
            self.group_action(item)
        elif action == Plan.Action.UNDO_DRY_RUN:
            self.untag(item)
        elif action == Plan.Action.KEEP_AS_VERSION and not self.plan.dry_run:
            self.keep_as_version(item)
        elif action in Plan.DELETING_ACTIONS and not self.plan.dry_run:
            self.delete(item)
        else:
            self.tag(item)

    def _close(self, item: PlanItem, *, status: str, reason: str = "") -> None:
        item.status = status
        item.reason = reason
        item.finished_at = timezone.now()
        item.save(update_fields=["status", "reason", "finished_at", "stage", "data"])

    def _save_stage(self, item: PlanItem, stage: str) -> None:
        item.stage = stage
        item.save(update_fields=["stage", "data"])

    def _audit(self, item: PlanItem, action: str, **detail: Any) -> None:
        AuditEntry.objects.create(
            user=self.user,
            username=self.user.get_username() if self.user else "",
            action=action,
            dry_run=self.plan.dry_run,
            plan=self.plan,
            group_id=item.group_id,
            paperless_id=item.paperless_id,
            title=item.title,
            original_checksum=item.original_checksum,
            archive_checksum=item.archive_checksum,
            kept_paperless_id=item.kept_paperless_id,
            detail=detail,
        )

    # -- group-only actions --

    def group_action(self, item: PlanItem) -> None:
        group = DuplicateGroup.objects.filter(pk=item.group_id).first()
        if group is None:
            raise Skip("The group no longer exists (re-analysed or its documents are gone).")
        if self.plan.action == Plan.Action.NOT_DUPLICATE:
            group.mark_not_duplicate(user=self.user)
        else:
            status = {
                Plan.Action.MARK_REVIEWED: DuplicateGroup.Status.REVIEWED,
                Plan.Action.RESOLVE: DuplicateGroup.Status.RESOLVED,
            }[self.plan.action]
            group.set_status(status, user=self.user)
        self._close(item, status=PlanItem.Status.DONE)

    # -- the checks --

    def _read(self, paperless_id: int) -> dict[str, Any]:
        assert self.client is not None
        raw = self.client.get_document(paperless_id)
        if root_checksum(raw) is None and "versions" not in raw:
            # Paperless 2.x has no versions list: the checksum is in the metadata.
            meta = self.client.get_metadata(paperless_id)
            raw["_original_checksum"] = meta.get("original_checksum")
        else:
            raw["_original_checksum"] = root_checksum(raw)
        return raw

    def _check_group(self, item: PlanItem) -> None:
        """What changed here since review: the group's primary, the document's membership."""
        if item.group_id is None:
            return
        group = DuplicateGroup.objects.filter(pk=item.group_id).select_related("primary").first()
        if group is None:
            raise Skip("The group no longer exists (the documents were re-analysed).")
        primary = group.primary.paperless_id if group.primary else None
        if item.kept_paperless_id is not None and primary != item.kept_paperless_id:
            raise Skip(
                f"The group's primary changed since review (now #{primary}, reviewed "
                f"#{item.kept_paperless_id})."
            )
        if not GroupMember.objects.filter(
            group=group, document__paperless_id=item.paperless_id, removed=False
        ).exists():
            raise Skip("The document was taken out of the group since review.")
        separated = still_separate(item)
        if separated:
            raise Skip(separated)

    def _never_a_primary(self, item: PlanItem) -> None:
        if item.paperless_id == item.kept_paperless_id:
            raise Skip("It is the document being kept.")
        primary_of = DuplicateGroup.objects.filter(primary__paperless_id=item.paperless_id).first()
        if primary_of is not None:
            raise Skip(
                f"It is now the primary of group {primary_of.pk}: a primary is never deleted."
            )

    def _check_kept(self, item: PlanItem) -> dict[str, Any] | None:
        kept_id = item.kept_paperless_id
        if kept_id is None:
            return None
        if kept_id not in self.kept_problem:
            problem = None
            try:
                raw = self._read(kept_id)
            except NotFound:
                problem = (
                    f"The kept document #{kept_id} is gone from Paperless: its duplicates are "
                    "not deleted."
                )
            else:
                checksum = raw["_original_checksum"]
                if item.kept_checksum and checksum and checksum != item.kept_checksum:
                    problem = f"The kept document #{kept_id}'s file changed since review."
                self.kept_documents[kept_id] = raw
            self.kept_problem[kept_id] = problem
        if self.kept_problem[kept_id]:
            raise Skip(self.kept_problem[kept_id])
        return self.kept_documents.get(kept_id)

    def _check_unchanged(self, item: PlanItem, raw: dict[str, Any]) -> None:
        checksum = raw["_original_checksum"]
        if item.original_checksum and checksum and checksum != item.original_checksum:
            raise Skip("Its file changed in Paperless since review (another checksum).")
        expected = _as_datetime(item.data.get("seen_modified")) or item.modified
        if expected is not None and raw.get("modified") != expected:
            if item.data.get("asn_moved") is not None and raw.get("archive_serial_number") is None:
                return  # the only change since is ours: its ASN went to the kept document
            raise Skip(
                f"It changed in Paperless since review (modified {raw.get('modified')}, "
                f"reviewed {expected})."
            )

    def _recheck(self, item: PlanItem) -> dict[str, Any]:
        """Re-read the document just before acting; Skip when it is gone or changed."""
        try:
            raw = self._read(item.paperless_id)
        except NotFound:
            raise Skip(
                "It is gone from Paperless (deleted or in the trash) since review."
            ) from None
        self._check_unchanged(item, raw)
        return raw

    # -- deleting --

    def delete(self, item: PlanItem) -> None:
        assert self.client is not None
        if item.stage != PlanItem.Stage.ACTING:
            self._check_group(item)
            self._never_a_primary(item)
            kept = self._check_kept(item)
            raw = self._recheck(item)
            item.data["seen_modified"] = (
                raw["modified"].isoformat() if raw.get("modified") else None
            )
            self._save_stage(item, PlanItem.Stage.CHECKED)
            if self.plan.merge_metadata and kept is not None:
                self.merge(item, raw=raw)
            self._save_stage(item, PlanItem.Stage.ACTING)
            self.client.delete_document(item.paperless_id)
        else:
            # Killed after the DELETE was sent: find out whether it landed before sending again.
            try:
                self.client.get_document(item.paperless_id)
            except NotFound:
                if not any(d["id"] == item.paperless_id for d in self.client.iter_trash()):
                    raise Skip("It is gone from Paperless, and not in the trash.") from None
            else:
                self.client.delete_document(item.paperless_id)
        with transaction.atomic():
            self._audit(item, AuditEntry.Action.DELETED, trash=True)
            self._leave_mirror(item)
            self._close(item, status=PlanItem.Status.DONE)

    def _leave_mirror(self, item: PlanItem) -> None:
        group_ids = set(
            GroupMember.objects.filter(
                document__paperless_id=item.paperless_id, removed=False
            ).values_list("group_id", flat=True)
        )
        Document.objects.filter(paperless_id=item.paperless_id).delete()
        for group in DuplicateGroup.objects.filter(pk__in=group_ids):
            left = group.members.filter(removed=False).count()
            group.member_count = left
            group.save(update_fields=["member_count"])
            if left <= 1 and group.status != DuplicateGroup.Status.NOT_DUPLICATE:
                group.set_status(DuplicateGroup.Status.RESOLVED, user=self.user)

    # -- keeping as a version of the kept document (Paperless 3) --

    def keep_as_version(self, item: PlanItem) -> None:
        """The duplicate's file becomes a version of the kept document, then the duplicate goes
        to the trash, checkpointed at each step: re-checked (like a deletion), version sent (the
        task id kept), version listed, DELETE sent. A job killed after sending the version looks
        for it (by the file's checksum) instead of sending it again."""
        from duplicates import versions

        assert self.client is not None
        if item.stage in (PlanItem.Stage.NEW, PlanItem.Stage.CHECKED):
            self._check_group(item)
            self._never_a_primary(item)
            kept = self._check_kept(item)
            if kept is None:
                raise Skip("There is no kept document to add it to.")
            if "versions" not in kept or not self.client.has_versions:
                raise Skip(versions.versions_unavailable(api_version=self.client.api_version))
            raw = self._recheck(item)
            checksum = raw["_original_checksum"] or item.original_checksum
            if not checksum:
                raise Skip("Paperless gave no checksum for its file: the version could not be "
                           "verified, so nothing was changed.")  # fmt: skip
            item.data["seen_modified"] = (
                raw["modified"].isoformat() if raw.get("modified") else None
            )
            item.data["version_checksum"] = checksum
            self._save_stage(item, PlanItem.Stage.CHECKED)
            if self.plan.merge_metadata:
                self.merge(item, raw=raw)
            label = versions.version_label(paperless_id=item.paperless_id, title=item.title)
            item.data["version_label"] = label
            self._save_stage(item, PlanItem.Stage.VERSIONING)  # before sending: never twice
            task_id = versions.send_version(
                self.client,
                duplicate_id=item.paperless_id,
                kept_id=item.kept_paperless_id,
                label=label,
            )
            item.data["version_task"] = task_id
            item.save(update_fields=["data"])
        if item.stage == PlanItem.Stage.VERSIONING:
            try:
                version = versions.wait_for_version(
                    self.client,
                    kept_id=item.kept_paperless_id,
                    checksum=item.data["version_checksum"],
                    task_id=item.data.get("version_task"),
                    check_cancelled=self.ctx.check_cancelled if self.ctx else lambda: None,
                )
            except NotFound:
                raise Skip(
                    f"The kept document #{item.kept_paperless_id} is gone from Paperless: the "
                    "duplicate was not deleted."
                ) from None
            item.data["version_id"] = version["id"]
            self._save_stage(item, PlanItem.Stage.ACTING)
            self.client.delete_document(item.paperless_id)
        else:  # killed after the DELETE was sent (stage ACTING): did it land?
            try:
                self.client.get_document(item.paperless_id)
            except NotFound:
                if not any(d["id"] == item.paperless_id for d in self.client.iter_trash()):
                    raise Skip("It is gone from Paperless, and not in the trash.") from None
            else:
                self.client.delete_document(item.paperless_id)
        with transaction.atomic():
            self._audit(
                item,
                AuditEntry.Action.VERSIONED,
                trash=True,
                version_id=item.data.get("version_id"),
                version_label=item.data.get("version_label"),
                task=item.data.get("version_task"),
            )
            self._leave_mirror(item)
            self._close(item, status=PlanItem.Status.DONE)
        self.versioned.add(item.kept_paperless_id)

    def refresh_kept(self) -> None:
        """The kept documents now have new versions (and may show a newer file's text): bring
        them up to date in the mirror and have them analysed."""
        if not self.versioned or self.client is None:
            return
        from documents.sync import mirror_documents
        from duplicates.analysis import request_analysis

        mirror_documents(client=self.client, paperless_ids=sorted(self.versioned))
        request_analysis()

    # -- merging metadata into the kept document --

    def merge(self, item: PlanItem, *, raw: dict[str, Any]) -> None:
        """Give the kept document what this one has. Each step first looks at the kept document
        as it is now, so running it again (after a crash) adds nothing twice."""
        assert self.client is not None
        kept_id = item.kept_paperless_id
        change = begin_own_change(paperless_id=kept_id, kind="merge", plan=self.plan)
        kept = self.client.get_document(kept_id)
        merged: dict[str, Any] = {}
        from dedupe_project.models import Configuration

        skip_tags = {Configuration.objects.get_solo().dry_run_tag_id, self.plan.tag_paperless_id}
        missing_tags = [
            t
            for t in raw.get("tags") or []
            if t not in (kept.get("tags") or []) and t not in skip_tags
        ]
        if missing_tags:
            self.client.modify_tags([kept_id], add_tags=missing_tags)
            merged["tags"] = missing_tags
        notes = raw.get("notes")
        if notes is None:
            notes = self.client.get_notes(item.paperless_id)
        if notes:
            existing = {n.get("note") for n in self.client.get_notes(kept_id)}
            copied = 0
            for note in sorted(notes, key=lambda n: n.get("id") or 0):
                text = _copied_note(note, source_id=item.paperless_id, title=raw.get("title", ""))
                if text not in existing:
                    self.client.add_note(kept_id, note=text)
                    copied += 1
            if copied:
                merged["notes"] = copied
        kept_fields = list(kept.get("custom_fields") or [])
        have = {entry.get("field") for entry in kept_fields}
        extra = [
            {"field": entry["field"], "value": entry.get("value")}
            for entry in raw.get("custom_fields") or []
            if entry.get("field") not in have
        ]
        if extra:
            current = [{"field": e["field"], "value": e.get("value")} for e in kept_fields]
            self.client.set_custom_fields(kept_id, custom_fields=current + extra)
            merged["custom_fields"] = [entry["field"] for entry in extra]
        asn = raw.get("archive_serial_number")
        if asn is not None and kept.get("archive_serial_number") is None:
            # The ASN is unique in Paperless (trashed documents keep theirs): take it off first.
            item.data["asn_moved"] = asn
            item.save(update_fields=["data"])
            own = begin_own_change(paperless_id=item.paperless_id, kind="asn", plan=self.plan)
            updated = self.client.set_archive_serial_number(item.paperless_id, asn=None)
            finish_own_change(own, modified=updated.get("modified"))
            item.data["seen_modified"] = updated["modified"].isoformat()
            item.save(update_fields=["data"])
            self.client.set_archive_serial_number(kept_id, asn=asn)
            merged["asn"] = asn
        final = self.client.get_document(kept_id)
        finish_own_change(change, modified=final.get("modified"))
        _refresh_mirror(final)
        if merged:
            item.data["merged"] = merged
            item.save(update_fields=["data"])
            AuditEntry.objects.create(
                user=self.user,
                username=self.user.get_username() if self.user else "",
                action=AuditEntry.Action.MERGED,
                plan=self.plan,
                group_id=item.group_id,
                paperless_id=kept_id,
                title=item.kept_title,
                original_checksum=item.kept_checksum,
                detail={"from": item.paperless_id, **merged},
            )

    # -- tagging (dry runs, the tag action) and undo --

    def tag(self, item: PlanItem) -> None:
        assert self.client is not None
        tag_id = self.plan.tag_paperless_id
        if item.stage != PlanItem.Stage.ACTING:
            self._check_group(item)
            self._never_a_primary(item)
            self._check_kept(item)
            raw = self._recheck(item)
            self._save_stage(item, PlanItem.Stage.ACTING)
        else:
            try:
                raw = self.client.get_document(item.paperless_id)
            except NotFound:
                raise Skip("It is gone from Paperless since review.") from None
        if tag_id not in (raw.get("tags") or []):
            change = begin_own_change(paperless_id=item.paperless_id, kind="tag", plan=self.plan)
            self.client.add_tag([item.paperless_id], tag_id=tag_id)
            after = self.client.get_document(item.paperless_id)
            finish_own_change(change, modified=after.get("modified"))
            _refresh_mirror(after)
        else:
            _refresh_mirror(raw)  # tagged before a kill: the mirror may not know it yet
        kind = AuditEntry.Action.DRY_RUN_TAGGED if self.plan.dry_run else AuditEntry.Action.TAGGED
        with transaction.atomic():
            self._audit(item, kind, tag=tag_id, tag_name=self.plan.tag_name)
            self._close(item, status=PlanItem.Status.DONE)

    def untag(self, item: PlanItem) -> None:
        assert self.client is not None
        tag_id = self.plan.tag_paperless_id
        try:
            raw = self.client.get_document(item.paperless_id)
        except NotFound:
            raise Skip("It is gone from Paperless (deleted or in the trash).") from None
        if tag_id not in (raw.get("tags") or []):
            if item.stage == PlanItem.Stage.ACTING:
                _refresh_mirror(raw)
                self._close(item, status=PlanItem.Status.DONE)  # removed before a crash
                return
            raise Skip("The dry-run tag was already removed.")
        self._save_stage(item, PlanItem.Stage.ACTING)
        change = begin_own_change(paperless_id=item.paperless_id, kind="untag", plan=self.plan)
        self.client.remove_tag([item.paperless_id], tag_id=tag_id)
        after = self.client.get_document(item.paperless_id)
        finish_own_change(change, modified=after.get("modified"))
        _refresh_mirror(after)
        with transaction.atomic():
            self._audit(item, AuditEntry.Action.UNTAGGED, tag=tag_id, tag_name=self.plan.tag_name)
            self._close(item, status=PlanItem.Status.DONE)


def _copied_note(note: dict[str, Any], *, source_id: int, title: str) -> str:
    created = note.get("created")
    when = created.strftime("%Y-%m-%d") if isinstance(created, datetime) else str(created or "")
    origin = f"Copied from document #{source_id} ({title})"
    if when:
        origin += f", note of {when}"
    return f"{note.get('note', '')}\n\n— {origin}, before it was deleted as a duplicate."


def audit_entries(**filters: Any) -> Any:
    """The audit log, newest first, filtered as the page and ``/api/audit`` offer."""
    return AuditEntry.objects.filtered(**filters).select_related("user")
