"""The sync mirrors which documents are versions (Paperless 3), and what the server can do."""

from __future__ import annotations

import pytest

from documents.connection import get_client
from documents.models import Document, SyncState
from documents.sync import mirror_documents

pytestmark = pytest.mark.django_db


def test_the_sync_keeps_a_documents_versions_and_not_the_versions_as_documents(paperless, run_sync):
    paperless.seed(documents=4)
    root = paperless.state.documents[2]
    version = paperless.state.add_version(
        root, data=paperless.state.documents[3].original, label="scan 2", filename="b.pdf"
    )
    job = run_sync(full=True)
    assert job.status == "succeeded", job.error
    assert not Document.objects.filter(paperless_id=version.id).exists()  # lists show roots
    mirrored = Document.objects.get(paperless_id=2)
    assert mirrored.versions == [
        {"id": version.id, "label": "scan 2", "checksum": version.checksum}
    ]
    assert mirrored.original_checksum == root.checksum  # the root's own file
    assert Document.objects.get(paperless_id=1).versions == []
    state = SyncState.objects.get_solo()
    assert (state.api_version, state.has_versions) == (10, True)


def test_a_version_row_mirrored_by_id_knows_its_root(paperless):
    paperless.seed(documents=2)
    root = paperless.state.documents[1]
    version = paperless.state.add_version(root, data=b"v2", label=None, filename="v2.txt")
    with get_client() as client:
        raw = client.get_document(version.id)
    from documents.sync import convert_document

    fields = convert_document(raw).fields
    assert (fields["is_version"], fields["root_paperless_id"]) == (True, 1)


def test_mirror_documents_updates_only_the_ids_asked_for(paperless, run_sync):
    paperless.seed(documents=5)
    run_sync(full=True)
    with paperless.state.lock:
        for document in paperless.state.documents.values():
            document.title = f"changed {document.id}"
            paperless.state.touch(document)
    with get_client() as client:
        result = mirror_documents(client=client, paperless_ids=[2, 4])
    assert set(result.documents) == {2, 4} and result.counts["updated"] == 2
    titles = dict(Document.objects.values_list("paperless_id", "title"))
    assert titles[2] == "changed 2" and titles[4] == "changed 4"
    assert titles[1] != "changed 1"
    assert SyncState.objects.get_solo().cursor == {}  # the sync's own place is untouched


def test_a_paperless_2_has_no_versions(paperless, run_sync):
    paperless.api_version = 9
    paperless.seed(documents=2)
    run_sync(full=True)
    state = SyncState.objects.get_solo()
    assert (state.api_version, state.has_versions) == (9, False)
