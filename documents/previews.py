"""The page-preview cache on disk: ``DATA_DIR/previews/<shard>/<paperless id>-<version>.<ext>``.

A preview is what Paperless's ``/preview/`` answers: the archive PDF when there is one, else the
original file. Nothing renders pages here (Pillow can't read PDF): the file is served as it is,
through our login-protected view, to the browser's own viewer in an ``<iframe>``, which pages and
zooms with the standard ``#page=N&zoom=Z`` fragment. No JS library, nothing extra to install.

The cache works like the thumbnail cache (``documents/thumbnails.py``): written atomically, capped
in size by ``Configuration.thumbnail_cache_mb`` (the same cap, its own directory), least recently
used files evicted first (a read touches the file). The file name carries the *version* of the
document's file (its archive or original checksum from the mirror), so a document re-processed in
Paperless is fetched again instead of served stale, and its old file is removed when the new one
is stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from documents import disk_cache

if TYPE_CHECKING:
    from documents.models import Document

logger = logging.getLogger(__name__)

INLINE_TYPES: dict[str, str] = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "text/plain": "txt",
}
"""Types a browser shows safely inline on our origin; anything else is served as a download
(an HTML or SVG original must never run as a page of ours)."""
DOWNLOAD_TYPE = "application/octet-stream"
_TYPE_BY_EXTENSION = {ext: content_type for content_type, ext in INLINE_TYPES.items()}
_TYPE_BY_EXTENSION["bin"] = DOWNLOAD_TYPE
_VERSION_CHARS = re.compile(r"[^0-9A-Za-z]")


@dataclass(frozen=True, slots=True)
class Preview:
    """A preview file: on disk (``path``) when cached, else in memory (``data``)."""

    content_type: str
    version: str
    path: Path | None = None
    data: bytes | None = None

    @property
    def inline(self) -> bool:
        return self.content_type in INLINE_TYPES

    @property
    def extension(self) -> str:
        return INLINE_TYPES.get(self.content_type, "bin")


def cache_dir() -> Path:
    return Path(settings.DATA_DIR) / "previews"


def cache_cap_bytes() -> int:
    return disk_cache.configured_cap_bytes()


def version_of(document: Document) -> str:
    """What identifies the file ``/preview/`` returns for ``document`` today: the archive checksum
    when it has an archive file, else the original checksum, else its modification time."""
    if document.archived_file_name or document.archive_checksum:
        raw = document.archive_checksum or f"archive-{document.modified}"
    else:
        raw = document.original_checksum or f"original-{document.modified}"
    cleaned = _VERSION_CHARS.sub("", raw)
    if not cleaned or len(cleaned) > 64 or cleaned != raw:
        cleaned = hashlib.sha256(raw.encode()).hexdigest()
    return cleaned[:64]


def is_previewable(document: Document) -> bool:
    """Whether the browser can show the preview inline (a PDF, an image it knows, plain text)."""
    return bool(document.archived_file_name) or document.mime_type in INLINE_TYPES


def _shard(paperless_id: int) -> Path:
    return cache_dir() / f"{paperless_id % 256:02x}"


def content_type_of(raw: str | None) -> str:
    """The served type for what Paperless said: a known inline type, else a download."""
    base = (raw or "").split(";", 1)[0].strip().lower()
    return base if base in INLINE_TYPES else DOWNLOAD_TYPE


def read(paperless_id: int, *, version: str) -> Preview | None:
    """The cached preview of this version, touched so eviction is least-recently-used."""
    for path in _shard(paperless_id).glob(f"{paperless_id}-{version}.*"):
        content_type = _TYPE_BY_EXTENSION.get(path.suffix.lstrip("."))
        if content_type is None:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.utime(path)
            return Preview(content_type=content_type, version=version, path=path)
    return None


def store(paperless_id: int, *, version: str, data: bytes, content_type: str) -> Preview:
    """Write atomically (a reader never sees half a file) and drop older versions of the same
    document. A file larger than the whole cache is not stored, only returned."""
    preview = Preview(content_type=content_type_of(content_type), version=version, data=data)
    if len(data) > cache_cap_bytes():
        return preview
    shard = _shard(paperless_id)
    target = shard / f"{paperless_id}-{version}.{preview.extension}"
    disk_cache.write_atomically(target, data)
    for old in shard.glob(f"{paperless_id}-*"):
        if old != target:
            old.unlink(missing_ok=True)
    return Preview(content_type=preview.content_type, version=version, path=target)


def discard(paperless_ids: list[int]) -> None:
    for paperless_id in paperless_ids:
        for path in _shard(paperless_id).glob(f"{paperless_id}-*"):
            path.unlink(missing_ok=True)


def enforce_cap(*, max_bytes: int | None = None) -> dict[str, int]:
    """Evict the least recently used previews until the cache fits ``max_bytes`` (default: the
    configured cap). Returns the size before and after and how many files went."""
    limit = cache_cap_bytes() if max_bytes is None else max_bytes
    return disk_cache.trim(cache_dir(), max_bytes=limit, label="previews")


def get_preview(document: Document) -> Preview:
    """The preview of ``document``, from the cache or else fetched from Paperless and cached.

    Raises ``ConnectionNotConfigured`` or a ``PaperlessError`` when it has to be fetched and can't.
    """
    version = version_of(document)
    cached = read(document.paperless_id, version=version)
    if cached is not None:
        return cached
    from documents.connection import get_client

    with get_client() as client:
        fetched = client.get_preview(document.paperless_id)
    preview = store(
        document.paperless_id,
        version=version,
        data=fetched.content,
        content_type=fetched.content_type or document.mime_type,
    )
    if preview.path is not None:
        enforce_cap()
    return preview
