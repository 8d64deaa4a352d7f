"""The Django side of a duplicate analysis: documents from the database into the engine, its
sketches and edges back into the database, then groups rebuilt with a person's decisions.

One function, :func:`run_analysis`, is what the ``analysis`` job kind runs, so the worker and
``manage.py dedupe`` share it. Each run:

1. dissolves groups broken by documents deleted since (the sync deletes them, memberships cascade);
2. re-scores stored edges when the configuration's weights or switches changed
   (``grouping.ensure_scoring``): factors are stored, so no text or signature is read;
3. compares documents:

   * *incremental* (the default, after a sync): only documents flagged ``needs_analysis`` or
     without a current sketch (new, text changed, or signature parameters changed) are compared
     with the whole library (``engine.analyse_changed`` over the stored sketches); the edges that
     touch them are replaced, and only the groups those changes can reach are rebuilt, in the
     same transaction (``grouping.regroup(seeds=...)``). One scan of documents and sketches
     gives both the documents to compare and the index of the others. When that is more than
     ``FULL_RUN_SHARE`` of the library (a first run), or nothing was ever analysed, the run is
     full;
   * *full* (``--full``): every candidate pair of the library is scored again and edges not
     found again are dropped. Stored sketches are reused when the engine verifies them against the
     text's digest and the current parameters, everything else is recomputed. Checkpointed: after
     every engine batch the new sketches and edges are committed with a small cursor
     (``AnalysisStatus.cursor`` and the job's checkpoint, one transaction without waiting for
     the disk); a killed run is resumed by the same job or by the next analysis job, which
     continues after the last committed batch. The documents' ``needs_analysis`` flags are
     cleared by a second connection while the engine finds candidates (``_FlagClearer``);

4. rebuilds groups from every stored edge (``grouping.regroup``) after a full run, a
   re-scoring or a change of threshold.

Bulk reads and writes are raw SQL (``duplicates.store``): at 100k documents the ORM's per-row
work was most of the run outside the engine.

Workers: the engine forks worker processes for big runs. Inside the embedded web process
(``settings.EMBEDDED_WORKER``, daphne with threads) it runs in-process (``workers=1``) unless a
job asks otherwise; ``rundramatiq`` workers and ``manage.py dedupe`` use every core.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, Max
from django.dispatch import Signal
from django.utils import timezone

from dedupe_project.models import Configuration
from documents.models import Document
from duplicates.engine import (
    AnalysisState,
    DocFeatures,
    EngineConfig,
    IndexEntry,
    PairScore,
    analyse,
    analyse_changed,
)
from duplicates.engine.scoring import FACTORS_VERSION
from duplicates.grouping import changed_since, chunked, ensure_scoring, regroup
from duplicates.models import (
    AnalysisStatus,
    DuplicateGroup,
    PairEdge,
    signature_key,
)
from duplicates.store import FEATURE_FIELDS, AnalysisReader, AnalysisWriter
from processing.heap import frozen_heap
from processing.jobs import JobContext, job_kind
from processing.models import Job

logger = logging.getLogger(__name__)

ANALYSIS = Job.Kind.ANALYSIS
FULL_RUN_SHARE = 0.3
TUNING = ("sketch_batch", "score_batch")
FEATURE_CHUNK = 2000
# Documents sketched between two checkpoints (the engine's own default is 2,000): every
# checkpoint stops the workers while it commits, 5,000 keeps a lost batch to a few seconds.
SKETCH_BATCH = 5000
# The same columns, in the same order, as the PostgreSQL reader selects (values_list gives a
# foreign key's id for its name).
_FEATURE_FIELDS = ("pk", *FEATURE_FIELDS, "sketch__blob", "sketch__params_key")
_U64 = 0xFFFFFFFFFFFFFFFF


class AnalysisAlreadyRunning(Exception):
    def __init__(self, job: Job) -> None:
        super().__init__(f"Analysis job #{job.pk} is already {job.status}.")
        self.job = job


# --- configuration ---------------------------------------------------------------------------


def engine_config(*, workers: int | None = None, **tuning: int) -> EngineConfig:
    """The engine's configuration from the stored settings (weights, switches, threshold);
    ``tuning``: ``sketch_batch`` / ``score_batch`` (work between two checkpoints)."""
    if workers is None and settings.EMBEDDED_WORKER:
        workers = 1
    batches = {"sketch_batch": SKETCH_BATCH}
    batches.update({k: int(v) for k, v in tuning.items() if k in TUNING and v})
    return EngineConfig(
        scoring=Configuration.objects.get_solo().scoring_config(), workers=workers, **batches
    )


# --- documents in ----------------------------------------------------------------------------


def _hash_or_none(value: Any) -> int | bytes | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value & _U64
    return bytes(value)


def tag_counts() -> dict[int, int]:
    reader = AnalysisReader()
    if reader.postgres:
        return reader.tag_counts()
    counts: dict[int, int] = {}
    for doc_id in Document.tags.through.objects.values_list("document_id", flat=True).iterator(
        chunk_size=10_000
    ):
        counts[doc_id] = counts.get(doc_id, 0) + 1
    return counts


def iter_features(
    ids: Sequence[int] | None = None,
    *,
    config: EngineConfig,
    tags: dict[int, int] | None = None,
) -> Iterator[DocFeatures]:
    """``DocFeatures`` with text for the documents ``ids`` (default: all, in pk order), streamed
    in chunks (plain tuples, no model instances; raw binary rows on PostgreSQL) with their stored
    sketch when it was made with these params."""
    key = signature_key(config.signature)
    tags = tags if tags is not None else {}
    reader = AnalysisReader()
    if reader.postgres:
        rows = reader.features(ids)
    else:
        queryset = (
            Document.objects.order_by("pk") if ids is None else Document.objects.filter(pk__in=ids)
        )
        rows = queryset.values_list(*_FEATURE_FIELDS, "content__text").iterator(
            chunk_size=FEATURE_CHUNK
        )
    for row in rows:
        (pk, checksum, archive_checksum, correspondent, document_type, created, added, pages,
         original_size, archive_size, title, file_name, archived_name, dhash, phash, layout,
         _fingerprint, blob, params_key, text) = row  # fmt: skip
        yield DocFeatures(
            id=pk,
            text=text or "",
            checksum=checksum or None,
            archive_checksum=archive_checksum or None,
            correspondent_id=correspondent,
            document_type_id=document_type,
            created=created,
            added=added.date() if added else None,
            page_count=pages,
            size=original_size or archive_size,
            title=title,
            original_file_name=file_name,
            has_archive=bool(archive_checksum or archived_name),
            tag_count=tags.get(pk, 0),
            dhash=_hash_or_none(dhash),
            phash=_hash_or_none(phash),
            layout=None if layout is None else bytes(layout),
            signature=bytes(blob) if blob is not None and params_key == key else None,
        )


def load_features(ids: Sequence[int], *, config: EngineConfig) -> list[DocFeatures]:
    reader = AnalysisReader()
    if reader.postgres:  # arrays: one query each, whatever the number of ids
        ids = list(ids)
        return list(iter_features(ids, config=config, tags=reader.tag_counts(ids)))
    tags: dict[int, int] = {}
    through = Document.tags.through
    found: list[DocFeatures] = []
    for part in chunked(list(ids)):
        for doc_id in through.objects.filter(document_id__in=part).values_list(
            "document_id", flat=True
        ):
            tags[doc_id] = tags.get(doc_id, 0) + 1
        found.extend(iter_features(part, config=config, tags=tags))
    return found


def scan_library(*, config: EngineConfig) -> tuple[list[int], list[IndexEntry]]:
    """The documents to compare -- flagged by the sync, or without a sketch made with these
    params from their present text (new, text changed, params changed) -- and the incremental
    run's index of every other document (its sketch and hashes, no text), from one scan. The
    loop is inlined: it runs once per document of the library."""
    changed: list[int] = []
    index: list[IndexEntry] = []
    rows = AnalysisReader().library(params_key=signature_key(config.signature))
    for doc_id, flagged, blob, checksum, archive_checksum, phash, layout in rows:
        if flagged or blob is None:
            changed.append(doc_id)
            continue
        index.append(
            IndexEntry(
                doc_id,
                blob if type(blob) is bytes else bytes(blob),
                checksum or None,
                archive_checksum or None,
                None if phash is None else (phash & _U64 if type(phash) is int else bytes(phash)),
                None if layout is None else bytes(layout),
            )
        )
    return changed, index


# --- results out -----------------------------------------------------------------------------


def store_sketches(sketches: Iterable[tuple[int, bytes]], *, config: EngineConfig) -> int:
    """Insert or replace sketches (raw SQL, see ``duplicates.store``); returns how many."""
    return AnalysisWriter().sketches(
        sketches, params_key=signature_key(config.signature), now=timezone.now()
    )


def upsert_edges(edges: Sequence[PairScore], *, run_id: int | None) -> int:
    """Insert or replace edges (by pair); edges of documents deleted meanwhile are skipped, and
    so are pairs of versions of one document (:func:`without_version_pairs`)."""
    return AnalysisWriter().edges(without_version_pairs(edges), run_id=run_id, now=timezone.now())


def without_version_pairs(edges: Sequence[PairScore]) -> Sequence[PairScore]:
    """``edges`` less the pairs of two files of one Paperless document (a root and its versions,
    rows with ``root_paperless_id`` set): versions are never proposed as duplicates of each
    other. One indexed query when the mirror has no versions (the usual case)."""
    if not edges:
        return edges
    roots = dict(
        Document.objects.filter(root_paperless_id__isnull=False).values_list(
            "pk", "root_paperless_id"
        )
    )
    if not roots:
        return edges
    family = dict(roots)
    for pk, paperless_id in Document.objects.filter(
        paperless_id__in=set(roots.values())
    ).values_list("pk", "paperless_id"):
        family[pk] = paperless_id
    return [
        edge
        for edge in edges
        if family.get(edge.a) is None or family.get(edge.a) != family.get(edge.b)
    ]


def mark_analysed(ids: Sequence[int], *, started: datetime) -> None:
    """Clear ``needs_analysis`` of documents compared, unless the sync touched them since."""
    AnalysisWriter().mark_analysed(ids, started=started)


# --- the runs --------------------------------------------------------------------------------


def library_key() -> str:
    """Changes when documents are added, deleted or change text: a checkpoint from another
    library is not resumed."""
    figures = Document.objects.aggregate(
        n=Count("pk"), top=Max("pk"), changed=Max("content_changed_at")
    )
    changed = figures["changed"].isoformat() if figures["changed"] else ""
    return f"{figures['n']}:{figures['top']}:{changed}"


class _FlagClearer:
    """Clears ``needs_analysis`` of a full run's documents in a second connection while the
    engine looks for candidates (one core busy in this process, the other free for the
    database). Measured at 100k documents: the UPDATE rewrites every flagged row and its 13
    index entries, 6-8 s the workers otherwise wait through at the end of the run.

    Early is safe: it starts only after a checkpoint has committed the full run's cursor, and
    while that cursor is set every later analysis continues the full run (resumed or restarted)
    instead of trusting the flags. Used on PostgreSQL outside a transaction only (a second
    connection sees committed rows only; SQLite has one writer); :meth:`finish` says whether it
    succeeded, otherwise the caller clears the flags itself."""

    def __init__(self, ids: Sequence[int], *, started: datetime) -> None:
        self.ids = list(ids)
        self.started = started
        self.thread: threading.Thread | None = None
        self.done = False

    @staticmethod
    def usable() -> bool:
        connection = connections["default"]
        return connection.vendor == "postgresql" and not connection.in_atomic_block

    def start(self) -> None:
        if self.thread is None and self.usable():
            self.thread = threading.Thread(target=self._run, name="analysis-flags")
            self.thread.start()

    def _run(self) -> None:
        try:
            with transaction.atomic():
                writer = AnalysisWriter()
                writer.relax_durability()
                writer.mark_analysed(self.ids, started=self.started)
            self.done = True
        except Exception:  # the caller clears them itself
            logger.warning("clearing needs_analysis in the background failed", exc_info=True)
        finally:
            connections.close_all()  # this thread's connection

    def finish(self) -> bool:
        if self.thread is not None:
            self.thread.join()
        return self.done


class _Reporter:
    """Engine progress -> job progress; engine checkpoints -> committed sketches, edges, cursor."""

    STAGES = {"signatures": "Computing signatures", "candidates": "Finding candidate pairs",
              "scoring": "Scoring pairs"}  # fmt: skip

    def __init__(self, ctx: JobContext | None, *, config: EngineConfig, run_id: int,
                 library: str) -> None:  # fmt: skip
        self.ctx = ctx
        self.config = config
        self.run_id = run_id
        self.library = library
        self.sketches_written = 0
        self.edges_written = 0
        self.batches = 0
        self.write_seconds = 0.0
        self.sketch_seconds = 0.0
        self.status_pk = AnalysisStatus.objects.get_solo().pk
        self.scoring_started: Callable[[], None] | None = None

    def progress(self, stage: str, done: int, total: int) -> None:
        if self.ctx is not None:
            self.ctx.progress(
                done=done, total=total, message=f"{self.STAGES.get(stage, stage)}: {done}/{total}"
            )

    def message(self, text: str) -> None:
        if self.ctx is not None:
            self.ctx.progress(done=0, total=None, message=text, force=True)

    def cursor(self, state: AnalysisState) -> dict[str, Any]:
        return {"mode": "full", "run_id": self.run_id, "library": self.library,
                "stage": state.stage, "cursor": state.cursor}  # fmt: skip

    def checkpoint(self, state: AnalysisState) -> None:
        clock = time.monotonic()
        new_sketches = list(itertools.islice(state.sketches.items(), self.sketches_written, None))
        new_edges = state.edges[self.edges_written :]
        cursor = self.cursor(state)
        with transaction.atomic():
            AnalysisWriter().relax_durability()
            store_sketches(new_sketches, config=self.config)
            self.sketch_seconds += time.monotonic() - clock
            upsert_edges(new_edges, run_id=self.run_id)
            AnalysisStatus.objects.filter(pk=self.status_pk).update(cursor=cursor)
            if self.ctx is not None:  # the job's checkpoint commits with the work it describes
                self.ctx.save_checkpoint(cursor)
        self.sketches_written += len(new_sketches)
        self.edges_written += len(new_edges)
        self.batches += 1
        self.write_seconds += time.monotonic() - clock
        if self.scoring_started is not None and state.stage == "score":
            self.scoring_started()  # the cursor is committed: see _FlagClearer
            self.scoring_started = None
        if self.ctx is not None:
            self.ctx.check_cancelled()


def full_analysis(
    *, ctx: JobContext | None, config: EngineConfig, run_id: int, started: datetime
) -> dict[str, Any]:
    status = AnalysisStatus.objects.get_solo()
    library = library_key()
    left = status.cursor or {}
    resume = None
    if left.get("mode") == "full" and left.get("library") == library:
        run_id = left["run_id"]
        resume = AnalysisState(stage=left["stage"], cursor=left["cursor"])
        logger.info("analysis resumes", extra={"cursor": left})
    reporter = _Reporter(ctx, config=config, run_id=run_id, library=library)
    reporter.message("Loading documents")
    clock = time.monotonic()
    docs = list(iter_features(config=config, tags=tag_counts()))
    flags = _FlagClearer([d.id for d in docs], started=started)
    reporter.scoring_started = flags.start
    loaded = time.monotonic()
    result = analyse(
        docs,
        config=config,
        progress=reporter.progress,
        checkpoint=reporter.checkpoint,
        resume=resume,
    )
    analysed = time.monotonic()
    ids = [d.id for d in docs]
    del docs
    with transaction.atomic():
        AnalysisWriter().relax_durability()
        reporter.checkpoint(AnalysisState(stage="done", cursor=0, sketches=result.sketches,
                                          edges=result.edges))  # fmt: skip
        stale = PairEdge.objects.exclude(run_id=run_id).delete()[0]
        if not flags.finish():
            mark_analysed(ids, started=started)
        AnalysisStatus.objects.filter(pk=status.pk).update(
            cursor={}, last_full_at=started, factors_version=FACTORS_VERSION
        )
    return {
        "mode": "full",
        "resumed": resume is not None,
        "documents": len(ids),
        "compared": len(ids),
        "candidates": result.stats.get("candidates", 0),
        "edges": PairEdge.objects.count(),
        "edges_dropped": stale,
        "signatures_computed": reporter.sketches_written,
        "stage_seconds": {
            "load": round(loaded - clock, 3),
            "engine": round(analysed - loaded - reporter.write_seconds, 3),
            "checkpoints": round(reporter.write_seconds, 3),
            "sketch_writes": round(reporter.sketch_seconds, 3),
            "finish": round(time.monotonic() - analysed, 3),
        },
    }


def incremental_analysis(
    *,
    ctx: JobContext | None,
    config: EngineConfig,
    changed_ids: Sequence[int],
    library: list[IndexEntry],
    started: datetime,
    seeds: set[int] | None,
) -> dict[str, Any]:
    """Compare the changed documents with the library, replace their edges and regroup, the
    writes and the regroup in one transaction: a run stopped in between leaves the documents
    flagged, and the next run compares them again. ``seeds``: documents to regroup besides those
    whose edges changed (``grouping.changed_since``), or ``None`` to regroup everything."""
    reporter = _Reporter(ctx, config=config, run_id=0, library="")
    reporter.message(f"Comparing {len(changed_ids)} new or changed documents")
    clock = time.monotonic()
    changed = load_features(changed_ids, config=config)
    loaded = time.monotonic()
    result = analyse_changed(
        changed,
        library=library,
        load=lambda ids: load_features(ids, config=config),
        config=config,
        progress=reporter.progress,
    )
    library.clear()  # the caller's list: free the index before regrouping
    analysed = time.monotonic()
    with transaction.atomic():
        AnalysisWriter().relax_durability()
        store_sketches(result.sketches.items(), config=config)
        touched = set(changed_ids)
        for part in chunked(list(changed_ids)):
            old_edges = PairEdge.objects.touching(part)
            for a, b in old_edges.values_list("a_id", "b_id"):
                touched.update((a, b))
            old_edges.delete()
        written = upsert_edges(result.edges, run_id=None)
        for edge in result.edges:
            touched.update((edge.a, edge.b))
        mark_analysed(changed_ids, started=started)
        written_at = time.monotonic()
        if ctx is not None:
            ctx.progress(done=0, total=None, message="Building groups", force=True)
        grouped = regroup(
            threshold=config.scoring.threshold,
            seeds=None if seeds is None else touched | seeds,
        )
    counts = {
        "mode": "incremental",
        "resumed": False,
        "documents": Document.objects.count(),
        "compared": len(changed),
        "candidates": result.stats.get("candidates", 0),
        "edges_written": written,
        "edges": PairEdge.objects.count(),
        "signatures_computed": len(result.sketches),
        "stage_seconds": {
            "load": round(loaded - clock, 3),
            "engine": round(analysed - loaded, 3),
            "write": round(written_at - analysed, 3),
            "regroup": round(time.monotonic() - written_at, 3),
        },
    }
    counts.update(grouped)
    return counts


analysis_finished = Signal()
"""Sent after every analysis that finished, with ``started`` (when it read which documents to
compare: every document mirrored before then was compared) and ``counts``. Receivers' errors are
logged, never the analysis's (the webhooks mark their deliveries analysed on it)."""


