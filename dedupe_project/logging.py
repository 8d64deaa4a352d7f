"""Structured logging (structlog over the standard library) with secrets masked.

Every record, ours or a library's, goes through one ``ProcessorFormatter``: JSON lines in
production, readable console lines otherwise. The last processor masks secrets in every string
value: the values registered with :func:`register_secret` (the Paperless token, the OpenAI key, as
soon as they are loaded) and anything that looks like a credential (``Authorization`` headers,
``Token ...``, ``sk-...`` keys, ``token=``/``password=``/``api_key=`` pairs).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import structlog

MASK = "***"
_MIN_SECRET_LENGTH = 6

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secrets_pattern: re.Pattern[str] | None = None

_CREDENTIAL_PATTERNS = [
    # Authorization: Token abc / Bearer abc / Basic abc
    re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(?:token|bearer|basic)?\s*[^\s\"',}]+"),
    re.compile(r"(?i)\b(token|bearer)\s+([A-Za-z0-9._~+/=-]{8,})"),
    re.compile(
        r"(?i)([\"']?(?:api[_-]?key|api[_-]?token|token|password|passwd|secret|secret[_-]?key)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    ),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
]


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a log record from now on."""
    global _secrets_pattern
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secrets_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def mask_text(text: str) -> str:
    """Return ``text`` with registered secrets and credential-looking values replaced."""
    pattern = _secrets_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for credential in _CREDENTIAL_PATTERNS:
        if credential.groups >= 1:
            text = credential.sub(lambda m: f"{m.group(1)}{MASK}", text)
        else:
            text = credential.sub(MASK, text)
    return text


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask_value(v) for v in value)
    return value


def mask_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask secrets in every value of the event."""
    return {key: _mask_value(value) for key, value in event_dict.items()}


_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
]


def build_logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """The ``LOGGING`` dict for Django: one handler, structlog's formatter, secrets masked."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    configure_structlog()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _SHARED_PROCESSORS,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    mask_secrets,
                    renderer,
                ],
            }
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structured"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"level": level},
            "httpx": {"level": "WARNING"},
            "httpx2": {"level": "WARNING"},
            "openai": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            "daphne": {"level": "INFO"},
            "dramatiq": {"level": "INFO"},
            "apscheduler": {"level": "WARNING"},
            # one line per lockout (warning) is enough; its info lines come with every log-in
            "axes": {"level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
