"""The one django-ninja ``NinjaAPI`` of the project, mounted at ``/api/``.

Every route needs authentication: a logged-in session (with CSRF on unsafe methods) or a per-user
token sent as ``Authorization: Bearer <token>``; then the account's role must allow the operation
(each states its rule with ``@access``, see ``dedupe_project/access.py``), or the answer is 403.
Every error has one shape::

    {"code": "validation_error", "detail": "A human sentence.", "field_errors": {"field": ["..."]}}

Lists are paginated with ``limit`` and ``offset`` and answer ``{"items": [...], "count": N}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth as NinjaSessionAuth

from dedupe_project.access import READ, access, role_label
from dedupe_project.models import ApiToken


def check_access(request: HttpRequest, user: Any) -> Any:
    """After authentication: the operation's rule must allow ``user`` (403 otherwise; an
    operation without a rule is refused to everyone)."""
    rule = getattr(request, "access_rule", None)
    if rule is None:
        raise ApiError(
            status=403,
            code="forbidden",
            detail="This operation has no access rule yet, so nobody may use it.",
        )
    if not rule.allows(user):
        raise ApiError(
            status=403,
            code="forbidden",
            detail=f"Your role ({role_label(user)}) may not do this: it needs the permission "
            f"to: {rule.description}.",
        )
    return user


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from dedupe_project.throttling import token_attempt

        with token_attempt(request) as attempt:
            api_token = ApiToken.objects.authenticate(token)
            attempt.succeeded = api_token is not None
        if api_token is None:
            return None
        request.user = api_token.user
        return check_access(request, api_token.user)


class SessionAuth(NinjaSessionAuth):
    """The logged-in session (CSRF checked on unsafe methods by django-ninja), then the role."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return None if user is None else check_access(request, user)


class ErrorOut(Schema):
    code: str
    detail: str
    field_errors: dict[str, list[str]] = {}


class ApiError(Exception):
    """Raise from an endpoint to answer with the common error shape."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        detail: str,
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field_errors = field_errors or {}


api = NinjaAPI(
    title="Paperless Dedupe API",
    version="1",
    description=__doc__,
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    docs_decorator=access(READ),
)


def error_response(
    request: HttpRequest,
    *,
    status: int,
    code: str,
    detail: str,
    field_errors: dict[str, list[str]] | None = None,
) -> HttpResponse:
    return api.create_response(
        request,
        {"code": code, "detail": detail, "field_errors": field_errors or {}},
        status=status,
    )


def django_field_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: list(messages) for field, messages in exc.message_dict.items()}
    return {"__all__": list(exc.messages)}


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(
        request,
        status=exc.status,
        code=exc.code,
        detail=exc.detail,
        field_errors=exc.field_errors,
    )


@api.exception_handler(NinjaValidationError)
def _invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    field_errors: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        if loc and loc[0] in ("payload", "data", "changes", "filters"):
            loc = loc[1:]
        field_errors.setdefault(".".join(loc) or "__all__", []).append(error.get("msg", "Invalid"))
    return error_response(
        request,
        status=422,
        code="validation_error",
        detail="The request has invalid fields.",
        field_errors=field_errors,
    )


@api.exception_handler(DjangoValidationError)
def _invalid_data(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return error_response(
        request,
        status=422,
        code="validation_error",
        detail="Some values are not valid.",
        field_errors=django_field_errors(exc),
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request,
        status=401,
        code="unauthenticated",
        detail="Log in, or send a valid API token as 'Authorization: Bearer <token>'.",
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, status=404, code="not_found", detail=str(exc) or "Not found.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    return error_response(
        request,
        status=exc.status_code,
        code=codes.get(exc.status_code, "error"),
        detail=str(exc),
    )


def _register_routers() -> None:
    from dedupe_project.api_config import router as config_router
    from documents.api import router as documents_router
    from documents.api import sync_router
    from duplicates.api import analysis_router, groups_router, stats_router
    from duplicates.api_detail import router as group_detail_router
    from processing.api import router as jobs_router

    api.add_router("/config", config_router, tags=["configuration"])
    api.add_router("/jobs", jobs_router, tags=["jobs"])
    api.add_router("/documents", documents_router, tags=["documents"])
    api.add_router("/sync", sync_router, tags=["documents"])
    api.add_router("/analysis", analysis_router, tags=["duplicates"])
    api.add_router("/groups", groups_router, tags=["duplicates"])
    _add_actions_routers()
    api.add_router("/stats", stats_router, tags=["duplicates"])
    api.add_router("/groups", group_detail_router, tags=["duplicates"])
    _add_webhooks_router()
    _add_ai_router()


def _add_webhooks_router() -> None:
    from webhooks.api import router as webhooks_router

    api.add_router("/webhooks", webhooks_router, tags=["webhooks"])


def _add_ai_router() -> None:
    from ai_review.api import router as ai_router

    api.add_router("/ai", ai_router, tags=["ai review"])


def _add_actions_routers() -> None:
    from duplicates.api_actions import audit_router, plans_router

    api.add_router("/plans", plans_router, tags=["actions"])
    api.add_router("/audit", audit_router, tags=["actions"])


_register_routers()
