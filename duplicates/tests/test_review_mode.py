"""Review mode: one group at a time, one key per decision, decisions collected into one draft
plan confirmed at the end; undo puts a group back exactly; the order follows the list's filters."""

from __future__ import annotations

import pytest
from django.urls import reverse

from duplicates import review_session
from duplicates.models import DuplicateGroup, PairDecision, Plan, PlanItem, ReviewDecision
from duplicates.review_session import position, reason_line
from duplicates.tests.groupfactory import factors, make_group

pytestmark = pytest.mark.django_db


def groups(count: int, *, members: int = 2) -> list[DuplicateGroup]:
    return [make_group(pair_factors=[factors()] * (members - 1)) for _ in range(count)]


def decide_url(group: DuplicateGroup) -> str:
    return reverse("review-decide", kwargs={"group_id": group.pk})


def pids(group: DuplicateGroup) -> list[int]:
    return [m.document.paperless_id for m in group.members.select_related("document")]


# --- the decisions --------------------------------------------------------------------------------


def test_keep_puts_the_others_in_one_draft_plan_and_deletes_nothing(admin_user):
    first, second = groups(2, members=3)
    review_session.decide(group=first, kind="keep", user=admin_user)
    review_session.decide(group=second, kind="keep", user=admin_user)

    plan = Plan.objects.get(review=True)
    assert plan.status == Plan.Status.DRAFT and plan.action == Plan.Action.DELETE_DUPLICATES
    assert plan.group_ids == [first.pk, second.pk]
    items = list(plan.items.order_by("position"))
    assert [i.position for i in items] == [0, 1, 2, 3]
    kept = {first.pk: first.primary.paperless_id, second.pk: second.primary.paperless_id}
    for item in items:
        assert item.status == PlanItem.Status.PENDING
        assert item.kept_paperless_id == kept[item.group_id] != item.paperless_id


def test_groups_of_two_add_one_item_each_after_the_last(admin_user):
    groups_of_two = groups(3)
    for group in groups_of_two:
        review_session.decide(group=group, kind="keep", user=admin_user)
    plan = Plan.objects.get(review=True)
    assert list(plan.items.order_by("position").values_list("position", flat=True)) == [0, 1, 2]


def test_a_number_keeps_another_member_which_becomes_the_primary(admin_user):
    group = groups(1, members=3)[0]
    other = [pid for pid in pids(group) if pid != group.primary.paperless_id][1]

    review_session.decide(group=group, kind="keep", user=admin_user, keep_paperless_id=other)

    group.refresh_from_db()
    assert group.primary.paperless_id == other and group.primary_chosen
    plan = Plan.objects.get(review=True)
    assert {i.kept_paperless_id for i in plan.items.all()} == {other}
    assert other not in set(plan.items.values_list("paperless_id", flat=True))


def test_not_duplicates_closes_the_group_at_once(admin_user):
    group = groups(1)[0]
    review_session.decide(group=group, kind="not_duplicate", user=admin_user)
    group.refresh_from_db()
    assert group.status == DuplicateGroup.Status.NOT_DUPLICATE
    assert PairDecision.objects.count() == 1
    assert not PlanItem.objects.exists()


def test_undo_takes_each_decision_back_exactly(admin_user):
    keep, closed, skipped = groups(3, members=3)
    old_primary = keep.primary_id
    other = next(pid for pid in pids(keep) if pid != keep.primary.paperless_id)
    review_session.decide(group=keep, kind="keep", user=admin_user, keep_paperless_id=other)
    review_session.decide(group=closed, kind="not_duplicate", user=admin_user)
    review_session.decide(group=skipped, kind="skip", user=admin_user)

    assert review_session.undo_last(user=admin_user).group_id == skipped.pk
    assert review_session.undo_last(user=admin_user).group_id == closed.pk
    closed.refresh_from_db()
    assert closed.status == DuplicateGroup.Status.NEW and not PairDecision.objects.exists()
    assert review_session.undo_last(user=admin_user).group_id == keep.pk
    keep.refresh_from_db()
    assert keep.primary_id == old_primary and not keep.primary_chosen
    plan = Plan.objects.get(review=True)
    assert plan.group_ids == [] and not plan.items.exists()
    assert review_session.undo_last(user=admin_user) is None


def test_deciding_a_group_again_replaces_the_earlier_decision(admin_user):
    group = groups(1)[0]
    review_session.decide(group=group, kind="keep", user=admin_user)
    review_session.decide(group=group, kind="not_duplicate", user=admin_user)
    plan = Plan.objects.get(review=True)
    assert list(plan.review_decisions.values_list("kind", flat=True)) == ["not_duplicate"]
    assert plan.group_ids == [] and not plan.items.exists()


