from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from dedupe_project.access import READ, RUN_JOBS, access
from processing import jobs
from processing.models import Job
from processing.summary import duration_words, summarise


@access(READ)
@require_http_methods(["GET"])
def history(request: HttpRequest) -> HttpResponse:
    Job.objects.mark_stale()
    queryset = Job.objects.select_related("created_by")
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    if kind in Job.Kind.values:
        queryset = queryset.filter(kind=kind)
    if status in Job.Status.values:
        queryset = queryset.filter(status=status)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "kinds": Job.Kind.choices,
        "statuses": Job.Status.choices,
        "kind": kind,
        "status": status,
    }
    template = "processing/history.html#job-table" if request.htmx else "processing/history.html"
    return render(request, template, context)


@access(READ)
@require_http_methods(["GET"])
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job.objects.select_related("created_by"), pk=job_id)
    if request.htmx and request.GET.get("card") != "1":
        return render(request, "processing/partials/job_progress.html", {"job": job})
    plan_id = job.params.get("plan") if job.kind == Job.Kind.ACTION else None
    context = {
        "job": job,
        "summary": summarise(job),
        "duration": duration_words(job.duration),
        "plan_id": plan_id if isinstance(plan_id, int) else None,
    }
    if request.htmx:
        return render(request, "processing/job_detail.html#card", context)
    return render(request, "processing/job_detail.html", context)


@access(RUN_JOBS)
@require_http_methods(["POST"])
def start_diagnostics(request: HttpRequest) -> HttpResponse:
    """One run at a time: while one is queued or running, this shows that one."""
    from processing.diagnostics import DiagnosticsAlreadyRunning, start_diagnostics

    try:
        job = start_diagnostics(user=request.user)
    except DiagnosticsAlreadyRunning as exc:
        messages.info(request, str(exc))
        job = exc.job
    return redirect("job-detail", job_id=job.pk)


@access(RUN_JOBS)
@require_http_methods(["POST"])
def resume_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=job_id)
    jobs.resume(job=job)
    return redirect("job-detail", job_id=job.pk)


@access(RUN_JOBS)
@require_http_methods(["POST"])
def interrupt_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """Mark a running job whose heartbeat stopped as interrupted, so it can be resumed now."""
    job = get_object_or_404(Job, pk=job_id)
    if Job.objects.interrupt_silent(job_id=job.pk, user=request.user):
        messages.success(request, "Marked interrupted: resume it to continue from its checkpoint.")
    else:
        messages.error(
            request,
            "Not marked: the job is not running, or its worker is still sending heartbeats.",
        )
    return redirect("job-detail", job_id=job.pk)


@access(RUN_JOBS)
@require_http_methods(["POST"])
def cancel_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=job_id)
    jobs.cancel(job=job)
    return redirect("job-detail", job_id=job.pk)
