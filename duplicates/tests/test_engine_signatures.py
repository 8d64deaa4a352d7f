import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH

from duplicates.engine.normalise import NORMALISER_VERSION, normalise_tokens
from duplicates.engine.signatures import (
    SignatureParams,
    compute_sketches,
    deserialise_sketch,
    serialise_sketch,
    shingle_bytes,
    shingle_hashfunc,
    signature_is_valid,
    sketches_from_blobs,
    text_hash,
    to_lean_minhash,
)

TEXTS = [
    "Sehr geehrte Damen und Herren, anbei erhalten Sie die Rechnung fuer den Monat Maerz.",
    "The quick brown fox jumps over the lazy dog while the cat watches from the window.",
    "kurz",
    "",
]


@pytest.mark.parametrize("mode", ["sha1", "tokmix"])
def test_signature_equals_datasketch_minhash_of_the_same_shingles(mode):
    params = SignatureParams(shingle_hash=mode, num_perm=64, seed=42)
    sketches = compute_sketches(TEXTS, params=params)
    for text, sketch in zip(TEXTS, sketches, strict=True):
        hashfunc = None if mode == "sha1" else shingle_hashfunc(params)
        reference = MinHash(num_perm=64, seed=42, hashfunc=hashfunc)
        reference.update_batch(shingle_bytes(normalise_tokens(text), size=3))
        assert np.array_equal(reference.hashvalues, sketch.minhash)


def test_sha1_mode_equals_datasketch_with_its_default_hash_function():
    params = SignatureParams(shingle_hash="sha1")
    sketch = compute_sketches([TEXTS[0]], params=params)[0]
    reference = MinHash(num_perm=128, seed=1)
    for shingle in shingle_bytes(normalise_tokens(TEXTS[0]), size=3):
        reference.update(shingle)
    assert LeanMinHash(reference) == to_lean_minhash(sketch.minhash, params=params)


def test_lean_minhash_works_in_datasketch_lsh():
    params = SignatureParams()
    near = TEXTS[0].replace("Maerz", "April")
    sketches = compute_sketches([TEXTS[0], near, TEXTS[1]], params=params)
    lsh = MinHashLSH(threshold=0.5, num_perm=params.num_perm)
    for key, sketch in zip("abc", sketches, strict=True):
        lsh.insert(key, to_lean_minhash(sketch.minhash, params=params))
    found = lsh.query(to_lean_minhash(sketches[0].minhash, params=params))
    assert "b" in found
    assert "c" not in found


def test_batch_gives_the_same_signature_as_one_document_at_a_time():
    params = SignatureParams()
    together = compute_sketches(TEXTS, params=params)
    for text, sketch in zip(TEXTS, together, strict=True):
        alone = compute_sketches([text], params=params)[0]
        assert np.array_equal(alone.minhash, sketch.minhash)
        assert np.array_equal(alone.anchors, sketch.anchors)


def test_serialised_signature_round_trips_with_its_parameters():
    params = SignatureParams(seed=9, num_perm=32)
    sketch = compute_sketches([TEXTS[1]], params=params)[0]
    restored, restored_params = deserialise_sketch(serialise_sketch(sketch, params=params))
    assert restored_params == params
    assert restored_params.normaliser_version == NORMALISER_VERSION
    assert np.array_equal(restored.minhash, sketch.minhash)
    assert np.array_equal(restored.anchors, sketch.anchors)
    assert restored.token_count == sketch.token_count


@pytest.mark.parametrize(
    "changed",
    [
        {"seed": 2},
        {"num_perm": 64},
        {"shingle_size": 2},
        {"shingle_hash": "sha1"},
        {"normaliser_version": NORMALISER_VERSION + 1},
    ],
)
def test_stored_signature_is_invalid_when_a_parameter_changes(changed):
    params = SignatureParams()
    blob = serialise_sketch(compute_sketches([TEXTS[0]], params=params)[0], params=params)
    digest = text_hash(TEXTS[0])
    assert signature_is_valid(blob, params=params, text_digest=digest)
    other = SignatureParams(**{**_fields(params), **changed})
    assert not signature_is_valid(blob, params=other, text_digest=digest)


def test_stored_signature_is_invalid_when_the_text_changes():
    params = SignatureParams()
    blob = serialise_sketch(compute_sketches([TEXTS[0]], params=params)[0], params=params)
    assert not signature_is_valid(blob, params=params, text_digest=text_hash(TEXTS[0] + "!"))
    assert not signature_is_valid(None, params=params, text_digest=text_hash(TEXTS[0]))


def _fields(params):
    return {name: getattr(params, name) for name in params.__dataclass_fields__}


def test_bulk_reading_of_stored_signatures_matches_one_by_one_and_skips_other_parameters():
    params = SignatureParams()
    sketches = compute_sketches(TEXTS, params=params)
    blobs = [serialise_sketch(s, params=params) for s in sketches]
    other = SignatureParams(seed=5)
    blobs.append(serialise_sketch(compute_sketches(TEXTS[:1], params=other)[0], params=other))
    minhash, anchors, tokens, ok = sketches_from_blobs(blobs, params=params)
    assert ok.tolist() == [True] * len(TEXTS) + [False]
    for row, sketch in enumerate(sketches):
        assert np.array_equal(minhash[row], sketch.minhash)
        assert np.array_equal(anchors[row], sketch.anchors)
        assert tokens[row] == sketch.token_count
