"""Liveness and readiness, on django-health-check.

* liveness (``/health/live``): the process answers. No dependency is touched, so a slow Paperless
  never gets a healthy container restarted.
* readiness (``/health/ready``): the database, Redis when configured, and Paperless when configured.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView


@dataclasses.dataclass
class PaperlessReachable(HealthCheck):
    """Paperless answers as Paperless with the configured token (skipped until one is set)."""

    timeout = datetime.timedelta(seconds=15)

    def run(self) -> None:
        from documents.connection import ConnectionNotConfigured, probe_connection
        from documents.paperless import PaperlessError

        try:
            probe_connection()
        except ConnectionNotConfigured:
            return
        except PaperlessError as exc:
            raise ServiceUnavailable(str(exc)) from exc


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


class ReadinessView(HealthCheckView):
    def get_checks(self):  # type: ignore[override]
        self.checks = readiness_checks()
        return super().get_checks()


@login_not_required
@never_cache
@require_GET
def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
