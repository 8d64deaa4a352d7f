"""File versions of one Paperless document (rows with ``root_paperless_id``) are never proposed as
duplicates of each other; analyses queued while one runs wait for it instead of failing."""

from __future__ import annotations

import threading
import time

import pytest

from documents.models import Document
from duplicates.analysis import request_analysis, without_version_pairs
from duplicates.engine import PairScore
from duplicates.models import DuplicateGroup, PairEdge
from duplicates.tests.conftest import LETTER, change_text, feature, page, store_documents
from processing import jobs
from processing.models import Job

pytestmark = pytest.mark.django_db


def test_versions_of_one_document_are_never_paired_but_a_real_copy_is(analyse):
    text = LETTER + page(1)
    store_documents([feature(1, text), feature(2, text), feature(3, text), feature(4, page(9))])
    Document.objects.filter(pk=2).update(is_version=True, root_paperless_id=1)

    analyse()

    pairs = set(PairEdge.objects.values_list("a_id", "b_id"))
    assert (1, 2) not in pairs  # a document and its own version
    assert (1, 3) in pairs and (2, 3) in pairs  # a real copy pairs with either file
    assert not any(4 in pair for pair in pairs)


def test_two_versions_of_one_root_are_not_paired_either(analyse):
    text = LETTER + page(2)
    store_documents([feature(10, page(3)), feature(11, text), feature(12, text)])
    Document.objects.filter(pk__in=[11, 12]).update(is_version=True, root_paperless_id=10)

    analyse()

    assert not PairEdge.objects.exists()
    assert not DuplicateGroup.objects.exists()


def test_an_incremental_run_keeps_them_apart_too(analyse):
    text = LETTER + page(4)
    background = [feature(30 + n, page(30 + n)) for n in range(8)]
    store_documents([feature(20, text), feature(21, page(5)), *background])
    analyse()
    change_text(21, text)  # now the same text ...
    Document.objects.filter(pk=21).update(is_version=True, root_paperless_id=20)  # ... a version

    counts = analyse()

    assert counts["mode"] == "incremental"
    assert not PairEdge.objects.exists()


def test_without_version_pairs_costs_nothing_without_versions(django_assert_num_queries):
    edges = [PairScore(a=1, b=2, confidence=0.9, factors={}, sources=("lsh",))]
    with django_assert_num_queries(1):
        assert without_version_pairs(edges) == edges


def test_request_analysis_reuses_a_queued_one_and_queues_behind_a_running_one():
    first = request_analysis()
    assert request_analysis().pk == first.pk  # not started yet: it will see the change
    Job.objects.filter(pk=first.pk).update(status=Job.Status.RUNNING)
    second = request_analysis()  # the running one may have looked already
    assert second.pk != first.pk and second.status == Job.Status.QUEUED


@pytest.mark.django_db(transaction=True)
def test_a_queued_analysis_waits_for_an_older_running_one(monkeypatch):
    from duplicates import analysis

    monkeypatch.setattr(analysis, "WAIT_POLL_SECONDS", 0.02)
    store_documents([feature(1, page(1)), feature(2, page(2))])
    older = Job.objects.create(kind=Job.Kind.ANALYSIS, status=Job.Status.RUNNING)
    Job.objects.filter(pk=older.pk).update(heartbeat_at=older.created_at)
    newer = request_analysis()
    done = threading.Event()
    thread = threading.Thread(target=lambda: (jobs.execute(newer.pk), done.set()))
    thread.start()
    deadline = time.monotonic() + 20
    while not Job.objects.get(pk=newer.pk).message.startswith(f"Waiting for analysis #{older.pk}"):
        assert time.monotonic() < deadline and not done.is_set()
        time.sleep(0.05)
    time.sleep(0.2)
    assert not done.is_set()  # waiting, not failed
    assert Job.objects.get(pk=newer.pk).status == Job.Status.RUNNING
    Job.objects.filter(pk=older.pk).update(status=Job.Status.SUCCEEDED)
    thread.join(timeout=30)
    assert Job.objects.get(pk=newer.pk).status == Job.Status.SUCCEEDED
