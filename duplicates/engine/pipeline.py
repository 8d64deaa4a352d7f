"""The analysis pipeline: sketches -> candidates -> exact scores -> edges -> groups.

Full run: :func:`analyse`. Incremental run after a sync: :func:`analyse_changed` (only pairs that
involve a new or changed document are scored; the caller replaces those documents' edges and
calls :func:`duplicates.engine.grouping.build_groups` again on all edges).

Big runs use every core (``multiprocessing``, ``fork`` where available: workers inherit the
documents and receive only row numbers); small runs stay in-process. Work goes in batches; after
each batch ``checkpoint(state)`` is called with an :class:`AnalysisState` the caller persists
(``state.to_dict()`` is JSON-friendly). Passing it back as ``resume`` continues after the last
finished batch and gives the same result as an uninterrupted run. ``progress(stage, done,
total)`` is called after every batch.
"""

from __future__ import annotations

import base64
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .candidates import CandidateConfig, LibraryIndex, candidate_pairs
from .grouping import build_groups
from .scoring import (
    DocContext,
    ScoringConfig,
    build_context,
    confidence,
    part_of,
    score_factors,
)
from .signatures import (
    SignatureParams,
    Sketch,
    compute_sketches,
    deserialise_sketch,
    serialise_sketch,
    signature_is_valid,
    sketches_from_blobs,
    text_hash,
)
from .types import AnalysisResult, Decisions, DocFeatures, DocId, PairScore, id_sort_key

