"""What the thumbnail, preview and page-image caches share: a size cap from the configuration,
writing a file whole or not at all, and trimming a sharded directory (``<root>/<shard>/<file>``)
oldest file first."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)


def configured_cap_bytes() -> int:
    """The cap of each cache, from ``Configuration.thumbnail_cache_mb``."""
    from dedupe_project.models import Configuration

    return int(Configuration.objects.get_solo().thumbnail_cache_mb) * 1024 * 1024


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``target`` through a temporary file in its directory, so a reader never sees half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def trim(root: Path, *, max_bytes: int, label: str) -> dict[str, int]:
    """Delete the files least recently written (or touched on use) until the files under
    ``root`` fit ``max_bytes``. Returns the size before and after and how many files went."""
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
    before, evicted = total, 0
    if total > max_bytes:
        entries.sort()
        for _mtime, size, path in entries:
            if total <= max_bytes:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            total -= size
            evicted += 1
        logger.info("cache trimmed", extra={"cache": label, "evicted": evicted, "bytes": total})
    return {"bytes_before": before, "bytes_after": total, "evicted": evicted}
