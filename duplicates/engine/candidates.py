"""Candidate pairs from several passes over a :class:`LibraryIndex`.

Passes (each tags the pairs it proposes, see ``PairScore.sources``):

``checksum``
    identical original or archive checksums.
``lsh``
    MinHash LSH banding with ``(bands, rows)`` chosen by datasketch's ``MinHashLSH`` optimiser
    for a threshold set *below* the decision threshold. Two backends give the same pairs:
    ``"numpy"`` (default; every band is reduced to a 64-bit key and equal keys are found by
    sorting, vectorised) and ``"datasketch"`` (a real ``MinHashLSH`` fed ``LeanMinHash``
    objects; use it with datasketch's Redis storage when the index outgrows memory).
``containment``
    an inverted index of content-defined anchor shingles (see :mod:`.signatures`), restricted to
    anchors that occur in few documents (rare shingles), so an extract or a scan with missing
    pages meets its full document even when their Jaccard similarity is low.
``image``
    page-layout neighbours (Hamming distance of :func:`.layout.layout_bits`) and phash neighbours
    among documents with little or no text, found with multi-index hashing: split into
    ``max_distance + 1`` bands, any pair within the distance agrees exactly on at least one band
    (pigeonhole); then verified with a popcount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from datasketch import MinHashLSH

from .layout import layout_bits
from .signatures import SignatureParams, Sketch, to_lean_minhash
from .types import DocId

_EMPTY = np.uint32(0xFFFFFFFF)
_KEY_PRIME = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True, slots=True)
class CandidateConfig:
    """Limits of the candidate passes.

    ``lsh_threshold`` is an estimated Jaccard similarity well below what the decision threshold
    needs (noisy rescans have a shingle Jaccard of 0.5-0.7). ``max_bucket`` caps the documents
    taken from one LSH bucket (thousands of identical templates would otherwise give millions of
    pairs). Anchors shared by more than ``anchor_max_df`` documents are boilerplate and ignored.
    Perceptual-hash neighbours are searched only among documents with fewer than
    ``short_text_tokens`` tokens.
    """

    lsh_threshold: float = 0.3
    lsh_backend: str = "numpy"
    max_bucket: int = 256
    anchor_max_df: int = 32
    anchor_min_shared: int = 3
    anchor_min_containment: float = 0.3
    short_text_tokens: int = 25
    phash_max_distance: int = 10
    layout_max_distance: int = 70


@dataclass(slots=True)
class LibraryIndex:
    """Everything the candidate passes need, for every document of the library, as arrays."""

    ids: list[DocId]
    minhash: np.ndarray
    anchors: list[np.ndarray]
    token_counts: np.ndarray
    checksums: list[tuple[str | None, str | None]]
    phash: list[int | bytes | None]
    layout: list[bytes | None]
    row_of: dict[DocId, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        ids: Sequence[DocId],
        sketches: Sequence[Sketch],
        checksums: Sequence[tuple[str | None, str | None]],
        phash: Sequence[int | bytes | None],
        layout: Sequence[bytes | None],
    ) -> LibraryIndex:
        num_perm = len(sketches[0].minhash) if sketches else 0
        matrix = np.empty((len(sketches), num_perm), dtype=np.uint32)
        for row, sketch in enumerate(sketches):
            matrix[row] = sketch.minhash
        return cls(
            ids=list(ids),
            minhash=matrix,
            anchors=[sketch.anchors for sketch in sketches],
            token_counts=np.array([s.token_count for s in sketches], dtype=np.int64),
            checksums=list(checksums),
            phash=list(phash),
            layout=list(layout),
            row_of={doc_id: row for row, doc_id in enumerate(ids)},
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        ids: Sequence[DocId],
        minhash: np.ndarray,
        anchors: list[np.ndarray],
        token_counts: np.ndarray,
        checksums: Sequence[tuple[str | None, str | None]],
        phash: Sequence[int | bytes | None],
        layout: Sequence[bytes | None],
    ) -> LibraryIndex:
        return cls(
            ids=list(ids),
            minhash=minhash,
            anchors=anchors,
            token_counts=token_counts,
            checksums=list(checksums),
            phash=list(phash),
            layout=list(layout),
            row_of={doc_id: row for row, doc_id in enumerate(ids)},
        )


@lru_cache(maxsize=32)
def lsh_bands(*, threshold: float, num_perm: int) -> tuple[int, int]:
    """``(bands, rows)`` datasketch's ``MinHashLSH`` picks for this threshold (cached: the
    optimiser integrates numerically over every split and takes a while)."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def _pairs_from_groups(order: np.ndarray, keys_sorted: np.ndarray, *, max_bucket: int) -> set:
    """All pairs of rows sharing a key (rows in ``order``, keys sorted alike)."""
    pairs: set[tuple[int, int]] = set()
    if len(keys_sorted) < 2:
        return pairs
    boundaries = np.flatnonzero(keys_sorted[1:] != keys_sorted[:-1]) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(keys_sorted)]))
    sizes = ends - starts
    twos = starts[sizes == 2]
    low = np.minimum(order[twos], order[twos + 1])
    high = np.maximum(order[twos], order[twos + 1])
    pairs.update(zip(low.tolist(), high.tolist(), strict=True))
    for start, end in zip(starts[sizes > 2].tolist(), ends[sizes > 2].tolist(), strict=True):
        rows = np.sort(order[start:end])[:max_bucket].tolist()
        for i, left in enumerate(rows):
            for right in rows[i + 1 :]:
                pairs.add((left, right))
    return pairs


