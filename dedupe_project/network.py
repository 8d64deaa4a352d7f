"""The client's address, for every decision made on it (the metrics allow-list, login lockouts,
logs).

daphne is started without ``--proxy-headers`` (``manage.py serve``), so ``REMOTE_ADDR`` is the
peer that opened the connection. ``X-Forwarded-For`` is believed only when that peer is one of
``DEDUPE_TRUSTED_PROXIES`` (addresses or networks): then the client is the right-most address
of the header that is not itself a trusted proxy, since each proxy appends the address it saw
and only the part added by trusted proxies can be believed. Without trusted proxies the header
is ignored, so ``X-Forwarded-For: 127.0.0.1`` from anywhere changes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def parse_networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    """Addresses or CIDR networks; raises ``ValueError`` naming a bad entry."""
    networks = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network") from None
    return tuple(networks)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = value.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def in_networks(address: str | None, networks: Iterable[Network]) -> bool:
    parsed = _address(address or "")
    return parsed is not None and any(parsed in network for network in networks)


def trusted_proxies() -> tuple[Network, ...]:
    return parse_networks(tuple(settings.TRUSTED_PROXIES))


def client_ip(request: HttpRequest) -> str:
    """The client's address as far as it can be trusted (see the module docstring); "" when
    there is none (a test client, a Unix socket)."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    proxies = trusted_proxies()
    if not proxies or not in_networks(peer, proxies):
        return str(_address(peer) or "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop for hop in (part.strip() for part in forwarded.split(",")) if hop]
    for hop in reversed(hops):
        if not in_networks(hop, proxies):
            parsed = _address(hop)
            return str(parsed) if parsed else str(_address(peer) or "")
    # every hop is a trusted proxy: the left-most one is as far as we can see
    parsed = _address(hops[0]) if hops else None
    return str(parsed or _address(peer) or "")
