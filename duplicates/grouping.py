"""Stored groups from stored edges, keeping what a person decided; re-scoring stored edges.

Regrouping (:func:`regroup`) always runs on every stored edge at or above the threshold, with the
decisions from the database (``models.load_decisions``), through the engine's
:func:`~duplicates.engine.build_groups` (complete linkage: no chaining through a middle document).

How a new group inherits an old one (status, a chosen primary, its id, so links keep working):

* Groups marked "not duplicates" are the record of that decision: never matched, never changed
  (their pairs are "not duplicates" decisions, so the engine cannot rebuild them anyway).
* Every other old group is a candidate for each new group it shares at least one (not removed)
  member with. Pairs are taken greedily: most shared members first; on a tie a group a person
  touched (reviewed / resolved or a chosen primary) first, then the older group. Each old and
  each new group is used once.
* A matched group keeps its id, status (reviewed / resolved stay so when members arrive),
  creation time, and its removed members (still listed as removed). Its chosen primary stays
  chosen when it is still the group's primary (the engine keeps chosen primaries primary).
  ``members_changed_at`` records that the analysis added or dropped members.
* Old groups left unmatched are deleted; new groups left unmatched are created with status "new".

Re-scoring (:func:`rescore_edges`): a confidence is a function of the stored factors and the
weights, so changing weights or switching a factor off re-computes every edge's confidence from
its factors (no texts, no signatures) and regroups. Every analysis starts by comparing the
configuration's scoring key with the one the stored edges were scored under
(``AnalysisStatus.scoring_key``) and re-scores when they differ.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from documents.models import Document
from duplicates.engine import (
    Decisions,
    DocFeatures,
    Group,
    PairScore,
    ScoringConfig,
    confidence,
    primary_quality,
)
from duplicates.engine import build_groups as engine_build_groups
from duplicates.models import (
    AnalysisStatus,
    DuplicateGroup,
    GroupMember,
    PairEdge,
    load_decisions,
    scoring_key,
)

logger = logging.getLogger(__name__)

ID_CHUNK = 900


def chunked(items: Sequence, size: int = ID_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- re-scoring ------------------------------------------------------------------------------


def rescore_edges(*, scoring: ScoringConfig, batch_size: int = 2000) -> int:
    """Re-compute every stored edge's confidence from its factors; returns how many changed."""
    changed = 0
    last_pk = 0
    while True:
        rows = list(
            PairEdge.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", "factors", "confidence")[:batch_size]
        )
        if not rows:
            break
        last_pk = rows[-1][0]
        updates = []
        for pk, factors, old in rows:
            new = round(confidence(factors, config=scoring), 6)
            if abs(new - old) > 1e-9:
                updates.append(PairEdge(pk=pk, confidence=new))
        PairEdge.objects.bulk_update(updates, ["confidence"], batch_size=500)
        changed += len(updates)
    status = AnalysisStatus.objects.get_solo()
    status.scoring_key = scoring_key(scoring)
    status.save(update_fields=["scoring_key"])
    return changed


def ensure_scoring(*, scoring: ScoringConfig) -> int | None:
    """Re-score stored edges when the weights changed since they were scored; ``None`` when
    nothing had to be done, else how many confidences changed."""
    status = AnalysisStatus.objects.get_solo()
    if status.scoring_key == scoring_key(scoring):
        return None
    if not PairEdge.objects.exists():
        status.scoring_key = scoring_key(scoring)
        status.save(update_fields=["scoring_key"])
        return None
    return rescore_edges(scoring=scoring)


# --- regrouping ------------------------------------------------------------------------------


