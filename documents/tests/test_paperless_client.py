"""The Paperless client against the fake Paperless over real HTTP on loopback (no Django)."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from documents.paperless import (
    AlreadyExists,
    AuthenticationError,
    BulkEditFailed,
    InvalidResponse,
    InvalidURL,
    NotFound,
    NotPaperless,
    PaperlessClient,
    RateLimited,
    RequestTimeout,
    ServerError,
    Unreachable,
    UnsupportedVersion,
    root_checksum,
    validate_base_url,
)
from tests.fake_paperless import FakePaperless, FakeState


@pytest.fixture(scope="module")
def server() -> Iterator[FakePaperless]:
    with FakePaperless(token="client-test-token") as fake:
        yield fake


@pytest.fixture
def fake(server: FakePaperless) -> Iterator[FakePaperless]:
    server.reset()
    yield server
    server.reset()


def make_client(fake: FakePaperless, **options: Any) -> PaperlessClient:
    settings: dict[str, Any] = {
        "base_url": fake.url,
        "token": fake.token,
        "timeout": 5.0,
        "max_retries": 3,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "retry_after_cap": 2.0,
    }
    settings.update(options)
    return PaperlessClient(**settings)


@pytest.fixture
def client(fake: FakePaperless) -> Iterator[PaperlessClient]:
    with make_client(fake) as paperless:
        yield paperless


def accept_versions(fake: FakePaperless) -> list[str]:
    return [request.headers.get("accept", "") for request in fake.requests]


# --- version negotiation -------------------------------------------------------------------------


def test_negotiates_api_10_and_sends_it_on_every_request(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.seed(documents=3)
    info = client.connection_info()
    assert (info.api_version, info.server_api_version) == (10, 10)
    assert info.paperless_version == "3.0.5"
    assert info.document_count == 3
    client.get_document(1)
    assert accept_versions(fake)[-1] == "application/json; version=10"


def test_speaks_api_9_to_a_2x_server_and_gets_dates(fake: FakePaperless) -> None:
    fake.api_version = 9
    fake.default_version = 7  # an old default would send datetimes for created
    fake.seed(documents=2)
    with make_client(fake) as client:
        assert client.api_version == 9
        document = client.get_document(1)
    assert isinstance(document["created"], date) and not isinstance(document["created"], datetime)
    assert isinstance(document["modified"], datetime) and document["modified"].tzinfo is not None
    assert accept_versions(fake)[-1] == "application/json; version=9"
    assert not any("version=10" in accept for accept in accept_versions(fake))


def test_steps_down_a_version_when_the_server_answers_406(fake: FakePaperless) -> None:
    fake.seed(documents=2)
    with make_client(fake) as client:
        assert client.api_version == 10
        fake.api_version = 9  # e.g. Paperless was downgraded behind our back
        assert client.get_document(2)["id"] == 2
        assert client.api_version == 9
    statuses = [
        request.headers.get("accept") for request in fake.requests_for(path="/api/documents/2/")
    ]
    assert statuses == ["application/json; version=10", "application/json; version=9"]


def test_refuses_a_server_older_than_api_9(fake: FakePaperless) -> None:
    fake.api_version = 7
    with make_client(fake) as client, pytest.raises(UnsupportedVersion, match="upgrade"):
        client.connection_info()


# --- errors a person understands -----------------------------------------------------------------


def test_bad_token_raises_authentication_error(fake: FakePaperless) -> None:
    with make_client(fake, token="wrong") as client, pytest.raises(AuthenticationError) as caught:
        client.connection_info()
    assert "bad token" in str(caught.value)
    assert caught.value.status_code == 401


class _HtmlHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>My router</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def html_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_plain_web_server_is_not_paperless(html_server: str) -> None:
    client = PaperlessClient(base_url=html_server, token="x")
    with client, pytest.raises(NotPaperless, match="does not answer like a Paperless-NGX server"):
        client.connection_info()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_closed_port_is_unreachable_after_retries() -> None:
    client = PaperlessClient(
        base_url=f"http://127.0.0.1:{free_port()}", token="x", max_retries=1, backoff_base=0.01
    )
    with client, pytest.raises(Unreachable, match="Cannot connect"):
        client.connection_info()


def test_slow_answer_times_out(fake: FakePaperless) -> None:
    fake.seed(documents=1)
    with make_client(fake, timeout=0.3, max_retries=0) as client:
        client.connection_info()
        fake.delay_next(1, seconds=1.0, path="/api/documents/1/")
        with pytest.raises(RequestTimeout, match="did not answer"):
            client.get_document(1)


def test_slow_answer_is_retried_for_get(fake: FakePaperless) -> None:
    fake.seed(documents=1)
    with make_client(fake, timeout=0.3) as client:
        fake.delay_next(1, seconds=1.0, path="/api/documents/1/")
        assert client.get_document(1)["id"] == 1
    assert len(fake.requests_for(path="/api/documents/1/")) == 2


def test_missing_document_raises_not_found(client: PaperlessClient) -> None:
    with pytest.raises(NotFound):
        client.get_document(99999)


def test_a_truncated_json_answer_is_read_again(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.seed(documents=1)
    client.connection_info()
    fake.malformed_next(2, path="/api/statistics/")
    assert client.statistics()["documents_total"] == 1
    assert len(fake.requests_for(path="/api/statistics/")) == 3


def test_json_broken_on_every_try_raises_a_clear_error(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.seed(documents=1)
    client.connection_info()
    fake.malformed_next(10, path="/api/statistics/")
    with pytest.raises(InvalidResponse, match="broken JSON"):
        client.statistics()
    assert len(fake.requests_for(path="/api/statistics/")) == 4  # max_retries=3 in these tests


# --- retries -------------------------------------------------------------------------------------


def test_get_is_retried_on_500_then_succeeds(fake: FakePaperless, client: PaperlessClient) -> None:
    fake.seed(documents=1)
    fake.fail_next(2, path="/api/statistics/")
    assert client.statistics()["documents_total"] == 1
    assert len(fake.requests_for(path="/api/statistics/")) == 3


def test_get_gives_up_after_max_retries_with_server_error(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.fail_next(10, path="/api/statistics/")
    with pytest.raises(ServerError, match="HTTP 500"):
        client.statistics()
    assert len(fake.requests_for(path="/api/statistics/")) == 4  # 1 + max_retries


def test_429_waits_for_retry_after(fake: FakePaperless, client: PaperlessClient) -> None:
    client.connection_info()
    fake.throttle_next(1, retry_after=1, path="/api/statistics/")
    client.statistics()
    first, second = fake.requests_for(path="/api/statistics/")
    assert 0.9 <= second.time - first.time < 3


def test_retry_after_is_capped(fake: FakePaperless) -> None:
    with make_client(fake, retry_after_cap=0.2) as client:
        client.connection_info()
        fake.throttle_next(1, retry_after=60, path="/api/statistics/")
        started = time.monotonic()
        client.statistics()
    assert time.monotonic() - started < 5


def test_endless_429_raises_rate_limited(fake: FakePaperless) -> None:
    with make_client(fake, max_retries=1, retry_after_cap=0.05) as client:
        client.connection_info()
        fake.throttle_next(5, retry_after=1, path="/api/statistics/")
        with pytest.raises(RateLimited) as caught:
            client.statistics()
    assert caught.value.retry_after == 1


def test_dropped_connection_is_retried_for_get(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.seed(documents=1)
    fake.drop_next(2, path="/api/documents/1/")
    assert client.get_document(1)["id"] == 1
    assert len(fake.requests_for(path="/api/documents/1/")) == 3


def test_post_is_not_retried_on_500(fake: FakePaperless, client: PaperlessClient) -> None:
    fake.seed(documents=3)
    tag = fake.state.add_tag("candidate")
    fake.fail_next(1, method="POST", path="/api/documents/bulk_edit/")
    with pytest.raises(BulkEditFailed) as caught:
        client.add_tag([1, 2], tag_id=tag["id"])
    assert isinstance(caught.value.__cause__, ServerError)
    assert caught.value.applied == [] and caught.value.pending == [1, 2]
    assert len(fake.requests_for(method="POST")) == 1


def test_post_is_not_retried_on_dropped_connection(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    document = fake.state.add_document()
    client.connection_info()
    fake.drop_next(1, method="POST")
    with pytest.raises(Unreachable):
        client.add_note(document.id, note="paid")
    assert len(fake.requests_for(method="POST")) == 1


def test_tag_creation_with_lost_answer_finds_the_tag_instead_of_resending(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    client.connection_info()
    fake.lose_answer_next(1, method="POST", path="/api/tags/")
    tag = client.create_tag("duplicate-candidate")
    assert tag["name"] == "duplicate-candidate"
    assert len(fake.requests_for(method="POST", path="/api/tags/")) == 1
    assert len(fake.state.tags) == 1


def test_delete_whose_answer_was_lost_counts_as_done(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    document = fake.state.add_document()
    client.connection_info()
    fake.lose_answer_next(1, method="DELETE")
    client.delete_document(document.id)
    assert document.id in fake.state.trash
    assert len(fake.requests_for(method="DELETE")) == 2


# --- URL guard -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://paperless.lan/",
        "file:///etc/passwd",
        "http://admin:secret@paperless.lan/",
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.10.1:8000",
        "http://[fe80::1]:8000",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.GOOGLE.INTERNAL./",
        "http://paperless.lan/?next=x",
        "",
        "paperless.lan:8000",
    ],
)
def test_url_guard_refuses(url: str) -> None:
    with pytest.raises(InvalidURL):
        validate_base_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://192.168.1.20:8000/", "http://192.168.1.20:8000"),
        ("http://10.0.0.5:8000/api/", "http://10.0.0.5:8000"),
        ("https://paperless.example.org/paperless", "https://paperless.example.org/paperless"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[fd12:3456::10]:8000", "http://[fd12:3456::10]:8000"),
    ],
)
def test_url_guard_allows_lan_and_localhost(url: str, expected: str) -> None:
    assert validate_base_url(url) == expected


def test_host_resolving_to_metadata_address_is_refused() -> None:
    # 2852039166 is 169.254.169.254 written as one number; the resolver turns it into the address.
    client = PaperlessClient(base_url="http://2852039166/", token="x")
    with client, pytest.raises(InvalidURL, match=r"169\.254\.169\.254"):
        client.connection_info()


# --- streaming documents -------------------------------------------------------------------------


def test_pages_stream_by_id_with_only_the_asked_fields(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.seed(documents=25)
    pages = list(client.iter_document_pages(fields=["title", "modified"], page_size=10))
    assert [page.number for page in pages] == [1, 2, 3]
    assert [len(page.documents) for page in pages] == [10, 10, 5]
    assert [page.has_next for page in pages] == [True, True, False]
    assert pages[-1].last_id == 25
    assert set(pages[0].documents[0]) == {"id", "title", "modified"}
    assert isinstance(pages[0].documents[0]["modified"], datetime)
    listing = fake.requests_for(path="/api/documents/")[-1]
    assert listing.param("ordering") == "id"
    assert listing.param("fields") == "id,title,modified"


def test_modified_after_asks_only_for_changed_documents(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.seed(documents=10)
    since = datetime.now(UTC)
    fake.state.touch(fake.state.documents[4])
    changed = [doc["id"] for doc in client.iter_documents(modified_after=since, fields=["id"])]
    assert changed == [4]
    with pytest.raises(ValueError, match="aware"):
        next(client.iter_document_pages(modified_after=datetime(2024, 1, 1)))


def _delete_and_add(ids_to_delete: list[int], add: int) -> Any:
    def change(state: FakeState) -> None:
        for document_id in ids_to_delete:
            state.trash_document(document_id)
        for _ in range(add):
            state.add_document()

    return change


def test_documents_deleted_and_added_mid_stream_skip_nothing(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.seed(documents=95)
    deleted = [3, 12, 15, 18, 22]
    fake.after_documents_page(2, _delete_and_add(deleted, add=4))
    fake.after_documents_page(
        5, _delete_and_add([41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52], add=1)
    )
    seen = [doc["id"] for doc in client.iter_documents(fields=["id"], page_size=10)]
    assert len(seen) == len(set(seen))
    expected_alive = set(range(1, 96)) - set(deleted) - set(range(41, 53)) | {96, 97, 98, 99, 100}
    assert expected_alive <= set(seen)
    assert seen == sorted(seen)


def test_resuming_from_a_checkpoint_after_deletions_skips_nothing(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.seed(documents=50)
    pages = client.iter_document_pages(fields=["id"], page_size=10)
    first, second = next(pages), next(pages)
    pages.close()  # the worker was killed here; checkpoint: page 2, last id 20
    for document_id in (1, 2, 3, 5, 8, 13, 21):
        fake.state.trash_document(document_id)
    resumed = client.iter_document_pages(
        fields=["id"], page_size=10, start_page=second.number + 1, after_id=second.last_id
    )
    rest = [doc["id"] for page in resumed for doc in page.documents]
    assert rest == [i for i in range(22, 51)]
    assert first.last_id == 10


def test_all_document_ids_uses_a_fields_id_listing(fake: FakePaperless) -> None:
    fake.api_version = 9
    fake.seed(documents=30)
    fake.state.trash_document(7)
    with make_client(fake) as client:
        ids = client.all_document_ids()
    assert ids == set(range(1, 31)) - {7}
    assert {request.param("fields") for request in fake.requests_for(path="/api/documents/")} == {
        "id"
    }


# --- rate limit ----------------------------------------------------------------------------------


def test_requests_per_second_spaces_requests(fake: FakePaperless) -> None:
    with make_client(fake, requests_per_second=10) as client:
        for _ in range(6):
            client.statistics()
    times = [request.time for request in fake.requests]
    assert len(times) == 7  # the version probe and six calls
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.07
    assert times[-1] - times[0] >= 0.55


# --- changing documents --------------------------------------------------------------------------


def test_bulk_edit_sends_ids_in_chunks(fake: FakePaperless, client: PaperlessClient) -> None:
    fake.seed(documents=25, tags=0)
    tag = fake.state.add_tag("duplicate")
    client.add_tag(list(range(1, 26)), tag_id=tag["id"], chunk_size=10)
    posts = fake.requests_for(method="POST", path="/api/documents/bulk_edit/")
    assert [len(post.json["documents"]) for post in posts] == [10, 10, 5]
    assert posts[0].json["method"] == "add_tag" and posts[0].json["parameters"] == {
        "tag": tag["id"]
    }
    assert all(tag["id"] in doc.tags for doc in fake.state.documents.values())
    client.modify_tags([1, 2], add_tags=[], remove_tags=[tag["id"]])
    assert fake.state.documents[1].tags == []
    client.remove_tag([3], tag_id=tag["id"])
    assert fake.state.documents[3].tags == []


def test_bulk_edit_failure_reports_which_chunks_were_applied(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    fake.seed(documents=5, tags=0)
    tag = fake.state.add_tag("duplicate")
    fake.state.trash_document(5)
    with pytest.raises(BulkEditFailed) as caught:
        client.add_tag([1, 2, 3, 4, 5], tag_id=tag["id"], chunk_size=2)
    assert caught.value.applied == [1, 2, 3, 4]
    assert caught.value.pending == [5]


def test_create_tag_never_auto_matches_and_duplicate_name_is_reported(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    tag = client.create_tag("duplicate-candidate", color="#ff0000")
    assert tag["matching_algorithm"] == 0
    assert fake.requests_for(method="POST", path="/api/tags/")[0].json["matching_algorithm"] == 0
    with pytest.raises(AlreadyExists):
        client.create_tag("duplicate-candidate")
    again, created = client.ensure_tag("duplicate-candidate")
    assert (again["id"], created) == (tag["id"], False)
    other, created = client.ensure_tag("reviewed")
    assert created is True and other["id"] != tag["id"]


def test_delete_restore_and_trash(fake: FakePaperless, client: PaperlessClient) -> None:
    fake.seed(documents=4)
    client.delete_document(1)
    client.delete_documents([2, 3])
    assert [doc["id"] for doc in client.iter_trash()] == [3, 2, 1]
    assert all(isinstance(doc["deleted_at"], datetime) for doc in client.iter_trash())
    with pytest.raises(NotFound):
        client.get_document(1)
    assert client.restore_from_trash([1, 2]) == [1, 2]
    assert client.all_document_ids() == {1, 2, 4}
    assert not hasattr(client, "empty_trash")


def test_delete_documents_on_api_9_uses_bulk_edit(fake: FakePaperless) -> None:
    fake.api_version = 9
    fake.seed(documents=3)
    with make_client(fake) as client:
        client.delete_documents([1, 2])
    (post,) = fake.requests_for(method="POST")
    assert post.path == "/api/documents/bulk_edit/" and post.json["method"] == "delete"


def test_detail_metadata_files_and_checksums(fake: FakePaperless, client: PaperlessClient) -> None:
    original = fake.state.add_document(blob_key="same", has_archive=True)
    twin = fake.state.add_document(blob_key="same")
    detail = client.get_document(original.id)
    assert root_checksum(detail) == original.checksum
    assert [d["id"] for d in detail["duplicate_documents"]] == [twin.id]
    assert client.get_metadata(original.id)["original_checksum"] == original.checksum
    thumbnail = client.get_thumbnail(original.id)
    assert thumbnail.content_type == "image/webp" and thumbnail.etag == f'"{original.checksum}"'
    unchanged = client.get_thumbnail(original.id, etag=thumbnail.etag)
    assert unchanged.not_modified and unchanged.content == b""
    assert client.get_preview(original.id).content.startswith(b"%PDF")
    assert client.download(original.id, original=True).content == original.original
    assert [d["id"] for d in client.find_documents_by_checksum(original.checksum)] == [
        original.id,
        twin.id,
    ]
    assert [d["id"] for d in client.get_documents_by_ids([twin.id, 999], fields=["title"])] == [
        twin.id
    ]


def test_notes_custom_fields_asn_and_statistics(
    fake: FakePaperless, client: PaperlessClient
) -> None:
    document = fake.state.add_document()
    field = fake.state.add_object("custom_fields", name="Amount", data_type="monetary")
    notes = client.add_note(document.id, note="Paid by card")
    assert notes[0]["note"] == "Paid by card" and isinstance(notes[0]["created"], datetime)
    assert client.get_notes(document.id)[0]["note"] == "Paid by card"
    updated = client.set_custom_fields(
        document.id, custom_fields=[{"field": field["id"], "value": "EUR1.00"}]
    )
    assert updated["custom_fields"] == [{"value": "EUR1.00", "field": field["id"]}]
    assert client.set_archive_serial_number(document.id, asn=42)["archive_serial_number"] == 42
    assert client.statistics()["documents_total"] == 1
    assert [tag["name"] for tag in client.list_tags()] == []
    fake.seed(documents=2, tags=3, correspondents=2, document_types=1)
    assert len(client.list_tags()) == 3
    assert len(client.list_correspondents()) == 2
    assert len(client.list_document_types()) == 1
    assert client.list_storage_paths() == []
    assert len(client.list_custom_fields()) == 1