def run_analysis(
    *,
    full: bool = False,
    ctx: JobContext | None = None,
    workers: int | None = None,
    **tuning: int,
) -> dict[str, Any]:
    """One analysis (see the module docstring); returns its counts. Runs with the start-up heap
    frozen from the cyclic garbage collector (``processing.heap``)."""
    started = timezone.now()
    with frozen_heap():
        counts = _run_analysis(full=full, ctx=ctx, workers=workers, **tuning)
    for receiver, outcome in analysis_finished.send_robust(
        sender=run_analysis, started=started, counts=counts
    ):
        if isinstance(outcome, Exception):
            logger.error(
                "analysis_finished receiver failed",
                exc_info=outcome,
                extra={"receiver": getattr(receiver, "__qualname__", str(receiver))},
            )
    return counts


def _run_analysis(
    *,
    full: bool,
    ctx: JobContext | None,
    workers: int | None,
    **tuning: int,
) -> dict[str, Any]:
    clock = time.monotonic()
    started = timezone.now()
    config = engine_config(workers=workers, **tuning)
    status = AnalysisStatus.objects.get_solo()
    seeds = changed_since(status.last_run_at)  # before dissolving: those members are seeds
    dissolved = DuplicateGroup.objects.dissolve_broken()
    rescored = ensure_scoring(scoring=config.scoring)
    if rescored is not None:
        seeds = None  # every confidence may have changed: regroup everything
    run_id = ctx.job.pk if ctx is not None else int(time.time())
    total = Document.objects.count()
    changed_ids: list[int] = []
    library: list[IndexEntry] = []
    scanned = time.monotonic()
    if not full and not status.cursor:
        changed_ids, library = scan_library(config=config)
        full = (
            status.last_full_at is None
            or status.factors_version != FACTORS_VERSION  # stored factors of an older engine
            or len(changed_ids) > FULL_RUN_SHARE * max(total, 1)
        )
        if full:
            library = []
    scanned = time.monotonic() - scanned
    if full or status.cursor:
        counts = full_analysis(ctx=ctx, config=config, run_id=run_id, started=started)
        seeds = None
    elif changed_ids:
        counts = incremental_analysis(
            ctx=ctx, config=config, changed_ids=changed_ids, library=library, started=started,
            seeds=seeds,
        )  # fmt: skip
        counts["stage_seconds"]["load"] = round(counts["stage_seconds"]["load"] + scanned, 3)
    else:
        counts = {
            "mode": "regroup",
            "resumed": False,
            "documents": total,
            "compared": 0,
            "candidates": 0,
            "edges": PairEdge.objects.count(),
            "signatures_computed": 0,
        }
    if counts["mode"] != "incremental":
        if ctx is not None:
            ctx.progress(done=0, total=None, message="Building groups", force=True)
        counts.update(regroup(threshold=config.scoring.threshold, seeds=seeds))
    AnalysisStatus.objects.filter(pk=status.pk).update(
        last_run_at=started, last_job_id=ctx.job.pk if ctx is not None else None
    )
    counts.update(
        {"rescored_edges": rescored or 0, "dissolved_groups": dissolved,
         "seconds": round(time.monotonic() - clock, 3)}
    )  # fmt: skip
    if ctx is not None:
        ctx.progress(
            done=1,
            total=1,
            message=f"{counts['groups']} groups from {counts['compared']} documents compared",
            counts={
                k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)
            },
            force=True,
        )
        ctx.save_checkpoint({})
    return counts


