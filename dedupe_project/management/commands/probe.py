"""Container health checks without curl.

* ``probe live``: asks the running web server for ``/health/live`` (the process answers).
* ``probe ready``: runs the readiness checks in this process (database, Redis when configured,
  Paperless when configured); for the worker and scheduler containers, which serve no HTTP.

Exit status 0 when healthy, 1 otherwise, with one line saying why.
"""

from __future__ import annotations

import asyncio
import os
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from processing.diagnostics import instantiate_check


class Command(BaseCommand):
    help = "Health check for containers: 'live' (web answers) or 'ready' (dependencies reachable)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("what", choices=["live", "ready"])
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--timeout", type=float, default=5.0)

    def handle(self, *args, what: str, port: int, timeout: float, **options) -> None:
        if what == "live":
            self._live(port=port, timeout=timeout)
        else:
            self._ready()

    def _live(self, *, port: int, timeout: float) -> None:
        hosts = [h for h in settings.ALLOWED_HOSTS if h not in ("*", "")] or ["127.0.0.1"]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/health/live", headers={"Host": hosts[0].lstrip(".")}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status = response.status
        except (urllib.error.URLError, OSError) as exc:
            raise CommandError(f"not live: {exc}") from exc
        if status != 200:
            raise CommandError(f"not live: HTTP {status}")
        self.stdout.write("live")

    def _ready(self) -> None:
        from dedupe_project.health import readiness_checks

        failures = []
        for check in (instantiate_check(c) for c in readiness_checks()):
            result = asyncio.run(check.get_result())
            if result.error is not None:
                failures.append(f"{type(check).__name__}: {result.error}")
        if failures:
            raise CommandError("not ready: " + "; ".join(failures))
        self.stdout.write("ready")
