from datetime import date

from duplicates.engine.grouping import build_groups, primary_quality
from duplicates.engine.types import Decisions, DocFeatures, PairScore

THRESHOLD = 0.7


def _docs(*ids, overrides=None):
    overrides = overrides or {}
    return {i: DocFeatures(id=i, text="x" * 10, **overrides.get(i, {})) for i in ids}


def _edge(a, b, confidence=0.9):
    return PairScore(a=a, b=b, factors={}, confidence=confidence)


def _member_sets(groups):
    return sorted(sorted(g.members) for g in groups)


def test_a_middle_document_does_not_chain_two_unrelated_ones():
    edges = [_edge(1, 2, 0.95), _edge(2, 3, 0.9)]
    groups = build_groups(edges, docs=_docs(1, 2, 3), threshold=THRESHOLD)
    assert _member_sets(groups) == [[1, 2]]


def test_a_weak_link_to_the_third_document_does_not_chain_either():
    edges = [_edge(1, 2, 0.95), _edge(2, 3, 0.9), _edge(1, 3, 0.4)]
    groups = build_groups(edges, docs=_docs(1, 2, 3), threshold=THRESHOLD)
    assert _member_sets(groups) == [[1, 2]]


def test_fully_linked_documents_form_one_group():
    edges = [_edge(1, 2), _edge(2, 3), _edge(1, 3)]
    groups = build_groups(edges, docs=_docs(1, 2, 3), threshold=THRESHOLD)
    assert _member_sets(groups) == [[1, 2, 3]]


def test_not_duplicate_decision_keeps_a_pair_apart():
    edges = [_edge(1, 2), _edge(2, 3), _edge(1, 3)]
    decisions = Decisions(not_duplicate={frozenset((1, 3))})
    groups = build_groups(edges, docs=_docs(1, 2, 3), threshold=THRESHOLD, decisions=decisions)
    for group in groups:
        assert not {1, 3} <= set(group.members)
    assert _member_sets(groups) == [[1, 2]]


def test_removed_member_stays_out_of_its_former_group():
    edges = [_edge(1, 2), _edge(2, 3), _edge(1, 3)]
    decisions = Decisions(removed={3: frozenset({1, 2})})
    groups = build_groups(edges, docs=_docs(1, 2, 3), threshold=THRESHOLD, decisions=decisions)
    assert _member_sets(groups) == [[1, 2]]


def test_chosen_primary_is_kept_when_a_better_document_arrives():
    docs = _docs(1, 2, 3, overrides={3: {"page_count": 10, "has_archive": True}})
    edges = [_edge(1, 2), _edge(2, 3), _edge(1, 3)]
    decisions = Decisions(primaries={1})
    groups = build_groups(edges, docs=docs, threshold=THRESHOLD, decisions=decisions)
    assert groups[0].primary == 1
    assert build_groups(edges, docs=docs, threshold=THRESHOLD)[0].primary == 3


def test_two_chosen_primaries_are_never_merged():
    edges = [_edge(1, 2), _edge(2, 3), _edge(1, 3), _edge(3, 4), _edge(1, 4), _edge(2, 4)]
    decisions = Decisions(primaries={1, 3})
    groups = build_groups(edges, docs=_docs(1, 2, 3, 4), threshold=THRESHOLD, decisions=decisions)
    for group in groups:
        assert not {1, 3} <= set(group.members)


def test_primary_is_the_best_document_by_the_stated_policy():
    """Most pages, then the full text (issue 10's policy; it used to be "original kept, then
    archive", which kept a copy with a ninth of the text)."""
    docs = {
        1: DocFeatures(id=1, text="a" * 900, page_count=1, original_kept=True),
        2: DocFeatures(id=2, text="a" * 100, page_count=3, original_kept=True, has_archive=True),
        3: DocFeatures(id=3, text="a" * 900, page_count=3, original_kept=False, has_archive=True),
    }
    edges = [_edge(1, 2), _edge(2, 3), _edge(1, 3)]
    assert build_groups(edges, docs=docs, threshold=THRESHOLD)[0].primary == 3