# --- entry points ----------------------------------------------------------------------------


def running_analysis(*, exclude_job_id: int | None = None) -> Job | None:
    Job.objects.mark_stale()
    active = Job.objects.filter(kind=ANALYSIS).active()
    if exclude_job_id is not None:
        active = active.exclude(pk=exclude_job_id)
    return active.order_by("created_at").first()


def start_analysis(*, full: bool = False, user: Any = None) -> Job:
    """Queue an analysis (the API, the pages, after a sync). Raises AnalysisAlreadyRunning."""
    from processing import jobs

    with transaction.atomic():
        current = running_analysis()
        if current is not None:
            raise AnalysisAlreadyRunning(current)
        return jobs.enqueue(kind=ANALYSIS, params={"full": bool(full)}, user=user)


def request_analysis() -> Job:
    """An analysis that will compare what changed until now: the queued one if there is one (it
    has not looked at the documents yet), else a new incremental one, queued behind a running
    one (which may have looked before the change) if need be. A burst of changes makes one."""
    from processing import jobs

    Job.objects.mark_stale()
    with transaction.atomic():
        queued = Job.objects.filter(kind=ANALYSIS, status=Job.Status.QUEUED).order_by("pk").first()
        if queued is not None:
            return queued
        return jobs.enqueue(kind=ANALYSIS, params={"full": False})


