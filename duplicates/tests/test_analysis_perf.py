"""The full run clears the "needs analysis" flags in a second connection while the engine looks for
candidates (PostgreSQL, outside a transaction), and clears them itself when that fails."""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from documents.models import Document
from duplicates import analysis
from duplicates.engine.corpus import generate_corpus
from duplicates.models import DuplicateGroup
from duplicates.tests.conftest import store_documents


def test_full_run_clears_the_flags_in_the_background_on_postgresql(transactional_db, monkeypatch):
    store_documents(generate_corpus(seed=4, per_kind=1, background=20).docs)
    later = Document.objects.order_by("pk").last()
    Document.objects.filter(pk=later.pk).update(last_synced_at=timezone.now() + timedelta(hours=1))
    threads: list[str] = []
    original = analysis._FlagClearer._run

    def run(self):
        threads.append(threading.current_thread().name)
        original(self)

    monkeypatch.setattr(analysis._FlagClearer, "_run", run)

    counts = analysis.run_analysis(full=True, workers=1, sketch_batch=10)

    assert counts["mode"] == "full" and DuplicateGroup.objects.exists()
    flagged = list(Document.objects.filter(needs_analysis=True).values_list("pk", flat=True))
    assert flagged == [later.pk]  # synced after the run started: compared again next time
    if connection.vendor == "postgresql":
        assert threads == ["analysis-flags"]
    else:
        assert threads == []


def test_flags_are_cleared_in_the_run_when_the_background_fails(transactional_db, monkeypatch):
    store_documents(generate_corpus(seed=4, per_kind=1, background=10).docs)

    def fail(self):
        raise RuntimeError("lost connection")

    monkeypatch.setattr(analysis._FlagClearer, "_run", fail)  # never sets done
    monkeypatch.setattr(analysis._FlagClearer, "usable", staticmethod(lambda: True))
    monkeypatch.setattr(threading, "excepthook", lambda args: None)

    analysis.run_analysis(full=True, workers=1, sketch_batch=10)

    assert not Document.objects.filter(needs_analysis=True).exists()
