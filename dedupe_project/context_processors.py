from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, object]:
    return {
        "EMBEDDED_MODE": settings.EMBEDDED_WORKER,
        "DEDUPE_ENVIRONMENT": settings.DEDUPE_ENVIRONMENT,
    }
