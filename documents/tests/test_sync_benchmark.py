"""``manage.py sync_benchmark`` end to end on a small library: the fake in its own process, the
download baseline, a full sync and the incremental one after changes, each in a child process
with its own throwaway SQLite database. Checks what it reports, never how fast."""

from __future__ import annotations

import io
import re

from django.core.management import call_command


def test_the_benchmark_syncs_then_syncs_the_changes_incrementally():
    out = io.StringIO()
    call_command(
        "sync_benchmark", "--documents", "300", "--page-size", "100", "--then-incremental", "10",
        stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "Documents:                 300" in text
    assert re.search(r"Sync, documents phase: +[\d.]+ s \([\d,]+ documents/s\), [\d.]+x", text)
    assert "Rows mirrored:             300" in text
    assert re.search(r"Peak memory \(maxrss\): +\d+ MB", text)
    assert "Then 30 documents tagged and 3 trashed in Paperless" in text
    assert re.search(r"total [\d.]+ s \(objects [\d.]+ s, documents [\d.]+ s, reconcile", text)
    assert "rows after: 297 (of 300 at first)" in text
