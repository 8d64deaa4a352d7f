"""The corpus dataset file: one gzipped JSON with a row per document (text, metadata, image
signatures, labels; no files). Written by :mod:`.build`, read by the quality report, the
calibration, the fake Paperless and the tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

DATASET = Path(__file__).resolve().parent / "data" / "real-ocr-corpus.json.gz"
DATASET_VERSION = 1


def read_rows(*, split: str | None = None, path: Path = DATASET) -> list[dict]:
    """The dataset's rows (``split``: train, heldout, or None for all)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        payload = json.load(handle)
    if payload.get("version") != DATASET_VERSION:
        raise ValueError(f"{path}: dataset version {payload.get('version')}, not {DATASET_VERSION}")
    return [row for row in payload["documents"] if split is None or row["split"] == split]


def write_rows(rows: list[dict], *, path: Path = DATASET) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": DATASET_VERSION, "documents": rows}
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as handle:
        json.dump(payload, handle, separators=(",", ":"), sort_keys=True)