Progress = Callable[[str, int, int], None]
Checkpoint = Callable[["AnalysisState"], None]
# Documents whose contexts a scoring process keeps (a long text's context with its counted
# words is tens of kilobytes).
_CONTEXT_CACHE_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Everything that tunes a run.

    ``keep_threshold``: pairs whose confidence is below it, with and without the dates /
    amounts / numbers check, are not returned as edges (pairs that check alone rejects are kept,
    so a person can see and re-weight them), unless one is part of the other (kept to be shown
    as such).
    ``workers``: processes (default: all cores); runs smaller than ``parallel_min_docs``
    documents stay in-process. ``sketch_batch`` / ``score_batch``: work
    between two checkpoints.
    """

    signature: SignatureParams = field(default_factory=SignatureParams)
    candidates: CandidateConfig = field(default_factory=CandidateConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    keep_threshold: float = 0.2
    workers: int | None = None
    parallel_min_docs: int = 4000
    parallel_min_pairs: int = 4000
    sketch_batch: int = 2000
    score_batch: int = 20000


@dataclass(slots=True)
class AnalysisState:
    """Where a run is; persisted by the caller between batches."""

    stage: str = "sketch"
    cursor: int = 0
    sketches: dict[DocId, bytes] = field(default_factory=dict)
    edges: list[PairScore] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "cursor": self.cursor,
            "sketches": [[k, base64.b64encode(v).decode()] for k, v in self.sketches.items()],
            "edges": [
                {"a": e.a, "b": e.b, "factors": e.factors, "confidence": e.confidence,
                 "sources": list(e.sources)}
                for e in self.edges
            ],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisState:
        return cls(
            stage=data["stage"],
            cursor=data["cursor"],
            sketches={k: base64.b64decode(v) for k, v in data["sketches"]},
            edges=[
                PairScore(
                    a=e["a"],
                    b=e["b"],
                    factors=dict(e["factors"]),
                    confidence=e["confidence"],
                    sources=tuple(e["sources"]),
                )
                for e in data["edges"]
            ],
        )


@dataclass(slots=True)
class IndexEntry:
    """A stored document for the incremental index: its signature blob and its hashes."""

    id: DocId
    signature: bytes
    checksum: str | None = None
    archive_checksum: str | None = None
    phash: int | bytes | None = None
    layout: bytes | None = None


# --- worker side -------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(docs: Sequence[DocFeatures], config: EngineConfig) -> None:
    _WORKER["docs"] = docs
    _WORKER["config"] = config
    _WORKER["contexts"] = {}


def _sketch_rows(rows: Sequence[int]) -> list[Sketch]:
    docs, config = _WORKER["docs"], _WORKER["config"]
    return compute_sketches(
        [docs[row].text for row in rows], params=config.signature, keep_shingles=False
    )


def _context(row: int) -> DocContext:
    contexts: dict[int, DocContext] = _WORKER["contexts"]
    found = contexts.get(row)
    if found is None:
        if len(contexts) > _CONTEXT_CACHE_LIMIT:
            contexts.clear()
        found = contexts[row] = build_context(
            _WORKER["docs"][row], params=_WORKER["config"].signature
        )
    return found


def _score_rows(pairs: Sequence[tuple[int, int, tuple[str, ...]]]) -> list[PairScore]:
    docs, config = _WORKER["docs"], _WORKER["config"]
    kept = []
    for left, right, sources in pairs:
        factors = score_factors(
            docs[left],
            docs[right],
            left_context=_context(left),
            right_context=_context(right),
            config=config.scoring,
        )
        score = confidence(factors, config=config.scoring)
        if (
            score >= config.keep_threshold
            or confidence(factors, config=config.scoring, veto=False) >= config.keep_threshold
            or part_of(factors, config=config.scoring)
        ):
            a, b = sorted((docs[left].id, docs[right].id), key=id_sort_key)
            kept.append(PairScore(a=a, b=b, factors=factors, confidence=score, sources=sources))
    return kept


# --- orchestration -----------------------------------------------------------------------


def _worker_count(config: EngineConfig) -> int:
    return max(1, config.workers or os.cpu_count() or 1)


@contextmanager
def _executor(
    docs: Sequence[DocFeatures], config: EngineConfig, *, parallel: bool
) -> Iterator[Executor | None]:
    if not parallel or _worker_count(config) < 2:
        _init_worker(docs, config)
        try:
            yield None
        finally:
            _WORKER.clear()
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(
        max_workers=_worker_count(config),
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
        initargs=(docs, config),
    ) as pool:
        yield pool


def _split(items: Sequence, parts: int) -> list[Sequence]:
    size = max(1, -(-len(items) // parts))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _run(pool: Executor | None, function: Callable, items: Sequence, *, parts: int) -> list:
    if pool is None:
        return function(items)
    results = []
    for chunk in pool.map(function, _split(items, parts)):
        results.extend(chunk)
    return results


def _usable_sketch(
    doc: DocFeatures, stored: bytes | None, *, params: SignatureParams
) -> Sketch | None:
    if stored and signature_is_valid(stored, params=params, text_digest=text_hash(doc.text)):
        return deserialise_sketch(stored)[0]
    return None


def _sketch_stage(
    docs: Sequence[DocFeatures],
    *,
    state: AnalysisState,
    pool: Executor | None,
    config: EngineConfig,
    progress: Progress | None,
    checkpoint: Checkpoint | None,
) -> list[Sketch]:
    params = config.signature
    sketches: list[Sketch | None] = [
        _usable_sketch(doc, state.sketches.get(doc.id) or doc.signature, params=params)
        for doc in docs
    ]
    missing = [row for row, sketch in enumerate(sketches) if sketch is None]
    for start in range(0, len(missing), config.sketch_batch):
        rows = missing[start : start + config.sketch_batch]
        for row, sketch in zip(rows, _run(pool, _sketch_rows, rows, parts=_worker_count(config)),
                               strict=True):  # fmt: skip
            sketches[row] = sketch
            state.sketches[docs[row].id] = serialise_sketch(sketch, params=params)
        _report(progress, "signatures", start + len(rows), len(missing))
        _save(checkpoint, state)
    return sketches  # type: ignore[return-value]


def _report(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def _save(checkpoint: Checkpoint | None, state: AnalysisState) -> None:
    if checkpoint is not None:
        checkpoint(state)


def _score_stage(
    pairs: list[tuple[int, int, tuple[str, ...]]],
    *,
    state: AnalysisState,
    pool: Executor | None,
    config: EngineConfig,
    progress: Progress | None,
    checkpoint: Checkpoint | None,
) -> None:
    parts = _worker_count(config) * 4
    for start in range(state.cursor, len(pairs), config.score_batch):
        batch = pairs[start : start + config.score_batch]
        state.edges.extend(_run(pool, _score_rows, batch, parts=parts))
        state.cursor = start + len(batch)
        _report(progress, "scoring", state.cursor, len(pairs))
        _save(checkpoint, state)


def analyse(
    docs: Sequence[DocFeatures],
    *,
    config: EngineConfig | None = None,
    decisions: Decisions | None = None,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
    resume: AnalysisState | None = None,
) -> AnalysisResult:
    """A full analysis of ``docs``: edges with factors, groups, and the sketches computed."""
    config = config or EngineConfig()
    docs = list(docs)
    state = resume or AnalysisState()
    parallel = len(docs) >= min(config.parallel_min_docs, config.parallel_min_pairs)
    with _executor(docs, config, parallel=parallel) as pool:
        sketches = _sketch_stage(
            docs, state=state, pool=pool, config=config, progress=progress, checkpoint=checkpoint
        )
        if state.stage == "sketch":
            state.stage, state.cursor = "score", 0
            _save(checkpoint, state)
        index = LibraryIndex.build(
            ids=[d.id for d in docs],
            sketches=sketches,
            checksums=[(d.checksum, d.archive_checksum) for d in docs],
            phash=[d.phash for d in docs],
            layout=[d.layout for d in docs],
        )
        found = candidate_pairs(index, config=config.candidates, params=config.signature)
        pairs = [(i, j, sources) for (i, j), sources in found.items()]
        _report(progress, "candidates", len(pairs), len(pairs))
        _score_stage(
            pairs, state=state, pool=pool, config=config, progress=progress, checkpoint=checkpoint
        )
    state.stage = "done"
    groups = build_groups(
        state.edges,
        docs={d.id: d for d in docs},
        threshold=config.scoring.threshold,
        floor=config.scoring.model.link_floor,
        decisions=decisions,
    )
    stats = {"documents": len(docs), "candidates": len(pairs), "edges": len(state.edges)}
    return AnalysisResult(edges=state.edges, groups=groups, sketches=state.sketches, stats=stats)


def analyse_changed(
    changed: Sequence[DocFeatures],
    *,
    library: Sequence[IndexEntry],
    load: Callable[[Sequence[DocId]], Sequence[DocFeatures]],
    config: EngineConfig | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Score only the pairs that involve a new or changed document.

    ``library`` holds the stored signature of every other document (blobs made with other
    parameters are skipped: run a full analysis after changing parameters). ``load(ids)``
    returns the features (with text) of the documents the changed ones must be compared with.
    The result's ``edges`` replace every stored edge touching a changed document; ``groups`` is
    empty (regroup all edges with :func:`build_groups`).
    """
    config = config or EngineConfig()
    changed = list(changed)
    changed_ids = {doc.id for doc in changed}
    state = AnalysisState()
    _init_worker(changed, config)
    fresh = _sketch_stage(
        changed, state=state, pool=None, config=config, progress=progress, checkpoint=None
    )
    _WORKER.clear()
    entries = [e for e in library if e.id not in changed_ids]
    minhash, anchors, tokens, ok = sketches_from_blobs(
        [e.signature for e in entries], params=config.signature
    )
    entries = [e for e, good in zip(entries, ok.tolist(), strict=True) if good]
    index = LibraryIndex.from_arrays(
        ids=[e.id for e in entries] + [d.id for d in changed],
        minhash=np.concatenate([minhash[ok], *(s.minhash[None, :] for s in fresh)]),
        anchors=[a for a, good in zip(anchors, ok.tolist(), strict=True) if good]
        + [s.anchors for s in fresh],
        token_counts=np.concatenate([tokens[ok], [s.token_count for s in fresh]]).astype(np.int64),
        checksums=[(e.checksum, e.archive_checksum) for e in entries]
        + [(d.checksum, d.archive_checksum) for d in changed],
        phash=[e.phash for e in entries] + [d.phash for d in changed],
        layout=[e.layout for e in entries] + [d.layout for d in changed],
    )
    found = candidate_pairs(
        index, config=config.candidates, params=config.signature, query_ids=changed_ids
    )
    partner_ids = sorted(
        {index.ids[row] for pair in found for row in pair} - changed_ids, key=id_sort_key
    )
    docs = list(changed) + list(load(partner_ids))
    row_of = {doc.id: row for row, doc in enumerate(docs)}
    pairs = [
        (row_of[index.ids[i]], row_of[index.ids[j]], sources) for (i, j), sources in found.items()
    ]
    with _executor(docs, config, parallel=len(pairs) >= config.parallel_min_pairs) as pool:
        _score_stage(pairs, state=state, pool=pool, config=config, progress=progress,
                     checkpoint=None)  # fmt: skip
    stats = {"changed": len(changed), "candidates": len(pairs), "edges": len(state.edges)}
    return AnalysisResult(edges=state.edges, groups=[], sketches=state.sketches, stats=stats)
