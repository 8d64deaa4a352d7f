"""Cheap, deterministic stand-ins for what a Paperless document holds: OCR text, files, thumbnails.

Everything is derived from small integer seeds so that a library of 100,000 documents costs a few
integers per document in memory; text and images are only produced when a request asks for them.
Duplicates share a seed and differ by a ``variant``: variant 0 is the clean original, other variants
add OCR-like noise to the text and a little noise to the image, so near-duplicates look alike.
"""

from __future__ import annotations

import hashlib
import io
import random
import time
from functools import lru_cache

from PIL import Image, ImageDraw

_SYLLABLE_TEXT = "ka re mi to sa lu ven dor pra nex tal bri co fen gar hol in jus ker lam mon nor"
_MORE_SYLLABLES = "pel qua ris sto tur ul vex wen yar zo am ber cal dim"
_SYLLABLES = (*_SYLLABLE_TEXT.split(" "), *_MORE_SYLLABLES.split(" "))


def _make_vocabulary(size: int = 2000) -> tuple[str, ...]:
    rng = random.Random(1234)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    return tuple(sorted(words))


VOCABULARY = _make_vocabulary()

_OCR_CONFUSIONS = (("m", "rn"), ("l", "1"), ("o", "0"), ("e", "c"), ("i", "l"))


def _make_lines(count: int = 8192, words_per_line: int = 12) -> tuple[str, ...]:
    rng = random.Random(5678)
    return tuple(" ".join(rng.choices(VOCABULARY, k=words_per_line)) for _ in range(count))


LINES = _make_lines()


def document_text(*, seed: int, variant: int = 0, fraction: float = 1.0) -> str:
    """The OCR text of a generated document: 7 to 20 lines picked by ``seed``.

    ``variant`` > 0 returns the same text with a few OCR confusions and a dropped word, the way a
    re-scan of the same paper reads. ``fraction`` < 1 keeps only the start (a one-page extract).
    Lines come from a fixed pool, so generating a page of 1,000 texts costs milliseconds.
    """
    rng = random.Random(seed)
    count = 7 + seed % 14
    lines = rng.choices(LINES, k=count)
    if fraction < 1.0:
        lines = lines[: max(2, int(count * fraction))]
    if variant:
        words = " ".join(lines).split(" ")
        noise = random.Random(seed * 1_000_003 + variant)
        for _ in range(max(1, len(words) // 25)):
            index = noise.randrange(len(words))
            clean, confused = noise.choice(_OCR_CONFUSIONS)
            words[index] = words[index].replace(clean, confused, 1)
        del words[noise.randrange(len(words))]
        lines = [" ".join(words[start : start + 12]) for start in range(0, len(words), 12)]
    return f"Document {seed}\n" + "\n".join(lines)


def original_bytes(*, blob_key: str, text: str, mime_type: str) -> bytes:
    """The bytes of the original file; byte-identical twins share a ``blob_key``."""
    if mime_type == "text/plain":
        return f"{text}\n".encode()
    return minimal_pdf(text=f"{blob_key}\n{text[:400]}")


def minimal_pdf(*, text: str) -> bytes:
    """A small, valid one-page PDF with ``text`` on it."""
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    lines = [line for line in safe.splitlines() if line][:40]
    stream_lines = ["BT /F1 9 Tf 40 800 Td 11 TL"]
    stream_lines += [f"({line[:90]}) '" for line in lines]
    stream_lines.append("ET")
    stream = "\n".join(stream_lines).encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xbf\xf7\xa2\xfe\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=4096)
def thumbnail_webp(*, seed: int, variant: int = 0) -> bytes:
    """A WebP thumbnail of a page: a header band and text-like grey bars laid out from ``seed``.

    Variants of one seed are the same page with slight brightness change and speckle noise, so
    perceptual hashes of near-duplicates are close and those of different documents are far apart.
    """
    width, height = 300, 424
    rng = random.Random(seed)
    background = 250 - (variant % 3) * 4 if variant else 250
    image = Image.new("L", (width, height), background)
    draw = ImageDraw.Draw(image)
    top = 20 + rng.randrange(30)
    draw.rectangle((20, top, 20 + rng.randrange(80, 260), top + 18 + rng.randrange(20)), fill=40)
    y = top + 60
    while y < height - 30:
        if rng.random() < 0.15:
            y += 14
            continue
        indent = 20 + (rng.randrange(40) if rng.random() < 0.2 else 0)
        length = rng.randrange(60, width - 20 - indent)
        draw.rectangle((indent, y, indent + length, y + 5), fill=60 + rng.randrange(80))
        y += 11
    if rng.random() < 0.5:
        x0 = rng.randrange(20, 160)
        y0 = rng.randrange(80, 300)
        draw.rectangle((x0, y0, x0 + 110, y0 + 80), outline=30, width=3)
    if variant:
        noise = random.Random(seed * 7_919 + variant)
        pixels = image.load()
        for _ in range(150):
            pixels[noise.randrange(width), noise.randrange(height)] = noise.randrange(256)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="WEBP", quality=70)
    return buffer.getvalue()


# --- pre-rendered thumbnails (benchmarks) ---------------------------------------------------------

THUMBNAIL_VARIANTS = 6  # variant 0 (the clean original) and the seeder's near-duplicate noise 1..5
_thumbnail_pool: dict[tuple[int, int], bytes] = {}
_thumbnail_pool_size = 0


def use_thumbnail_pool(size: int) -> float:
    """Serve thumbnails from ``size`` pre-rendered pages (each in every variant) instead of drawing
    one per document; 0 goes back to drawing every seed lazily. Returns the seconds spent drawing.

    Drawing a WebP costs the fake ~15 ms of CPU, on the same cores as the client in a benchmark;
    with a pool the benchmark measures the client's side. A document with image seed ``s`` shows
    page ``s % size``; a near-duplicate keeps its original's seed and only changes the variant
    noise, so near-duplicates still look alike (unrelated documents may share a page: a benchmark
    mode, not for dedupe tests).
    """
    global _thumbnail_pool_size
    started = time.perf_counter()
    pool = {
        (seed, variant): thumbnail_webp(seed=seed, variant=variant)
        for seed in range(size)
        for variant in range(THUMBNAIL_VARIANTS)
    }
    _thumbnail_pool.clear()
    _thumbnail_pool.update(pool)
    _thumbnail_pool_size = size
    return time.perf_counter() - started


def thumbnail(*, seed: int, variant: int = 0) -> bytes:
    """The thumbnail of a page: from the pre-rendered pool when one is in use, else drawn."""
    if _thumbnail_pool_size and seed >= 0:
        key = (seed % _thumbnail_pool_size, variant)
        data = _thumbnail_pool.get(key)
        if data is None:  # a variant outside the seeder's range: draw it once
            data = _thumbnail_pool[key] = thumbnail_webp(seed=key[0], variant=variant)
        return data
    return thumbnail_webp(seed=seed, variant=variant)
