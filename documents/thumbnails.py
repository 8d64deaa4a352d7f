"""The thumbnail cache on disk: ``DATA_DIR/thumbnails/<shard>/<paperless id>.webp``, size-capped.

Thumbnails are fetched by the sync (for new or changed documents) and, when evicted, again on demand
by the thumbnail view. The cap comes from ``Configuration.thumbnail_cache_mb``; the oldest files
(by modification time) go first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    return Path(settings.DATA_DIR) / "thumbnails"


def cache_cap_bytes() -> int:
    from dedupe_project.models import Configuration

    return int(Configuration.objects.get_solo().thumbnail_cache_mb) * 1024 * 1024


def path_for(paperless_id: int) -> Path:
    return cache_dir() / f"{paperless_id % 256:02x}" / f"{paperless_id}.webp"


def read(paperless_id: int) -> bytes | None:
    try:
        return path_for(paperless_id).read_bytes()
    except FileNotFoundError:
        return None


def store(paperless_id: int, data: bytes) -> None:
    """Write atomically (a reader never sees half a file)."""
    target = path_for(paperless_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def discard(paperless_ids: list[int]) -> None:
    for paperless_id in paperless_ids:
        path_for(paperless_id).unlink(missing_ok=True)


def enforce_cap(*, max_bytes: int | None = None) -> dict[str, int]:
    """Evict the oldest thumbnails until the cache fits ``max_bytes`` (default: the configured
    cap). Returns the size before and after and how many files went."""
    limit = cache_cap_bytes() if max_bytes is None else max_bytes
    root = cache_dir()
    entries: list[tuple[float, int, str]] = []
    total = 0
    if root.exists():
        for shard in os.scandir(root):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard.path):
                if entry.is_file() and not entry.name.startswith("."):
                    stat = entry.stat()
                    entries.append((stat.st_mtime, stat.st_size, entry.path))
                    total += stat.st_size
    before = total
    evicted = 0
    if total > limit:
        entries.sort()
        for _mtime, size, path in entries:
            if total <= limit:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            total -= size
            evicted += 1
        logger.info("thumbnail cache trimmed", extra={"evicted": evicted, "bytes": total})
    return {"bytes_before": before, "bytes_after": total, "evicted": evicted}
