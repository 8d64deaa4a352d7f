"""Project-wide models: the one DB-backed configuration, per-user API tokens, and the permissions
the roles are made of (:class:`Access`)."""

from __future__ import annotations

import hashlib
import math
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from dedupe_project import crypto
from dedupe_project.logging import register_secret
from duplicates.engine.model import default_model
from duplicates.engine.scoring import DEFAULT_WEIGHTS, ScoringConfig

# The factors the dedupe engine scores each pair on (duplicates.engine.scoring is the source of
# truth for names). What each adds to a score was learned from labelled documents; a weight
# multiplies that (1 = as learned, 2 = counts double, 0 or off = left out).
FACTORS: dict[str, str] = {
    "jaccard": "Text overlap: exact shingle Jaccard on the whole text",
    "fuzzy": "Fuzzy text ratio: tolerates OCR errors and reflowed lines",
    "characters": "Shared letters: what a poor scan keeps of the words it garbles",
    "containment": "Containment: one text inside a longer one (an extract is not a duplicate)",
    "words": "Replaced words: words of one text replaced by other words in the other",
    "image": "Page layout similarity (where the ink is on the first page)",
    "metadata": "Metadata influence: multiplies every metadata factor below",
    "correspondent": "Same correspondent",
    "document_type": "Same document type",
    "created": "Close created dates",
    "page_count": "Similar page counts",
    "size": "Similar file sizes",
    "title": "Similar titles",
    "filename": "Similar original file names",
    "checksum": "Identical file checksum (byte-identical copies)",
    "discriminative": "Different dates, amounts or reference numbers mean different documents",
}
CONTENT_FACTORS = ("jaccard", "fuzzy", "characters", "containment", "words", "image", "checksum")
MAX_FACTOR_WEIGHT = 5.0


def default_threshold() -> float:
    """The threshold calibrated with the scoring model (``duplicates/engine/model.json``)."""
    return default_model().threshold


def default_factor_weights() -> dict[str, dict[str, Any]]:
    return {name: {"weight": DEFAULT_WEIGHTS[name], "enabled": True} for name in FACTORS}


