"""The sync against the fake Paperless over real HTTP: what is mirrored, incremental and full runs,
deletions, names, and every kind of bad answer."""

from __future__ import annotations

import contextlib
from datetime import date, datetime

import pytest

from documents import thumbnails
from documents.image_hashes import dhash_distance
from documents.models import Correspondent, Document, DocumentContent, SyncState, Tag
from documents.sync import MAX_CONTENT_CHARS, PAGE_RETRIES, merge_sorted_ids, text_fingerprint
from processing.models import Job
from tests.fake_paperless import server as fake_server
from tests.fake_paperless import state as fake_state

pytestmark = pytest.mark.django_db


def after_content_page(paperless, page: int, callback) -> None:
    """Change the library right after page ``page`` of the sync's document listing was served
    (not after the client's version probe or the id listing)."""
    fired: list[bool] = []

    def hook(state, request):
        if not fired and "content" in (request.param("fields") or ""):
            fired.append(True)
            callback(state)

    paperless.after_request(hook, method="GET", path="/api/documents/", page=page, once=False)


def mirrored_ids() -> list[int]:
    return list(Document.objects.order_by("paperless_id").values_list("paperless_id", flat=True))


def live_ids(paperless) -> list[int]:
    return list(paperless.state.live_ids())


def test_full_sync_mirrors_documents_names_text_checksums_and_hashes(paperless, run_sync):
    paperless.seed(documents=30, duplicate_ratio=0.3)
    fake_doc = paperless.state.documents[7]
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert mirrored_ids() == live_ids(paperless)
    doc = Document.objects.get(paperless_id=7)
    assert doc.title == fake_doc.title
    assert doc.text == fake_doc.content
    assert doc.text_fingerprint == text_fingerprint(fake_doc.content)
    assert isinstance(doc.created, date) and doc.created == fake_doc.created
    assert isinstance(doc.modified, datetime) and doc.modified.tzinfo is not None
    assert doc.modified == fake_doc.modified
    assert doc.original_checksum == fake_doc.checksum
    assert doc.original_file_name == fake_doc.original_file_name
    assert doc.page_count == fake_doc.page_count
    assert doc.correspondent.name == paperless.state.correspondents[fake_doc.correspondent]["name"]
    assert sorted(doc.tags.values_list("name", flat=True)) == sorted(
        paperless.state.tags[t]["name"] for t in fake_doc.tags
    )
    assert doc.dhash is not None and len(bytes(doc.dhash)) == 32
    assert doc.phash is not None
    assert not doc.thumbnail_needed
    assert thumbnails.read(7) == fake_doc.thumbnail
    assert doc.sync_error == ""


def test_planted_near_duplicates_have_close_dhashes(paperless, run_sync):
    result = paperless.seed(documents=60, duplicate_ratio=0.5)
    run_sync()
    near = [p for p in result.duplicate_pairs if p.kind == "near"]
    assert near
    for pair in near:
        a = Document.objects.get(paperless_id=pair.original_id)
        b = Document.objects.get(paperless_id=pair.duplicate_id)
        assert dhash_distance(a.dhash, b.dhash) < 40
    unrelated = Document.objects.get(paperless_id=1), Document.objects.get(paperless_id=2)
    assert dhash_distance(unrelated[0].dhash, unrelated[1].dhash) > 40


def test_archive_checksum_and_sizes_come_from_metadata_when_there_is_an_archive(
    paperless, run_sync
):
    paperless.seed(documents=3)
    archived = paperless.state.add_document(has_archive=True)
    run_sync()
    doc = Document.objects.get(paperless_id=archived.id)
    assert doc.archive_checksum and doc.archive_checksum != doc.original_checksum
    assert doc.archived_file_name == archived.archived_file_name
    assert doc.original_size and doc.archive_size
    metadata_calls = paperless.requests_for(path="/api/documents/*")
    assert not any(r.path == "/api/documents/1/metadata/" for r in metadata_calls)


def test_incremental_sync_asks_only_for_documents_changed_since_the_last_one(paperless, run_sync):
    paperless.seed(documents=40)
    run_sync()
    paperless.requests.clear()
    document = paperless.state.documents[12]
    document.title = "Renamed in Paperless"
    paperless.state.touch(document)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED
    assert job.result["full"] is False
    assert job.result.get("updated") == 1
    assert Document.objects.get(paperless_id=12).title == "Renamed in Paperless"
    content_reads = [
        r
        for r in paperless.requests_for(method="GET", path="/api/documents/")
        if "content" in (r.param("fields") or "")
    ]
    assert content_reads and all(r.param("modified__gt") for r in content_reads)
    # the overlap: modified__gt is before the previous run started
    since = datetime.fromisoformat(content_reads[0].param("modified__gt"))
    assert since < SyncState.objects.get_solo().last_success_started_at


