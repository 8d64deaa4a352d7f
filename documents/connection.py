"""Where the Paperless connection comes from, and the one way to get a client for it.

The environment (``PAPERLESS_URL``, ``PAPERLESS_API_TOKEN``, as Paperless itself names them) wins
over what was entered on the settings page, so an operator's Compose file is never silently
overridden from the UI.

A token is only ever sent to the URL it belongs to: a token entered on the connection page (or
``PATCH /api/config``) to the URL it was saved with, a token from the environment to the URL from
the environment. A token without its URL is not used (``token_withheld`` says why), so nobody
can point the stored token at a host of their choosing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from documents.paperless import ConnectionInfo, PaperlessClient

PROBE_TIMEOUT = 10.0


class ConnectionNotConfigured(Exception):
    def __init__(self) -> None:
        super().__init__(
            "No Paperless connection is configured: enter its URL and API token on the "
            "connection page, or set PAPERLESS_URL and PAPERLESS_API_TOKEN."
        )


@dataclass(frozen=True)
class ConnectionSettings:
    url: str
    token: str
    url_from_env: bool
    token_from_env: bool
    timeout: float
    requests_per_second: float
    token_withheld: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.url and self.token)


def connection_settings() -> ConnectionSettings:
    from dedupe_project.models import Configuration

    config = Configuration.objects.get_solo()
    url_from_env = bool(settings.PAPERLESS_URL)
    url = settings.PAPERLESS_URL or config.paperless_url
    withheld = ""
    if settings.PAPERLESS_API_TOKEN:
        token, token_from_env = settings.PAPERLESS_API_TOKEN, True
        if not url_from_env:
            token, withheld = (
                "",
                (
                    "PAPERLESS_API_TOKEN is set without PAPERLESS_URL: set both, as the token is "
                    "only sent to the URL named with it."
                ),
            )
    else:
        token, token_from_env = config.paperless_token_for(url), False
        if not token and config.paperless_token_encrypted and url:
            withheld = (
                f"The stored token was saved for {config.paperless_token_url or 'another URL'}, "
                f"not {url}: enter the token again for this URL."
            )
    return ConnectionSettings(
        url=url,
        token=token,
        url_from_env=url_from_env,
        token_from_env=token_from_env,
        timeout=config.paperless_timeout_seconds,
        requests_per_second=config.paperless_requests_per_second,
        token_withheld=withheld,
    )


def make_client(
    *,
    url: str,
    token: str,
    timeout: float | None = None,
    requests_per_second: float = 0,
    max_retries: int = 4,
) -> PaperlessClient:
    return PaperlessClient(
        base_url=url,
        token=token,
        timeout=timeout or settings.PAPERLESS_TIMEOUT,
        requests_per_second=requests_per_second or None,
        verify_tls=settings.PAPERLESS_VERIFY_TLS,
        max_retries=max_retries,
    )


def get_client() -> PaperlessClient:
    """A client for the configured Paperless. Raises ``ConnectionNotConfigured``."""
    conn = connection_settings()
    if not conn.configured:
        raise ConnectionNotConfigured()
    return make_client(
        url=conn.url,
        token=conn.token,
        timeout=conn.timeout,
        requests_per_second=conn.requests_per_second,
    )


def probe_connection(*, url: str | None = None, token: str | None = None) -> ConnectionInfo:
    """Ask Paperless who it is (version, API version, document count). Raises ``PaperlessError``
    subclasses with a message a person understands, or ``ConnectionNotConfigured``."""
    if url is None or token is None:
        conn = connection_settings()
        if not conn.configured:
            raise ConnectionNotConfigured()
        url, token = conn.url, conn.token
    # A person is waiting for the answer: one retry at most, and a short timeout.
    with make_client(url=url, token=token, timeout=PROBE_TIMEOUT, max_retries=1) as client:
        return client.connection_info()


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of testing a connection, as the connection page and the API show it."""

    ok: bool
    code: str
    detail: str
    paperless_version: str | None = None
    api_version: int | None = None
    document_count: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "code": self.code,
            "detail": self.detail,
            "paperless_version": self.paperless_version,
            "api_version": self.api_version,
            "document_count": self.document_count,
        }


def _error_code(exc: Exception) -> str:
    from documents import paperless as p

    codes: dict[type[Exception], str] = {
        p.InvalidURL: "invalid_url",
        p.TLSError: "tls_error",
        p.RequestTimeout: "timeout",
        p.Unreachable: "unreachable",
        p.AuthenticationError: "bad_token",
        p.PermissionDenied: "permission_denied",
        p.NotPaperless: "not_paperless",
        p.UnsupportedVersion: "unsupported_version",
        p.RateLimited: "rate_limited",
        p.ServerError: "server_error",
        p.InvalidResponse: "invalid_response",
    }
    for cls in type(exc).__mro__:
        if cls in codes:
            return codes[cls]
    return "paperless_error"


def check_connection(*, url: str | None = None, token: str | None = None) -> ConnectionCheck:
    """Test a URL and token (or the configured ones) and never raise: every failure becomes a
    message a person understands (unreachable, not Paperless, bad token, TLS, ...)."""
    from documents.paperless import PaperlessError

    try:
        info = probe_connection(url=url, token=token)
    except ConnectionNotConfigured as exc:
        return ConnectionCheck(ok=False, code="not_configured", detail=str(exc))
    except PaperlessError as exc:
        return ConnectionCheck(ok=False, code=_error_code(exc), detail=str(exc))
    return ConnectionCheck(
        ok=True,
        code="ok",
        detail=f"Connected to Paperless-NGX {info.paperless_version}.",
        paperless_version=info.paperless_version,
        api_version=info.api_version,
        document_count=info.document_count,
    )
