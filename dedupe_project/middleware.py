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