def test_full_sync_reads_everything_and_changes_nothing_unchanged(paperless, run_sync):
    paperless.seed(documents=25)
    run_sync()
    paperless.requests.clear()
    job = run_sync(full=True)
    assert job.result["full"] is True
    assert job.result.get("unchanged") == 25
    assert "updated" not in job.result
    content_reads = [
        r
        for r in paperless.requests_for(method="GET", path="/api/documents/")
        if "content" in (r.param("fields") or "")
    ]
    assert not any(r.param("modified__gt") for r in content_reads)
    # unchanged thumbnails are not downloaded again
    assert not paperless.requests_for(path="/api/documents/*/thumb/")


def test_a_mirror_row_whose_tags_differ_is_repaired_though_modified_is_equal(paperless, run_sync):
    """A worker killed between tagging in Paperless and writing the mirror leaves a row with
    Paperless's ``modified`` but the old tags: the sync compares the tags too."""
    paperless.seed(documents=5)
    run_sync()
    fake = paperless.state.documents[3]
    mirrored = Document.objects.get(paperless_id=3)
    assert mirrored.modified == fake.modified
    mirrored.tags.clear()  # Paperless has the tags, the mirror lost them
    extra = Tag.objects.exclude(paperless_id__in=fake.tags).first()
    Document.objects.get(paperless_id=4).tags.add(extra)  # and one the mirror made up
    job = run_sync(full=True)
    assert job.result.get("tags_repaired") == 2, job.result
    for paperless_id in (3, 4):
        tags = set(
            Document.objects.get(paperless_id=paperless_id).tags.values_list(
                "paperless_id", flat=True
            )
        )
        assert tags == set(paperless.state.documents[paperless_id].tags)
    assert "updated" not in job.result  # nothing else was rewritten


def test_deleted_documents_are_removed_on_an_incremental_sync(paperless, run_sync):
    paperless.seed(documents=20)
    run_sync()
    assert thumbnails.read(5) is not None
    paperless.state.trash_document(5)
    paperless.state.trash_document(17)
    job = run_sync()
    assert job.result["full"] is False
    assert job.result.get("deleted") == 2
    assert mirrored_ids() == live_ids(paperless)
    assert thumbnails.read(5) is None
    assert not DocumentContent.objects.filter(document__paperless_id=5).exists()


def test_a_missing_id_is_confirmed_before_removal(paperless, run_sync, monkeypatch):
    """An id listing that races with changes can miss a live document: it is looked up by id
    (``id__in``, one page) before anything is removed, and kept."""
    paperless.seed(documents=10)
    run_sync()
    paperless.state.trash_document(7)  # really gone: removed after the same lookup
    original = fake_server._Routes.paginate

    def paginate_hiding_4(self, items, render, **kwargs):
        if self.request.param("fields") == "id" and self.request.param("id__in") is None:
            items = [d for d in items if d.id != 4]
        return original(self, items, render, **kwargs)

    monkeypatch.setattr(fake_server._Routes, "paginate", paginate_hiding_4)
    paperless.requests.clear()
    job = run_sync()
    assert job.result.get("deleted") == 1
    assert 4 in mirrored_ids() and 7 not in mirrored_ids()
    [lookup] = [
        r
        for r in paperless.requests_for(method="GET", path="/api/documents/")
        if "id__in" in r.query
    ]
    assert sorted(map(int, lookup.query["id__in"][0].split(","))) == [4, 7]


def test_document_restored_from_the_trash_comes_back(paperless, run_sync):
    paperless.seed(documents=10)
    paperless.state.trash_document(3)
    run_sync()
    assert 3 not in mirrored_ids()
    paperless.state.restore_document(3)
    run_sync()
    assert 3 in mirrored_ids()


def test_a_document_skipped_by_a_delete_and_add_during_paging_is_recovered(paperless, run_sync):
    """A delete and an add between two pages keep the count equal, so the client cannot see the
    shift and one document slips past; the id listing of the same run finds it."""
    paperless.seed(documents=30)

    def delete_one_add_one(state):
        state.trash_document(2)
        state.add_document()

    after_content_page(paperless, 1, delete_one_add_one)
    job = run_sync(page_size=10)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert mirrored_ids() == live_ids(paperless)
    assert job.result.get("recovered") == 1, sorted(job.result.items())


