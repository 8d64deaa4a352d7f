"""The one django-ninja ``NinjaAPI`` of the project, mounted at ``/api/``.

Every route needs authentication: a logged-in session (with CSRF on unsafe methods) or a per-user
token sent as ``Authorization: Bearer <token>``; then the account's role must allow the operation
(each states its rule with ``@access``, see ``dedupe_project/access.py``), or the answer is 403.
Every error has one shape::

    {"code": "validation_error", "detail": "A human sentence.", "field_errors": {"field": ["..."]}}

Lists are paginated with ``limit`` (1 to 500) and ``offset`` and answer ``{"items": [...],
"count": N}``.

Input is strict: a request body must be standard JSON (no ``NaN`` or ``Infinity``), its objects
may only hold the documented fields with their documented types, integers fit in 64 bits, and no
text anywhere (body or query) may hold a NUL character or a lone UTF-16 surrogate. Anything else is
a 4xx in the error shape above, never a server error.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.pagination import LimitOffsetPagination
from ninja.parser import Parser
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth as NinjaSessionAuth
from pydantic import ConfigDict

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


class InputSchema(Schema):
    """Base of every request body: exactly the documented fields, each of its documented type
    (no ``"5"`` for 5), and finite numbers only."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class QuerySchema(Schema):
    """Base of query-parameter groups (``Query[...]``): text is converted, but to finite
    numbers only."""

    model_config = ConfigDict(allow_inf_nan=False)


# Integers a request may carry: what a 64-bit database column holds.
MAX_INTEGER = 2**63 - 1
MAX_PAGE_LIMIT = 500
MAX_OFFSET = 2**31 - 1


class PageInput(Schema):
    limit: int = Field(100, ge=1, le=MAX_PAGE_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class Pagination(LimitOffsetPagination):
    """``limit`` and ``offset`` within what the database and a response can hold."""

    Input = PageInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_PAGE_LIMIT, **kwargs)


Id = Annotated[int, Field(ge=1, le=MAX_INTEGER)]
"""An id in a path, query or body: ours or Paperless's, always positive and 64-bit."""


class InputError(Exception):
    """Text or numbers no field can hold (NUL, lone surrogates, integers beyond 64 bits)."""

    def __init__(self, *, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _check_text(value: str, *, field: str) -> None:
    if "\x00" in value:
        raise InputError(field=field, message="Text may not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            field=field, message="Text must be valid Unicode (no lone surrogates)."
        ) from None


def _check_json(value: Any, *, field: str = "") -> None:
    if isinstance(value, str):
        _check_text(value, field=field or "__all__")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, field=field or "__all__")
            _check_json(item, field=f"{field}.{key}" if field else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, field=f"{field}.{index}" if field else str(index))
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        raise InputError(field=field or "__all__", message="The number is too large.")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; send finite numbers only")


def _number(text: str) -> int | float:
    """A JSON number with a fraction of zero (``1.0``) is an integer, as JSON Schema says; the
    strict body schemas then take it for an integer field, and for a float field as well."""
    value = float(text)
    if value.is_integer() and abs(value) <= MAX_INTEGER:
        return int(value)
    return value


