"""Resolving a duplicate as a version of the kept document (Paperless 3), end to end against the
fake: the file sent with a label, the task waited for, the version checked, then the duplicate
trashed; the same re-checks, checkpoints, audit and dry run as a deletion; refused where the
server has no versions."""

from __future__ import annotations

import pytest

from documents.models import Document, SyncState
from duplicates import actions
from duplicates.actions import PlanError, create_plan
from duplicates.models import AuditEntry, Plan, PlanItem
from duplicates.tests.test_actions import changed, deletes, library, real_mode, run
from processing.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def paperless3(paperless):
    """The fake Paperless 3 (API 10), known as such (a sync recorded it)."""
    SyncState.record_api_version(10)
    return paperless


def version_posts(paperless) -> list:
    return [r for r in paperless.requests_for(method="POST") if r.path.endswith("/update_version/")]


def test_a_duplicate_becomes_a_version_of_the_kept_document_then_goes_to_the_trash(
    paperless3, admin_user
):
    (entry,) = library(paperless3, size=2)
    kept, duplicate = entry["fakes"]
    real_mode()
    plan = create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    job = run(plan, user=admin_user)
    assert job.status == Job.Status.SUCCEEDED, job.error
    (item,) = plan.items.all()
    assert item.status == PlanItem.Status.DONE, item.reason
    # Paperless: the kept document has a new version with the duplicate's file, labelled ...
    (version,) = paperless3.state.versions_of(kept)
    assert version.checksum == duplicate.checksum
    assert version.version_label == f"Duplicate #{duplicate.id}: {duplicate.title}"
    # ... and only then was the duplicate moved to the trash
    assert duplicate.id in paperless3.state.trash and deletes(paperless3) == [duplicate.id]
    order = [r.path for r in paperless3.requests if r.method in ("POST", "DELETE")]
    assert order.index(f"/api/documents/{kept.id}/update_version/") < order.index(
        f"/api/documents/{duplicate.id}/"
    )
    (download,) = [r for r in paperless3.requests if r.path.endswith(f"/{duplicate.id}/download/")]
    assert download.param("original") == "true"
    (post,) = version_posts(paperless3)
    assert duplicate.original in post.body  # the file itself was sent
    # audit, mirror
    entry_ = AuditEntry.objects.get(action=AuditEntry.Action.VERSIONED)
    assert (entry_.paperless_id, entry_.kept_paperless_id) == (duplicate.id, kept.id)
    assert entry_.detail["version_id"] == version.id and entry_.detail["trash"] is True
    assert entry_.username == "admin"
    assert not Document.objects.filter(paperless_id=duplicate.id).exists()
    assert Document.objects.get(paperless_id=kept.id).versions == [
        {"id": version.id, "label": version.version_label, "checksum": version.checksum}
    ]
    assert Job.objects.filter(kind=Job.Kind.ANALYSIS, status=Job.Status.QUEUED).exists()


def test_a_dry_run_only_tags(paperless3, admin_user):
    (entry,) = library(paperless3, size=2)
    plan = create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    assert plan.dry_run  # the default setting
    run(plan, user=admin_user)
    duplicate = entry["fakes"][1]
    assert not version_posts(paperless3) and not deletes(paperless3)
    assert paperless3.state.documents[duplicate.id].tags  # the dry-run tag
    assert AuditEntry.objects.get().action == AuditEntry.Action.DRY_RUN_TAGGED
    assert plan.can_undo


def test_a_failed_consume_task_leaves_the_duplicate_where_it_is(paperless3, admin_user):
    (entry,) = library(paperless3, size=2)
    real_mode()
    paperless3.fail_next_consume = "scan.pdf: Error occurred while consuming document scan.pdf"
    plan = create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    run(plan, user=admin_user)
    (item,) = plan.items.all()
    assert item.status == PlanItem.Status.FAILED
    assert "could not add the version" in item.reason and "Error occurred" in item.reason
    assert not deletes(paperless3)
    assert Document.objects.filter(paperless_id=entry["fakes"][1].id).exists()
    assert not AuditEntry.objects.exists()


def test_it_is_rechecked_like_a_deletion(paperless3, admin_user):
    (entry,) = library(paperless3, size=3)
    real_mode()
    plan = create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    changed(paperless3, entry["fakes"][1], title="Edited after review")
    run(plan, user=admin_user)
    first, second = plan.items.order_by("position")
    assert first.status == PlanItem.Status.SKIPPED and "changed in Paperless" in first.reason
    assert second.status == PlanItem.Status.DONE
    assert [v.checksum for v in paperless3.state.versions_of(entry["fakes"][0])] == [
        entry["fakes"][2].checksum
    ]


def test_nothing_happens_when_the_kept_document_is_gone(paperless3, admin_user):
    (entry,) = library(paperless3, size=2)
    real_mode()
    plan = create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    paperless3.state.trash_document(entry["fakes"][0].id)
    run(plan, user=admin_user)
    (item,) = plan.items.all()
    assert item.status == PlanItem.Status.SKIPPED and "kept document" in item.reason
    assert not version_posts(paperless3) and not deletes(paperless3)