def test_documents_added_and_deleted_while_paging_end_up_exactly_mirrored(paperless, run_sync):
    paperless.seed(documents=45)

    def churn(state):
        for document_id in (3, 4, 15, 22):
            state.trash_document(document_id)
        state.add_document()
        state.add_document()

    after_content_page(paperless, 2, churn)
    job = run_sync(page_size=10)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert mirrored_ids() == live_ids(paperless)


def test_names_are_kept_current_and_removed_objects_dropped(paperless, run_sync):
    paperless.seed(documents=15)
    run_sync()
    paperless.state.tags[1]["name"] = "invoices"
    paperless.state.correspondents[2]["name"] = "ACME Corp"
    removed_tag = paperless.state.tags.pop(3)
    for document in paperless.state.documents.values():
        if removed_tag["id"] in document.tags:
            document.tags.remove(removed_tag["id"])
    run_sync()
    assert Tag.objects.get(paperless_id=1).name == "invoices"
    assert Correspondent.objects.get(paperless_id=2).name == "ACME Corp"
    assert not Tag.objects.filter(paperless_id=3).exists()


def test_a_tag_created_while_syncing_gets_its_name(paperless, run_sync):
    paperless.seed(documents=5)
    tag = paperless.state.add_tag("brand new")
    original = paperless.state.tags.pop(tag["id"])  # not listed yet when objects are read
    paperless.state.documents[2].tags = [tag["id"]]

    def list_it_now(state):
        state.tags[tag["id"]] = original

    after_content_page(paperless, 1, list_it_now)
    run_sync()
    assert Document.objects.get(paperless_id=2).tags.get().name == "brand new"


@pytest.mark.parametrize(
    "fault",
    [
        lambda fake: fake.fail_next(2, path="/api/documents/"),
        lambda fake: fake.throttle_next(1, retry_after=1, path="/api/documents/"),
        lambda fake: fake.drop_next(2, path="/api/documents/"),
        lambda fake: after_content_page(
            fake, 1, lambda state: fake.malformed_next(1, path="/api/documents/")
        ),
        lambda fake: fake.fail_next(2, path="/api/tags/"),
        lambda fake: fake.fail_next(2, path="/api/documents/*/thumb/"),
        lambda fake: fake.malformed_next(1, path="/api/tags/"),
        # after the last content page: the id listing that looks for deletions
        lambda fake: after_content_page(
            fake, 3, lambda state: fake.malformed_next(1, path="/api/documents/")
        ),
    ],
    ids=[
        "500s",
        "429-retry-after",
        "dropped",
        "malformed-json",
        "tags-500",
        "thumb-500",
        "tags-truncated",
        "id-listing-truncated",
    ],
)
def test_a_misbehaving_server_still_gives_a_complete_mirror(paperless, run_sync, fault):
    paperless.seed(documents=25)
    fault(paperless)
    job = run_sync(page_size=10)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert mirrored_ids() == live_ids(paperless)
    assert not Document.objects.filter(phash__isnull=True).exists()
    assert paperless.requests_for(path="/api/*")  # it talked to the fake


def test_a_slow_answer_times_out_and_is_read_again(paperless, run_sync, settings):
    settings.PAPERLESS_TIMEOUT = 0.5
    from dedupe_project.models import Configuration

    Configuration.objects.filter(pk=Configuration.objects.get_solo().pk).update(
        paperless_timeout_seconds=0.5
    )
    paperless.seed(documents=12)
    paperless.delay_next(1, seconds=2.0, path="/api/documents/")
    job = run_sync(page_size=5)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert mirrored_ids() == live_ids(paperless)


def test_malformed_pages_beyond_the_retries_fail_the_job_and_a_rerun_resumes(
    paperless, run_sync, monkeypatch
):
    monkeypatch.setattr("documents.sync.time.sleep", lambda seconds: None)
    paperless.seed(documents=30)
    # Every read of a page is garbled, through the client's retries (5 tries each) and the
    # sync's own re-reads of the page (PAGE_RETRIES more).
    garbled = 5 * (PAGE_RETRIES + 1)
    after_content_page(
        paperless, 2, lambda state: paperless.malformed_next(garbled, path="/api/documents/")
    )
    job = run_sync(page_size=10)
    assert job.status == Job.Status.FAILED
    assert "unreadable answer" in job.error
    assert mirrored_ids() == list(range(1, 21))
    assert SyncState.objects.get_solo().cursor["page"] == 2
    paperless.requests.clear()
    job = run_sync(page_size=10)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert mirrored_ids() == live_ids(paperless)
    pages = {
        r.param("page")
        for r in paperless.requests_for(method="GET", path="/api/documents/")
        if "content" in (r.param("fields") or "")
    }
    # resumed after the committed page 2 (the client re-reads the page before to check for
    # deletions), never from the start
    assert "1" not in pages and "3" in pages


