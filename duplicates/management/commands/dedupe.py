"""``manage.py dedupe [--full]``: the same analysis the worker runs, in this process."""

from __future__ import annotations

import argparse
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from processing import jobs
from processing.models import Job


class Command(BaseCommand):
    help = "Find duplicates: compare new and changed documents (all of them with --full)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full", action="store_true", help="compare every document, not only changed ones"
        )
        parser.add_argument(
            "--workers", type=int, default=None, help="processes for big runs (default: all cores)"
        )
        parser.add_argument("--sketch-batch", type=int, default=None, help=argparse.SUPPRESS)
        parser.add_argument("--score-batch", type=int, default=None, help=argparse.SUPPRESS)

    def handle(
        self,
        *args: Any,
        full: bool,
        workers: int | None,
        sketch_batch: int | None,
        score_batch: int | None,
        **options: Any,
    ) -> None:
        params: dict[str, Any] = {"full": full, "workers": workers or os.cpu_count() or 1}
        if sketch_batch:
            params["sketch_batch"] = sketch_batch
        if score_batch:
            params["score_batch"] = score_batch
        job = jobs.run_inline(kind=Job.Kind.ANALYSIS, params=params)
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"Analysis job #{job.pk} {job.status}: {job.error}")
        counts = ", ".join(f"{k}={v}" for k, v in sorted(job.result.items()))
        self.stdout.write(f"Analysis job #{job.pk} succeeded: {counts}")