def test_a_crash_after_the_version_was_sent_does_not_send_it_twice(
    paperless3, admin_user, monkeypatch
):
    (entry,) = library(paperless3, size=2)
    kept, duplicate = entry["fakes"]
    real_mode()
    plan = create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    from documents.paperless import PaperlessClient, Unreachable

    def down(self, document_id):
        raise Unreachable("Paperless went away")

    monkeypatch.setattr(PaperlessClient, "delete_document", down)
    job = run(plan, user=admin_user)
    assert job.status == Job.Status.FAILED
    (item,) = plan.items.all()
    assert (item.status, item.stage) == (PlanItem.Status.PENDING, PlanItem.Stage.ACTING)
    monkeypatch.undo()
    from processing import jobs

    assert jobs.resume(job=job)
    jobs.execute(job.pk)
    item.refresh_from_db()
    assert item.status == PlanItem.Status.DONE
    assert len(version_posts(paperless3)) == 1
    assert len(paperless3.state.versions_of(kept)) == 1
    assert duplicate.id in paperless3.state.trash


def test_a_crash_before_the_version_was_confirmed_looks_for_it_instead_of_resending(
    paperless3, admin_user
):
    (entry,) = library(paperless3, size=2)
    kept, duplicate = entry["fakes"]
    real_mode()
    plan = create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    # The worker sent the version, then died before recording the task id.
    paperless3.state.add_version(kept, data=duplicate.original, label="x", filename="x.pdf")
    item = plan.items.get()
    item.stage = PlanItem.Stage.VERSIONING
    item.data = {"version_checksum": duplicate.checksum}
    item.save()
    run(plan, user=admin_user)
    item.refresh_from_db()
    assert item.status == PlanItem.Status.DONE
    assert not version_posts(paperless3)
    assert len(paperless3.state.versions_of(kept)) == 1


def test_one_document_from_the_group_page(paperless3, admin_user):
    (entry,) = library(paperless3, size=3)
    real_mode()
    target = entry["fakes"][2]
    with pytest.raises(PlanError, match="Choose the group"):
        create_plan(action=Plan.Action.KEEP_AS_VERSION, document_id=target.id)
    plan = create_plan(
        action=Plan.Action.KEEP_AS_VERSION, document_id=target.id, group_id=entry["group"].pk
    )
    run(plan, user=admin_user)
    assert deletes(paperless3) == [target.id]
    assert [v.checksum for v in paperless3.state.versions_of(entry["fakes"][0])] == [
        target.checksum
    ]


def test_refused_where_the_server_has_no_versions(paperless, admin_user):
    (entry,) = library(paperless, size=2)
    SyncState.record_api_version(9)
    with pytest.raises(PlanError, match="no document versions") as refused:
        create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    assert refused.value.code == "versions_unsupported"


def test_not_known_yet_asks_the_server(paperless, admin_user):
    (entry,) = library(paperless, size=2)
    paperless.api_version = 9
    paperless.requests.clear()
    with pytest.raises(PlanError, match="API 9"):
        create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    assert paperless.requests_for(method="GET", path="/api/documents/")  # it asked


def test_a_server_that_lost_its_versions_since_the_plan_skips_the_documents(paperless3, admin_user):
    (entry,) = library(paperless3, size=2)
    real_mode()
    plan = create_plan(action=Plan.Action.KEEP_AS_VERSION, group_ids=[entry["group"].pk])
    paperless3.api_version = 9  # downgraded behind our back
    run(plan, user=admin_user)
    (item,) = plan.items.all()
    assert item.status == PlanItem.Status.SKIPPED and "no document versions" in item.reason
    assert not deletes(paperless3)


def test_the_api_makes_and_refuses_it(auth_client, paperless, admin_user):
    (entry,) = library(paperless, size=2)
    SyncState.record_api_version(10)
    made = auth_client.post(
        "/api/plans",
        {"action": "keep_as_version", "groups": [entry["group"].pk]},
        content_type="application/json",
    )
    assert made.status_code in (200, 201), made.content
    SyncState.record_api_version(9)
    refused = auth_client.post(
        "/api/plans",
        {"action": "keep_as_version", "groups": [entry["group"].pk]},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "versions_unsupported"


def test_the_pages_offer_it_only_with_versions(auth_client, paperless):
    (entry,) = library(paperless, size=2)
    group_url = f"/duplicates/{entry['group'].pk}/"
    SyncState.record_api_version(10)
    page = auth_client.get("/duplicates/").content.decode()
    assert 'value="keep_as_version" hx-post' in page
    assert "Keep as a version of the primary" in auth_client.get(group_url).content.decode()
    SyncState.record_api_version(9)
    page = auth_client.get("/duplicates/").content.decode()
    assert 'value="keep_as_version" disabled title="Your Paperless speaks API 9' in page
    detail = auth_client.get(group_url).content.decode()
    assert 'disabled title="Your Paperless speaks API 9' in detail


def test_the_confirmation_says_what_will_happen(auth_client, paperless3):
    (entry,) = library(paperless3, size=2)
    real_mode()
    response = auth_client.post(
        "/duplicates/plans/new/", {"action": "keep_as_version", "pk": [entry["group"].pk]}
    )
    plan = Plan.objects.get()
    assert response.status_code == 302
    page = auth_client.get(f"/duplicates/plans/{plan.pk}/").content.decode()
    assert "new version" in page and "Keep 1 document as version" in page
    assert actions.ACTION_HELP[Plan.Action.KEEP_AS_VERSION] in page
