"""Perceptual hashes: the one-decode implementation gives imagehash's bits exactly, keeps
near-duplicates close, and turns unreadable images into ``UndecodableImage``."""

from __future__ import annotations

import io
import pickle

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageDraw

from documents import image_hashes
from documents.image_hashes import (
    UndecodableImage,
    dhash_distance,
    hash_image,
    phash_distance,
)
from tests.fake_paperless import content


def reference_hashes(data: bytes) -> tuple[bytes, int]:
    """The way the hashes were computed before (imagehash on the decoded grey image)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        grey = image.convert("L")
    dhash = imagehash.dhash(grey, hash_size=16)
    phash = int(str(imagehash.phash(grey)), 16)
    return (
        np.packbits(dhash.hash.flatten()).tobytes(),
        phash - (1 << 64) if phash >= (1 << 63) else phash,
    )


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def drawn(mode: str, size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, (240, 238, 230))
    draw = ImageDraw.Draw(image)
    for row in range(5, size[1] - 5, 9):
        draw.rectangle((6, row, 6 + (row * 37) % (size[0] - 12), row + 3), fill=(40, 60, 90))
    return image.convert(mode)


@pytest.mark.parametrize("seed", range(40))
def test_fake_thumbnails_hash_exactly_as_imagehash_does(seed):
    for variant in range(content.THUMBNAIL_VARIANTS):
        data = content.thumbnail_webp(seed=seed, variant=variant)
        hashes = hash_image(data)
        assert (hashes.dhash, hashes.phash) == reference_hashes(data)


@pytest.mark.parametrize(
    ("mode", "fmt", "size"),
    [
        ("RGBA", "PNG", (210, 297)),
        ("P", "GIF", (150, 212)),
        ("L", "JPEG", (300, 424)),
        ("RGB", "WEBP", (424, 300)),
        ("L", "PNG", (20, 12)),  # smaller than the hash grids: upscaled, as imagehash does
    ],
)
def test_other_modes_and_sizes_hash_exactly_as_imagehash_does(mode, fmt, size):
    data = encoded(drawn(mode, size), fmt)
    hashes = hash_image(data)
    assert (hashes.dhash, hashes.phash) == reference_hashes(data)


def test_stored_forms_fit_their_columns():
    hashes = hash_image(content.thumbnail_webp(seed=3))
    assert isinstance(hashes.dhash, bytes) and len(hashes.dhash) == 32
    assert -(1 << 63) <= hashes.phash < (1 << 63)


def test_near_duplicates_are_close_and_different_pages_far():
    near, far = [], []
    for seed in range(30):
        original = hash_image(content.thumbnail_webp(seed=seed))
        rescan = hash_image(content.thumbnail_webp(seed=seed, variant=1 + seed % 5))
        other = hash_image(content.thumbnail_webp(seed=seed + 1000))
        near.append(dhash_distance(original.dhash, rescan.dhash))
        far.append(dhash_distance(original.dhash, other.dhash))
        assert phash_distance(original.phash, rescan.phash) <= 10
    assert max(near) < min(far)
    assert max(near) <= 32  # of 256 bits


@pytest.mark.parametrize(
    "data", [b"", b"RIFF\x00\x00garbage", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"not an image"]
)
def test_unreadable_bytes_raise_undecodable(data):
    with pytest.raises(UndecodableImage):
        hash_image(data)


def test_a_truncated_thumbnail_raises_undecodable():
    data = content.thumbnail_webp(seed=5)
    with pytest.raises(UndecodableImage):
        hash_image(data[: len(data) // 2])


def test_an_oversized_image_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(image_hashes, "MAX_PIXELS", 100)
    with pytest.raises(UndecodableImage, match="too large"):
        hash_image(encoded(drawn("L", (20, 20)), "PNG"))


def test_the_error_survives_a_process_boundary():
    raw = pickle.dumps(UndecodableImage("not a readable image: x"))
    error = pickle.loads(raw)  # noqa: S301 - our own bytes
    assert isinstance(error, UndecodableImage) and "readable" in str(error)
