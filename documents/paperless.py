"""The one module that talks to Paperless-NGX.

Everything that reads from or writes to a Paperless server goes through :class:`PaperlessClient`.
It knows the server's real behaviour (``../shared/paperless-api/FACTS.md``):

* token auth (``Authorization: Token ...``) over one ``httpx.Client`` with connection reuse;
* the API version is negotiated: the first call reads the server's ``X-Api-Version`` and from then
  on every request asks for ``min(server, MAX_API_VERSION)`` with ``Accept: application/json;
  version=N``; a 406 makes the client step down one version and resend;
* timeouts, and retries with exponential backoff and jitter (tenacity) on connection errors, 5xx
  and 429 (``Retry-After`` honoured, capped) for idempotent calls only (GET, HEAD, PUT, DELETE).
  A POST is resent only when it provably never reached the server (connect failure, 429, 406);
* an optional requests-per-second limit (pyrate-limiter), shared by all threads using the client;
* failures become :class:`PaperlessError` subclasses whose message a person can act on;
* a URL guard (:func:`validate_base_url`): http/https only, no credentials in the URL, no
  link-local or cloud-metadata addresses. Private LAN addresses and localhost are allowed.

Documents are returned as dicts shaped like Paperless's JSON, with ``created`` / ``created_date``
parsed to :class:`datetime.date` and ``added`` / ``modified`` / ``deleted_at`` (and the ``added``
of versions, the ``created`` of notes) parsed to aware :class:`datetime.datetime`.

No Django import here: configuration comes in through the constructor, so the module can be used
and tested on its own.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pyrate_limiter import Limiter, Rate
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

logger = logging.getLogger(__name__)

MIN_API_VERSION = 9
"""Oldest API we speak: ``created`` became a date in API 9 (Paperless-ngx 2.x)."""
MAX_API_VERSION = 10
"""Newest API we know (Paperless-ngx 3.0)."""
DEFAULT_PAGE_SIZE = 1000
"""Pages of about 1000 documents are the fastest overall on a real server."""
DEFAULT_CHUNK_SIZE = 500
"""Ids per bulk request; a SQLite-backed Paperless answers HTML 500 to very long id lists."""
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
DEFAULT_USER_AGENT = "paperless-dedupe/0.1 (+https://github.com/paperless-dedupe)"

BLOCKED_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
BLOCKED_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean instance metadata
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud metadata
        "fd00:ec2::254",  # AWS metadata over IPv6
    )
)


# --- errors --------------------------------------------------------------------------------------


class PaperlessError(Exception):
    """Something went wrong talking to Paperless; ``str(error)`` is meant for a person."""

    def __init__(self, message: str, *, status_code: int | None = None, url: str | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.url = url


class InvalidURL(PaperlessError):
    """The configured Paperless URL is not one we will connect to."""


class Unreachable(PaperlessError):
    """No connection to Paperless (refused, DNS failure, dropped connection)."""


class RequestTimeout(Unreachable):
    """Paperless did not answer in time."""


class TLSError(Unreachable):
    """The HTTPS connection failed: untrusted certificate, wrong host name, or not HTTPS."""


class AuthenticationError(PaperlessError):
    """Paperless refused the API token."""


class PermissionDenied(PaperlessError):
    """The token's user may not do this."""


class NotFound(PaperlessError):
    """The document or object does not exist (or is in the trash)."""


class NotPaperless(PaperlessError):
    """The URL answers, but not like a Paperless-NGX server."""


class InvalidResponse(PaperlessError):
    """Paperless answered with something we cannot read (e.g. broken JSON)."""


