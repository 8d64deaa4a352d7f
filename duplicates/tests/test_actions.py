"""Plans and their execution against the fake Paperless over real HTTP: the re-check before every
change, the trash, the kept document, dry runs and their undo, merging metadata, the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dedupe_project.models import Configuration
from documents.models import Document, Tag
from duplicates import actions
from duplicates.actions import PlanAlreadyConfirmed, PlanError, create_plan, is_own_change
from duplicates.models import AuditEntry, DuplicateGroup, GroupMember, OwnChange, Plan, PlanItem
from processing import jobs
from processing.models import Job
from tests.fake_paperless.server import FakePaperless
from tests.fake_paperless.state import FakeDocument

pytestmark = pytest.mark.django_db


# --- helpers (also used by the other action tests) ------------------------------------------------


def mirror(fake: FakeDocument) -> Document:
    """The document as our sync leaves it in the mirror (title, checksum, ``modified``)."""
    document = Document.objects.create(
        paperless_id=fake.id,
        title=fake.title,
        modified=fake.modified,
        original_checksum=fake.checksum,
    )
    document.tags.set(Tag.objects.filter(paperless_id__in=fake.tags))
    return document


def make_group(documents: Sequence[Document], *, primary: Document | None = None) -> DuplicateGroup:
    primary = primary or documents[0]
    group = DuplicateGroup.objects.create(
        confidence=0.95, primary=primary, member_count=len(documents)
    )
    for document in documents:
        GroupMember.objects.create(
            group=group,
            document=document,
            is_primary=document.pk == primary.pk,
            confidence=None if document.pk == primary.pk else 0.95,
        )
    return group


def library(paperless: FakePaperless, *, groups: int = 1, size: int = 3) -> list[dict[str, Any]]:
    """``groups`` duplicate groups of ``size`` documents each, in the fake and in the mirror; the
    first document of each is the primary."""
    out = []
    for number in range(groups):
        fakes = [paperless.state.add_document(title=f"Invoice {number}-{i}") for i in range(size)]
        docs = [mirror(fake) for fake in fakes]
        out.append({"group": make_group(docs), "fakes": fakes, "docs": docs})
    return out


def real_mode() -> None:
    Configuration.objects.filter(pk=Configuration.objects.get_solo().pk).update(dry_run=False)


def run(plan: Plan, *, user: Any = None, **confirm: Any) -> Job:
    job = actions.confirm_plan(plan=plan, user=user, **confirm)
    jobs.execute(job.pk)
    job.refresh_from_db()
    plan.refresh_from_db()
    return job


def deletes(paperless: FakePaperless) -> list[int]:
    """Ids the fake received a DELETE for (in order)."""
    return [
        int(request.path.rstrip("/").rsplit("/", 1)[1])
        for request in paperless.requests_for(method="DELETE", path="/api/documents/*")
    ]


def changed(paperless: FakePaperless, fake: FakeDocument, **fields: Any) -> None:
    """Someone edits the document in Paperless (``modified`` moves on)."""
    with paperless.state.lock:
        for name, value in fields.items():
            setattr(fake, name, value)
        paperless.state.touch(fake)


# --- deleting -------------------------------------------------------------------------------------


def test_delete_skips_document_changed_since_review(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=4)
    keep, edited, b, c = entry["fakes"]
    plan = create_plan(
        action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk], user=admin_user
    )
    changed(paperless, edited, title="Edited after review")

    job = run(plan, user=admin_user)

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert sorted(deletes(paperless)) == sorted([b.id, c.id])
    assert set(paperless.state.trash) == {b.id, c.id}
    assert keep.id in paperless.state.documents and edited.id in paperless.state.documents
    item = plan.items.get(paperless_id=edited.id)
    assert item.status == PlanItem.Status.SKIPPED and "changed in Paperless" in item.reason
    assert plan.status == Plan.Status.DONE
    assert plan.counts == {"pending": 0, "done": 2, "skipped": 1, "failed": 0}


def test_delete_skips_document_whose_file_changed(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=2)
    _keep, dup = entry["fakes"]
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk])
    with paperless.state.lock:
        dup._checksum = "f" * 64  # a new file, same modified
    run(plan, user=admin_user)
    assert deletes(paperless) == []
    assert "checksum" in plan.items.get(paperless_id=dup.id).reason


def test_delete_skips_document_already_gone_and_deletes_the_rest_to_the_trash(
    paperless, admin_user
):
    real_mode()
    [entry] = library(paperless, size=3)
    _keep, gone, other = entry["fakes"]
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk])
    paperless.state.trash_document(gone.id)  # someone deleted it in Paperless meanwhile

    run(plan, user=admin_user)

    assert deletes(paperless) == [other.id]
    assert set(paperless.state.trash) == {gone.id, other.id}
    assert not paperless.requests_for(method="POST", path="/api/trash/")  # never emptied
    item = plan.items.get(paperless_id=gone.id)
    assert item.status == PlanItem.Status.SKIPPED and "gone from Paperless" in item.reason
    # The deleted one left the mirror; the skipped one stays until the sync notices.
    assert not Document.objects.filter(paperless_id=other.id).exists()
    assert Document.objects.filter(paperless_id=gone.id).exists()


def test_the_primary_is_never_deleted(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=3)
    group = entry["group"]
    keep, a, _b = entry["fakes"]
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[group.pk])
    assert keep.id not in plan.items.values_list("paperless_id", flat=True)
    # The person picks another primary after making the plan: the old plan must not delete it.
    group.choose_primary(entry["docs"][1].pk)

    run(plan, user=admin_user)

    assert deletes(paperless) == []
    assert set(plan.items.values_list("status", flat=True)) == {PlanItem.Status.SKIPPED}
    assert "primary changed" in plan.items.get(paperless_id=a.id).reason
    with pytest.raises(PlanError, match="primary"):
        create_plan(action=Plan.Action.DELETE_DOCUMENT, document_id=a.id, group_id=group.pk)


def test_nothing_is_deleted_when_the_kept_document_is_gone(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=3)
    keep = entry["fakes"][0]
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk])
    paperless.state.trash_document(keep.id)
    run(plan, user=admin_user)
    assert deletes(paperless) == []
    assert all("kept document" in item.reason for item in plan.items.all())


def test_a_document_primary_of_another_group_is_not_deleted(paperless, admin_user):
    real_mode()
    first, second = library(paperless, groups=2, size=2)
    shared = second["docs"][0]  # primary of the second group, and added to the first
    GroupMember.objects.create(group=first["group"], document=shared, confidence=0.9)
    plan = create_plan(
        action=Plan.Action.DELETE_DUPLICATES,
        group_ids=[first["group"].pk, second["group"].pk],
    )
    run(plan, user=admin_user)
    assert shared.paperless_id not in deletes(paperless)
    assert sorted(deletes(paperless)) == sorted([first["fakes"][1].id, second["fakes"][1].id])


def test_delete_one_document_from_the_group_page(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=3)
    target = entry["fakes"][2]
    plan = create_plan(
        action=Plan.Action.DELETE_DOCUMENT,
        document_id=target.id,
        group_id=entry["group"].pk,
        user=admin_user,
    )
    run(plan, user=admin_user)
    assert deletes(paperless) == [target.id]
    assert list(paperless.state.trash) == [target.id]


def test_group_resolves_when_one_member_is_left(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=3)
    group = entry["group"]
    run(create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[group.pk]), user=admin_user)
    group.refresh_from_db()
    assert group.status == DuplicateGroup.Status.RESOLVED
    assert group.members.count() == 1 and group.member_count == 1


def test_a_plan_cannot_be_confirmed_twice(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=2)
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk])
    job = run(plan, user=admin_user)
    with pytest.raises(PlanAlreadyConfirmed):
        actions.confirm_plan(plan=plan, user=admin_user)
    jobs.execute(job.pk)  # a message delivered twice
    actions.execute_plan(plan_id=plan.pk)  # and the function called again
    assert deletes(paperless) == [entry["fakes"][1].id]
    assert Job.objects.filter(kind=Job.Kind.ACTION).count() == 1


def test_a_connection_failure_stops_the_job_and_resume_finishes_it(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=4)
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk])
    third = entry["fakes"][3]
    paperless.fail_next(20, status=503, path=f"/api/documents/{third.id}/")
    from documents import connection

    original = connection.make_client

    def impatient(**kwargs):
        return original(**{**kwargs, "max_retries": 0})

    connection.make_client = impatient
    try:
        job = run(plan, user=admin_user)
    finally:
        connection.make_client = original
    assert job.status == Job.Status.FAILED
    assert plan.status == Plan.Status.FAILED
    assert plan.items.get(paperless_id=third.id).status == PlanItem.Status.PENDING
    paperless._faults.clear()
    assert jobs.resume(job=job)
    jobs.execute(job.pk)
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DONE
    assert sorted(deletes(paperless)) == sorted(f.id for f in entry["fakes"][1:])


def test_resume_after_a_crash_between_delete_and_record_does_not_delete_twice(
    paperless, admin_user, monkeypatch
):
    real_mode()
    [entry] = library(paperless, size=4)
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk])
    second = entry["fakes"][2]
    original = actions._Executor._leave_mirror

    class Killed(BaseException):
        pass

    def die_on_second(self, item):
        if item.paperless_id == second.id:
            raise Killed()  # the DELETE landed; the worker dies before recording it
        return original(self, item)

    monkeypatch.setattr(actions._Executor, "_leave_mirror", die_on_second)
    job = actions.confirm_plan(plan=plan, user=admin_user)
    with pytest.raises(Killed):
        jobs.execute(job.pk)
    item = plan.items.get(paperless_id=second.id)
    assert item.status == PlanItem.Status.PENDING and item.stage == PlanItem.Stage.ACTING
    assert second.id in paperless.state.trash

    monkeypatch.setattr(actions._Executor, "_leave_mirror", original)
    Job.objects.mark_stale(now=timezone.now() + timedelta(hours=1))
    jobs.execute(job.pk)
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DONE
    ids = deletes(paperless)
    assert sorted(ids) == sorted(f.id for f in entry["fakes"][1:])
    assert len(ids) == len(set(ids))  # nothing deleted twice
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DELETED).count() == 3


def test_every_deletion_is_in_the_audit_log(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=3)
    group = entry["group"]
    run(create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[group.pk]), user=admin_user)
    rows = AuditEntry.objects.filter(action=AuditEntry.Action.DELETED).order_by("paperless_id")
    assert [row.paperless_id for row in rows] == [f.id for f in entry["fakes"][1:]]
    for row, fake in zip(rows, entry["fakes"][1:], strict=True):
        assert row.title == fake.title
        assert row.original_checksum == fake.checksum
        assert row.group_id == group.pk
        assert row.user == admin_user and row.username == "admin"
        assert row.kept_paperless_id == entry["fakes"][0].id
        assert not row.dry_run


# --- dry run and undo -----------------------------------------------------------------------------


def test_dry_run_only_tags(paperless, admin_user):
    [entry] = library(paperless, size=3)  # dry run is the default setting
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk])
    assert plan.dry_run
    run(plan, user=admin_user)

    assert deletes(paperless) == []
    assert not paperless.requests_for(method="POST", path="/api/documents/delete/")
    assert paperless.state.trash == {}
    [tag] = [t for t in paperless.state.tags.values() if t["name"] == "dedupe:would-delete"]
    assert tag["matching_algorithm"] == 0
    keep, a, b = entry["fakes"]
    assert tag["id"] in a.tags and tag["id"] in b.tags and tag["id"] not in keep.tags
    assert Configuration.objects.get_solo().dry_run_tag_id == tag["id"]
    assert set(
        AuditEntry.objects.filter(action=AuditEntry.Action.DRY_RUN_TAGGED).values_list(
            "paperless_id", flat=True
        )
    ) == {a.id, b.id}
    # The mirror follows our own change, so a later real plan does not see "changed".
    assert Document.objects.get(paperless_id=a.id).modified == a.modified
    assert Document.objects.filter(paperless_id=a.id).exists()


def test_a_dry_run_tag_deleted_in_paperless_is_made_again(paperless, admin_user):
    first, second = library(paperless, groups=2, size=2)
    run(
        create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[first["group"].pk]),
        user=admin_user,
    )
    old_id = Configuration.objects.get_solo().dry_run_tag_id
    del paperless.state.tags[old_id]  # the user deleted it in Paperless
    for document in paperless.state.documents.values():
        document.tags = [t for t in document.tags if t != old_id]

    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[second["group"].pk])
    run(plan, user=admin_user)
    plan.refresh_from_db()
    assert plan.counts.get("failed", 0) == 0, list(plan.items.values("reason", "status"))
    [tag] = [t for t in paperless.state.tags.values() if t["name"] == "dedupe:would-delete"]
    assert tag["id"] != old_id and tag["matching_algorithm"] == 0
    assert tag["id"] in second["fakes"][1].tags
    assert Configuration.objects.get_solo().dry_run_tag_id == tag["id"]


def test_dry_run_chosen_on_the_confirmation(paperless, admin_user):
    real_mode()
    [entry] = library(paperless, size=2)
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk])
    assert not plan.dry_run
    run(plan, user=admin_user, dry_run=True)
    assert plan.dry_run and deletes(paperless) == []
    assert paperless.state.documents[entry["fakes"][1].id].tags


def test_undo_removes_the_tag(paperless, admin_user):
    [entry] = library(paperless, size=3)
    plan = create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk])
    run(plan, user=admin_user)
    tag_id = plan.tag_paperless_id
    assert plan.can_undo

    undo = actions.create_undo_plan(plan=plan, user=admin_user)
    assert undo.items.count() == 2
    run(undo, user=admin_user)

    assert undo.status == Plan.Status.DONE
    for fake in entry["fakes"]:
        assert tag_id not in fake.tags
    removals = [
        r.json
        for r in paperless.requests_for(method="POST", path="/api/documents/bulk_edit/")
        if r.json["method"] == "remove_tag"
    ]
    assert sorted(r["documents"][0] for r in removals) == sorted(f.id for f in entry["fakes"][1:])
    assert deletes(paperless) == []
    plan.refresh_from_db()
    assert not plan.can_undo
    with pytest.raises(PlanError):
        actions.create_undo_plan(plan=plan, user=admin_user)


def test_tag_action_adds_the_chosen_tag(paperless, admin_user):
    raw = paperless.state.add_tag("possible-duplicate")
    Tag.objects.create(paperless_id=raw["id"], name=raw["name"])
    [entry] = library(paperless, size=3)
    plan = create_plan(
        action=Plan.Action.TAG_DUPLICATES, group_ids=[entry["group"].pk], tag_paperless_id=raw["id"]
    )
    run(plan, user=admin_user)
    keep, a, b = entry["fakes"]
    assert raw["id"] in a.tags and raw["id"] in b.tags and raw["id"] not in keep.tags
    assert deletes(paperless) == []


# --- merging metadata -----------------------------------------------------------------------------


def test_merge_metadata_copies_tags_notes_custom_fields_and_asn(paperless, admin_user):
    real_mode()
    state = paperless.state
    red, blue = state.add_tag("red")["id"], state.add_tag("blue")["id"]
    account = state.add_object("custom_fields", name="Account")["id"]
    amount = state.add_object("custom_fields", name="Amount")["id"]
    keep = state.add_document(
        title="Keep", tags=[red], custom_fields=[{"field": amount, "value": "10"}]
    )
    dup = state.add_document(
        title="Copy",
        tags=[red, blue],
        archive_serial_number=42,
        custom_fields=[{"field": account, "value": "DE12"}, {"field": amount, "value": "99"}],
    )
    state.add_note(dup, "Paid on 3 March")
    group = make_group([mirror(keep), mirror(dup)])
    plan = create_plan(
        action=Plan.Action.DELETE_DUPLICATES, group_ids=[group.pk], merge_metadata=True
    )

    run(plan, user=admin_user)

    assert deletes(paperless) == [dup.id]
    assert sorted(keep.tags) == sorted([red, blue])
    [note] = keep.notes
    assert note["note"].startswith("Paid on 3 March")
    assert f"Copied from document #{dup.id} (Copy)" in note["note"]
    assert {entry["field"]: entry["value"] for entry in keep.custom_fields} == {
        amount: "10",  # the kept document's own value wins
        account: "DE12",
    }
    assert keep.archive_serial_number == 42
    merged = AuditEntry.objects.get(action=AuditEntry.Action.MERGED)
    assert merged.paperless_id == keep.id and merged.detail["asn"] == 42
    # The kept document's "document updated" webhook is ours.
    assert is_own_change(keep.id, keep.modified)


def test_merge_does_not_copy_a_note_twice_when_run_again(paperless, admin_user):
    real_mode()
    state = paperless.state
    keep, dup = state.add_document(title="Keep"), state.add_document(title="Copy")
    state.add_note(dup, "Important")
    group = make_group([mirror(keep), mirror(dup)])
    plan = create_plan(
        action=Plan.Action.DELETE_DUPLICATES, group_ids=[group.pk], merge_metadata=True
    )
    item = plan.items.get()
    executor = actions._Executor(plan=plan, client=None, ctx=None)
    from documents.connection import get_client

    with get_client() as client:
        executor.client = client
        raw = client.get_document(dup.id)
        executor.merge(item, raw=raw)
        executor.merge(item, raw=raw)  # a resumed job merges again
    assert len(keep.notes) == 1


def test_dry_run_does_not_merge(paperless, admin_user):
    state = paperless.state
    keep, dup = state.add_document(title="Keep"), state.add_document(title="Copy")
    state.add_note(dup, "Important")
    group = make_group([mirror(keep), mirror(dup)])
    plan = create_plan(
        action=Plan.Action.DELETE_DUPLICATES, group_ids=[group.pk], merge_metadata=True
    )
    run(plan, user=admin_user)
    assert keep.notes == [] and not paperless.requests_for(
        method="POST", path="/api/documents/*/notes/"
    )


# --- group-only actions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (Plan.Action.MARK_REVIEWED, DuplicateGroup.Status.REVIEWED),
        (Plan.Action.RESOLVE, DuplicateGroup.Status.RESOLVED),
        (Plan.Action.NOT_DUPLICATE, DuplicateGroup.Status.NOT_DUPLICATE),
    ],
)
def test_group_actions_change_only_our_records(paperless, admin_user, action, status):
    entries = library(paperless, groups=2, size=2)
    plan = create_plan(action=action, group_ids=[e["group"].pk for e in entries])
    paperless.requests.clear()
    run(plan, user=admin_user)
    for entry in entries:
        entry["group"].refresh_from_db()
        assert entry["group"].status == status
        assert entry["group"].status_changed_by == admin_user
    assert paperless.requests == []


# --- our own changes ------------------------------------------------------------------------------


def test_is_own_change(paperless, admin_user):
    [entry] = library(paperless, size=2)
    dup = entry["fakes"][1]
    before = dup.modified
    assert not is_own_change(dup.id, before)
    run(
        create_plan(action=Plan.Action.DELETE_DUPLICATES, group_ids=[entry["group"].pk]),
        user=admin_user,
    )
    ours = dup.modified
    assert ours != before
    assert is_own_change(dup.id, ours)
    assert is_own_change(dup.id, ours.isoformat())  # as a webhook body carries it
    assert not is_own_change(dup.id, before)
    assert not is_own_change(entry["fakes"][0].id, entry["fakes"][0].modified)
    changed(paperless, dup, title="A person edits it")
    assert not is_own_change(dup.id, dup.modified)
    # A change still being sent counts for any modified, until it expires.
    pending = OwnChange.objects.create(
        paperless_id=999, kind="tag", expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert is_own_change(999, timezone.now())
    pending.expires_at = timezone.now() - timedelta(seconds=1)
    pending.save()
    assert not is_own_change(999, timezone.now())
    # Completed rows expire too.
    OwnChange.objects.filter(paperless_id=dup.id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert not is_own_change(dup.id, ours)