def test_a_bad_token_fails_with_a_clear_message_and_writes_nothing(paperless, run_sync, settings):
    paperless.seed(documents=5)
    settings.PAPERLESS_API_TOKEN = "not-the-token"
    job = run_sync()
    assert job.status == Job.Status.FAILED
    assert "token" in job.error.lower()
    assert not Document.objects.exists()


def test_a_document_with_missing_fields_is_recorded_and_the_rest_synced(
    paperless, run_sync, monkeypatch
):
    paperless.seed(documents=10)
    original = fake_server._Routes.render_document

    def render_without_title(self, document, **kwargs):
        out = original(self, document, **kwargs)
        if document.id == 6:
            out.pop("title", None)
            out.pop("modified", None)
        return out

    monkeypatch.setattr(fake_server._Routes, "render_document", render_without_title)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert mirrored_ids() == live_ids(paperless)
    bad = Document.objects.get(paperless_id=6)
    assert "title" in bad.sync_error and "modified" in bad.sync_error
    assert Document.objects.exclude(sync_error="").count() == 1


def test_megabytes_of_ocr_text_are_truncated_and_recorded(paperless, run_sync):
    paperless.seed(documents=4)
    huge = "lorem ipsum dolor sit amet " * 200_000  # 5.4 MB
    paperless.state.add_document(content=huge)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    doc = Document.objects.get(paperless_id=5)
    assert len(doc.text) == MAX_CONTENT_CHARS
    assert doc.text_fingerprint == text_fingerprint(huge)
    assert "characters" in doc.sync_error
    assert Document.objects.exclude(sync_error="").count() == 1


def test_an_undecodable_thumbnail_is_recorded_and_the_rest_hashed(paperless, run_sync, monkeypatch):
    paperless.seed(documents=6)
    paperless.state.documents[3].image_seed = -1
    real = fake_state.content.thumbnail_webp

    def thumbnail(*, seed: int, variant: int = 0) -> bytes:
        return b"RIFF\x00\x00garbage" if seed == -1 else real(seed=seed, variant=variant)

    monkeypatch.setattr(fake_state.content, "thumbnail_webp", thumbnail)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    bad = Document.objects.get(paperless_id=3)
    assert "could not be decoded" in bad.sync_error
    assert bad.dhash is None and not bad.thumbnail_needed
    assert Document.objects.filter(dhash__isnull=False).count() == 5


def test_a_changed_document_clears_its_old_file_error(paperless, run_sync, monkeypatch):
    paperless.seed(documents=3)
    paperless.fail_next(5, path="/api/documents/2/thumb/")  # the client tries 5 times
    run_sync()
    doc = Document.objects.get(paperless_id=2)
    assert "Thumbnail not fetched" in doc.sync_error and doc.thumbnail_needed
    run_sync()  # the next run tries again
    doc.refresh_from_db()
    assert doc.sync_error == "" and doc.dhash is not None


def test_a_second_sync_refuses_to_run_beside_a_running_one(paperless, run_sync, admin_user):
    from documents.sync import SyncAlreadyRunning, start_sync

    job = start_sync(user=admin_user)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    with pytest.raises(SyncAlreadyRunning):
        start_sync()
    failed = run_sync()
    assert failed.status == Job.Status.FAILED and "already running" in failed.error


def test_thumbnail_cache_keeps_to_its_cap_by_evicting_the_oldest(paperless, run_sync):
    import os
    import time

    for paperless_id in range(1, 6):
        thumbnails.store(paperless_id, b"x" * 1000)
        stamp = time.time() - 100 + paperless_id
        os.utime(thumbnails.path_for(paperless_id), (stamp, stamp))
    outcome = thumbnails.enforce_cap(max_bytes=2500)
    assert outcome["evicted"] == 3
    assert [thumbnails.read(i) is not None for i in range(1, 6)] == [False] * 3 + [True] * 2


def test_merge_sorted_ids_finds_both_sides():
    assert merge_sorted_ids([1, 2, 4, 7, 9], [2, 3, 4, 9, 10]) == ([1, 7], [3, 10])
    assert merge_sorted_ids([], [1]) == ([], [1])
    assert merge_sorted_ids([5], []) == ([5], [])


