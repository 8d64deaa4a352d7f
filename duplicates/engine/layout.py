"""Page layout signatures: how much alike two pages *look*, measured on their ink.

A dhash of a whole text page is nearly all zeros (a white page with thin grey lines), so two
unrelated letters look alike and the same page with other margins does not. The layout
signature measures the *content* of the page instead: the page is flattened against its own
background (uneven light, a grey scanner lid, a desk around a photo), coloured marks (a rubber
stamp) are left out, the page is cropped to its ink, and the ink's density is averaged into a
grid of LAYOUT_ROWS x LAYOUT_COLUMNS cells. Two pages are compared by the correlation of their
grids; how much a grid can be trusted is its spread (a blank or near-blank page has none).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

LAYOUT_VERSION = 1
LAYOUT_ROWS = 24
LAYOUT_COLUMNS = 16
_LAYOUT_HEADER = 4  # version, aspect (width/height of the ink box, x 64), spread (x 255), 0
MIN_SPREAD = 0.04  # below: too little structure for the layout to say anything


def _without_colour(image: Image.Image) -> Image.Image:
    """Grey, with strongly coloured marks (a red or blue rubber stamp, a highlighter) made paper
    white: a stamp added to one copy does not change what its page looks like."""
    if image.mode == "L":
        return image
    rgb = image.convert("RGB")
    # the HSV saturation band: PIL computes it in C
    hsv = rgb.convert("HSV")
    saturation, value = np.asarray(hsv.getchannel("S")), np.asarray(hsv.getchannel("V"))
    grey = np.asarray(rgb.convert("L")).copy()
    # strongly coloured and not dark: a stamp or a highlighter, not black or grey print
    grey[(saturation > 60) & (value > 60)] = 255
    return Image.fromarray(grey)


WORK_WIDTH = 480  # pixels: wider pages are scaled down to this first
_BLOCK = 8


def _ink(image: Image.Image) -> np.ndarray:
    """Darkness relative to the local background, 0 (paper) to 1 (black ink). The paper's
    brightness is the brightest pixel of each 8x8 block (spread to the blocks around it, so a
    block of text still finds the paper beside it), smoothed back to full size: uneven light
    and a dark desk around a photo are not ink."""
    if image.width > WORK_WIDTH * 1.25:  # a Paperless thumbnail (500 wide) is used as it is
        height = max(_BLOCK, round(image.height * WORK_WIDTH / image.width))
        image = image.resize((WORK_WIDTH, height), Image.Resampling.BILINEAR)
    small = _without_colour(image)
    grey = np.asarray(small)
    rows, cols = -(-grey.shape[0] // _BLOCK), -(-grey.shape[1] // _BLOCK)
    padded = np.pad(
        grey, ((0, rows * _BLOCK - grey.shape[0]), (0, cols * _BLOCK - grey.shape[1])), mode="edge"
    )
    # the block maxima, one axis at a time (the last, contiguous one first)
    blocks = padded.reshape(rows, _BLOCK, cols, _BLOCK).max(axis=3).max(axis=1)
    blocks = ndimage.maximum_filter(blocks, size=3, mode="nearest")
    background = Image.fromarray(blocks).resize(
        (grey.shape[1], grey.shape[0]), Image.Resampling.BILINEAR
    )
    paper = np.maximum(np.asarray(background, dtype=np.float32), 1.0)
    return np.clip((paper - grey) / paper, 0.0, 1.0)


def _without_frames(dark: np.ndarray) -> np.ndarray:
    """The dark mask without page edges, scanner shadows and a desk's border: connected dark
    shapes that touch the image's border or are longer than half the page (no letter or word
    is)."""
    labels, count = ndimage.label(dark)
    if not count:
        return dark
    height, width = dark.shape
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    # every shape's box (rows top..bottom, columns left..right, ends excluded)
    boxes = np.array(
        [(rows.start, rows.stop, cols.start, cols.stop)
         for rows, cols in ndimage.find_objects(labels)],
        dtype=np.int64,
    ).reshape(-1, 4)  # fmt: skip
    top, bottom, left, right = boxes.T
    drop = sizes <= 2  # specks of dust and noise
    drop[1:] |= bottom - top > height * 0.5  # taller than half the page
    drop[1:] |= right - left > width * 0.7  # wider than most of it
    drop[1:] |= (top == 0) | (left == 0) | (bottom == height) | (right == width)
    drop[0] = False
    return dark & ~drop[labels]


def _span(mass: np.ndarray) -> tuple[int, int] | None:
    """From the first to the last place along one axis where the ink is more than stray marks:
    the mass profile smoothed over a few pixels, above a tenth of its peak."""
    if mass.sum() <= 0:
        return None
    window = max(3, len(mass) // 100)
    smooth = np.convolve(mass, np.ones(window) / window, mode="same")
    inked = np.flatnonzero(smooth > 0.1 * smooth.max())
    if len(inked) < 2:
        return None
    return int(inked[0]), int(inked[-1]) + 1


def _ink_box(dark: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box holding the page's ink (without the odd stray mark around it)."""
    rows = _span(dark.sum(axis=1))
    if rows is None:
        return None
    cols = _span(dark[rows[0] : rows[1]].sum(axis=0))
    if cols is None:
        return None
    return rows[0], rows[1], cols[0], cols[1]


