"""Applying accepted suggestions to Paperless, as carefully as a deletion plan.

* A plan freezes, per document, the accepted changes and the ``modified`` the document had when
  the model was asked. A person confirms it once; the ``ai_apply`` job then does exactly that.
* Just before a document is changed it is re-read from Paperless: gone, changed since the
  suggestion (another ``modified``) or now carrying a protected tag means skipped and reported.
* New tags a person accepted are created then (no auto-matching), and the document is changed with
  one PATCH holding every accepted field. ``stage`` is saved before the PATCH: a job killed after
  sending re-reads the document and does not send twice.
* Each change is an :class:`~duplicates.models.AuditEntry` with the fields' values before and
  after, and is recorded as our own change (the "document updated" webhook it fires is ours).
  From the audit entry a *revert* plan puts the values back, if the document has not changed since.
* A failure of one document (Paperless refused a value) fails that item, listed with a retry;
  Paperless being unreachable, throttling or failing stops the job, which resumes where it stopped.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ai_review.models import ApplyItem, ApplyPlan, FieldSuggestion, Suggestion
from documents.connection import get_client
from documents.models import Correspondent, Document, DocumentType, Tag
from documents.paperless import NotFound, PaperlessClient, PaperlessError
from documents.tags import mirror_tag
from duplicates.actions import FATAL_ERRORS, begin_own_change, finish_own_change
from duplicates.models import AuditEntry
from processing import jobs
from processing.jobs import JobCancelled, JobContext, job_kind
from processing.models import Job

logger = logging.getLogger(__name__)

SCALAR_FIELDS = ("title", "correspondent", "document_type", "created")


class ApplyError(Exception):
    def __init__(self, message: str, *, code: str = "invalid_plan", status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class Skip(Exception):
    """This document must not be changed; the message says why."""


def _who(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


# --- making plans --------------------------------------------------------------------------------


def _change(field: FieldSuggestion) -> dict[str, Any]:
    change: dict[str, Any] = {
        "field": field.field,
        "label": field.label,
        "value": field.value,
        "display": field.display,
        "current_display": field.current_display,
        "field_suggestion": field.pk,
        "is_new": field.is_new,
    }
    if field.field == "custom_field":
        change["field_id"] = int((field.meta or {}).get("field_id") or field.key.split(":")[1])
    return change


@transaction.atomic
def create_apply_plan(*, suggestions: Any, user: Any = None) -> ApplyPlan:
    """A draft plan with every accepted, not yet applied field of ``suggestions`` (a queryset),
    one item per document."""
    fields = (
        FieldSuggestion.objects.filter(
            suggestion__in=suggestions,
            suggestion__status=Suggestion.Status.DONE,
            decision=FieldSuggestion.Decision.ACCEPTED,
            outcome="",
        )
        .select_related("suggestion")
        .order_by("suggestion__paperless_id", "position", "pk")
    )
    by_document: dict[int, list[FieldSuggestion]] = {}
    for field in fields:
        by_document.setdefault(field.suggestion_id, []).append(field)
    if not by_document:
        raise ApplyError("Accept at least one suggestion first.", code="nothing_accepted")
    plan = ApplyPlan.objects.create(kind=ApplyPlan.Kind.APPLY, created_by=_who(user))
    items = []
    for position, accepted in enumerate(by_document.values()):
        suggestion = accepted[0].suggestion
        items.append(
            ApplyItem(
                plan=plan,
                position=position,
                suggestion=suggestion,
                paperless_id=suggestion.paperless_id,
                title=suggestion.snapshot.get("title") or suggestion.title,
                expected_modified=suggestion.modified,
                changes=[_change(field) for field in accepted],
            )
        )
    ApplyItem.objects.bulk_create(items, batch_size=500)
    return plan


def _names(model: Any, ids: list[Any]) -> dict[int, str]:
    return dict(
        model.objects.filter(paperless_id__in=[i for i in ids if i]).values_list(
            "paperless_id", "name"
        )
    )


def describe_value(field: str, value: Any) -> str:
    """A stored value as a person reads it (names, not ids)."""
    if value is None or value == "" or value == []:
        return "—"
    if field in ("correspondent", "document_type"):
        model = Correspondent if field == "correspondent" else DocumentType
        return _names(model, [value]).get(value, f"#{value}")
    if field == "tags":
        names = _names(Tag, list(value))
        return ", ".join(names.get(t, f"#{t}") for t in value)
    if field == "custom_fields":
        from documents.models import CustomField

        names = _names(CustomField, [e.get("field") for e in value])
        return "; ".join(
            f"{names.get(e.get('field'), '#' + str(e.get('field')))}: {e.get('value')}"
            for e in value
        )
    return str(value)


def revertible(entry: AuditEntry) -> bool:
    return (
        entry.action == AuditEntry.Action.AI_APPLIED
        and bool(entry.detail.get("before"))
        and not AuditEntry.objects.filter(
            action=AuditEntry.Action.AI_REVERTED, detail__reverts=entry.pk
        ).exists()
    )


@transaction.atomic
def create_revert_plan(*, entry: AuditEntry, user: Any = None) -> ApplyPlan:
    """A draft plan putting back what the audited AI change set (if the document has not
    changed since)."""
    if not revertible(entry):
        raise ApplyError(
            "Only an applied AI change that was not reverted yet can be reverted.",
            code="not_revertible",
            status=409,
        )
    before, after = entry.detail["before"], entry.detail.get("after") or {}
    changes: list[dict[str, Any]] = []
    for name in SCALAR_FIELDS:
        if name in before:
            changes.append(
                {
                    "field": name,
                    "label": name.replace("_", " ").capitalize(),
                    "value": before[name],
                    "display": describe_value(name, before[name]),
                    "current_display": describe_value(name, after.get(name)),
                }
            )
    if "tags" in before:
        added = [t for t in after.get("tags", []) if t not in before["tags"]]
        names = _names(Tag, added)
        for tag_id in added:
            name = names.get(tag_id, f"#{tag_id}")
            changes.append(
                {"field": "untag", "label": "Tag", "value": tag_id, "display": f"remove {name}",
                 "current_display": name}
            )  # fmt: skip
    if "custom_fields" in before:
        changes.append(
            {
                "field": "custom_fields_all",
                "label": "Custom fields",
                "value": before["custom_fields"],
                "display": describe_value("custom_fields", before["custom_fields"]),
                "current_display": describe_value("custom_fields", after.get("custom_fields", [])),
            }
        )
    plan = ApplyPlan.objects.create(kind=ApplyPlan.Kind.REVERT, created_by=_who(user))
    ApplyItem.objects.create(
        plan=plan,
        position=0,
        paperless_id=entry.paperless_id,
        title=entry.title,
        expected_modified=parse_datetime(entry.detail.get("modified_after") or ""),
        changes=changes,
        data={"reverts": entry.pk},
    )
    return plan


def confirm_plan(*, plan: ApplyPlan, user: Any = None) -> Job:
    """Confirm a draft plan once and queue its job on the ``ai`` queue."""
    with transaction.atomic():
        locked = ApplyPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.status != ApplyPlan.Status.DRAFT:
            raise ApplyError(
                f"Plan #{locked.pk} was already confirmed; it runs only once.",
                code="plan_already_confirmed",
                status=409,
            )
        job = jobs.enqueue(kind=Job.Kind.AI_APPLY, params={"plan": locked.pk}, user=user)
        locked.status = ApplyPlan.Status.QUEUED
        locked.confirmed_at = timezone.now()
        locked.confirmed_by = _who(user)
        locked.job = job
        locked.save()
    plan.refresh_from_db()
    return job


def retry_failed(*, plan: ApplyPlan, user: Any = None) -> ApplyPlan:
    """A new plan, confirmed at once, with the documents that failed (the same changes and the
    same "unchanged since" condition)."""
    failed = list(plan.items.filter(status=ApplyItem.Status.FAILED).order_by("position"))
    if not failed:
        raise ApplyError("No document of this plan failed.", code="nothing_failed", status=409)
    with transaction.atomic():
        retry = ApplyPlan.objects.create(kind=plan.kind, created_by=_who(user), retry_of=plan)
        ApplyItem.objects.bulk_create(
            [
                ApplyItem(
                    plan=retry,
                    position=position,
                    suggestion_id=item.suggestion_id,
                    paperless_id=item.paperless_id,
                    title=item.title,
                    expected_modified=item.expected_modified,
                    changes=item.changes,
                    data={k: v for k, v in item.data.items() if k == "reverts"},
                )
                for position, item in enumerate(failed)
            ]
        )
        ids = [c.get("field_suggestion") for item in failed for c in item.changes]
        FieldSuggestion.objects.filter(pk__in=[i for i in ids if i]).update(outcome="")
    confirm_plan(plan=retry, user=user)
    return retry


# --- the PATCH -----------------------------------------------------------------------------------


def _date_text(value: Any) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    return value or None


def patch_body(
    raw: dict[str, Any], changes: list[dict[str, Any]], *, new_tags: dict[str, int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one PATCH for ``changes`` to the document as Paperless has it (``raw``), and the
    touched fields' values before. ``new_tags``: name -> id of tags created for this plan."""
    body: dict[str, Any] = {}
    before: dict[str, Any] = {}
    tags = list(raw.get("tags") or [])
    custom = [
        {"field": e["field"], "value": e.get("value")}
        for e in raw.get("custom_fields") or []
        if isinstance(e, dict)
    ]
    for change in changes:
        name = change["field"]
        if name in SCALAR_FIELDS:
            before[name] = _date_text(raw.get(name)) if name == "created" else raw.get(name)
            body[name] = change["value"]
        elif name in ("tag", "untag"):
            before.setdefault("tags", list(raw.get("tags") or []))
            tag_id = change["value"]
            if tag_id is None:
                tag_id = new_tags[change["display"]]
            if name == "tag" and tag_id not in tags:
                tags.append(tag_id)
            if name == "untag" and tag_id in tags:
                tags.remove(tag_id)
            body["tags"] = tags
        elif name == "custom_field":
            before.setdefault("custom_fields", [dict(e) for e in custom])
            for entry in custom:
                if entry["field"] == change["field_id"]:
                    entry["value"] = change["value"]
                    break
            else:
                custom.append({"field": change["field_id"], "value": change["value"]})
            body["custom_fields"] = custom
        elif name == "custom_fields_all":
            before["custom_fields"] = [dict(e) for e in custom]
            body["custom_fields"] = list(change["value"])
    return body, before


