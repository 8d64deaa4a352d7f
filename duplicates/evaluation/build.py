"""Build the labelled corpus with real tools, cached, and write its dataset.

For every :class:`~.plan.DocSpec`: render, rasterise, degrade, OCR (see :mod:`.render`), then
record what Paperless would hold: the file, its text (``content``), Paperless's thumbnail and
the metadata a library has (title from the file name, created date, correspondent and type when
Paperless's matching would have found them). Files go to a cache directory, one folder per
document named by its recipe (a changed recipe is rebuilt, the rest is reused); the dataset
(text, metadata, image hashes, labels; no files) is one gzipped JSON file that the quality
report, the calibration and the tests read.

``python -m duplicates.evaluation.build`` or ``manage.py build_corpus``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from PIL import Image

from documents.image_hashes import hash_image

from . import render
from .dataset import DATASET, write_rows
from .plan import IMAGE_FORMATS, DocSpec, plan
from .texts import Source

MIME = {
    "pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff",
    "gif": "image/gif", "bmp": "image/bmp",
}  # fmt: skip


def default_cache() -> Path:
    """``DEDUPE_CORPUS_CACHE``, else ``$XDG_CACHE_HOME/paperless-dedupe/corpus`` (~/.cache)."""
    if os.environ.get("DEDUPE_CORPUS_CACHE"):
        return Path(os.environ["DEDUPE_CORPUS_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "paperless-dedupe" / "corpus"


@dataclass(slots=True)
class Made:
    original: bytes
    extension: str
    content: str
    first_page: Image.Image
    page_count: int


def _scan(page: Image.Image, *, rng: random.Random, poor: bool) -> Image.Image:
    if poor:
        # a worn-out scanner: soft, noisy, faded, skewed, saved as a small JPEG; its OCR keeps
        # roughly 60-90% of the words, as the poor rescans seen in real libraries did
        image = render.degrade(
            page, seed=rng.randrange(1 << 30), rotation=rng.uniform(1.0, 2.5) * rng.choice((-1, 1)),
            blur=rng.uniform(0.7, 1.1), noise=rng.uniform(10, 18), contrast=rng.uniform(0.65, 0.85),
            shift=(rng.randint(-30, 30), rng.randint(-30, 30)), speckle=0.001,
            edge_shadow=rng.random() < 0.5,
        )  # fmt: skip
        return render.jpeg_roundtrip(image, quality=rng.randint(35, 60))
    image = render.degrade(
        page, seed=rng.randrange(1 << 30), rotation=rng.uniform(0.2, 1.8) * rng.choice((-1, 1)),
        blur=rng.uniform(0.0, 0.7), noise=rng.uniform(3, 11), contrast=rng.uniform(0.8, 1.0),
        shift=(rng.randint(-20, 20), rng.randint(-20, 20)), speckle=0.0003,
        edge_shadow=rng.random() < 0.2,
    )  # fmt: skip
    return render.jpeg_roundtrip(image, quality=rng.randint(55, 90))


def make(spec: DocSpec) -> Made:
    """The file and text of one document (slow: rendering and OCR)."""
    kind = spec.variant.kind
    rng = random.Random(spec.variant.seed)
    born = render.pdf(spec.source)
    if kind in ("born_digital", "resaved"):
        original = born if kind == "born_digital" else render.resave_pdf(born)
        first = render.rasterise(original, dpi=100)[0]
        return Made(
            original, "pdf", render.pdf_text(original), first, render.pdf_page_count(original)
        )
    dpi = rng.choice((150, 200, 300)) if kind != "rescan_poor" else rng.choice((150, 200))
    if kind == "photo":
        dpi = 200
    pages = render.rasterise(born, dpi=dpi, grey=kind not in ("stamped", "photo"))
    if kind in IMAGE_FORMATS:
        page = pages[0]
        if kind == "jpeg":
            page = render.jpeg_roundtrip(page, quality=rng.randint(70, 92))
        original = render.encode(page, fmt={"jpeg": "JPEG", "tiff": "TIFF"}.get(kind, kind.upper()))
        return Made(original, kind, render.ocr_image(page, dpi=dpi), page, 1)
    if kind == "photo":
        photo = render.photograph(pages[0], seed=rng.randrange(1 << 30))
        photo = render.jpeg_roundtrip(photo, quality=rng.randint(60, 80))
        original = render.encode(photo, fmt="JPEG", quality=85)
        return Made(original, "jpeg", render.ocr_image(photo, dpi=int(dpi * 0.8)), photo, 1)
    if kind == "image_pdf":
        scanned = [render.degrade(p, seed=rng.randrange(1 << 30), rotation=rng.uniform(-0.6, 0.6),
                                  noise=rng.uniform(2, 6)) for p in pages]  # fmt: skip
        original = render.image_pdf(scanned, dpi=dpi)
        return Made(original, "pdf", render.ocr_pdf(original), scanned[0], len(scanned))
    if kind == "multi_tiff":
        scanned = [render.degrade(p, seed=rng.randrange(1 << 30), rotation=rng.uniform(-0.8, 0.8),
                                  noise=rng.uniform(2, 8)) for p in pages]  # fmt: skip
        original = render.multipage_tiff(scanned)
        text = "\n".join(render.ocr_image(p, dpi=dpi) for p in scanned)
        return Made(original, "tiff", text, scanned[0], len(scanned))
    scanned = [_scan(p, rng=rng, poor=kind == "rescan_poor") for p in pages]
    if kind == "stamped":
        when = (spec.source.date or date(2025, 6, 1)) + timedelta(days=rng.randint(2, 20))
        scanned[0] = render.stamp(
            scanned[0], text=f"{rng.choice(('RECEIVED', 'EINGANG', 'PAID', 'COPY'))}\n"
            f"{when.strftime('%d.%m.')}", seed=rng.randrange(1 << 30),
        )  # fmt: skip
    text = "\n".join(render.ocr_image(p, dpi=dpi) for p in scanned)
    if len(scanned) == 1 and rng.random() < 0.5:
        return Made(render.encode(scanned[0], fmt="JPEG", quality=85), "jpeg", text, scanned[0], 1)
    return Made(render.image_pdf(scanned, dpi=dpi), "pdf", text, scanned[0], len(scanned))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:60] or "document"


def metadata(spec: DocSpec, *, content: str, page_count: int, extension: str) -> dict:
    """What Paperless would know besides the file: its title (the file name), dates, and the
    correspondent and document type when its matching would have assigned them (more often on
    a clean text than on a poor scan)."""
    rng = random.Random(f"meta/{spec.recipe_key}")
    source: Source = spec.source
    scanned = spec.variant.kind not in ("born_digital", "resaved")
    added = datetime(2025, 1, 1, 8) + timedelta(minutes=rng.randint(0, 60 * 24 * 600))
    if spec.variant.kind == "photo":
        name = f"IMG_{added:%Y%m%d_%H%M%S}.jpg"
    elif scanned:
        name = rng.choice((f"scan_{rng.randint(1, 9999):04d}", f"Scan {added:%Y-%m-%d %H.%M.%S}",
                           f"doc{rng.randint(100, 99999)}"))  # fmt: skip
        name = f"{name}.{'jpg' if extension == 'jpeg' else extension}"
    else:
        name = f"{_slug(source.title)}.pdf"
    good_text = len(content.split()) >= 8
    assign = 0.8 if good_text and spec.variant.kind != "rescan_poor" else 0.45
    created = source.date if source.date and rng.random() < 0.85 else added.date()
    return {
        "title": Path(name).stem.replace("_", " ") if not scanned else Path(name).stem,
        "original_file_name": name,
        "mime_type": MIME[extension],
        "page_count": page_count,
        "created": created.isoformat(),
        "added": added.isoformat(),
        "correspondent": source.correspondent
        if source.correspondent and rng.random() < assign
        else None,
        "document_type": source.document_type if rng.random() < assign * 0.8 else None,
    }


def build_one(spec: DocSpec, *, cache: Path) -> dict:
    """Build (or read from the cache) one document's file and text; returns its cache record."""
    folder = cache / spec.recipe_key
    record_path = folder / "record.json"
    if record_path.exists():
        return json.loads(record_path.read_text())
    made = make(spec)
    folder.mkdir(parents=True, exist_ok=True)
    original_name = f"original.{made.extension}"
    (folder / original_name).write_bytes(made.original)
    (folder / "thumbnail.webp").write_bytes(render.thumbnail(made.first_page))
    record = {
        "recipe": spec.recipe_key,
        "file": original_name,
        "content": made.content,
        "size": len(made.original),
        "checksum": hashlib.md5(made.original).hexdigest(),  # noqa: S324 (Paperless's checksum)
        "page_count": made.page_count,
    }
    tmp = record_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(record_path)
    return record