def _primary_keys(document_ids: Sequence[int]) -> dict[int, tuple]:
    tag_counts: dict[int, int] = {}
    through = Document.tags.through
    keys: dict[int, tuple] = {}
    for ids in chunked(list(document_ids)):
        for doc_id in through.objects.filter(document_id__in=ids).values_list(
            "document_id", flat=True
        ):
            tag_counts[doc_id] = tag_counts.get(doc_id, 0) + 1
        for row in Document.objects.filter(pk__in=ids).values(
            "pk",
            "correspondent_id",
            "document_type_id",
            "created",
            "added",
            "page_count",
            "title",
            "archive_checksum",
            "archived_file_name",
            "content_length",
        ):
            features = DocFeatures(
                id=row["pk"],
                correspondent_id=row["correspondent_id"],
                document_type_id=row["document_type_id"],
                created=row["created"],
                added=row["added"].date() if row["added"] else None,
                page_count=row["page_count"],
                title=row["title"],
                has_archive=bool(row["archive_checksum"] or row["archived_file_name"]),
                tag_count=tag_counts.get(row["pk"], 0),
            )
            quality = primary_quality(features)
            # the engine's order, with the stored text length in place of len(text)
            keys[row["pk"]] = (*quality[:3], row["content_length"], *quality[4:], -row["pk"])
    return keys


def compute_groups(*, threshold: float, decisions: Decisions) -> list[Group]:
    """The engine's groups over every stored edge at or above ``threshold``."""
    edges = [
        PairScore(a=a, b=b, factors={}, confidence=score)
        for a, b, score in PairEdge.objects.strong(threshold=threshold).values_list(
            "a_id", "b_id", "confidence"
        )
    ]
    involved = sorted({e.a for e in edges} | {e.b for e in edges})
    keys = _primary_keys(involved)

    def choose(members: Sequence[int]) -> int:
        return max(members, key=lambda m: keys[m])

    placeholder = {doc_id: DocFeatures(id=doc_id) for doc_id in involved}
    return engine_build_groups(
        edges, docs=placeholder, threshold=threshold, decisions=decisions, choose_primary=choose
    )


@dataclass(slots=True)
class _OldGroup:
    pk: int
    touched: bool
    members: set[int]


def match_groups(
    new_groups: Sequence[Group], old_groups: Sequence[_OldGroup]
) -> dict[int, _OldGroup]:
    """Index of a new group -> the old group it inherits (see the module docstring)."""
    owner: dict[int, list[_OldGroup]] = {}
    for old in old_groups:
        for doc_id in old.members:
            owner.setdefault(doc_id, []).append(old)
    candidates = []
    for index, group in enumerate(new_groups):
        shared: dict[int, int] = {}
        by_pk: dict[int, _OldGroup] = {}
        for doc_id in group.members:
            for old in owner.get(doc_id, ()):
                shared[old.pk] = shared.get(old.pk, 0) + 1
                by_pk[old.pk] = old
        for pk, count in shared.items():
            candidates.append((-count, not by_pk[pk].touched, pk, index, by_pk[pk]))
    candidates.sort(key=lambda c: c[:4])
    taken_old: set[int] = set()
    matched: dict[int, _OldGroup] = {}
    for _count, _untouched, pk, index, old in candidates:
        if pk in taken_old or index in matched:
            continue
        taken_old.add(pk)
        matched[index] = old
    return matched


