"""Serve the app with daphne (HTTP and WebSockets), saying where to go and how to log in.

In the embedded mode (no REDIS_URL) the worker and the scheduler run inside this process, so it is
one process. In the services mode the pages are served by several daphne processes sharing one
listening socket (``--processes``, ``DEDUPE_WEB_PROCESSES``, default one per core up to 4): one
Python process renders one page at a time (the GIL), so with ten people at once the answers
queued behind each other; the kernel hands each new connection to a process that is free to
accept it. If one of them dies, the others are stopped and this command exits non-zero, so the
container (or systemd) restarts the whole web service.

daphne runs *without* ``--proxy-headers``: with them it takes ``X-Forwarded-For`` from any peer as
the client's address, so anyone could claim to be 127.0.0.1. The app reads the header itself,
and only from the proxies named in ``DEDUPE_TRUSTED_PROXIES`` (``dedupe_project/network.py``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

MAX_PROCESSES = 16


def default_processes() -> int:
    if settings.EMBEDDED_WORKER:
        return 1  # the worker, the scheduler and the in-memory queues live in the one process
    configured = os.environ.get("DEDUPE_WEB_PROCESSES", "")
    if configured.strip():
        return int(configured)
    return max(1, min(4, os.cpu_count() or 1))


class Command(BaseCommand):
    help = "Start the web server (daphne); in the embedded mode also the worker and scheduler."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="web processes sharing the port (services mode only; default one per core, "
            "at most 4, or DEDUPE_WEB_PROCESSES)",
        )

    def handle(self, *args, host: str, port: int, processes: int | None, **options) -> None:
        from daphne.cli import CommandLineInterface

        processes = default_processes() if processes is None else processes
        if not 1 <= processes <= MAX_PROCESSES:
            raise CommandError(f"Give 1 to {MAX_PROCESSES} web processes.")
        if processes > 1 and settings.EMBEDDED_WORKER:
            raise CommandError(
                "The embedded mode runs its worker inside the web process: one process only. "
                "Set REDIS_URL (and run the worker) for more."
            )

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
            else "services mode: the worker runs separately (manage.py rundramatiq), "
            f"{processes} web process{'es' if processes > 1 else ''}"
        )
        self.stdout.write(
            self.style.SUCCESS(f"\nPaperless Dedupe is starting at {url}\n")
            + f"  Then {how}.\n  Running in {mode}.\n  Stop with Ctrl+C.\n"
        )
        self.stdout.flush()
        if processes > 1:
            self._serve_many(host=host, port=port, processes=processes)
            return
        CommandLineInterface().run(
            [
                "--bind",
                host,
                "--port",
                str(port),
                "dedupe_project.asgi:application",
            ]
        )

    def _serve_many(self, *, host: str, port: int, processes: int) -> None:
        """``processes`` daphne processes accepting on one socket opened here."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1024)
        listener.set_inheritable(True)
        fd = listener.fileno()
        command = [
            sys.executable, "-m", "daphne", "--fd", str(fd), "dedupe_project.asgi:application",
        ]  # fmt: skip
        children = [
            subprocess.Popen(command, pass_fds=[fd])  # noqa: S603 - our own server
            for _ in range(processes)
        ]
        listener.close()  # the children hold it now

        stopping: list[int] = []

        def stop(signum: int, frame: object) -> None:
            stopping.append(signum)
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        pid, status = os.wait()  # the first to end, for whatever reason
        asked = bool(stopping)
        stop(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        code = os.waitstatus_to_exitcode(status)
        if not asked:
            raise CommandError(f"web process {pid} ended with {code}; stopped the others")
