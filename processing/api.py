"""``/api/jobs``: the processing history, one job, and starting / resuming / cancelling jobs.

No ``from __future__ import annotations`` here: ``@paginate`` makes django-ninja read the
annotations in its own module, where our names are unknown."""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from dedupe_project.access import READ, RUN_JOBS, access
from dedupe_project.api import ApiError, ErrorOut, Id, Pagination
from processing import jobs
from processing.models import Job

router = Router()

JobKindName = Literal[tuple(Job.Kind.values)]
JobStatusName = Literal[tuple(Job.Status.values)]


class JobOut(Schema):
    id: int
    kind: str
    status: str
    progress_done: int
    progress_total: int | None
    percent: int | None
    message: str
    counts: dict[str, Any]
    result: dict[str, Any]
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    attempts: int
    created_by: str | None
    heartbeat_at: datetime | None
    heartbeat_stopped: bool

    @staticmethod
    def resolve_duration_seconds(job: Job) -> float | None:
        return job.duration.total_seconds() if job.duration else None

    @staticmethod
    def resolve_created_by(job: Job) -> str | None:
        return job.created_by.get_username() if job.created_by else None


@router.get("", response=list[JobOut], summary="Processing history, newest first")
@paginate(Pagination)
@access(READ)
def list_jobs(
    request: HttpRequest, kind: JobKindName | None = None, status: JobStatusName | None = None
) -> Any:
    Job.objects.mark_stale()
    queryset = Job.objects.select_related("created_by")
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


@router.get("/{int:job_id}", response={200: JobOut, 404: ErrorOut})
@access(READ)
def get_job(request: HttpRequest, job_id: Id) -> Job:
    return get_object_or_404(Job.objects.select_related("created_by"), pk=job_id)


@router.post(
    "/diagnostics",
    response={202: JobOut, 409: ErrorOut},
    summary="Check every dependency on a worker (one run at a time)",
)
@access(RUN_JOBS)
def start_diagnostics(request: HttpRequest) -> Status:
    """409 ``diagnostics_running`` while one is queued or running."""
    from processing.diagnostics import DiagnosticsAlreadyRunning, start_diagnostics

    try:
        return Status(202, start_diagnostics(user=request.user))
    except DiagnosticsAlreadyRunning as exc:
        raise ApiError(status=409, code="diagnostics_running", detail=str(exc)) from exc


@router.post("/{int:job_id}/resume", response={202: JobOut, 404: ErrorOut, 409: ErrorOut})
@access(RUN_JOBS)
def resume_job(request: HttpRequest, job_id: Id) -> Status:
    job = get_object_or_404(Job, pk=job_id)
    if not jobs.resume(job=job):
        raise ApiError(
            status=409, code="not_resumable", detail="Only interrupted or failed jobs can resume."
        )
    return Status(202, job)


@router.post(
    "/{int:job_id}/interrupt",
    response={200: JobOut, 404: ErrorOut, 409: ErrorOut},
    summary="Mark a running job whose heartbeat stopped as interrupted (then resume it)",
)
@access(RUN_JOBS)
def interrupt_job(request: HttpRequest, job_id: int) -> Job:
    job = get_object_or_404(Job, pk=job_id)
    if not Job.objects.interrupt_silent(job_id=job.pk, user=request.user):
        raise ApiError(
            status=409,
            code="still_alive",
            detail="Only a running job whose worker stopped sending heartbeats can be marked "
            "interrupted.",
        )
    job.refresh_from_db()
    return job


@router.post("/{int:job_id}/cancel", response={200: JobOut, 404: ErrorOut})
@access(RUN_JOBS)
def cancel_job(request: HttpRequest, job_id: Id) -> Job:
    job = get_object_or_404(Job, pk=job_id)
    jobs.cancel(job=job)
    return job