def _pairs_with_queries(
    keys: np.ndarray, query_rows: np.ndarray, *, max_bucket: int
) -> set[tuple[int, int]]:
    """Pairs (row, other) with equal keys where ``row`` is a query row."""
    order = np.argsort(keys, kind="stable")
    keys_sorted = keys[order]
    left = np.searchsorted(keys_sorted, keys[query_rows], side="left")
    right = np.searchsorted(keys_sorted, keys[query_rows], side="right")
    pairs: set[tuple[int, int]] = set()
    for row, start, end in zip(query_rows.tolist(), left.tolist(), right.tolist(), strict=True):
        if end - start < 2:
            continue
        for other in order[start : min(end, start + max_bucket)].tolist():
            if other != row:
                pairs.add((min(row, other), max(row, other)))
    return pairs


def _band_keys(minhash: np.ndarray, *, bands: int, rows: int) -> np.ndarray:
    """(bands, n) uint64 keys, one per band, mixing the band's ``rows`` hash values."""
    keys = np.zeros((bands, len(minhash)), dtype=np.uint64)
    for band in range(bands):
        key = np.full(len(minhash), np.uint64(band), dtype=np.uint64)
        for column in range(band * rows, (band + 1) * rows):
            key = (key ^ minhash[:, column].astype(np.uint64)) * _KEY_PRIME
            key ^= key >> np.uint64(29)
        keys[band] = key
    return keys


def _lsh_numpy(
    index: LibraryIndex, *, query_rows: np.ndarray | None, config: CandidateConfig
) -> set[tuple[int, int]]:
    usable = np.flatnonzero(index.minhash[:, 0] != _EMPTY) if len(index.ids) else np.array([])
    pairs: set[tuple[int, int]] = set()
    if len(usable) < 2:  # an empty library or no text anywhere: no pairs (nor a MinHash width)
        return pairs
    bands, rows = lsh_bands(threshold=config.lsh_threshold, num_perm=index.minhash.shape[1])
    keys = _band_keys(index.minhash[usable], bands=bands, rows=rows)
    if query_rows is not None:
        local_query = np.flatnonzero(np.isin(usable, query_rows))
    for band_keys in keys:
        if query_rows is None:
            order = np.argsort(band_keys, kind="stable")
            local = _pairs_from_groups(order, band_keys[order], max_bucket=config.max_bucket)
        else:
            local = _pairs_with_queries(band_keys, local_query, max_bucket=config.max_bucket)
        pairs.update((int(usable[a]), int(usable[b])) for a, b in local)
    return pairs


def _lsh_datasketch(
    index: LibraryIndex,
    *,
    query_rows: np.ndarray | None,
    config: CandidateConfig,
    params: SignatureParams,
) -> set[tuple[int, int]]:
    usable = [row for row in range(len(index.ids)) if index.minhash[row, 0] != _EMPTY]
    if len(usable) < 2:  # an empty library or no text anywhere: no pairs (nor a MinHash width)
        return set()
    lsh = MinHashLSH(threshold=config.lsh_threshold, num_perm=index.minhash.shape[1])
    lean = {row: to_lean_minhash(index.minhash[row], params=params) for row in usable}
    with lsh.insertion_session() as session:
        for row in usable:
            session.insert(row, lean[row], check_duplication=False)
    wanted = usable if query_rows is None else [r for r in query_rows.tolist() if r in lean]
    pairs: set[tuple[int, int]] = set()
    for row in wanted:
        for other in lsh.query(lean[row]):
            if other != row:
                pairs.add((min(row, other), max(row, other)))
    return pairs


def lsh_pairs(
    index: LibraryIndex,
    *,
    query_rows: np.ndarray | None = None,
    config: CandidateConfig,
    params: SignatureParams,
) -> set[tuple[int, int]]:
    """Row pairs whose MinHash collide in at least one LSH band."""
    if config.lsh_backend == "datasketch":
        return _lsh_datasketch(index, query_rows=query_rows, config=config, params=params)
    if config.lsh_backend != "numpy":
        raise ValueError(f"unknown LSH backend {config.lsh_backend!r}")
    return _lsh_numpy(index, query_rows=query_rows, config=config)