def regroup(
    *,
    threshold: float,
    decisions: Decisions | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Rebuild the stored groups from the stored edges, keeping a person's decisions."""
    now = now or timezone.now()
    decisions = decisions if decisions is not None else load_decisions()
    new_groups = compute_groups(threshold=threshold, decisions=decisions)
    if progress:
        progress(f"Saving {len(new_groups)} groups")
    with transaction.atomic():
        old_rows = DuplicateGroup.objects.exclude(status=DuplicateGroup.Status.NOT_DUPLICATE)
        old_by_pk: dict[int, _OldGroup] = {}
        old_state: dict[int, tuple] = {}
        for pk, status, chosen, primary_id, score in old_rows.values_list(
            "pk", "status", "primary_chosen", "primary_id", "confidence"
        ):
            touched = status != DuplicateGroup.Status.NEW or chosen
            old_by_pk[pk] = _OldGroup(pk=pk, touched=touched, members=set())
            old_state[pk] = (primary_id, chosen, round(score, 6))
        old_members: dict[int, set[tuple[int, float | None]]] = {}
        member_rows: dict[tuple[int, int], tuple[int, datetime]] = {}
        removed_pairs: set[tuple[int, int]] = set()
        for pk, group_id, doc_id, removed, added_at, score in GroupMember.objects.filter(
            group_id__in=old_rows.values("pk")
        ).values_list("pk", "group_id", "document_id", "removed", "added_at", "confidence"):
            if removed:
                removed_pairs.add((group_id, doc_id))
            else:
                old_by_pk[group_id].members.add(doc_id)
                member_rows[(group_id, doc_id)] = (pk, added_at)
                old_members.setdefault(group_id, set()).add(
                    (doc_id, None if score is None else round(score, 6))
                )
        matched = match_groups(new_groups, list(old_by_pk.values()))
        chosen = dict(
            DuplicateGroup.objects.filter(pk__in=[o.pk for o in matched.values()]).values_list(
                "pk", "primary_id"
            )
        )
        chosen_flags = dict(
            DuplicateGroup.objects.filter(
                pk__in=[o.pk for o in matched.values()], primary_chosen=True
            ).values_list("pk", "primary_chosen")
        )

        keep_pks = {old.pk for old in matched.values()}
        dropped = [pk for pk in old_by_pk if pk not in keep_pks]
        deleted = 0
        for pks in chunked(dropped):
            deleted += (
                DuplicateGroup.objects.filter(pk__in=pks)
                .delete()[1]
                .get(DuplicateGroup._meta.label, 0)
            )

        updates: list[DuplicateGroup] = []
        unchanged: set[int] = set()
        creates: list[tuple[int, DuplicateGroup]] = []
        for index, group in enumerate(new_groups):
            old = matched.get(index)
            if old is None:
                creates.append(
                    (
                        index,
                        DuplicateGroup(
                            confidence=group.confidence,
                            primary_id=group.primary,
                            member_count=len(group.members),
                            created_at=now,
                            updated_at=now,
                            members_changed_at=now,
                        ),
                    )
                )
                continue
            primary_chosen = bool(chosen_flags.get(old.pk) and chosen.get(old.pk) == group.primary)
            members_now = {
                (m, None if m == group.primary else round(group.member_confidence[m], 6))
                for m in group.members
            }
            same = (group.primary, primary_chosen, round(group.confidence, 6))
            if old_state[old.pk] == same and members_now == old_members.get(old.pk, set()):
                unchanged.add(old.pk)  # nothing to write for this group
                continue
            row = DuplicateGroup(pk=old.pk)
            row.confidence = group.confidence
            row.primary_id = group.primary
            row.primary_chosen = primary_chosen
            row.member_count = len(group.members)
            row.updated_at = now
            row.members_changed_at = None
            if set(group.members) != old.members:
                row.members_changed_at = now
            updates.append(row)
        DuplicateGroup.objects.bulk_update(
            [u for u in updates if u.members_changed_at is not None],
            ["confidence", "primary", "primary_chosen", "member_count", "updated_at",
             "members_changed_at"],
            batch_size=500,
        )  # fmt: skip
        DuplicateGroup.objects.bulk_update(
            [u for u in updates if u.members_changed_at is None],
            ["confidence", "primary", "primary_chosen", "member_count", "updated_at"],
            batch_size=500,
        )
        created = DuplicateGroup.objects.bulk_create([g for _, g in creates], batch_size=500)
        group_pk: dict[int, int] = {index: old.pk for index, old in matched.items()}
        for (index, _), row in zip(creates, created, strict=True):
            group_pk[index] = row.pk

        # members: replace the active rows of kept groups, keep removed rows and join times
        for pks in chunked(sorted(keep_pks - unchanged)):
            GroupMember.objects.filter(group_id__in=pks, removed=False).delete()
        members: list[GroupMember] = []
        for index, group in enumerate(new_groups):
            pk = group_pk[index]
            if pk in unchanged:
                continue
            for doc_id in group.members:
                if (pk, doc_id) in removed_pairs:
                    continue
                previous = member_rows.get((pk, doc_id))
                members.append(
                    GroupMember(
                        group_id=pk,
                        document_id=doc_id,
                        confidence=group.member_confidence.get(doc_id),
                        is_primary=doc_id == group.primary,
                        added_at=previous[1] if previous else now,
                    )
                )
        GroupMember.objects.bulk_create(members, batch_size=1000)
    return {
        "groups": len(new_groups),
        "groups_created": len(creates),
        "groups_kept": len(matched),
        "groups_deleted": deleted,
        "groups_unchanged": len(unchanged),
        "grouped_documents": sum(len(g.members) for g in new_groups),
    }
