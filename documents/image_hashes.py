"""Perceptual hashes of page thumbnails (pure: no Django), stored compactly.

dhash at hash size 16 (256 bits, 32 bytes) and phash (64 bits; stored as a signed 64-bit integer so
it fits a database ``bigint``) describe the whole page, white included; the page layout
(``duplicates.engine.layout``) describes its ink, and is what the duplicate analysis compares.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from duplicates.engine.layout import layout_of

DHASH_SIZE = 16
MAX_PIXELS = 40_000_000


class UndecodableImage(ValueError):
    """The bytes are not an image Pillow can read."""


@dataclass(frozen=True, slots=True)
class ImageHashes:
    dhash: bytes
    phash: int
    layout: bytes | None = None


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= (1 << 63) else value


# phash as in imagehash.phash: the 32x32 grey image, its 2-D DCT-II (scipy.fftpack's unnormalised
# form), the top-left 8x8 block, each coefficient above the block's median. Only 8 of the 32 rows
# and columns of the DCT are kept, so it is two small matrix products instead of two full DCTs.
PHASH_SIZE = 8
PHASH_IMAGE = PHASH_SIZE * 4
_DCT_ROWS = 2.0 * np.cos(
    np.pi
    * np.arange(PHASH_SIZE, dtype=np.float64)[:, None]
    * (2 * np.arange(PHASH_IMAGE, dtype=np.float64) + 1)
    / (2 * PHASH_IMAGE)
)


def decode(data: bytes) -> Image.Image:
    """Decode once (grey or RGB). Raises :class:`UndecodableImage`."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UndecodableImage(f"image too large ({image.width}x{image.height})")
            image.load()
            return image if image.mode in ("L", "RGB") else image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UndecodableImage(f"not a readable image: {exc}") from exc


def decode_grey(data: bytes) -> Image.Image:
    """Decode once, to 8-bit grey. Raises :class:`UndecodableImage`."""
    image = decode(data)
    return image if image.mode == "L" else image.convert("L")


def hashes_of_grey(grey: Image.Image) -> ImageHashes:
    """dhash (16) and phash of a grey image, bit for bit what ``imagehash.dhash(grey, 16)`` and
    ``imagehash.phash(grey)`` give (same Lanczos resizes of the full image; a pre-reduced image
    would be faster but moves a dhash by 10-25 bits on blank page areas, as far as a re-scan)."""
    small = np.asarray(grey.resize((DHASH_SIZE + 1, DHASH_SIZE), Image.Resampling.LANCZOS))
    dhash = np.packbits(small[:, 1:] > small[:, :-1]).tobytes()
    pixels = np.asarray(
        grey.resize((PHASH_IMAGE, PHASH_IMAGE), Image.Resampling.LANCZOS), dtype=np.float64
    )
    low = _DCT_ROWS @ pixels @ _DCT_ROWS.T
    phash = int.from_bytes(np.packbits(low > np.median(low)).tobytes(), "big")
    return ImageHashes(dhash=dhash, phash=_signed64(phash))


def hash_image(data: bytes) -> ImageHashes:
    """dhash (16), phash and the page layout of an encoded image, decoded once. Raises
    :class:`UndecodableImage`."""
    image = decode(data)
    hashes = hashes_of_grey(image if image.mode == "L" else image.convert("L"))
    return ImageHashes(dhash=hashes.dhash, phash=hashes.phash, layout=layout_of(image))


def dhash_distance(a: bytes, b: bytes) -> int:
    """Hamming distance between two stored dhashes."""
    return int.from_bytes(bytes(a), "big").__xor__(int.from_bytes(bytes(b), "big")).bit_count()


def phash_distance(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()
