"""Fixtures for the duplicates app: documents in the database from the engine's labelled corpus or
hand-written texts, the fake Paperless as a connection, and the analysis run as the command runs
it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from documents.models import Document, DocumentContent
from documents.sync import text_fingerprint
from duplicates.analysis import run_analysis
from duplicates.engine import DocFeatures
from processing import jobs
from processing.models import Job


def store_documents(features: Iterable[DocFeatures]) -> list[Document]:
    """Documents (pk = paperless_id = the feature's id) with their text, as the sync leaves them."""
    docs, contents = [], []
    for feature in features:
        text = feature.text
        docs.append(
            Document(
                pk=feature.id,
                paperless_id=feature.id,
                title=feature.title,
                created=feature.created,
                original_checksum=feature.checksum or "",
                archive_checksum=feature.archive_checksum or "",
                original_size=feature.size,
                page_count=feature.page_count,
                original_file_name=feature.original_file_name,
                content_length=len(text),
                text_fingerprint=text_fingerprint(text),
                content_changed_at=timezone.now(),
                needs_analysis=True,
                dhash=feature.dhash.to_bytes(32, "big")
                if isinstance(feature.dhash, int)
                else feature.dhash,
                phash=(feature.phash - (1 << 64) if feature.phash >= 1 << 63 else feature.phash)
                if isinstance(feature.phash, int)
                else None,
            )
        )
        contents.append(DocumentContent(document_id=feature.id, text=text))
    Document.objects.bulk_create(docs)
    DocumentContent.objects.bulk_create(contents)
    return docs


def change_text(document_id: int, text: str) -> None:
    """What the sync does when Paperless reports new text for a document."""
    DocumentContent.objects.filter(document_id=document_id).update(text=text)
    Document.objects.filter(pk=document_id).update(
        text_fingerprint=text_fingerprint(text),
        content_length=len(text),
        content_changed_at=timezone.now(),
        needs_analysis=True,
        last_synced_at=timezone.now(),
    )


LETTER = (
    "Sehr geehrte Frau Berger, wir bestätigen den Eingang Ihrer Unterlagen zur Steuererklärung "
    "für das Jahr. Die Prüfung der Belege zu Werbungskosten, Sonderausgaben und "
    "außergewöhnlichen Belastungen ist abgeschlossen. Bitte beachten Sie die beigefügte "
    "Aufstellung der anerkannten Beträge und die Hinweise zur Vorauszahlung im nächsten Quartal. "
    "Für Rückfragen steht Ihnen unser Büro montags bis donnerstags zur Verfügung. "
)


def page(seed: int, words: int = 160) -> str:
    """A page of text unlike any other seed's."""
    import random

    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 10)))
        for _ in range(400)
    ]
    return " ".join(rng.choice(vocabulary) for _ in range(words))


def feature(doc_id: int, text: str, **fields: Any) -> DocFeatures:
    defaults: dict[str, Any] = {
        "title": f"Dokument {doc_id}",
        "created": date(2023, 3, 14),
        "page_count": 1,
        "size": 120_000,
        "original_file_name": f"scan_{doc_id}.pdf",
        "checksum": f"{doc_id:032x}",
    }
    defaults.update(fields)
    return DocFeatures(id=doc_id, text=text, **defaults)


@pytest.fixture
def analyse(db) -> Callable[..., dict[str, Any]]:
    """Run an analysis in-process, the function the job and ``manage.py dedupe`` call."""

    def run(*, full: bool = False, **options: Any) -> dict[str, Any]:
        return run_analysis(full=full, workers=1, **options)

    return run


@pytest.fixture
def run_job(db) -> Callable[..., Job]:
    def run(kind: str, **params: Any) -> Job:
        return jobs.run_inline(kind=kind, params=params)

    return run
