"""What happens to a delivery after it was answered: the ``webhook`` job.

1. :func:`record_delivery` (the endpoint) stores the event and makes sure a ``webhook`` job will
   start soon: one is queued unless one is queued already, so a burst of 500 deliveries makes a
   handful of jobs, each taking every event waiting by then.
2. :func:`process_deliveries` (the job) claims the waiting events, one row update for the lot,
   and brings their documents up to date with the sync's own code
   (:func:`documents.sync.mirror_documents`: read, write, thumbnail, checksums, hashes), each
   document once however many events named it. Then, per event:

   * our own change coming back ("document updated" after a dry-run tag, a merge, our test
     delivery: :func:`duplicates.actions.is_own_change`) is left alone: no write, no analysis;
   * a document Paperless no longer has (deleted, trashed) is removed from the mirror;
   * a document added with no text yet ("document added" can fire before OCR finished,
     Paperless issue 12117) is read again after 5 s, 10 s, 20 s ... (about 20 minutes in all)
     and analysed once it has text (or, at the end, by its image and metadata);
   * the others are queued for an incremental analysis (:func:`duplicates.analysis.
     request_analysis`, one for a whole burst), and marked analysed when an analysis that
     started after they were mirrored finishes (:func:`mark_analysed`, on the analysis's
     ``analysis_finished`` signal), with the duplicate group it found them in.

   Paperless not answering puts the events back to wait (5 s, 15 s, 1 min, 5 min, 15 min), then
   marks them failed; the events page can retry them.
3. With a "possible duplicate" tag chosen, a new document found a duplicate gets it in Paperless
   (:func:`notify_duplicates`), recorded as our own change so its webhook causes no work.

Deletions send no webhook: the periodic sync's reconcile still notices them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from documents.connection import ConnectionNotConfigured, get_client
from documents.models import Document
from documents.paperless import PaperlessError
from documents.sync import mirror_documents
from duplicates.models import DuplicateGroup, GroupMember, OwnChange
from processing import jobs
from processing.jobs import JobCancelled, JobContext, job_kind
from processing.models import Job
from webhooks.models import WebhookEvent, WebhookSettings
from webhooks.receive import Delivery

logger = logging.getLogger(__name__)

WEBHOOK = Job.Kind.WEBHOOK
SETTLE_SECONDS = 0.05
"""A run waits until the newest event is this old, so the first events of a burst go together
(later ones are taken by the run's next rounds)."""
MAX_BATCH = 1000
MAX_ROUNDS = 200
"""Batches one job takes before it ends (events arriving meanwhile are taken by the same job)."""
LINGER_SECONDS = 0.5
"""After a round, a run waits this long for more deliveries before it ends: deliveries a few
hundred milliseconds apart (Paperless sends them one after the other) share a run."""
RECHECK_DELAYS = (5, 10, 20, 40, 80, 160, 300, 600)
"""Seconds before reading a document without text again: about 20 minutes in all."""
RETRY_DELAYS = (5, 15, 60, 300, 900)
"""Seconds before trying again when Paperless did not answer; then the event has failed."""
TEST_CHANGE = "webhook_test"
TAG_CHANGE = "webhook_tag"
OPEN_GROUP_STATUSES = (DuplicateGroup.Status.NEW, DuplicateGroup.Status.REVIEWED)
STALE_MIRRORED = timedelta(minutes=2)


# --- receiving --------------------------------------------------------------------------------


def record_delivery(*, event: str, delivery: Delivery, remote_addr: str | None) -> WebhookEvent:
    """Store a delivery and make sure a run will take it (the endpoint calls this). A delivery
    without a document id is stored as failed: a workflow set up by hand without ``doc_id``."""
    record = WebhookEvent.objects.create(
        event=event,
        paperless_id=delivery.document_id,
        title=delivery.title,
        body_format=delivery.body_format,
        remote_addr=remote_addr,
        status=(
            WebhookEvent.Status.PENDING
            if delivery.document_id is not None
            else WebhookEvent.Status.FAILED
        ),
        detail=""
        if delivery.document_id is not None
        else (
            f"The delivery named no document (a {delivery.body_format or 'empty'} body with "
            f"fields {', '.join(sorted(delivery.fields)) or 'none'}): send doc_id, as the "
            "set-up page's workflows do."
        ),
    )
    if delivery.document_id is not None:
        schedule_run()
    return record


ACTIVE_KEY = "webhooks:run-active"
ACTIVE_TTL = 15  # seconds; refreshed every round, so a killed run stops counting soon


def schedule_run() -> Job | None:
    """Queue a ``webhook`` job unless one is queued or running already: it takes every waiting
    event, and looks for new ones before it ends. The first delivery of a burst sets a flag in
    the cache (atomically: one of many racing deliveries wins) that the run keeps fresh and
    clears at its end, so the rest of the burst queues nothing."""
    if not cache.add(ACTIVE_KEY, "queued", ACTIVE_TTL):
        return None
    if _runs(Job.objects.filter(status=Job.Status.QUEUED)).exists():
        return None
    return jobs.enqueue(kind=WEBHOOK, params={})


def _runs(queryset: Any) -> Any:
    """The ``webhook`` jobs that take deliveries now: not the delayed re-checks, not tagging."""
    return (
        queryset.filter(kind=WEBHOOK)
        .exclude(params__has_key="recheck_at")
        .exclude(params__has_key="notify")
    )


# --- the run ----------------------------------------------------------------------------------


@job_kind(WEBHOOK, queue="webhooks")
def webhook_job(ctx: JobContext) -> dict[str, Any]:
    """Mirror and queue the analysis of what the deliveries named; ``params``: ``notify``
    (tag the new duplicates instead), ``recheck_at`` (a delayed run for documents waiting for
    their text)."""
    if ctx.params.get("notify"):
        return notify_duplicates(ctx=ctx)
    return process_deliveries(ctx=ctx)


def process_deliveries(
    *,
    ctx: JobContext | None = None,
    settle: float | None = None,
    linger: float | None = None,
) -> dict[str, Any]:
    """Work through every claimable event (see the module docstring); returns counts.
    ``settle`` / ``linger``: seconds, ``SETTLE_SECONDS`` / ``LINGER_SECONDS`` by default."""
    settle = SETTLE_SECONDS if settle is None else settle
    linger = LINGER_SECONDS if linger is None else linger
    counts: Counter[str] = Counter()
    job_id = ctx.job.pk if ctx is not None else None
    cache.set(ACTIVE_KEY, job_id or "inline", ACTIVE_TTL)
    try:
        _rounds(ctx=ctx, job_id=job_id, counts=counts, settle=settle, linger=linger)
    finally:
        cache.delete(ACTIVE_KEY)
    # A delivery that came as this run ended saw it active and queued nothing: queue a run now.
    if WebhookEvent.objects.claimable(now=timezone.now()).exists():
        schedule_run()
    _schedule_rechecks()
    return dict(counts)


def _rounds(
    *,
    ctx: JobContext | None,
    job_id: int | None,
    counts: Counter[str],
    settle: float,
    linger: float,
) -> None:
    _settle(settle)
    for _ in range(MAX_ROUNDS):
        cache.set(ACTIVE_KEY, job_id or "inline", ACTIVE_TTL)
        batch = _claim(job_id=job_id)
        if not batch and counts["rounds"] and linger:
            batch = _linger(job_id=job_id, seconds=linger, ctx=ctx)
        if not batch:
            break
        counts["rounds"] += 1
        counts["events"] += len(batch)
        _process(batch, ctx=ctx, counts=counts)
        if ctx is not None:
            ctx.progress(
                done=counts["events"],
                total=None,
                message=f"{counts['events']} deliveries, {counts['documents']} documents",
                counts=dict(counts),
                force=True,
            )


def _linger(*, job_id: int | None, seconds: float, ctx: JobContext | None) -> list[WebhookEvent]:
    """Wait up to ``seconds`` for another delivery to claim (a cheap query every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if WebhookEvent.objects.claimable(now=timezone.now(), job_id=job_id).exists():
            return _claim(job_id=job_id)
    if ctx is not None:
        ctx.check_cancelled()
    return []


def _settle(seconds: float) -> None:
    if seconds <= 0:
        return
    newest = (
        WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING, next_check_at__isnull=True)
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    if newest is None:
        return
    age = (timezone.now() - newest).total_seconds()
    if 0 <= age < seconds:
        time.sleep(seconds - age)


def _claim(*, job_id: int | None) -> list[WebhookEvent]:
    """Take up to ``MAX_BATCH`` claimable events for this run, in one transaction (rows locked
    and skipped by a run on another worker, on PostgreSQL)."""
    now = timezone.now()
    with transaction.atomic():
        queryset = WebhookEvent.objects.claimable(now=now, job_id=job_id).order_by("received_at")
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        ids = list(queryset.values_list("pk", flat=True)[:MAX_BATCH])
        if not ids:
            return []
        WebhookEvent.objects.filter(pk__in=ids).update(
            status=WebhookEvent.Status.PROCESSING, job_id=job_id
        )
    return list(WebhookEvent.objects.filter(pk__in=ids).order_by("received_at"))


def _own_change(raw: dict[str, Any]) -> bool:
    from duplicates.actions import is_own_change

    return is_own_change(raw["id"], raw.get("modified"))


def _process(batch: list[WebhookEvent], *, ctx: JobContext | None, counts: Counter[str]) -> None:
    by_document: dict[int, list[WebhookEvent]] = defaultdict(list)
    for event in batch:
        by_document[int(event.paperless_id)].append(event)  # claimed events all have one
    # Only "document updated" can be ours; an added document never is.
    maybe_ours = {
        pid
        for pid, events in by_document.items()
        if all(e.event == WebhookEvent.Event.UPDATED for e in events)
    }
    counts["documents"] += len(by_document)
    try:
        with get_client() as client:
            result = mirror_documents(
                client=client,
                paperless_ids=list(by_document),
                ctx=ctx,
                skip=lambda raw: raw["id"] in maybe_ours and _own_change(raw),
            )
    except ConnectionNotConfigured as error:
        _fail(batch, str(error))
        counts["failed"] += len(batch)
        return
    except JobCancelled:
        WebhookEvent.objects.filter(pk__in=[e.pk for e in batch]).update(
            status=WebhookEvent.Status.PENDING, job=None
        )
        raise
    except Exception as error:  # Paperless down, or a bug: the events wait, then fail
        if not isinstance(error, PaperlessError):
            logger.exception("webhook run failed")
        counts["retry"] += _retry_later(batch, error)
        return
    now = timezone.now()  # after the mirror's commit: an analysis started later saw it
    tests = set(
        OwnChange.objects.live()
        .filter(paperless_id__in=result.skipped, kind=TEST_CHANGE)
        .values_list("paperless_id", flat=True)
    )
    changed: list[WebhookEvent] = []
    mirrored_roots: set[int] = set()
    for pid, events in by_document.items():
        root = result.version_roots.get(pid, pid)
        raw = result.documents.get(root)
        updates: dict[str, Any] = {"next_check_at": None}
        if pid in result.gone or raw is None:
            updates.update(
                status=WebhookEvent.Status.IGNORED,
                detail="Paperless no longer has it (deleted, or in the trash): it left the mirror.",
            )
            counts["gone"] += len(events)
        elif pid in result.skipped:
            updates.update(
                status=WebhookEvent.Status.IGNORED,
                detail="The test delivery from the set-up page: it arrived."
                if pid in tests
                else "Our own change (a dry-run tag, a merge, a tag of ours): nothing to do.",
            )
            counts["own_changes"] += len(events)
        else:
            checks = max(e.content_checks for e in events)
            waits = any(e.event == WebhookEvent.Event.ADDED for e in events) or checks > 0
            no_text = not str(raw.get("content") or "").strip()
            version_note = ""
            if root != pid:
                version_note = f"A file version of #{root}: #{root} was brought up to date. "
            if no_text and waits and checks < len(RECHECK_DELAYS):
                delay = RECHECK_DELAYS[checks]
                updates.update(
                    status=WebhookEvent.Status.WAITING_TEXT,
                    content_checks=checks + 1,
                    next_check_at=now + timedelta(seconds=delay),
                    detail=f"{version_note}No text yet (Paperless may still be running OCR): "
                    f"read again in {delay} s.",
                )
                counts["waiting_for_text"] += len(events)
            else:
                note = ""
                if no_text and checks:
                    note = "Still no text after ~20 minutes: compared by its image and metadata."
                updates.update(
                    status=WebhookEvent.Status.MIRRORED,
                    mirrored_at=now,
                    detail=f"{version_note}{note}".strip(),
                )
                mirrored_roots.add(root)
                changed.extend(events)
                counts["mirrored"] += len(events)
        WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(**updates)
    if not changed:
        return
    flagged = Document.objects.filter(paperless_id__in=mirrored_roots, needs_analysis=True).exists()
    if flagged:
        from duplicates.analysis import request_analysis

        job = request_analysis()
        counts["analysis_job"] = job.pk
    else:  # nothing the last analysis has not seen: done now
        finish_events(WebhookEvent.objects.filter(pk__in=[e.pk for e in changed]))


def _fail(events: list[WebhookEvent], detail: str) -> None:
    WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        status=WebhookEvent.Status.FAILED, detail=detail, next_check_at=None
    )


def _retry_later(events: list[WebhookEvent], error: Exception) -> int:
    """Paperless did not answer: back to waiting, later each time, then failed."""
    now = timezone.now()
    waiting = 0
    for event in events:
        tries = event.attempts
        if tries < len(RETRY_DELAYS):
            delay = RETRY_DELAYS[tries]
            WebhookEvent.objects.filter(pk=event.pk).update(
                status=WebhookEvent.Status.PENDING,
                attempts=F("attempts") + 1,
                next_check_at=now + timedelta(seconds=delay),
                detail=f"Paperless did not answer ({error}); trying again in {delay} s.",
            )
            waiting += 1
        else:
            WebhookEvent.objects.filter(pk=event.pk).update(
                status=WebhookEvent.Status.FAILED,
                attempts=F("attempts") + 1,
                next_check_at=None,
                detail=f"Paperless did not answer after {tries + 1} tries: {error}",
            )
    logger.warning("webhook run: Paperless did not answer", extra={"error": str(error)})
    return waiting


def _schedule_rechecks() -> Job | None:
    """A delayed run for the earliest event waiting (for text, or for Paperless), unless a
    delayed run due by then is queued already."""
    earliest = (
        WebhookEvent.objects.waiting()
        .order_by("next_check_at")
        .values_list("next_check_at", flat=True)
        .first()
    )
    if earliest is None:
        return None
    for params in Job.objects.filter(
        kind=WEBHOOK, status=Job.Status.QUEUED, params__has_key="recheck_at"
    ).values_list("params", flat=True):
        due = parse_datetime(str(params.get("recheck_at") or ""))
        if due is not None and due <= earliest + timedelta(seconds=1):
            return None
    delay = max(0.0, (earliest - timezone.now()).total_seconds())
    return jobs.enqueue(
        kind=WEBHOOK, params={"recheck_at": earliest.isoformat()}, delay_seconds=delay
    )


# --- after the analysis -----------------------------------------------------------------------


def finish_events(queryset: Any) -> int:
    """Mark events analysed, with the open duplicate group their document is in; queue the
    "possible duplicate" tagging when it is on and a new document found one."""
    events = list(queryset)
    if not events:
        return 0
    now = timezone.now()
    groups = dict(
        GroupMember.objects.filter(
            document__paperless_id__in={e.paperless_id for e in events},
            removed=False,
            group__status__in=OPEN_GROUP_STATUSES,
        ).values_list("document__paperless_id", "group_id")
    )
    for event in events:
        event.status = WebhookEvent.Status.DONE
        event.analysed_at = now
        event.duplicate_group_id = groups.get(event.paperless_id)
    WebhookEvent.objects.bulk_update(events, ["status", "analysed_at", "duplicate_group_id"])
    added = [e for e in events if e.event == WebhookEvent.Event.ADDED]
    found = [e for e in added if e.duplicate_group_id]
    if found and WebhookSettings.objects.get_solo().notify_tag_name:
        jobs.enqueue(kind=WEBHOOK, params={"notify": True})
    _send_for_ai_review({e.paperless_id for e in added if not e.duplicate_group_id})
    return len(events)


def _send_for_ai_review(paperless_ids: set[int]) -> None:
    """New documents that are not duplicates go to AI review when its setting "AI review of new
    documents" is on (``ai_review.runs.queue_for_review`` decides); a new duplicate is left out:
    it is about to be resolved, and the copy kept is the one worth describing."""
    mirrored = sorted(
        Document.objects.filter(paperless_id__in=paperless_ids).values_list(
            "paperless_id", flat=True
        )
    )
    if not mirrored:
        return
    try:
        from ai_review.runs import queue_for_review

        queue_for_review(document_ids=mirrored)
    except Exception:  # AI review is extra: the webhook's own work is done
        logger.warning("new documents not sent for AI review", exc_info=True)


def mark_analysed(*, started: datetime, **_: Any) -> int:
    """Receiver of ``analysis_finished``: every event mirrored before that analysis started
    was compared by it."""
    return finish_events(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.MIRRORED, mirrored_at__lte=started)
    )


# --- telling the person -----------------------------------------------------------------------


def notify_duplicates(*, ctx: JobContext | None = None) -> dict[str, Any]:
    """Put the chosen "possible duplicate" tag on new documents a webhook found a duplicate of,
    in Paperless, so they show in its own UI; recorded as our own change."""
    from documents.tags import mirror_tag
    from duplicates.actions import begin_own_change, finish_own_change, refresh_mirror

    setup = WebhookSettings.objects.get_solo()
    events = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.DONE,
        event=WebhookEvent.Event.ADDED,
        duplicate_group_id__isnull=False,
        notified=False,
    )
    ids = sorted({pid for pid in events.values_list("paperless_id", flat=True) if pid})
    if not setup.notify_tag_name or not ids:
        return {"tagged": 0}
    with get_client() as client:
        tag = None
        if setup.notify_tag_id:
            try:
                tag = client.get_tag(setup.notify_tag_id)
            except PaperlessError:
                tag = None
        if tag is None or tag.get("name") != setup.notify_tag_name:
            tag, _created = client.ensure_tag(setup.notify_tag_name)
            setup.notify_tag_id = tag["id"]
            setup.save(update_fields=["notify_tag_id"])
        mirror_tag(tag)
        current = {
            raw["id"]: raw
            for raw in client.get_documents_by_ids(ids, fields=["id", "tags", "modified"])
        }
        todo = [pid for pid in ids if pid in current and tag["id"] not in current[pid]["tags"]]
        changes = {pid: begin_own_change(paperless_id=pid, kind=TAG_CHANGE) for pid in todo}
        if todo:
            client.add_tag(todo, tag_id=tag["id"])
            for raw in client.get_documents_by_ids(todo, fields=["id", "tags", "modified"]):
                finish_own_change(changes[raw["id"]], modified=raw.get("modified"))
                refresh_mirror(raw)
    events.filter(paperless_id__in=ids).update(notified=True)
    return {"tagged": len(todo), "tag": tag["id"]}


# --- housekeeping (the scheduler's tick) ------------------------------------------------------


def housekeeping(*, now: datetime | None = None) -> dict[str, int]:
    """Every minute: a run for events nobody is working on (a lost message, a worker killed),
    an analysis for events left mirrored without one, and old events forgotten."""
    now = now or timezone.now()
    outcome = {"pruned": WebhookEvent.objects.prune(now=now), "run": 0, "analysis": 0}
    runs = _runs(Job.objects.filter(status__in=Job.ACTIVE_STATUSES))
    if WebhookEvent.objects.claimable(now=now).exists() and not runs.exists():
        jobs.enqueue(kind=WEBHOOK, params={})
        outcome["run"] = 1
    stale = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.MIRRORED, mirrored_at__lt=now - STALE_MIRRORED
    )
    if (
        stale.exists()
        and not Job.objects.filter(kind=Job.Kind.ANALYSIS, status__in=Job.ACTIVE_STATUSES).exists()
    ):
        from duplicates.analysis import request_analysis

        request_analysis()
        outcome["analysis"] = 1
    return outcome


def retry(events: Any) -> int:
    """Take failed events again from the start (the events page's "retry")."""
    updated = events.filter(status=WebhookEvent.Status.FAILED, paperless_id__isnull=False).update(
        status=WebhookEvent.Status.PENDING,
        attempts=0,
        content_checks=0,
        next_check_at=None,
        detail="Retried.",
        job=None,
    )
    if updated:
        schedule_run()
    return updated
