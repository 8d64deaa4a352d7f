"""``manage.py webhook_benchmark``: from a webhook delivery to the document analysed, median and
p95, one document at a time and in a burst.

A throwaway database (or ``--database-url``, an empty disposable one) and a fake Paperless with
``--documents`` generated documents, synced and analysed first. Then the real app is started as
its own process (daphne with the worker inside it, or with ``--redis-url`` a separate
``rundramatiq`` worker, as in production), the two workflows are set up through the set-up code,
and documents are added to the fake, which sends its webhooks to the app over HTTP the way
Paperless does. For each document: the time from its delivery leaving the fake to its
``WebhookEvent`` marked analysed (the analysis that compared it finished). Singles first, one at a
time; then bursts of ``--burst`` documents added at once (a scan batch). Every added document is a
re-scan of one in the library, so each analysis finds a group. Not a test: it prints figures.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dedupe_project.benchmarking import peak_rss_mb

TOKEN = "benchmark-token"  # noqa: S105 - the throwaway fake's token
SECRET = "benchmark-webhook-secret-0123456789abcdefghij"  # noqa: S105 - a throwaway secret
SUPPRESS = "==SUPPRESS=="


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return ordered[index]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p95": _percentile(values, 0.95),
        "max": max(values),
    }


class Command(BaseCommand):
    help = "Benchmark webhook delivery to document analysed (median, p95), single and in a burst."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=int, default=2000, help="library size")
        parser.add_argument("--singles", type=int, default=20, help="documents added one by one")
        parser.add_argument("--burst", type=int, default=200, help="documents added at once")
        parser.add_argument("--bursts", type=int, default=3, help="how many bursts")
        parser.add_argument(
            "--senders",
            type=int,
            default=1,
            help="webhooks the fake sends at once (Paperless's task workers; its default is 1)",
        )
        parser.add_argument("--database-url", default="", help="an empty, disposable database")
        parser.add_argument("--redis-url", default="", help="a Redis for a separate worker")
        parser.add_argument("--child", action="store_true", help=SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["child"]:
            self._child(options)
            return
        root = Path(settings.BASE_DIR)
        with tempfile.TemporaryDirectory(prefix="dedupe-webhook-bench-") as data_dir:
            env = {
                **os.environ,
                "DEDUPE_ENVIRONMENT": "development",
                "DEDUPE_DATA_DIR": data_dir,
                "DATABASE_URL": options["database_url"] or f"sqlite:///{data_dir}/bench.db",
                "REDIS_URL": options["redis_url"],
                "DEDUPE_REDIS_PREFIX": f"dedupe-bench-{os.getpid()}",
                "PAPERLESS_URL": "",
                "PAPERLESS_API_TOKEN": "",
                "DEDUPE_WEBHOOK_SECRET": SECRET,
                "DEDUPE_LOG_LEVEL": "WARNING",
            }
            args = [sys.executable, str(root / "manage.py"), "webhook_benchmark", "--child"]
            for name in ("documents", "singles", "burst", "bursts", "senders"):
                args += [f"--{name}", str(options[name])]
            child = subprocess.run(  # noqa: S603 - our own manage.py
                args, cwd=root, env=env, capture_output=True, text=True, check=False
            )
            if child.returncode != 0:
                raise CommandError(child.stderr[-4000:] or child.stdout[-4000:])
            result = json.loads(child.stdout.strip().splitlines()[-1])
        self._report(result, options)

    def _report(self, result: dict[str, Any], options: dict[str, Any]) -> None:
        def line(name: str, figures: dict[str, float], unit: str = "s") -> str:
            scale = 1000 if unit == "ms" else 1
            return (
                f"{name:<34} median {figures['median'] * scale:.2f} {unit}, "
                f"p95 {figures['p95'] * scale:.2f} {unit}, max {figures['max'] * scale:.2f} "
                f"{unit} (n={figures['n']})"
            )

        mode = "PostgreSQL" if options["database_url"] else "SQLite"
        mode += ", Redis and a separate worker" if options["redis_url"] else ", embedded worker"
        lines = [
            f"Library:                           {result['documents']:,} documents ({mode}), "
            f"first sync + analysis {result['setup_seconds']:.1f} s; the fake sends "
            f"{options['senders']} webhook{'s' if options['senders'] != 1 else ''} at once",
            line("Endpoint answer, singles:", result["answer_single"], "ms"),
            line("Endpoint answer, in bursts:", result["answer"], "ms"),
            line("Single: delivery -> analysed", result["single"]),
        ]
        for number, burst in enumerate(result["bursts"], start=1):
            lines.append(
                line(f"Burst {number} of {options['burst']}: -> analysed", burst["latency"])
                + f"; {burst['webhook_jobs']} webhook runs, {burst['analysis_jobs']} analyses, "
                f"all analysed {burst['all_seconds']:.2f} s after the first delivery"
            )
        all_bursts = [value for burst in result["bursts"] for value in burst["values"]]
        if all_bursts:
            lines.append(line("All bursts: delivery -> analysed", _summary(all_bursts)))
        lines += [
            f"Duplicates found:                  {result['found']} of {result['added']} added",
            f"Failed deliveries:                 {result['failed']}",
            f"Peak memory of this driver:        {result['maxrss_mb']:.0f} MB",
        ]
        self.stdout.write("\n".join(lines))

    # --- the child: fake, database, app, measurements ----------------------------------------

    def _child(self, options: dict[str, Any]) -> None:
        from django.core.management import call_command

        from tests.fake_paperless import content
        from tests.fake_paperless.server import FakePaperless

        call_command("migrate", verbosity=0)
        content.use_thumbnail_pool(64)
        fake = FakePaperless(token=TOKEN).start()
        fake.webhook_workers = options["senders"]
        apps: list[subprocess.Popen] = []
        try:
            setup_seconds = self._library(fake, options["documents"])
            url = self._start_app(fake, apps, redis=bool(os.environ.get("REDIS_URL")))
            from webhooks import setup

            setup.apply(public_url=url)
            result = self._measure(fake, options)
            result.update(setup_seconds=setup_seconds, documents=options["documents"])
        finally:
            for app in apps:
                app.terminate()
            for app in apps:
                try:
                    app.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    app.kill()
            fake.stop()
        result["maxrss_mb"] = peak_rss_mb()
        self.stdout.write(json.dumps(result))

    def _library(self, fake: Any, documents: int) -> float:
        from duplicates.analysis import run_analysis
        from processing import jobs
        from processing.models import Job

        started = time.perf_counter()
        fake.seed(documents=documents, duplicate_ratio=0.05)
        settings.PAPERLESS_URL = fake.url
        settings.PAPERLESS_API_TOKEN = TOKEN
        job = jobs.run_inline(kind=Job.Kind.SYNC, params={"full": True})
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"sync failed: {job.error}")
        run_analysis(full=True)
        Job.objects.filter(status=Job.Status.QUEUED).update(status=Job.Status.CANCELLED)
        return time.perf_counter() - started

    def _start_app(self, fake: Any, apps: list[subprocess.Popen], *, redis: bool) -> str:
        import httpx

        port = _free_port()
        env = {
            **os.environ,
            "PAPERLESS_URL": fake.url,
            "PAPERLESS_API_TOKEN": TOKEN,
            "DEDUPE_EMBEDDED_WORKER": "0" if redis else "1",
        }
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        log = open(Path(settings.DATA_DIR) / "app.log", "wb")  # noqa: SIM115 - lives with the app
        apps.append(
            subprocess.Popen(  # noqa: S603 - our own manage.py
                [*manage, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
            )
        )
        if redis:
            apps.append(
                subprocess.Popen(  # noqa: S603
                    [*manage, "rundramatiq", "--processes", "1", "--threads", "2"],
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/health/live", timeout=2)
                return url
            except httpx.HTTPError:
                if time.monotonic() > deadline or apps[0].poll() is not None:
                    raise CommandError("the app did not start; see app.log") from None
                time.sleep(0.2)

    def _copy(self, fake: Any, rng: random.Random) -> Any:
        """A re-scan of a random document of the library (OCR noise, a slightly other image)."""
        with fake.state.lock:
            original = fake.state.documents[rng.choice(fake.state.live_ids()[:1000])]
        return fake.state.add_document(
            title=f"{original.title} (re-scan)",
            text_seed=original.text_seed,
            text_variant=rng.randrange(1, 10_000),
            image_seed=original.image_seed,
            image_variant=1 + rng.randrange(5),
            page_count=original.page_count,
        )

    def _wait_analysed(self, ids: list[int], *, timeout: float = 120) -> dict[int, float]:
        from webhooks.models import WebhookEvent

        deadline = time.monotonic() + timeout
        done: dict[int, float] = {}
        while len(done) < len(ids):
            for pid, analysed in WebhookEvent.objects.filter(
                paperless_id__in=[i for i in ids if i not in done], analysed_at__isnull=False
            ).values_list("paperless_id", "analysed_at"):
                done[pid] = analysed.timestamp()
            if time.monotonic() > deadline:
                missing = sorted(set(ids) - set(done))
                raise CommandError(f"{len(missing)} documents never analysed: {missing[:10]}")
            time.sleep(0.02)
        return done

    def _measure(self, fake: Any, options: dict[str, Any]) -> dict[str, Any]:
        from processing.models import Job
        from webhooks.models import WebhookEvent

        rng = random.Random(7)
        single: list[float] = []
        added: list[int] = []
        for _ in range(options["singles"]):
            document = self._copy(fake, rng)
            added.append(document.id)
            analysed = self._wait_analysed([document.id])
            delivery = next(d for d in fake.webhook_deliveries if d.document_id == document.id)
            single.append(analysed[document.id] - delivery.sent_wall[-1])
            time.sleep(0.3)
        single_answers = [s for d in fake.webhook_deliveries for s in d.answer_seconds]
        bursts = []
        for _ in range(options["bursts"]):
            first_job = Job.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            documents = [self._copy(fake, rng) for _ in range(options["burst"])]
            ids = [d.id for d in documents]
            added += ids
            analysed = self._wait_analysed(ids)
            sent = {d.document_id: d.sent_wall[-1] for d in fake.webhook_deliveries if d.sent_wall}
            values = [analysed[pid] - sent[pid] for pid in ids]
            new_jobs = Job.objects.filter(pk__gt=first_job)
            bursts.append(
                {
                    "latency": _summary(values),
                    "values": values,
                    "all_seconds": max(analysed.values()) - min(sent[pid] for pid in ids),
                    "webhook_jobs": new_jobs.filter(kind=Job.Kind.WEBHOOK).count(),
                    "analysis_jobs": new_jobs.filter(kind=Job.Kind.ANALYSIS).count(),
                }
            )
            time.sleep(1.0)
        answers = [s for d in fake.webhook_deliveries for s in d.answer_seconds]
        return {
            "single": _summary(single),
            "bursts": bursts,
            "answer_single": _summary(single_answers),
            "answer": _summary(answers[len(single_answers) :] or single_answers),
            "added": len(added),
            "found": WebhookEvent.objects.filter(
                paperless_id__in=added, duplicate_group_id__isnull=False
            ).count(),
            "failed": sum(1 for d in fake.webhook_deliveries if not d.delivered),
        }
