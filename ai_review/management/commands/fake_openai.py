"""``manage.py fake_openai``: run the tests' fake OpenAI-compatible endpoint by hand."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve a fake OpenAI-compatible chat endpoint (for trying AI review, not for data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8112)
        parser.add_argument("--key", default="sk-fake-openai-key-0123456789")
        parser.add_argument("--no-key", action="store_true", help="accept any key, like Ollama")

    def handle(self, *args: Any, **options: Any) -> None:
        from tests.fake_openai.__main__ import main

        argv = ["--host", options["host"], "--port", str(options["port"]), "--key", options["key"]]
        main([*argv, "--no-key"] if options["no_key"] else argv)
