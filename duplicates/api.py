"""``/api/analysis`` (start a run), ``/api/groups`` (the list with the page's filters, cursor
paging), ``/api/groups/{id}`` (one group), ``/api/groups/export`` (JSON / CSV) and ``/api/stats``
(the dashboard's figures).

Cursor paging of ``GET /api/groups``: the answer is ``{"items": [...], "count": N,
"next_cursor": "..."}``. Pass ``next_cursor`` back as ``cursor`` (with the same filters and
``sort``) for the next slice; it is ``null`` on the last one. Cursors are opaque (they hold the
last item's sort value and id), stable while groups change, and only valid for the sort they came
from (422 ``invalid_cursor`` otherwise).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest, StreamingHttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import create_model

from dedupe_project.access import READ, RUN_JOBS, access
from dedupe_project.api import ApiError, ErrorOut, Id, InputSchema, QuerySchema
from dedupe_project.models import Configuration
from duplicates.analysis import AnalysisAlreadyRunning, start_analysis
from duplicates.engine import FACTORS
from duplicates.export import CONTENT_TYPES, FORMATS, stream_chunks
from duplicates.filters import (
    MAX_ID,
    MAX_PAGE_SIZE,
    SORTS,
    CursorError,
    GroupRow,
    check_scoring,
    load_groups,
    parse_group_filters,
    select_groups,
)
from duplicates.models import DuplicateGroup, PairEdge
from duplicates.stats import cached_dashboard_stats
from processing.api import JobOut

analysis_router = Router()
groups_router = Router()
stats_router = Router()


class AnalysisIn(InputSchema):
    full: bool = False


class MemberOut(Schema):
    paperless_id: int
    title: str
    is_primary: bool
    confidence: float | None = Field(description="Confidence to the primary (null for it).")
    factors: dict[str, float | None] = Field(
        description="The stored factors of this document's pair with the primary."
    )
    correspondent: str | None
    document_type: str | None
    tags: list[str] = Field(description="Tag names.")
    created: date | None
    original_size: int | None
    page_count: int | None
    thumbnail_url: str
    url: str


class GroupOut(Schema):
    id: int
    status: str
    confidence: float = Field(
        description="The mean of the members' confidences to the primary, under this request's "
        "factor switches (the stored one when there are none)."
    )
    stored_confidence: float
    member_count: int
    primary_paperless_id: int | None
    primary_chosen: bool
    space_to_free: int = Field(description="Bytes of the non-primary members' original files.")
    factors: dict[str, float | None] = Field(
        description="Per factor, the weakest member's value (the highest count for a count such as "
        "'words'): the group's breakdown."
    )
    members: list[MemberOut]


class GroupPageOut(Schema):
    items: list[GroupOut]
    count: int = Field(description="Groups matching the filters, on every page.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next slice; null on the last one."
    )


class PairOut(Schema):
    a: int = Field(description="Paperless id.")
    b: int = Field(description="Paperless id.")
    confidence: float
    factors: dict[str, float | None]


class GroupDetailOut(GroupOut):
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime | None
    pairs: list[PairOut] = Field(description="Every stored pair between the members.")


class HistogramBinOut(Schema):
    low: float
    high: float
    count: int


class StatsOut(Schema):
    documents: int
    groups: int
    groups_open: int = Field(description="New and reviewed groups.")
    groups_by_status: dict[str, int]
    documents_in_open_groups: int
    removable_documents: int = Field(
        description="Non-primary members of open groups: what resolving them all would remove."
    )
    removable_bytes: int
    last_sync_at: datetime | None
    last_analysis_at: datetime | None
    last_full_analysis_at: datetime | None
    last_analysis_job_id: int | None
    last_analysis_job_status: str | None
    histogram: list[HistogramBinOut] = Field(description="Open groups per 0.05 of confidence.")


_FACTOR_LIST = ", ".join(FACTORS)
StatusName = Literal[("open", *DuplicateGroup.Status.values)]  # type: ignore[valid-type]
FactorName = Literal[tuple(FACTORS)]  # type: ignore[valid-type]
SortName = Literal[tuple(p + s for s in SORTS for p in ("", "-"))]  # type: ignore[valid-type]
FilterId = Annotated[int, Field(ge=1, le=MAX_ID)]
# What parse_size reads, in ASCII only so every regex engine agrees (empty: no bound).
SIZE_PATTERN = r"^( *[0-9]+(\.[0-9]+)? *[kKmMgGtT]?[iI]?[bB]? *)?$"
GroupQuery = create_model(
    "GroupQuery",
    __base__=QuerySchema,
    status=(
        list[StatusName] | None,
        Field(None, description="new, reviewed, resolved, not_duplicate or open; repeatable."),
    ),
    confidence_min=(float | None, Field(None, ge=0, le=1)),
    confidence_max=(float | None, Field(None, ge=0, le=1)),
    tag=(FilterId | None, Field(None, description="Local tag id (see /api/documents).")),
    correspondent=(FilterId | None, Field(None, description="Local correspondent id.")),
    document_type=(FilterId | None, Field(None, description="Local document type id.")),
    size_min=(
        str | None,
        Field(
            None,
            pattern=SIZE_PATTERN,
            description="A member's size: bytes or '200 KB' (1 KB = 1024 bytes).",
        ),
    ),
    size_max=(
        str | None,
        Field(None, pattern=SIZE_PATTERN, description="A member's size: bytes or '5 MB'."),
    ),
    created_from=(date | None, Field(None, description="A member's created date.")),
    created_to=(date | None, Field(None)),
    off=(
        list[FactorName] | None,
        Field(None, description=f"Switch factors off for this request: {_FACTOR_LIST}."),
    ),
    on=(
        list[FactorName] | None,
        Field(None, description="Switch factors that are off in settings on."),
    ),
    sort=(
        SortName,
        Field("-confidence", description="confidence, members, size or date; '-' descending."),
    ),
    cursor=(str | None, Field(None, description="`next_cursor` of the previous answer.")),
    limit=(int, Field(50, ge=1, le=MAX_PAGE_SIZE)),
    **{
        f"min_{name}": (
            float | None,
            Field(None, ge=0, le=1, description=f"Every member's pair scores >= this on {name}."),
        )
        for name in FACTORS
    },
)


def _invalid(errors: dict[str, list[str]]) -> ApiError:
    """Each filter has its schema's type and range; these are the rules beyond it (a lower bound
    above the upper one, a factor both off and on, no content factor left on)."""
    return ApiError(
        status=422, code="invalid_filters", detail="These filters cannot be used together.",
        field_errors=errors,
    )  # fmt: skip


def group_payload(row: GroupRow) -> dict[str, Any]:
    group = row.group
    primary = next((m for m in row.members if m.is_primary), None)
    return {
        "id": group.pk,
        "status": group.status,
        "confidence": row.confidence,
        "stored_confidence": row.stored_confidence,
        "member_count": len(row.members),
        "primary_paperless_id": primary.document.paperless_id if primary else None,
        "primary_chosen": group.primary_chosen,
        "space_to_free": row.space_to_free,
        "factors": {bar.name: bar.value for bar in row.breakdown},
        "members": [
            {
                "paperless_id": m.document.paperless_id,
                "title": m.document.title,
                "is_primary": m.is_primary,
                "confidence": m.confidence,
                "factors": {k: v for k, v in m.factors.items() if k in FACTORS},
                "correspondent": m.correspondent,
                "document_type": m.document_type,
                "tags": m.tag_names,
                "created": m.document.created,
                "original_size": m.document.original_size,
                "page_count": m.document.page_count,
                "thumbnail_url": m.thumbnail_url,
                "url": m.document_url,
            }
            for m in row.members
        ],
    }


@analysis_router.post("", response={202: JobOut, 409: ErrorOut}, summary="Start an analysis")
@access(RUN_JOBS)
def start(request: HttpRequest, payload: AnalysisIn | None = None) -> Status:
    """Incremental (new and changed documents) unless ``full``."""
    try:
        job = start_analysis(full=bool(payload and payload.full), user=request.user)
    except AnalysisAlreadyRunning as exc:
        raise ApiError(status=409, code="analysis_running", detail=str(exc)) from exc
    return Status(202, job)


@groups_router.get(
    "", response={200: GroupPageOut, 422: ErrorOut}, summary="Duplicate groups, filtered"
)
@access(READ)
def list_groups(request: HttpRequest, query: Query[GroupQuery]) -> Any:  # type: ignore[valid-type]
    """The groups page's filters, sorting and factor switches (same parameter names), in slices
    of ``limit`` (1 to 500) after ``cursor``."""
    saved = Configuration.objects.get_solo().scoring_config()
    filters, errors = parse_group_filters(request.GET)
    errors.update(check_scoring(filters, saved))
    if errors:
        raise _invalid(errors)
    selection = select_groups(filters, saved=saved)
    try:
        pks, next_cursor = selection.after(query.cursor, limit=query.limit)
    except CursorError as exc:
        raise ApiError(
            status=422, code="invalid_cursor", detail=str(exc), field_errors={"cursor": [str(exc)]}
        ) from exc
    rows = load_groups(pks, scoring=selection.scoring)
    return {
        "items": [group_payload(row) for row in rows],
        "count": selection.count(),
        "next_cursor": next_cursor,
    }


@groups_router.get(
    "/export",
    response={200: None, 422: ErrorOut},
    summary="Every group as JSON or CSV",
    openapi_extra={
        "responses": {
            200: {
                "description": "The groups (an attachment)",
                "content": {
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
@access(READ)
def export(request: HttpRequest, format: Literal[FORMATS] = "json") -> Any:  # type: ignore[valid-type]
    return export_response(format=format)


@groups_router.get(
    "/{int:group_id}", response={200: GroupDetailOut, 404: ErrorOut}, summary="One group"
)
@access(READ)
def group_detail(request: HttpRequest, group_id: Id) -> Any:
    """Members with names, tags and their pair with the primary, and every stored pair between
    the members (at most 500)."""
    scoring = Configuration.objects.get_solo().scoring_config()
    rows = load_groups([group_id], scoring=scoring)
    if not rows:
        raise Http404(f"No duplicate group {group_id}.")
    row = rows[0]
    group = row.group
    ids = {m.document.pk: m.document.paperless_id for m in row.members}
    edges = PairEdge.objects.filter(a_id__in=list(ids), b_id__in=list(ids)).values_list(
        "a_id", "b_id", "confidence", "factors"
    )[:500]
    return {
        **group_payload(row),
        "created_at": group.created_at,
        "updated_at": group.updated_at,
        "status_changed_at": group.status_changed_at,
        "pairs": [
            {
                "a": ids[a],
                "b": ids[b],
                "confidence": score,
                "factors": {k: v for k, v in (factors or {}).items() if k in FACTORS},
            }
            for a, b, score, factors in edges
        ],
    }


@stats_router.get("", response=StatsOut, summary="The dashboard's figures")
@access(READ)
def stats(request: HttpRequest) -> Any:
    data = cached_dashboard_stats()
    job = data.pop("last_analysis_job")
    data["last_analysis_job_id"] = job.pk if job else None
    data["last_analysis_job_status"] = job.status if job else None
    data["histogram"] = [
        {"low": b.low, "high": b.high, "count": b.count} for b in data["histogram"]
    ]
    return data


def export_response(*, format: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        stream_chunks(format=format), content_type=CONTENT_TYPES[format]
    )
    response["Content-Disposition"] = f'attachment; filename="duplicate-groups.{format}"'
    return response
