"""Login throttling (django-axes): per account and per address, with a cool-off, for the login
page, the admin site's login and API tokens; a clear message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dedupe_project.models import ApiToken
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, *, username: str, password: str, ip: str = "10.0.0.1", url: str = ""):
    return client.post(
        url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_account_is_locked_after_five_wrong_passwords_even_with_the_right_one(client, admin_user):
    answers = [_login(client, username="admin", password="wrong").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]  # the fifth failure locks
    locked = _login(client, username="admin", password=PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed log-ins" in locked.content
    assert b"15 minutes" in locked.content
    assert locked["Retry-After"] == "900"
    # per account: another address does not get in with this name either
    assert _login(client, username="admin", password=PASSWORD, ip="10.0.0.2").status_code == 429


def test_address_is_locked_after_five_failures_whatever_the_names(client, admin_user):
    for number in range(5):
        _login(client, username=f"guess{number}", password="wrong", ip="10.0.0.3")
    assert _login(client, username="admin", password=PASSWORD, ip="10.0.0.3").status_code == 429
    # the account itself is not locked from elsewhere
    assert _login(client, username="admin", password=PASSWORD, ip="10.0.0.4").status_code == 302


def test_lockout_ends_after_the_cool_off(client, admin_user):
    from axes.models import AccessAttempt

    for _ in range(5):
        _login(client, username="admin", password="wrong")
    assert _login(client, username="admin", password=PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _login(client, username="admin", password=PASSWORD).status_code == 302


def test_admin_site_login_is_throttled_too(client, admin_user):
    url = reverse("admin:login")
    for _ in range(5):
        _login(client, username="admin", password="wrong", url=url)
    assert _login(client, username="admin", password=PASSWORD, url=url).status_code == 429


def test_forwarded_for_header_does_not_escape_the_address_lockout(client, admin_user):
    """Without trusted proxies a made-up X-Forwarded-For is ignored: still one address."""
    for number in range(5):
        client.post(
            reverse("login"),
            {"username": f"guess{number}", "password": "x"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        )
    response = client.post(
        reverse("login"),
        {"username": "admin", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="192.0.2.77",
    )
    assert response.status_code == 429


def test_wrong_api_tokens_lock_out_the_address_not_the_account(client, admin_user):
    _, raw = ApiToken.issue(user=admin_user, name="script")

    def call(token: str, ip: str):
        return client.get(
            "/api/stats", headers={"Authorization": f"Bearer {token}"}, REMOTE_ADDR=ip
        )

    answers = [call(f"pdd_wrong{number}", "10.0.0.6").status_code for number in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    locked = call(raw, "10.0.0.6")
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"
    assert "Too many failed log-ins" in locked.json()["detail"]
    # the token's owner is not locked out from elsewhere, by token or by password
    assert call(raw, "10.0.0.7").status_code == 200
    assert _login(client, username="admin", password=PASSWORD, ip="10.0.0.7").status_code == 302


def test_lockout_after_failures_counts_as_measured(client, admin_user):
    """200 wrong passwords from one address: 4 answered "didn't match", the fifth locks, the
    other 195 are refused without the password being checked."""
    statuses = [
        _login(client, username="admin", password=f"wrong{n}").status_code for n in range(200)
    ]
    assert statuses.count(200) == 4
    assert statuses.count(429) == 196
