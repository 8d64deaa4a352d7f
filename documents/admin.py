from django.contrib import admin

from documents.models import (
    Correspondent,
    CustomField,
    Document,
    DocumentContent,
    DocumentType,
    StoragePath,
    SyncState,
    Tag,
)


@admin.register(Tag, Correspondent, DocumentType, StoragePath, CustomField)
class MirroredObjectAdmin(admin.ModelAdmin):
    list_display = ("name", "paperless_id", "updated_at")
    search_fields = ("name",)
    ordering = ("name",)


class DocumentContentInline(admin.StackedInline):
    model = DocumentContent
    can_delete = False
    extra = 0


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = (
        "paperless_id",
        "title",
        "correspondent",
        "document_type",
        "created",
        "modified",
        "page_count",
        "needs_analysis",
        "has_error",
    )
    list_filter = (
        "needs_analysis",
        "thumbnail_needed",
        "is_version",
        "mime_type",
        "document_type",
        "correspondent",
        "tags",
    )
    search_fields = ("title", "original_file_name", "original_checksum", "=paperless_id")
    list_select_related = ("correspondent", "document_type")
    raw_id_fields = ("correspondent", "document_type", "storage_path")
    filter_horizontal = ("tags",)
    date_hierarchy = "added"
    inlines = [DocumentContentInline]
    show_full_result_count = False

    @admin.display(boolean=True, description="Error")
    def has_error(self, document: Document) -> bool:
        return bool(document.sync_error)


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = ("__str__", "last_success_started_at", "last_success_finished_at", "last_job_id")
