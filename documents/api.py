"""``/api/documents`` (the mirror, with the list page's filters) and ``/api/sync`` (start one)."""

# No ``from __future__ import annotations``: ``@paginate`` makes django-ninja read the annotations
# of the views below in its own module, where our names are unknown.
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from dedupe_project.access import READ, RUN_JOBS, access
from dedupe_project.api import ApiError, ErrorOut, Id, InputSchema, Pagination
from documents.models import Document
from documents.sync import SyncAlreadyRunning, start_sync
from processing.api import JobOut

router = Router()
sync_router = Router()


class NamedRef(Schema):
    id: int
    paperless_id: int
    name: str


class DocumentOut(Schema):
    id: int
    paperless_id: int
    title: str
    correspondent: NamedRef | None
    document_type: NamedRef | None
    storage_path: NamedRef | None
    tags: list[NamedRef]
    created: date | None
    added: datetime | None
    modified: datetime | None
    archive_serial_number: int | None
    original_file_name: str
    archived_file_name: str
    original_checksum: str
    archive_checksum: str
    original_size: int | None
    archive_size: int | None
    page_count: int | None
    mime_type: str
    owner_id: int | None
    notes_count: int
    content_length: int
    text_fingerprint: str
    dhash: str
    phash: str
    sync_error: str
    last_synced_at: datetime

    @staticmethod
    def resolve_tags(document: Document) -> list[Any]:
        return list(document.tags.all())

    @staticmethod
    def resolve_dhash(document: Document) -> str:
        return document.dhash_hex

    @staticmethod
    def resolve_phash(document: Document) -> str:
        return document.phash_hex


class DocumentDetailOut(DocumentOut):
    content: str
    custom_fields: list[Any]

    @staticmethod
    def resolve_content(document: Document) -> str:
        return document.text


class SyncIn(InputSchema):
    full: bool = False


@router.get("", response=list[DocumentOut], summary="Mirrored documents, newest first")
@paginate(Pagination)
@access(READ)
def list_documents(
    request: HttpRequest,
    q: str = "",
    tag: Id | None = None,
    correspondent: Id | None = None,
    document_type: Id | None = None,
    has_error: bool | None = None,
) -> Any:
    """Filters take our object ids (``id`` in a document's ``tags`` / ``correspondent``)."""
    return (
        Document.objects.filtered(
            q=q,
            tag=tag,
            correspondent=correspondent,
            document_type=document_type,
            has_error=has_error,
        )
        .select_related("correspondent", "document_type", "storage_path")
        .prefetch_related("tags")
        .order_by("-paperless_id")
    )


@router.get("/{int:paperless_id}", response={200: DocumentDetailOut, 404: ErrorOut})
@access(READ)
def get_document(request: HttpRequest, paperless_id: Id) -> Document:
    """One document by its Paperless id, with its full text."""
    return get_object_or_404(
        Document.objects.select_related(
            "correspondent", "document_type", "storage_path", "content"
        ).prefetch_related("tags"),
        paperless_id=paperless_id,
    )


@sync_router.post("", response={202: JobOut, 409: ErrorOut}, summary="Start a sync")
@access(RUN_JOBS)
def start(request: HttpRequest, payload: SyncIn | None = None) -> Status:
    try:
        job = start_sync(full=bool(payload and payload.full), user=request.user)
    except SyncAlreadyRunning as exc:
        raise ApiError(status=409, code="sync_running", detail=str(exc)) from exc
    return Status(202, job)