def checksum_pairs(
    index: LibraryIndex, *, query_rows: np.ndarray | None = None
) -> set[tuple[int, int]]:
    """Row pairs with an identical original or archive checksum."""
    by_value: dict[str, list[int]] = {}
    for row, values in enumerate(index.checksums):
        for value in {v for v in values if v}:
            by_value.setdefault(value, []).append(row)
    wanted = None if query_rows is None else set(query_rows.tolist())
    pairs: set[tuple[int, int]] = set()
    for rows in by_value.values():
        for i, left in enumerate(rows):
            for right in rows[i + 1 :]:
                if wanted is None or left in wanted or right in wanted:
                    pairs.add((left, right))
    return pairs


def anchor_pairs(
    index: LibraryIndex, *, query_rows: np.ndarray | None = None, config: CandidateConfig
) -> set[tuple[int, int]]:
    """Row pairs sharing enough rare anchors to suggest one contains the other."""
    lengths = np.array([len(a) for a in index.anchors], dtype=np.int64)
    if lengths.sum() == 0:
        return set()
    values = np.concatenate(index.anchors)
    rows = np.repeat(np.arange(len(index.anchors), dtype=np.int64), lengths)
    if query_rows is not None:
        wanted_values = np.concatenate([index.anchors[row] for row in query_rows.tolist()] or [[]])
        relevant = np.isin(values, wanted_values.astype(np.uint32))
        values, rows = values[relevant], rows[relevant]
        if not len(values):
            return set()
    order = np.lexsort((rows, values))
    values, rows = values[order], rows[order]
    boundaries = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(values)]))
    sizes = ends - starts
    keep = (sizes > 1) & (sizes <= config.anchor_max_df)
    wanted = None if query_rows is None else np.zeros(len(index.ids), dtype=bool)
    if wanted is not None:
        wanted[query_rows] = True
    codes: list[np.ndarray] = []
    n = np.int64(len(index.ids))
    for size in np.unique(sizes[keep]).tolist():
        group_starts = starts[keep & (sizes == size)]
        members = rows[group_starts[:, None] + np.arange(size)[None, :]]
        left_idx, right_idx = np.triu_indices(size, k=1)
        left, right = members[:, left_idx].ravel(), members[:, right_idx].ravel()
        if wanted is not None:
            mask = wanted[left] | wanted[right]
            left, right = left[mask], right[mask]
        codes.append(left * n + right)
    if not codes:
        return set()
    pair_codes, shared = np.unique(np.concatenate(codes), return_counts=True)
    left, right = pair_codes // n, pair_codes % n
    smaller = np.minimum(lengths[left], lengths[right])
    ok = (shared >= config.anchor_min_shared) & (shared >= config.anchor_min_containment * smaller)
    return set(zip(left[ok].tolist(), right[ok].tolist(), strict=True))


