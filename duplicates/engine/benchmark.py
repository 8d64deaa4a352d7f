"""Speed and memory of the engine on a synthetic library (text already local).

Run without Django: ``python -m duplicates.engine.benchmark [--sizes 10000 100000]``. Prints, per
size: signatures per second, the time of each stage of a full analysis, the full analysis time,
an incremental run with 1% of documents changed, and peak resident memory (``ru_maxrss`` of this
process and of the largest worker).
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from .corpus import jitter_layout, random_layout
from .pipeline import EngineConfig, IndexEntry, analyse, analyse_changed
from .types import DocFeatures

_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


@dataclass(slots=True)
class BenchmarkFigures:
    documents: int
    signatures_per_second: float
    stage_seconds: dict[str, float]
    full_seconds: float
    candidates: int
    edges: int
    groups: int
    incremental_changed: int
    incremental_seconds: float
    peak_rss_mb: float
    peak_worker_rss_mb: float


def _vocabulary(rng: np.random.Generator, size: int = 30_000) -> list[str]:
    lengths = np.clip(rng.normal(6, 2.5, size).astype(int), 2, 14)
    return ["".join(rng.choice(_LETTERS, length)) for length in lengths]


def synthetic_library(*, size: int, seed: int = 1, duplicate_share: float = 0.2) -> list:
    """``size`` documents of 150-600 words (Zipf vocabulary); a share are noisy copies."""
    rng = np.random.default_rng(seed)
    py_rng = random.Random(seed)
    words = _vocabulary(rng)
    weights = 1.0 / np.arange(1, len(words) + 1) ** 0.9
    cumulative = np.cumsum(weights / weights.sum())
    docs: list[DocFeatures] = []
    originals = int(size * (1 - duplicate_share))
    for doc_id in range(1, originals + 1):
        count = int(rng.integers(150, 600))
        picks = np.searchsorted(cumulative, rng.random(count))
        text = " ".join(words[i] for i in picks.tolist())
        if doc_id % 40 == 0:
            text = ""
        docs.append(
            DocFeatures(
                id=doc_id,
                text=text,
                checksum=f"{py_rng.getrandbits(64):016x}",
                correspondent_id=py_rng.randint(1, 50),
                document_type_id=py_rng.randint(1, 10),
                created=date(2015, 1, 1) + timedelta(days=py_rng.randint(0, 3650)),
                page_count=1 + count // 300,
                size=py_rng.randint(20_000, 900_000),
                title=f"Dokument {doc_id}",
                original_file_name=f"scan_{doc_id:06d}.pdf",
                phash=py_rng.getrandbits(64),
                dhash=py_rng.getrandbits(256),
                layout=random_layout(py_rng),
            )
        )
    for doc_id in range(originals + 1, size + 1):
        base = docs[py_rng.randrange(originals)]
        docs.append(
            replace(
                base,
                id=doc_id,
                text=_noisy(base.text, rate=py_rng.uniform(0, 0.08), rng=py_rng),
                checksum=f"{py_rng.getrandbits(64):016x}",
                original_file_name=f"scan_{doc_id:06d}.pdf",
                layout=jitter_layout(base.layout, py_rng),
            )
        )
    return docs


def _noisy(text: str, *, rate: float, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(int(len(words) * rate)):
        position = rng.randrange(len(words))
        word = words[position]
        if word:
            cut = rng.randrange(len(word))
            words[position] = (
                word[:cut] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[cut + 1 :]
            )
    return " ".join(words)


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def run(*, size: int, seed: int = 1, config: EngineConfig | None = None) -> BenchmarkFigures:
    config = config or EngineConfig()
    docs = synthetic_library(size=size, seed=seed)
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if done >= total:
            marks[stage] = time.perf_counter()

    result = analyse(docs, config=config, progress=progress)
    full = time.perf_counter() - started
    stage_seconds, previous = {}, started
    for stage in ("signatures", "candidates", "scoring"):
        if stage in marks:
            stage_seconds[stage] = marks[stage] - previous
            previous = marks[stage]
    stage_seconds["grouping"] = started + full - previous
    incremental_seconds, changed = _incremental(docs, result.sketches, config=config, seed=seed)
    return BenchmarkFigures(
        documents=size,
        signatures_per_second=size / stage_seconds["signatures"],
        stage_seconds=stage_seconds,
        full_seconds=full,
        candidates=result.stats["candidates"],
        edges=len(result.edges),
        groups=len(result.groups),
        incremental_changed=changed,
        incremental_seconds=incremental_seconds,
        peak_rss_mb=_peak_mb(resource.RUSAGE_SELF),
        peak_worker_rss_mb=_peak_mb(resource.RUSAGE_CHILDREN),
    )


def _incremental(
    docs: Sequence[DocFeatures], sketches: dict, *, config: EngineConfig, seed: int
) -> tuple[float, int]:
    rng = random.Random(seed + 1)
    library = [
        IndexEntry(id=d.id, signature=sketches[d.id], checksum=d.checksum, phash=d.phash,
                   layout=d.layout)
        for d in docs
    ]  # fmt: skip
    by_id = {d.id: d for d in docs}
    changed = [
        replace(d, text=d.text + " nachtrag") for d in rng.sample(list(docs), len(docs) // 100)
    ]
    started = time.perf_counter()
    analyse_changed(
        changed, library=library, load=lambda ids: [by_id[i] for i in ids], config=config
    )
    return time.perf_counter() - started, len(changed)


def format_figures(figures: BenchmarkFigures) -> str:
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in figures.stage_seconds.items())
    return (
        f"{figures.documents:>7} docs: {figures.signatures_per_second:,.0f} signatures/s; "
        f"full analysis {figures.full_seconds:.1f} s ({stages}); "
        f"{figures.candidates:,} candidates, {figures.edges:,} edges, {figures.groups:,} groups; "
        f"incremental {figures.incremental_changed} changed {figures.incremental_seconds:.2f} s; "
        f"peak RSS {figures.peak_rss_mb:,.0f} MB "
        f"(largest worker {figures.peak_worker_rss_mb:,.0f} MB)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m duplicates.engine.benchmark`` / ``manage.py dedupe_benchmark``."""
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None, help="default: all cores")


def report(*, sizes: Sequence[int], seed: int = 1, workers: int | None = None) -> str:
    config = EngineConfig(workers=workers)
    return "\n".join(format_figures(run(size=size, seed=seed, config=config)) for size in sizes)


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return report(sizes=args.sizes, seed=args.seed, workers=args.workers)


if __name__ == "__main__":
    print(main())
