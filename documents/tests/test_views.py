"""Document pages and API: full page and HTMX partial for each view, filters by name, thumbnails
behind login with cache headers, starting a sync."""

from __future__ import annotations

import pytest
from django.urls import reverse

from documents import thumbnails
from documents.models import Document, Tag
from processing.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(paperless, run_sync):
    paperless.seed(documents=60)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return paperless


def test_list_full_page_shows_names_and_pages(auth_client, synced):
    response = auth_client.get(reverse("document-list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'id="document-table"' in html
    assert "60 documents" in html
    assert "tag-1" in html and "Correspondent 1" in html
    assert "Page 1 of 2" in html and "?page=2" in html


def test_list_htmx_returns_the_table_only(auth_client, synced):
    response = auth_client.get(
        reverse("document-list"), {"page": 2}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="document-table"')
    assert "Page 2 of 2" in html


def test_list_filters_by_tag_correspondent_type_and_search(auth_client, synced):
    tag = Tag.objects.get(name="tag-2")
    expected = Document.objects.filter(tags=tag).count()
    response = auth_client.get(reverse("document-list"), {"tag": tag.pk})
    assert f"{expected} document" in response.content.decode()
    doc = Document.objects.get(paperless_id=7)
    response = auth_client.get(
        reverse("document-list"),
        {
            "q": doc.title,
            "correspondent": doc.correspondent_id,
            "document_type": doc.document_type_id,
        },
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "1 document<" in html and doc.get_absolute_url() in html


def test_detail_full_page_and_htmx(auth_client, synced):
    doc = Document.objects.get(paperless_id=9)
    url = reverse("document-detail", kwargs={"paperless_id": 9})
    full = auth_client.get(url).content.decode()
    assert "<html" in full and doc.title in full and doc.original_checksum in full
    assert doc.get_thumbnail_url() in full and doc.dhash_hex in full
    partial = auth_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and 'id="document-9"' in partial
    assert (
        auth_client.get(reverse("document-detail", kwargs={"paperless_id": 999})).status_code == 404
    )


def test_thumbnail_is_served_privately_with_an_etag(auth_client, synced):
    doc = Document.objects.get(paperless_id=4)
    url = doc.get_thumbnail_url()
    response = auth_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert response.content == synced.state.documents[4].thumbnail
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["ETag"].strip('"') == synced.state.documents[4].checksum
    again = auth_client.get(url, headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_an_evicted_thumbnail_is_fetched_again(auth_client, synced):
    thumbnails.discard([5])
    response = auth_client.get(Document.objects.get(paperless_id=5).get_thumbnail_url())
    assert response.status_code == 200
    assert thumbnails.read(5) == synced.state.documents[5].thumbnail


def test_pages_and_thumbnails_need_a_login(client, synced):
    for url in (
        reverse("document-list"),
        reverse("document-detail", kwargs={"paperless_id": 1}),
        reverse("document-thumbnail", kwargs={"paperless_id": 1}),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_sync_now_starts_a_job_and_dashboard_shows_status(auth_client, paperless, admin_user):
    response = auth_client.post(reverse("sync-now"))
    job = Job.objects.get(kind=Job.Kind.SYNC)
    assert response.status_code == 302 and response["Location"] == reverse(
        "job-detail", args=[job.pk]
    )
    assert job.created_by == admin_user and job.params == {"full": False}
    again = auth_client.post(reverse("sync-now"), {"full": "1"})
    assert again["Location"] == reverse("job-detail", args=[job.pk])
    assert Job.objects.filter(kind=Job.Kind.SYNC).count() == 1
    dashboard = auth_client.get(reverse("dashboard")).content.decode()
    assert 'id="sync-status"' in dashboard and "Sync now" in dashboard
    assert f"#{job.pk}" in dashboard


def test_sync_now_htmx_renders_the_status_card(auth_client, paperless):
    response = auth_client.post(reverse("sync-now"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section class="card" id="sync-status"')
    status = auth_client.get(reverse("sync-status")).content.decode()
    assert 'id="sync-status"' in status


def test_dashboard_shows_last_sync(auth_client, synced):
    html = auth_client.get(reverse("dashboard")).content.decode()
    assert "60 documents" in html and "Last successful sync finished" in html


def test_api_lists_with_filters_and_pagination(auth_client, synced):
    tag = Tag.objects.get(name="tag-1")
    body = auth_client.get("/api/documents", {"tag": tag.pk, "limit": 5}).json()
    assert body["count"] == Document.objects.filter(tags=tag).count()
    assert len(body["items"]) == 5
    assert all("tag-1" in [t["name"] for t in item["tags"]] for item in body["items"])
    assert "content" not in body["items"][0]


def test_api_detail_has_text_and_404s(auth_client, synced):
    body = auth_client.get("/api/documents/3").json()
    assert body["paperless_id"] == 3 and body["content"] == synced.state.documents[3].content
    assert len(body["dhash"]) == 64
    missing = auth_client.get("/api/documents/12345")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_api_sync_starts_once(auth_client, paperless):
    response = auth_client.post("/api/sync", {"full": True}, content_type="application/json")
    assert response.status_code == 202
    assert response.json()["kind"] == "sync"
    assert Job.objects.get(pk=response.json()["id"]).params == {"full": True}
    second = auth_client.post("/api/sync", {}, content_type="application/json")
    assert second.status_code == 409 and second.json()["code"] == "sync_running"


def test_api_needs_authentication(client, db):
    assert client.get("/api/documents").status_code == 401


def test_sync_now_without_a_connection_says_what_is_missing_and_starts_nothing(auth_client):
    from processing.models import Job

    response = auth_client.post(reverse("sync-now"), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert "no Paperless connection is set up yet" in html
    assert f'href="{reverse("connection")}"' in html
    assert "Sync started" not in html and not Job.objects.exists()
    partial = auth_client.post(reverse("sync-now"), headers={"HX-Request": "true"})
    assert b"no Paperless connection is set up yet" in partial.content
    assert not Job.objects.exists()
