"""Print precision, recall and F1 per kind of duplicate on the labelled synthetic corpus."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from duplicates.engine import quality


class Command(BaseCommand):
    help = "Precision, recall and F1 of the dedupe engine per kind, at the default settings."

    def add_arguments(self, parser) -> None:
        quality.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        try:
            table = quality.report(
                seed=options["seed"],
                per_kind=options["per_kind"],
                background=options["background"],
                disable=options["disable"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(table)
