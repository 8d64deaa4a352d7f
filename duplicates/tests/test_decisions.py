"""A person's decisions survive every re-analysis, incremental or full; weights re-score."""

from __future__ import annotations

import pytest

from dedupe_project.models import Configuration
from documents.models import Document
from duplicates.models import (
    AnalysisStatus,
    DocumentSketch,
    DuplicateGroup,
    GroupMember,
    PairDecision,
    PairEdge,
)
from duplicates.tests.conftest import LETTER, change_text, feature, page, store_documents

FULL = [False, True]


def active_members(group: DuplicateGroup) -> set[int]:
    return set(group.members.filter(removed=False).values_list("document_id", flat=True))


@pytest.fixture
def trio(analyse) -> DuplicateGroup:
    """Three copies of one letter in one group, plus an unrelated document."""
    store_documents(
        [
            feature(1, LETTER),
            feature(2, LETTER + " Anlage 1"),
            feature(3, LETTER + " Anlage 2"),
            feature(4, page(4)),
        ]
    )
    analyse()
    group = DuplicateGroup.objects.get()
    assert active_members(group) == {1, 2, 3}
    return group


@pytest.mark.parametrize("full", FULL)
def test_not_duplicate_pair_is_never_grouped_again(trio, analyse, full):
    PairDecision.objects.record_not_duplicate(document_ids=[1, 3])

    analyse(full=full)

    for group in DuplicateGroup.objects.all():
        assert not {1, 3} <= active_members(group)
    assert PairEdge.objects.between(1, 3).exists()  # the pair is still scored, only not grouped


@pytest.mark.parametrize("full", FULL)
def test_removed_member_stays_removed_and_listed_as_removed(trio, analyse, full):
    trio.remove_member(3)

    analyse(full=full)

    group = DuplicateGroup.objects.get(pk=trio.pk)
    assert active_members(group) == {1, 2}
    assert GroupMember.objects.get(group=group, document_id=3).removed
    assert not GroupMember.objects.filter(document_id=3, removed=False).exists()


@pytest.mark.parametrize("full", FULL)
def test_reviewed_group_keeps_id_and_status_when_a_new_member_arrives(trio, analyse, full):
    trio.set_status(DuplicateGroup.Status.REVIEWED)
    store_documents([feature(5, LETTER + " Anlage 3")])

    counts = analyse(full=full)

    group = DuplicateGroup.objects.get()
    assert group.pk == trio.pk
    assert group.status == DuplicateGroup.Status.REVIEWED
    assert active_members(group) == {1, 2, 3, 5}
    assert group.members_changed_at is not None
    if not full:
        assert counts["compared"] == 1


@pytest.mark.parametrize("full", FULL)
def test_chosen_primary_stays_primary_when_a_better_document_arrives(trio, analyse, full):
    trio.choose_primary(2)
    store_documents([feature(5, LETTER + " Anlage 3", page_count=9, archive_checksum="f" * 32)])
    Document.objects.filter(pk=5).update(archived_file_name="better.pdf")

    analyse(full=full)

    group = DuplicateGroup.objects.get(pk=trio.pk)
    assert active_members(group) == {1, 2, 3, 5}
    assert group.primary_id == 2 and group.primary_chosen
    assert GroupMember.objects.get(group=group, document_id=2).is_primary


def test_choosing_a_primary_moves_the_primary_flag_and_confidences_at_once(trio, analyse):
    analyse()
    trio.refresh_from_db()
    old = trio.primary_id
    new = next(m.document_id for m in trio.members.all() if m.document_id != old)
    trio.choose_primary(new)
    flags = dict(GroupMember.objects.filter(group=trio).values_list("document_id", "is_primary"))
    assert [doc for doc, primary in flags.items() if primary] == [new]
    member = GroupMember.objects.get(group=trio, document_id=old)
    assert member.confidence is not None  # now relative to the new primary
    assert GroupMember.objects.get(group=trio, document_id=new).confidence is None


def test_without_a_choice_the_better_document_becomes_primary(trio, analyse):
    store_documents([feature(5, LETTER + " Anlage 3", page_count=9, archive_checksum="f" * 32)])

    analyse()

    assert DuplicateGroup.objects.get(pk=trio.pk).primary_id == 5


def test_resolved_group_survives_when_its_text_changes_but_it_still_matches(trio, analyse):
    trio.set_status(DuplicateGroup.Status.RESOLVED)
    change_text(3, LETTER + " Anlage 2 ergänzt")

    analyse()

    group = DuplicateGroup.objects.get()
    assert (group.pk, group.status) == (trio.pk, DuplicateGroup.Status.RESOLVED)


def test_group_marked_not_duplicate_is_kept_as_the_record_and_never_rebuilt(trio, analyse):
    trio.mark_not_duplicate()

    analyse(full=True)

    assert list(DuplicateGroup.objects.values_list("pk", "status")) == [
        (trio.pk, DuplicateGroup.Status.NOT_DUPLICATE)
    ]
    assert PairDecision.objects.count() == 3


def test_weight_change_rescores_stored_factors_without_new_signatures(trio, analyse):
    before = dict(PairEdge.objects.values_list("pk", "confidence"))
    sketched = dict(DocumentSketch.objects.values_list("document_id", "computed_at"))
    config = Configuration.objects.get_solo()
    weights = {name: dict(entry) for name, entry in config.factor_weights.items()}
    weights["characters"]["weight"] = 5.0  # the shared letters now count five times
    config.apply({"factor_weights": weights})

    counts = analyse()

    assert counts["rescored_edges"] > 0
    assert counts["compared"] == 0 and counts["signatures_computed"] == 0
    after = dict(PairEdge.objects.values_list("pk", "confidence"))
    assert after.keys() == before.keys()
    assert after != before
    assert dict(DocumentSketch.objects.values_list("document_id", "computed_at")) == sketched
    assert AnalysisStatus.objects.get_solo().scoring_key


def test_raising_the_threshold_above_every_pair_dissolves_the_group(trio, analyse):
    config = Configuration.objects.get_solo()
    assert trio.confidence < 1.0
    config.apply({"duplicate_threshold": 1.0})

    analyse()

    assert not DuplicateGroup.objects.exists()