def validate_factor_weights(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Factor weights must be an object of factor name to settings.")
    unknown = sorted(set(value) - set(FACTORS))
    if unknown:
        raise ValidationError(f"Unknown factor(s): {', '.join(unknown)}.")
    missing = sorted(set(FACTORS) - set(value))
    if missing:
        raise ValidationError(f"Missing factor(s): {', '.join(missing)}.")
    for name, entry in value.items():
        if not isinstance(entry, dict) or set(entry) != {"weight", "enabled"}:
            raise ValidationError(f"{name}: give exactly 'weight' and 'enabled'.")
        weight = entry["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValidationError(f"{name}: the weight must be a number.")
        if not 0 <= weight <= MAX_FACTOR_WEIGHT:
            raise ValidationError(
                f"{name}: the weight must be between 0 and {MAX_FACTOR_WEIGHT:g}."
            )
        if not isinstance(entry["enabled"], bool):
            raise ValidationError(f"{name}: 'enabled' must be true or false.")
    if not any(value[n]["enabled"] and value[n]["weight"] > 0 for n in CONTENT_FACTORS):
        raise ValidationError(
            "Switch on at least one content factor (text overlap, fuzzy text, containment, image "
            "or checksum): metadata alone cannot tell duplicates apart."
        )


OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def default_ai_price_table() -> dict[str, dict[str, float]]:
    """US dollars per million tokens (input, output), as the providers listed them; the user
    edits it. A local model (Ollama, LM Studio, vLLM) costs nothing: add it with 0 and 0."""
    return {
        "gpt-4o-mini": {"input": 0.15, "output": 0.60},
        "gpt-4o": {"input": 2.50, "output": 10.00},
        "gpt-4.1": {"input": 2.00, "output": 8.00},
        "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
        "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
        "llama3.1:8b": {"input": 0.0, "output": 0.0},
        "qwen2.5:7b": {"input": 0.0, "output": 0.0},
    }


def validate_ai_price_table(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("The price table must be an object of model name to prices.")
    for model, prices in value.items():
        if not isinstance(model, str) or not model.strip() or len(model) > 200:
            raise ValidationError("Each model needs a name of 1 to 200 characters.")
        if not isinstance(prices, dict) or set(prices) != {"input", "output"}:
            raise ValidationError(
                f"{model}: give exactly 'input' and 'output' (USD per 1M tokens)."
            )
        for side, price in prices.items():
            if (
                isinstance(price, bool)
                or not isinstance(price, int | float)
                or not 0 <= price <= 1000
            ):
                raise ValidationError(f"{model}: the {side} price must be a number from 0 to 1000.")


def validate_tag_id_list(value: Any) -> None:
    if not isinstance(value, list) or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value
    ):
        raise ValidationError("Give a list of Paperless tag ids.")


def validate_sync_interval(value: int) -> None:
    if value != 0 and not 5 <= value <= 10080:
        raise ValidationError("Sync every 5 to 10080 minutes (one week), or 0 to turn it off.")


def normalise_url(url: str) -> str:
    """A URL as a token is bound to it: surrounding space and a trailing slash do not count."""
    return (url or "").strip().rstrip("/")


class ConfigurationManager(models.Manager["Configuration"]):
    def get_solo(self) -> Configuration:
        config, _ = self.get_or_create(pk=1)
        return config


class Configuration(models.Model):
    """The tunables a user changes, in one row, with defaults and validation.

    Edited on the settings page and through ``/api/config``; both go through :meth:`apply`.
    Secrets are stored encrypted and are write-only: they are never returned in full.
    """

    SECRET_FIELDS = ("paperless_token", "openai_api_key")

    paperless_url = models.URLField(
        "Paperless URL", max_length=500, blank=True, help_text="Overridden by PAPERLESS_URL."
    )
    paperless_token_encrypted = models.TextField(blank=True, editable=False)
    paperless_token_url = models.CharField(
        max_length=500,
        blank=True,
        editable=False,
        help_text="The URL the stored token was saved with: it is never sent anywhere else.",
    )
    openai_api_key_encrypted = models.TextField(blank=True, editable=False)
    paperless_requests_per_second = models.FloatField(
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Limit requests to Paperless per second (0 = no limit) to protect a small box.",
    )
    paperless_timeout_seconds = models.FloatField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(300)]
    )
    paperless_file_workers = models.PositiveIntegerField(
        "Thumbnails fetched at once",
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(16)],
        help_text="A first sync fetches a thumbnail per document: more at once is faster on a "
        "strong Paperless, 1 is gentlest on a small one.",
    )
    duplicate_threshold = models.FloatField(
        default=default_threshold,
        validators=[MinValueValidator(0.3), MaxValueValidator(1.0)],
        help_text="Pairs scoring at or above this confidence are duplicates.",
    )
    factor_weights = models.JSONField(
        default=default_factor_weights, validators=[validate_factor_weights]
    )
    groups_per_page = models.PositiveIntegerField(
        default=50, validators=[MinValueValidator(10), MaxValueValidator(500)]
    )
    dry_run = models.BooleanField(
        default=True, help_text="Deleting only adds the dry-run tag; nothing is removed."
    )
    dry_run_tag_name = models.CharField(max_length=128, default="dedupe:would-delete")
    dry_run_tag_id = models.PositiveIntegerField(null=True, blank=True)
    sync_interval_minutes = models.PositiveIntegerField(
        default=60,
        validators=[validate_sync_interval],
        help_text="Sync from Paperless every N minutes (0 = only when asked).",
    )
    thumbnail_cache_mb = models.PositiveIntegerField(
        default=512, validators=[MinValueValidator(16), MaxValueValidator(100_000)]
    )

    # --- AI review (ai_review/): any OpenAI-compatible endpoint, within a budget --------------
    ai_base_url = models.URLField(
        "AI base URL",
        max_length=500,
        blank=True,
        help_text="Empty for OpenAI; e.g. http://localhost:11434/v1 for Ollama. Overridden by "
        "OPENAI_BASE_URL.",
    )
    openai_api_key_url = models.CharField(
        max_length=500,
        blank=True,
        editable=False,
        help_text="The base URL the stored key was entered for: it is only ever sent there.",
    )
    ai_model = models.CharField(
        "Model",
        max_length=200,
        default="gpt-4o-mini",
        help_text="The model name the endpoint knows.",
    )
    ai_timeout_seconds = models.FloatField(
        "AI timeout (seconds)",
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(600)],
        help_text="How long one answer may take (a local model on a CPU needs minutes).",
    )
    ai_max_input_tokens = models.PositiveIntegerField(
        "Most text tokens per document",
        default=3000,
        validators=[MinValueValidator(200), MaxValueValidator(200_000)],
        help_text="Longer texts are cut: their start, end and the lines with dates and amounts.",
    )
    ai_max_output_tokens = models.PositiveIntegerField(
        "Most answer tokens per document",
        default=1000,
        validators=[MinValueValidator(100), MaxValueValidator(32_000)],
    )
    ai_temperature = models.FloatField(
        "Temperature", default=0.0, validators=[MinValueValidator(0), MaxValueValidator(2)]
    )
    ai_requests_per_minute = models.PositiveIntegerField(
        "AI requests per minute",
        default=60,
        validators=[MaxValueValidator(10_000)],
        help_text="Requests are spaced to stay under this (0 = no limit).",
    )
    ai_max_retries = models.PositiveSmallIntegerField(
        "AI retries",
        default=3,
        validators=[MaxValueValidator(10)],
        help_text="Retries of a request after a timeout, 429 (honouring Retry-After) or 5xx.",
    )
    ai_max_tags = models.PositiveSmallIntegerField(
        "Most tags suggested", default=5, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    ai_protected_tag_ids = models.JSONField(
        "Protected tags",
        default=list,
        blank=True,
        validators=[validate_tag_id_list],
        help_text="Documents with any of these tags are never sent to the AI.",
    )
    ai_monthly_budget = models.DecimalField(
        "Monthly AI budget (USD)",
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        default=5,
        validators=[MinValueValidator(0)],
        help_text="A run stops cleanly before it would spend more this month (empty = no limit).",
    )
    ai_run_document_limit = models.PositiveIntegerField(
        "Most documents per AI run",
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    ai_price_table = models.JSONField(
        "AI prices",
        default=default_ai_price_table,
        blank=True,
        validators=[validate_ai_price_table],
        help_text="USD per million input and output tokens, per model.",
    )
    ai_accept_threshold = models.FloatField(
        "Accept-all confidence",
        default=0.8,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="What 'accept all above' on the review page starts with.",
    )
    ai_review_new_documents = models.BooleanField(
        "AI review of new documents",
        default=False,
        help_text="Send each new document arriving by webhook for AI suggestions.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ConfigurationManager()

    class Meta:
        verbose_name = "configuration"
        verbose_name_plural = "configuration"

    def __str__(self) -> str:
        return "Configuration"

    # --- secrets ------------------------------------------------------------------------------
    def set_secret(self, name: str, value: str) -> None:
        if name not in self.SECRET_FIELDS:
            raise ValueError(f"{name} is not a secret field")
        value = value.strip()
        register_secret(value)
        setattr(self, f"{name}_encrypted", crypto.encrypt(value) if value else "")
        if name == "openai_api_key":
            # A key is only ever sent to the endpoint it was entered for.
            self.openai_api_key_url = self.ai_endpoint() if value else ""

    def ai_endpoint(self) -> str:
        """The AI base URL in use: OPENAI_BASE_URL, else the setting, else OpenAI's."""
        url = settings.OPENAI_BASE_URL or self.ai_base_url or OPENAI_DEFAULT_BASE_URL
        return url.strip().rstrip("/")

    def get_secret(self, name: str) -> str:
        if name not in self.SECRET_FIELDS:
            raise ValueError(f"{name} is not a secret field")
        stored = getattr(self, f"{name}_encrypted")
        if not stored:
            return ""
        value = crypto.decrypt(stored)
        register_secret(value)
        return value

    def secret_hint(self, name: str) -> str:
        """What the UI and API show of a stored secret."""
        try:
            return crypto.masked(self.get_secret(name))
        except crypto.SecretUnreadable:
            return "unreadable: enter it again"

    # --- editing ------------------------------------------------------------------------------
    @classmethod
    def editable_field_names(cls) -> list[str]:
        return [
            f.name
            for f in cls._meta.get_fields()
            if getattr(f, "editable", False)
            and not f.auto_created
            and f.name not in {"id", "updated_at", "updated_by"}
        ]

    def apply(self, changes: dict[str, Any], *, user: Any = None, save: bool = True) -> None:
        """Apply ``changes`` (field name to value; secrets by their plain names), validate the
        whole configuration and save it. Raises ``ValidationError`` with per-field messages and
        leaves the stored row untouched when anything is wrong."""
        allowed = set(self.editable_field_names()) | set(self.SECRET_FIELDS)
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise ValidationError({name: "Unknown setting." for name in unknown})
        self._bind_token_to_url(changes)
        for name, value in changes.items():
            if name not in self.SECRET_FIELDS:
                setattr(self, name, value)
        for name, value in changes.items():  # after the URLs, which a key is bound to
            if name in self.SECRET_FIELDS and value is not None:
                self.set_secret(name, str(value))
        try:
            self.full_clean()
        except ValidationError:
            if self.pk:
                self.refresh_from_db()
            raise
        if save:
            self.updated_by = user if getattr(user, "is_authenticated", False) else None
            self.save()

    def _bind_token_to_url(self, changes: dict[str, Any]) -> None:
        """A stored Paperless token is only ever sent to the URL it was saved with: a token
        entered now is bound to the URL it comes with (or the current one), and a new URL
        without its token is refused, so nobody can point the stored token at another host."""
        url = changes.get("paperless_url", self.paperless_url)
        url = url if isinstance(url, str) else self.paperless_url
        token = changes.get("paperless_token")
        if token:
            self.paperless_token_url = normalise_url(url)
            return
        if token == "":
            self.paperless_token_url = ""
            return
        url_changed = normalise_url(url) != normalise_url(self.paperless_url)
        if url_changed and self.paperless_token_encrypted:
            raise ValidationError(
                {
                    "paperless_token": "A new Paperless URL needs its API token entered again: "
                    "the stored token is only ever sent to the URL it was saved with."
                }
            )

    def paperless_token_for(self, url: str) -> str:
        """The stored token if it was saved for ``url``, else "" (never sent elsewhere)."""
        if not self.paperless_token_url or normalise_url(url) != self.paperless_token_url:
            return ""
        return self.get_secret("paperless_token")

    def reset(self, *, user: Any = None) -> None:
        """Back to defaults; stored secrets are kept (they are credentials, not tunables)."""
        for field in self._meta.get_fields():
            if field.name in self.editable_field_names():
                setattr(self, field.name, field.get_default())
        self.updated_by = user if getattr(user, "is_authenticated", False) else None
        self.save()

    def clean_fields(self, exclude: Any = None) -> None:
        """Django's field checks, then what they let through: non-finite numbers (``NaN`` passes
        every range check), NUL characters (PostgreSQL cannot store them), and a Paperless URL
        the connection guard refuses (stored normalised, as the client will use it)."""
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors: dict[str, Any] = exc.update_error_dict({})
        else:
            errors = {}
        for field in self._meta.concrete_fields:
            value = getattr(self, field.attname)
            if field.name in errors:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                errors[field.name] = ["Enter a finite number."]
            elif isinstance(value, str) and "\x00" in value:
                errors[field.name] = ["Text may not contain NUL characters."]
        if "paperless_url" not in errors and self.paperless_url:
            from documents.paperless import InvalidURL, validate_base_url

            try:
                self.paperless_url = validate_base_url(self.paperless_url)
            except InvalidURL as exc:
                errors["paperless_url"] = [str(exc)]
        if errors:
            raise ValidationError(errors)

    def clean(self) -> None:
        """The dry-run tag must be a tag we know from Paperless; its name follows the tag."""
        if self.dry_run_tag_id is not None:
            from documents.models import Tag

            tag = Tag.objects.filter(paperless_id=self.dry_run_tag_id).first()
            if tag is None:
                raise ValidationError(
                    {"dry_run_tag_id": "No such tag in Paperless (sync first, or create it)."}
                )
            self.dry_run_tag_name = tag.name

    def scoring_config(self) -> ScoringConfig:
        """The engine's scoring configuration from the stored threshold, weights and switches."""
        weights = self.factor_weights
        return ScoringConfig(
            weights={name: float(entry["weight"]) for name, entry in weights.items()},
            enabled=frozenset(name for name, entry in weights.items() if entry["enabled"]),
            threshold=self.duplicate_threshold,
        )

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.editable_field_names()}
        for name in self.SECRET_FIELDS:
            data[f"{name}_set"] = bool(getattr(self, f"{name}_encrypted"))
            data[f"{name}_hint"] = self.secret_hint(name)
        data["openai_api_key_url"] = self.openai_api_key_url
        data["updated_at"] = self.updated_at
        return data

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {
            f.name: f.get_default()
            for f in cls._meta.get_fields()
            if f.name in cls.editable_field_names()
        }


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def authenticate(self, raw: str) -> ApiToken | None:
        token = (
            self.select_related("user")
            .filter(digest=ApiToken.digest_of(raw), user__is_active=True)
            .first()
        )
        if token is not None:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token


class ApiToken(models.Model):
    """A per-user token for the JSON API (``Authorization: Bearer <token>``).

    Only a SHA-256 digest is stored; the token itself is shown once, when it is created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user: Any, name: str) -> tuple[ApiToken, str]:
        raw = "pdd_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=raw[:8], digest=cls.digest_of(raw))
        return token, raw


class Access(models.Model):
    """No table: the holder of the project's permissions, which the role groups are made of
    (``dedupe_project/access.py`` says which route needs which, and which role has which)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_library", "Read documents, groups, plans, jobs and the audit log"),
            ("review_groups", "Decide duplicate groups"),
            ("make_plans", "Make plans"),
            ("confirm_plans", "Confirm plans"),
            ("undo_dry_runs", "Undo dry runs"),
            ("run_jobs", "Start, resume, cancel and interrupt jobs"),
            ("change_settings", "Change the settings"),
            ("manage_connection", "Set and test the Paperless connection"),
            ("manage_api_tokens", "Issue and revoke API tokens"),
            ("manage_users", "Manage accounts and roles"),
        ]

    def __str__(self) -> str:
        return "Access"
