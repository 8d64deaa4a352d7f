"""Kill an action job for real (SIGKILL of the worker process mid-plan) and resume it: nothing is
deleted twice, nothing is skipped, every deletion is in the audit log once."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from documents.models import Document
from duplicates.actions import confirm_plan, create_plan
from duplicates.models import AuditEntry, Plan, PlanItem
from duplicates.tests.test_actions import deletes, library, real_mode
from processing import jobs
from processing.models import Job
from tests.fixtures import kill_when


def test_a_killed_action_job_resumes_without_deleting_twice(
    paperless, transactional_db, tmp_path, admin_user
):
    real_mode()
    [entry] = library(paperless, size=6)
    fakes = entry["fakes"]
    plan = create_plan(
        action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk], user=admin_user
    )
    stalled = fakes[3]

    def stall_the_next_document(state, request):
        # The third deletion has landed: the re-read of the next document hangs, then we kill.
        paperless.delay_next(1, seconds=30, method="GET", path=f"/api/documents/{fakes[4].id}/")

    paperless.after_request(
        stall_the_next_document, method="DELETE", path=f"/api/documents/{stalled.id}/"
    )
    job = confirm_plan(plan=plan, user=admin_user)
    kill_when(
        ["shell", "-c", f"from processing import jobs; jobs.execute({job.pk})"],
        ready=lambda: plan.items.filter(
            paperless_id=stalled.id, status=PlanItem.Status.DONE
        ).exists(),
        settle=0.3,  # now waiting for the held-back re-read
        data_dir=tmp_path,
        env={"PAPERLESS_URL": paperless.url, "PAPERLESS_API_TOKEN": paperless.token},
    )
    killed = Job.objects.get(pk=job.pk)
    assert killed.status == Job.Status.RUNNING  # the dead worker could not say anything
    assert sorted(deletes(paperless)) == sorted(f.id for f in fakes[1:4])
    assert killed.checkpoint["position"] == 2

    Job.objects.mark_stale(now=timezone.now() + timedelta(hours=1))
    jobs.execute(job.pk)
    plan.refresh_from_db()
    assert Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED
    assert plan.status == Plan.Status.DONE
    ids = deletes(paperless)
    assert len(ids) == len(set(ids))  # not one document deleted twice
    assert sorted(ids) == sorted(f.id for f in fakes[1:])  # and none skipped
    assert set(paperless.state.trash) == {f.id for f in fakes[1:]}
    assert fakes[0].id in paperless.state.documents
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DELETED).count() == 5


def test_a_job_killed_after_tagging_brings_the_mirror_in_line_on_resume(
    paperless, transactional_db, tmp_path, admin_user
):
    """Killed after Paperless tagged the document and before the mirror heard of it: the
    resumed job reads the in-flight document again instead of leaving the mirror stale."""
    [entry] = library(paperless, size=3)
    fakes = entry["fakes"]
    plan = create_plan(  # dry-run mode is the default: "deleting" only tags
        action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk], user=admin_user
    )
    target = fakes[1]

    def hold_the_answer(state, request):
        # The tag is on in Paperless; the worker's next read of the document hangs, then we kill.
        paperless.delay_next(1, seconds=30, method="GET", path=f"/api/documents/{target.id}/")

    paperless.after_request(hold_the_answer, method="POST", path="/api/documents/bulk_edit/")
    job = confirm_plan(plan=plan, user=admin_user)
    kill_when(
        ["shell", "-c", f"from processing import jobs; jobs.execute({job.pk})"],
        ready=lambda: bool(paperless.requests_for(method="POST", path="/api/documents/bulk_edit/")),
        settle=0.5,
        data_dir=tmp_path,
        env={"PAPERLESS_URL": paperless.url, "PAPERLESS_API_TOKEN": paperless.token},
    )
    plan.refresh_from_db()
    tag_id = plan.tag_paperless_id
    assert tag_id in paperless.state.documents[target.id].tags
    stale = Document.objects.get(paperless_id=target.id)
    assert tag_id not in set(stale.tags.values_list("paperless_id", flat=True))

    Job.objects.mark_stale(now=timezone.now() + timedelta(hours=1))
    jobs.execute(job.pk)
    assert Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED
    fresh = Document.objects.get(paperless_id=target.id)
    assert tag_id in set(fresh.tags.values_list("paperless_id", flat=True))
    assert fresh.modified == paperless.state.documents[target.id].modified
    assert AuditEntry.objects.filter(paperless_id=target.id).count() == 1