def hash_bits(value: int | bytes, *, nbits: int | None = None) -> np.ndarray:
    """A perceptual hash as a packed uint8 array (ints are taken big-endian)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(value), dtype=np.uint8)
    length = max(1, ((nbits or value.bit_length()) + 7) // 8)
    return np.frombuffer(int(value).to_bytes(length, "big"), dtype=np.uint8)


def hamming(left: int | bytes, right: int | bytes) -> int:
    """Hamming distance of two perceptual hashes of the same length."""
    if isinstance(left, int) and isinstance(right, int):
        return (left ^ right).bit_count()
    nbits = 8 * max(len(hash_bits(left)), len(hash_bits(right)))
    a, b = hash_bits(left, nbits=nbits), hash_bits(right, nbits=nbits)
    return int(np.bitwise_count(a ^ b).sum())


def _hash_matrix(values: Sequence[int | bytes]) -> np.ndarray:
    nbits = 0
    for value in values:
        nbits = max(nbits, 8 * len(value) if isinstance(value, bytes) else value.bit_length())
    nbytes = max(1, (nbits + 7) // 8)
    matrix = np.zeros((len(values), nbytes), dtype=np.uint8)
    for row, value in enumerate(values):
        bits = hash_bits(value, nbits=8 * nbytes)
        matrix[row, nbytes - len(bits) :] = bits
    return matrix


def _brute_force_neighbours(
    words: np.ndarray, *, max_distance: int, block: int = 512
) -> list[tuple[int, int, int]]:
    """All pairs within ``max_distance``: blocked popcount over uint64 words, no Python loop
    per pair."""
    found: list[tuple[int, int, int]] = []
    for start in range(0, len(words), block):
        rows = words[start : start + block]
        distances = np.bitwise_count(rows[:, None, :] ^ words[None, start:, :]).sum(axis=2)
        left, right = np.nonzero(distances <= max_distance)
        keep = right > left
        for i, j in zip(left[keep].tolist(), right[keep].tolist(), strict=True):
            found.append((start + i, start + j, int(distances[i, j])))
    return found


def _multi_index_neighbours(
    matrix: np.ndarray, words: np.ndarray, *, max_distance: int
) -> list[tuple[int, int, int]]:
    bits = np.unpackbits(matrix, axis=1)
    nbits = bits.shape[1]
    bands = min(max_distance + 1, nbits)
    edges = np.linspace(0, nbits, bands + 1).astype(int)
    found: set[tuple[int, int]] = set()
    for start, end in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        keys = np.packbits(bits[:, start:end], axis=1)
        keys = np.ascontiguousarray(keys).view(np.dtype((np.void, keys.shape[1]))).ravel()
        order = np.argsort(keys, kind="stable")
        found |= _pairs_from_groups(order, keys[order], max_bucket=len(matrix))
    if not found:
        return []
    pairs = np.array(sorted(found), dtype=np.int64)
    distances = np.bitwise_count(words[pairs[:, 0]] ^ words[pairs[:, 1]]).sum(axis=1)
    keep = distances <= max_distance
    return [
        (int(i), int(j), int(d))
        for (i, j), d in zip(pairs[keep].tolist(), distances[keep].tolist(), strict=True)
    ]


def hamming_neighbours(
    values: Sequence[int | bytes], *, max_distance: int, brute_force_limit: int = 20_000
) -> list[tuple[int, int, int]]:
    """Pairs ``(i, j, distance)`` of hashes within ``max_distance`` bits.

    Up to ``brute_force_limit`` hashes: a blocked, vectorised popcount over all pairs. Above:
    multi-index hashing (``max_distance + 1`` bands; a pair within the distance agrees on at
    least one band), then a vectorised popcount check of the colliding pairs.
    """
    if len(values) < 2:
        return []
    matrix = _hash_matrix(values)
    padded = np.zeros((len(values), -(-matrix.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, padded.shape[1] - matrix.shape[1] :] = matrix
    words = padded.view(np.uint64)
    if len(values) <= brute_force_limit:
        found = _brute_force_neighbours(words, max_distance=max_distance)
    else:
        found = _multi_index_neighbours(matrix, words, max_distance=max_distance)
    return sorted(found)


def image_pairs(index: LibraryIndex, *, config: CandidateConfig) -> set[tuple[int, int]]:
    """Row pairs with close page layouts or phashes where both texts are short or missing."""
    short = index.token_counts < config.short_text_tokens
    pairs: set[tuple[int, int]] = set()
    layout_bits_ = [None if value is None else layout_bits(value) for value in index.layout]
    # (bits of pages too empty to compare are None and take no part)
    for hashes, max_distance in (
        (index.phash, config.phash_max_distance),
        (layout_bits_, config.layout_max_distance),
    ):
        rows = [row for row in np.flatnonzero(short).tolist() if hashes[row] is not None]
        neighbours = hamming_neighbours([hashes[r] for r in rows], max_distance=max_distance)
        pairs.update((rows[i], rows[j]) for i, j, _distance in neighbours)
    return pairs


def candidate_pairs(
    index: LibraryIndex,
    *,
    config: CandidateConfig,
    params: SignatureParams,
    query_ids: Iterable[DocId] | None = None,
) -> dict[tuple[int, int], tuple[str, ...]]:
    """Every candidate row pair ``(i, j)`` with ``i < j`` and the passes that proposed it.

    With ``query_ids`` only pairs involving one of those documents are returned (incremental).
    """
    query_rows = None
    if query_ids is not None:
        query_rows = np.array(sorted(index.row_of[i] for i in query_ids), dtype=np.int64)
    passes = {
        "checksum": checksum_pairs(index, query_rows=query_rows),
        "lsh": lsh_pairs(index, query_rows=query_rows, config=config, params=params),
        "containment": anchor_pairs(index, query_rows=query_rows, config=config),
        "image": image_pairs(index, config=config),
    }
    if query_rows is not None:
        wanted = set(query_rows.tolist())
        passes["image"] = {p for p in passes["image"] if p[0] in wanted or p[1] in wanted}
    found: dict[tuple[int, int], list[str]] = {}
    for name, pairs in passes.items():
        for pair in pairs:
            found.setdefault(pair, []).append(name)
    return {pair: tuple(sources) for pair, sources in sorted(found.items())}
