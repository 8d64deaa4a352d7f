"""``manage.py sync_benchmark --documents 10000``: how fast a sync is against a fake Paperless,
compared with merely downloading the same pages, and how much memory it takes.

Runs the fake Paperless in its own process and the sync in a child process on a throwaway SQLite
database (or ``--database-url``, which must be an empty, disposable database), so the figures are
not mixed with the fake's work and your real data is never touched. Not a test: it prints figures.

With ``--thumbnails`` the fake serves thumbnails from a small pool of pre-rendered pages
(``--thumbnail-pool``, 0 to have it draw every one, ~15 ms of CPU each on the same cores), and the
thumbnails (and metadata where the sync asks for it) are also merely downloaded with the client and
the same number of threads, so the files phase can be compared with its network share.

With ``--then-incremental 1`` the full sync is followed by what a scheduled sync meets: 1% of the
documents tagged and 0.1% trashed in the fake through its API, then an incremental sync, timed
with its phases.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dedupe_project.benchmarking import peak_rss_mb
from documents.paperless import root_checksum
from documents.sync import DOCUMENT_FIELDS, FILE_WORKERS, PAGE_SIZE

TOKEN = "benchmark-token"  # noqa: S105 - the throwaway fake's token


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _draw_ms(samples: int = 20) -> float:
    """What the fake spends drawing one thumbnail (measured here, on fresh seeds)."""
    from tests.fake_paperless import content

    started = time.perf_counter()
    for seed in range(10_000_000, 10_000_000 + samples):
        content.thumbnail_webp(seed=seed)
    return (time.perf_counter() - started) / samples * 1000


def _machine_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine since boot (Linux ``/proc/stat``), to tell
    whether a sync was bound by the cores it shares with the fake and the database."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run_child(args: list[str], *, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    child = subprocess.run(  # noqa: S603 - our own manage.py
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if child.returncode != 0:
        raise CommandError(child.stderr[-3000:] or child.stdout[-3000:])
    return json.loads(child.stdout.strip().splitlines()[-1])


class Command(BaseCommand):
    help = "Benchmark the sync against a fake Paperless with N documents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=int, default=10_000)
        parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
        parser.add_argument(
            "--thumbnails", action="store_true", help="also fetch thumbnails and hash them"
        )
        parser.add_argument(
            "--thumbnail-pool",
            type=int,
            default=64,
            metavar="PAGES",
            help="the fake serves PAGES pre-rendered thumbnail pages (x variants); 0: it draws "
            "each document's thumbnail on request",
        )
        parser.add_argument(
            "--file-latency-ms",
            type=float,
            default=0.0,
            metavar="MS",
            help="the fake answers each file request after MS milliseconds, as a real Paperless "
            "does (62 ms for one thumbnail in the captures); 0: at once",
        )
        parser.add_argument("--file-workers", type=int, default=FILE_WORKERS)
        parser.add_argument("--database-url", default="", help="an empty, disposable database")
        parser.add_argument(
            "--then-incremental",
            type=float,
            default=0.0,
            metavar="PERCENT",
            help="after the full sync, tag PERCENT of the documents and trash a tenth as many in "
            "the fake (through its API, as a user would), then time the incremental sync that "
            "follows, as the scheduler runs it",
        )
        parser.add_argument("--child", action="store_true", help=Command.SUPPRESS)
        parser.add_argument("--incremental", action="store_true", help=Command.SUPPRESS)
        parser.add_argument("--paperless-url", default="", help=Command.SUPPRESS)

    SUPPRESS = "==SUPPRESS=="

    def handle(self, *args: Any, **options: Any) -> None:
        if options["child"]:
            self._child(options)
            return
        self._parent(options)

    # --- the parent: fake, download baseline, then the sync in a child --------------------------

    def _parent(self, options: dict[str, Any]) -> None:
        root = Path(settings.BASE_DIR)
        port = _free_port()
        count = options["documents"]
        fake = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "tests.fake_paperless",
                "--port",
                str(port),
                "--documents",
                str(count),
                "--token",
                TOKEN,
                "--thumbnail-pool",
                str(options["thumbnail_pool"] if options["thumbnails"] else 0),
                "--file-latency-ms",
                str(options["file_latency_ms"]),
            ],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            line = fake.stdout.readline() if fake.stdout else ""
            if "Fake Paperless" not in line:
                raise CommandError(f"the fake did not start: {line}")
            download = self._download(
                url=url,
                page_size=options["page_size"],
                thumbnails=options["thumbnails"],
                workers=options["file_workers"],
            )
            with tempfile.TemporaryDirectory(prefix="dedupe-bench-") as data_dir:
                env = {
                    **os.environ,
                    "DEDUPE_ENVIRONMENT": "development",
                    "DEDUPE_DATA_DIR": data_dir,
                    "DATABASE_URL": options["database_url"] or f"sqlite:///{data_dir}/bench.db",
                    "PAPERLESS_URL": "",
                    "PAPERLESS_API_TOKEN": "",
                    "REDIS_URL": "",  # never the real queue: what the sync enqueues is dropped
                    "DEDUPE_LOG_LEVEL": "WARNING",
                }
                args = [
                    sys.executable,
                    str(root / "manage.py"),
                    "sync_benchmark",
                    "--child",
                    "--paperless-url",
                    url,
                    "--page-size",
                    str(options["page_size"]),
                    "--file-workers",
                    str(options["file_workers"]),
                ]
                if options["thumbnails"]:
                    args.append("--thumbnails")
                sync = _run_child(args, cwd=root, env=env)
                incremental = None
                if options["then_incremental"]:
                    changes = self._change_library(
                        url=url, count=count, percent=options["then_incremental"]
                    )
                    incremental = {
                        **changes,
                        **_run_child([*args, "--incremental"], cwd=root, env=env),
                    }
        finally:
            fake.terminate()
            fake.wait(timeout=10)
        self._report(count=count, download=download, sync=sync, options=options)
        if incremental is not None:
            self._report_incremental(count=count, incremental=incremental)

    def _change_library(self, *, url: str, count: int, percent: float) -> dict[str, int]:
        """Tag ``percent`` of the documents (bumps their ``modified``, as any edit does) and
        trash a tenth as many others, spread over the library, through the API."""
        from documents.connection import make_client

        changed = max(1, round(count * percent / 100))
        step = max(1, count // changed)
        with make_client(url=url, token=TOKEN) as client:
            ids = list(client.iter_document_ids(page_size=5000))
            tagged = ids[::step][:changed]
            trashed = ids[step // 2 :: step * 10]  # between tagged ones (below 50%)
            tag, _created = client.ensure_tag("benchmark-changed")
            client.add_tag(tagged, tag_id=tag["id"])
            client.delete_documents(trashed)
        return {"tagged": len(tagged), "trashed": len(trashed)}

    def _report_incremental(self, *, count: int, incremental: dict[str, Any]) -> None:
        phases = incremental["phases"]
        self.stdout.write(
            "\n".join(
                [
                    f"Then {incremental['tagged']:,} documents tagged and "
                    f"{incremental['trashed']:,} trashed in Paperless; the incremental sync:",
                    f"  total {incremental['seconds']:.2f} s ("
                    + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items())
                    + f"), {incremental['cpu_seconds']:.1f} s of CPU, "
                    f"peak {incremental['maxrss_mb']:.0f} MB",
                    f"  rows after: {incremental['rows']:,} (of {count:,} at first)",
                ]
            )
        )

    def _download(
        self, *, url: str, page_size: int, thumbnails: bool, workers: int
    ) -> dict[str, float]:
        from documents.connection import make_client

        started = time.perf_counter()
        documents = 0
        files: list[tuple[int, bool]] = []  # (id, metadata wanted), as the sync decides
        with make_client(url=url, token=TOKEN) as client:
            for page in client.iter_document_pages(
                fields=list(DOCUMENT_FIELDS), page_size=page_size
            ):
                documents += len(page.documents)
                if thumbnails:
                    files += [
                        (d["id"], bool(d.get("archived_file_name") or not root_checksum(d)))
                        for d in page.documents
                    ]
            result = {"seconds": time.perf_counter() - started, "documents": documents}
            if thumbnails:
                result.update(self._download_files(client, files, workers=workers))
        return result

    def _download_files(
        self, client: Any, files: list[tuple[int, bool]], *, workers: int
    ) -> dict[str, float]:
        """Merely fetch what the files phase fetches (thumbnails, metadata where the sync wants
        it) with the same client and pool size: the floor for the files phase."""

        def fetch(item: tuple[int, bool]) -> int:
            document_id, metadata = item
            if metadata:
                client.get_metadata(document_id)
            return len(client.get_thumbnail(document_id).content)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            size = sum(pool.map(fetch, files, chunksize=64))
        return {
            "files_seconds": time.perf_counter() - started,
            "files": len(files),
            "files_metadata": sum(1 for _, metadata in files if metadata),
            "files_bytes": size,
        }

    def _report(
        self,
        *,
        count: int,
        download: dict[str, float],
        sync: dict[str, Any],
        options: dict[str, Any],
    ) -> None:
        seconds = sync["seconds"]
        phases = sync["phases"]
        pages_part = phases.get("objects", 0) + phases.get("documents", 0)
        lines = [
            f"Documents:                 {count:,}",
            f"Download only (client):    {download['seconds']:.2f} s "
            f"({download['documents'] / download['seconds']:,.0f} documents/s)",
            f"Sync, documents phase:     {pages_part:.2f} s "
            f"({count / pages_part:,.0f} documents/s), "
            f"{pages_part / download['seconds']:.2f}x the download",
            f"Sync, id reconcile:        {phases.get('reconcile', 0):.2f} s",
        ]
        if "files_seconds" in download:
            pool = options["thumbnail_pool"]
            drawn = _draw_ms()
            lines += [
                "Fake thumbnails:           "
                + (
                    f"{pool} pre-rendered pages x variants (drawing one: {drawn:.1f} ms, "
                    f"{drawn * count / 1000:.0f} s of CPU for {count:,} if drawn)"
                    if pool
                    else f"drawn on request ({drawn:.1f} ms of the fake's CPU each)"
                ),
                "Fake file latency:         "
                + (
                    f"{options['file_latency_ms']:g} ms a request"
                    if options["file_latency_ms"]
                    else "none (answers at once)"
                ),
                f"Download only, files:      {download['files_seconds']:.2f} s "
                f"({download['files'] / download['files_seconds']:,.0f} documents/s; "
                f"{download['files']:,} thumbnails, {download['files_metadata']:,} metadata, "
                f"{options['file_workers']} threads)",
            ]
        if "files" in phases:
            line = (
                f"Sync, thumbnails + hashes: {phases['files']:.2f} s "
                f"({count / max(phases['files'], 1e-9):,.0f} documents/s)"
            )
            if "files_seconds" in download:
                line += f", {phases['files'] / download['files_seconds']:.2f}x the download"
            lines.append(line)
        lines += [
            f"Sync, total:               {seconds:.2f} s ({count / seconds:,.0f} documents/s), "
            f"{sync['cpu_seconds']:.1f} s of CPU ({sync['cpu_seconds'] / count * 1000:.2f} ms "
            f"a document)",
            "Machine CPU in the sync:   "
            + (
                f"{sync['machine_busy']:.0%} busy of {os.cpu_count()} cores (the fake, the "
                "database and the sync share them)"
                if sync.get("machine_busy") is not None
                else "unknown (no /proc/stat)"
            ),
            f"Peak memory (maxrss):      {sync['maxrss_mb']:.0f} MB "
            f"(before the sync: {sync['rss_before_mb']:.0f} MB, "
            f"growth {sync['maxrss_mb'] - sync['rss_before_mb']:.0f} MB)",
            f"Rows mirrored:             {sync['rows']:,}",
        ]
        self.stdout.write("\n".join(lines))

    # --- the child: a fresh database, one full sync ---------------------------------------------

    def _child(self, options: dict[str, Any]) -> None:
        from django.core.management import call_command

        from documents.models import Document
        from processing import jobs
        from processing.models import Job

        call_command("migrate", verbosity=0)
        settings.PAPERLESS_URL = options["paperless_url"]
        settings.PAPERLESS_API_TOKEN = TOKEN
        rss_before = peak_rss_mb()
        cpu_before = _cpu_seconds()
        ticks_before = _machine_ticks()
        started = time.perf_counter()
        job = jobs.run_inline(
            kind=Job.Kind.SYNC,
            params={
                "full": not options["incremental"],
                "files": bool(options["thumbnails"]),
                "page_size": options["page_size"],
                "file_workers": options["file_workers"],
            },
        )
        seconds = time.perf_counter() - started
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"sync failed: {job.error}")
        result = {
            "seconds": seconds,
            "phases": job.result.get("seconds", {}),
            "rss_before_mb": rss_before,
            "maxrss_mb": peak_rss_mb(),
            "cpu_seconds": _cpu_seconds() - cpu_before,
            "machine_busy": _busy_share(ticks_before, _machine_ticks()),
            "rows": Document.objects.count(),
        }
        self.stdout.write(json.dumps(result))  # read by the parent