def test_a_confirmed_review_plan_is_not_added_to_again(admin_user):
    first, second = groups(2)
    review_session.decide(group=first, kind="keep", user=admin_user)
    Plan.objects.filter(review=True).update(status=Plan.Status.QUEUED)
    review_session.decide(group=second, kind="keep", user=admin_user)
    plans = list(Plan.objects.filter(review=True).order_by("pk"))
    assert [p.group_ids for p in plans] == [[first.pk], [second.pk]]


def test_each_person_has_their_own_review_plan(admin_user, reviewer_user):
    first, second = groups(2)
    review_session.decide(group=first, kind="keep", user=admin_user)
    review_session.decide(group=second, kind="skip", user=reviewer_user)
    assert review_session.current_plan(admin_user).group_ids == [first.pk]
    assert review_session.current_plan(reviewer_user).group_ids == []


def test_an_unknown_decision_or_document_is_refused(admin_user):
    group = groups(1)[0]
    with pytest.raises(review_session.DecisionError):
        review_session.decide(group=group, kind="delete_everything", user=admin_user)
    with pytest.raises(review_session.DecisionError):
        review_session.decide(group=group, kind="keep", user=admin_user, keep_paperless_id=1)
    assert not ReviewDecision.objects.exists()


# --- the order ------------------------------------------------------------------------------------


def test_position_goes_on_through_undecided_groups_and_back_through_decisions():
    order = [1, 2, 3, 4, 5]
    assert position(order=order, decided=[], current=1).next == 2
    at_three = position(order=order, decided=[1, 2], current=3)
    assert (at_three.previous, at_three.next, at_three.after_next) == (2, 4, 5)
    assert at_three.remaining == 2 and at_three.decided == 2
    # back on a decided group: previous and next walk the decisions, then the undecided ones
    back = position(order=order, decided=[1, 2], current=1)
    assert (back.previous, back.next) == (None, 2)
    assert position(order=order, decided=[1, 2], current=2).next == 3
    # a decided group that left the filter (now "not duplicates") still has a next
    assert position(order=[3, 4], decided=[1, 2], current=2).next == 3
    assert position(order=order, decided=order, current=5).next is None


def test_reason_line_says_what_they_share_and_the_likely_cause():
    class Doc:
        def __init__(self, pages, checksum=""):
            self.page_count, self.original_checksum = pages, checksum

    assert reason_line(left=Doc(4), right=Doc(4), factors=factors(fuzzy=0.99)) == (
        "same text, same 4 pages; scanned twice"
    )
    assert reason_line(left=Doc(2, "x"), right=Doc(2, "x"), factors={}) == (
        "the same file, 2 pages; uploaded twice"
    )
    line = reason_line(
        left=Doc(3), right=Doc(1), factors=factors(fuzzy=0.5, jaccard=0.4, containment=0.95)
    )
    assert (
        line
        == "one text contains the other, 3 pages and 1 page; one looks like a part of the other"
    )
    assert "dates or amounts differ" in reason_line(
        left=Doc(1), right=Doc(1), factors=factors(discriminative=0)
    )
    # a receipt of 20 words is compared (the short-text model); only under 3 words is nothing
    short = factors(text_reliable=0, fuzzy=0.99)
    assert reason_line(left=Doc(1), right=Doc(1), factors=short).startswith("same text")
    assert reason_line(
        left=Doc(1), right=Doc(1), factors=factors(fuzzy=None, jaccard=None, image=0.9)
    ).startswith("too little text to compare")


# --- the pages ------------------------------------------------------------------------------------


