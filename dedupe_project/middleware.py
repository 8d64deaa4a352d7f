"""Every route is checked against its access rule before its view runs (fail closed).

See ``dedupe_project/access.py`` for the rules and how a route states its own.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from dedupe_project.access import API_OPERATION, PUBLIC, role_label, rule_for

logger = logging.getLogger(__name__)


DENIED_HEADER = "X-Access-Denied"


def forbidden(request: HttpRequest, *, detail: str, rule: str = "none") -> HttpResponse:
    """403 as a page (or the HTMX fragment of it), saying what is missing and what to do;
    ``X-Access-Denied`` names the rule that refused (a view's own 403 has no such header)."""
    html = render_to_string(
        "403.html",
        {"detail": detail, "role": role_label(request.user), "fragment": bool(request.htmx)},
        request=request,
    )
    response = HttpResponse(html, status=403)
    response[DENIED_HEADER] = rule
    return response


class AccessMiddleware:
    """Anonymous visitors of a route that needs a login go to the login page; a logged-in
    account whose role lacks the route's permission gets 403; a route nobody decided about is
    refused to everyone. API operations are checked by the API's authentication instead (it
    knows the token and answers in the API's error shape)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any):
        match = request.resolver_match
        rule = rule_for(
            view_func,
            url_name=getattr(match, "url_name", "") or "",
            namespace=getattr(match, "namespace", "") or "",
        )
        if rule is None:
            logger.error("route without an access rule refused", extra={"path": request.path})
            return forbidden(
                request, detail="This page has no access rule yet, so nobody may use it."
            )
        if rule is PUBLIC or rule is API_OPERATION:
            return None
        if not request.user.is_authenticated and request.path_info.startswith("/api/"):
            refused = self._token_user(request)  # the API's own pages (schema, docs)
            if refused is not None:
                return refused
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if rule.allows(request.user):
            return None
        return forbidden(
            request, detail=f"This needs the permission to: {rule.description}.", rule=rule.name
        )

    @staticmethod
    def _token_user(request: HttpRequest) -> HttpResponse | None:
        """An API token on the API's pages that are not operations (the OpenAPI schema and
        docs): the same token check, throttled the same way, as the operations."""
        from dedupe_project.api import ApiError
        from dedupe_project.models import ApiToken
        from dedupe_project.throttling import token_attempt

        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        try:
            with token_attempt(request) as attempt:
                token = ApiToken.objects.authenticate(raw.strip())
                attempt.succeeded = token is not None
        except ApiError as exc:
            return JsonResponse(
                {"code": exc.code, "detail": exc.detail, "field_errors": {}}, status=exc.status
            )
        if token is not None:
            request.user = token.user
        return None


class ForgetStatsAfterChangesMiddleware:
    """A person's request that may have changed something (any method but GET, HEAD, OPTIONS)
    and succeeded forgets the cached dashboard figures, so the next page shows the change.
    Requests of no one logged in do not: Paperless's webhook deliveries (thousands a minute in a
    burst) would keep every dashboard visit from sharing the figures; what a delivery changes is
    done by a job, whose end forgets them."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            request.method not in ("GET", "HEAD", "OPTIONS")
            and response.status_code < 400
            and user is not None
            and user.is_authenticated
        ):
            from duplicates.stats import forget_dashboard_stats

            forget_dashboard_stats()
        return response


class ApiErrorShapeMiddleware:
    """Every error under ``/api/`` in the API's one error shape, whoever made it: an unknown URL
    (Django's 404 page), a method a route does not take (405), a refused host (400), a server
    error (500), a page the role may not see (403). Responses that are JSON already are left
    alone; their headers (``Allow``, ``X-Access-Denied``, ...) are kept."""

    api_prefix = "/api/"

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith(self.api_prefix)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return shaped_error(response)
        return response


ERROR_DETAILS = {
    400: "Bad request.",
    404: "There is no such API route. The routes are listed at /api/docs.",
    405: "This route does not take that method.",
    500: "The server failed to answer; its log has the details.",
}


def shaped_error(response):
    from django.http import JsonResponse

    from dedupe_project.api import ERROR_CODES

    status = response.status_code
    shaped = JsonResponse(
        {
            "code": ERROR_CODES.get(status, "error"),
            "detail": ERROR_DETAILS.get(status, response.reason_phrase),
            "field_errors": {},
        },
        status=status,
    )
    for header, value in response.items():  # Allow, Retry-After, X-Access-Denied, ...
        if header.lower() not in ("content-type", "content-length"):
            shaped[header] = value
    return shaped
