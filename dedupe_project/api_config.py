"""``/api/config``: the DB-backed configuration, and ``/api/config/connection`` for Paperless.

Range and consistency checks live on the model (``Configuration.apply``), so the settings page and
the API reject exactly the same things with the same messages.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import ConfigDict, create_model, field_validator, model_validator

from dedupe_project.access import CONNECTION, READ, SETTINGS, access
from dedupe_project.api import ApiError, ErrorOut, Id, InputSchema, django_field_errors
from dedupe_project.models import FACTORS, MAX_FACTOR_WEIGHT, Configuration
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


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(*, json_schema_extra: dict[str, Any] | None = None, **constraints: Any) -> Any:
    """A field that may be left out, but not sent as ``null``."""

    def extra(schema: dict[str, Any]) -> None:
        _no_default(schema)
        schema.update(json_schema_extra or {})

    return Field(None, json_schema_extra=extra, **constraints)


def _bounds(name: str) -> dict[str, Any]:
    """The range of a numeric setting, from its model field (one source for the page, the
    model and the schema): ``ge`` and ``le``."""
    field = Configuration._meta.get_field(name)
    bounds: dict[str, Any] = {"ge": 0} if "Positive" in type(field).__name__ else {}
    for validator in field.validators:
        if isinstance(validator, MinValueValidator):
            bounds["ge"] = validator.limit_value
        elif isinstance(validator, MaxValueValidator):
            bounds["le"] = validator.limit_value
    return bounds


ModelName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")]


class AiPriceIn(InputSchema):
    """US dollars per million tokens."""

    input: float = Field(ge=0, le=1000)
    output: float = Field(ge=0, le=1000)


class FactorSettingIn(InputSchema):
    weight: float = Field(ge=0, le=MAX_FACTOR_WEIGHT)
    enabled: bool


FactorWeightsIn = create_model(
    "FactorWeightsIn",
    __base__=InputSchema,
    __doc__="Any of the factors; the ones left out keep their current setting.",
    **{name: (FactorSettingIn, optional(description=label)) for name, label in FACTORS.items()},
)


class ConfigUpdate(InputSchema):
    """Any subset of the settings. Secrets are write-only; send an empty string to clear one.
    Ranges are the settings page's; ``dry_run_tag_id`` takes ``null`` (no tag chosen yet)."""

    @field_validator("sync_interval_minutes")
    @classmethod
    def _five_minutes_at_least(cls, value: int) -> int:
        if 1 <= value <= 4:
            raise ValueError("Sync every 5 to 10080 minutes, or 0 to turn it off.")
        return value

    paperless_url: str = optional(max_length=500)
    paperless_token: str = optional(max_length=1000)
    openai_api_key: str = optional(max_length=1000)
    paperless_requests_per_second: float = optional(**_bounds("paperless_requests_per_second"))
    paperless_timeout_seconds: float = optional(**_bounds("paperless_timeout_seconds"))
    paperless_file_workers: int = optional(**_bounds("paperless_file_workers"))
    duplicate_threshold: float = optional(**_bounds("duplicate_threshold"))
    factor_weights: FactorWeightsIn = optional()
    groups_per_page: int = optional(**_bounds("groups_per_page"))
    dry_run: bool = optional()
    dry_run_tag_name: str = optional(min_length=1, max_length=128)
    dry_run_tag_id: int | None = Field(None, ge=1, le=2**31 - 1)
    sync_interval_minutes: int = optional(
        ge=0,
        le=10080,
        description="Minutes between scheduled syncs, 5 to 10080 (a week); 0 turns it off.",
        json_schema_extra={"not": {"minimum": 1, "maximum": 4}},
    )
    thumbnail_cache_mb: int = optional(**_bounds("thumbnail_cache_mb"))
    ai_base_url: str = optional(max_length=500)
    ai_model: str = optional(min_length=1, max_length=200)
    ai_timeout_seconds: float = optional(**_bounds("ai_timeout_seconds"))
    ai_max_input_tokens: int = optional(**_bounds("ai_max_input_tokens"))
    ai_max_output_tokens: int = optional(**_bounds("ai_max_output_tokens"))
    ai_temperature: float = optional(**_bounds("ai_temperature"))
    ai_requests_per_minute: int = optional(**_bounds("ai_requests_per_minute"))
    ai_max_retries: int = optional(**_bounds("ai_max_retries"))
    ai_max_tags: int = optional(**_bounds("ai_max_tags"))
    ai_protected_tag_ids: list[Id] = optional(max_length=10_000)
    ai_monthly_budget: float | None = Field(
        None, ge=0, le=99_999_999.99, description="US dollars, to the cent; null: no limit."
    )
    ai_run_document_limit: int = optional(**_bounds("ai_run_document_limit"))
    ai_price_table: dict[ModelName, AiPriceIn] = optional(max_length=1000)
    ai_accept_threshold: float = optional(**_bounds("ai_accept_threshold"))
    ai_review_new_documents: bool = optional()


class ValidationOut(Schema):
    valid: bool
    field_errors: dict[str, list[str]]


CONNECTION_FIELDS = ("paperless_url", "paperless_token")


def _changes(
    payload: ConfigUpdate, request: HttpRequest, *, config: Configuration
) -> dict[str, Any]:
    """The settings sent; the connection's need the connection permission as well. Factor
    weights sent for some factors keep the others as they are."""
    changes = payload.model_dump(exclude_unset=True)
    if any(name in changes for name in CONNECTION_FIELDS) and not CONNECTION.allows(request.user):
        raise ApiError(
            status=403,
            code="forbidden",
            detail=f"Changing the Paperless URL or token needs the permission to: "
            f"{CONNECTION.description}.",
        )
    if changes.get("ai_monthly_budget") is not None:  # as written, not the float's binary value
        changes["ai_monthly_budget"] = Decimal(repr(changes["ai_monthly_budget"]))
    if "factor_weights" in changes:
        changes["factor_weights"] = {**config.factor_weights, **changes["factor_weights"]}
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
    try:
        config.apply(_changes(payload, request, config=config), user=request.user)
    except ValidationError as exc:
        # Each value has its schema's type and range; what is left is a rule beyond the schema:
        # a tag Paperless does not have, no content factor left on, a URL the guard refuses.
        raise ApiError(
            status=422,
            code="invalid_settings",
            detail="These settings cannot be saved.",
            field_errors=django_field_errors(exc),
        ) from exc
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
        config.apply(_changes(payload, request, config=config), user=request.user, save=False)
    except ValidationError as exc:
        return {"valid": False, "field_errors": django_field_errors(exc)}
    return {"valid": True, "field_errors": {}}


class DryRunTagIn(InputSchema):
    name: str = Field(
        min_length=1,
        max_length=128,
        description="Not only spaces; leading and trailing spaces are dropped.",
        pattern=r"^[^\x00]*[^\x00 \t\n\r\f\v][^\x00]*$",
    )


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

    name = payload.name.strip(" \t\n\r\f\v")
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


class ConnectionTestIn(InputSchema):
    """A URL and a token to test, or neither to test the configured connection."""

    model_config = ConfigDict(
        json_schema_extra={"dependentRequired": {"url": ["token"], "token": ["url"]}}
    )

    url: str = optional(min_length=1, max_length=500)
    token: str = optional(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _both_or_neither(self) -> ConnectionTestIn:
        if (self.url is None) != (self.token is None):
            raise ValueError("Give both a URL and a token, or neither.")
        return self


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

    return check_connection(url=payload.url, token=payload.token).as_dict()
