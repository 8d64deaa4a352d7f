"""``manage.py sync [--full]``: the same sync the worker runs, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from documents.sync import SyncAlreadyRunning
from processing import jobs
from processing.models import Job


class Command(BaseCommand):
    help = "Mirror Paperless into the local database (incremental unless --full)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full", action="store_true", help="read every document, not only changed ones"
        )
        parser.add_argument("--file-workers", type=int, default=None)
        parser.add_argument("--page-size", type=int, default=None)

    def handle(
        self,
        *args: Any,
        full: bool,
        file_workers: int | None,
        page_size: int | None,
        **options: Any,
    ) -> None:
        params: dict[str, Any] = {"full": full}
        if page_size:
            params["page_size"] = page_size
        if file_workers:
            params["file_workers"] = file_workers
        job = jobs.run_inline(kind=Job.Kind.SYNC, params=params)
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"Sync job #{job.pk} {job.status}: {job.error}")
        counts = ", ".join(f"{k}={v}" for k, v in sorted(job.result.items()))
        self.stdout.write(f"Sync job #{job.pk} succeeded: {counts}")


__all__ = ["Command", "SyncAlreadyRunning"]
