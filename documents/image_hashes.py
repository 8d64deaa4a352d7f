"""Perceptual hashes of page thumbnails (pure: no Django), stored compactly.

dhash at hash size 16 (256 bits, 32 bytes) did best on document pages; phash (64 bits) is kept as a
second opinion. phash is stored as a signed 64-bit integer so it fits a database ``bigint``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, UnidentifiedImageError

DHASH_SIZE = 16
MAX_PIXELS = 40_000_000


class UndecodableImage(ValueError):
    """The bytes are not an image Pillow can read."""


@dataclass(frozen=True, slots=True)
class ImageHashes:
    dhash: bytes
    phash: int


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= (1 << 63) else value


def hash_image(data: bytes) -> ImageHashes:
    """dhash (16) and phash of an encoded image. Raises :class:`UndecodableImage`."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UndecodableImage(f"image too large ({image.width}x{image.height})")
            image.load()
            grey = image.convert("L")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UndecodableImage(f"not a readable image: {exc}") from exc
    dhash = imagehash.dhash(grey, hash_size=DHASH_SIZE)
    phash = imagehash.phash(grey)
    return ImageHashes(
        dhash=np.packbits(dhash.hash.flatten()).tobytes(),
        phash=_signed64(int(str(phash), 16)),
    )


def dhash_distance(a: bytes, b: bytes) -> int:
    """Hamming distance between two stored dhashes."""
    return int.from_bytes(bytes(a), "big").__xor__(int.from_bytes(bytes(b), "big")).bit_count()


def phash_distance(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()
