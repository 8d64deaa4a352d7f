from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, object]:
    from dedupe_project.access import role_label

    user = getattr(request, "user", None)
    return {
        "user_role": role_label(user) if user is not None and user.is_authenticated else "",
        "EMBEDDED_MODE": settings.EMBEDDED_WORKER,
        "DEDUPE_ENVIRONMENT": settings.DEDUPE_ENVIRONMENT,
    }
