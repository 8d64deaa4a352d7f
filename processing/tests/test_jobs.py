from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dedupe_project.models import Configuration
from processing import jobs, scheduler
from processing.models import Job

pytestmark = pytest.mark.django_db

CALLS: list[dict] = []


@jobs.job_kind("test-steps", queue="maintenance")
def _steps(ctx: jobs.JobContext) -> dict:
    """Five steps with a checkpoint after each; fails once at the step named in params."""
    start = ctx.checkpoint_data.get("next_step", 0)
    for step in range(start, 5):
        CALLS.append({"job": ctx.job.pk, "step": step})
        if step == ctx.params.get("fail_at") and ctx.job.attempts == 1:
            raise RuntimeError(f"boom at step {step}")
        ctx.progress(done=step + 1, total=5, message=f"step {step}", force=True)
        ctx.save_checkpoint({"next_step": step + 1})
    return {"steps_run": [c["step"] for c in CALLS if c["job"] == ctx.job.pk]}


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def _enqueue(django_capture_on_commit_callbacks, **params) -> Job:
    # The on-commit send is not wanted here: each test runs the actor body itself.
    with django_capture_on_commit_callbacks(execute=False):
        return jobs.enqueue(kind="test-steps", params=params)


def test_job_runs_records_progress_and_result(django_capture_on_commit_callbacks):
    job = _enqueue(django_capture_on_commit_callbacks)
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert (job.progress_done, job.progress_total) == (5, 5)
    assert job.result == {"steps_run": [0, 1, 2, 3, 4]}
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at


def test_message_delivered_twice_runs_the_job_once(django_capture_on_commit_callbacks):
    job = _enqueue(django_capture_on_commit_callbacks)
    jobs.execute(job.pk)
    jobs.execute(job.pk)
    assert len(CALLS) == 5
    job.refresh_from_db()
    assert job.attempts == 1


def test_job_alive_on_another_worker_is_not_taken(django_capture_on_commit_callbacks):
    job = _enqueue(django_capture_on_commit_callbacks)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, worker="other:1:1", heartbeat_at=timezone.now()
    )
    jobs.execute(job.pk)
    assert CALLS == []


def test_failed_job_records_error_and_resumes_from_checkpoint(django_capture_on_commit_callbacks):
    job = _enqueue(django_capture_on_commit_callbacks, fail_at=2)
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "boom at step 2" in job.error
    assert job.checkpoint == {"next_step": 2}
    with django_capture_on_commit_callbacks(execute=False):
        assert jobs.resume(job=job)
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert [c["step"] for c in CALLS] == [0, 1, 2, 2, 3, 4]  # steps 0-1 not repeated
    assert job.attempts == 2


def test_job_of_dead_worker_is_marked_interrupted_and_can_be_taken_over(
    django_capture_on_commit_callbacks, settings
):
    job = _enqueue(django_capture_on_commit_callbacks)
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 60)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        worker="dead:1:1",
        heartbeat_at=long_ago,
        started_at=long_ago,
        checkpoint={"next_step": 3},
    )
    # A redelivered message takes over a job whose worker stopped reporting.
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert [c["step"] for c in CALLS] == [3, 4]


def test_stale_sweep_marks_dead_running_jobs_only(django_capture_on_commit_callbacks, settings):
    dead = _enqueue(django_capture_on_commit_callbacks)
    alive = _enqueue(django_capture_on_commit_callbacks)
    old = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 1)
    Job.objects.filter(pk=dead.pk).update(status=Job.Status.RUNNING, heartbeat_at=old)
    Job.objects.filter(pk=alive.pk).update(status=Job.Status.RUNNING, heartbeat_at=timezone.now())
    assert Job.objects.mark_stale() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == Job.Status.INTERRUPTED and "stopped responding" in dead.error
    assert alive.status == Job.Status.RUNNING


def test_cancel_queued_job(django_capture_on_commit_callbacks):
    job = _enqueue(django_capture_on_commit_callbacks)
    jobs.cancel(job=job)
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert CALLS == []


