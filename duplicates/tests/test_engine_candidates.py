import random
from dataclasses import replace

import pytest

from duplicates.engine.candidates import (
    CandidateConfig,
    LibraryIndex,
    candidate_pairs,
    hamming_neighbours,
    lsh_pairs,
)
from duplicates.engine.corpus import generate_corpus
from duplicates.engine.signatures import SignatureParams, compute_sketches

PARAMS = SignatureParams()


def _index(docs):
    return LibraryIndex.build(
        ids=[d.id for d in docs],
        sketches=compute_sketches([d.text for d in docs], params=PARAMS),
        checksums=[(d.checksum, d.archive_checksum) for d in docs],
        phash=[d.phash for d in docs],
        layout=[d.layout for d in docs],
    )


def _corpus():
    return generate_corpus(seed=3, per_kind=4, background=20)


def _pairs_of_kind(corpus, kind):
    rows = {d.id: row for row, d in enumerate(corpus.docs)}
    by_cluster = {}
    for doc in corpus.docs:
        if corpus.kind[doc.id] == kind:
            by_cluster.setdefault(corpus.cluster[doc.id], []).append(rows[doc.id])
    return [tuple(sorted(m)) for m in by_cluster.values() if len(m) == 2]


def test_numpy_and_datasketch_lsh_backends_find_the_same_pairs():
    corpus = _corpus()
    index = _index(corpus.docs)
    config = CandidateConfig()
    ours = lsh_pairs(index, config=config, params=PARAMS)
    theirs = lsh_pairs(index, config=replace(config, lsh_backend="datasketch"), params=PARAMS)
    assert ours
    assert ours == theirs


def test_lsh_query_for_some_documents_matches_the_full_run_restricted_to_them():
    corpus = _corpus()
    index = _index(corpus.docs)
    config = CandidateConfig()
    everything = candidate_pairs(index, config=config, params=PARAMS)
    query = [corpus.docs[i].id for i in range(0, len(corpus.docs), 5)]
    rows = {index.row_of[i] for i in query}
    expected = {p for p in everything if p[0] in rows or p[1] in rows}
    assert set(candidate_pairs(index, config=config, params=PARAMS, query_ids=query)) == expected


def test_one_page_extract_of_a_three_page_scan_is_a_candidate():
    corpus = _corpus()
    found = candidate_pairs(_index(corpus.docs), config=CandidateConfig(), params=PARAMS)
    extracts = _pairs_of_kind(corpus, "extract")
    assert extracts
    for pair in extracts:
        assert "containment" in found[pair]


def test_image_only_documents_are_candidates_through_their_page_layouts():
    corpus = _corpus()
    found = candidate_pairs(_index(corpus.docs), config=CandidateConfig(), params=PARAMS)
    for pair in _pairs_of_kind(corpus, "image_only"):
        assert "image" in found[pair]


def test_exact_copies_are_candidates_through_their_checksum():
    corpus = _corpus()
    found = candidate_pairs(_index(corpus.docs), config=CandidateConfig(), params=PARAMS)
    for pair in _pairs_of_kind(corpus, "exact_copy"):
        assert "checksum" in found[pair]


@pytest.mark.parametrize("brute_force_limit", [0, 10_000])
def test_hamming_neighbours_finds_exactly_the_pairs_within_the_distance(brute_force_limit):
    rng = random.Random(5)
    values = [rng.getrandbits(64) for _ in range(300)]
    values += [v ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64)) for v in values[:50]]
    found = {
        (i, j)
        for i, j, _ in hamming_neighbours(
            values, max_distance=6, brute_force_limit=brute_force_limit
        )
    }
    brute = {
        (i, j)
        for i in range(len(values))
        for j in range(i + 1, len(values))
        if (values[i] ^ values[j]).bit_count() <= 6
    }
    assert len(brute) >= 50
    assert found == brute