class BadRequest(PaperlessError):
    """Paperless rejected the request as invalid; ``errors`` holds its JSON explanation."""

    def __init__(self, message: str, *, errors: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors


class AlreadyExists(BadRequest):
    """An object with that name exists already."""


class ServerError(PaperlessError):
    """Paperless failed with a 5xx answer."""


class RateLimited(PaperlessError):
    """Paperless (or a proxy) answered 429; ``retry_after`` is in seconds when it said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class UnsupportedVersion(PaperlessError):
    """The server's API version is one we cannot speak."""


class BulkEditFailed(PaperlessError):
    """A chunked bulk request failed part-way; ``applied`` ids were changed, ``pending`` not."""

    def __init__(
        self, message: str, *, applied: list[int], pending: list[int], **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.applied = applied
        self.pending = pending


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What the "test connection" page shows."""

    url: str
    paperless_version: str | None
    api_version: int
    server_api_version: int
    document_count: int


@dataclass(frozen=True, slots=True)
class DocumentPage:
    """One page of the document listing.

    ``documents`` holds only documents with an id above every id yielded before (so a page that
    had to be re-read after a shift yields no document twice); ``last_id`` is the highest id seen
    so far: store ``number`` and ``last_id`` as a checkpoint and pass them back as ``start_page``
    and ``after_id`` to resume. ``count`` is the server's total for the query at this page.
    """

    number: int
    count: int
    documents: list[dict[str, Any]]
    last_id: int | None
    has_next: bool


@dataclass(frozen=True, slots=True)
class FileContent:
    """A downloaded file, thumbnail or preview. ``not_modified`` when the ETag still matched."""

    content: bytes
    content_type: str | None
    etag: str | None
    filename: str | None = None
    not_modified: bool = False


# --- URL guard -----------------------------------------------------------------------------------


def _blocked_address_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in BLOCKED_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address.is_multicast:
        return "not a host address"
    return None


def validate_base_url(url: str) -> str:
    """Check a Paperless URL and return it normalised (no trailing slash, no ``/api`` suffix).

    Raises :class:`InvalidURL` for anything but http/https, credentials in the URL, a query or
    fragment, and link-local or cloud-metadata hosts. LAN addresses and localhost are fine: that
    is where Paperless usually lives.
    """
    text = (url or "").strip()
    if not text:
        raise InvalidURL("The Paperless URL is empty. Set it to e.g. http://paperless.lan:8000.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise InvalidURL(f"The Paperless URL {text!r} is not a valid URL ({error}).") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidURL(
            "The Paperless URL must start with http:// or https:// "
            f"(got {parts.scheme or 'none'!r})."
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidURL(
            "The Paperless URL must not contain a user name or password; "
            "use an API token (PAPERLESS_API_TOKEN) instead."
        )
    if parts.query or parts.fragment:
        raise InvalidURL("The Paperless URL must not contain a query (?...) or fragment (#...).")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise InvalidURL(f"The Paperless URL {text!r} has no host name.")
    if host in BLOCKED_HOSTNAMES:
        raise InvalidURL(f"Refusing {host}: it is a cloud metadata service, not Paperless.")
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        address = None
    if address is not None and (reason := _blocked_address_reason(address)):
        raise InvalidURL(f"Refusing {host}: it is {reason}, not a Paperless server.")
    path = parts.path.rstrip("/")
    if path.endswith("/api") or path == "api":
        path = path[: -len("api")].rstrip("/")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    del port
    return urlunsplit((scheme, netloc, path, "", ""))


def check_resolved_host(url: str) -> None:
    """Resolve the URL's host and refuse it if any address is link-local or cloud metadata.

    Catches names and numeric tricks (``http://2852039166/``) that point at a metadata service.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise Unreachable(
            f"Cannot find the Paperless host {host!r} (DNS: {error.strerror}). Check the URL.",
            url=url,
        ) from error
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if reason := _blocked_address_reason(address):
            raise InvalidURL(f"Refusing {host}: it resolves to {address}, {reason}.", url=url)


# --- parsing -------------------------------------------------------------------------------------


def parse_datetime(value: str | None) -> datetime | None:
    """An aware datetime from Paperless's ISO 8601 text (naive values are taken as UTC)."""
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_date(value: str | None) -> date | None:
    """A date from ``YYYY-MM-DD``; a datetime (API < 9) gives the date in its own offset."""
    if value is None or value == "":
        return None
    if len(value) > 10:
        return datetime.fromisoformat(value).date()
    return date.fromisoformat(value)


def parse_document(raw: dict[str, Any]) -> dict[str, Any]:
    """Paperless's document JSON with dates and datetimes parsed (in place; also returned)."""
    for key in ("created", "created_date"):
        if isinstance(raw.get(key), str):
            raw[key] = parse_date(raw[key])
    for key in ("added", "modified", "deleted_at"):
        if isinstance(raw.get(key), str):
            raw[key] = parse_datetime(raw[key])
    for version in raw.get("versions") or ():
        if isinstance(version, dict) and isinstance(version.get("added"), str):
            version["added"] = parse_datetime(version["added"])
    for note in raw.get("notes") or ():
        if isinstance(note, dict) and isinstance(note.get("created"), str):
            note["created"] = parse_datetime(note["created"])
    for twin in raw.get("duplicate_documents") or ():
        if isinstance(twin, dict) and isinstance(twin.get("deleted_at"), str):
            twin["deleted_at"] = parse_datetime(twin["deleted_at"])
    return raw


def etag_value(etag: str) -> str:
    """An ETag's opaque value: ``W/"abc"`` and ``"abc"`` are ``abc`` (for a thumbnail, the original
    file's checksum)."""
    return etag.removeprefix("W/").strip('"')


def root_checksum(document: Mapping[str, Any]) -> str | None:
    """The original file's SHA-256: the ``versions`` entry with ``is_root`` (there is no top-level
    checksum field)."""
    for version in document.get("versions") or ():
        if version.get("is_root"):
            return version.get("checksum")
    return None


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("detail", "error"):
            if isinstance(body.get(key), str):
                return body[key]
        return "; ".join(f"{key}: {value}" for key, value in body.items())
    return str(body)


# --- the client ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Negotiated:
    api_version: int
    server_api_version: int
    paperless_version: str | None
    document_count: int


@dataclass(slots=True)
class _Options:
    timeout: float
    connect_timeout: float
    max_retries: int
    backoff_base: float
    backoff_max: float
    retry_after_cap: float


class PaperlessClient:
    """A Paperless-NGX REST client; one per Paperless server, safe to share between threads.

    Example::

        with PaperlessClient(base_url="http://paperless.lan:8000", token=token) as paperless:
            info = paperless.connection_info()
            for page in paperless.iter_document_pages(fields=["id", "title", "modified"]):
                save(page.documents)

    Arguments: ``timeout`` (seconds to wait for an answer), ``connect_timeout`` (defaults to
    ``min(timeout, 10)``), ``max_retries`` (extra attempts for retryable failures),
    ``backoff_base`` / ``backoff_max`` (exponential backoff with jitter, seconds),
    ``retry_after_cap`` (longest ``Retry-After`` honoured), ``requests_per_second`` (None: no
    limit), ``verify_tls`` (False, or a CA bundle path for a private CA), ``user_agent``,
    ``check_dns`` (refuse hosts resolving to link-local / metadata addresses), ``transport``
    (an httpx transport, for tests).
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float = 30.0,
        connect_timeout: float | None = None,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_cap: float = 60.0,
        requests_per_second: float | None = None,
        verify_tls: bool | str = True,
        user_agent: str = DEFAULT_USER_AGENT,
        check_dns: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        if not token or not token.strip():
            raise AuthenticationError("No Paperless API token is configured (PAPERLESS_API_TOKEN).")
        if requests_per_second is not None and requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive (or None for no limit)")
        self._options = _Options(
            timeout=timeout,
            connect_timeout=connect_timeout if connect_timeout is not None else min(timeout, 10.0),
            max_retries=max(0, max_retries),
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            retry_after_cap=retry_after_cap,
        )
        self._check_dns = check_dns
        self._dns_checked = False
        self._negotiated: _Negotiated | None = None
        self._lock = threading.Lock()
        self._limiter: Limiter | None = None
        if requests_per_second is not None:
            interval_ms = max(1, round(1000 / requests_per_second))
            self._limiter = Limiter(Rate(1, interval_ms))
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Token {token.strip()}", "User-Agent": user_agent},
            timeout=httpx.Timeout(timeout, connect=self._options.connect_timeout),
            verify=verify_tls,
            follow_redirects=False,
            transport=transport,
        )

    # --- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()
        if self._limiter is not None:
            self._limiter.close()  # stops its leak thread

    def __enter__(self) -> PaperlessClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PaperlessClient {self.base_url}>"

    # --- version negotiation ---------------------------------------------------------------------

    @property
    def api_version(self) -> int:
        """The API version we speak with this server (negotiated on first use)."""
        return self._ensure_negotiated().api_version

    def _ensure_negotiated(self) -> _Negotiated:
        negotiated = self._negotiated
        if negotiated is not None:
            return negotiated
        with self._lock:
            if self._negotiated is None:
                self._negotiated = self._negotiate()
            return self._negotiated

    def _negotiate(self) -> _Negotiated:
        """Ask without a version; the answer's ``X-Api-Version`` is the newest the server speaks."""
        if self._check_dns and not self._dns_checked:
            check_resolved_host(self.base_url)
            self._dns_checked = True
        response = self._send(
            "GET",
            "/api/documents/",
            params={"page_size": 1, "fields": "id"},
            headers={"Accept": "application/json"},
            retryable=True,
        )
        header = response.headers.get("X-Api-Version")
        body = self._json(response, path="/api/documents/")
        if not header:
            if isinstance(body, dict) and "results" in body and "count" in body:
                raise UnsupportedVersion(
                    "This Paperless does not report an API version: it is too old. "
                    "Upgrade to Paperless-ngx 2.x or newer.",
                    url=self.base_url,
                )
            raise self._not_paperless(response)
        try:
            server_version = int(header.strip())
        except ValueError as error:
            raise NotPaperless(
                f"{self.base_url} sent an X-Api-Version header we cannot read ({header!r}).",
                url=self.base_url,
            ) from error
        if server_version < MIN_API_VERSION:
            raise UnsupportedVersion(
                f"This Paperless speaks API version {server_version}; we need at least "
                f"{MIN_API_VERSION} (Paperless-ngx 2.x). Please upgrade Paperless.",
                url=self.base_url,
            )
        if not isinstance(body, dict) or not isinstance(body.get("count"), int):
            raise self._not_paperless(response)
        chosen = min(server_version, MAX_API_VERSION)
        logger.debug("Paperless API version %s (server up to %s)", chosen, server_version)
        return _Negotiated(
            api_version=chosen,
            server_api_version=server_version,
            paperless_version=response.headers.get("X-Version"),
            document_count=body["count"],
        )

    def _step_down(self, refused: int) -> bool:
        """After a 406 for ``refused``: speak one version lower. False when none is left."""
        with self._lock:
            negotiated = self._negotiated
            if negotiated is None or negotiated.api_version != refused:
                return True  # another thread already stepped down
            if refused - 1 < MIN_API_VERSION:
                return False
            logger.warning("Paperless refused API version %s; trying %s", refused, refused - 1)
            negotiated.api_version = refused - 1
            return True

    def connection_info(self) -> ConnectionInfo:
        """Check URL, token and version now (for the "test connection" page)."""
        with self._lock:
            self._negotiated = None
            self._dns_checked = False
        negotiated = self._ensure_negotiated()
        return ConnectionInfo(
            url=self.base_url,
            paperless_version=negotiated.paperless_version,
            api_version=negotiated.api_version,
            server_api_version=negotiated.server_api_version,
            document_count=negotiated.document_count,
        )

    # --- requests --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: Iterable[int] = (),
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """Send one API request with the negotiated version; raise a PaperlessError on failure.

        Idempotent methods are retried on connection errors, timeouts, 5xx and 429; other methods
        only when the request provably never reached Paperless. ``ok_statuses`` lists extra
        statuses (e.g. 304) returned instead of raised. ``data`` and ``files`` send a multipart
        form (uploads).
        """
        method = method.upper()
        for _ in range(MAX_API_VERSION - MIN_API_VERSION + 1):
            version = self._ensure_negotiated().api_version
            merged = {"Accept": f"application/json; version={version}", **(headers or {})}
            response = self._send(
                method,
                path,
                params=params,
                json=json,
                headers=merged,
                retryable=method in IDEMPOTENT_METHODS,
                ok_statuses=(*ok_statuses, 406),
                data=data,
                files=files,
            )
            if response.status_code != 406:
                return response
            if not self._step_down(version):
                break
        raise UnsupportedVersion(
            f"Paperless refuses every API version we speak ({MIN_API_VERSION} to "
            f"{MAX_API_VERSION}): {_detail(response) or 'HTTP 406'}",
            status_code=406,
            url=str(response.request.url),
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        retryable: bool,
        ok_statuses: Iterable[int] = (),
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        options = self._options
        allowed = frozenset(ok_statuses)

        def should_retry(error: BaseException) -> bool:
            if isinstance(error, RateLimited):
                return True  # throttled before the view ran: nothing happened on the server
            if isinstance(error, _NotSent):
                return True
            return (
                retryable
                and isinstance(error, Unreachable | ServerError)
                and not isinstance(error, TLSError)
            )

        backoff = wait_exponential(multiplier=options.backoff_base, max=options.backoff_max)
        backoff += wait_random(0, options.backoff_base)  # jitter: clients do not retry in step

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimited) and error.retry_after is not None:
                return min(error.retry_after, options.retry_after_cap)
            return backoff(state)

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            logger.warning(
                "Paperless %s %s failed (%s); retry %s of %s",
                method,
                path,
                error,
                state.attempt_number,
                options.max_retries,
            )

        retrying = Retrying(
            stop=stop_after_attempt(options.max_retries + 1),
            wait=wait,
            retry=retry_if_exception(should_retry),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send_once(
                        method,
                        path,
                        params=params,
                        json=json,
                        headers=headers,
                        allowed=allowed,
                        data=data,
                        files=files,
                    )
        except _NotSent as error:
            raise error.error from error.__cause__
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        allowed: frozenset[int],
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        if self._limiter is not None:
            self._limiter.try_acquire("paperless", blocking=True)  # waits for its turn
        url = f"{self.base_url}{path}"
        try:
            response = self._http.request(
                method, path, params=params, json=json, headers=headers, data=data, files=files
            )
        except httpx.ConnectTimeout as error:
            raise _NotSent(
                RequestTimeout(
                    f"Paperless at {self.base_url} did not accept a connection within "
                    f"{self._options.connect_timeout:g} s. Is the URL right and the server up?",
                    url=url,
                )
            ) from error
        except httpx.TimeoutException as error:
            raise RequestTimeout(
                f"Paperless did not answer {method} {path} within {self._options.timeout:g} s.",
                url=url,
            ) from error
        except httpx.ConnectError as error:
            if _is_tls_error(error):
                raise TLSError(
                    f"The secure (HTTPS) connection to {self.base_url} failed: {error}. "
                    "If Paperless uses a private certificate, give its CA bundle.",
                    url=url,
                ) from error
            raise _NotSent(
                Unreachable(
                    f"Cannot connect to Paperless at {self.base_url} ({error}). "
                    "Is the URL right and the server running?",
                    url=url,
                )
            ) from error
        except httpx.TransportError as error:
            raise Unreachable(
                f"The connection to Paperless broke during {method} {path} "
                f"({error or type(error).__name__}).",
                url=url,
            ) from error
        except httpx.InvalidURL as error:
            raise InvalidURL(f"Cannot request {url}: {error}", url=url) from error
        if response.is_success or response.status_code in allowed:
            return response
        raise self._error_for(response)

    def _error_for(self, response: httpx.Response) -> PaperlessError:
        status = response.status_code
        url = str(response.request.url)
        detail = _detail(response)
        is_json = "json" in response.headers.get("Content-Type", "")
        if status == 401:
            challenge = response.headers.get("WWW-Authenticate", "")
            if challenge and not challenge.lower().startswith("token"):
                return AuthenticationError(
                    f"{self.base_url} asks for a different login ({challenge.split()[0]}); is a "
                    "proxy in front of Paperless? The API token must reach Paperless itself.",
                    status_code=status,
                    url=url,
                )
            if "not provided" in detail:
                return AuthenticationError(
                    "Paperless did not receive the API token (a proxy may strip the "
                    "Authorization header).",
                    status_code=status,
                    url=url,
                )
            return AuthenticationError(
                "Paperless rejected the API token (bad token). Create a new one in Paperless "
                "under Profile > API Auth Token.",
                status_code=status,
                url=url,
            )
        if status == 403:
            return PermissionDenied(
                f"The Paperless user of this token may not do this: {detail or 'forbidden'}.",
                status_code=status,
                url=url,
            )
        if status == 404:
            if is_json or response.headers.get("X-Api-Version"):
                return NotFound(
                    f"Not found in Paperless: {response.request.url.path} ({detail}).",
                    status_code=status,
                    url=url,
                )
            return self._not_paperless(response)
        if status == 429:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            wait = f" Retry in {retry_after:g} s." if retry_after is not None else ""
            return RateLimited(
                f"Paperless is throttling requests (HTTP 429).{wait}",
                retry_after=retry_after,
                status_code=status,
                url=url,
            )
        if status >= 500:
            return ServerError(
                f"Paperless failed with HTTP {status} on {response.request.method} "
                f"{response.request.url.path}. Its log has the details.",
                status_code=status,
                url=url,
            )
        if 300 <= status < 400:
            location = response.headers.get("Location", "?")
            return NotPaperless(
                f"{self.base_url} redirects API requests to {location}. If Paperless lives "
                "there, use that URL.",
                status_code=status,
                url=url,
            )
        if status == 400:
            try:
                errors = response.json()
            except ValueError:
                errors = None
            message = f"Paperless rejected the request: {detail or 'HTTP 400'}"
            if isinstance(errors, dict) and "unique constraint" in str(errors.get("error", "")):
                return AlreadyExists(message, errors=errors, status_code=status, url=url)
            return BadRequest(message, errors=errors, status_code=status, url=url)
        return PaperlessError(
            f"Paperless answered HTTP {status}: {detail or response.reason_phrase}",
            status_code=status,
            url=url,
        )

    def _not_paperless(self, response: httpx.Response) -> NotPaperless:
        return NotPaperless(
            f"{self.base_url} does not answer like a Paperless-NGX server (HTTP "
            f"{response.status_code}, {response.headers.get('Content-Type', 'no content type')} "
            "on /api/documents/). Check the URL: it should be the address you open Paperless at.",
            status_code=response.status_code,
            url=str(response.request.url),
        )

    def _json(self, response: httpx.Response, *, path: str) -> Any:
        try:
            return response.json()
        except ValueError as error:
            if not response.headers.get("X-Api-Version") and "json" not in response.headers.get(
                "Content-Type", ""
            ):
                raise self._not_paperless(response) from error
            raise InvalidResponse(
                f"Paperless sent an unreadable answer to {path} (broken JSON: {error}). "
                "A proxy may have cut it short.",
                status_code=response.status_code,
                url=str(response.request.url),
            ) from error

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET an API path and return its JSON.

        An answer whose JSON is cut short (the server or a proxy dropped the connection in the
        middle of the body, without a Content-Length to notice it by) is read again, with the
        same retries and backoff as a dropped connection: a GET changes nothing."""
        options = self._options
        retrying = Retrying(
            stop=stop_after_attempt(options.max_retries + 1),
            wait=wait_exponential(multiplier=options.backoff_base, max=options.backoff_max)
            + wait_random(0, options.backoff_base),
            retry=retry_if_exception(lambda error: isinstance(error, InvalidResponse)),
            before_sleep=lambda state: logger.warning(
                "Paperless GET %s sent broken JSON; retry %s of %s",
                path,
                state.attempt_number,
                options.max_retries,
            ),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._json(self.request("GET", path, params=params), path=path)
        raise AssertionError("unreachable")  # pragma: no cover

    def post_json(self, path: str, *, json: Any) -> Any:
        """POST JSON (never blindly retried) and return the JSON answer."""
        return self._json(self.request("POST", path, json=json), path=path)

    # --- listing ---------------------------------------------------------------------------------

    def _iter_pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every result of a paginated list, page by page (simple lists: tags, trash, ...)."""
        page = 1
        while True:
            body = self.get_json(
                path, params={**(params or {}), "page": page, "page_size": page_size}
            )
            yield from body.get("results") or ()
            if not body.get("next"):
                return
            page += 1

    def iter_document_pages(
        self,
        *,
        fields: Sequence[str] | None = None,
        modified_after: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        start_page: int = 1,
        after_id: int | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Iterator[DocumentPage]:
        """Stream documents ordered by id, one :class:`DocumentPage` at a time (memory stays flat).

        ``fields``: only these fields (always include ``id``); ``modified_after``: an aware
        datetime for incremental sync (``modified__gt``); ``start_page`` + ``after_id``: resume
        from a checkpoint (a ``DocumentPage``'s ``number`` and ``last_id``).

        Ordered by id, new documents land at the end and never push others across a page
        boundary. Documents deleted while paging make later ones move back; the client notices the
        shrinking ``count`` and re-reads the page before, keeping only ids above ``last_id``, so
        nothing is skipped or repeated. Not detectable: a delete and an add between two pages
        (the count stays the same) or a document restored from the trash (an old id): reconcile
        with :meth:`iter_document_ids` and ``modified_after`` on the next run.
        """
        if modified_after is not None and modified_after.tzinfo is None:
            raise ValueError("modified_after must be an aware datetime")
        if fields is not None and "id" not in fields:
            fields = ["id", *fields]
        params: dict[str, Any] = {"ordering": "id", "page_size": page_size, **(filters or {})}
        if fields is not None:
            params["fields"] = ",".join(fields)
        if modified_after is not None:
            params["modified__gt"] = modified_after.isoformat()
        page = max(1, start_page)
        last_id = after_id
        suspect = after_id is not None and page > 1
        previous_count: int | None = None
        while True:
            try:
                body = self.get_json("/api/documents/", params={**params, "page": page})
            except NotFound:
                if page > 1 and (suspect or previous_count is not None):
                    page -= 1  # the list shrank under us: step back
                    suspect = True
                    continue
                raise
            count = int(body.get("count") or 0)
            results = body.get("results") or []
            if previous_count is not None and count < previous_count:
                suspect = True
            if (
                suspect
                and page > 1
                and last_id is not None
                and results
                and results[0]["id"] > last_id
            ):
                page -= 1  # documents before us were deleted: unseen ones may sit a page back
                previous_count = count
                continue
            suspect = False
            documents = [
                parse_document(raw) for raw in results if last_id is None or raw["id"] > last_id
            ]
            if documents:
                last_id = documents[-1]["id"]
            has_next = bool(body.get("next"))
            yield DocumentPage(
                number=page, count=count, documents=documents, last_id=last_id, has_next=has_next
            )
            previous_count = count
            if not has_next:
                return
            page += 1

    def iter_documents(self, **options: Any) -> Iterator[dict[str, Any]]:
        """Every document, one at a time; same options as :meth:`iter_document_pages`."""
        for page in self.iter_document_pages(**options):
            yield from page.documents

    def iter_document_ids(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[int]:
        """Every live document id, ascending (a ``fields=id`` listing: works on API 9 and 10).

        Before treating an id missing here as deleted, confirm with :meth:`get_document`
        (``NotFound``): a delete and an add racing with the listing can hide one id.
        """
        for page in self.iter_document_pages(fields=["id"], page_size=page_size):
            for document in page.documents:
                yield document["id"]

    def all_document_ids(self) -> set[int]:
        """The set of every live document id (see :meth:`iter_document_ids`)."""
        return set(self.iter_document_ids())

    def get_documents_by_ids(
        self, ids: Iterable[int], *, fields: Sequence[str] | None = None, chunk_size: int = 200
    ) -> Iterator[dict[str, Any]]:
        """The listed documents (``id__in``, in chunks); ids that do not exist are left out."""
        wanted = sorted(set(ids))
        for chunk in _chunks(wanted, chunk_size):
            params: dict[str, Any] = {"id__in": ",".join(map(str, chunk)), "ordering": "id"}
            if fields is not None:
                params["fields"] = ",".join(["id", *[f for f in fields if f != "id"]])
            for raw in self._iter_pages("/api/documents/", params=params, page_size=chunk_size):
                yield parse_document(raw)

    def find_documents_by_checksum(self, checksum: str) -> list[dict[str, Any]]:
        """Live documents whose original file has this SHA-256."""
        params = {"checksum__iexact": checksum, "ordering": "id"}
        return [parse_document(raw) for raw in self._iter_pages("/api/documents/", params=params)]

    # --- one document ----------------------------------------------------------------------------

    def get_document(
        self, document_id: int, *, fields: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """One document with ``versions`` checksums and ``duplicate_documents`` (detail only).

        Raises :class:`NotFound` when it does not exist or is in the trash.
        """
        params = {"fields": ",".join(fields)} if fields else None
        return parse_document(self.get_json(f"/api/documents/{int(document_id)}/", params=params))

    def get_metadata(self, document_id: int) -> dict[str, Any]:
        """Checksums, sizes, file names and embedded metadata of the original and archive files."""
        return self.get_json(f"/api/documents/{int(document_id)}/metadata/")

    def _file(
        self,
        document_id: int,
        kind: str,
        *,
        etag: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> FileContent:
        headers = {"If-None-Match": etag} if etag else None
        response = self.request(
            "GET",
            f"/api/documents/{int(document_id)}/{kind}/",
            params=params,
            headers=headers,
            ok_statuses=(304,),
        )
        disposition = response.headers.get("Content-Disposition", "")
        filename = None
        if 'filename="' in disposition:
            filename = disposition.split('filename="', 1)[1].split('"', 1)[0]
        return FileContent(
            content=response.content,
            content_type=response.headers.get("Content-Type"),
            etag=response.headers.get("ETag", etag),
            filename=filename,
            not_modified=response.status_code == 304,
        )

    def get_thumbnail(self, document_id: int, *, etag: str | None = None) -> FileContent:
        """The WebP thumbnail (ETag: the original checksum); ``etag`` skips an unchanged one."""
        return self._file(document_id, "thumb", etag=etag)

    def get_preview(self, document_id: int) -> FileContent:
        """The file for display: the archive PDF when there is one, else the original."""
        return self._file(document_id, "preview")

    def download(self, document_id: int, *, original: bool = False) -> FileContent:
        """The archived PDF (or the original when there is no archive or ``original=True``)."""
        return self._file(
            document_id, "download", params={"original": "true"} if original else None
        )

    def update_document(self, document_id: int, **changes: Any) -> dict[str, Any]:
        """PATCH a document (title, tags, created, archive_serial_number, custom_fields, ...).

        Not retried on an uncertain failure; re-read the document to know whether it applied.
        """
        response = self.request("PATCH", f"/api/documents/{int(document_id)}/", json=changes)
        return parse_document(self._json(response, path=f"/api/documents/{document_id}/"))

    def set_custom_fields(
        self, document_id: int, *, custom_fields: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Replace the document's custom fields with ``[{"field": id, "value": ...}, ...]``."""
        return self.update_document(document_id, custom_fields=[dict(cf) for cf in custom_fields])

    def set_archive_serial_number(self, document_id: int, *, asn: int | None) -> dict[str, Any]:
        return self.update_document(document_id, archive_serial_number=asn)

    def get_notes(self, document_id: int) -> list[dict[str, Any]]:
        notes = self.get_json(f"/api/documents/{int(document_id)}/notes/")
        for note in notes:
            note["created"] = parse_datetime(note.get("created"))
        return notes

    def add_note(self, document_id: int, *, note: str) -> list[dict[str, Any]]:
        """Add a note; returns all the document's notes. Never retried (it would add it twice)."""
        notes = self.post_json(f"/api/documents/{int(document_id)}/notes/", json={"note": note})
        for item in notes:
            item["created"] = parse_datetime(item.get("created"))
        return notes

    # --- deleting and the trash ------------------------------------------------------------------

    def delete_document(self, document_id: int) -> None:
        """Move one document to the Paperless trash (restorable; the trash is never emptied here).

        A retried DELETE whose first attempt did land answers 404: that counts as done when the
        document is in the trash.
        """
        try:
            self.request("DELETE", f"/api/documents/{int(document_id)}/")
        except NotFound:
            if not any(doc["id"] == document_id for doc in self._iter_pages("/api/trash/")):
                raise

    def delete_documents(
        self, document_ids: Sequence[int], *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        """Move documents to the trash in chunks (``documents/delete/``; bulk_edit on API 9)."""
        if self.api_version >= 10:
            self._chunked(
                document_ids,
                chunk_size,
                lambda chunk: self.post_json("/api/documents/delete/", json={"documents": chunk}),
            )
        else:
            self.bulk_edit(document_ids, method="delete", parameters={}, chunk_size=chunk_size)

    def iter_trash(self) -> Iterator[dict[str, Any]]:
        """Documents in the trash, most recently deleted first."""
        for raw in self._iter_pages("/api/trash/"):
            yield parse_document(raw)

    def restore_from_trash(self, document_ids: Sequence[int]) -> list[int]:
        """Restore trashed documents (same ids); returns the restored ids."""
        if not document_ids:
            return []
        body = self.post_json(
            "/api/trash/", json={"action": "restore", "documents": list(document_ids)}
        )
        return list(body.get("doc_ids") or document_ids)

    # --- bulk edit -------------------------------------------------------------------------------

    def _chunked(
        self, document_ids: Sequence[int], chunk_size: int, send: Callable[[list[int]], Any]
    ) -> None:
        ids = list(dict.fromkeys(int(i) for i in document_ids))
        applied: list[int] = []
        for chunk in _chunks(ids, chunk_size):
            try:
                send(chunk)
            except PaperlessError as error:
                raise BulkEditFailed(
                    f"{error} ({len(applied)} of {len(ids)} documents were already changed.)",
                    applied=applied,
                    pending=ids[len(applied) :],
                    status_code=error.status_code,
                    url=error.url,
                ) from error
            applied.extend(chunk)

    def bulk_edit(
        self,
        document_ids: Sequence[int],
        *,
        method: str,
        parameters: Mapping[str, Any],
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        """``POST /api/documents/bulk_edit/`` with the ids in chunks; never blindly retried.

        Raises :class:`BulkEditFailed` (with ``applied`` and ``pending`` ids) when a chunk fails.
        Tag changes bump ``modified`` and fire Paperless's "document updated" workflows.
        """
        self._chunked(
            document_ids,
            chunk_size,
            lambda chunk: self.post_json(
                "/api/documents/bulk_edit/",
                json={"documents": chunk, "method": method, "parameters": dict(parameters)},
            ),
        )

    def add_tag(
        self, document_ids: Sequence[int], *, tag_id: int, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        self.bulk_edit(
            document_ids, method="add_tag", parameters={"tag": tag_id}, chunk_size=chunk_size
        )

    def remove_tag(
        self, document_ids: Sequence[int], *, tag_id: int, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        self.bulk_edit(
            document_ids, method="remove_tag", parameters={"tag": tag_id}, chunk_size=chunk_size
        )

    def modify_tags(
        self,
        document_ids: Sequence[int],
        *,
        add_tags: Sequence[int] = (),
        remove_tags: Sequence[int] = (),
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.bulk_edit(
            document_ids,
            method="modify_tags",
            parameters={"add_tags": list(add_tags), "remove_tags": list(remove_tags)},
            chunk_size=chunk_size,
        )

    # --- tags and other objects ------------------------------------------------------------------

    def list_tags(self) -> list[dict[str, Any]]:
        return list(self._iter_pages("/api/tags/", params={"ordering": "id"}))

    def list_correspondents(self) -> list[dict[str, Any]]:
        return list(self._iter_pages("/api/correspondents/", params={"ordering": "id"}))

    def list_document_types(self) -> list[dict[str, Any]]:
        return list(self._iter_pages("/api/document_types/", params={"ordering": "id"}))

    def list_storage_paths(self) -> list[dict[str, Any]]:
        return list(self._iter_pages("/api/storage_paths/", params={"ordering": "id"}))

    def list_custom_fields(self) -> list[dict[str, Any]]:
        return list(self._iter_pages("/api/custom_fields/", params={"ordering": "id"}))

    def get_tag(self, tag_id: int) -> dict[str, Any]:
        """One tag by id. Raises :class:`NotFound` when it was deleted."""
        return self.get_json(f"/api/tags/{int(tag_id)}/")

    def find_tag(self, name: str) -> dict[str, Any] | None:
        """The tag with exactly this name, or None."""
        candidates = self._iter_pages("/api/tags/", params={"name__iexact": name, "ordering": "id"})
        matches = [tag for tag in candidates if tag.get("name") == name]
        return matches[0] if matches else None

    def create_tag(self, name: str, *, color: str | None = None) -> dict[str, Any]:
        """Create a tag with ``matching_algorithm`` 0, so Paperless never auto-assigns it.

        Never resent blindly: when the answer is lost (timeout, dropped connection, 5xx) the tag
        is looked up by name and returned if it was created after all. A name taken already
        raises :class:`AlreadyExists` (see :meth:`ensure_tag`).
        """
        body: dict[str, Any] = {"name": name, "matching_algorithm": 0}
        if color:
            body["color"] = color
        try:
            return self.post_json("/api/tags/", json=body)
        except (Unreachable, ServerError, InvalidResponse) as error:
            if isinstance(error, TLSError):
                raise
            existing = self.find_tag(name)
            if existing is not None:
                return existing
            raise

    def ensure_tag(self, name: str, *, color: str | None = None) -> tuple[dict[str, Any], bool]:
        """The tag called ``name``, created if missing; returns ``(tag, created)``."""
        existing = self.find_tag(name)
        if existing is not None:
            return existing, False
        try:
            return self.create_tag(name, color=color), True
        except AlreadyExists:
            found = self.find_tag(name)
            if found is None:
                raise
            return found, False

    # --- document versions (Paperless 3) ---------------------------------------------------------

    @property
    def has_versions(self) -> bool:
        """Whether this server keeps file versions of a document (API 10, Paperless 3)."""
        return self.api_version >= 10

    def update_version(
        self,
        document_id: int,
        *,
        content: bytes,
        filename: str,
        mime_type: str = "application/octet-stream",
        label: str | None = None,
    ) -> str:
        """Add ``content`` as a new file version of the document; returns the consume task's id.

        Never resent blindly (a second POST would add a second version): after an uncertain
        failure, look for the file's checksum among the document's ``versions``."""
        data = {"version_label": label[:64]} if label else None
        response = self.request(
            "POST",
            f"/api/documents/{int(document_id)}/update_version/",
            data=data,
            files={"document": (filename, content, mime_type)},
        )
        task_id = self._json(response, path="update_version")
        if not isinstance(task_id, str) or not task_id:
            raise InvalidResponse(
                f"Paperless answered update_version with {task_id!r}, not a task id.",
                url=str(response.request.url),
            )
        return task_id

    def get_root_id(self, document_id: int) -> int:
        """The root document of a document or of one of its versions (itself for a root)."""
        body = self.get_json(f"/api/documents/{int(document_id)}/root/")
        return int(body["root_id"])

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        """One task by its id, in API 10's shape (``status`` lower case, ``result_data``); an
        API 9 answer (a plain list, capture 73) is converted. None when Paperless has no such
        task (yet)."""
        body = self.get_json("/api/tasks/", params={"task_id": task_id})
        tasks = body.get("results") if isinstance(body, dict) else body
        if not tasks:
            return None
        task = dict(tasks[0])
        if "task_type" not in task:  # API 9: status in capitals, "related_document" a string
            related = task.get("related_document")
            task["status"] = str(task.get("status") or "").lower()
            task["related_document_ids"] = [int(related)] if related else []
            if task["status"] == "failure":
                task["result_data"] = {"error_message": task.get("result")}
            else:
                task["result_data"] = {"document_id": int(related)} if related else None
        return task

    # --- workflows -------------------------------------------------------------------------------

    def list_workflows(self) -> list[dict[str, Any]]:
        return list(self._iter_pages("/api/workflows/", params={"ordering": "id"}, page_size=100))

    def get_workflow(self, workflow_id: int) -> dict[str, Any]:
        """One workflow. Raises :class:`NotFound` when it was deleted."""
        return self.get_json(f"/api/workflows/{int(workflow_id)}/")

    def create_workflow(self, workflow: Mapping[str, Any]) -> dict[str, Any]:
        """Create a workflow; a bad one raises :class:`BadRequest` with Paperless's ``errors``
        (capture 51). Never resent blindly: look for it by name after an uncertain failure."""
        return self.post_json("/api/workflows/", json=dict(workflow))

    def update_workflow(self, workflow_id: int, workflow: Mapping[str, Any]) -> dict[str, Any]:
        """Replace a workflow (PUT: idempotent, so retried like a GET)."""
        response = self.request("PUT", f"/api/workflows/{int(workflow_id)}/", json=dict(workflow))
        return self._json(response, path=f"/api/workflows/{workflow_id}/")

    def delete_workflow(self, workflow_id: int) -> bool:
        """Delete a workflow; False when it did not exist (any more)."""
        try:
            self.request("DELETE", f"/api/workflows/{int(workflow_id)}/")
        except NotFound:
            return False
        return True

    def system_status(self) -> dict[str, Any]:
        """``/api/status/`` (Paperless's own health: its task worker, install type). Needs an
        admin token: :class:`PermissionDenied` otherwise."""
        return self.get_json("/api/status/")

    # --- statistics ------------------------------------------------------------------------------

    def statistics(self) -> dict[str, Any]:
        """Paperless's ``/api/statistics/``: documents_total, character_count, tag_count, ..."""
        return self.get_json("/api/statistics/")


class _NotSent(Exception):
    """Wraps an error raised before the request left us: safe to resend even a POST."""

    def __init__(self, error: PaperlessError) -> None:
        super().__init__(str(error))
        self.error = error

    def __str__(self) -> str:
        return str(self.error)


def _is_tls_error(error: BaseException) -> bool:
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ssl.SSLError | ssl.CertificateError):
            return True
        current = current.__cause__ or current.__context__
    text = str(error)
    return "SSL" in text or ("CERTIFICATE" in text.upper() and "VERIFY" in text.upper())


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_API_VERSION",
    "MIN_API_VERSION",
    "AlreadyExists",
    "AuthenticationError",
    "BadRequest",
    "BulkEditFailed",
    "ConnectionInfo",
    "DocumentPage",
    "FileContent",
    "InvalidResponse",
    "InvalidURL",
    "NotFound",
    "NotPaperless",
    "PaperlessClient",
    "PaperlessError",
    "PermissionDenied",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "TLSError",
    "Unreachable",
    "UnsupportedVersion",
    "parse_date",
    "parse_datetime",
    "parse_document",
    "root_checksum",
    "validate_base_url",
]
