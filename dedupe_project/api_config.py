"""``/api/config``: the DB-backed configuration, and ``/api/config/connection`` for Paperless.

Range and consistency checks live on the model (``Configuration.apply``), so the settings page and
the API reject exactly the same things with the same messages.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema

from dedupe_project.access import CONNECTION, READ, SETTINGS, access
from dedupe_project.api import ApiError, ErrorOut, django_field_errors
from dedupe_project.models import Configuration
from dedupe_project.reanalysis import queue_rescore_if_changed, scoring_fingerprint

router = Router()


class FactorSetting(Schema):
    weight: float
    enabled: bool


class AiPrice(Schema):
    """US dollars per million tokens."""

    input: float
    output: float


class ConfigDefaultsOut(Schema):
    """Every tunable setting (what /defaults answers)."""

    paperless_url: str
    paperless_requests_per_second: float
    paperless_timeout_seconds: float
    paperless_file_workers: int
    duplicate_threshold: float
    factor_weights: dict[str, FactorSetting]
    groups_per_page: int
    dry_run: bool
    dry_run_tag_name: str
    dry_run_tag_id: int | None
    sync_interval_minutes: int
    thumbnail_cache_mb: int
    ai_base_url: str
    ai_model: str
    ai_timeout_seconds: float
    ai_max_input_tokens: int
    ai_max_output_tokens: int
    ai_temperature: float
    ai_requests_per_minute: int
    ai_max_retries: int
    ai_max_tags: int
    ai_protected_tag_ids: list[int]
    ai_monthly_budget: Decimal | None
    ai_run_document_limit: int
    ai_price_table: dict[str, AiPrice]
    ai_accept_threshold: float
    ai_review_new_documents: bool


class ConfigOut(ConfigDefaultsOut):
    """The whole configuration: the tunables, and whether secrets are stored (never them)."""

    paperless_token_set: bool
    paperless_token_hint: str
    openai_api_key_set: bool
    openai_api_key_hint: str
    openai_api_key_url: str = ""
    updated_at: datetime | None = None


class ConfigUpdate(Schema):
    """Any subset of the settings. Secrets are write-only; send an empty string to clear one."""

    paperless_url: str | None = None
    paperless_token: str | None = None
    openai_api_key: str | None = None
    paperless_requests_per_second: float | None = None
    paperless_timeout_seconds: float | None = None
    paperless_file_workers: int | None = None
    duplicate_threshold: float | None = None
    factor_weights: dict[str, FactorSetting] | None = None
    groups_per_page: int | None = None
    dry_run: bool | None = None
    dry_run_tag_name: str | None = None
    dry_run_tag_id: int | None = None
    sync_interval_minutes: int | None = None
    thumbnail_cache_mb: int | None = None
    ai_base_url: str | None = None
    ai_model: str | None = None
    ai_timeout_seconds: float | None = None
    ai_max_input_tokens: int | None = None
    ai_max_output_tokens: int | None = None
    ai_temperature: float | None = None
    ai_requests_per_minute: int | None = None
    ai_max_retries: int | None = None
    ai_max_tags: int | None = None
    ai_protected_tag_ids: list[int] | None = None
    ai_monthly_budget: Decimal | None = None
    ai_run_document_limit: int | None = None
    ai_price_table: dict[str, AiPrice] | None = None
    ai_accept_threshold: float | None = None
    ai_review_new_documents: bool | None = None


class ValidationOut(Schema):
    valid: bool
    field_errors: dict[str, list[str]]


CONNECTION_FIELDS = ("paperless_url", "paperless_token")


def _changes(payload: ConfigUpdate, request: HttpRequest) -> dict[str, Any]:
    """The settings sent; the connection's need the connection permission as well."""
    changes = payload.model_dump(exclude_unset=True)
    if any(name in changes for name in CONNECTION_FIELDS) and not CONNECTION.allows(request.user):
        raise ApiError(
            status=403,
            code="forbidden",
            detail=f"Changing the Paperless URL or token needs the permission to: "
            f"{CONNECTION.description}.",
        )
    return changes


