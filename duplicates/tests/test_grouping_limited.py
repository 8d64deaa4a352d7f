"""A limited regroup (only the closure of the documents that changed) leaves exactly the groups a
full regroup would, on randomized graphs with a person's decisions and deleted documents."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from documents.models import Document
from duplicates import grouping
from duplicates.models import (
    AnalysisStatus,
    DuplicateGroup,
    GroupMember,
    PairDecision,
    PairEdge,
    load_decisions,
)
from duplicates.tests.conftest import feature, store_documents

THRESHOLD = 0.8
DOCS = 70


class Rollback(Exception):
    pass


def snapshot(before: set[int]) -> list[tuple]:
    """Every group as the pages show it; groups created by this regroup get -1 (their pks
    differ from one run to the other)."""
    members: dict[int, list[tuple]] = {}
    for group_id, doc_id, removed, score, primary in GroupMember.objects.values_list(
        "group_id", "document_id", "removed", "confidence", "is_primary"
    ):
        members.setdefault(group_id, []).append(
            (doc_id, removed, None if score is None else round(score, 6), primary)
        )
    return sorted(
        (
            pk if pk in before else -1,
            status,
            primary_id,
            chosen,
            round(confidence, 6),
            count,
            tuple(sorted(members.get(pk, []))),
        )
        for pk, status, primary_id, chosen, confidence, count in DuplicateGroup.objects.values_list(
            "pk", "status", "primary_id", "primary_chosen", "confidence", "member_count"
        )
    )


def random_edges(rng: random.Random, docs: list[int], count: int) -> None:
    for _ in range(count):
        a, b = sorted(rng.sample(docs, 2))
        PairEdge.objects.update_or_create(
            a_id=a, b_id=b, defaults={"confidence": round(rng.uniform(0.6, 1.0), 6)}
        )


def regroup_both_ways(seeds: set[int]) -> tuple[list, list, dict, dict]:
    """The outcome of a limited and of a full regroup from the same state (each rolled back)."""
    before = set(DuplicateGroup.objects.values_list("pk", flat=True))
    outcomes = []
    for limited in (True, False):
        try:
            with transaction.atomic():
                counts = grouping.regroup(
                    threshold=THRESHOLD, seeds=seeds if limited else None, now=timezone.now()
                )
                outcomes.append((snapshot(before), counts))
                raise Rollback()
        except Rollback:
            pass
    (limited_groups, limited_counts), (full_groups, full_counts) = outcomes
    return limited_groups, full_groups, limited_counts, full_counts


@pytest.mark.parametrize("seed", range(12))
def test_limited_regroup_gives_the_full_regroups_groups(db, seed):
    rng = random.Random(seed)
    store_documents([feature(n, "", page_count=rng.randint(1, 4)) for n in range(1, DOCS + 1)])
    docs = list(range(1, DOCS + 1))
    # clusters of near-copies plus random cross links, so components are of every size
    for start in range(1, DOCS, 5):
        cluster = docs[start - 1 : start - 1 + rng.randint(2, 5)]
        for i, a in enumerate(cluster):
            for b in cluster[i + 1 :]:
                if rng.random() < 0.85:
                    PairEdge.objects.create(a_id=a, b_id=b, confidence=rng.uniform(0.75, 1.0))
    random_edges(rng, docs, 25)
    grouping.regroup(threshold=THRESHOLD)
    assert AnalysisStatus.objects.get_solo().scoring_key.endswith(f"@{THRESHOLD!r}")
    groups = list(DuplicateGroup.objects.all())
    assert len(groups) >= 5
    # a person's decisions, some before and some after the last run
    for group in rng.sample(groups, 3):
        group.set_status(rng.choice(["reviewed", "resolved"]))
    since = timezone.now()
    chosen, removed_from, refused, deleted_in = rng.sample(groups, 4)
    other = next(m.document_id for m in chosen.members.all() if m.document_id != chosen.primary_id)
    chosen.choose_primary(other)
    removed_from.remove_member(rng.choice(list(removed_from.members.all())).document_id)
    refused_ids = list(refused.members.values_list("document_id", flat=True))
    PairDecision.objects.record_not_duplicate(document_ids=refused_ids[:2])
    # a document deleted in Paperless (its edges and membership cascade)
    gone = rng.choice(list(deleted_in.members.values_list("document_id", flat=True)))
    Document.objects.filter(pk=gone).delete()
    # new and changed documents: their edges replaced
    changed = set(rng.sample([d for d in docs if d != gone], 6))
    touched = set(changed)
    old = PairEdge.objects.touching(changed)
    for a, b in old.values_list("a_id", "b_id"):
        touched.update((a, b))
    old.delete()
    alive = [d for d in docs if d != gone]
    for doc_id in changed:
        for other_id in rng.sample(alive, 3):
            if other_id != doc_id:
                a, b = sorted((doc_id, other_id))
                PairEdge.objects.update_or_create(
                    a_id=a, b_id=b, defaults={"confidence": rng.uniform(0.7, 1.0)}
                )
                touched.update((a, b))

    seeds = grouping.changed_since(since)
    assert seeds is not None
    assert set(refused_ids[:2]) <= seeds and other in seeds
    DuplicateGroup.objects.dissolve_broken()
    # the analysis passes the changed documents with their old and new partners; the closure
    # alone (through the old groups) must be enough with the changed documents only
    limited, full, limited_counts, full_counts = regroup_both_ways(
        seeds | (touched if seed % 2 else changed)
    )

    assert limited_counts["regroup_limited"] is True
    assert full_counts["regroup_limited"] is False
    assert limited == full
    for name in ("groups", "grouped_documents"):
        assert limited_counts[name] == full_counts[name], name
    assert limited_counts["regrouped_documents"] <= full_counts["regrouped_documents"]


def test_limited_regroup_without_changes_touches_nothing_and_a_full_one_agrees(db):
    rng = random.Random(99)
    store_documents([feature(n, "") for n in range(1, 41)])
    random_edges(rng, list(range(1, 41)), 60)
    grouping.regroup(threshold=THRESHOLD)

    limited, full, counts, _ = regroup_both_ways(set())

    assert limited == full
    assert counts["regrouped_documents"] == 0
    assert counts["groups_unchanged"] == counts["groups"] == DuplicateGroup.objects.count()


def test_another_threshold_makes_the_regroup_full(db):
    rng = random.Random(7)
    store_documents([feature(n, "") for n in range(1, 31)])
    random_edges(rng, list(range(1, 31)), 40)
    grouping.regroup(threshold=0.9)

    counts = grouping.regroup(threshold=THRESHOLD, seeds=set())

    assert counts["regroup_limited"] is False
    assert counts["groups"] == len(grouping.compute_groups(threshold=THRESHOLD,
                                                           decisions=load_decisions()))  # fmt: skip


def test_changed_since_needs_a_previous_run_and_sees_decisions_after_it(db):
    store_documents([feature(n, "") for n in range(1, 5)])
    assert grouping.changed_since(None) is None
    since = timezone.now()
    PairDecision.objects.create(a_id=1, b_id=2, decided_at=since - timedelta(minutes=1))
    PairDecision.objects.create(a_id=3, b_id=4, decided_at=since + timedelta(seconds=1))

    assert grouping.changed_since(since) == {3, 4}


def reference_closure(seeds, edges, memberships) -> set[int]:
    linked: dict[int, set[int]] = {}
    for a, b, _ in edges:
        linked.setdefault(a, set()).add(b)
        linked.setdefault(b, set()).add(a)
    for members in memberships.values():
        for doc_id in members:
            linked.setdefault(doc_id, set()).update(members)
    found, todo = set(seeds), list(seeds)
    while todo:
        for other in linked.get(todo.pop(), ()):
            if other not in found:
                found.add(other)
                todo.append(other)
    return found


@pytest.mark.parametrize("seed", range(20))
def test_closure_is_everything_reachable_over_edges_and_old_groups(seed):
    rng = random.Random(seed)
    docs = rng.randint(2, 400)
    edges = [(*sorted(rng.sample(range(1, docs + 1), 2)), 0.9) for _ in range(rng.randint(0, docs))]
    memberships: dict[int, list[int]] = {}
    free = list(range(1, docs + 1))
    rng.shuffle(free)
    for pk in range(1, rng.randint(1, docs // 2 + 1)):
        size = rng.randint(2, 4)
        if len(free) < size:
            break
        memberships[pk * 7] = [free.pop() for _ in range(size)]
    seeds = set(rng.sample(range(1, docs + 1), rng.randint(0, min(docs, 10))))
    seeds.add(docs + 5)  # a document with no edge and no group (a new one) is its own closure

    found = grouping.closure(seeds, edges=edges, memberships=memberships)

    assert found == reference_closure(seeds, edges, memberships)
