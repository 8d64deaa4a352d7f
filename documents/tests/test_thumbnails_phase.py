"""The files phase of the sync: the thumbnail cache's atomic writes, the batched column update,
the pipelined batches (ETag 304, failures mid-phase, resume), and the fake's pre-rendered pool."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from documents import sync, thumbnails
from documents.image_hashes import dhash_distance, hash_image
from documents.models import Document
from processing.models import Job
from tests.fake_paperless import content

pytestmark = pytest.mark.django_db


# --- the cache's writes --------------------------------------------------------------------------


def test_store_creates_the_shard_overwrites_and_leaves_no_temporary_file(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    thumbnails.store(300, b"first")
    thumbnails.store(300, b"second")
    thumbnails.store(45, b"other shard")
    assert thumbnails.read(300) == b"second"
    assert thumbnails.read(45) == b"other shard"
    names = sorted(p.name for p in thumbnails.cache_dir().rglob("*"))
    assert names == ["2c", "2d", "300.webp", "45.webp"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    thumbnails.store(9, b"old")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(thumbnails.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        thumbnails.store(9, b"new")
    assert thumbnails.read(9) == b"old"
    assert [p.name for p in thumbnails.path_for(9).parent.iterdir()] == ["9.webp"]


def test_the_cap_ignores_a_temporary_file_being_written(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    thumbnails.store(1, b"x" * 100)
    (thumbnails.path_for(1).parent / ".tmp-1-2-3").write_bytes(b"y" * 10_000)
    assert thumbnails.enforce_cap(max_bytes=1000)["evicted"] == 0
    assert thumbnails.read(1) is not None


def test_the_running_cap_scans_once_then_counts_and_trims_to_its_low_water(
    settings, tmp_path, monkeypatch
):
    settings.DATA_DIR = tmp_path
    scans = []
    real_enforce = thumbnails.enforce_cap
    monkeypatch.setattr(
        thumbnails,
        "enforce_cap",
        lambda max_bytes: scans.append(max_bytes) or real_enforce(max_bytes=max_bytes),
    )
    cap = thumbnails.RunningCap(max_bytes=10_000)
    assert cap.add(0) == 0 and scans == []  # nothing written: no scan
    for paperless_id in range(1, 6):
        thumbnails.store(paperless_id, b"x" * 1000)
    assert cap.add(5000) == 0 and scans == [10_000]  # the first scan finds the 5000
    for paperless_id in range(6, 10):
        thumbnails.store(paperless_id, b"x" * 1000)
    assert cap.add(4000) == 0 and len(scans) == 1  # 9000: counted, not scanned
    for paperless_id in range(10, 13):
        thumbnails.store(paperless_id, b"x" * 1000)
    assert cap.add(3000) == 3  # 12000 > cap: down to 9000, the oldest first
    assert scans[-1] == 9000
    assert sum(p.stat().st_size for p in thumbnails.cache_dir().rglob("*.webp")) == 9000
    assert cap.finish() == 3 and scans[-1] == 10_000


# --- the batched update --------------------------------------------------------------------------


def test_write_file_results_stores_every_column_as_bulk_update_did():
    from documents.models import Document as Model

    Model.objects.bulk_create(
        [Model(paperless_id=n, title=f"d{n}", thumbnail_needed=True) for n in (1, 2, 3)]
    )
    rows = {d.paperless_id: d for d in Model.objects.all()}
    hashes = hash_image(content.thumbnail_webp(seed=1))
    fetched = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    updates = [
        Model(
            pk=rows[1].pk,
            paperless_id=1,
            thumbnail_needed=False,
            thumbnail_etag='"abc"',
            thumbnail_fetched_at=fetched,
            dhash=hashes.dhash,
            phash=-(1 << 63),
            original_checksum="a" * 64,
            archive_checksum="b" * 64,
            original_size=123,
            archive_size=None,
            needs_analysis=True,
            sync_error="",
        ),
        Model(
            pk=rows[2].pk,
            paperless_id=2,
            thumbnail_needed=True,
            thumbnail_etag="",
            thumbnail_fetched_at=fetched,
            dhash=None,
            phash=None,
            original_checksum="",
            archive_checksum="",
            original_size=None,
            archive_size=None,
            needs_analysis=True,
            sync_error="Thumbnail not fetched: boom",
        ),
    ]
    sync.write_file_results(updates)
    sync.write_file_results([])
    one, two, three = (Model.objects.get(paperless_id=n) for n in (1, 2, 3))
    assert bytes(one.dhash) == hashes.dhash and one.phash == -(1 << 63)
    assert one.thumbnail_fetched_at == fetched and one.thumbnail_etag == '"abc"'
    assert (one.original_size, one.archive_size) == (123, None)
    assert not one.thumbnail_needed and one.needs_analysis
    assert two.dhash is None and two.thumbnail_needed and "boom" in two.sync_error
    assert three.thumbnail_needed and three.title == "d3"  # untouched


# --- the phase over HTTP -------------------------------------------------------------------------


def thumb_requests(paperless) -> list:
    return [
        r for r in paperless.requests_for(path="/api/documents/*") if r.path.endswith("/thumb/")
    ]


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(sync, "FILE_BATCH", 4)


def test_many_batches_are_all_fetched_hashed_and_cached(paperless, run_sync, small_batches):
    paperless.seed(documents=23, duplicate_ratio=0.3)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    docs = list(Document.objects.order_by("paperless_id"))
    assert len(docs) == 23
    for doc in docs:
        fake_doc = paperless.state.documents[doc.paperless_id]
        expected = hash_image(fake_doc.thumbnail)
        assert bytes(doc.dhash) == expected.dhash and doc.phash == expected.phash
        assert not doc.thumbnail_needed and doc.sync_error == ""
        assert thumbnails.read(doc.paperless_id) == fake_doc.thumbnail
    assert job.result["thumbnails"] == 23
    assert len(thumb_requests(paperless)) == 23


def test_a_document_edited_but_not_its_file_keeps_its_thumbnail_without_a_request(
    paperless, run_sync, small_batches
):
    """Tagging in Paperless (or our own dry run) changes ``modified``, not the file: the stored
    thumbnail's ETag is still the file's checksum, so the thumbnail is not even asked for. A
    document whose file changed is fetched again."""
    paperless.seed(documents=9)
    assert run_sync().status == Job.Status.SUCCEEDED
    before = {d.paperless_id: (bytes(d.dhash), d.phash) for d in Document.objects.all()}
    tag = paperless.state.add_tag("reviewed")
    for document_id in (2, 3, 4):
        paperless.state.documents[document_id].tags.append(tag["id"])
        paperless.state.touch(paperless.state.documents[document_id])
    replaced = paperless.state.documents[5]
    replaced.blob_key, replaced._checksum = "a-new-scan", None  # a new file under the same id
    paperless.state.touch(replaced)
    paperless.requests.clear()
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["thumbnails_unchanged"] == 3 and job.result["thumbnails"] == 1
    assert [r.path for r in thumb_requests(paperless)] == ["/api/documents/5/thumb/"]
    after = {d.paperless_id: (bytes(d.dhash), d.phash) for d in Document.objects.all()}
    assert after == before
    assert not Document.objects.filter(thumbnail_needed=True).exists()
    assert Document.objects.get(paperless_id=2).tags.filter(name="reviewed").exists()


def test_unchanged_thumbnails_answer_304_and_keep_their_hashes(paperless, run_sync, small_batches):
    """When the mirrored checksum does not match the stored ETag, the thumbnail is asked for
    with that ETag, and Paperless's 304 keeps the hashes."""
    paperless.seed(documents=9)
    assert run_sync().status == Job.Status.SUCCEEDED
    before = {d.paperless_id: (bytes(d.dhash), d.phash) for d in Document.objects.all()}
    Document.objects.update(thumbnail_needed=True, original_checksum="0" * 64)
    paperless.requests.clear()
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["thumbnails_unchanged"] == 9
    thumbs = thumb_requests(paperless)
    assert len(thumbs) == 9 and all(r.headers.get("if-none-match") for r in thumbs)
    after = {d.paperless_id: (bytes(d.dhash), d.phash) for d in Document.objects.all()}
    assert after == before
    assert not Document.objects.filter(thumbnail_needed=True).exists()


