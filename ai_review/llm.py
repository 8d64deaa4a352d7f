"""The one module that talks to an OpenAI-compatible endpoint (OpenAI, Ollama, LM Studio, vLLM,
LiteLLM), through the ``openai`` package.

* The key is the stored one (encrypted, like the Paperless token) or ``OPENAI_API_KEY``, and it is
  only ever sent to the base URL it was entered for (``OPENAI_BASE_URL`` for the environment's).
  An endpoint without a usable key gets a placeholder: local servers need none.
* Retries are the SDK's own (``max_retries``): exponential backoff with jitter on timeouts,
  connection errors, 408/409/429 and 5xx, honouring ``Retry-After`` (and ``retry-after-ms``). No
  second retry layer on top.
* Every HTTP attempt, retries included, first takes a slot from a requests-per-minute limiter
  (pyrate-limiter, as the Paperless client uses), shared by the runs of one process.
* Failures become :class:`AiNotConfigured` (fix the settings), :class:`AiUnavailable` (the run
  stops, resumable: endpoint unreachable, key refused, unknown model, still throttled) or
  :class:`AiCallFailed` (this document failed; ``transient`` after timeouts and 5xx). Their
  messages never contain the key.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import openai
from django.conf import settings
from pyrate_limiter import Limiter, Rate

from dedupe_project.logging import mask_text, register_secret

logger = logging.getLogger(__name__)

PLACEHOLDER_KEY = "no-key"
MAX_ERROR_CHARS = 400


class AiNotConfigured(Exception):
    """The AI connection cannot be used as configured; the message says what to fix."""


class AiUnavailable(Exception):
    """The endpoint cannot be used right now (or at all): the run stops and can be resumed."""


class AiCallFailed(Exception):
    """One request failed; ``transient`` when a later attempt may well succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class AiSettings:
    endpoint: str
    model: str
    timeout: float
    max_input_tokens: int
    max_output_tokens: int
    temperature: float
    requests_per_minute: int
    max_retries: int
    max_tags: int
    key: str
    key_note: str
    """Why no key is sent, when none is (shown on the settings page)."""

    @property
    def is_openai(self) -> bool:
        from dedupe_project.models import OPENAI_DEFAULT_BASE_URL

        return self.endpoint == OPENAI_DEFAULT_BASE_URL

    @property
    def host(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.endpoint).netloc or self.endpoint


def _key_for(endpoint: str, config: Any) -> tuple[str, str]:
    """The key that may be sent to ``endpoint``, and a note when there is none."""
    from dedupe_project.models import OPENAI_DEFAULT_BASE_URL

    env_key = settings.OPENAI_API_KEY
    if env_key:
        env_endpoint = (settings.OPENAI_BASE_URL or OPENAI_DEFAULT_BASE_URL).rstrip("/")
        if env_endpoint == endpoint:
            register_secret(env_key)
            return env_key, ""
    if config.openai_api_key_encrypted:
        if config.openai_api_key_url.rstrip("/") == endpoint:
            return config.get_secret("openai_api_key"), ""
        return "", (
            f"The stored key was entered for {config.openai_api_key_url or 'another endpoint'}; "
            f"it is not sent to {endpoint}. Enter it again to use it there."
        )
    return "", "No key is stored."


def ai_settings() -> AiSettings:
    from dedupe_project.models import Configuration

    config = Configuration.objects.get_solo()
    endpoint = config.ai_endpoint()
    key, note = _key_for(endpoint, config)
    return AiSettings(
        endpoint=endpoint,
        model=config.ai_model.strip(),
        timeout=config.ai_timeout_seconds,
        max_input_tokens=config.ai_max_input_tokens,
        max_output_tokens=config.ai_max_output_tokens,
        temperature=config.ai_temperature,
        requests_per_minute=config.ai_requests_per_minute,
        max_retries=config.ai_max_retries,
        max_tags=config.ai_max_tags,
        key=key,
        key_note=note,
    )


def check_usable(ai: AiSettings) -> None:
    """Raise :class:`AiNotConfigured` when a run cannot start with these settings."""
    if not ai.model:
        raise AiNotConfigured("Choose the model in AI settings.")
    if ai.is_openai and not ai.key:
        raise AiNotConfigured(
            "OpenAI needs an API key: enter it in AI settings (or set OPENAI_API_KEY), or "
            f"point the base URL at a local server such as Ollama. {ai.key_note}".strip()
        )


# --- requests per minute ---------------------------------------------------------------------

