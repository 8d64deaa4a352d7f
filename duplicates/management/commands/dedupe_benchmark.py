"""Print signatures/s, full and incremental analysis time and peak memory of the engine."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from duplicates.engine import benchmark


class Command(BaseCommand):
    help = "Benchmark the dedupe engine on synthetic libraries (10k and 100k documents)."

    def add_arguments(self, parser) -> None:
        benchmark.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        self.stdout.write(
            benchmark.report(
                sizes=options["sizes"], seed=options["seed"], workers=options["workers"]
            )
        )