def test_a_failure_mid_phase_drops_the_queued_batch_and_a_rerun_finishes(
    paperless, run_sync, small_batches, settings
):
    paperless.seed(documents=40)
    real_token = paperless.token
    seen: list[int] = []

    def revoke_after_some(state, request):
        if request.path.endswith("/thumb/"):
            seen.append(1)
            if len(seen) == 6:
                paperless.token = "revoked"

    paperless.after_request(revoke_after_some, method="GET", path="/api/documents/*", once=False)
    job = run_sync()
    assert job.status == Job.Status.FAILED
    asked = len(thumb_requests(paperless))
    assert asked < 40  # not every queued fetch was tried once the server refused us
    done = Document.objects.filter(thumbnail_needed=False).count()
    assert done % 4 == 0 and done < 40  # whole batches only
    paperless.token = real_token
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert not Document.objects.filter(thumbnail_needed=True).exists()
    assert Document.objects.filter(dhash__isnull=False).count() == 40


# --- the fake's pre-rendered pool ----------------------------------------------------------------


@pytest.fixture
def thumbnail_pool():
    content.use_thumbnail_pool(4)
    yield
    content.use_thumbnail_pool(0)


@pytest.mark.usefixtures("thumbnail_pool")
def test_the_pool_serves_a_page_per_seed_modulo_its_size_in_every_variant():
    assert content.thumbnail(seed=5) == content.thumbnail(seed=1) == content.thumbnail_webp(seed=1)
    assert content.thumbnail(seed=6) != content.thumbnail(seed=5)
    near = content.thumbnail(seed=9, variant=3)
    assert near == content.thumbnail_webp(seed=1, variant=3)
    assert dhash_distance(hash_image(content.thumbnail(seed=9)).dhash, hash_image(near).dhash) <= 32
    assert content.thumbnail(seed=2, variant=17) == content.thumbnail_webp(seed=2, variant=17)
    assert content.thumbnail(seed=-1) == content.thumbnail_webp(seed=-1)


