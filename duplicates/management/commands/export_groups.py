"""``manage.py export_groups --format json|csv``: every duplicate group to stdout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from duplicates.export import FORMATS, write
from duplicates.models import DuplicateGroup


class Command(BaseCommand):
    help = "Write the duplicate groups (members, primary, factor scores) to stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="json")
        parser.add_argument(
            "--status", choices=DuplicateGroup.Status.values, default=None, help="only these"
        )

    def handle(self, *args: Any, format: str, status: str | None, **options: Any) -> None:
        queryset = DuplicateGroup.objects.by_confidence()
        if status:
            queryset = queryset.with_status(status)
        self.stdout.ending = ""
        write(self.stdout, format=format, queryset=queryset)
