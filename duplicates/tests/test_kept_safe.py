"""Nothing a person protected is deleted, and the right copy is kept (issue 10, items 1 to 4):
decisions take effect at once and bind every plan (made, confirmed, run); the primary follows
a stated policy and says why; keeping a shorter copy asks again; merging is on by default and
listed; "remove from group" asks first and can be undone."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from documents.models import Document, Tag
from duplicates import actions, review
from duplicates.actions import create_plan
from duplicates.engine.primary import PrimaryFacts, choose, primary_reasons, shortfalls
from duplicates.models import AuditEntry, DuplicateGroup, GroupMember, PairEdge, Plan, PlanItem
from duplicates.tests.test_actions import library, real_mode, run
from processing.models import Job

pytestmark = pytest.mark.django_db


def linked(group: DuplicateGroup, score: float = 0.95) -> DuplicateGroup:
    """Stored edges between every two members, as the analysis leaves a group."""
    ids = sorted(group.members.values_list("document_id", flat=True))
    PairEdge.objects.bulk_create(
        [
            PairEdge(a_id=a, b_id=b, factors={}, confidence=score)
            for index, a in enumerate(ids)
            for b in ids[index + 1 :]
        ]
    )
    return group


def active(group: DuplicateGroup) -> set[int]:
    return set(group.members.filter(removed=False).values_list("document__paperless_id", flat=True))


def pending(plan: Plan) -> set[int]:
    return set(plan.items.filter(status="pending").values_list("paperless_id", flat=True))


def tagged(paperless: Any, tag_id: int) -> set[int]:
    return {doc.id for doc in paperless.state.documents.values() if tag_id in doc.tags}


@pytest.fixture
def five(paperless) -> dict[str, Any]:
    [entry] = library(paperless, size=5)
    linked(entry["group"])
    return entry


# --- 1. decisions take effect at once and bind every plan ----------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_not_a_duplicate_of_the_primary_leaves_the_group_before_the_page_returns(
    auth_client, five, htmx
):
    group, fakes = five["group"], five["fakes"]
    response = auth_client.post(
        reverse("group-pair-not-duplicate", args=[group.pk]),
        {"a": fakes[0].id, "b": fakes[2].id},
        headers={"HX-Request": "true", "HX-Target": "group-detail"} if htmx else {},
    )
    assert response.status_code == (200 if htmx else 302)
    assert active(group) == {fakes[0].id, fakes[1].id, fakes[3].id, fakes[4].id}
    page = auth_client.get(reverse("group-detail", args=[group.pk])).content.decode()
    assert f'id="member-{fakes[2].id}"' not in page


def test_bulk_dry_run_after_the_decision_neither_lists_nor_tags_the_document(
    auth_client, five, paperless
):
    group, fakes = five["group"], five["fakes"]
    protected = fakes[2].id
    auth_client.post(
        reverse("group-pair-not-duplicate", args=[group.pk]), {"a": fakes[0].id, "b": protected}
    )
    auth_client.post(
        reverse("plan-create"), {"action": "delete_duplicates", "all_matching": "1", "query": ""}
    )
    plan = Plan.objects.get()
    assert protected not in pending(plan)
    assert pending(plan) == {fakes[1].id, fakes[3].id, fakes[4].id}
    job = run(plan, dry_run=True)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert protected not in tagged(paperless, plan.tag_paperless_id)
    assert not AuditEntry.objects.filter(paperless_id=protected).exists()


def test_plan_made_before_the_decision_skips_the_document_when_confirmed(five, paperless):
    real_mode()
    group, fakes = five["group"], five["fakes"]
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[group.pk])
    assert fakes[3].id in pending(plan)
    review.mark_pair_not_duplicate(group, a=fakes[0].id, b=fakes[3].id, user=None)
    job = run(plan)
    assert job.status == Job.Status.SUCCEEDED, job.error
    item = plan.items.get(paperless_id=fakes[3].id)
    assert item.status == PlanItem.Status.SKIPPED and "not a duplicate" in item.reason
    assert fakes[3].id in paperless.state.live_ids()


def test_plan_confirmed_before_the_decision_skips_the_document_when_it_runs(five, paperless):
    from processing import jobs

    real_mode()
    group, fakes = five["group"], five["fakes"]
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[group.pk])
    job = actions.confirm_plan(plan=plan)
    # the decision lands while the job waits in the queue; the analysis may even have put the
    # document back in the group meanwhile: the run still checks the decision itself
    review.mark_pair_not_duplicate(group, a=fakes[0].id, b=fakes[4].id, user=None)
    GroupMember.objects.create(group=group, document=Document.objects.get(paperless_id=fakes[4].id))
    jobs.execute(job.pk)
    item = plan.items.get(paperless_id=fakes[4].id)
    assert item.status == PlanItem.Status.SKIPPED and "not a duplicate" in item.reason
    assert fakes[4].id in paperless.state.live_ids()
    assert sorted(set(paperless.state.live_ids()) & {f.id for f in fakes}) == sorted(
        [fakes[0].id, fakes[4].id]
    )


def test_group_marked_not_duplicates_is_left_out_of_every_plan(five, paperless):
    group = five["group"]
    review.set_status(group, status=DuplicateGroup.Status.NOT_DUPLICATE, user=None)
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[group.pk])
    assert pending(plan) == set()
    assert "not duplicates" in plan.items.get().reason


def test_one_document_delete_of_a_separated_document_is_refused(five):
    group, fakes = five["group"], five["fakes"]
    review.mark_pair_not_duplicate(group, a=fakes[0].id, b=fakes[1].id, user=None)
    GroupMember.objects.create(group=group, document=Document.objects.get(paperless_id=fakes[1].id))
    with pytest.raises(actions.PlanError, match="not a duplicate"):
        create_plan(action=Plan.Action.DELETE_DOCUMENT, document_id=fakes[1].id, group_id=group.pk)


# --- 2. the kept copy: a stated policy, its reason, and asking again -----------------------------


def test_policy_prefers_pages_then_text_then_born_digital_then_size_then_metadata_then_age():
    from datetime import date

    base = {"page_count": 1, "text_length": 900, "size": 1000, "added": date(2024, 1, 1)}
    extract = PrimaryFacts(id=1, **base)
    full = PrimaryFacts(id=2, **{**base, "page_count": 4, "size": 10})
    assert choose([extract, full]) == 2
    assert primary_reasons(full, [extract]) == ["4 pages"]
    no_text = PrimaryFacts(id=3, **{**base, "text_length": 0, "size": 9999})
    assert choose([no_text, extract]) == 1
    # same pages: a third of the text loses to the full text, whatever else it has
    partial = PrimaryFacts(id=12, born_digital=True, tag_count=5, **{**base, "text_length": 300})
    assert choose([partial, extract]) == 1
    assert primary_reasons(extract, [partial]) == ["more text (900 characters)"]
    # OCR noise is not "more text": the larger scan wins over 3 % more characters
    noisy = PrimaryFacts(id=13, **{**base, "text_length": 930})
    bigger = PrimaryFacts(id=14, **{**base, "size": 9000})
    assert choose([noisy, bigger]) == 14
    scan = PrimaryFacts(id=4, **{**base, "size": 5000})
    digital = PrimaryFacts(id=5, born_digital=True, **base)
    assert choose([scan, digital]) == 5
    assert choose([extract, scan]) == 4
    with_asn = PrimaryFacts(id=6, asn=12, **base)
    with_tags = PrimaryFacts(id=7, tag_count=3, **base)
    assert choose([with_tags, with_asn]) == 6
    older = PrimaryFacts(id=9, **{**base, "added": date(2020, 1, 1)})
    assert choose([extract, older]) == 9
    assert choose([PrimaryFacts(id=11, **base), PrimaryFacts(id=10, **base)]) == 10
    assert shortfalls(extract, full) == ["the kept #1 has 1 page, #2 has 4"]


def test_analysis_keeps_the_four_page_original_over_the_one_page_near_copy(analyse):
    from duplicates.tests.conftest import LETTER, feature, store_documents

    store_documents(
        [
            feature(1, LETTER + " Seite 1", page_count=1, archive_checksum="a" * 64),
            feature(2, LETTER + " Seite 1", page_count=4),
        ]
    )
    analyse()
    group = DuplicateGroup.objects.get()
    assert group.primary_id == 2
    explained = review.kept_explanation(review.group_for_review(group.pk))
    assert explained.summary == "kept: 4 pages"


def test_group_page_says_why_the_primary_is_kept_and_warns_when_a_person_keeps_less(
    auth_client, five
):
    group, docs = five["group"], five["docs"]
    Document.objects.filter(pk=docs[0].pk).update(page_count=4, content_length=4000)
    Document.objects.filter(pk__in=[d.pk for d in docs[1:]]).update(
        page_count=1, content_length=900
    )
    page = auth_client.get(reverse("group-detail", args=[group.pk])).content.decode()
    assert "kept: 4 pages" in page and 'id="kept-has-less"' not in page
    auth_client.post(
        reverse("group-set-primary", args=[group.pk]), {"document": docs[1].paperless_id}
    )
    page = auth_client.get(reverse("group-detail", args=[group.pk])).content.decode()
    assert "kept: chosen by a person" in page
    assert 'id="kept-has-less"' in page and f"#{docs[0].paperless_id} has 4" in page


def test_keeping_a_one_page_extract_asks_again_before_deleting_the_four_page_copy(
    auth_client, five, paperless
):
    real_mode()
    group, docs, fakes = five["group"], five["docs"], five["fakes"]
    Document.objects.filter(pk=docs[0].pk).update(page_count=4)
    Document.objects.filter(pk__in=[d.pk for d in docs[1:]]).update(page_count=1)
    review.choose_primary(group, paperless_id=docs[1].paperless_id, user=None)  # "Make primary"
    auth_client.post(reverse("plan-create"), {"action": "delete_duplicates", "pk": [group.pk]})
    plan = Plan.objects.get()
    confirmation = auth_client.get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert 'id="kept-has-less"' in confirmation and "has 4" in confirmation
    # confirming without saying "I know" is refused and asks again; nothing ran
    response = auth_client.post(reverse("plan-confirm", args=[plan.pk]), {"mode": "delete"})
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT and plan.job is None
    assert (
        "has less than one it would delete"
        in auth_client.get(response["Location"]).content.decode()
    )
    api = auth_client.post(
        f"/api/plans/{plan.pk}/confirm", data={}, content_type="application/json"
    )
    assert api.status_code == 409 and api.json()["code"] == "kept_has_less"
    auth_client.post(
        reverse("plan-confirm", args=[plan.pk]), {"mode": "delete", "accept_kept_has_less": "1"}
    )
    plan.refresh_from_db()
    assert plan.status == Plan.Status.QUEUED
    assert fakes[0].id in paperless.state.live_ids()  # queued, not run here


# --- 3. merging is on by default and the confirmation says what is carried over -----------------


def test_merge_is_on_by_default_and_the_confirmation_lists_what_is_carried_over(
    auth_client, five, paperless
):
    real_mode()
    group, docs = five["group"], five["docs"]
    paid = Tag.objects.create(paperless_id=501, name="Paid")
    docs[1].tags.add(paid)
    Document.objects.filter(pk=docs[1].pk).update(notes_count=2, archive_serial_number=77)
    auth_client.post(reverse("plan-create"), {"action": "delete_duplicates", "pk": [group.pk]})
    plan = Plan.objects.get()
    assert plan.merge_metadata
    page = auth_client.get(reverse("plan-detail", args=[plan.pk])).content.decode()
    assert "carries over to the kept document: tag Paid; 2 notes; ASN 77" in page
    assert 'name="merge_metadata" value="1" checked' in page
    api = auth_client.post(
        "/api/plans",
        data={"action": "delete_duplicates", "groups": [group.pk]},
        content_type="application/json",
    ).json()
    assert api["merge_metadata"] is True
    carried = {item["paperless_id"]: item["carry_over"] for item in api["items"]}
    assert carried[docs[1].paperless_id] == {"tags": ["Paid"], "notes": 2, "asn": 77}


# --- 4. "remove from group" asks first, and can be put back --------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_remove_from_group_asks_first(auth_client, five, htmx):
    group, fakes = five["group"], five["fakes"]
    response = auth_client.post(
        reverse("group-remove-member", args=[group.pk]),
        {"document": fakes[1].id},
        headers={"HX-Request": "true", "HX-Target": "group-detail"} if htmx else {},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="confirm-remove"' in html and 'name="confirm" value="1"' in html
    assert fakes[1].id in active(group)  # nothing happened yet


@pytest.mark.parametrize("htmx", [False, True])
def test_removed_document_is_listed_and_can_be_put_back(auth_client, five, htmx):
    group, fakes = five["group"], five["fakes"]
    auth_client.post(
        reverse("group-remove-member", args=[group.pk]), {"document": fakes[1].id, "confirm": "1"}
    )
    page = auth_client.get(reverse("group-detail", args=[group.pk])).content.decode()
    assert f'id="removed-{fakes[1].id}"' in page and "Put back" in page
    response = auth_client.post(
        reverse("group-put-back", args=[group.pk]),
        {"document": fakes[1].id},
        headers={"HX-Request": "true", "HX-Target": "group-detail"} if htmx else {},
    )
    assert response.status_code == (200 if htmx else 302)
    assert fakes[1].id in active(group)
    member = group.members.get(document__paperless_id=fakes[1].id)
    assert member.confidence == 0.95 and member.removed_at is None
    group.refresh_from_db()
    assert group.member_count == 5


def test_put_back_through_the_api_and_refused_when_in_another_group(auth_client, five):
    group, fakes, docs = five["group"], five["fakes"], five["docs"]
    review.remove_member(group, paperless_id=fakes[2].id, user=None)
    other = DuplicateGroup.objects.create(confidence=0.9, primary=docs[2], member_count=1)
    GroupMember.objects.create(group=other, document=docs[2], is_primary=True)
    url = f"/api/groups/{group.pk}/members/{fakes[2].id}/put-back"
    refused = auth_client.post(url)
    assert refused.status_code == 409 and refused.json()["code"] == "in_another_group"
    other.delete()
    answer = auth_client.post(url)
    assert answer.status_code == 200
    assert fakes[2].id in {m["paperless_id"] for m in answer.json()["members"]}
    assert answer.json()["removed"] == []


def test_removing_the_primary_gives_the_group_a_new_one_at_once(five):
    group, docs = five["group"], five["docs"]
    Document.objects.filter(pk=docs[3].pk).update(page_count=9)
    review.remove_member(group, paperless_id=docs[0].paperless_id, user=None)
    group.refresh_from_db()
    assert group.primary_id == docs[3].pk and not group.primary_chosen
