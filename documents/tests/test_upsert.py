"""The sync's raw SQL page writer (``documents/upsert.py``): what it stores reads back through the
ORM exactly as Django itself would have stored it, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import random
import re
import sys
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from django.db import connection

from documents.models import Correspondent, Document, DocumentContent, Tag
from documents.sync import _UNICODE_BREAKS, text_fingerprint
from documents.upsert import DocumentRow, PageWriter

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def row(paperless_id: int, **changes) -> DocumentRow:
    values = {
        "paperless_id": paperless_id,
        "title": f"Invoice {paperless_id} \u2013 Ünïcode 'quoted' %s",
        "correspondent_id": None,
        "document_type_id": None,
        "storage_path_id": None,
        "created": date(2021, 2, 3),
        "added": datetime(2021, 2, 3, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        "modified": datetime(2024, 1, 1, 12, 30, 0, 0, tzinfo=UTC),
        "archive_serial_number": 42,
        "original_file_name": "a.pdf",
        "archived_file_name": "",
        "original_checksum": "abc",
        "page_count": 3,
        "mime_type": "application/pdf",
        "owner_id": 7,
        "notes_count": 1,
        "custom_fields": [{"field": 1, "value": "x"}],
        "is_version": False,
        "content_length": 10,
        "text_fingerprint": "f" * 64,
        "content_changed_at": NOW,
        "needs_analysis": True,
        "thumbnail_needed": True,
        "sync_error": "",
        "last_synced_at": NOW,
        "first_synced_at": NOW,
    }
    values.update(changes)
    return DocumentRow(**values)


def test_rows_read_back_through_the_orm_as_written():
    correspondent = Correspondent.objects.create(paperless_id=5, name="ACME")
    writer = PageWriter()
    writer.insert_documents(
        [row(1, correspondent_id=correspondent.pk), row(2, created=None, custom_fields=[])]
    )
    doc = Document.objects.get(paperless_id=1)
    expected = row(1, correspondent_id=correspondent.pk)
    for name in DocumentRow._fields:
        assert getattr(doc, name) == getattr(expected, name), name
    assert doc.thumbnail_etag == "" and doc.archive_checksum == "" and doc.dhash is None
    assert Document.objects.get(paperless_id=2).created is None
    # stored exactly as the ORM stores it: lookups by value find it
    assert Document.objects.filter(modified=expected.modified, created=expected.created).count()
    assert Document.objects.filter(added__lt=datetime(2021, 2, 3, 8, 30, tzinfo=UTC)).count() == 2
    existing = writer.existing([1, 2, 3])
    assert set(existing) == {1, 2}
    assert existing[1].modified == writer.modified_key(expected.modified)
    assert writer.pks([1, 3]) == {1: doc.pk}


def test_new_documents_their_texts_and_tags_are_inserted_with_the_pks_returned():
    """PostgreSQL COPYs new rows with ids drawn from the sequence: the returned pks are the
    rows', and a document the ORM adds afterwards gets a fresh one."""
    writer = PageWriter()
    tags = [Tag.objects.create(paperless_id=i, name=f"t{i}") for i in (1, 2)]
    pks = writer.insert_documents([row(10), row(11, custom_fields=[])])
    assert pks == dict(Document.objects.values_list("paperless_id", "pk"))
    writer.insert_texts([(pks[10], "ten \u2013 Ünïcode"), (pks[11], "")])
    writer.insert_tags([(pks[10], tags[0].pk), (pks[10], tags[1].pk), (pks[11], tags[1].pk)])
    assert dict(DocumentContent.objects.values_list("document__paperless_id", "text")) == {
        10: "ten \u2013 Ünïcode",
        11: "",
    }
    assert sorted(Document.objects.get(paperless_id=10).tags.values_list("pk", flat=True)) == [
        tags[0].pk,
        tags[1].pk,
    ]
    assert Document.objects.get(paperless_id=11).custom_fields == []
    later = Document.objects.create(paperless_id=12)
    assert later.pk not in pks.values()
    assert writer.insert_documents([]) == {}


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_sqlite_datetimes_are_stored_as_django_stores_them():
    writer = PageWriter()
    for value in (
        NOW,
        NOW.replace(microsecond=0),
        datetime(2020, 1, 1, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
    ):
        assert writer.modified_key(value) == connection.ops.adapt_datetimefield_value(value)


def test_an_update_keeps_what_paperless_did_not_send_and_flags_once_set():
    writer = PageWriter()
    writer.insert_documents([row(1, original_checksum="root", needs_analysis=True)])
    later = NOW + timedelta(days=1)
    writer.upsert_documents(
        [
            row(
                1,
                title="Renamed",
                original_checksum="",  # not sent: keep
                content_changed_at=None,  # text unchanged: keep
                needs_analysis=False,  # still waiting for the analysis: stays set
                thumbnail_needed=False,
                last_synced_at=later,
                first_synced_at=later,  # insert-only
            ),
            row(2),
        ]
    )
    doc = Document.objects.get(paperless_id=1)
    assert doc.title == "Renamed"
    assert doc.original_checksum == "root"
    assert doc.content_changed_at == NOW
    assert doc.needs_analysis is True and doc.thumbnail_needed is True
    assert doc.last_synced_at == later and doc.first_synced_at == NOW
    assert Document.objects.count() == 2


def test_texts_tags_seen_and_errors():
    writer = PageWriter()
    writer.insert_documents([row(1), row(2)])
    pks = writer.pks([1, 2])
    tags = [Tag.objects.create(paperless_id=i, name=f"t{i}") for i in (1, 2, 3)]
    writer.replace_texts([(pks[1], "one"), (pks[2], "two\nlines")])
    writer.replace_texts([(pks[1], "one, changed")])
    assert dict(DocumentContent.objects.values_list("document__paperless_id", "text")) == {
        1: "one, changed",
        2: "two\nlines",
    }
    writer.replace_tags([pks[1], pks[2]], [(pks[1], tags[0].pk), (pks[1], tags[1].pk)])
    writer.replace_tags([pks[1]], [(pks[1], tags[2].pk)])
    assert sorted(
        Document.objects.get(paperless_id=1).tags.values_list("paperless_id", flat=True)
    ) == [3]
    assert not Document.objects.get(paperless_id=2).tags.exists()
    later = NOW + timedelta(hours=1)
    writer.mark_seen([1], later)
    writer.record_errors([(2, "Could not read this document: boom")], later)
    one, two = Document.objects.order_by("paperless_id")
    assert one.last_synced_at == later and one.title == row(1).title
    assert two.sync_error.startswith("Could not read") and two.title == row(2).title
    assert two.last_synced_at == later


def test_text_fingerprint_normalises_whitespace_as_the_regex_did():
    def by_regex(text: str) -> str:
        normal = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
        return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()

    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    samples = [
        "",
        "   ",
        "Plain  text\n\nwith\tlayout ",
        spaces + "A b" + spaces + "C" + spaces,
        *(f"x{s}y{s}{s}z " for s in spaces),
        "ﬁ Ǆ ß\u00a0Straße",
        "runs" + " " * 9 + "of" + " \n" * 7 + "spaces" + "\u3000" * 5 + "end\ud800",
    ]
    rng = random.Random(7)
    pieces = ["Rechnung", "ÄÖÜ", "straße", "ﬁ", "€ 12,50", "x", "\u0130", *spaces, "  ", "\r\n"]
    samples += ["".join(rng.choices(pieces, k=rng.randint(1, 60))) for _ in range(2000)]
    for text in samples:
        assert text_fingerprint(text) == by_regex(text), repr(text)


def test_the_fingerprints_fast_path_knows_every_whitespace_nfkc_keeps():
    """The byte-level whitespace collapse is exact only if every non-ASCII whitespace character
    NFKC leaves in place is sent down the slow path (a new Unicode version could add one)."""
    kept = {
        chr(c)
        for c in range(128, sys.maxunicode + 1)
        if chr(c).isspace() and unicodedata.normalize("NFKC", chr(c)) == chr(c)
    }
    assert kept == set(_UNICODE_BREAKS)
