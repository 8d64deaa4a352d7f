"""Login throttling with django-axes: after ``DEDUPE_LOGIN_FAILURE_LIMIT`` failed attempts an
account name, and separately an address, is locked out for ``DEDUPE_LOGIN_COOLOFF_MINUTES``.
It covers the login page, the admin site's login (both authenticate through Django, which axes
watches) and API tokens: a wrong ``Authorization: Bearer`` token counts as a failed attempt of
the address it came from (not of an account, so nobody can lock a user out by sending bad
tokens in their name). The address is :func:`dedupe_project.network.client_ip`.

``manage.py axes_reset`` (or ``axes_reset_username NAME`` / ``axes_reset_ip ADDRESS``) lifts a
lockout at once; the attempts are listed in the admin site.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

TOKEN_CREDENTIALS_MARK = "api_token"  # noqa: S105 - a dict key, not a secret


def lockout_parameters(request_or_attempt: Any, credentials: dict | None = None) -> list[Any]:
    """Per account and per address for passwords; per address only for API tokens."""
    if credentials and credentials.get(TOKEN_CREDENTIALS_MARK):
        return ["ip_address"]
    return ["username", "ip_address"]


def cooloff_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_message() -> str:
    return (
        f"Too many failed log-ins ({settings.AXES_FAILURE_LIMIT}) for this account or from this "
        f"address: locked for {cooloff_minutes()} minutes. Wait and try again, or ask an admin "
        "to lift it (manage.py axes_reset)."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What a locked-out login gets: the API's error shape under /api/, else the login page
    with the message (429, with Retry-After)."""
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"code": "locked_out", "detail": lockout_message(), "field_errors": {}}, status=429
        )
    else:
        response = render(
            request, "registration/locked_out.html", {"detail": lockout_message()}, status=429
        )
    response["Retry-After"] = retry_after
    return response


@dataclass
class TokenAttempt:
    succeeded: bool = False


class TokenLockedOut(Exception):
    """Too many wrong API tokens from this address."""


@contextmanager
def token_attempt(request: HttpRequest) -> Iterator[TokenAttempt]:
    """Refuse a token from a locked-out address; record a wrong one as a failed attempt."""
    from axes.handlers.proxy import AxesProxyHandler

    from dedupe_project.api import ApiError

    credentials = {TOKEN_CREDENTIALS_MARK: True}
    if settings.AXES_ENABLED and AxesProxyHandler.is_locked(request, credentials):
        raise ApiError(status=429, code="locked_out", detail=lockout_message())
    attempt = TokenAttempt()
    yield attempt
    if not attempt.succeeded and settings.AXES_ENABLED:
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
