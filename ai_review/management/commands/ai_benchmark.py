"""``manage.py ai_benchmark --documents 100``: what AI review costs per 100 documents, measured on
the fake Paperless and the fake OpenAI-compatible endpoint (tokens as the fake counts them,
characters / 4, the usual rule of thumb for English text with OpenAI's tokenizers).

Runs in a child process on a throwaway SQLite database, so your data is never touched: seeds the
fake Paperless with letters of ``--text-chars`` characters (with dates and amounts), syncs them,
makes a run (its estimate), carries it out with the app's own code, and prints the estimate, the
tokens the endpoint reported, the cost at the price table's rate for the model, the time and the
peak memory. Not a test: it prints figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

TOKEN = "benchmark-token"  # noqa: S105 - the throwaway fake's token


def _letter(number: int, chars: int) -> str:
    from tests.fake_paperless import content

    head = (
        f"ACME Energy GmbH · Invoice {number}\n"
        f"Invoice number: INV-{number:06d}\n"
        f"Date: {1 + number % 28:02d}.{1 + number % 12:02d}.2024\n"
        f"Customer number 4711-{number}\n"
    )
    body = content.document_text(seed=number)
    filler = []
    seed = number
    while len(head) + len(body) + sum(len(line) + 1 for line in filler) < chars - 60:
        seed += 7919
        filler.append(content.document_text(seed=seed).split("\n", 1)[1])
    tail = f"\nTotal amount: EUR {number % 900 + 10}.{number % 100:02d}\nPlease pay within 14 days."
    return (head + body + "\n" + "\n".join(filler))[: max(0, chars - len(tail))] + tail


class Command(BaseCommand):
    help = "Measure AI review's tokens and cost per 100 documents on the fakes (prints figures)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=int, default=100)
        parser.add_argument(
            "--text-chars", type=int, default=3000, help="length of each document's text"
        )
        parser.add_argument("--model", default="gpt-4o-mini")
        parser.add_argument("--max-input-tokens", type=int, default=3000)
        parser.add_argument("--child", action="store_true", help=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["child"]:
            self._child(options)
            return
        with tempfile.TemporaryDirectory(prefix="ai-benchmark-") as tmp:
            env = {
                **os.environ,
                "DEDUPE_DATA_DIR": tmp,
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "DEDUPE_ENVIRONMENT": "development",
                "DEDUPE_EMBEDDED_WORKER": "0",
                "DEDUPE_LOG_LEVEL": "WARNING",
                "REDIS_URL": "",
            }
            env.pop("OPENAI_API_KEY", None)
            env.pop("OPENAI_BASE_URL", None)
            manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
            subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True)  # noqa: S603
            args = [
                "ai_benchmark",
                "--child",
                "--documents", str(options["documents"]),
                "--text-chars", str(options["text_chars"]),
                "--model", options["model"],
                "--max-input-tokens", str(options["max_input_tokens"]),
            ]  # fmt: skip
            done = subprocess.run([*manage, *args], env=env, check=False)  # noqa: S603
            if done.returncode:
                raise CommandError(f"the benchmark failed (exit {done.returncode})")

    def _child(self, options: dict[str, Any]) -> None:
        from ai_review.models import ReviewRun
        from ai_review.runs import create_run, execute_run
        from ai_review.selection import Selection
        from dedupe_project.benchmarking import peak_rss_mb
        from dedupe_project.models import Configuration
        from processing import jobs
        from processing.models import Job
        from tests.fake_openai import FakeOpenAI
        from tests.fake_paperless import FakePaperless

        count = options["documents"]
        with FakePaperless(token=TOKEN) as paperless, FakeOpenAI() as endpoint:
            state = paperless.state
            for name in ("ACME Energy", "City Bank", "Tax office", "Dr. Berger"):
                state.add_object("correspondents", name=name)
            for name in ("Invoice", "Letter", "Statement", "Contract"):
                state.add_object("document_types", name=name)
            for name in ("bills", "energy", "tax", "health", "insurance", "car", "house"):
                state.add_tag(name)
            state.add_object("custom_fields", name="Invoice number", data_type="string")
            state.add_object("custom_fields", name="Total amount", data_type="monetary")
            for number in range(1, count + 1):
                state.add_document(
                    title=f"scan_{number:04d}", content=_letter(number, options["text_chars"])
                )
            Configuration.objects.get_solo().apply(
                {
                    "paperless_url": paperless.url,
                    "paperless_token": TOKEN,
                    "sync_interval_minutes": 0,
                    "ai_base_url": endpoint.url,
                    "ai_model": options["model"],
                    "openai_api_key": endpoint.key,
                    "ai_requests_per_minute": 0,
                    "ai_run_document_limit": max(count, 1),
                    "ai_max_input_tokens": options["max_input_tokens"],
                    "ai_monthly_budget": None,
                }
            )
            sync = jobs.run_inline(kind=Job.Kind.SYNC, params={"full": True})
            if sync.status != Job.Status.SUCCEEDED:
                raise CommandError(f"sync failed: {sync.error}")
            run = create_run(selection=Selection(untagged=True))
            ReviewRun.objects.filter(pk=run.pk).update(status=ReviewRun.Status.QUEUED)
            started = time.perf_counter()
            execute_run(run_id=run.pk)
            seconds = time.perf_counter() - started
            run.refresh_from_db()
        usage = run.usage()
        counts = run.suggestion_counts()
        asked = max(1, counts["done"] + counts["failed"])
        per_100 = {
            "prompt_tokens": round(usage["prompt_tokens"] * 100 / asked),
            "completion_tokens": round(usage["completion_tokens"] * 100 / asked),
            "cost_usd": float(usage["cost"]) * 100 / asked,
        }
        result = {
            "documents": count,
            "text_chars": options["text_chars"],
            "max_input_tokens": options["max_input_tokens"],
            "model": options["model"],
            "suggested": counts["done"],
            "failed": counts["failed"],
            "estimate": run.estimate,
            "used": {k: str(v) if k == "cost" else v for k, v in usage.items()},
            "per_100_documents": per_100,
            "seconds": round(seconds, 2),
            "documents_per_second": round(asked / seconds, 1) if seconds else None,
            "peak_memory_mb": round(peak_rss_mb(), 1),
        }
        self.stdout.write(
            f"{count} documents of {options['text_chars']} characters, model "
            f"{options['model']}, at most {options['max_input_tokens']} text tokens each:\n"
            f"  estimate before the run: {run.estimate['prompt_tokens']} prompt + "
            f"{run.estimate['completion_tokens']} answer tokens, ${run.estimate['cost']}\n"
            f"  reported by the endpoint: {usage['prompt_tokens']} prompt + "
            f"{usage['completion_tokens']} answer tokens, ${usage['cost']:.4f}\n"
            f"  per 100 documents: {per_100['prompt_tokens']} + {per_100['completion_tokens']} "
            f"tokens, ${per_100['cost_usd']:.4f}\n"
            f"  {seconds:.2f} s ({result['documents_per_second']} documents/s against an "
            f"instant fake), peak memory {result['peak_memory_mb']} MB\n"
        )
        self.stdout.write(json.dumps(result))
