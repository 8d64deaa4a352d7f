"""Giving accounts their roles: the first account, the command, the admin site; the WebSocket."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core.management import CommandError, call_command
from django.urls import reverse

from dedupe_project.access import role_of
from processing.consumers import JobProgressConsumer

pytestmark = pytest.mark.django_db


def test_existing_accounts_are_put_in_role_groups_after_migrate():
    from django.contrib.auth.models import Group

    groups = {group.name: group for group in Group.objects.prefetch_related("permissions")}
    assert set(groups) >= {"admin", "reviewer", "viewer"}
    viewer = {p.codename for p in groups["viewer"].permissions.all()}
    reviewer = {p.codename for p in groups["reviewer"].permissions.all()}
    assert viewer == {"view_library"}
    assert reviewer == {
        "view_library", "review_groups", "make_plans", "confirm_plans", "undo_dry_runs", "run_jobs"
    }  # fmt: skip
    assert {"change_settings", "manage_connection", "manage_users", "change_user"} <= {
        p.codename for p in groups["admin"].permissions.all()
    }


def test_set_role_command_gives_and_lists_roles(make_user, capsys):
    alice = make_user("alice", role=None)
    make_user("boss", role="admin")
    call_command("set_role", "alice", "reviewer")
    alice.refresh_from_db()
    assert role_of(alice) == "reviewer" and not alice.is_staff
    call_command("set_role", "alice", "admin")
    alice.refresh_from_db()
    assert role_of(alice) == "admin" and alice.is_staff
    call_command("set_role", "alice", "viewer")
    alice.refresh_from_db()
    assert role_of(alice) == "viewer" and not alice.is_staff
    assert list(alice.groups.values_list("name", flat=True)) == ["viewer"]
    call_command("set_role", "--list")
    out = capsys.readouterr().out
    assert "alice: viewer" in out and "boss: admin" in out
    with pytest.raises(CommandError, match="No account"):
        call_command("set_role", "nobody", "viewer")


def test_set_role_refuses_to_demote_the_last_admin(make_user):
    boss = make_user("boss", role="admin")
    with pytest.raises(CommandError, match="last admin"):
        call_command("set_role", "boss", "viewer")
    boss.refresh_from_db()
    assert role_of(boss) == "admin"


def test_admin_site_sets_a_role_on_the_account_form(auth_client, make_user):
    carol = make_user("carol", role="viewer")
    page = auth_client.get(reverse("admin:auth_user_change", args=[carol.pk]))
    assert page.status_code == 200 and b'name="role"' in page.content
    response = auth_client.post(
        reverse("admin:auth_user_change", args=[carol.pk]),
        {
            "username": "carol",
            "role": "reviewer",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    carol.refresh_from_db()
    assert role_of(carol) == "reviewer"
    listing = auth_client.get(reverse("admin:auth_user_changelist"))
    assert b"reviewer" in listing.content


def test_admin_site_action_gives_selected_accounts_a_role(auth_client, make_user):
    dave = make_user("dave", role="viewer")
    erin = make_user("erin", role=None)
    response = auth_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "make_reviewer", "_selected_action": [dave.pk, erin.pk]},
    )
    assert response.status_code == 302
    assert role_of(type(dave).objects.get(pk=dave.pk)) == "reviewer"
    assert role_of(type(erin).objects.get(pk=erin.pk)) == "reviewer"


def test_first_account_made_by_ensure_admin_is_admin(settings, django_user_model):
    settings.ADMIN_USERNAME, settings.ADMIN_PASSWORD = "owner", "a-long-pass-phrase-9"
    call_command("ensure_admin")
    assert role_of(django_user_model.objects.get(username="owner")) == "admin"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("role", "accepted"), [("viewer", True), (None, False)])
def test_websocket_needs_the_read_permission(make_user, role, accepted):
    user = make_user("socket-user", role=role)

    async def connect() -> tuple[bool, int | None]:
        communicator = WebsocketCommunicator(JobProgressConsumer.as_asgi(), "/ws/jobs/")
        communicator.scope["user"] = user
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    connected, code = async_to_sync(connect)()
    assert connected is accepted
    if not accepted:
        assert code == 4403


def test_viewer_pages_offer_no_action_the_role_cannot_take(client, viewer_user, reviewer_user):
    from duplicates.tests.groupfactory import make_group

    group = make_group()
    client.force_login(viewer_user)
    detail = client.get(reverse("group-detail", args=[group.pk])).content.decode()
    assert "Make primary" not in detail and "Remove from group" not in detail
    assert "Delete in Paperless" not in detail and "Mark reviewed" not in detail
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "Sync now" not in dashboard and 'href="/settings/"' not in dashboard
    assert "viewer" in dashboard  # the role next to the account name
    client.force_login(reviewer_user)
    detail = client.get(reverse("group-detail", args=[group.pk])).content.decode()
    assert "Make primary" in detail and "Mark reviewed" in detail
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "Sync now" in dashboard and 'href="/settings/"' not in dashboard


@pytest.mark.parametrize("htmx", [False, True])
def test_admin_issues_a_token_for_a_reviewer_that_acts_with_the_reviewers_role(
    auth_client, make_user, htmx
):
    from dedupe_project.models import ApiToken

    rita = make_user("rita", role="reviewer")
    response = auth_client.post(
        reverse("api-tokens"),
        {"name": "rita's script", "user": rita.pk},
        headers={"HX-Request": "true"} if htmx else {},
    )
    assert response.status_code == 200
    raw = re.search(r'class="secret">([^<]+)<', response.content.decode()).group(1)
    assert ApiToken.objects.get(name="rita's script").user == rita
    bearer = {"Authorization": f"Bearer {raw}"}
    auth_client.logout()
    assert auth_client.get("/api/groups", headers=bearer).status_code == 200
    assert (
        auth_client.patch(
            "/api/config", data={}, content_type="application/json", headers=bearer
        ).status_code
        == 403
    )