class StrictParser(Parser):
    """Standard JSON bodies (``NaN``/``Infinity`` refused) and clean text everywhere."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = json.loads(request.body, parse_constant=_no_constant, parse_float=_number)
        _check_json(data)
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            for value in values:
                _check_text(value, field=key)
        return super().parse_querydict(data, list_fields, request)


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


ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
COMMON_ERRORS = {
    400: "The body is not valid JSON.",
    401: "Not logged in, and no valid API token.",
    403: "Not allowed (or, with a session, the CSRF token is missing).",
    404: "Not found.",
    422: "Invalid parameters or body.",
}
UNSAFE_METHODS = {"post", "put", "patch", "delete"}


class DedupeOpenAPISchema(OpenAPISchema):
    """The schema as the API really behaves: every operation lists the errors it can answer (in
    the one error shape), and two different models may not share a component name (one would
    silently replace the other)."""

    _request_refs: set[str]

    def __init__(self, api: NinjaAPI, path_prefix: str) -> None:
        self._request_refs = set()
        super().__init__(api, path_prefix)

    def get_components(self) -> dict[str, Any]:
        """Text in requests may not hold NUL (PostgreSQL cannot store or compare it): the
        schemas that requests use say so, as a pattern."""
        done: set[str] = set()
        while self._request_refs - done:
            name = (self._request_refs - done).pop()
            done.add(name)
            if name in self.schemas:
                _no_nul_in_text(self.schemas[name], refs=self._request_refs)
        return super().get_components()

    def add_schema_definitions(self, definitions: dict) -> None:
        for name, definition in definitions.items():
            known = self.schemas.get(name)
            if known is not None and known != definition:
                raise ImproperlyConfigured(
                    f"Two different API schemas are both named {name!r}; rename one."
                )
        super().add_schema_definitions(definitions)

    def operation_details(self, operation: Any) -> dict[str, Any]:
        details = super().operation_details(operation)
        for parameter in details.get("parameters", ()):
            _no_nul_in_text(parameter.get("schema", {}), refs=self._request_refs)
        _no_nul_in_text(details.get("requestBody", {}), refs=self._request_refs)
        responses = details["responses"]
        has_body = "requestBody" in details
        has_path = any(p.get("in") == "path" for p in details.get("parameters", ()))
        wanted = {401}
        if details.get("parameters") or has_body:
            wanted.add(422)
        if has_body:
            wanted.add(400)
        if has_path:
            wanted.add(404)
        if set(operation.methods) & {m.upper() for m in UNSAFE_METHODS}:
            wanted.add(403)
        for status in sorted(wanted):
            responses.setdefault(
                status,
                {
                    "description": COMMON_ERRORS[status],
                    "content": {"application/json": {"schema": ERROR_REF}},
                },
            )
        return details


NO_NUL = r"^[^\x00]*$"
SUBSCHEMA_KEYS = ("items", "additionalProperties", "schema", "not", "anyOf", "allOf", "oneOf")


def _no_nul_in_text(schema: Any, *, refs: set[str]) -> None:
    """Give every plain text schema in ``schema`` the no-NUL pattern; note the components it
    refers to, which get it too."""
    if isinstance(schema, list):
        for item in schema:
            _no_nul_in_text(item, refs=refs)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        refs.add(ref.rsplit("/", 1)[-1])
    if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(schema):
        schema["pattern"] = NO_NUL
    for key, value in schema.items():
        if key in ("properties", "$defs", "content", "patternProperties"):
            for item in value.values():
                _no_nul_in_text(item, refs=refs)
        elif key in SUBSCHEMA_KEYS:
            _no_nul_in_text(value, refs=refs)


class DedupeAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        schema = DedupeOpenAPISchema(self, path_prefix)
        schema.schemas.setdefault("ErrorOut", ErrorOut.model_json_schema())
        return schema


api = DedupeAPI(
    title="Paperless Dedupe API",
    version="1",
    description=__doc__,
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    parser=StrictParser(),
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
        loc = [
            str(part)
            for part in error.get("loc", ())
            if part not in ("body", "query", "path")
            # union branches (``literal[0]``, ``constrained-int``) are no part of the field name
            and (isinstance(part, int) or str(part).isidentifier())
        ]
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


@api.exception_handler(InputError)
def _bad_input(request: HttpRequest, exc: InputError) -> HttpResponse:
    return error_response(
        request,
        status=422,
        code="validation_error",
        detail="The request has invalid fields.",
        field_errors={exc.field: [exc.message]},
    )


ERROR_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, InputError):  # the body parsed, but holds what no field can
        return _bad_input(request, cause)
    detail = str(exc)
    if isinstance(cause, ValueError) and exc.status_code == 400:  # the body did not parse
        detail = f"The request body is not valid JSON ({cause})."
    return error_response(
        request,
        status=exc.status_code,
        code=ERROR_CODES.get(exc.status_code, "error"),
        detail=detail,
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