_limiters: dict[int, Limiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(requests_per_minute: int) -> Limiter | None:
    """One limiter per rate in this process: requests are spaced ``60 / rpm`` seconds apart."""
    if requests_per_minute <= 0:
        return None
    with _limiters_lock:
        limiter = _limiters.get(requests_per_minute)
        if limiter is None:
            interval_ms = max(1, round(60_000 / requests_per_minute))
            limiter = Limiter(Rate(1, interval_ms))
            _limiters[requests_per_minute] = limiter
        return limiter


class _PacedHttpClient(openai.DefaultHttpxClient):
    """The SDK's HTTP client; each attempt (the SDK's retries too) first waits for the limiter."""

    def __init__(self, *, limiter: Limiter | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._limiter = limiter

    def send(self, request: Any, **kwargs: Any) -> Any:
        if self._limiter is not None:
            self._limiter.try_acquire("ai", blocking=True)  # waits for its turn
        return super().send(request, **kwargs)


# --- the client ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    content: str | None
    refusal: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    usage_reported: bool


class AiClient:
    """A client for one run: ``complete()`` one document, ``list_models()`` for the test."""

    def __init__(self, ai: AiSettings) -> None:
        self.ai = ai
        self._limit_parameter = "max_tokens"
        self._client = openai.OpenAI(
            api_key=ai.key or PLACEHOLDER_KEY,
            base_url=ai.endpoint,
            timeout=ai.timeout,
            max_retries=ai.max_retries,
            http_client=_PacedHttpClient(
                limiter=limiter_for(ai.requests_per_minute), timeout=ai.timeout
            ),
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _masked(self, text: str) -> str:
        if self.ai.key:
            text = text.replace(self.ai.key, "***")
        return mask_text(text)[:MAX_ERROR_CHARS]

    def _error(self, exc: Exception) -> Exception:
        """The SDK's exception (after its retries) as one of ours."""
        attempts = self.ai.max_retries + 1
        detail = self._masked(getattr(exc, "message", None) or str(exc))
        if isinstance(exc, openai.APITimeoutError):
            return AiCallFailed(
                f"No answer within {self.ai.timeout:g} s ({attempts} attempts).", transient=True
            )
        if isinstance(exc, openai.APIConnectionError):
            return AiUnavailable(
                f"Cannot reach the AI endpoint {self.ai.endpoint} ({attempts} attempts): {detail}"
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            note = f" {self.ai.key_note}" if self.ai.key_note else ""
            return AiUnavailable(
                f"The AI endpoint refused the key (HTTP {exc.status_code}): {detail}.{note}"
            )
        if isinstance(exc, openai.NotFoundError):
            return AiUnavailable(
                f"The AI endpoint does not know the model '{self.ai.model}', or the base URL is "
                f"wrong (HTTP 404): {detail}"
            )
        if isinstance(exc, openai.RateLimitError):
            return AiUnavailable(
                f"The AI endpoint still refuses with 429 after {attempts} attempts (rate limit or "
                f"quota): {detail}. Resume the run later."
            )
        if isinstance(exc, openai.APIStatusError):
            transient = exc.status_code >= 500 or exc.status_code in (408, 409)
            return AiCallFailed(f"HTTP {exc.status_code}: {detail}", transient=transient)
        return AiCallFailed(
            f"The AI endpoint's answer could not be read: {detail}", transient=False
        )

    def complete(
        self, *, messages: list[dict[str, str]], response_format: dict[str, Any]
    ) -> Completion:
        """One chat completion with structured output. Raises our exceptions, never the SDK's."""
        options: dict[str, Any] = {
            "model": self.ai.model,
            "messages": messages,
            "response_format": response_format,
            "temperature": self.ai.temperature,
            self._limit_parameter: self.ai.max_output_tokens,
        }
        try:
            try:
                response = self._client.chat.completions.create(**options)
            except openai.BadRequestError as exc:
                # Newer OpenAI models refuse max_tokens and want max_completion_tokens.
                if self._limit_parameter == "max_tokens" and "max_completion_tokens" in str(exc):
                    self._limit_parameter = "max_completion_tokens"
                    options["max_completion_tokens"] = options.pop("max_tokens")
                    response = self._client.chat.completions.create(**options)
                else:
                    raise
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise AiCallFailed("The AI endpoint answered without a choice.", transient=False)
        choice = choices[0]
        message = choice.message
        usage = getattr(response, "usage", None)
        return Completion(
            content=getattr(message, "content", None),
            refusal=getattr(message, "refusal", None),
            finish_reason=getattr(choice, "finish_reason", None),
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            usage_reported=usage is not None,
        )

    def list_models(self) -> list[str]:
        try:
            return sorted(model.id for model in self._client.models.list())
        except openai.OpenAIError as exc:
            raise self._error(exc) from None


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    detail: str


def test_connection() -> ConnectionTest:
    """List the endpoint's models (free) and say whether the configured one is there."""
    ai = ai_settings()
    try:
        check_usable(ai)
        with AiClient(ai) as client:
            models = client.list_models()
    except (AiNotConfigured, AiUnavailable, AiCallFailed) as exc:
        return ConnectionTest(ok=False, detail=str(exc))
    if ai.model in models:
        return ConnectionTest(
            ok=True, detail=f"Connected to {ai.host}: model '{ai.model}' is available."
        )
    listed = ", ".join(models[:10]) + (" …" if len(models) > 10 else "")
    return ConnectionTest(
        ok=False,
        detail=f"Connected to {ai.host}, but it does not list '{ai.model}' "
        f"({len(models)} models: {listed or 'none'}).",
    )


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
