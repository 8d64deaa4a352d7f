"""The client's address: X-Forwarded-For only from DEDUPE_TRUSTED_PROXIES, for /metrics and
everything else that decides on an address (the login lockout is tested with it too)."""

from __future__ import annotations

import httpx
import pytest
from django.test import RequestFactory

from dedupe_project.network import client_ip

pytestmark = pytest.mark.django_db


def _ip(*, peer: str, forwarded: str | None = None) -> str:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=peer, **headers))


def test_forwarded_header_is_ignored_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert _ip(peer="10.1.2.3", forwarded="127.0.0.1") == "10.1.2.3"


def test_forwarded_header_is_read_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.1.2.0/24"]
    assert _ip(peer="10.1.2.3", forwarded="203.0.113.9") == "203.0.113.9"
    # what the client itself wrote in front of the proxy's entry is not believed
    assert _ip(peer="10.1.2.3", forwarded="127.0.0.1, 203.0.113.9") == "203.0.113.9"
    # a chain of trusted proxies is walked from the right
    assert _ip(peer="10.1.2.3", forwarded="198.51.100.4, 10.1.2.8") == "198.51.100.4"
    # the same header from a peer that is not a trusted proxy is ignored
    assert _ip(peer="192.0.2.50", forwarded="127.0.0.1") == "192.0.2.50"
    assert _ip(peer="10.1.2.3", forwarded="garbage") == "10.1.2.3"


def test_metrics_allow_list_is_not_bypassed_with_a_forwarded_header(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    settings.TRUSTED_PROXIES = []
    spoofed = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert spoofed.status_code == 403
    settings.TRUSTED_PROXIES = ["10.1.2.3"]
    proxied = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert proxied.status_code == 200
    via_proxy = client.get(
        "/metrics", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="127.0.0.1, 198.51.100.7"
    )
    assert via_proxy.status_code == 403


@pytest.mark.live_app_env(DEDUPE_METRICS_ALLOWED_IPS="10.9.9.9", DEDUPE_METRICS_TOKEN="")
def test_served_app_does_not_take_the_client_address_from_the_header(live_app):
    """daphne as ``manage.py serve`` starts it: with --proxy-headers it took X-Forwarded-For
    from anyone as the client's address, and the allow-list let a made-up 10.9.9.9 in."""
    spoofed = httpx.get(live_app.url + "/metrics", headers={"X-Forwarded-For": "10.9.9.9"})
    assert spoofed.status_code == 403, live_app.output()
