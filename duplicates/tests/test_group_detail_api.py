"""``/api/groups/{id}/...``: compare a group pair by pair, and every decision on it, with the
common error shape."""

from __future__ import annotations

import pytest

from duplicates.models import DuplicateGroup, GroupMember, PairDecision
from duplicates.tests.conftest import LETTER, feature, page, store_documents

pytestmark = pytest.mark.django_db


@pytest.fixture
def trio(analyse) -> DuplicateGroup:
    store_documents(
        [  # only 1 has the invoice number: missing elsewhere, no conflict
            feature(1, LETTER + " Rechnung 14.03.2023 Betrag 99,90 EUR Nr. RE-2023-0042"),
            feature(2, LETTER + " Anlage 1 Rechnung 14.03.2023 Betrag 99,90 EUR"),
            feature(3, LETTER + " Anlage 2 Rechnung 14.03.2023 Betrag 99,90 EUR"),
            feature(4, page(4)),
        ]
    )
    analyse()
    return DuplicateGroup.objects.get()


def api(group: DuplicateGroup | int, suffix: str) -> str:
    group_id = group if isinstance(group, int) else group.pk
    return f"/api/groups/{group_id}/{suffix}"


def post(client, url: str, body: dict | None = None):
    return client.post(url, body or {}, content_type="application/json")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["detail"] and "field_errors" in body
    return body


def test_compare_lists_every_pair_with_labelled_factors_and_identifiers(auth_client, trio):
    response = auth_client.get(api(trio, "compare"))

    assert response.status_code == 200
    body = response.json()
    assert body["group"]["id"] == trio.pk
    assert {m["paperless_id"] for m in body["group"]["members"]} == {1, 2, 3}
    pairs = [(p["a"], p["b"]) for p in body["pairs"]]
    assert len(set(pairs)) == 3
    assert [trio.primary_id in pair for pair in pairs] == [True, True, False]  # primary's first
    assert all(pair[0] == trio.primary_id for pair in pairs[:2])
    factors = {f["name"]: f for f in body["pairs"][0]["factors"]}
    assert factors["fuzzy"]["label"] == "Text similarity" and factors["fuzzy"]["value"] > 0.5
    by_member = {entry["paperless_id"]: entry for entry in body["identifiers"]}
    assert set(by_member) == {1, 2, 3} - {trio.primary_id}
    invoice = {"kind": "ref", "value": "RE20230042", "count": 1}  # only document 1 has it
    for paperless_id, entry in by_member.items():
        assert {"kind": "amount", "value": "9990", "count": 1} in entry["shared"]
        assert {"kind": "date", "value": "14032023", "count": 1} in entry["shared"]
        assert entry["conflict"] is False
        side = "only_member" if paperless_id == 1 else "only_primary"
        assert (invoice in entry[side]) == (1 in (paperless_id, trio.primary_id))


def test_set_primary_and_its_errors(auth_client, trio):
    new_primary = 3 if trio.primary_id != 3 else 2

    response = post(auth_client, api(trio, "primary"), {"document_id": new_primary})

    assert response.status_code == 200
    body = response.json()
    assert body["primary_paperless_id"] == new_primary and body["primary_chosen"] is True
    assert [m["paperless_id"] for m in body["members"] if m["is_primary"]] == [new_primary]
    assert_error(post(auth_client, api(trio, "primary"), {"document_id": 4}), 404, "not_a_member")
    assert_error(post(auth_client, api(999, "primary"), {"document_id": 1}), 404, "not_found")
    assert_error(post(auth_client, api(trio, "primary"), {}), 422, "validation_error")


def test_remove_member(auth_client, admin_user, trio):
    response = post(auth_client, api(trio, "members/3/remove"))

    assert response.status_code == 200
    assert response.json()["removed"] == [3]
    member = GroupMember.objects.get(group=trio, document_id=3)
    assert member.removed and member.removed_by == admin_user
    assert_error(post(auth_client, api(trio, "members/4/remove")), 404, "not_a_member")


def test_group_not_duplicate_records_every_pair(auth_client, trio):
    response = post(auth_client, api(trio, "not-duplicate"))

    assert response.status_code == 200 and response.json()["status"] == "not_duplicate"
    assert PairDecision.objects.count() == 3


def test_pair_not_duplicate(auth_client, trio):
    response = post(auth_client, api(trio, "pairs/not-duplicate"), {"a": 3, "b": 1})

    assert response.status_code == 200 and response.json()["status"] == "new"
    assert list(PairDecision.objects.values_list("a_id", "b_id")) == [(1, 3)]
    body = assert_error(
        post(auth_client, api(trio, "pairs/not-duplicate"), {"a": 2, "b": 2}),
        422,
        "same_document",  # two valid ids, the same one twice: a rule the schema cannot state
    )
    assert "b" in body["field_errors"]
    assert_error(
        post(auth_client, api(trio, "pairs/not-duplicate"), {"a": 1, "b": 4}), 404, "not_a_member"
    )


def test_status(auth_client, admin_user, trio):
    response = post(auth_client, api(trio, "status"), {"status": "resolved"})

    assert response.status_code == 200 and response.json()["status"] == "resolved"
    trio.refresh_from_db()
    assert trio.status_changed_by == admin_user
    body = assert_error(
        post(auth_client, api(trio, "status"), {"status": "gone"}), 422, "validation_error"
    )
    assert "status" in body["field_errors"]


def test_endpoints_need_authentication(client, trio):
    assert_error(client.get(api(trio, "compare")), 401, "unauthenticated")
    assert_error(post(client, api(trio, "status"), {"status": "resolved"}), 401, "unauthenticated")
    trio.refresh_from_db()
    assert trio.status == DuplicateGroup.Status.NEW