BLANK = bytes((LAYOUT_VERSION, 0, 0, 0))  # a page without ink: known, and nothing to compare
_GRID_BYTES = LAYOUT_ROWS * LAYOUT_COLUMNS


def layout_of(image: Image.Image) -> bytes:
    """The layout signature of a page image, grey or in colour (see above; coloured marks are
    left out); :data:`BLANK` for a page without ink."""
    ink = _ink(image)
    # a slight blur first: text strokes stay dark, isolated specks of noise fade
    ink = ndimage.uniform_filter(ink, size=3)
    strong = float(np.percentile(ink[::2, ::2], 99.5))
    dark = _without_frames(ink > max(0.08, 0.35 * strong))
    box = _ink_box(dark)
    if box is None:
        return BLANK
    top, bottom, left, right = box
    ink = np.where(dark, ink, 0.0)
    crop = Image.fromarray((ink[top:bottom, left:right] * 255).astype(np.uint8))
    grid = np.asarray(crop.resize((LAYOUT_COLUMNS, LAYOUT_ROWS), Image.Resampling.BOX),
                      dtype=np.float32)  # fmt: skip
    peak = float(grid.max())
    if peak <= 0:
        return BLANK
    grid = grid / peak
    aspect = min(255, round(64 * (right - left) / max(1, bottom - top)))
    spread = min(255, round(255 * float(grid.std())))
    header = bytes((LAYOUT_VERSION, aspect, spread, 0))
    return header + np.round(grid * 255).astype(np.uint8).tobytes()


def _usable(signature: bytes) -> bool:
    return (
        len(signature) == _LAYOUT_HEADER + _GRID_BYTES
        and signature[0] == LAYOUT_VERSION
        and layout_spread(signature) >= MIN_SPREAD
    )


def layout_spread(signature: bytes) -> float:
    """How much structure the page has, 0 (blank) to ~0.5."""
    return signature[2] / 255 if len(signature) > 2 else 0.0


def layout_similarity(left: bytes, right: bytes) -> float | None:
    """Correlation of two layout grids (negative clipped to 0), lowered when the ink boxes have
    other shapes; None when either page has too little structure to say anything."""
    if not (_usable(left) and _usable(right)):
        return None
    a = np.frombuffer(left, dtype=np.uint8, offset=_LAYOUT_HEADER).astype(np.float32)
    b = np.frombuffer(right, dtype=np.uint8, offset=_LAYOUT_HEADER).astype(np.float32)
    a -= a.mean()
    b -= b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if norm == 0:
        return None
    correlation = max(0.0, float((a * b).sum()) / norm)
    aspects = sorted((max(1, left[1]), max(1, right[1])))
    return correlation * (aspects[0] / aspects[1]) ** 0.5


def layout_bits(signature: bytes) -> bytes | None:
    """The grid as bits, the darker half of its cells set, for finding near layouts by Hamming
    distance among many documents (two unrelated pages are about half the bits apart, the same
    page a small share). None for a page with too little on it: a page inked in fewer than a
    quarter of its cells has no darker half to speak of."""
    if not _usable(signature):
        return None
    grid = np.frombuffer(signature, dtype=np.uint8, offset=_LAYOUT_HEADER)
    if np.count_nonzero(grid) < len(grid) // 4:
        return None
    bits = np.zeros(len(grid), dtype=bool)
    bits[np.argsort(grid, kind="stable")[len(grid) // 2 :]] = True
    return np.packbits(bits).tobytes()
