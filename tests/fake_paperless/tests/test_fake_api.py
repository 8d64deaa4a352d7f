"""The fake answers like the real server in ``../shared/paperless-api/captures``."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from tests.fake_paperless import FakePaperless


@pytest.fixture
def http(fake_paperless: FakePaperless) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=fake_paperless.url,
        headers={"Authorization": f"Token {fake_paperless.token}"},
        timeout=10,
    ) as client:
        yield client


def test_api_root_redirects_to_schema_view(http: httpx.Client) -> None:
    response = http.get("/api/")
    assert response.status_code == 302
    assert response.headers["location"] == "schema/view/"


def test_missing_and_bad_token_get_401_like_captures_03_04(fake_paperless: FakePaperless) -> None:
    missing = httpx.get(f"{fake_paperless.url}/api/documents/")
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    assert missing.headers["www-authenticate"] == "Token"
    assert "x-api-version" not in missing.headers
    bad = httpx.get(f"{fake_paperless.url}/api/documents/", headers={"Authorization": "Token 0000"})
    assert bad.status_code == 401
    assert bad.json() == {"detail": "Invalid token."}


def test_list_has_pagination_shape_and_version_headers(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    fake_paperless.seed(documents=5)
    response = http.get("/api/documents/", params={"page_size": 2, "ordering": "id"})
    assert response.status_code == 200
    assert response.headers["x-api-version"] == "10"
    assert response.headers["x-version"] == "3.0.5"
    body = response.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 5
    assert body["next"] == f"{fake_paperless.url}/api/documents/?ordering=id&page=2&page_size=2"
    assert body["previous"] is None
    assert [doc["id"] for doc in body["results"]] == [1, 2]
    document = body["results"][0]
    assert document["duplicate_documents"] == []
    assert len(document["created"]) == 10  # a date since API 9
    assert document["modified"].endswith("Z")
    (version,) = document["versions"]
    assert version["is_root"] is True and len(version["checksum"]) == 64
    last = http.get("/api/documents/", params={"page_size": 2, "ordering": "id", "page": 3}).json()
    assert last["next"] is None
    assert last["previous"] == f"{fake_paperless.url}/api/documents/?ordering=id&page=2&page_size=2"


def test_page_past_the_end_is_404_invalid_page(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    fake_paperless.seed(documents=3)
    response = http.get("/api/documents/", params={"page": 999, "page_size": 25})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}
    assert response.headers["x-api-version"] == "10"


def test_version_9_adds_all_and_unknown_version_is_406(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    fake_paperless.seed(documents=4)
    v9 = http.get(
        "/api/documents/",
        params={"page_size": 3, "fields": "id"},
        headers={"Accept": "application/json; version=9"},
    ).json()
    assert list(v9) == ["count", "next", "previous", "all", "results"]
    assert v9["all"] == [4, 3, 2, 1]  # default ordering: newest created first, like capture 08
    v10 = http.get("/api/documents/", headers={"Accept": "application/json; version=10"}).json()
    assert "all" not in v10
    refused = http.get("/api/documents/", headers={"Accept": "application/json; version=11"})
    assert refused.status_code == 406
    assert refused.json() == {"detail": 'Invalid version in "Accept" header.'}
    assert "x-api-version" not in refused.headers
    fake_paperless.api_version = 9
    assert (
        http.get("/api/documents/", headers={"Accept": "application/json; version=10"}).status_code
        == 406
    )
    assert http.get("/api/documents/").headers["x-api-version"] == "9"


def test_fields_keep_serializer_order(fake_paperless: FakePaperless, http: httpx.Client) -> None:
    fake_paperless.seed(documents=1)
    fields = "versions,title,id,mime_type"
    (document,) = http.get("/api/documents/", params={"fields": fields}).json()["results"]
    assert list(document) == ["id", "title", "mime_type", "versions"]


def test_filters_modified_gt_id_in_and_checksum(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    fake_paperless.seed(documents=10, duplicate_ratio=0)
    changed = fake_paperless.state.documents[7]
    before = max(document.modified for document in fake_paperless.state.documents.values())
    fake_paperless.state.touch(changed)
    recent = http.get(
        "/api/documents/", params={"modified__gt": before.isoformat(), "fields": "id"}
    ).json()
    assert [doc["id"] for doc in recent["results"]] == [7]
    some = http.get("/api/documents/", params={"id__in": "2,4,99", "ordering": "id"}).json()
    assert [doc["id"] for doc in some["results"]] == [2, 4]
    checksum = fake_paperless.state.documents[3].checksum
    same = http.get("/api/documents/", params={"checksum__iexact": checksum.upper()}).json()
    assert [doc["id"] for doc in same["results"]] == [3]
    ignored = http.get("/api/documents/", params={"id__gt": 5}).json()
    assert ignored["count"] == 10  # unknown filters are silently ignored


def test_detail_lists_byte_identical_twins_including_trashed(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    state = fake_paperless.state
    original = state.add_document(blob_key="same-bytes", title="simple")
    twin = state.add_document(blob_key="same-bytes", title="simple copy")
    assert original.checksum == twin.checksum
    state.trash_document(twin.id)
    detail = http.get(f"/api/documents/{original.id}/").json()
    assert detail["duplicate_documents"] == [
        {
            "id": twin.id,
            "title": "simple copy",
            "deleted_at": detail["duplicate_documents"][0]["deleted_at"],
        }
    ]
    assert detail["duplicate_documents"][0]["deleted_at"] is not None
    missing = http.get(f"/api/documents/{twin.id}/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No Document matches the given query."}


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("L")


def test_thumbnails_are_webp_and_near_duplicates_look_alike(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    result = fake_paperless.seed(documents=300, duplicate_ratio=0.3)
    near = next(pair for pair in result.duplicate_pairs if pair.kind == "near")
    response = http.get(f"/api/documents/{near.original_id}/thumb/")
    assert response.headers["content-type"] == "image/webp"
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WEBP"
    checksum = fake_paperless.state.documents[near.original_id].checksum
    assert response.headers["etag"] == f'"{checksum}"'
    copy = http.get(f"/api/documents/{near.duplicate_id}/thumb/").content
    other_id = next(
        i
        for i in result.document_ids
        if i not in (near.original_id, near.duplicate_id)
        and fake_paperless.state.documents[i].image_seed
        != fake_paperless.state.documents[near.original_id].image_seed
    )
    other = http.get(f"/api/documents/{other_id}/thumb/").content
    original_image = _image(response.content)
    near_diff = ImageStat.Stat(ImageChops.difference(original_image, _image(copy))).mean[0]
    far_diff = ImageStat.Stat(ImageChops.difference(original_image, _image(other))).mean[0]
    assert near_diff < far_diff / 3
    unchanged = http.get(
        f"/api/documents/{near.original_id}/thumb/", headers={"If-None-Match": f'"{checksum}"'}
    )
    assert unchanged.status_code == 304
    assert http.get("/api/documents/99999/thumb/").json() == {"detail": "Not found."}


def test_preview_download_and_metadata(fake_paperless: FakePaperless, http: httpx.Client) -> None:
    document = fake_paperless.state.add_document(has_archive=True, title="simple")
    preview = http.get(f"/api/documents/{document.id}/preview/")
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.content.startswith(b"%PDF-1.7")
    assert preview.headers["content-disposition"].startswith("inline; filename=")
    download = http.get(f"/api/documents/{document.id}/download/")
    assert download.headers["content-disposition"].startswith("attachment; filename=")
    original = http.get(f"/api/documents/{document.id}/download/", params={"original": "true"})
    head = http.head(f"/api/documents/{document.id}/download/")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(download.content)
    metadata = http.get(f"/api/documents/{document.id}/metadata/").json()
    assert metadata["original_checksum"] == document.checksum
    assert metadata["original_size"] == len(original.content)
    assert metadata["has_archive_version"] is True
    assert metadata["archive_size"] == len(download.content)


def test_tag_create_then_duplicate_name_is_400(http: httpx.Client) -> None:
    created = http.post(
        "/api/tags/",
        json={"name": "duplicate-candidate", "color": "#ff0000", "matching_algorithm": 0},
    )
    assert created.status_code == 201
    assert created.json()["matching_algorithm"] == 0
    assert created.json()["slug"] == "duplicate-candidate"
    duplicate = http.post("/api/tags/", json={"name": "duplicate-candidate"})
    assert duplicate.status_code == 400
    assert duplicate.json() == {"error": "Object violates owner / name unique constraint"}
    invalid = http.post("/api/tags/", json={"color": "red", "matching_algorithm": 99})
    assert invalid.json() == {
        "name": ["This field is required."],
        "color": ["Invalid color."],
        "matching_algorithm": ['"99" is not a valid choice.'],
    }
    listing = http.get("/api/tags/").json()
    assert listing["display_count"] == 1
    assert listing["results"][0]["document_count"] == 0


def test_other_object_lists_are_paginated(
    fake_paperless: FakePaperless, http: httpx.Client
) -> None:
    fake_paperless.seed(documents=10, correspondents=3, document_types=3)
    body = http.get("/api/correspondents/", params={"page_size": 2}).json()
    assert body["count"] == 3
    assert body["next"] == f"{fake_paperless.url}/api/correspondents/?page=2&page_size=2"
    for kind in ("document_types", "storage_paths", "custom_fields"):
        assert http.get(f"/api/{kind}/").status_code == 200
    created = http.post(
        "/api/custom_fields/", json={"name": "Invoice amount", "data_type": "monetary"}
    )
    assert created.json() == {
        "id": 1,
        "name": "Invoice amount",
        "data_type": "monetary",
        "extra_data": None,
    }


def test_bulk_edit_changes_tags_and_bumps_modified(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    state = fake_paperless.state
    first, second = state.add_document(), state.add_document()
    tag, other = state.add_tag("duplicate"), state.add_tag("scanned")
    before = first.modified
    ok = http.post(
        "/api/documents/bulk_edit/",
        json={
            "documents": [first.id, second.id],
            "method": "add_tag",
            "parameters": {"tag": tag["id"]},
        },
    )
    assert ok.json() == {"result": "OK"}
    assert first.tags == [tag["id"]] and second.tags == [tag["id"]]
    assert first.modified > before
    http.post(
        "/api/documents/bulk_edit/",
        json={"documents": [second.id], "method": "remove_tag", "parameters": {"tag": tag["id"]}},
    )
    assert second.tags == []
    http.post(
        "/api/documents/bulk_edit/",
        json={
            "documents": [first.id],
            "method": "modify_tags",
            "parameters": {"add_tags": [other["id"]], "remove_tags": [tag["id"]]},
        },
    )
    assert first.tags == [other["id"]]
    unknown = http.post(
        "/api/documents/bulk_edit/",
        json={
            "documents": [first.id, 99999],
            "method": "add_tag",
            "parameters": {"tag": tag["id"]},
        },
    )
    assert unknown.status_code == 400
    assert unknown.json() == {
        "documents": ["Some documents in documents don't exist or were specified twice."]
    }
    explode = http.post(
        "/api/documents/bulk_edit/",
        json={"documents": [first.id], "method": "explode", "parameters": {}},
    )
    assert explode.json() == {"method": ['"explode" is not a valid choice.']}


def test_delete_goes_to_trash_and_restore_brings_it_back(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    state = fake_paperless.state
    one, two, three = state.add_document(), state.add_document(), state.add_document()
    assert http.delete(f"/api/documents/{one.id}/").status_code == 204
    assert http.post("/api/documents/delete/", json={"documents": [two.id]}).json() == {
        "result": "OK"
    }
    assert http.get("/api/documents/").json()["count"] == 1
    trash = http.get("/api/trash/").json()
    assert [doc["id"] for doc in trash["results"]] == [two.id, one.id]
    assert all(doc["deleted_at"] for doc in trash["results"])
    refused = http.post("/api/trash/", json={"action": "restore", "documents": [one.id, three.id]})
    assert refused.status_code == 400
    assert refused.json() == {
        "documents": ["Some documents in the list have not yet been deleted."]
    }
    restored = http.post("/api/trash/", json={"action": "restore", "documents": [one.id]})
    assert restored.json() == {"result": "OK", "doc_ids": [one.id]}
    assert http.get(f"/api/documents/{one.id}/").status_code == 200


def test_notes_and_patch_custom_fields(fake_paperless: FakePaperless, http: httpx.Client) -> None:
    document = fake_paperless.state.add_document()
    field = fake_paperless.state.add_object(
        "custom_fields", name="Invoice amount", data_type="monetary"
    )
    notes = http.post(f"/api/documents/{document.id}/notes/", json={"note": "Paid by card"}).json()
    assert notes[0]["note"] == "Paid by card" and notes[0]["user"]["username"] == "admin"
    assert http.get(f"/api/documents/{document.id}/notes/").json() == notes
    patched = http.patch(
        f"/api/documents/{document.id}/",
        json={"custom_fields": [{"field": field["id"], "value": "USD7.20"}]},
    )
    assert patched.json()["custom_fields"] == [{"value": "USD7.20", "field": field["id"]}]
    assert "permissions" in patched.json()
    invalid = http.patch(
        f"/api/documents/{document.id}/", json={"tags": [9999], "created": "not-a-date"}
    )
    assert invalid.status_code == 400
    assert invalid.json()["tags"] == ['Invalid pk "9999" - object does not exist.']


def test_statistics(fake_paperless: FakePaperless, http: httpx.Client) -> None:
    fake_paperless.seed(documents=12, tags=2)
    stats = http.get("/api/statistics/").json()
    assert stats["documents_total"] == 12
    assert stats["tag_count"] == 2
    assert stats["document_file_type_counts"] == [
        {"mime_type": "application/pdf", "mime_type_count": 12}
    ]


def test_scripted_faults_500_429_malformed_and_dropped(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    fake_paperless.fail_next(1, path="/api/documents/")
    failed = http.get("/api/documents/")
    assert failed.status_code == 500 and b"Server Error (500)" in failed.content
    fake_paperless.throttle_next(1, retry_after=3)
    throttled = http.get("/api/documents/")
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "3"
    fake_paperless.malformed_next(1)
    with pytest.raises(ValueError):
        http.get("/api/documents/").json()
    fake_paperless.drop_next(1)
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/api/documents/")
    assert http.get("/api/documents/").status_code == 200
    fake_paperless.delay_next(1, seconds=0.3)
    started = time.monotonic()
    http.get("/api/documents/")
    assert time.monotonic() - started >= 0.25
    assert len(fake_paperless.requests_for(method="GET", path="/api/documents/")) == 6


def test_file_latency_slows_file_requests_only(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    fake_paperless.seed(documents=2)
    fake_paperless.file_latency = 0.3
    for path in ("/api/documents/1/thumb/", "/api/documents/1/metadata/"):
        started = time.monotonic()
        assert http.get(path).status_code == 200
        assert time.monotonic() - started >= 0.25, path
    started = time.monotonic()
    assert http.get("/api/documents/1/").status_code == 200
    assert time.monotonic() - started < 0.25


def test_hook_changes_library_after_a_page_was_served(
    fake_paperless: FakePaperless,
    http: httpx.Client,
) -> None:
    fake_paperless.seed(documents=6)
    fake_paperless.after_documents_page(1, lambda state: state.trash_document(1))
    params = {"page_size": 3, "ordering": "id"}
    assert http.get("/api/documents/", params=params).json()["count"] == 6
    assert http.get("/api/documents/", params=params).json()["count"] == 5


def test_seeding_100k_documents_is_fast_and_records_duplicates() -> None:
    fake = FakePaperless()
    started = time.monotonic()
    result = fake.seed(documents=100_000, duplicate_ratio=0.05)
    assert time.monotonic() - started < 15
    assert len(result.document_ids) == 100_000
    kinds = {pair.kind for pair in result.duplicate_pairs}
    assert kinds == {"exact", "near", "extract"}
    exact = next(pair for pair in result.duplicate_pairs if pair.kind == "exact")
    documents = fake.state.documents
    assert documents[exact.original_id].checksum == documents[exact.duplicate_id].checksum
