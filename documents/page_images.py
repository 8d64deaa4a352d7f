"""Pages as images, rendered on our side from Paperless's preview and cached on disk, so review
mode shows two documents side by side at a size people read, the same in every browser (no
browser PDF viewer, no JS library).

``DATA_DIR/pages/<shard>/<paperless id>-<version>-p<page>-w<width>.jpg``: the version is the
preview's (:func:`documents.previews.version_of`), so a document re-processed in Paperless is
rendered again. Trimmed like the other caches (least recently used first, the same size cap).

The preview (archive PDF, else the original) is rendered with pdfium (``pypdfium2``, a wheel
with the library inside: nothing to install on the system); an image original is scaled; any
other file falls back to Paperless's thumbnail for page 1.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from documents import disk_cache, previews

if TYPE_CHECKING:
    from documents.models import Document

WIDTHS = (600, 900, 1400)
"""The widths served: a column of two side by side, a wider one, and zoomed in."""
DEFAULT_WIDTH = 900
QUALITY = 85
CONTENT_TYPE = "image/jpeg"
"""JPEG: encoding a page takes a few milliseconds where WebP took about 100 (measured on a
900 px page), and the review draws several pages per decision while the next one is asked for."""
_PDFIUM = threading.Lock()  # pdfium is not thread-safe; views run in threads


class NoPage(LookupError):
    """The document has no such page, or nothing we can draw it from."""


def cache_dir() -> Path:
    return Path(settings.DATA_DIR) / "pages"


def _path(document: Document, *, page: int, width: int) -> Path:
    version = previews.version_of(document)
    shard = cache_dir() / f"{document.paperless_id % 256:02x}"
    return shard / f"{document.paperless_id}-{version}-p{page}-w{width}.jpg"


def _encode(image: object, *, width: int) -> bytes:
    from PIL import Image

    assert isinstance(image, Image.Image)
    if image.width > width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, optimize=False)
    return out.getvalue()


def _render_pdf(data: bytes, *, page: int, width: int) -> bytes:
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(data)
        try:
            if page > len(pdf):
                raise NoPage(f"The file has {len(pdf)} page(s), not {page}.")
            sheet = pdf[page - 1]
            try:
                scale = width / max(1.0, sheet.get_width())
                image = sheet.render(scale=scale).to_pil()
            finally:
                sheet.close()
        finally:
            pdf.close()
    return _encode(image, width=width)


def _render(document: Document, *, page: int, width: int) -> bytes:
    from PIL import Image

    preview = previews.get_preview(document)
    data = preview.data if preview.data is not None else preview.path.read_bytes()  # type: ignore[union-attr]
    if preview.content_type == "application/pdf":
        return _render_pdf(data, page=page, width=width)
    if preview.content_type.startswith("image/"):
        if page != 1:
            raise NoPage("An image has one page.")
        return _encode(Image.open(io.BytesIO(data)), width=width)
    if page != 1:
        raise NoPage("Only the first page of this type of file can be shown.")
    from documents import thumbnails

    thumb = thumbnails.read(document.paperless_id)
    if thumb is None:
        raise NoPage("No thumbnail of this document is cached.")
    return _encode(Image.open(io.BytesIO(thumb)), width=width)


def page_image(document: Document, *, page: int, width: int = DEFAULT_WIDTH) -> bytes:
    """The JPEG of ``page`` (from 1) at ``width`` pixels, from the cache or rendered and cached.

    Raises :class:`NoPage`, or ``ConnectionNotConfigured`` / a ``PaperlessError`` when the
    preview has to be fetched and can't."""
    if width not in WIDTHS:
        raise NoPage(f"Pages are drawn {', '.join(map(str, WIDTHS))} pixels wide.")
    if page < 1 or (document.page_count and page > document.page_count):
        raise NoPage(f"#{document.paperless_id} has no page {page}.")
    target = _path(document, page=page, width=width)
    with contextlib.suppress(FileNotFoundError):
        data = target.read_bytes()
        os.utime(target)
        return data
    data = _render(document, page=page, width=width)
    disk_cache.write_atomically(target, data)
    disk_cache.trim(cache_dir(), max_bytes=disk_cache.configured_cap_bytes(), label="pages")
    return data
