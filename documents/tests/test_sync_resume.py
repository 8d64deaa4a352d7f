"""Kill the sync for real (SIGKILL, mid-page) and resume: no duplicate rows, no gaps, no restart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from documents.models import Document, DocumentContent, SyncState
from processing import jobs
from processing.models import Job
from tests.fixtures import kill_when


def content_pages(paperless) -> list[int]:
    return [
        int(r.param("page") or 1)
        for r in paperless.requests_for(method="GET", path="/api/documents/")
        if "content" in (r.param("fields") or "")
    ]


@pytest.mark.parametrize("how", ["resume-the-job", "start-a-new-sync"])
def test_a_sync_killed_mid_page_resumes_after_the_last_committed_page(
    paperless, transactional_db, tmp_path, how
):
    paperless.seed(documents=95)
    fired: list[bool] = []

    def stall_the_next_page(state, request):
        if not fired and "content" in (request.param("fields") or ""):
            fired.append(True)
            paperless.delay_next(1, seconds=30, path="/api/documents/")

    paperless.after_request(
        stall_the_next_page, method="GET", path="/api/documents/", page=3, once=False
    )
    kill_when(
        ["sync", "--page-size", "10"],
        ready=lambda: SyncState.objects.get_solo().cursor.get("page") == 3,
        settle=0.3,  # the worker now waits for page 4, which the fake holds back
        data_dir=tmp_path,
        env={"PAPERLESS_URL": paperless.url, "PAPERLESS_API_TOKEN": paperless.token},
    )
    killed = Job.objects.get(kind=Job.Kind.SYNC)
    assert killed.status == Job.Status.RUNNING  # the dead worker could not say anything
    assert Document.objects.count() == 30  # pages 1-3 committed, page 4 not
    assert killed.checkpoint["page"] == 3 and killed.checkpoint["last_id"] == 30

    paperless.requests.clear()
    Job.objects.mark_stale(now=timezone.now() + timedelta(hours=1))
    if how == "resume-the-job":
        jobs.execute(killed.pk)
        job = Job.objects.get(pk=killed.pk)
    else:
        job = jobs.run_inline(kind=Job.Kind.SYNC, params={"page_size": 10})
    assert job.status == Job.Status.SUCCEEDED, job.error

    assert min(content_pages(paperless)) >= 3  # resumed, not restarted
    ids = list(Document.objects.order_by("paperless_id").values_list("paperless_id", flat=True))
    assert ids == list(paperless.state.live_ids())
    assert len(ids) == len(set(ids)) == 95
    assert DocumentContent.objects.count() == 95
    for document in Document.objects.filter(paperless_id__in=[29, 30, 31, 95]):
        fake = paperless.state.documents[document.paperless_id]
        assert document.text == fake.content
        assert sorted(document.tags.values_list("paperless_id", flat=True)) == sorted(fake.tags)
    assert not Document.objects.filter(dhash__isnull=True).exists()
    assert SyncState.objects.get_solo().cursor == {}
