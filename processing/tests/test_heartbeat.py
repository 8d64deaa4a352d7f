"""Dead workers are noticed within a minute, a person can mark a job whose heartbeat stopped as
interrupted and resume it, and a worker that lost its job stops instead of writing over it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from documents.sync import SyncAlreadyRunning, start_sync
from processing import jobs
from processing.models import Job

pytestmark = pytest.mark.django_db

SEEN: list[str] = []


@jobs.job_kind("test-loop-until-lost", queue="maintenance")
def _loop(ctx: jobs.JobContext) -> dict:
    """Works in small steps, checking for a cancel; the test takes the job away at step 3."""
    for step in range(50):
        if step == 3:
            Job.objects.filter(pk=ctx.job.pk).update(worker="another:2:2")
        SEEN.append(f"step {step}")
        ctx.check_cancelled()
        time.sleep(0.01)
    return {"done": True}


def test_a_dead_worker_is_noticed_within_a_minute_not_five():
    assert settings.JOB_HEARTBEAT_SECONDS <= 15
    assert 30 <= settings.JOB_STALE_AFTER_SECONDS <= 60
    now = timezone.now()
    job = Job.objects.create(
        kind=Job.Kind.SYNC, status=Job.Status.RUNNING, worker="gone:1:1",
        started_at=now - timedelta(minutes=5), heartbeat_at=now,
    )  # fmt: skip
    later = now + timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 1)
    assert not Job.objects.stale(now=now + timedelta(seconds=settings.JOB_HEARTBEAT_SECONDS * 2))
    assert Job.objects.mark_stale(now=later) == 1
    job.refresh_from_db()
    assert job.status == Job.Status.INTERRUPTED


def test_a_sync_can_start_a_minute_after_its_worker_died(django_capture_on_commit_callbacks):
    dead = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 5)
    Job.objects.create(
        kind=Job.Kind.SYNC, status=Job.Status.RUNNING, worker="gone:1:1",
        started_at=dead, heartbeat_at=dead,
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False):
        job = start_sync(full=False)
    assert job.status == Job.Status.QUEUED
    alive = Job.objects.create(
        kind=Job.Kind.SYNC, status=Job.Status.RUNNING, heartbeat_at=timezone.now()
    )
    with pytest.raises(SyncAlreadyRunning):
        start_sync(full=False)
    alive.delete()


@pytest.mark.django_db(transaction=True)  # the heartbeat thread writes through its own connection
def test_heartbeat_thread_touches_the_row_and_survives_a_failed_beat(monkeypatch, settings):
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    job = Job.objects.create(
        kind="test-loop-until-lost", status=Job.Status.RUNNING, worker="me:1:1"
    )
    ctx = jobs.JobContext(job)
    beats = []
    failures = iter([True, False, False, False, False, False, False, False])
    original = jobs._Heartbeat.beat

    def flaky(self):
        if next(failures, False):
            raise RuntimeError("database is locked")
        beats.append(time.monotonic())
        original(self)

    monkeypatch.setattr(jobs._Heartbeat, "beat", flaky)
    with jobs._Heartbeat(ctx):
        deadline = time.monotonic() + 5
        while len(beats) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(beats) >= 3  # it kept beating after the failure
    job.refresh_from_db()
    assert job.heartbeat_at is not None


@pytest.mark.parametrize("htmx", [False, True])
def test_a_person_marks_a_silent_job_interrupted_and_resumes_it(
    auth_client, django_capture_on_commit_callbacks, htmx
):
    silent = timezone.now() - timedelta(seconds=3 * settings.JOB_HEARTBEAT_SECONDS + 5)
    job = Job.objects.create(
        kind=Job.Kind.SYNC, status=Job.Status.RUNNING, worker="gone:1:1",
        started_at=silent, heartbeat_at=silent,
    )  # fmt: skip
    page = auth_client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'id="interrupt-form"' in page and "stopped" in page
    headers = {"HX-Request": "true"} if htmx else {}
    response = auth_client.post(reverse("job-interrupt", args=[job.pk]), headers=headers)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Job.Status.INTERRUPTED and "Marked interrupted by admin" in job.error
    with django_capture_on_commit_callbacks(execute=False):
        auth_client.post(reverse("job-resume", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_a_job_whose_worker_still_beats_cannot_be_marked_interrupted(auth_client):
    job = Job.objects.create(
        kind=Job.Kind.SYNC, status=Job.Status.RUNNING, heartbeat_at=timezone.now()
    )
    page = auth_client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'id="interrupt-form"' not in page
    auth_client.post(reverse("job-interrupt", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING
    api = auth_client.post(f"/api/jobs/{job.pk}/interrupt")
    assert api.status_code == 409 and api.json()["code"] == "still_alive"
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=1))
    api = auth_client.post(f"/api/jobs/{job.pk}/interrupt")
    assert api.status_code == 200 and api.json()["status"] == "interrupted"


def test_a_worker_that_lost_its_job_stops_and_writes_nothing(django_capture_on_commit_callbacks):
    SEEN.clear()
    with django_capture_on_commit_callbacks(execute=False):
        job = jobs.enqueue(kind="test-loop-until-lost", params={})
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert SEEN[-1] == "step 3"  # stopped at its next check
    assert job.worker == "another:2:2" and job.status == Job.Status.RUNNING  # not overwritten
    assert job.result == {}
