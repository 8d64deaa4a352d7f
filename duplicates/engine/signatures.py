"""MinHash signatures, vectorised with NumPy over whole batches, compatible with datasketch.

A document's text is normalised (:mod:`.normalise`) into word tokens; its shingles are the word
``k``-grams. Each shingle is hashed to 32 bits, and the MinHash is computed with datasketch 2.x's
``affine32`` permutation scheme: the shingle hash is pre-mixed with the 32-bit MurmurHash3
finaliser, then permuted with ``a * h + b mod 2**32`` where ``a`` and ``b`` come from
``numpy.random.RandomState(seed)`` exactly as datasketch draws them. The minimum over a
document's shingles is taken per permutation with ``numpy.minimum.reduceat`` over a whole batch
of documents; no Python code runs per shingle.

Two shingle hash functions (``SignatureParams.shingle_hash``):

``"tokmix"`` (default)
    Every distinct *token* is hashed once with datasketch's ``sha1_hash32`` (and cached per
    process); the hashes of a shingle's ``k`` tokens are combined with NumPy
    (rotate-xor-multiply, see :func:`_combine_token_hashes`). This is our own scheme: the
    signature equals ``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hashfunc(params))``
    updated with the shingle bytes, but not a MinHash with datasketch's default hash function.
    It is the default because hashing every shingle with SHA-1 in Python costs about a
    microsecond per shingle, too slow for thousands of documents per second on two cores.

``"sha1"``
    Every shingle's UTF-8 bytes (tokens joined by one space) are hashed with ``sha1_hash32``,
    so the signature equals a plain ``datasketch.MinHash(num_perm, seed)`` updated with the same
    bytes. Slower; for interoperability with tools that use datasketch's defaults.

Either way the hash values can be wrapped as ``datasketch.LeanMinHash(seed=..., hashvalues=...,
scheme="affine32")`` (:func:`to_lean_minhash`) and put in a ``MinHashLSH``. Signatures of the
two modes must not be mixed in one index; the serialised form records the mode, the seed, the
number of permutations, the shingle size and the normaliser version, and
:func:`signature_is_valid` rejects a blob made with other parameters or from another text.

Besides the MinHash, a sketch keeps *anchors*: the shingle hashes whose mixed value falls in a
fixed 1/``anchor_rate`` slice. Anchors are content-defined, so an extract and the full document
sample the same anchors in the text they share; the containment pass indexes them.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import LeanMinHash

from .normalise import NORMALISER_VERSION, normalise_tokens

SCHEME = "affine32"
SHINGLE_HASHES = ("tokmix", "sha1")
_MAGIC = b"PDS1"
_HEADER = struct.Struct("<4sBBqIBHHH16sII")
_MAX_ROWS_PER_CHUNK = 8192
_VOCAB_LIMIT = 2_000_000
_MIX_MULTIPLIER = np.uint32(0x9E3779B1)
_ANCHOR_MULTIPLIER = np.uint32(0x2545F491)
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


@dataclass(frozen=True, slots=True)
class SignatureParams:
    num_perm: int = 128
    seed: int = 1
    shingle_size: int = 3
    shingle_hash: str = "tokmix"
    anchor_rate: int = 8
    normaliser_version: int = NORMALISER_VERSION
    scheme: str = SCHEME

    def __post_init__(self) -> None:
        if self.shingle_hash not in SHINGLE_HASHES:
            raise ValueError(f"shingle_hash must be one of {SHINGLE_HASHES}")
        if self.scheme != SCHEME:
            raise ValueError(f"only the {SCHEME!r} scheme is implemented")


@dataclass(slots=True)
class Sketch:
    """What the engine keeps per document text.

    ``minhash``: ``num_perm`` uint32 values (all ``0xFFFFFFFF`` for an empty text).
    ``anchors``: sorted unique uint32 anchor shingle hashes.
    ``shingles``: sorted unique uint32 shingle hashes (not serialised; rebuilt from the text).
    """

    minhash: np.ndarray
    anchors: np.ndarray
    token_count: int
    text_hash: bytes
    shingles: np.ndarray | None = None


def text_hash(text: str) -> bytes:
    """A 16-byte fingerprint of the raw text; a stored signature is valid only for it."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def sha1_hash32(data: bytes) -> int:
    """datasketch's ``sha1_hash32``: the first 4 bytes of SHA-1, little-endian."""
    return int.from_bytes(hashlib.sha1(data).digest()[:4], "little")  # noqa: S324


