"""Plan pages and the plans API: the confirmation (full page and HTMX), confirming once, the
selection ("all N matching" is the list's filter), the history, login everywhere."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.urls import reverse

from documents.models import Document
from duplicates.filters import matching_group_ids
from duplicates.models import DuplicateGroup, Plan
from duplicates.tests.test_actions import deletes, library, real_mode
from processing import jobs

pytestmark = pytest.mark.django_db


def test_confirmation_page_shows_exactly_what_will_happen(paperless, auth_client):
    real_mode()
    [entry] = library(paperless, size=3)
    keep, a, b = entry["fakes"]
    response = auth_client.post(
        reverse("plan-create"), {"action": "delete_duplicates", "pk": [entry["group"].pk]}
    )
    plan = Plan.objects.get()
    assert response.status_code == 302 and response.url == reverse("plan-detail", args=[plan.pk])
    page = auth_client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html
    assert "Confirm: Delete the non-primary documents" in html
    assert a.title in html and b.title in html and keep.title in html
    assert 'class="plan-count">2<' in html
    assert "Paperless trash" in html and "never emptied" in html
    assert "Move 2 documents to the Paperless trash" in html
    assert "Dry run instead" in html
    assert deletes(paperless) == []  # nothing ran
    assert plan.status == Plan.Status.DRAFT


def test_confirmation_in_dry_run_mode_offers_only_the_dry_run(paperless, auth_client):
    [entry] = library(paperless, size=2)  # dry run is the default setting
    response = auth_client.post(
        reverse("plan-create"),
        {"action": "delete_duplicates", "pk": [entry["group"].pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "Dry run: tag 1 document" in html and "dedupe:would-delete" in html
    assert "to the Paperless trash</button>" not in html


def test_create_with_htmx_returns_the_confirmation_fragment(paperless, auth_client):
    [entry] = library(paperless, size=3)
    response = auth_client.post(
        reverse("plan-create"),
        {"action": "delete_duplicates", "pk": [entry["group"].pk]},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="plan"') and "<html" not in html
    assert entry["fakes"][1].title in html
    detail = auth_client.get(
        reverse("plan-detail", args=[Plan.objects.get().pk]), HTTP_HX_REQUEST="true"
    )
    assert detail.content.decode().lstrip().startswith('<section id="plan"')


def test_create_without_a_selection_says_so(paperless, auth_client):
    response = auth_client.post(
        reverse("plan-create"), {"action": "resolve", "query": "status=new"}, follow=True
    )
    assert "Select at least one group" in response.content.decode()
    assert not Plan.objects.exists()
    htmx = auth_client.post(reverse("plan-create"), {"action": "resolve"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 422 and "Select at least one group" in htmx.content.decode()


def test_confirm_runs_the_plan_once(paperless, auth_client):
    real_mode()
    [entry] = library(paperless, size=3)
    auth_client.post(
        reverse("plan-create"), {"action": "delete_duplicates", "pk": [entry["group"].pk]}
    )
    plan = Plan.objects.get()
    url = reverse("plan-confirm", args=[plan.pk])
    response = auth_client.post(url, {"mode": "delete"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == Plan.Status.QUEUED and plan.job is not None
    jobs.execute(plan.job.pk)
    again = auth_client.post(url, {"mode": "delete"}, follow=True)
    assert "already confirmed" in again.content.decode()
    htmx = auth_client.post(url, {"mode": "delete"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 409
    assert sorted(deletes(paperless)) == sorted(f.id for f in entry["fakes"][1:])
    page = auth_client.get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert "Done" in page and "Moved to the Paperless trash" not in page  # outcome per item
    assert page.count('class="badge item-status done"') == 2


def test_confirm_choosing_the_dry_run_only_tags(paperless, auth_client):
    real_mode()
    [entry] = library(paperless, size=2)
    auth_client.post(
        reverse("plan-create"), {"action": "delete_duplicates", "pk": [entry["group"].pk]}
    )
    plan = Plan.objects.get()
    auth_client.post(reverse("plan-confirm", args=[plan.pk]), {"mode": "dry_run"})
    plan.refresh_from_db()
    jobs.execute(plan.job.pk)
    assert plan.dry_run and deletes(paperless) == []
    assert paperless.state.documents[entry["fakes"][1].id].tags


def test_all_matching_resolves_the_same_groups_as_the_filter(paperless, auth_client):
    entries = library(paperless, groups=4, size=2)
    for entry in entries[:3]:
        entry["group"].set_status(DuplicateGroup.Status.REVIEWED)
    query = "status=reviewed&sort=-confidence"
    auth_client.post(
        reverse("plan-create"),
        # A ticked box of another group does not count when "all matching" is chosen.
        {"action": "resolve", "all_matching": "1", "query": query, "pk": [entries[3]["group"].pk]},
    )
    plan = Plan.objects.get()
    expected = matching_group_ids(QueryDict(query))
    assert plan.group_ids == expected
    assert sorted(expected) == sorted(e["group"].pk for e in entries[:3])
    assert plan.filter_query == query


def test_delete_one_document_from_the_group_page(paperless, auth_client):
    real_mode()
    [entry] = library(paperless, size=3)
    target = entry["fakes"][1]
    detail = reverse("group-detail", args=[entry["group"].pk])
    response = auth_client.post(
        reverse("plan-create"),
        {"action": "delete", "documents": target.id, "group": entry["group"].pk, "next": detail},
    )
    plan = Plan.objects.get()
    assert plan.action == Plan.Action.DELETE_DOCUMENT
    assert list(plan.items.values_list("paperless_id", flat=True)) == [target.id]
    page = auth_client.get(response.url).content.decode()
    assert f'href="{detail}"' in page  # back to the group page, not the list
    auth_client.post(reverse("plan-confirm", args=[plan.pk]), {"mode": "delete"})
    plan.refresh_from_db()
    jobs.execute(plan.job.pk)
    assert deletes(paperless) == [target.id]
    assert not Document.objects.filter(paperless_id=target.id).exists()


def test_the_primary_cannot_be_chosen_for_deletion(paperless, auth_client):
    [entry] = library(paperless, size=2)
    response = auth_client.post(
        reverse("plan-create"),
        {"action": "delete", "documents": entry["fakes"][0].id, "group": entry["group"].pk},
        follow=True,
    )
    assert "is the primary" in response.content.decode()
    assert not Plan.objects.exists()


def test_undo_button_makes_the_undo_plan(paperless, auth_client):
    [entry] = library(paperless, size=2)
    auth_client.post(
        reverse("plan-create"), {"action": "delete_duplicates", "pk": [entry["group"].pk]}
    )
    plan = Plan.objects.get()
    auth_client.post(reverse("plan-confirm", args=[plan.pk]), {"mode": "dry_run"})
    plan.refresh_from_db()
    jobs.execute(plan.job.pk)
    page = auth_client.get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert "Undo this dry run" in page
    response = auth_client.post(reverse("plan-undo", args=[plan.pk]))
    undo = Plan.objects.get(action=Plan.Action.UNDO_DRY_RUN)
    assert response.url == reverse("plan-detail", args=[undo.pk])
    auth_client.post(reverse("plan-confirm", args=[undo.pk]))
    undo.refresh_from_db()
    jobs.execute(undo.job.pk)
    assert paperless.state.documents[entry["fakes"][1].id].tags == []


def test_history_lists_confirmed_plans_and_dry_runs(paperless, auth_client):
    [entry] = library(paperless, size=2)
    auth_client.post(reverse("plan-create"), {"action": "resolve", "pk": [entry["group"].pk]})
    draft = Plan.objects.get()
    auth_client.post(
        reverse("plan-create"), {"action": "delete_duplicates", "pk": [entry["group"].pk]}
    )
    dry = Plan.objects.exclude(pk=draft.pk).get()
    auth_client.post(reverse("plan-confirm", args=[dry.pk]), {"mode": "dry_run"})
    page = auth_client.get(reverse("plan-list")).content.decode()
    assert f"#{dry.pk}<" in page and f"#{draft.pk}<" not in page and "dry run" in page
    htmx = auth_client.get(reverse("plan-list") + "?dry_run=0", HTTP_HX_REQUEST="true")
    assert htmx.content.decode().lstrip().startswith('<div id="plans"')
    assert f"#{dry.pk}<" not in htmx.content.decode()


def test_group_list_has_the_bulk_action_buttons(paperless, auth_client):
    library(paperless, size=2)
    html = auth_client.get(reverse("group-list")).content.decode()
    url = reverse("plan-create")
    for action in ("mark_reviewed", "resolve", "not_duplicate", "delete_duplicates"):
        assert f'formaction="{url}" name="action" value="{action}"' in html
    assert "js/actions.js" in html and 'id="plan-dialog"' in html


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("post", "plan-create", []),
        ("get", "plan-detail", [1]),
        ("post", "plan-confirm", [1]),
        ("post", "plan-undo", [1]),
        ("get", "plan-list", []),
        ("get", "audit", []),
    ],
)
def test_login_required(client, admin_user, method, name, args):
    plan = Plan.objects.create(action=Plan.Action.RESOLVE, group_ids=[1])
    args = [plan.pk for _ in args]
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code == 302 and "/accounts/login/" in response.url
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT


# --- the API ------------------------------------------------------------------------------------


def test_api_create_confirm_and_confirm_again(paperless, auth_client):
    real_mode()
    [entry] = library(paperless, size=3)
    created = auth_client.post(
        "/api/plans",
        {"action": "delete_duplicates", "groups": [entry["group"].pk], "merge_metadata": True},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["documents_to_act_on"] == 2
    assert [i["paperless_id"] for i in body["items"]] == [f.id for f in entry["fakes"][1:]]
    assert {i["kept_paperless_id"] for i in body["items"]} == {entry["fakes"][0].id}
    assert deletes(paperless) == []

    url = f"/api/plans/{body['id']}/confirm"
    confirmed = auth_client.post(url, {}, content_type="application/json")
    assert confirmed.status_code == 202
    assert confirmed.json()["job"]["kind"] == "action"
    assert confirmed.json()["plan"]["status"] == "queued"
    jobs.execute(confirmed.json()["job"]["id"])
    again = auth_client.post(url, {}, content_type="application/json")
    assert again.status_code == 409
    assert again.json()["code"] == "plan_already_confirmed" and again.json()["detail"]
    assert sorted(deletes(paperless)) == sorted(f.id for f in entry["fakes"][1:])
    got = auth_client.get(f"/api/plans/{body['id']}").json()
    assert got["status"] == "done" and got["counts"]["done"] == 2
    listed = auth_client.get("/api/plans").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == body["id"]


def test_api_errors_have_the_common_shape(paperless, auth_client):
    bad = auth_client.post(
        "/api/plans", {"action": "explode", "groups": [1]}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    empty = auth_client.post(
        "/api/plans", {"action": "resolve", "groups": []}, content_type="application/json"
    )
    assert empty.status_code == 422 and empty.json()["code"] == "empty_selection"
    bad_filter = auth_client.post(
        "/api/plans",
        {"action": "resolve", "all_matching": True, "filter": "confidence_min=lots"},
        content_type="application/json",
    )
    assert bad_filter.status_code == 422 and "confidence_min" in bad_filter.json()["field_errors"]
    missing = auth_client.get("/api/plans/999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_api_undo_a_dry_run(paperless, auth_client):
    [entry] = library(paperless, size=2)
    plan_id = auth_client.post(
        "/api/plans",
        {"action": "delete_duplicates", "groups": [entry["group"].pk]},
        content_type="application/json",
    ).json()["id"]
    job = auth_client.post(f"/api/plans/{plan_id}/confirm", content_type="application/json")
    jobs.execute(job.json()["job"]["id"])
    assert auth_client.get(f"/api/plans/{plan_id}").json()["can_undo"]
    undo = auth_client.post(f"/api/plans/{plan_id}/undo", content_type="application/json")
    assert undo.status_code == 201 and undo.json()["action"] == "undo_dry_run"
    ran = auth_client.post(
        f"/api/plans/{undo.json()['id']}/confirm", content_type="application/json"
    )
    jobs.execute(ran.json()["job"]["id"])
    assert paperless.state.documents[entry["fakes"][1].id].tags == []
    again = auth_client.post(f"/api/plans/{plan_id}/undo", content_type="application/json")
    assert again.status_code == 409


def test_api_needs_authentication(client, db):
    assert client.post("/api/plans", {}, content_type="application/json").status_code == 401
    assert client.get("/api/plans").status_code == 401
    assert client.get("/api/audit").status_code == 401