@router.get("", response=ConfigOut, summary="The whole configuration")
@access(READ)
def get_config(request: HttpRequest) -> dict[str, Any]:
    return Configuration.objects.get_solo().as_dict()


@router.patch(
    "", response={200: ConfigOut, 422: ErrorOut}, summary="Change settings; returns all of them"
)
@access(SETTINGS)
def update_config(request: HttpRequest, payload: ConfigUpdate) -> dict[str, Any]:
    config = Configuration.objects.get_solo()
    before = scoring_fingerprint(config)
    config.apply(_changes(payload, request), user=request.user)
    queue_rescore_if_changed(before=before, config=config, user=request.user)
    return config.as_dict()


@router.put("", response={200: ConfigOut, 422: ErrorOut}, summary="Same as PATCH")
@access(SETTINGS)
def replace_config(request: HttpRequest, payload: ConfigUpdate) -> dict[str, Any]:
    return update_config(request, payload)


@router.post("/reset", response=ConfigOut, summary="Back to defaults (stored secrets are kept)")
@access(SETTINGS)
def reset_config(request: HttpRequest) -> dict[str, Any]:
    config = Configuration.objects.get_solo()
    before = scoring_fingerprint(config)
    config.reset(user=request.user)
    queue_rescore_if_changed(before=before, config=config, user=request.user)
    return config.as_dict()


@router.get("/defaults", response=ConfigDefaultsOut, summary="The default of every setting")
@access(READ)
def config_defaults(request: HttpRequest) -> dict[str, Any]:
    return Configuration.defaults()


@router.post("/validate", response=ValidationOut, summary="Check changes without saving them")
@access(SETTINGS)
def validate_config(request: HttpRequest, payload: ConfigUpdate) -> dict[str, Any]:
    config = Configuration.objects.get_solo()
    try:
        config.apply(_changes(payload, request), user=request.user, save=False)
    except ValidationError as exc:
        return {"valid": False, "field_errors": django_field_errors(exc)}
    return {"valid": True, "field_errors": {}}


class DryRunTagIn(Schema):
    name: str


@router.post(
    "/dry-run-tag",
    response={200: ConfigOut, 422: ErrorOut, 502: ErrorOut},
    summary="Create or find a tag in Paperless (no auto-matching) and make it the dry-run tag",
)
@access(SETTINGS)
def set_dry_run_tag(request: HttpRequest, payload: DryRunTagIn) -> dict[str, Any]:
    from documents.connection import ConnectionNotConfigured
    from documents.paperless import PaperlessError
    from documents.tags import ensure_dry_run_tag

    name = payload.name.strip()
    if not name or len(name) > 128:
        raise ApiError(
            status=422,
            code="validation_error",
            detail="Give the tag a name of 1 to 128 characters.",
            field_errors={"name": ["1 to 128 characters."]},
        )
    try:
        ensure_dry_run_tag(name=name, user=request.user)
    except ConnectionNotConfigured as exc:
        raise ApiError(status=422, code="not_configured", detail=str(exc)) from exc
    except PaperlessError as exc:
        raise ApiError(status=502, code="paperless_error", detail=str(exc)) from exc
    return Configuration.objects.get_solo().as_dict()


class ConnectionTestIn(Schema):
    url: str | None = None
    token: str | None = None


class ConnectionOut(Schema):
    ok: bool
    code: str
    detail: str
    paperless_version: str | None = None
    api_version: int | None = None
    document_count: int | None = None


@router.post(
    "/connection/test",
    response=ConnectionOut,
    summary="Test a Paperless URL and token (or the configured ones)",
)
@access(CONNECTION)
def test_connection(request: HttpRequest, payload: ConnectionTestIn) -> dict[str, Any]:
    from documents.connection import check_connection

    if bool(payload.url) != bool(payload.token) and payload.url is not None:
        raise ApiError(
            status=422,
            code="validation_error",
            detail="Give both a URL and a token, or neither to test the configured connection.",
            field_errors={"token": ["Required with a URL."]} if payload.url else {},
        )
    return check_connection(url=payload.url or None, token=payload.token or None).as_dict()
