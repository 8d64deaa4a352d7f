"""``manage.py fake_paperless``: run the fake Paperless from the tests by hand, to try the app."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve a fake Paperless-NGX with generated documents (for trying the app, not for data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8111)
        parser.add_argument("--documents", type=int, default=500)
        parser.add_argument("--duplicate-ratio", type=float, default=0.1)
        parser.add_argument("--token", default="fake-paperless-token")
        parser.add_argument("--api-version", type=int, choices=(9, 10), default=10)
        parser.add_argument(
            "--corpus", choices=("heldout", "train", "all"), default=None,
            help="serve the labelled real-OCR corpus (built by manage.py build_corpus)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        from tests.fake_paperless.__main__ import main

        main(
            [
                "--host", options["host"],
                "--port", str(options["port"]),
                "--documents", str(options["documents"]),
                "--duplicate-ratio", str(options["duplicate_ratio"]),
                "--token", options["token"],
                "--api-version", str(options["api_version"]),
                *(["--corpus", options["corpus"]] if options["corpus"] else []),
            ]
        )  # fmt: skip