def test_a_document_that_cannot_be_read_keeps_its_row_and_records_the_error(
    paperless, run_sync, monkeypatch
):
    """A document so malformed it cannot be converted at all keeps everything we had of it (not
    blanked), gets only its error; once Paperless sends it properly again the error goes."""
    paperless.seed(documents=10)
    run_sync()
    kept = (
        "title",
        "correspondent_id",
        "document_type_id",
        "storage_path_id",
        "created",
        "added",
        "modified",
        "original_file_name",
        "original_checksum",
        "page_count",
        "mime_type",
        "owner_id",
        "custom_fields",
        "content_length",
        "text_fingerprint",
        "dhash",
        "phash",
        "thumbnail_needed",
    )
    before = Document.objects.get(paperless_id=6)
    assert before.created is not None and before.page_count is not None
    tags_before = sorted(before.tags.values_list("paperless_id", flat=True))
    original = fake_server._Routes.render_document

    def render_garbled(self, document, **kwargs):
        out = original(self, document, **kwargs)
        if document.id == 6 and "versions" in out:
            out["versions"] = ["not an object"]  # conversion fails on it
        return out

    monkeypatch.setattr(fake_server._Routes, "render_document", render_garbled)
    job = run_sync(full=True)
    assert job.status == Job.Status.SUCCEEDED, job.error
    after = Document.objects.get(paperless_id=6)
    assert after.sync_error.startswith("Could not read this document")
    assert {name: getattr(after, name) for name in kept} == {
        name: getattr(before, name) for name in kept
    }
    assert sorted(after.tags.values_list("paperless_id", flat=True)) == tags_before
    assert after.text == before.text
    assert after.last_synced_at > before.last_synced_at
    assert Document.objects.exclude(sync_error="").count() == 1

    monkeypatch.setattr(fake_server._Routes, "render_document", original)
    job = run_sync(full=True)
    after.refresh_from_db()
    assert after.sync_error == ""
    assert {name: getattr(after, name) for name in kept} == {
        name: getattr(before, name) for name in kept
    }


def test_text_with_broken_unicode_is_stored_with_replacement_characters(paperless, run_sync):
    """JSON can carry a lone surrogate (``"\\ud800"``) that no database can store as text, or a
    NUL that PostgreSQL's jsonb refuses: the document is mirrored with U+FFFD in the surrogate's
    place and without the NUL, instead of failing the page."""
    paperless.seed(documents=3)
    broken = paperless.state.add_document(content="Rechnung \ud800 Nr. 12", title="Bad \udfff")
    field = paperless.state.add_object("custom_fields", name="Note", data_type="string")
    broken.custom_fields = [{"field": field["id"], "value": "x\udc80y\x00"}]
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert mirrored_ids() == live_ids(paperless)
    doc = Document.objects.get(paperless_id=broken.id)
    assert doc.text == "Rechnung \ufffd Nr. 12"
    assert doc.title == "Bad \ufffd"
    assert doc.custom_fields == [{"field": field["id"], "value": "x\ufffdy"}]


def test_the_thumbnail_cache_stays_near_its_cap_during_the_files_phase(
    paperless, run_sync, monkeypatch
):
    """Not only at the end: a cap smaller than one sync's thumbnails holds throughout, within
    one batch (the batch is written before it is counted)."""
    from documents import sync as sync_module

    paperless.seed(documents=60)
    sizes = [len(d.thumbnail) for d in paperless.state.documents.values()]
    batch = 5
    cap = sum(sorted(sizes)[:10])  # room for about ten of sixty
    monkeypatch.setattr(sync_module, "FILE_BATCH", batch)
    monkeypatch.setattr(thumbnails, "cache_cap_bytes", lambda: cap)
    stored = thumbnails.store
    peak = 0

    def on_disk() -> int:
        total = 0
        for path in thumbnails.cache_dir().rglob("*.webp"):
            with contextlib.suppress(FileNotFoundError):  # trimmed meanwhile
                total += path.stat().st_size
        return total

    def store_and_measure(paperless_id, data):
        nonlocal peak
        stored(paperless_id, data)
        peak = max(peak, on_disk())

    monkeypatch.setattr(thumbnails, "store", store_and_measure)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert Document.objects.filter(phash__isnull=False).count() == 60
    assert peak <= cap + (2 * batch) * max(sizes)
    assert peak < sum(sizes) / 2
    assert job.result["thumbnail_cache_evicted"] >= 40
    assert on_disk() <= cap
