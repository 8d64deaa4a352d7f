"""A full analysis stopped mid-way resumes after its last committed batch and ends with the same
edges and groups as a run that was never stopped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from duplicates import analysis
from duplicates.engine.corpus import generate_corpus
from duplicates.models import AnalysisStatus, DocumentSketch, DuplicateGroup, PairEdge
from duplicates.tests.conftest import store_documents
from processing import jobs
from processing.models import Job
from tests.fixtures import kill_when


def outcome() -> tuple[dict, list]:
    edges = {
        (a, b): round(c, 6) for a, b, c in PairEdge.objects.values_list("a", "b", "confidence")
    }
    groups = sorted(
        sorted(g.members.filter(removed=False).values_list("document_id", flat=True))
        for g in DuplicateGroup.objects.all()
    )
    return edges, groups


def forget_analysis() -> None:
    DuplicateGroup.objects.all().delete()
    PairEdge.objects.all().delete()
    DocumentSketch.objects.all().delete()
    AnalysisStatus.objects.all().delete()


class Crash(Exception):
    pass


def test_analysis_stopped_after_a_checkpoint_resumes_with_the_same_groups(db, monkeypatch):
    store_documents(generate_corpus(seed=5, per_kind=2, background=40).docs)
    analysis.run_analysis(full=True, workers=1)
    expected = outcome()
    assert expected[1]
    forget_analysis()

    original = analysis._Reporter.checkpoint
    calls = []

    def crash_on_the_fifth(self, state):
        original(self, state)
        calls.append(state.stage)
        if len(calls) == 5:
            raise Crash()

    monkeypatch.setattr(analysis._Reporter, "checkpoint", crash_on_the_fifth)
    with pytest.raises(Crash):
        analysis.run_analysis(full=True, workers=1, sketch_batch=20, score_batch=20)
    cursor = AnalysisStatus.objects.get_solo().cursor
    assert cursor["mode"] == "full" and cursor["stage"] in ("sketch", "score")
    committed = PairEdge.objects.count() + DocumentSketch.objects.count()
    assert committed > 0
    monkeypatch.setattr(analysis._Reporter, "checkpoint", original)

    counts = analysis.run_analysis(workers=1, sketch_batch=20, score_batch=20)  # not --full

    assert counts["resumed"] is True and counts["mode"] == "full"
    assert counts["signatures_computed"] < DocumentSketch.objects.count()  # kept, not redone
    assert outcome() == expected
    assert AnalysisStatus.objects.get_solo().cursor == {}


def test_a_library_changed_since_the_checkpoint_is_not_resumed(db, monkeypatch):
    docs = generate_corpus(seed=5, per_kind=1, background=20).docs
    store_documents(docs[:-1])
    AnalysisStatus.objects.update_or_create(
        pk=1, defaults={"cursor": {"mode": "full", "run_id": 1, "library": "other", "stage":
                                   "score", "cursor": 10**9}}
    )  # fmt: skip

    counts = analysis.run_analysis(workers=1)

    assert counts["resumed"] is False
    assert counts["compared"] == len(docs) - 1 and counts["groups"] > 0


def test_analysis_killed_for_real_resumes_from_its_cursor(transactional_db, tmp_path):
    store_documents(generate_corpus(seed=11, per_kind=3, background=60).docs)

    def scoring_past_30() -> bool:
        cursor = AnalysisStatus.objects.get_solo().cursor
        return cursor.get("stage") == "score" and cursor.get("cursor", 0) >= 30

    kill_when(
        ["dedupe", "--full", "--workers", "1", "--sketch-batch", "10", "--score-batch", "3"],
        ready=scoring_past_30,
        data_dir=tmp_path,
        timeout=120,
        poll=0.02,
    )
    killed = Job.objects.get(kind=Job.Kind.ANALYSIS)
    assert killed.status == Job.Status.RUNNING  # the dead process could not say anything
    left = AnalysisStatus.objects.get_solo().cursor
    assert killed.checkpoint["cursor"] >= 30

    Job.objects.mark_stale(now=timezone.now() + timedelta(hours=1))
    jobs.execute(killed.pk)
    job = Job.objects.get(pk=killed.pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["resumed"] is True
    resumed = outcome()
    assert left["cursor"] >= 30 and resumed[1]

    analysis.run_analysis(full=True, workers=1)  # the same library, never interrupted
    assert outcome() == resumed
