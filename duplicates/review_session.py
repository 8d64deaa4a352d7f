"""Review mode: one group at a time, one key per decision, every decision collected into one draft
plan that a person confirms at the end on the plan page (which lists every document).

* ``keep`` (``k``, or ``1``-``9`` to keep another member): the group's other documents become
  items of the draft plan, built by the same code as any plan (:func:`duplicates.actions.
  _items_for_groups`), so every safety rule of plans holds: nothing is deleted until the plan is
  confirmed, and each document is re-checked against Paperless before it is touched. Choosing
  another member to keep makes it the group's primary (a person's choice, as on the group page).
* ``not_duplicate`` (``n``) closes the group at once, exactly as "Not duplicates" on the group
  page; a plan made later leaves it alone.
* ``skip`` (``s``) only moves on.
* ``undo`` (``u``) takes the last decision back: the plan loses the group's items, the primary
  and the status are what they were before.

A group is decided once per plan: deciding it again (after going back to it) replaces the earlier
decision. The order is the groups list's, with its filters; groups already decided in the plan
are passed over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max

from dedupe_project.models import Configuration
from duplicates import review
from duplicates.models import DuplicateGroup, Plan, PlanItem, ReviewDecision

Kind = ReviewDecision.Kind


class DecisionError(ValueError):
    """The decision cannot be taken (an unknown document, a group without a primary)."""


def _who(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def current_plan(user: Any) -> Plan | None:
    """The person's review plan still awaiting confirmation, if any."""
    return (
        Plan.objects.filter(review=True, status=Plan.Status.DRAFT, created_by=_who(user))
        .order_by("-pk")
        .first()
    )


def plan_for(user: Any) -> Plan:
    """The person's review plan awaiting confirmation, started when there is none."""
    plan = current_plan(user)
    if plan is not None:
        return plan
    config = Configuration.objects.get_solo()
    plan = Plan(
        action=Plan.Action.DELETE_DUPLICATES,
        review=True,
        created_by=_who(user),
        dry_run=config.dry_run,
        merge_metadata=True,
    )
    if plan.dry_run:
        plan.tag_paperless_id = config.dry_run_tag_id
        plan.tag_name = config.dry_run_tag_name
    plan.save()
    return plan


def _take_back(plan: Plan, decision: ReviewDecision, *, user: Any) -> None:
    """Undo what ``decision`` changed, and forget it."""
    group = DuplicateGroup.objects.filter(pk=decision.group_id).first()
    if decision.kind == Kind.KEEP:
        plan.items.filter(group_id=decision.group_id).delete()
        plan.group_ids = [pk for pk in plan.group_ids if pk != decision.group_id]
        plan.save(update_fields=["group_ids"])
        if (
            group is not None
            and decision.previous_primary_id is not None
            and group.primary_id != decision.previous_primary_id
            and group.members.filter(
                document_id=decision.previous_primary_id, removed=False
            ).exists()
        ):
            group.choose_primary(decision.previous_primary_id, user=user)
            group.primary_chosen = decision.previous_primary_chosen
            group.save(update_fields=["primary_chosen"])
    elif decision.kind == Kind.NOT_DUPLICATE and group is not None:
        review.set_status(
            group, status=decision.previous_status or DuplicateGroup.Status.NEW, user=user
        )
    decision.delete()


def decide(
    *, group: DuplicateGroup, kind: str, user: Any, keep_paperless_id: int | None = None
) -> ReviewDecision:
    """Record one decision on ``group`` in the person's review plan (see the module docstring).
    ``keep_paperless_id`` names the member to keep (default: the primary)."""
    if kind not in Kind.values:
        raise DecisionError(f"Unknown decision {kind!r}: use keep, not_duplicate or skip.")
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan_for(user).pk)
        earlier = plan.review_decisions.filter(group_id=group.pk).first()
        if earlier is not None:
            _take_back(plan, earlier, user=user)
            group.refresh_from_db()
        decision = ReviewDecision(
            plan=plan,
            group_id=group.pk,
            kind=kind,
            previous_primary_id=group.primary_id,
            previous_primary_chosen=group.primary_chosen,
            previous_status=group.status,
            created_by=_who(user),
        )
        if kind == Kind.KEEP:
            if keep_paperless_id is not None:
                try:
                    current = group.primary.paperless_id if group.primary_id else None
                    if keep_paperless_id != current:
                        review.choose_primary(group, paperless_id=keep_paperless_id, user=user)
                        group.refresh_from_db()
                except review.NotAMember as exc:
                    raise DecisionError(str(exc)) from exc
            if group.primary_id is None:
                raise DecisionError("The group has no primary: choose the document to keep.")
            decision.kept_paperless_id = group.primary.paperless_id
            _add_items(plan, group.pk)
        elif kind == Kind.NOT_DUPLICATE:
            review.set_status(group, status=DuplicateGroup.Status.NOT_DUPLICATE, user=user)
        decision.save()
    return decision


