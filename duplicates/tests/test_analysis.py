"""The analysis over documents in the database: what it finds, what it stores, what it touches."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from documents.models import Document
from duplicates.analysis import run_analysis
from duplicates.engine import ScoringConfig
from duplicates.engine.corpus import generate_corpus
from duplicates.models import DocumentSketch, DuplicateGroup, GroupMember, PairEdge
from duplicates.tests.conftest import LETTER, change_text, feature, page, store_documents
from processing.models import Job


def member_sets() -> list[set[int]]:
    return sorted(
        (
            set(group.members.filter(removed=False).values_list("document_id", flat=True))
            for group in DuplicateGroup.objects.all()
        ),
        key=sorted,
    )


def test_analysis_groups_the_rescans_of_the_labelled_corpus_and_stores_sketches(analyse):
    corpus = generate_corpus(seed=3, per_kind=2, background=30)
    store_documents(corpus.docs)

    counts = analyse()

    assert counts["mode"] == "full"  # nothing analysed before: the first run is full
    assert DocumentSketch.objects.count() == len(corpus.docs)
    together = {frozenset(s) for s in member_sets()}
    for kind in ("exact_copy", "rescan_3", "misread_digit"):
        cases = [doc_id for doc_id, k in corpus.kind.items() if k == kind]
        assert cases, kind
        for doc_id in cases:
            cluster = {d for d, c in corpus.cluster.items() if c == corpus.cluster[doc_id]}
            assert any(cluster <= group for group in together), (kind, cluster)
    for group in together:  # same-template bills with other values stay apart
        bills = {corpus.cluster[d] for d in group if corpus.kind.get(d) == "template_bill"}
        assert len(bills) <= 1, group
    # an extract is part of its document, not a duplicate: kept as an edge, never grouped
    scoring = ScoringConfig()
    for doc_id in (d for d, k in corpus.kind.items() if k == "extract"):
        cluster = {d for d, c in corpus.cluster.items() if c == corpus.cluster[doc_id]}
        assert not any(cluster <= group for group in together), cluster
    part_of = PairEdge.objects.part_of(scoring=scoring).values_list("a_id", "b_id")
    extracts = {d for d, k in corpus.kind.items() if k == "extract"}
    assert extracts and {a for a, _ in part_of} | {b for _, b in part_of} >= extracts
    assert not Document.objects.filter(needs_analysis=True).exists()


def test_analysis_of_a_synced_library_finds_the_planted_duplicates(paperless, analyse, run_job):
    seeded = paperless.seed(documents=60, duplicate_ratio=0.2)
    sync = run_job("sync", full=True)
    assert sync.status == "succeeded", sync.error

    analyse()

    pk_of = dict(Document.objects.values_list("paperless_id", "pk"))
    together = [frozenset(s) for s in member_sets()]
    copies = [pair for pair in seeded.duplicate_pairs if pair.kind != "extract"]
    extracts = [pair for pair in seeded.duplicate_pairs if pair.kind == "extract"]
    found = [
        pair
        for pair in copies
        if any({pk_of[pair.original_id], pk_of[pair.duplicate_id]} <= g for g in together)
    ]
    assert copies and extracts
    assert {(p.original_id, p.duplicate_id) for p in found} == {
        (p.original_id, p.duplicate_id) for p in copies
    }
    # an extract is part of its document: shown as such, never grouped with it
    part_of = {
        frozenset(pair)
        for pair in PairEdge.objects.part_of(scoring=ScoringConfig()).values_list("a_id", "b_id")
    }
    for pair in extracts:
        both = frozenset((pk_of[pair.original_id], pk_of[pair.duplicate_id]))
        assert both in part_of
        assert not any(both <= g for g in together)


def test_a_document_and_its_two_halves_are_related_but_never_grouped(analyse):
    first, second = page(1), page(2)
    store_documents(
        [
            feature(1, first),
            feature(2, first + "\n" + second, page_count=2),
            feature(3, second),
        ]
    )

    analyse()

    edges = {(e.a_id, e.b_id): e.confidence for e in PairEdge.objects.all()}
    assert (1, 2) in edges and (2, 3) in edges  # the whole contains each half
    # Each half is *part of* the whole, not a duplicate of it (the old engine grouped the whole
    # with one half, and a deletion plan could then trash the longer document): no group, the
    # two relations are shown, and the halves are never linked to each other.
    assert member_sets() == []
    part_of = set(PairEdge.objects.part_of(scoring=ScoringConfig()).values_list("a_id", "b_id"))
    assert part_of == {(1, 2), (2, 3)}


def test_incremental_run_compares_only_the_changed_document(analyse):
    store_documents([feature(n, page(n)) for n in range(1, 21)] + [feature(21, page(5))])
    analyse()
    assert member_sets() == [{5, 21}]
    untouched = dict(PairEdge.objects.values_list("pk", "computed_at"))
    sketched = dict(DocumentSketch.objects.values_list("document_id", "computed_at"))

    change_text(7, page(9))  # document 7 now carries document 9's text
    counts = analyse()

    assert counts["mode"] == "incremental"
    assert counts["compared"] == 1
    assert counts["signatures_computed"] == 1
    assert member_sets() == [{5, 21}, {7, 9}]
    assert dict(PairEdge.objects.filter(pk__in=untouched).values_list("pk", "computed_at")) == {
        pk: at for pk, at in untouched.items() if PairEdge.objects.filter(pk=pk).exists()
    }
    now = dict(DocumentSketch.objects.values_list("document_id", "computed_at"))
    assert [doc for doc in now if now[doc] != sketched[doc]] == [7]


def test_run_with_nothing_changed_compares_nothing_and_keeps_groups(analyse):
    store_documents([feature(1, LETTER), feature(2, LETTER + " Anlage"), feature(3, page(3))])
    analyse()
    group = DuplicateGroup.objects.get()

    counts = analyse()

    assert counts["compared"] == 0
    assert DuplicateGroup.objects.get().pk == group.pk


def test_full_run_recompares_everything_and_drops_edges_not_found_again(analyse):
    store_documents([feature(1, LETTER), feature(2, LETTER + " Anlage"), feature(3, page(3))])
    analyse()
    ghost = PairEdge.objects.create(a_id=1, b_id=3, factors={"jaccard": 1.0}, confidence=0.99)

    counts = analyse(full=True)

    assert counts["mode"] == "full" and counts["compared"] == 3
    assert not PairEdge.objects.filter(pk=ghost.pk).exists()
    assert member_sets() == [{1, 2}]


def test_a_document_deleted_by_the_sync_drops_out_and_its_group_dissolves(analyse):
    store_documents([feature(1, LETTER), feature(2, LETTER + " Anlage"), feature(3, page(3))])
    analyse()
    assert DuplicateGroup.objects.count() == 1

    Document.objects.remove_gone([2])  # what the sync calls

    assert not GroupMember.objects.filter(document_id=2).exists()
    counts = run_analysis(workers=1)
    assert counts["dissolved_groups"] == 1
    assert DuplicateGroup.objects.count() == 0
    assert not PairEdge.objects.exists()


def test_documents_synced_while_the_analysis_ran_stay_flagged(analyse):
    store_documents([feature(1, LETTER), feature(2, page(2))])
    Document.objects.filter(pk=2).update(last_synced_at=timezone.now() + timedelta(minutes=5))

    analyse()

    assert list(Document.objects.filter(needs_analysis=True).values_list("pk", flat=True)) == [2]


def test_a_sync_that_changed_documents_queues_an_incremental_analysis(paperless, run_job):
    paperless.seed(documents=5)

    sync = run_job("sync", full=True)
    again = run_job("sync")

    assert sync.status == again.status == "succeeded"
    queued = Job.objects.filter(kind=Job.Kind.ANALYSIS)
    assert queued.count() == 1  # the second sync changed nothing
    assert queued.get().params == {"full": False}


def test_an_empty_library_and_one_of_images_only_analyse_to_no_groups(analyse):
    assert analyse(full=True)["groups"] == 0  # nothing synced yet: no signatures at all

    store_documents([feature(1, ""), feature(2, "")])  # no text: no MinHash to index
    counts = analyse(full=True)

    assert counts["groups"] == 0 and not DuplicateGroup.objects.exists()