def _build_worker(args: tuple[DocSpec, str]) -> dict:
    spec, cache = args
    return build_one(spec, cache=Path(cache))


def dataset_row(spec: DocSpec, record: dict, *, cache: Path) -> dict:
    """One document of the dataset: its text, what Paperless would know of it, the labels, and
    its thumbnail's hashes and page layout."""
    hashes = hash_image((cache / spec.recipe_key / "thumbnail.webp").read_bytes())
    source = spec.source
    extension = record["file"].rsplit(".", 1)[-1]
    return {
        "id": spec.id,
        "recipe": spec.recipe_key,
        "cluster": spec.cluster,
        "unit": source.unit,
        "doc_type": source.doc_type,
        "variant": spec.variant.kind,
        "split": spec.split,
        "part_of": list(source.part_of) if source.part_of else None,
        "contains": source.meta.get("contains"),
        "embeds": source.meta.get("embeds"),
        "content": record["content"],
        "size": record["size"],
        "checksum": record["checksum"],
        **metadata(spec, content=record["content"], page_count=record["page_count"],
                   extension=extension),
        "dhash": hashes.dhash.hex(),
        "phash": hashes.phash,
        "layout": hashes.layout.hex() if hashes.layout is not None else None,
    }  # fmt: skip


def build(
    *,
    cache: Path | None = None,
    workers: int | None = None,
    limit: Sequence[str] | None = None,
    output: Path | None = DATASET,
    progress: Callable[[str], None] = print,
) -> list[dict]:
    """Build every document (``limit``: only sources whose key starts with one of these) and
    write the dataset to ``output``; returns its rows."""
    render.check_tools()
    cache = cache or default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    specs = plan(page_count=lambda source: render.pdf_page_count(render.pdf(source)), only=limit)
    todo = [s for s in specs if not (cache / s.recipe_key / "record.json").exists()]
    progress(f"{len(specs)} documents, {len(specs) - len(todo)} cached, {len(todo)} to build")
    started = time.monotonic()
    records: dict[int, dict] = {}
    workers = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_build_worker, (spec, str(cache))): spec for spec in specs}
        for done, future in enumerate(as_completed(futures), 1):
            spec = futures[future]
            records[spec.id] = future.result()
            if done % 25 == 0 or done == len(specs):
                progress(f"  {done}/{len(specs)} ({time.monotonic() - started:.0f} s)")
    rows = [dataset_row(spec, records[spec.id], cache=cache) for spec in specs]
    if output is not None:
        write_rows(rows, path=output)
        progress(f"wrote {output} ({output.stat().st_size // 1024} KB)")
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--only", action="append", default=None, metavar="KEY_PREFIX")
    args = parser.parse_args(argv)
    build(cache=args.cache, workers=args.workers, limit=args.only,
          output=None if args.only else DATASET)  # fmt: skip


if __name__ == "__main__":
    main()