def test_without_the_pool_every_seed_is_drawn():
    assert content.thumbnail(seed=5) == content.thumbnail_webp(seed=5)
    assert content.thumbnail(seed=5) != content.thumbnail(seed=1)


def test_the_configured_number_of_thumbnails_is_fetched_at_once(paperless, run_sync, monkeypatch):
    from dedupe_project.models import Configuration

    pools: list[int] = []
    real_pool = sync.ThreadPoolExecutor

    def recording_pool(max_workers=None, **kwargs):
        pools.append(max_workers)
        return real_pool(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(sync, "ThreadPoolExecutor", recording_pool)
    Configuration.objects.get_solo().apply({"paperless_file_workers": 7})
    paperless.seed(documents=6)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert pools == [7]
    assert Document.objects.filter(phash__isnull=False).count() == 6
    with pytest.raises(ValidationError):
        Configuration.objects.get_solo().apply({"paperless_file_workers": 17})


def test_without_checksums_in_the_listing_a_changed_file_is_still_fetched(
    paperless, run_sync, small_batches, monkeypatch
):
    """A server that sends no ``versions`` (Paperless 2.x) gives no checksum with the listing:
    the stored one is old, so it proves nothing, and the thumbnail is asked for with its ETag."""
    from tests.fake_paperless import server as fake_server

    original = fake_server._Routes.render_document

    def without_versions(self, document, **kwargs):
        out = original(self, document, **kwargs)
        out.pop("versions", None)
        return out

    monkeypatch.setattr(fake_server._Routes, "render_document", without_versions)
    paperless.seed(documents=6)
    assert run_sync().status == Job.Status.SUCCEEDED
    replaced = paperless.state.documents[3]
    old_hash = Document.objects.get(paperless_id=3).dhash
    replaced.blob_key, replaced._checksum, replaced.image_seed = "a-new-scan", None, 999_999
    paperless.state.touch(replaced)
    paperless.requests.clear()
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert "/api/documents/3/thumb/" in [r.path for r in thumb_requests(paperless)]
    doc = Document.objects.get(paperless_id=3)
    assert doc.original_checksum == replaced.checksum
    assert bytes(doc.dhash) == hash_image(replaced.thumbnail).dhash != bytes(old_hash)