def analysis_after_sync(*, counts: dict[str, Any]) -> Job | None:
    """Queue an incremental analysis when a sync changed documents (:func:`request_analysis`:
    one queued already will see the changes)."""
    if not any(counts.get(name) for name in ("created", "updated", "deleted")):
        return None
    return request_analysis()


WAIT_POLL_SECONDS = 0.25


def _wait_for_older_analysis(ctx: JobContext) -> None:
    """Wait while an analysis queued before this one runs (one runs at a time; this one was
    queued to see what changed since that one looked). Only older ones are waited for, so two
    never wait for each other; a dead one is waited for until it is noticed as stale."""
    while True:
        other = (
            Job.objects.filter(kind=ANALYSIS, status=Job.Status.RUNNING, pk__lt=ctx.job.pk)
            .order_by("pk")
            .first()
        )
        if other is None:
            return
        ctx.progress(done=0, total=None, message=f"Waiting for analysis #{other.pk} to finish")
        ctx.check_cancelled()
        time.sleep(WAIT_POLL_SECONDS)
        Job.objects.mark_stale()


@job_kind(ANALYSIS, queue="analysis")
def analysis_job(ctx: JobContext) -> dict[str, Any]:
    """Run (or resume) an analysis; ``params``: ``full`` (bool), ``workers`` (int, optional)."""
    _wait_for_older_analysis(ctx)
    workers = ctx.params.get("workers")
    return run_analysis(
        full=bool(ctx.params.get("full")),
        ctx=ctx,
        workers=int(workers) if workers else None,
        **{name: ctx.params[name] for name in TUNING if ctx.params.get(name)},
    )