def test_scheduler_tick_starts_sync_when_due_and_not_twice(
    django_capture_on_commit_callbacks, monkeypatch
):
    ran = []
    monkeypatch.setitem(
        jobs._REGISTRY, "sync", jobs.JobKind(kind="sync", queue="sync", func=ran.append)
    )
    with django_capture_on_commit_callbacks(execute=False):
        unconfigured = scheduler.tick()
    assert unconfigured["sync_job"] is None  # no Paperless yet: nothing to sync
    Configuration.objects.get_solo().apply(
        {"paperless_url": "http://paperless.lan:8000", "paperless_token": "t" * 40}
    )
    with django_capture_on_commit_callbacks(execute=False):
        first = scheduler.tick()
        second = scheduler.tick()
    assert first["sync_job"] is not None
    assert second["sync_job"] is None  # one is queued already
    assert Job.objects.filter(kind="sync").count() == 1


def test_history_page_full_and_htmx(auth_client, django_capture_on_commit_callbacks):
    job = _enqueue(django_capture_on_commit_callbacks)
    jobs.execute(job.pk)
    full = auth_client.get(reverse("history"))
    assert full.status_code == 200
    assert b"<html" in full.content and f"#{job.pk}".encode() in full.content
    partial = auth_client.get(reverse("history"), {"status": "failed"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b'id="job-table"' in partial.content
    assert f"#{job.pk}".encode() not in partial.content


def test_job_progress_fragment_for_polling(auth_client, django_capture_on_commit_callbacks):
    job = _enqueue(django_capture_on_commit_callbacks)
    response = auth_client.get(reverse("job-detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert f'id="job-{job.pk}-progress"'.encode() in response.content
    assert b"data-poll-url" in response.content  # still queued: keep polling
    jobs.execute(job.pk)
    response = auth_client.get(reverse("job-detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert b"data-poll-url" not in response.content  # finished: stop polling


def test_jobs_api_lists_and_resumes(auth_client, django_capture_on_commit_callbacks):
    job = _enqueue(django_capture_on_commit_callbacks, fail_at=0)
    jobs.execute(job.pk)
    body = auth_client.get("/api/jobs").json()
    assert body["count"] == 1 and body["items"][0]["status"] == "failed"
    with django_capture_on_commit_callbacks(execute=False):
        assert auth_client.post(f"/api/jobs/{job.pk}/resume").status_code == 202
        conflict = auth_client.post(f"/api/jobs/{job.pk}/resume")
    assert conflict.status_code == 409 and conflict.json()["code"] == "not_resumable"


def test_history_pager_keeps_filters_in_well_formed_links(auth_client):
    Job.objects.bulk_create(Job(kind="diagnostics", status=Job.Status.SUCCEEDED) for _ in range(60))
    page = auth_client.get(reverse("history"), {"status": "succeeded"}).content.decode()
    assert 'href="?status=succeeded&amp;page=2"' in page
    assert "??" not in page
    second = auth_client.get(reverse("history"), {"status": "succeeded", "page": 2})
    assert "Page 2 of 2" in second.content.decode()


@jobs.job_kind("test-cancel-loop", queue="maintenance")
def _cancel_loop(ctx: jobs.JobContext) -> dict:
    """Checks for a cancel in a tight loop; asks for its own cancel at iteration 200."""
    for step in range(100_000):
        if step == 200:
            Job.objects.filter(pk=ctx.job.pk).update(cancel_requested=True)
            CALLS.append({"job": ctx.job.pk, "asked_at": time.monotonic()})
        ctx.check_cancelled(at_most_every=0.5)
        time.sleep(0.001)
    return {}


def test_a_running_job_stops_soon_after_a_cancel_with_few_queries(
    django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with django_capture_on_commit_callbacks(execute=False):
        job = jobs.enqueue(kind="test-cancel-loop", params={})
    with django_assert_max_num_queries(30):  # the loop's checks: about two a second, not 1000
        jobs.execute(job.pk)
    stopped = time.monotonic()
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert stopped - CALLS[0]["asked_at"] < 1.0