def values_of(raw: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in keys:
        value = raw.get(key)
        if key == "created":
            value = _date_text(value)
        elif key == "custom_fields":
            value = [{"field": e["field"], "value": e.get("value")} for e in value or []]
        elif key == "tags":
            value = list(value or [])
        values[key] = value
    return values


def _landed(raw: dict[str, Any], body: dict[str, Any]) -> bool:
    now = values_of(raw, list(body))
    for key, wanted in body.items():
        if key == "tags":
            if set(now["tags"]) != set(wanted):
                return False
        elif key == "custom_fields":
            as_map = {e["field"]: e.get("value") for e in now["custom_fields"]}
            if as_map != {e["field"]: e.get("value") for e in wanted}:
                return False
        elif now[key] != wanted:
            return False
    return True


def _refresh_mirror(raw: dict[str, Any]) -> None:
    document = Document.objects.filter(paperless_id=raw["id"]).first()
    if document is None:
        return
    fields = ["modified"]
    document.modified = raw.get("modified") or document.modified
    if "title" in raw:
        document.title = str(raw.get("title") or "")[:1024]
        fields.append("title")
    for name, model in (("correspondent", Correspondent), ("document_type", DocumentType)):
        if name in raw:
            target = raw.get(name)
            setattr(
                document,
                name,
                model.objects.filter(paperless_id=target).first() if target else None,
            )
            fields.append(name)
    if "created" in raw and isinstance(raw.get("created"), date):
        document.created = raw["created"]
        fields.append("created")
    if "custom_fields" in raw:
        document.custom_fields = values_of(raw, ["custom_fields"])["custom_fields"]
        fields.append("custom_fields")
    document.save(update_fields=fields)
    if "tags" in raw:
        document.tags.set(Tag.objects.filter(paperless_id__in=raw.get("tags") or []))


# --- execution -----------------------------------------------------------------------------------


@job_kind(Job.Kind.AI_APPLY, queue="ai")
def apply_job(ctx: JobContext) -> dict[str, Any]:
    return execute_plan(plan_id=int(ctx.params["plan"]), ctx=ctx)


def execute_plan(*, plan_id: int, ctx: JobContext | None = None) -> dict[str, Any]:
    """Carry out a confirmed plan; safe to call again (it continues with unfinished items)."""
    plan = ApplyPlan.objects.get(pk=plan_id)
    if plan.status == ApplyPlan.Status.DRAFT:
        raise ApplyError("The plan was not confirmed.", code="not_confirmed")
    if plan.status in (ApplyPlan.Status.DONE, ApplyPlan.Status.CANCELLED):
        return {"plan": plan.pk, **plan.counts}
    ApplyPlan.objects.filter(pk=plan.pk).update(status=ApplyPlan.Status.RUNNING, error="")
    try:
        with get_client() as client:
            _Executor(plan=plan, client=client, ctx=ctx).run()
    except JobCancelled:
        _finish(plan, status=ApplyPlan.Status.CANCELLED)
        raise
    except Exception as exc:
        _finish(plan, status=ApplyPlan.Status.FAILED, error=str(exc))
        raise
    _finish(plan, status=ApplyPlan.Status.DONE)
    return {"plan": plan.pk, **plan.counts}


def _finish(plan: ApplyPlan, *, status: str, error: str = "") -> None:
    plan.counts = plan.item_counts()
    plan.status = status
    plan.error = error
    plan.finished_at = timezone.now()
    plan.save(update_fields=["counts", "status", "error", "finished_at"])


class _Executor:
    def __init__(self, *, plan: ApplyPlan, client: PaperlessClient, ctx: JobContext | None):
        from dedupe_project.models import Configuration

        self.plan = plan
        self.client = client
        self.ctx = ctx
        self.user = plan.confirmed_by
        self.protected = set(Configuration.objects.get_solo().ai_protected_tag_ids or [])

    def run(self) -> None:
        plan = self.plan
        total = plan.items.count()
        done = plan.items.exclude(status=ApplyItem.Status.PENDING).count()
        verb = "Reverting" if plan.kind == ApplyPlan.Kind.REVERT else "Applying"
        for item in plan.items.filter(status=ApplyItem.Status.PENDING).order_by("position"):
            if self.ctx is not None:
                self.ctx.check_cancelled()
            try:
                self.process(item)
            except Skip as skip:
                self._close(item, status=ApplyItem.Status.SKIPPED, reason=str(skip))
            except FATAL_ERRORS:
                raise
            except PaperlessError as error:
                self._close(item, status=ApplyItem.Status.FAILED, reason=str(error))
            done += 1
            if self.ctx is not None:
                self.ctx.progress(done=done, total=total, message=f"{verb}: {done} of {total}")
                self.ctx.save_checkpoint({"plan": plan.pk, "position": item.position})

    def _outcome(self, item: ApplyItem, outcome: str) -> None:
        ids = [c.get("field_suggestion") for c in item.changes if c.get("field_suggestion")]
        if ids:
            FieldSuggestion.objects.filter(pk__in=ids).update(outcome=outcome)

    def _close(self, item: ApplyItem, *, status: str, reason: str = "") -> None:
        item.status = status
        item.reason = reason
        item.finished_at = timezone.now()
        item.save(update_fields=["status", "reason", "finished_at", "stage", "data"])
        if self.plan.kind == ApplyPlan.Kind.APPLY and status != ApplyItem.Status.DONE:
            self._outcome(
                item,
                FieldSuggestion.Outcome.SKIPPED
                if status == ApplyItem.Status.SKIPPED
                else FieldSuggestion.Outcome.FAILED,
            )

    def _read(self, item: ApplyItem) -> dict[str, Any]:
        try:
            return self.client.get_document(item.paperless_id)
        except NotFound:
            raise Skip("It is gone from Paperless (deleted or in the trash).") from None

    def _check(self, item: ApplyItem, raw: dict[str, Any]) -> None:
        expected = item.expected_modified
        if expected is not None and raw.get("modified") != expected:
            since = "the suggestion" if self.plan.kind == ApplyPlan.Kind.APPLY else "the AI change"
            raise Skip(
                f"It changed in Paperless since {since} (modified {raw.get('modified')}, "
                f"expected {expected}): not changed. Ask for a new suggestion, or edit it in "
                "Paperless."
            )
        protected = self.protected.intersection(raw.get("tags") or [])
        if protected and self.plan.kind == ApplyPlan.Kind.APPLY:
            raise Skip("It now carries a protected tag: not changed.")

    def _new_tags(self, item: ApplyItem) -> dict[str, int]:
        """Create (or find) the new tags a person accepted; remembered on the item."""
        created: dict[str, int] = dict(item.data.get("new_tags") or {})
        for change in item.changes:
            if change["field"] == "tag" and change["value"] is None:
                name = change["display"]
                if name not in created:
                    raw_tag, made = self.client.ensure_tag(name)
                    mirror_tag(raw_tag)
                    created[name] = raw_tag["id"]
                    if made:
                        item.data.setdefault("created_tags", []).append(name)
                    item.data["new_tags"] = created
                    item.save(update_fields=["data"])
        return created

    def process(self, item: ApplyItem) -> None:
        if item.stage != ApplyItem.Stage.ACTING:
            raw = self._read(item)
            self._check(item, raw)
            body, before = patch_body(raw, item.changes, new_tags=self._new_tags(item))
            item.data.update(body=body, before=before)
            item.stage = ApplyItem.Stage.ACTING
            item.save(update_fields=["stage", "data"])
            after_raw = self._send(item, body)
        else:
            # Killed after the PATCH was sent: did it land?
            raw = self._read(item)
            body = item.data["body"]
            if _landed(raw, body):
                after_raw = raw
            elif item.expected_modified is None or raw.get("modified") == item.expected_modified:
                after_raw = self._send(item, body)
            else:
                raise Skip(
                    "It changed in Paperless while our change was being sent: check it by hand."
                )
        _refresh_mirror(after_raw)
        keys = list(item.data["body"])
        after = values_of(after_raw, keys)
        with transaction.atomic():
            entry = self._audit(item, before=item.data["before"], after=after, raw=after_raw)
            item.audit_entry_id = entry.pk
            item.save(update_fields=["audit_entry_id"])
            self._close(item, status=ApplyItem.Status.DONE)
            if self.plan.kind == ApplyPlan.Kind.APPLY:
                self._outcome(item, FieldSuggestion.Outcome.APPLIED)
            else:
                self._reverted(item)

    def _send(self, item: ApplyItem, body: dict[str, Any]) -> dict[str, Any]:
        own = begin_own_change(paperless_id=item.paperless_id, kind=f"ai_{self.plan.kind}")
        after_raw = self.client.update_document(item.paperless_id, **body)
        finish_own_change(own, modified=after_raw.get("modified"))
        return after_raw

    def _reverted(self, item: ApplyItem) -> None:
        source = AuditEntry.objects.filter(pk=item.data.get("reverts")).first()
        if source is None:
            return
        for applied in ApplyItem.objects.filter(audit_entry_id=source.pk):
            ids = [c.get("field_suggestion") for c in applied.changes if c.get("field_suggestion")]
            FieldSuggestion.objects.filter(pk__in=ids).update(
                outcome=FieldSuggestion.Outcome.REVERTED
            )

    def _audit(
        self, item: ApplyItem, *, before: dict[str, Any], after: dict[str, Any], raw: dict[str, Any]
    ) -> AuditEntry:
        revert = self.plan.kind == ApplyPlan.Kind.REVERT
        document = Document.objects.filter(paperless_id=item.paperless_id).first()
        summary = [
            f"{key.replace('_', ' ')}: {describe_value(key, before.get(key))} → "
            f"{describe_value(key, after.get(key))}"
            for key in after
        ]
        modified = raw.get("modified")
        detail: dict[str, Any] = {
            "ai_plan": self.plan.pk,
            "before": before,
            "after": after,
            "summary": summary,
            "modified_after": modified.isoformat() if isinstance(modified, datetime) else modified,
        }
        if item.data.get("created_tags"):
            detail["created_tags"] = item.data["created_tags"]
        if revert:
            detail["reverts"] = item.data.get("reverts")
        return AuditEntry.objects.create(
            user=self.user,
            username=self.user.get_username() if self.user else "",
            action=AuditEntry.Action.AI_REVERTED if revert else AuditEntry.Action.AI_APPLIED,
            paperless_id=item.paperless_id,
            title=item.title,
            original_checksum=document.original_checksum if document else "",
            archive_checksum=document.archive_checksum if document else "",
            detail=detail,
        )


__all__ = [
    "ApplyError",
    "confirm_plan",
    "create_apply_plan",
    "create_revert_plan",
    "execute_plan",
    "patch_body",
    "retry_failed",
    "revertible",
]