def _add_items(plan: Plan, group_id: int) -> None:
    from duplicates.actions import ITEM_BATCH, _items_for_groups

    last = plan.items.aggregate(last=Max("position"))["last"]
    start = 0 if last is None else last + 1
    items = _items_for_groups(plan, [group_id])
    for offset, item in enumerate(items):
        item.position = start + offset
    PlanItem.objects.bulk_create(items, batch_size=ITEM_BATCH)
    plan.group_ids = [*plan.group_ids, group_id]
    plan.save(update_fields=["group_ids"])


def undo_last(*, user: Any) -> ReviewDecision | None:
    """Take the person's last decision back; returns it (unsaved) or None when there is none."""
    with transaction.atomic():
        plan = current_plan(user)
        if plan is None:
            return None
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        last = plan.review_decisions.order_by("-pk").first()
        if last is None:
            return None
        _take_back(plan, last, user=user)
        return last


# --- the order ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where a group stands in the review: the neighbours and how much is left."""

    previous: int | None
    next: int | None
    after_next: int | None
    remaining: int
    decided: int


def position(*, order: Sequence[int], decided: Sequence[int], current: int | None) -> Position:
    """Neighbours of ``current`` (a group id): going back walks the decisions taken, most recent
    first; going on walks them forward again, then the groups not decided yet in ``order``."""
    done = set(decided)
    undecided = [pk for pk in order if pk not in done]
    if current in done:
        index = list(decided).index(current)
        previous = decided[index - 1] if index > 0 else None
        later = list(decided[index + 1 :])
        start = 0
    else:
        previous = decided[-1] if decided else None
        later = []
        start = undecided.index(current) + 1 if current in undecided else 0
    ahead = later + [pk for pk in undecided[start:] if pk != current]
    return Position(
        previous=previous,
        next=ahead[0] if ahead else None,
        after_next=ahead[1] if len(ahead) > 1 else None,
        remaining=len([pk for pk in undecided if pk != current]),
        decided=len(done),
    )


def first_undecided(*, order: Sequence[int], decided: Sequence[int]) -> int | None:
    done = set(decided)
    return next((pk for pk in order if pk not in done), None)


# --- the one-line reason ---------------------------------------------------------------------


def _pages(count: int | None) -> str:
    return f"{count} page{'s' if count != 1 else ''}" if count else "an unknown number of pages"


def reason_line(*, left: Any, right: Any, factors: dict[str, Any] | None) -> str:
    """Why two documents look like duplicates, in one line: what they share, then the likely
    cause ("same text, same 4 pages; scanned twice")."""
    factors = factors or {}
    same_file = bool(left.original_checksum) and left.original_checksum == right.original_checksum
    if same_file or factors.get("checksum") == 1:
        return f"the same file, {_pages(left.page_count)}; uploaded twice"
    text = max(float(factors.get("fuzzy") or 0), float(factors.get("jaccard") or 0))
    contained = float(factors.get("containment") or 0)
    parts = []
    if not factors:
        parts.append("no stored comparison of their texts")
    elif factors.get("fuzzy") is None and factors.get("jaccard") is None:
        parts.append("too little text to compare")  # under 3 words: the engine compared none
    elif text >= 0.98:
        parts.append("same text")
    elif text >= 0.85:
        parts.append("nearly the same text")
    elif contained >= 0.9:
        parts.append("one text contains the other")
    else:
        parts.append(f"text {round(text * 100)}% alike")
    if left.page_count and left.page_count == right.page_count:
        parts.append(f"same {_pages(left.page_count)}")
    elif left.page_count or right.page_count:
        parts.append(f"{_pages(left.page_count)} and {_pages(right.page_count)}")
    if factors.get("discriminative") == 0:
        cause = "dates or amounts differ: check they are really the same"
    elif contained >= 0.9 and left.page_count != right.page_count:
        cause = "one looks like a part of the other"
    elif text >= 0.85 and float(factors.get("image") or 0) >= 0.8:
        cause = "scanned twice"
    elif text >= 0.85:
        cause = "the same document in two files"
    else:
        cause = "look alike"
    return f"{', '.join(parts)}; {cause}"
