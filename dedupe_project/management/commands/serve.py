"""Serve the app with daphne (HTTP and WebSockets), saying where to go and how to log in.

In the embedded mode (no REDIS_URL) the worker and the scheduler run inside this process.

daphne runs *without* ``--proxy-headers``: with them it takes ``X-Forwarded-For`` from any peer as
the client's address, so anyone could claim to be 127.0.0.1. The app reads the header itself,
and only from the proxies named in ``DEDUPE_TRUSTED_PROXIES`` (``dedupe_project/network.py``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server (daphne); in the embedded mode also the worker and scheduler."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options) -> None:
        from daphne.cli import CommandLineInterface

        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        url = f"http://{shown_host}:{port}/"
        users = get_user_model().objects
        if settings.ADMIN_USERNAME and users.filter(username=settings.ADMIN_USERNAME).exists():
            how = f"log in as '{settings.ADMIN_USERNAME}' (DEDUPE_ADMIN_USERNAME)"
        elif users.exists():
            how = "log in with your account"
        else:
            how = f"create the first account at {url}setup/"
        mode = (
            "embedded mode: SQLite, in-process worker, no other service"
            if settings.EMBEDDED_WORKER
            else "services mode: the worker runs separately (manage.py rundramatiq)"
        )
        self.stdout.write(
            self.style.SUCCESS(f"\nPaperless Dedupe is starting at {url}\n")
            + f"  Then {how}.\n  Running in {mode}.\n  Stop with Ctrl+C.\n"
        )
        self.stdout.flush()
        CommandLineInterface().run(
            [
                "--bind",
                host,
                "--port",
                str(port),
                "dedupe_project.asgi:application",
            ]
        )
