"""What the ``webhook`` job does with deliveries, against the fake Paperless over real HTTP: the
document mirrored with the sync's own code and analysed, bursts in few runs, documents without
text read again, our own changes ignored, versions, Paperless down, and a killed worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from documents.models import Document
from duplicates.actions import begin_own_change, finish_own_change, refresh_mirror
from duplicates.engine.layout import BLANK
from duplicates.models import GroupMember
from processing import jobs
from processing.models import Job
from tests.fixtures import kill_when
from webhooks import handling
from webhooks.models import WebhookEvent, WebhookSettings
from webhooks.tests.conftest import SECRET, post_hook

pytestmark = pytest.mark.django_db

HEADERS = {"X-Dedupe-Secret": SECRET}


def deliver(client, event: str, *ids: int) -> None:
    for pid in ids:
        response = post_hook(client, event, {"doc_id": str(pid)}, headers=HEADERS)
        assert response.status_code == 202, response.content


def thumbnails(paperless) -> list[str]:
    requests = paperless.requests_for(path="/api/documents/*")
    return [r.path for r in requests if r.path.endswith("/thumb/")]


def library(paperless, run_sync, *, documents: int = 30, thumbnails: bool = True) -> None:
    """A synced and analysed library (the state a webhook usually meets). Without
    ``thumbnails`` the files phase is skipped and each document recorded as if its thumbnail
    were hashed (the fake draws each one, ~15 ms)."""
    paperless.seed(documents=documents, duplicate_ratio=0.0)
    job = run_sync(full=True, files=thumbnails)
    assert job.status == Job.Status.SUCCEEDED, job.error
    if not thumbnails:
        Document.objects.update(
            thumbnail_needed=False, phash=0, layout=BLANK, thumbnail_etag=F("original_checksum")
        )
    for queued in Job.objects.filter(kind=Job.Kind.ANALYSIS, status=Job.Status.QUEUED):
        jobs.execute(queued.pk)


def test_a_document_added_is_mirrored_analysed_and_found_a_duplicate(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    original = paperless.state.documents[7]
    copy = paperless.state.add_document(
        title="Scan of 7", blob_key=original.blob_key, image_seed=original.image_seed
    )
    deliver(client, "added", copy.id)
    run_webhook_jobs()
    document = Document.objects.get(paperless_id=copy.id)
    assert document.text == original.content
    assert document.phash is not None and document.thumbnail_etag
    assert not document.needs_analysis
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.DONE
    assert event.analysed_at >= event.mirrored_at >= event.received_at
    group = GroupMember.objects.get(document=document).group
    assert event.duplicate_group_id == group.pk
    assert set(group.members.values_list("document__paperless_id", flat=True)) == {7, copy.id}


def test_one_document_costs_one_listing_request_not_a_sync(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    added = paperless.state.add_document(title="New letter")
    paperless.requests.clear()
    deliver(client, "added", added.id)
    run_webhook_jobs(analysis=False)
    listing = paperless.requests_for(method="GET", path="/api/documents/")
    # the client's version negotiation (one small page), then the document by id
    assert [r.param("id__in") for r in listing] == [None, str(added.id)]
    assert listing[0].param("page_size") == "1"
    assert thumbnails(paperless) == [f"/api/documents/{added.id}/thumb/"]


def test_a_burst_of_500_is_mirrored_in_a_few_batched_requests_and_one_analysis(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync, documents=500, thumbnails=False)
    tag = paperless.state.add_tag("bulk-edited")
    with paperless.state.lock:  # a bulk edit of 500 documents in Paperless
        for document in paperless.state.documents.values():
            document.tags = [tag["id"]]
            paperless.state.touch(document)
    paperless.requests.clear()
    deliver(client, "updated", *range(1, 501))
    assert Job.objects.filter(kind=Job.Kind.WEBHOOK, status=Job.Status.QUEUED).count() == 1
    ran = run_webhook_jobs()
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.DONE).count() == 500
    assert sum(job.kind == Job.Kind.WEBHOOK for job in ran) == 1
    assert sum(job.kind == Job.Kind.ANALYSIS for job in ran) <= 1
    listing = [
        r for r in paperless.requests_for(method="GET", path="/api/documents/") if r.param("id__in")
    ]
    assert len(listing) == 3  # 200 ids a request
    assert not thumbnails(paperless)  # the files did not change
    assert Document.objects.filter(tags__paperless_id=tag["id"]).count() == 500


def test_repeated_events_for_one_document_mirror_it_once(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    deliver(client, "updated", 3, 3, 3, 4)
    paperless.requests.clear()
    run_webhook_jobs(analysis=False)
    listing = paperless.requests_for(method="GET", path="/api/documents/")
    assert [r.param("id__in") for r in listing if r.param("id__in")] == ["3,4"]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"done"}


def test_a_document_without_text_is_read_again_until_it_has_some(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    added = paperless.state.add_document(title="Fresh scan", content="")
    deliver(client, "added", added.id)
    run_webhook_jobs()
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.WAITING_TEXT
    assert event.content_checks == 1
    assert 4 <= (event.next_check_at - timezone.now()).total_seconds() <= 5
    recheck = Job.objects.get(kind=Job.Kind.WEBHOOK, params__has_key="recheck_at")
    assert recheck.status == Job.Status.QUEUED
    assert not Job.objects.filter(kind=Job.Kind.ANALYSIS, status=Job.Status.QUEUED).exists()
    # Still no text at the first re-check: later again (10 s), still not analysed.
    WebhookEvent.objects.update(next_check_at=timezone.now())
    run_webhook_jobs(rechecks=True)
    event.refresh_from_db()
    assert (event.status, event.content_checks) == (WebhookEvent.Status.WAITING_TEXT, 2)
    assert 9 <= (event.next_check_at - timezone.now()).total_seconds() <= 10
    # OCR finished: the next re-check mirrors the text and the analysis runs.
    paperless.state.documents[added.id].content = "Invoice 2024-12 amount EUR 12.34 " * 20
    WebhookEvent.objects.update(next_check_at=timezone.now())
    run_webhook_jobs(rechecks=True)
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.DONE
    assert "Invoice 2024-12" in Document.objects.get(paperless_id=added.id).text


def test_a_document_that_never_gets_text_is_analysed_in_the_end(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    added = paperless.state.add_document(title="A photo", content="")
    deliver(client, "added", added.id)
    WebhookEvent.objects.update(content_checks=len(handling.RECHECK_DELAYS))
    run_webhook_jobs()
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.DONE
    assert "image and metadata" in event.detail


def test_an_updated_document_without_text_is_not_waited_for(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    with paperless.state.lock:
        paperless.state.documents[5].content = ""
        paperless.state.touch(paperless.state.documents[5])
    deliver(client, "updated", 5)
    run_webhook_jobs()
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.DONE
    assert Document.objects.get(paperless_id=5).content_length == 0


def test_our_own_change_coming_back_causes_no_work(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    tag = paperless.state.add_tag("dedupe:would-delete")
    from documents.connection import get_client

    # What a dry run does: record the change, send it, record what Paperless answered.
    change = begin_own_change(paperless_id=9, kind="tag")
    with get_client() as client_:
        client_.add_tag([9], tag_id=tag["id"])
        after = client_.get_document(9)
    finish_own_change(change, modified=after["modified"])
    refresh_mirror(after)
    before = Document.objects.get(paperless_id=9).last_synced_at
    paperless.requests.clear()
    deliver(client, "updated", 9)
    run_webhook_jobs()
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert "Our own change" in event.detail
    assert Document.objects.get(paperless_id=9).last_synced_at == before  # nothing written
    assert not thumbnails(paperless)
    assert not Job.objects.filter(kind=Job.Kind.ANALYSIS).exclude(status="succeeded").exists()
    # A person's later edit of the same document is not ours.
    with paperless.state.lock:
        paperless.state.documents[9].title = "Renamed by a person"
        paperless.state.touch(paperless.state.documents[9])
    deliver(client, "updated", 9)
    run_webhook_jobs()
    assert Document.objects.get(paperless_id=9).title == "Renamed by a person"


def test_a_document_deleted_before_we_read_it_leaves_the_mirror(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    paperless.state.trash_document(4)
    deliver(client, "updated", 4)
    run_webhook_jobs()
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert "no longer has it" in event.detail
    assert not Document.objects.filter(paperless_id=4).exists()


def test_a_webhook_for_a_file_version_brings_its_root_up_to_date(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    root = paperless.state.documents[6]
    scan = paperless.state.documents[8]
    version = paperless.state.add_version(
        root, data=scan.original, label="re-scan", filename="scan.pdf"
    )
    deliver(client, "added", version.id)
    run_webhook_jobs()
    assert not Document.objects.filter(paperless_id=version.id).exists()
    mirrored = Document.objects.get(paperless_id=6)
    assert mirrored.versions == [
        {"id": version.id, "label": "re-scan", "checksum": version.checksum}
    ]
    assert mirrored.text == scan.content  # Paperless shows a root with its newest version's text
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.DONE
    assert "A file version of #6" in event.detail


def test_paperless_down_makes_the_events_wait_then_fail(
    client, paperless, secret, run_sync, run_webhook_jobs, monkeypatch
):
    library(paperless, run_sync)
    deliver(client, "updated", 2)
    from documents import connection

    quick = connection.make_client
    monkeypatch.setattr(  # the client's own retries would only make this test slow
        connection, "make_client", lambda **kwargs: quick(**{**kwargs, "max_retries": 0})
    )
    paperless.fail_next(100, status=503, path="/api/documents/")
    for tries in range(len(handling.RETRY_DELAYS) + 1):
        event = WebhookEvent.objects.get()
        if tries:
            assert event.status == WebhookEvent.Status.PENDING
            assert event.next_check_at > timezone.now()
            assert event.attempts == tries
        WebhookEvent.objects.update(next_check_at=None if tries == 0 else timezone.now())
        handling.process_deliveries()
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert "did not answer" in event.detail and "503" in event.detail
    # The events page's retry takes it again once Paperless is back.
    paperless.reset_faults()
    assert handling.retry(WebhookEvent.objects.all()) == 1
    run_webhook_jobs()
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.DONE


def test_no_connection_fails_the_events_with_the_reason(client, secret, settings, run_webhook_jobs):
    settings.PAPERLESS_URL = settings.PAPERLESS_API_TOKEN = ""
    deliver(client, "added", 1)
    run_webhook_jobs()
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert "No Paperless connection" in event.detail


def test_a_new_duplicate_gets_the_possible_duplicate_tag_without_a_loop(
    client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync)
    setup = WebhookSettings.objects.get_solo()
    setup.notify_tag_name = "possible duplicate"
    setup.save()
    original = paperless.state.documents[11]
    copy = paperless.state.add_document(
        title="Again", blob_key=original.blob_key, image_seed=original.image_seed
    )
    unique = paperless.state.add_document(title="Something else entirely")
    deliver(client, "added", copy.id, unique.id)
    run_webhook_jobs()
    tag = next(t for t in paperless.state.tags.values() if t["name"] == "possible duplicate")
    assert tag["matching_algorithm"] == 0  # Paperless must never put it on documents itself
    assert tag["id"] in paperless.state.documents[copy.id].tags
    assert tag["id"] not in paperless.state.documents[unique.id].tags
    assert WebhookEvent.objects.get(paperless_id=copy.id).notified
    # The tag fires "document updated": ours, so nothing happens.
    deliver(client, "updated", copy.id)
    run_webhook_jobs()
    latest = WebhookEvent.objects.filter(paperless_id=copy.id).order_by("-pk").first()
    assert latest.status == WebhookEvent.Status.IGNORED


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_event_loses_nothing(
    client, paperless, secret, run_sync, run_webhook_jobs, tmp_path
):
    """A real SIGKILL while the job mirrors: the events it had claimed are taken by the next
    run once the dead job is noticed, and every document is mirrored."""
    library(paperless, run_sync, documents=10)
    added = [paperless.state.add_document(title=f"New {n}") for n in range(12)]
    deliver(client, "added", *(d.id for d in added))
    job = Job.objects.get(kind=Job.Kind.WEBHOOK, status=Job.Status.QUEUED)
    paperless.file_latency = 0.3  # thumbnails take a while: the kill lands mid-batch
    kill_when(
        ["process_webhooks", "--job", str(job.pk)],
        ready=lambda: WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSING).exists(),
        data_dir=tmp_path,
        env={"PAPERLESS_URL": paperless.url, "PAPERLESS_API_TOKEN": paperless.token},
        settle=0.4,
    )
    paperless.file_latency = 0.0
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSING).count() == 12
    # The dead job is noticed by the scheduler's tick; its events are taken by a new run.
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    from processing import scheduler

    outcome = scheduler.tick()
    assert outcome["webhooks"]["run"] == 1
    assert Job.objects.get(pk=job.pk).status == Job.Status.INTERRUPTED
    run_webhook_jobs()
    mirrored = Document.objects.filter(paperless_id__in=[d.id for d in added])
    assert mirrored.count() == 12
    assert mirrored.filter(phash__isnull=False).count() == 12
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"done"}


@pytest.mark.django_db(transaction=True)
def test_deliveries_arriving_while_a_run_works_join_it(
    client, paperless, secret, run_sync, run_webhook_jobs, monkeypatch
):
    """Paperless sends a burst one delivery after the other: they share a run (it waits a little
    for the next one), and no new run is queued meanwhile."""
    import threading

    library(paperless, run_sync, documents=10)
    monkeypatch.setattr(handling, "LINGER_SECONDS", 0.5)
    deliver(client, "updated", 1)
    job = Job.objects.get(kind=Job.Kind.WEBHOOK, status=Job.Status.QUEUED)

    def trickle():
        from django.test import Client

        late = Client()
        for pid in range(2, 7):
            time.sleep(0.15)
            deliver(late, "updated", pid)

    thread = threading.Thread(target=trickle)
    thread.start()
    jobs.execute(job.pk)  # with the real linger below
    thread.join()
    job.refresh_from_db()
    assert job.result["events"] == 6 and job.result["rounds"] >= 2
    assert Job.objects.filter(kind=Job.Kind.WEBHOOK).count() == 1
    run_webhook_jobs()
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"done"}


def test_old_finished_events_are_pruned(secret):
    old = timezone.now() - timedelta(days=31)
    WebhookEvent.objects.create(event="added", paperless_id=1, status="done", received_at=old)
    WebhookEvent.objects.create(
        event="added", paperless_id=2, status="waiting_text", received_at=old
    )
    WebhookEvent.objects.create(event="added", paperless_id=3, status="done")
    assert handling.housekeeping()["pruned"] == 1
    assert set(WebhookEvent.objects.values_list("paperless_id", flat=True)) == {2, 3}


def test_new_documents_that_are_not_duplicates_go_to_ai_review_when_asked(
    client, paperless, secret, run_sync, run_webhook_jobs, ai_configured
):
    from ai_review.models import ReviewRun
    from dedupe_project.models import Configuration

    library(paperless, run_sync)
    original = paperless.state.documents[3]
    copy = paperless.state.add_document(
        title="Again", blob_key=original.blob_key, image_seed=original.image_seed
    )
    fresh = paperless.state.add_document(title="A new letter", content="Dear Jane, " * 30)
    deliver(client, "added", copy.id, fresh.id)
    run_webhook_jobs()
    assert not ReviewRun.objects.exists()  # the setting is off
    Configuration.objects.get_solo().apply({"ai_review_new_documents": True})
    other = paperless.state.add_document(title="Another letter", content="Dear John, " * 30)
    again = paperless.state.add_document(
        title="Once more", blob_key=original.blob_key, image_seed=original.image_seed
    )
    deliver(client, "added", other.id, again.id)
    run_webhook_jobs()
    (run,) = ReviewRun.objects.all()
    assert run.source == ReviewRun.Source.WEBHOOK
    assert list(run.suggestions.values_list("paperless_id", flat=True)) == [other.id]


def test_the_dashboard_shares_its_webhook_figures_until_the_run_ends(
    auth_client, paperless, secret, run_sync, run_webhook_jobs
):
    library(paperless, run_sync, documents=5, thumbnails=False)

    def webhook_card() -> str:
        page = auth_client.get(reverse("dashboard")).content.decode()
        return page[page.index('id="webhook-stats"') :]

    assert "Not set up" in webhook_card()
    added = paperless.state.add_document(title="New letter")
    deliver(Client(), "added", added.id)  # Paperless, not a person: the figures stay shared
    assert "Not set up" in webhook_card()
    run_webhook_jobs()  # the run that handled it ends: its figures show at once
    card = webhook_card()
    assert "1 delivery" in card and "Not set up" not in card
