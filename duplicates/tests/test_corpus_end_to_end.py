"""The labelled corpus is made with the real tools (ReportLab, poppler, tesseract, OCRmyPDF), and
its files go the whole way: served by the fake Paperless, synced (text, thumbnails, page
layouts), analysed, grouped. Three fills of one short form ("left with the left / right /
upstairs neighbour") as PDFs, scans and photos: copies of one fill are duplicates, the fills are
not."""

from __future__ import annotations

import itertools

import pytest

from documents.models import Document
from duplicates.evaluation import build
from duplicates.evaluation.render import MissingTool, check_tools
from duplicates.models import DuplicateGroup
from processing import jobs
from processing.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def form_corpus(tmp_path_factory):
    try:
        check_tools()
    except MissingTool as exc:
        pytest.skip(str(exc))
    cache = tmp_path_factory.mktemp("corpus")
    rows = build.build(
        cache=cache, workers=1, limit=["form/9/"], output=None, progress=lambda _line: None
    )
    return rows, cache


def test_the_builder_renders_and_ocrs_every_variant(form_corpus):
    rows, cache = form_corpus
    assert len({row["cluster"] for row in rows}) == 3  # three fills of the form
    assert len(rows) > 3  # and copies of them
    for row in rows:
        assert "parcel" in row["content"].lower() or "neighbour" in row["content"].lower()
        folder = cache / row["recipe"]
        assert (folder / "thumbnail.webp").read_bytes()[8:12] == b"WEBP"
        assert next(folder.glob("original.*")).stat().st_size == row["size"]
        assert row["layout"]  # the thumbnail has ink to compare
    scanned = [row for row in rows if row["variant"] != "born_digital"]
    assert scanned, "no scanned or photographed copy was made"
    assert all(row["mime_type"] != "application/pdf" or row["page_count"] for row in rows)


def test_real_files_are_synced_analysed_and_grouped_by_their_labels(form_corpus, paperless):
    rows, cache = form_corpus
    ids = paperless.state.seed_corpus(rows, cache=cache)
    cluster = {ids[row["id"]]: row["cluster"] for row in rows}

    sync = jobs.run_inline(kind=Job.Kind.SYNC, params={"full": True})
    assert sync.status == Job.Status.SUCCEEDED, sync.error
    assert Document.objects.count() == len(rows)
    assert not Document.objects.filter(layout__isnull=True).exists()
    analysis = jobs.run_inline(kind=Job.Kind.ANALYSIS, params={"full": True, "workers": 1})
    assert analysis.status == Job.Status.SUCCEEDED, analysis.error

    grouped = [
        [member.document.paperless_id for member in group.members.filter(removed=False)]
        for group in DuplicateGroup.objects.prefetch_related("members__document")
    ]
    for members in grouped:  # no group mixes two fills of the form
        assert len({cluster[pid] for pid in members}) == 1, [cluster[pid] for pid in members]
    found = {frozenset(p) for members in grouped for p in itertools.combinations(members, 2)}
    truth = {
        frozenset((a, b)) for a, b in itertools.combinations(cluster, 2) if cluster[a] == cluster[b]
    }
    assert truth and found <= truth  # what is grouped is right (quality: test_detection_quality)
    assert len(found) >= len(truth) // 2
