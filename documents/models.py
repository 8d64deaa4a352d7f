"""The local mirror of Paperless: documents, their text, thumbnails and hashes, and the objects they
point to (tags, correspondents, document types, storage paths, custom fields) with current names.

Rows are keyed by Paperless's own ids (``paperless_id``); the sync (``documents/sync.py``) is the
only writer. A document deleted or trashed in Paperless is deleted here, so anything that references
it (duplicate groups, later) goes with it.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class MirroredObject(models.Model):
    """A Paperless object known by id, mirrored so pages can show its name, never its id."""

    paperless_id = models.PositiveBigIntegerField(unique=True)
    name = models.CharField(max_length=256)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(MirroredObject):
    color = models.CharField(max_length=16, blank=True)
    parent_paperless_id = models.PositiveBigIntegerField(null=True, blank=True)
    is_inbox_tag = models.BooleanField(default=False)


class Correspondent(MirroredObject):
    pass


class DocumentType(MirroredObject):
    pass


class StoragePath(MirroredObject):
    path = models.CharField(max_length=512, blank=True)


class CustomField(MirroredObject):
    data_type = models.CharField(max_length=32, blank=True)


class DocumentQuerySet(models.QuerySet["Document"]):
    def search(self, text: str) -> DocumentQuerySet:
        """Title, file names or archive serial number containing ``text``."""
        text = text.strip()
        if not text:
            return self
        condition = Q(title__icontains=text) | Q(original_file_name__icontains=text)
        if text.isdigit():
            condition |= Q(archive_serial_number=int(text)) | Q(paperless_id=int(text))
        return self.filter(condition)

    def filtered(
        self,
        *,
        q: str = "",
        tag: int | None = None,
        correspondent: int | None = None,
        document_type: int | None = None,
        has_error: bool | None = None,
    ) -> DocumentQuerySet:
        """The list filters shared by the page and the API (ids are local object ids)."""
        queryset = self.search(q)
        if tag:
            queryset = queryset.filter(tags=tag)
        if correspondent:
            queryset = queryset.filter(correspondent=correspondent)
        if document_type:
            queryset = queryset.filter(document_type=document_type)
        if has_error is not None:
            queryset = (
                queryset.exclude(sync_error="") if has_error else queryset.filter(sync_error="")
            )
        return queryset

    def for_list(self) -> DocumentQuerySet:
        return self.select_related("correspondent", "document_type").prefetch_related("tags")

    def needing_thumbnail(self) -> DocumentQuerySet:
        return self.filter(thumbnail_needed=True)

    def remove_gone(self, paperless_ids: list[int]) -> int:
        """Delete documents Paperless no longer has (deleted or trashed); returns how many.
        Their text and tag links go with them, as will any later group membership (cascade)."""
        if not paperless_ids:
            return 0
        _deleted, per_model = self.filter(paperless_id__in=paperless_ids).delete()
        return per_model.get(Document._meta.label, 0)


class Document(models.Model):
    paperless_id = models.PositiveBigIntegerField(unique=True)
    title = models.CharField(max_length=1024, blank=True)
    tags = models.ManyToManyField(Tag, related_name="documents", blank=True)
    correspondent = models.ForeignKey(
        Correspondent, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    document_type = models.ForeignKey(
        DocumentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    storage_path = models.ForeignKey(
        StoragePath, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    created = models.DateField(null=True, blank=True)
    added = models.DateTimeField(null=True, blank=True)
    modified = models.DateTimeField(null=True, blank=True)
    archive_serial_number = models.BigIntegerField(null=True, blank=True)
    original_file_name = models.CharField(max_length=1024, blank=True)
    archived_file_name = models.CharField(max_length=1024, blank=True)
    original_checksum = models.CharField(max_length=64, blank=True)
    archive_checksum = models.CharField(max_length=64, blank=True)
    original_size = models.BigIntegerField(null=True, blank=True)
    archive_size = models.BigIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    mime_type = models.CharField(max_length=128, blank=True)
    owner_id = models.BigIntegerField(null=True, blank=True)
    notes_count = models.PositiveIntegerField(default=0)
    custom_fields = models.JSONField(default=list, blank=True)
    is_version = models.BooleanField(
        default=False, help_text="An extra file version of another document (Paperless 3)."
    )
    root_paperless_id = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="For a version: the Paperless id of the document it is a version of.",
    )
    versions = models.JSONField(
        default=list,
        blank=True,
        help_text="For a root document: its other file versions (id, label, checksum).",
    )

    content_length = models.PositiveIntegerField(default=0)
    text_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the normalised text."
    )
    content_changed_at = models.DateTimeField(null=True, blank=True)
    needs_analysis = models.BooleanField(
        default=True,
        help_text="Text or image changed since the duplicate analysis last looked at it.",
    )

    thumbnail_needed = models.BooleanField(default=True)
    thumbnail_etag = models.CharField(max_length=200, blank=True)
    thumbnail_fetched_at = models.DateTimeField(null=True, blank=True)
    dhash = models.BinaryField(
        max_length=32, null=True, blank=True, help_text="dhash, hash size 16 (256 bits)."
    )
    phash = models.BigIntegerField(null=True, blank=True, help_text="phash, 64 bits, signed.")
    layout = models.BinaryField(
        null=True,
        blank=True,
        help_text="The first page's layout signature (duplicates.engine.layout); null until the "
        "thumbnail was read with this version.",
    )

    sync_error = models.TextField(blank=True)
    first_synced_at = models.DateTimeField(default=timezone.now)
    last_synced_at = models.DateTimeField(default=timezone.now)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-paperless_id"]
        # Only indexes a query uses: each one is upkeep on every page the sync writes. Title,
        # checksum and text fingerprint are searched with icontains/iexact (no index helps) or
        # read whole by the analysis; their random keys made a 100k sync's writes twice as slow.
        indexes = [
            models.Index(fields=["dhash"], name="doc_dhash"),
            models.Index(fields=["phash"], name="doc_phash"),
            models.Index(fields=["modified"], name="doc_modified"),
            models.Index(fields=["created"], name="doc_created"),
            models.Index(
                fields=["thumbnail_needed"],
                name="doc_thumbnail_needed",
                condition=Q(thumbnail_needed=True),
            ),
            models.Index(
                fields=["needs_analysis"],
                name="doc_needs_analysis",
                condition=Q(needs_analysis=True),
            ),
            models.Index(
                fields=["root_paperless_id"],
                name="doc_version_root",
                condition=Q(root_paperless_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.paperless_id} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("document-detail", kwargs={"paperless_id": self.paperless_id})

    def get_thumbnail_url(self) -> str:
        return reverse("document-thumbnail", kwargs={"paperless_id": self.paperless_id})

    @property
    def dhash_hex(self) -> str:
        return bytes(self.dhash).hex() if self.dhash is not None else ""

    @property
    def phash_hex(self) -> str:
        return f"{self.phash & 0xFFFFFFFFFFFFFFFF:016x}" if self.phash is not None else ""

    @property
    def version_family(self) -> int:
        """The Paperless id of the root document: the same for a document and its versions."""
        return self.root_paperless_id or self.paperless_id

    @property
    def text(self) -> str:
        try:
            return self.content.text
        except DocumentContent.DoesNotExist:
            return ""


class DocumentContent(models.Model):
    """The full OCR text, apart from ``Document`` so lists never load megabytes of text."""

    document = models.OneToOneField(
        Document, on_delete=models.CASCADE, primary_key=True, related_name="content"
    )
    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Text of {self.document_id}"


class SyncStateManager(models.Manager["SyncState"]):
    def get_solo(self) -> SyncState:
        state, _ = self.get_or_create(pk=1)
        return state


class SyncState(models.Model):
    """Where the mirror stands: the last successful sync, and the cursor of an unfinished one.

    The cursor is written in the same transaction as the page it follows, so a sync killed at any
    moment resumes after the last committed page: nothing twice, nothing missed.
    """

    last_success_started_at = models.DateTimeField(null=True, blank=True)
    last_success_finished_at = models.DateTimeField(null=True, blank=True)
    last_full_started_at = models.DateTimeField(null=True, blank=True)
    last_job_id = models.BigIntegerField(null=True, blank=True)
    last_counts = models.JSONField(default=dict, blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    api_version = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The API version the server spoke at the last contact."
    )

    objects = SyncStateManager()

    class Meta:
        verbose_name = "sync state"

    def __str__(self) -> str:
        return "Sync state"

    def save_cursor(self, cursor: dict[str, Any]) -> None:
        self.cursor = cursor
        SyncState.objects.filter(pk=self.pk).update(cursor=cursor)

    @property
    def has_versions(self) -> bool | None:
        """Whether the server keeps document versions (Paperless 3, API 10); None: not known
        yet (no sync or webhook has talked to it)."""
        return None if self.api_version is None else self.api_version >= 10

    @classmethod
    def record_api_version(cls, api_version: int) -> None:
        SyncState.objects.get_solo()
        SyncState.objects.filter(pk=1).exclude(api_version=api_version).update(
            api_version=api_version
        )
