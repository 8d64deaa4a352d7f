"""Liveness and readiness, on django-health-check.

* liveness (``/health/live``): the process answers. No dependency is touched, so a slow Paperless
  never gets a healthy container restarted.
* readiness (``/health/ready``): the database, Redis when configured, and Paperless when configured.
  Anyone gets the verdict (``{"status": "ok"}`` or ``"unavailable"``, 200 or 503): enough for a
  load balancer or a container check. What each check found (which can name hosts, URLs and
  errors) is shown only to a logged-in account or a caller with the metrics token
  (``Authorization: Bearer``). Paperless's answer is kept :data:`PAPERLESS_CACHE_SECONDS`, so a
  caller hitting the endpoint in a loop cannot make us hammer Paperless.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hmac
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable

from dedupe_project.access import PUBLIC, access

PAPERLESS_CACHE_SECONDS = 10
PAPERLESS_CACHE_KEY = "health:paperless"


@dataclasses.dataclass
class PaperlessReachable(HealthCheck):
    """Paperless answers as Paperless with the configured token (skipped until one is set).
    The outcome is cached for :data:`PAPERLESS_CACHE_SECONDS` (in Redis when configured, so for
    every process)."""

    timeout = datetime.timedelta(seconds=15)

    def run(self) -> None:
        error = cache.get(PAPERLESS_CACHE_KEY)
        if error is None:
            error = self._probe()
            cache.set(PAPERLESS_CACHE_KEY, error, PAPERLESS_CACHE_SECONDS)
        if error:
            raise ServiceUnavailable(error)

    @staticmethod
    def _probe() -> str:
        """ "" when Paperless answers (or none is configured), else what went wrong."""
        from documents.connection import ConnectionNotConfigured, probe_connection
        from documents.paperless import PaperlessError

        try:
            probe_connection()
        except ConnectionNotConfigured:
            return ""
        except PaperlessError as exc:
            return str(exc) or type(exc).__name__
        return ""


def readiness_checks() -> list[Any]:
    checks: list[Any] = [Database]
    if settings.REDIS_URL:
        from health_check.contrib.redis import Redis
        from redis.asyncio import Redis as RedisClient

        url = settings.REDIS_URL
        checks.append((Redis, {"client_factory": lambda: RedisClient.from_url(url)}))
    else:
        checks.append(Cache)
    checks.append(PaperlessReachable)
    return checks


CHECK_NAMES = {"Database": "database", "Redis": "redis", "Cache": "cache"}


async def gather_readiness() -> dict[str, str]:
    """Each check's name and "ok" or what it found (run on the event loop, as
    django-health-check's own view does: its async checks must not be run from a sync view)."""
    from processing.diagnostics import instantiate_check

    checks = [instantiate_check(check) for check in readiness_checks()]
    results = await asyncio.gather(*(check.get_result() for check in checks))
    outcome = {}
    for check, result in zip(checks, results, strict=True):
        name = CHECK_NAMES.get(type(check).__name__, "paperless")
        outcome[name] = "ok" if result.error is None else str(result.error)
    return outcome


def may_see_details(request: HttpRequest) -> bool:
    if request.user.is_authenticated:
        return True
    token = settings.METRICS_TOKEN
    auth = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(auth.encode(), f"Bearer {token}".encode())


@access(PUBLIC)
@never_cache
@require_GET
async def readiness(request: HttpRequest) -> JsonResponse:
    checks = await gather_readiness()
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
    if await sync_to_async(may_see_details)(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if ready else 503)


@access(PUBLIC)
@never_cache
@require_GET
def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
