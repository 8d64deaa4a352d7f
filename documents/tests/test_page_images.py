"""Pages drawn as images on our side (review mode): rendered from Paperless's preview with pdfium,
cached on disk per file version and width, served behind login with cache headers."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from documents import page_images
from documents.models import Document
from processing.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(paperless, run_sync):
    paperless.seed(documents=4)
    job = run_sync()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return paperless


def page_url(paperless_id: int, page: int = 1, width: int | None = None) -> str:
    url = reverse("document-page", kwargs={"paperless_id": paperless_id, "page": page})
    return f"{url}?width={width}" if width else url


def fetches(paperless, paperless_id: int) -> int:
    return len(paperless.requests_for(method="GET", path=f"/api/documents/{paperless_id}/preview/"))


def test_a_page_is_drawn_at_the_asked_width_and_cached(auth_client, synced):
    first = auth_client.get(page_url(2, width=600))
    second = auth_client.get(page_url(2, width=600))

    assert first.status_code == second.status_code == 200
    assert first["Content-Type"] == "image/jpeg"
    assert first.content == second.content
    image = Image.open(io.BytesIO(first.content))
    assert image.format == "JPEG" and image.width == 600 and image.height > image.width
    # Not a blank sheet: the fake's PDF has text on it, so some pixels are dark.
    assert image.convert("L").getextrema()[0] < 128
    assert fetches(synced, 2) == 1
    assert first["Cache-Control"] == "private, max-age=3600" and first["ETag"]
    again = auth_client.get(page_url(2, width=600), headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304


def test_a_missing_page_or_an_unknown_width_is_404(auth_client, synced):
    Document.objects.filter(paperless_id=3).update(page_count=1)
    assert auth_client.get(page_url(3, page=2)).status_code == 404
    assert auth_client.get(page_url(3, width=123)).status_code == 404
    assert auth_client.get(page_url(999)).status_code == 404


def test_a_page_beyond_the_file_is_404_even_when_the_count_is_unknown(auth_client, synced):
    Document.objects.filter(paperless_id=1).update(page_count=None)
    assert auth_client.get(page_url(1, page=5)).status_code == 404


def test_pages_need_a_login(client, synced):
    response = client.get(page_url(1))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_widths_served_are_the_ones_the_review_asks_for():
    from duplicates.review_views import ZOOMS

    assert set(ZOOMS.values()) <= set(page_images.WIDTHS)


def test_a_document_paperless_no_longer_has_is_drawn_as_a_note_not_a_broken_image(
    auth_client, synced
):
    Document.objects.create(paperless_id=5555, title="gone from Paperless")
    response = auth_client.get(page_url(5555))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "no-store"
    assert b"No preview of #5555" in response.content and b"no such document" in response.content
