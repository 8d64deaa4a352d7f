"""Login is required for every view unless it says otherwise (fail-safe default)."""

from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's ``LoginRequiredMiddleware``, except for the JSON API.

    The API enforces authentication itself (session or per-user token, see ``dedupe_project.api``)
    and answers 401 in its own error shape instead of redirecting to the login page.
    """

    api_prefix = "/api/"

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(self.api_prefix):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class ForgetStatsAfterChangesMiddleware:
    """A request that may have changed something (any method but GET, HEAD, OPTIONS) and
    succeeded forgets the cached dashboard figures, so the next page shows the change."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400:
            from duplicates.stats import forget_dashboard_stats

            forget_dashboard_stats()
        return response


class ApiErrorShapeMiddleware:
    """Every error under ``/api/`` in the API's one error shape, whoever made it: an unknown URL
    (Django's 404 page), a method a route does not take (405), a refused host (400), a server
    error (500). Responses that are JSON already are left alone; headers such as ``Allow`` are
    kept."""

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
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            shaped[header] = response[header]
    return shaped