@lru_cache(maxsize=16)
def permutations(*, num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``affine32`` permutation parameters ``(a, b)`` datasketch draws for this seed."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


def fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, element-wise (uint32 wraparound is the modulo)."""
    s1, m1, s2, m2 = _FMIX
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s1)


def _rotl(values: np.ndarray, bits: int) -> np.ndarray:
    return (values << np.uint32(bits)) | (values >> np.uint32(32 - bits))


def _combine_token_hashes(token_hashes: np.ndarray, *, size: int) -> np.ndarray:
    """Shingle hashes at every start position of a token-hash array (``tokmix`` scheme)."""
    count = len(token_hashes) - size + 1
    combined = token_hashes[:count].copy()
    for offset in range(1, size):
        combined = (_rotl(combined, 5) ^ token_hashes[offset : offset + count]) * _MIX_MULTIPLIER
    return combined


class _TokenHasher:
    """Per-process cache token -> sha1_hash32, so each distinct token is hashed once."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}

    def hashes(self, tokens: list[str]) -> np.ndarray:
        vocab = self.vocab
        if len(vocab) > _VOCAB_LIMIT:
            vocab.clear()
        values = list(map(vocab.get, tokens))
        if None in values:
            for index, value in enumerate(values):
                if value is None:
                    token = tokens[index]
                    value = vocab.get(token)
                    if value is None:
                        value = vocab[token] = sha1_hash32(token.encode("utf-8"))
                    values[index] = value
        return np.array(values, dtype=np.uint32)


_TOKEN_HASHER = _TokenHasher()


def _short_shingle_hash(tokens: list[str], *, params: SignatureParams) -> np.ndarray:
    if params.shingle_hash == "sha1":
        return np.array([sha1_hash32(" ".join(tokens).encode("utf-8"))], dtype=np.uint32)
    return _combine_token_hashes(_TOKEN_HASHER.hashes(tokens), size=len(tokens))


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for one document's hashes: a sort and a mask, some twenty times
    faster than NumPy 2's hash-based ``unique`` on arrays of a few thousand values."""
    if len(values) < 2:
        return values.copy()
    ordered = np.sort(values)
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def shingle_hashes(
    tokens: list[str], *, params: SignatureParams, unique: bool = True
) -> np.ndarray:
    """32-bit shingle hashes of one token list (sorted and unique unless ``unique=False``)."""
    size = params.shingle_size
    if not tokens:
        return np.empty(0, dtype=np.uint32)
    if len(tokens) < size:
        return _short_shingle_hash(tokens, params=params)
    if params.shingle_hash == "sha1":
        values = np.fromiter(
            (
                sha1_hash32(" ".join(tokens[i : i + size]).encode("utf-8"))
                for i in range(len(tokens) - size + 1)
            ),
            dtype=np.uint32,
            count=len(tokens) - size + 1,
        )
    else:
        values = _combine_token_hashes(_TOKEN_HASHER.hashes(tokens), size=size)
    return sorted_unique(values) if unique else values


def shingle_hashfunc(params: SignatureParams) -> Callable[[bytes], int]:
    """The shingle hash as a datasketch ``hashfunc`` taking the shingle's UTF-8 bytes."""
    if params.shingle_hash == "sha1":
        return sha1_hash32

    def tokmix(data: bytes) -> int:
        tokens = data.decode("utf-8").split(" ")
        hashes = np.array([sha1_hash32(t.encode("utf-8")) for t in tokens], dtype=np.uint32)
        return int(_combine_token_hashes(hashes, size=len(tokens))[0])

    return tokmix


def shingle_bytes(tokens: list[str], *, size: int) -> list[bytes]:
    """The shingles as datasketch would be fed them (tokens joined by one space, UTF-8)."""
    if len(tokens) < size:
        return [" ".join(tokens).encode("utf-8")] if tokens else []
    return [" ".join(tokens[i : i + size]).encode("utf-8") for i in range(len(tokens) - size + 1)]


def _anchors(shingles: np.ndarray, *, rate: int) -> np.ndarray:
    mixed = fmix32(shingles * _ANCHOR_MULTIPLIER)
    return shingles[(mixed % np.uint32(rate)) == 0]


def minhash_batch(shingle_sets: Sequence[np.ndarray], *, params: SignatureParams) -> np.ndarray:
    """MinHash values (n, num_perm) uint32 for many shingle-hash arrays at once.

    The shingle hashes of all documents are concatenated, mixed and permuted in chunks of about
    :data:`_MAX_ROWS_PER_CHUNK` shingles (a ``(num_perm, chunk)`` block small enough to stay in
    cache), and the per-document minimum is taken with ``numpy.minimum.reduceat`` along the
    contiguous axis.
    """
    a, b = permutations(num_perm=params.num_perm, seed=params.seed)
    result = np.full((params.num_perm, len(shingle_sets)), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    lengths = np.fromiter((len(s) for s in shingle_sets), dtype=np.int64, count=len(shingle_sets))
    filled = np.flatnonzero(lengths)
    if not len(filled):
        return np.ascontiguousarray(result.T)
    values = fmix32(np.concatenate([shingle_sets[i] for i in filled]))
    ends = np.cumsum(lengths[filled])
    starts = ends - lengths[filled]
    buffer = np.empty((params.num_perm, max(_MAX_ROWS_PER_CHUNK, int(lengths.max()))), np.uint32)
    a_column, b_column = a[:, None], b[:, None]
    first = 0
    while first < len(filled):
        last = int(np.searchsorted(ends, starts[first] + _MAX_ROWS_PER_CHUNK, side="right"))
        last = max(last, first + 1)
        chunk = values[starts[first] : ends[last - 1]]
        permuted = buffer[:, : len(chunk)]
        np.multiply(a_column, chunk[None, :], out=permuted)
        np.add(permuted, b_column, out=permuted)
        offsets = starts[first:last] - starts[first]
        result[:, filled[first:last]] = np.minimum.reduceat(permuted, offsets, axis=1)
        first = last
    return np.ascontiguousarray(result.T)


def compute_sketches(
    texts: Sequence[str], *, params: SignatureParams, keep_shingles: bool = True
) -> list[Sketch]:
    """Sketches of many texts: the batch MinHash plus anchors, token counts and text hashes."""
    token_lists = [normalise_tokens(text) for text in texts]
    shingle_sets = [
        shingle_hashes(tokens, params=params, unique=keep_shingles) for tokens in token_lists
    ]
    minhashes = minhash_batch(shingle_sets, params=params)
    return [
        Sketch(
            minhash=minhashes[i],
            anchors=sorted_unique(_anchors(shingle_sets[i], rate=params.anchor_rate)),
            token_count=len(token_lists[i]),
            text_hash=text_hash(texts[i]),
            shingles=shingle_sets[i] if keep_shingles else None,
        )
        for i in range(len(texts))
    ]


def serialise_sketch(sketch: Sketch, *, params: SignatureParams) -> bytes:
    """Bytes to store: a header with every parameter that made the sketch, then the values."""
    header = _HEADER.pack(
        _MAGIC,
        1,
        SHINGLE_HASHES.index(params.shingle_hash),
        params.seed,
        params.num_perm,
        params.shingle_size,
        params.normaliser_version,
        params.anchor_rate,
        0,
        sketch.text_hash,
        sketch.token_count,
        len(sketch.anchors),
    )
    return (
        header
        + sketch.minhash.astype("<u4", copy=False).tobytes()
        + sketch.anchors.astype("<u4", copy=False).tobytes()
    )


def read_params(blob: bytes) -> tuple[SignatureParams, bytes]:
    """The parameters and text hash a stored sketch was made with."""
    magic, _fmt, hash_code, seed, num_perm, size, norm, rate, _pad, digest, _tok, _n = (
        _HEADER.unpack_from(blob)
    )
    if magic != _MAGIC:
        raise ValueError("not a sketch blob")
    params = SignatureParams(
        num_perm=num_perm,
        seed=seed,
        shingle_size=size,
        shingle_hash=SHINGLE_HASHES[hash_code],
        anchor_rate=rate,
        normaliser_version=norm,
    )
    return params, digest


def deserialise_sketch(blob: bytes) -> tuple[Sketch, SignatureParams]:
    params, digest = read_params(blob)
    fields = _HEADER.unpack_from(blob)
    token_count, anchor_count = fields[10], fields[11]
    minhash = np.frombuffer(blob, dtype="<u4", count=params.num_perm, offset=_HEADER.size)
    anchors = np.frombuffer(
        blob, dtype="<u4", count=anchor_count, offset=_HEADER.size + 4 * params.num_perm
    )
    sketch = Sketch(
        minhash=minhash.astype(np.uint32),
        anchors=anchors.astype(np.uint32),
        token_count=token_count,
        text_hash=digest,
    )
    return sketch, params


def _header_prefix(params: SignatureParams) -> bytes:
    """The header bytes every blob made with ``params`` starts with (up to the text hash)."""
    packed = _HEADER.pack(
        _MAGIC, 1, SHINGLE_HASHES.index(params.shingle_hash), params.seed, params.num_perm,
        params.shingle_size, params.normaliser_version, params.anchor_rate, 0, bytes(16), 0, 0,
    )  # fmt: skip
    return packed[: _HEADER.size - 24]


def sketches_from_blobs(
    blobs: Sequence[bytes], *, params: SignatureParams
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray]:
    """Many stored sketches at once: ``(minhash (n, num_perm), anchors, token counts, ok)``.

    ``ok[i]`` is False for a blob made with other parameters (its row is left empty). Much faster
    than :func:`deserialise_sketch` per blob, for building an index from the database.
    """
    prefix, width = _header_prefix(params), 4 * params.num_perm
    counts = struct.Struct("<II")
    ok = np.array([blob[: len(prefix)] == prefix for blob in blobs], dtype=bool)
    empty = b"\xff" * width
    minhash = np.frombuffer(
        b"".join(
            blob[_HEADER.size : _HEADER.size + width] if good else empty
            for blob, good in zip(blobs, ok.tolist(), strict=True)
        ),
        dtype="<u4",
    ).reshape(len(blobs), params.num_perm)
    tokens = np.zeros(len(blobs), dtype=np.int64)
    anchors: list[np.ndarray] = []
    no_anchors = np.empty(0, dtype=np.uint32)
    for row, (blob, good) in enumerate(zip(blobs, ok.tolist(), strict=True)):
        if not good:
            anchors.append(no_anchors)
            continue
        tokens[row], count = counts.unpack_from(blob, _HEADER.size - 8)
        anchors.append(np.frombuffer(blob, dtype="<u4", count=count, offset=_HEADER.size + width))
    return minhash.astype(np.uint32), anchors, tokens, ok


def signature_is_valid(blob: bytes | None, *, params: SignatureParams, text_digest: bytes) -> bool:
    """True when ``blob`` was made with exactly ``params`` from the text with this digest."""
    if not blob:
        return False
    try:
        stored, digest = read_params(blob)
    except (ValueError, IndexError, struct.error):
        return False
    return stored == params and digest == text_digest


def to_lean_minhash(minhash: np.ndarray, *, params: SignatureParams) -> LeanMinHash:
    """Wrap hash values as a ``datasketch.LeanMinHash`` (for ``MinHashLSH`` and friends)."""
    return LeanMinHash(seed=params.seed, hashvalues=minhash, scheme=params.scheme)


def iter_batches(items: Sequence, *, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
