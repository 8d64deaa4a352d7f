from django.contrib import admin

from duplicates.models import (
    AnalysisStatus,
    DocumentSketch,
    DuplicateGroup,
    GroupMember,
    PairDecision,
    PairEdge,
)


class GroupMemberInline(admin.TabularInline):
    model = GroupMember
    extra = 0
    raw_id_fields = ["document", "removed_by"]


@admin.register(DuplicateGroup)
class DuplicateGroupAdmin(admin.ModelAdmin):
    list_display = ["pk", "status", "confidence", "member_count", "primary", "primary_chosen"]
    list_filter = ["status", "primary_chosen"]
    raw_id_fields = ["primary", "status_changed_by"]
    inlines = [GroupMemberInline]


@admin.register(PairEdge)
class PairEdgeAdmin(admin.ModelAdmin):
    list_display = ["pk", "a", "b", "confidence", "computed_at"]
    raw_id_fields = ["a", "b"]


@admin.register(PairDecision)
class PairDecisionAdmin(admin.ModelAdmin):
    list_display = ["pk", "a", "b", "decided_by", "decided_at"]
    raw_id_fields = ["a", "b", "decided_by"]


@admin.register(DocumentSketch)
class DocumentSketchAdmin(admin.ModelAdmin):
    list_display = ["document", "params_key", "computed_at"]
    raw_id_fields = ["document"]


admin.site.register(AnalysisStatus)
