"""The thumbnail cache on disk: ``DATA_DIR/thumbnails/<shard>/<paperless id>.webp``, size-capped.

Thumbnails are fetched by the sync (for new or changed documents) and, when evicted, again on demand
by the thumbnail view. The cap comes from ``Configuration.thumbnail_cache_mb``; the oldest files
(by modification time) go first.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from django.conf import settings

from documents import disk_cache

logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    return Path(settings.DATA_DIR) / "thumbnails"


def cache_cap_bytes() -> int:
    return disk_cache.configured_cap_bytes()


def path_for(paperless_id: int) -> Path:
    return cache_dir() / f"{paperless_id % 256:02x}" / f"{paperless_id}.webp"


def read(paperless_id: int) -> bytes | None:
    try:
        return path_for(paperless_id).read_bytes()
    except FileNotFoundError:
        return None


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def store(paperless_id: int, data: bytes) -> None:
    """Write atomically (a reader never sees half a file).

    The temporary name is fixed per process and thread (``.tmp-<pid>-<thread>-<id>``), so no
    random names and no ``mkdir`` per file: the sync stores thousands in a row (``mkstemp`` was
    a tenth of its per-document time). Names starting with a dot are skipped by the cache trim.
    """
    target = path_for(paperless_id)
    tmp = target.parent / f".tmp-{os.getpid()}-{threading.get_ident()}-{paperless_id}"
    try:
        fd = os.open(tmp, _WRITE_FLAGS, 0o600)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, _WRITE_FLAGS, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def discard(paperless_ids: list[int]) -> None:
    for paperless_id in paperless_ids:
        path_for(paperless_id).unlink(missing_ok=True)


def enforce_cap(*, max_bytes: int | None = None) -> dict[str, int]:
    """Evict the oldest thumbnails until the cache fits ``max_bytes`` (default: the configured
    cap). Returns the size before and after and how many files went."""
    limit = cache_cap_bytes() if max_bytes is None else max_bytes
    return disk_cache.trim(cache_dir(), max_bytes=limit, label="thumbnails")


class RunningCap:
    """Keeps the cache within its cap while the sync writes thousands of thumbnails, without
    scanning the directory after every batch: the size is known after one scan (when the first
    bytes are written, so a sync that fetches nothing scans only once, at the end) and then
    counted up by what is written; when the count passes the cap, the oldest files go until the
    cache is at ``LOW_WATER`` of it, so the next scan is a tenth of the cap away. (Overwritten
    files are counted twice, which only trims sooner.)"""

    LOW_WATER = 0.9

    def __init__(self, *, max_bytes: int | None = None) -> None:
        self.cap = cache_cap_bytes() if max_bytes is None else max_bytes
        self.size: int | None = None
        self.evicted = 0

    def _trim(self, max_bytes: int) -> int:
        outcome = enforce_cap(max_bytes=max_bytes)
        self.size = outcome["bytes_after"]
        self.evicted += outcome["evicted"]
        return outcome["evicted"]

    def add(self, written: int) -> int:
        """Count ``written`` bytes just stored; trims when over the cap. Returns how many files
        this call evicted."""
        if not written:
            return 0
        if self.size is None:
            return self._trim(self.cap)  # the first scan counts what was just written
        self.size += written
        if self.size <= self.cap:
            return 0
        return self._trim(int(self.cap * self.LOW_WATER))

    def finish(self) -> int:
        """A last trim to the cap (the thumbnail view may have added files meanwhile); returns
        how many files this cap evicted in all."""
        self._trim(self.cap)
        return self.evicted
