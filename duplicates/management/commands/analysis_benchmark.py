"""``manage.py analysis_benchmark --documents N``: time the database-backed analysis.

Fills a throwaway database with the engine's synthetic library (``engine.benchmark``: texts with
noisy copies, checksums, perceptual hashes), then times, each in its own process so each peak
memory is its own: a full analysis (``run_analysis(full=True)``: load, sketches, candidates,
scoring, edges and groups written) and an incremental run after 1% of the texts changed.

The database is a fresh SQLite file in a temporary directory, or ``--database-url`` (PostgreSQL
preferred for 100k): that database must be a throwaway one, its tables are migrated and its
documents replaced. ``--reuse`` keeps the documents of an earlier fill of that database (same
``--documents``) and only clears the analysis results; ``--only full|incremental`` times one phase.
Each phase prints its stage timings (load, engine, checkpoints, writes, regroup).
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dedupe_project.benchmarking import peak_rss_mb


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _stages(counts: dict[str, Any]) -> str:
    stages = counts.get("stage_seconds", {})
    text = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in stages.items())
    if "regrouped_documents" in counts:
        scope = "limited" if counts.get("regroup_limited") else "full"
        text += f"; regroup {scope}: {counts['regrouped_documents']:,} documents regrouped"
    return text


class Command(BaseCommand):
    help = "Time a full and a 1% incremental duplicate analysis on N synthetic documents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--workers", type=int, default=None, help="default: all cores")
        parser.add_argument(
            "--database-url", default="", help="a THROWAWAY database (default: temporary SQLite)"
        )
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="keep the documents of an earlier fill of --database-url with the same size and "
            "seed; only the analysis results are cleared",
        )
        parser.add_argument(
            "--only", choices=["full", "incremental"], default=None, help="time one phase only"
        )
        parser.add_argument(
            "--child", choices=["fill", "reset", "full", "incremental"], default=None
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["child"]:
            result = getattr(self, f"_{options['child']}")(options)
            result["peak_mb"] = round(peak_rss_mb(), 1)
            result["workers_peak_mb"] = round(_children_peak_mb(), 1)
            self.stdout.write(json.dumps(result))
            return
        self._parent(options)

    # --- parent ----------------------------------------------------------------------------------

    def _parent(self, options: dict[str, Any]) -> None:
        root = Path(settings.BASE_DIR)
        with tempfile.TemporaryDirectory(prefix="dedupe-analysis-bench-") as data_dir:
            env = {
                **os.environ,
                "DEDUPE_ENVIRONMENT": "development",
                "DEDUPE_DATA_DIR": data_dir,
                "DATABASE_URL": options["database_url"] or f"sqlite:///{data_dir}/bench.db",
                "REDIS_URL": "",  # never the real queue
                "DEDUPE_LOG_LEVEL": "WARNING",
            }
            migrate = subprocess.run(  # noqa: S603 - our own manage.py
                [sys.executable, str(root / "manage.py"), "migrate", "-v", "0"],
                cwd=root, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if migrate.returncode != 0:
                raise CommandError(migrate.stderr[-3000:])
            results = {}
            phases = ["reset" if options["reuse"] else "fill", "full", "incremental"]
            if options["only"] == "incremental":
                phases = ["incremental"]
            elif options["only"] == "full":
                phases = phases[:2]
            for phase in phases:
                args = [sys.executable, str(root / "manage.py"), "analysis_benchmark",
                        "--child", phase, "--documents", str(options["documents"]),
                        "--seed", str(options["seed"])]  # fmt: skip
                if options["workers"]:
                    args += ["--workers", str(options["workers"])]
                child = subprocess.run(  # noqa: S603 - our own manage.py
                    args, cwd=root, env=env, capture_output=True, text=True, check=False
                )
                if child.returncode != 0:
                    raise CommandError(child.stderr[-3000:] or child.stdout[-3000:])
                results[phase] = json.loads(child.stdout.strip().splitlines()[-1])
        self._report(documents=options["documents"], results=results, url=env["DATABASE_URL"])

    def _report(self, *, documents: int, results: dict[str, Any], url: str) -> None:
        backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        lines = [f"{documents:,} synthetic documents on {backend}"]
        for name in ("fill", "reset"):
            if name in results:
                lines.append(f"  {name}: {results[name]['seconds']:.1f} s")
        full = results.get("full")
        if full:
            lines.append(
                f"  full analysis: {full['seconds']:.1f} s = "
                f"{documents / full['seconds']:,.0f} docs/s (engine {full['engine_seconds']:.1f} s,"
                f" grouping {full['group_seconds']:.1f} s); "
                f"{full['counts']['candidates']:,} candidates, {full['counts']['edges']:,} edges, "
                f"{full['counts']['groups']:,} groups; peak {full['peak_mb']:,.0f} MB "
                f"(largest worker {full['workers_peak_mb']:,.0f} MB)"
            )
            lines.append(f"    stages: {_stages(full['counts'])}")
        incremental = results.get("incremental")
        if incremental:
            lines.append(
                f"  incremental ({incremental['changed']:,} changed, 1%): "
                f"{incremental['seconds']:.2f} s = "
                f"{incremental['changed'] / incremental['seconds']:,.0f} docs/s, compared "
                f"{incremental['counts']['compared']:,}, {incremental['counts']['groups']:,} "
                f"groups; peak {incremental['peak_mb']:,.0f} MB"
            )
            lines.append(f"    stages: {_stages(incremental['counts'])}")
        self.stdout.write("\n".join(lines))

    # --- children --------------------------------------------------------------------------------

    def _fill(self, options: dict[str, Any]) -> dict[str, Any]:
        from documents.models import Document, DocumentContent
        from documents.sync import text_fingerprint
        from duplicates.engine.benchmark import synthetic_library
        from duplicates.models import DocumentSketch, DuplicateGroup, PairEdge

        started = time.perf_counter()
        DuplicateGroup.objects.all().delete()
        PairEdge.objects.all().delete()
        DocumentSketch.objects.all().delete()
        Document.objects.all().delete()
        library = synthetic_library(size=options["documents"], seed=options["seed"])
        for start in range(0, len(library), 5000):
            part = library[start : start + 5000]
            Document.objects.bulk_create(
                [
                    Document(
                        pk=f.id,
                        paperless_id=f.id,
                        title=f.title,
                        created=f.created,
                        correspondent_id=None,
                        original_checksum=f.checksum or "",
                        original_size=f.size,
                        page_count=f.page_count,
                        original_file_name=f.original_file_name,
                        content_length=len(f.text),
                        text_fingerprint=text_fingerprint(f.text),
                        needs_analysis=True,
                        phash=f.phash - (1 << 64) if f.phash >= 1 << 63 else f.phash,
                        dhash=f.dhash.to_bytes(32, "big"),
                        layout=f.layout,
                    )
                    for f in part
                ],
                batch_size=1000,
            )
            DocumentContent.objects.bulk_create(
                [DocumentContent(document_id=f.id, text=f.text) for f in part], batch_size=1000
            )
        return {"seconds": time.perf_counter() - started}

    def _reset(self, options: dict[str, Any]) -> dict[str, Any]:
        """Forget every analysis result of an earlier run, keep the documents (``--reuse``)."""
        from documents.models import Document
        from duplicates.models import (
            AnalysisStatus,
            DocumentSketch,
            DuplicateGroup,
            PairDecision,
            PairEdge,
        )

        started = time.perf_counter()
        found = Document.objects.count()
        if found != options["documents"]:
            raise CommandError(
                f"--reuse: the database holds {found:,} documents, not {options['documents']:,}"
            )
        DuplicateGroup.objects.all().delete()
        PairDecision.objects.all().delete()
        PairEdge.objects.all().delete()
        DocumentSketch.objects.all().delete()
        AnalysisStatus.objects.all().delete()
        Document.objects.update(needs_analysis=True)
        return {"seconds": time.perf_counter() - started}

    def _full(self, options: dict[str, Any]) -> dict[str, Any]:
        from duplicates import analysis

        workers = options["workers"] or os.cpu_count() or 1
        marks: dict[str, float] = {}
        original = analysis.regroup

        def timed_regroup(**kwargs: Any) -> dict[str, int]:
            marks["group"] = time.perf_counter()
            return original(**kwargs)

        analysis.regroup = timed_regroup  # type: ignore[assignment]
        started = time.perf_counter()
        counts = analysis.run_analysis(full=True, workers=workers)
        ended = time.perf_counter()
        return {
            "seconds": ended - started,
            "engine_seconds": marks["group"] - started,
            "group_seconds": ended - marks["group"],
            "counts": counts,
        }

    def _incremental(self, options: dict[str, Any]) -> dict[str, Any]:
        from django.utils import timezone

        from documents.models import Document, DocumentContent
        from documents.sync import text_fingerprint
        from duplicates import analysis

        rng = random.Random(options["seed"] + 1)
        ids = list(Document.objects.values_list("pk", flat=True))
        changed = rng.sample(ids, max(1, len(ids) // 100))
        texts = dict(DocumentContent.objects.filter(pk__in=changed).values_list("pk", "text"))
        now = timezone.now()
        for doc_id, text in texts.items():
            text = text + " nachtrag"
            DocumentContent.objects.filter(pk=doc_id).update(text=text)
            Document.objects.filter(pk=doc_id).update(
                text_fingerprint=text_fingerprint(text), content_length=len(text),
                content_changed_at=now, needs_analysis=True,
            )  # fmt: skip
        workers = options["workers"] or os.cpu_count() or 1
        started = time.perf_counter()
        counts = analysis.run_analysis(full=False, workers=workers)
        return {"seconds": time.perf_counter() - started, "changed": len(changed), "counts": counts}