def test_older_document_wins_a_tie():
    older = DocFeatures(id=5, created=date(2020, 1, 1))
    newer = DocFeatures(id=6, created=date(2023, 1, 1))
    assert primary_quality(older) > primary_quality(newer)


def test_choose_primary_hook_overrides_quality():
    edges = [_edge(1, 2)]
    groups = build_groups(
        edges, docs=_docs(1, 2), threshold=THRESHOLD, choose_primary=lambda members: 2
    )
    assert groups[0].primary == 2


def test_group_confidence_is_the_mean_link_to_the_primary():
    # Groups are no longer complete-linkage cliques above the threshold (a member may be held by
    # many strong links and one weaker one), so "the weakest link" would state a group below
    # the threshold it was built with; the mean of the members' links to the primary does not.
    docs = _docs(1, 2, 3, overrides={1: {"page_count": 5}})
    edges = [_edge(1, 2, 0.95), _edge(1, 3, 0.8), _edge(2, 3, 0.9)]
    group = build_groups(edges, docs=docs, threshold=THRESHOLD)[0]
    assert group.primary == 1
    assert group.member_confidence == {2: 0.95, 3: 0.8}
    assert group.confidence == 0.875


def test_one_weaker_link_among_strong_ones_does_not_split_a_group():
    # the born-digital PDF (1), its image-only PDF (2) and two scans (3, 4): the scan 4's OCR
    # came out worse, so its pair with 1 is weak; every other pair is strong
    edges = [_edge(a, b, 0.97) for a, b in ((1, 2), (1, 3), (2, 3), (2, 4), (3, 4))]
    edges.append(_edge(1, 4, 0.45))
    groups = build_groups(edges, docs=_docs(1, 2, 3, 4), threshold=THRESHOLD, floor=0.15)
    assert _member_sets(groups) == [[1, 2, 3, 4]]


def test_a_pair_below_the_floor_keeps_its_documents_apart():
    edges = [_edge(a, b, 0.97) for a, b in ((1, 2), (1, 3), (2, 3), (2, 4), (3, 4))]
    edges.append(_edge(1, 4, 0.05))  # scored, and clearly different (another month's bill)
    groups = build_groups(edges, docs=_docs(1, 2, 3, 4), threshold=THRESHOLD, floor=0.15)
    assert _member_sets(groups) == [[1, 2, 3]]


def test_a_missing_pair_is_a_veto_however_strong_the_rest():
    edges = [_edge(a, b, 0.99) for a, b in ((1, 2), (1, 3), (2, 3), (2, 4), (3, 4))]
    groups = build_groups(edges, docs=_docs(1, 2, 3, 4), threshold=THRESHOLD, floor=0.15)
    for group in groups:
        assert not {1, 4} <= set(group.members)


def test_the_closest_documents_merge_first():
    # 1-2 are near copies; 3 is close to both, 4 only to 3: {1, 2, 3} and 4 alone
    edges = [_edge(1, 2, 0.99), _edge(1, 3, 0.8), _edge(2, 3, 0.8), _edge(3, 4, 0.75)]
    groups = build_groups(edges, docs=_docs(1, 2, 3, 4), threshold=THRESHOLD, floor=0.15)
    assert _member_sets(groups) == [[1, 2, 3]]


def test_members_linked_at_exactly_the_threshold_stay_together():
    # the mean of three 0.95s is 0.9499999999999998 in floating point
    edges = [_edge(a, b, 0.95) for a in range(1, 5) for b in range(a + 1, 5)]
    groups = build_groups(edges, docs=_docs(1, 2, 3, 4), threshold=0.95)
    assert _member_sets(groups) == [[1, 2, 3, 4]]


def test_ties_merge_in_id_order_whatever_the_rounding_of_the_means():
    # all pairs equal, one forbidden: the first document keeps everyone but the one it was
    # separated from (a mean of three 0.95s must not lose a tie to a pair of 0.95)
    ids = [10, 11, 12, 13, 14]
    edges = [_edge(a, b, 0.95) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    decisions = Decisions(not_duplicate={frozenset((10, 12))}, primaries={10})
    groups = build_groups(edges, docs=_docs(*ids), threshold=0.95, decisions=decisions)
    assert _member_sets(groups) == [[10, 11, 13, 14]]
