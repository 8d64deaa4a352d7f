"""The "part of" relation is shown on its own page and on the document, never as a group, and a
person's "not related" hides it for good."""

from __future__ import annotations

import pytest
from django.urls import reverse

from duplicates.models import PairDecision, PairEdge
from duplicates.tests import groupfactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}

EXTRACT = {"containment": 0.98, "length_ratio": 0.33, "jaccard": 0.3, "fuzzy": 0.55}
DUPLICATE = {"containment": 0.99, "length_ratio": 0.97, "jaccard": 0.9, "fuzzy": 0.98}


def _pair(factors, *, confidence, part_length=900, whole_length=2800):
    part = groupfactory.document(title="Page 2 of the manual", content_length=part_length)
    whole = groupfactory.document(title="The whole manual", content_length=whole_length)
    a, b = sorted((part.pk, whole.pk))
    PairEdge.objects.create(a_id=a, b_id=b, factors=factors, confidence=confidence)
    return part, whole


@pytest.mark.parametrize("htmx", [False, True])
def test_an_extract_is_listed_as_part_of_the_longer_document(auth_client, htmx):
    part, whole = _pair(EXTRACT, confidence=0.02)
    _pair(DUPLICATE, confidence=0.97)  # a duplicate pair is a group, not "part of"
    response = auth_client.get(reverse("part-of-list"), **(HTMX if htmx else {}))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="parts"' in html
    assert html.count("Not related") == 1
    assert f"#{part.paperless_id} Page 2 of the manual" in html
    assert html.index(f"#{part.paperless_id}") < html.index(f"#{whole.paperless_id}")
    assert "3.0 times as long" in html
    assert ("<h1>" in html) is not htmx


def test_the_part_is_the_shorter_text_whichever_id_is_smaller(auth_client):
    part, whole = _pair(EXTRACT, confidence=0.02, part_length=5000, whole_length=200)
    html = auth_client.get(reverse("part-of-list")).content.decode()
    assert html.index(f"#{whole.paperless_id}") < html.index(f"#{part.paperless_id}")


def test_the_document_page_says_what_it_is_part_of(auth_client):
    part, whole = _pair(EXTRACT, confidence=0.02)
    html = auth_client.get(part.get_absolute_url()).content.decode()
    assert "This document's text is inside" in html and f"#{whole.paperless_id}" in html
    html = auth_client.get(whole.get_absolute_url()).content.decode()
    assert f"#{part.paperless_id} Page 2 of the manual</a> is part of this document" in html


def test_not_related_hides_the_pair_for_good(auth_client, admin_user):
    part, whole = _pair(EXTRACT, confidence=0.02)
    response = auth_client.post(
        reverse("part-of-not-related"),
        {"part": part.paperless_id, "whole": whole.paperless_id},
    )
    assert response.status_code == 302
    decision = PairDecision.objects.get()
    assert {decision.a_id, decision.b_id} == {part.pk, whole.pk}
    assert decision.decided_by == admin_user
    assert "Not related" not in auth_client.get(reverse("part-of-list")).content.decode()


def test_not_related_needs_a_post_and_real_documents(auth_client):
    assert auth_client.get(reverse("part-of-not-related")).status_code == 405
    response = auth_client.post(reverse("part-of-not-related"), {"part": "x", "whole": "1"})
    assert response.status_code == 404
    assert not PairDecision.objects.exists()


def test_the_pages_need_a_login(client):
    response = client.get(reverse("part-of-list"))
    assert response.status_code == 302 and "login" in response["Location"]
