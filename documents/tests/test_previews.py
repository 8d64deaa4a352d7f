"""Page previews: fetched from Paperless once, cached on disk (size-capped, LRU, per file version),
served behind login to the browser's viewer in a same-origin frame with cache headers."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from documents import previews
from documents.models import Document
from processing.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(paperless, run_sync):
    paperless.seed(documents=8)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return paperless


def preview_url(paperless_id: int) -> str:
    return reverse("document-preview", kwargs={"paperless_id": paperless_id})


def fetches(paperless, paperless_id: int) -> int:
    return len(paperless.requests_for(method="GET", path=f"/api/documents/{paperless_id}/preview/"))


def served_bytes(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_preview_is_fetched_once_then_served_from_disk(auth_client, synced):
    fake = synced.state.documents[3]
    expected = fake.archive if fake.archive is not None else fake.original

    first = auth_client.get(preview_url(3))
    second = auth_client.get(preview_url(3))

    assert first.status_code == second.status_code == 200
    assert served_bytes(first) == served_bytes(second) == expected
    assert fetches(synced, 3) == 1
    document = Document.objects.get(paperless_id=3)
    assert previews.read(3, version=previews.version_of(document)) is not None


def test_preview_headers_allow_our_own_frame_and_private_caching(auth_client, synced):
    document = Document.objects.get(paperless_id=2)

    response = auth_client.get(preview_url(2))

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["ETag"] == f'"{previews.version_of(document)}"'
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "frame-ancestors 'none'" not in policy


def test_a_matching_etag_is_answered_304_without_asking_paperless(auth_client, synced):
    document = Document.objects.get(paperless_id=4)

    response = auth_client.get(
        preview_url(4), headers={"If-None-Match": f'"{previews.version_of(document)}"'}
    )

    assert response.status_code == 304
    assert fetches(synced, 4) == 0


def test_a_document_changed_in_paperless_is_fetched_again(auth_client, synced):
    auth_client.get(preview_url(5))
    old = Document.objects.get(paperless_id=5)
    old_path = previews.read(5, version=previews.version_of(old)).path
    Document.objects.filter(pk=old.pk).update(original_checksum="f" * 64, archive_checksum="e" * 64)

    response = auth_client.get(preview_url(5))

    assert response.status_code == 200
    assert fetches(synced, 5) == 2
    assert not old_path.exists()  # the old version's file went


def test_preview_needs_a_login(client, synced):
    response = client.get(preview_url(3))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert fetches(synced, 3) == 0


def test_unknown_or_vanished_documents_are_404(auth_client, synced):
    assert auth_client.get(preview_url(999)).status_code == 404
    synced.state.trash_document(6)
    response = auth_client.get(preview_url(6))
    assert response.status_code == 404
    # said inside our own frame, not blocked by the error pages' frame-ancestors 'none'
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert "No preview" in response.content.decode()


def test_paperless_refusing_the_file_is_reported_not_cached(auth_client, synced):
    synced.fail_next(1, status=403, path="/api/documents/7/preview/")

    response = auth_client.get(preview_url(7))

    assert response.status_code == 502
    assert "Paperless did not send the preview" in response.content.decode()
    assert (
        previews.read(7, version=previews.version_of(Document.objects.get(paperless_id=7))) is None
    )


def test_a_type_browsers_would_run_is_sent_as_a_download(auth_client, synced):
    synced.state.documents[8].mime_type = "text/html"
    synced.state.documents[8].has_archive = False
    Document.objects.filter(paperless_id=8).update(
        mime_type="text/html", archived_file_name="", archive_checksum=""
    )

    response = auth_client.get(preview_url(8))

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_cache_evicts_the_least_recently_used_first(settings, tmp_path, db):
    settings.DATA_DIR = tmp_path
    for paperless_id in (1, 2, 3):
        previews.store(paperless_id, version="v", data=b"x" * 1000, content_type="application/pdf")
    for age, paperless_id in ((300, 1), (200, 2), (100, 3)):
        path = previews.read(paperless_id, version="v").path
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime - age))
    previews.read(1, version="v")  # read now: the most recently used

    outcome = previews.enforce_cap(max_bytes=2000)

    assert outcome == {"bytes_before": 3000, "bytes_after": 2000, "evicted": 1}
    assert previews.read(2, version="v") is None
    assert previews.read(1, version="v") is not None and previews.read(3, version="v") is not None


def test_a_file_larger_than_the_whole_cache_is_served_but_not_stored(
    settings, tmp_path, db, monkeypatch
):
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(previews, "cache_cap_bytes", lambda: 100)

    preview = previews.store(1, version="v", data=b"y" * 101, content_type="application/pdf")

    assert preview.path is None and preview.data == b"y" * 101
    assert previews.read(1, version="v") is None
