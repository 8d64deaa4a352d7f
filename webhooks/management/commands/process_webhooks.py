"""``manage.py process_webhooks``: work through the waiting webhook deliveries now, in this
process: the same ``webhook`` job the worker runs (``--job N`` runs that queued job)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from processing import jobs
from processing.models import Job


class Command(BaseCommand):
    help = "Mirror and queue the analysis of the documents waiting webhook deliveries name."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--job", type=int, default=None, help="run this queued webhook job")

    def handle(self, *args: Any, job: int | None, **options: Any) -> None:
        if job is not None:
            if not Job.objects.filter(pk=job, kind=Job.Kind.WEBHOOK).exists():
                raise CommandError(f"No webhook job #{job}.")
            jobs.execute(job)
            done = Job.objects.get(pk=job)
        else:
            done = jobs.run_inline(kind=Job.Kind.WEBHOOK)
        if done.status != Job.Status.SUCCEEDED:
            raise CommandError(f"Webhook job #{done.pk} {done.status}: {done.error}")
        counts = ", ".join(f"{k}={v}" for k, v in sorted(done.result.items()))
        self.stdout.write(f"Webhook job #{done.pk}: {counts or 'nothing waiting'}")
