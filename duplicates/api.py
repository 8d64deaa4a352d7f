"""``/api/analysis`` (start a run), ``/api/groups`` (a minimal list, extended by the review work)
and ``/api/groups/export`` (the JSON / CSV export)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from dedupe_project.api import ApiError, ErrorOut
from duplicates.analysis import AnalysisAlreadyRunning, start_analysis
from duplicates.export import CONTENT_TYPES, FORMATS, stream_chunks
from duplicates.models import DuplicateGroup
from processing.api import JobOut

analysis_router = Router()
groups_router = Router()


class AnalysisIn(Schema):
    full: bool = False


class MemberOut(Schema):
    paperless_id: int
    title: str
    is_primary: bool
    confidence: float | None

    @staticmethod
    def resolve_paperless_id(member: Any) -> int:
        return member.document.paperless_id

    @staticmethod
    def resolve_title(member: Any) -> str:
        return member.document.title


class GroupOut(Schema):
    id: int
    status: str
    confidence: float
    member_count: int
    primary_paperless_id: int | None
    primary_chosen: bool
    members: list[MemberOut]

    @staticmethod
    def resolve_primary_paperless_id(group: DuplicateGroup) -> int | None:
        return group.primary.paperless_id if group.primary else None

    @staticmethod
    def resolve_members(group: Any) -> list[Any]:
        return list(group.active_members)


@analysis_router.post("", response={202: JobOut, 409: ErrorOut}, summary="Start an analysis")
def start(request: HttpRequest, payload: AnalysisIn | None = None) -> Status:
    """Incremental (new and changed documents) unless ``full``."""
    try:
        job = start_analysis(full=bool(payload and payload.full), user=request.user)
    except AnalysisAlreadyRunning as exc:
        raise ApiError(status=409, code="analysis_running", detail=str(exc)) from exc
    return Status(202, job)


@groups_router.get("", response=list[GroupOut], summary="Duplicate groups, most confident first")
@paginate(LimitOffsetPagination)
def list_groups(
    request: HttpRequest, status: str | None = None, min_confidence: float | None = None
) -> Any:
    queryset = DuplicateGroup.objects.for_list().by_confidence()
    if status:
        if status not in DuplicateGroup.Status.values:
            raise ApiError(
                status=422,
                code="validation_error",
                detail="Unknown status.",
                field_errors={"status": [f"One of {', '.join(DuplicateGroup.Status.values)}."]},
            )
        queryset = queryset.with_status(status)
    if min_confidence is not None:
        queryset = queryset.filter(confidence__gte=min_confidence)
    return queryset


@groups_router.get(
    "/export", response={200: None, 422: ErrorOut}, summary="Every group as JSON or CSV"
)
def export(request: HttpRequest, format: str = "json") -> Any:
    if format not in FORMATS:
        raise ApiError(
            status=422,
            code="validation_error",
            detail="Unknown export format.",
            field_errors={"format": [f"One of {', '.join(FORMATS)}."]},
        )
    return export_response(format=format)


def export_response(*, format: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        stream_chunks(format=format), content_type=CONTENT_TYPES[format]
    )
    response["Content-Disposition"] = f'attachment; filename="duplicate-groups.{format}"'
    return response