def test_review_starts_at_the_first_new_group_of_the_filters(auth_client):
    done, first, _second = groups(3)
    done.set_status(DuplicateGroup.Status.REVIEWED)
    response = auth_client.get(reverse("review-start"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("review-group", args=[first.pk]))
    assert "status=new" in response["Location"]


def test_review_page_full_and_htmx(auth_client):
    group, following = groups(2, members=3)
    url = reverse("review-group", args=[group.pk])
    full = auth_client.get(url)
    html = full.content.decode()
    assert full.status_code == 200 and "<html" in html and 'id="review"' in html
    assert full["Server-Timing"].startswith("app;dur=")
    assert "same text, same 1 page; scanned twice" in html.lower()
    for pid in pids(group):
        assert reverse("document-page", kwargs={"paperless_id": pid, "page": 1}) in html or (
            f"Keep #{pid}" in html
        )
    # the next group's first page is prefetched
    next_page = reverse(
        "document-page", kwargs={"paperless_id": following.primary.paperless_id, "page": 1}
    )
    assert f'data-prefetch="{next_page}' in html
    partial = auth_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and 'id="review"' in partial


def test_deciding_answers_the_next_group_and_pushes_its_url(auth_client):
    first, second = groups(2)
    response = auth_client.post(
        decide_url(first), {"decision": "keep", "query": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert f'data-group="{second.pk}"' in response.content.decode()
    assert response["HX-Push-Url"].startswith(reverse("review-group", args=[second.pk]))
    assert Plan.objects.get(review=True).group_ids == [first.pk]


def test_deciding_without_javascript_redirects_to_the_next_group(auth_client):
    first, second = groups(2)
    response = auth_client.post(decide_url(first), {"decision": "skip", "query": "status=new"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("review-group", args=[second.pk]))


def test_after_the_last_group_the_summary_offers_the_plan(auth_client):
    (only,) = groups(1)
    response = auth_client.post(decide_url(only), {"decision": "keep", "query": ""})
    assert response["Location"].startswith(reverse("review-done"))
    summary = auth_client.get(response["Location"]).content.decode()
    assert "1 group kept" in summary and reverse("review-finish") in summary
    finish = auth_client.post(reverse("review-finish"), {"query": ""})
    plan = Plan.objects.get(review=True)
    assert finish["Location"].startswith(reverse("plan-detail", args=[plan.pk]))
    # the existing confirmation page lists every document of the plan
    page = auth_client.get(finish["Location"]).content.decode()
    for item in plan.items.all():
        assert f"#{item.paperless_id}" in page


def test_undo_by_post_shows_the_group_again(auth_client):
    first, _second = groups(2)
    auth_client.post(decide_url(first), {"decision": "not_duplicate", "query": ""})
    response = auth_client.post(reverse("review-undo"), {"query": ""})
    assert response["Location"].startswith(reverse("review-group", args=[first.pk]))
    first.refresh_from_db()
    assert first.status == DuplicateGroup.Status.NEW


def test_a_decided_group_says_so_and_a_group_in_another_plan_says_it_is_handled(
    auth_client, admin_user
):
    from duplicates.actions import create_plan

    first, second = groups(2)
    create_plan(action=Plan.Action.DELETE_DUPLICATES, user=admin_user, group_ids=[second.pk])
    auth_client.post(decide_url(first), {"decision": "skip", "query": ""})
    again = auth_client.get(reverse("review-group", args=[first.pk])).content.decode()
    assert 'data-decision="skip"' in again
    other = auth_client.get(reverse("review-group", args=[second.pk])).content.decode()
    assert "Already handled: in plan #" in other


def test_a_viewer_sees_the_review_but_cannot_decide(viewer_client):
    (group,) = groups(1)
    page = viewer_client.get(reverse("review-group", args=[group.pk]))
    assert page.status_code == 200 and "review-decide" not in page.content.decode()
    assert reverse("review-decide", args=[group.pk]) not in page.content.decode()
    refused = viewer_client.post(decide_url(group), {"decision": "keep"})
    assert refused.status_code == 403
    assert not ReviewDecision.objects.exists()


# --- groups already handled -----------------------------------------------------------------------


def test_groups_in_a_running_plan_or_tagged_by_a_dry_run_drop_out_of_new(auth_client, admin_user):
    from dedupe_project.models import Configuration
    from documents.models import Tag

    queued, tagged, plain = groups(3)
    plan = Plan.objects.create(action=Plan.Action.DELETE_DUPLICATES, status=Plan.Status.QUEUED)
    PlanItem.objects.create(plan=plan, position=0, group_id=queued.pk, paperless_id=1)
    tag = Tag.objects.create(paperless_id=777, name="dedupe: dry run")
    Configuration.objects.filter(pk=Configuration.objects.get_solo().pk).update(dry_run_tag_id=777)
    tagged.members.exclude(document_id=tagged.primary_id).first().document.tags.add(tag)

    assert set(DuplicateGroup.objects.handled().values_list("pk", flat=True)) == {
        queued.pk,
        tagged.pk,
    }
    new = auth_client.get(reverse("group-list"), {"status": "new"}).content.decode()
    assert f'id="group-{plain.pk}"' in new
    assert f'id="group-{queued.pk}"' not in new and f'id="group-{tagged.pk}"' not in new
    assert 'id="handled-hidden"' in new
    shown = auth_client.get(reverse("group-list"), {"status": "new", "handled": "show"})
    html = shown.content.decode()
    assert f'id="group-{queued.pk}"' in html and "already handled" in html
    # every status: nothing hidden, the handled ones say so
    everything = auth_client.get(reverse("group-list")).content.decode()
    assert f'id="group-{tagged.pk}"' in everything and 'id="handled-hidden"' not in everything
    # review goes through the new groups not handled
    start = auth_client.get(reverse("review-start"))
    assert start["Location"].startswith(reverse("review-group", args=[plain.pk]))


def test_a_group_kept_in_a_review_counts_as_handled_and_a_skipped_one_does_not(admin_user):
    kept, skipped = groups(2)
    review_session.decide(group=kept, kind="keep", user=admin_user)
    review_session.decide(group=skipped, kind="skip", user=admin_user)
    assert list(DuplicateGroup.objects.handled().values_list("pk", flat=True)) == [kept.pk]
