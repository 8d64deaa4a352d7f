"""Applying accepted suggestions to the fake Paperless, like a deletion plan: re-checked first,
one PATCH per document, audited with before and after, revertible, failures retried."""

from __future__ import annotations

from datetime import date

import pytest

from ai_review.apply import ApplyError, create_apply_plan, create_revert_plan, retry_failed
from ai_review.models import ApplyItem, ApplyPlan, FieldSuggestion, Suggestion
from ai_review.review import decide
from duplicates.actions import is_own_change
from duplicates.models import AuditEntry
from processing import jobs
from processing.models import Job
from tests.ai_review_fixtures import run_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(suggest, library) -> Suggestion:
    """The invoice's suggestion, with title, correspondent, the new tag 'energy' and the invoice
    number accepted (the number edited), and the created date rejected."""
    run = suggest()
    suggestion = run.suggestions.get(paperless_id=library.ids["invoice"])
    fields = {f.key: f for f in suggestion.fields.all()}
    decide(field=fields["title"], decision="accept")
    decide(field=fields["correspondent"], decision="accept")
    decide(field=fields["tag:energy"], decision="accept")
    decide(
        field=fields[f"custom_field:{library.objects['invoice_number']}"],
        decision="accept",
        value="INV-42",
    )
    decide(field=fields["created"], decision="reject")
    return suggestion


def _document(paperless, library, name="invoice"):
    return paperless.state.get_document(library.ids[name])


def test_apply_changes_only_accepted_fields_with_one_patch_and_creates_accepted_new_tags(
    invoice, library, paperless, apply_plan
):
    plan = apply_plan(create_apply_plan(suggestions=Suggestion.objects.all()))
    assert plan.status == ApplyPlan.Status.DONE
    assert plan.counts["done"] == 1
    document = _document(paperless, library)
    assert document.title == "ACME Energy invoice March 2024"
    assert document.correspondent == library.objects["acme"]
    assert document.document_type is None  # not accepted
    assert document.created != date(2024, 3, 5)  # rejected
    energy = next(t for t in paperless.state.tags.values() if t["name"] == "energy")
    assert energy["matching_algorithm"] == 0  # Paperless never assigns it by itself
    assert energy["id"] in document.tags and library.objects["inbox"] in document.tags
    assert document.custom_fields == [
        {"value": "INV-42", "field": library.objects["invoice_number"]}
    ]
    patches = paperless.requests_for(method="PATCH", path="/api/documents/*")
    assert len(patches) == 1
    assert set(patches[0].json) == {"title", "correspondent", "tags", "custom_fields"}
    # The letter had nothing accepted: untouched.
    assert _document(paperless, library, "letter").title == "scan_0043"
    # Field outcomes, the mirror, and our own change are recorded.
    outcomes = dict(invoice.fields.values_list("key", "outcome"))
    assert outcomes["title"] == FieldSuggestion.Outcome.APPLIED
    assert outcomes["created"] == ""
    from documents.models import Document

    mirrored = Document.objects.get(paperless_id=library.ids["invoice"])
    assert mirrored.title == "ACME Energy invoice March 2024"
    assert mirrored.correspondent.paperless_id == library.objects["acme"]
    assert is_own_change(library.ids["invoice"], document.modified)


def test_apply_is_audited_with_before_and_after(invoice, library, paperless, apply_plan):
    apply_plan(create_apply_plan(suggestions=Suggestion.objects.all()))
    entry = AuditEntry.objects.get(action=AuditEntry.Action.AI_APPLIED)
    assert entry.paperless_id == library.ids["invoice"]
    assert entry.detail["before"]["title"] == "scan_0042"
    assert entry.detail["after"]["title"] == "ACME Energy invoice March 2024"
    assert entry.detail["before"]["correspondent"] is None
    assert entry.detail["after"]["correspondent"] == library.objects["acme"]
    assert entry.detail["created_tags"] == ["energy"]
    assert any("ACME Energy" in line for line in entry.detail["summary"])


def test_a_new_tag_not_accepted_is_never_created(suggest, library, paperless, apply_plan):
    run = suggest()
    suggestion = run.suggestions.get(paperless_id=library.ids["invoice"])
    for field in suggestion.fields.all():
        decide(field=field, decision="reject" if field.is_new else "accept")
    apply_plan(create_apply_plan(suggestions=Suggestion.objects.all()))
    assert not paperless.requests_for(method="POST", path="/api/tags/")
    assert not any(t["name"] == "energy" for t in paperless.state.tags.values())


def test_document_changed_since_the_suggestion_is_skipped_and_reported(
    invoice, library, paperless, apply_plan
):
    document = _document(paperless, library)
    document.title = "Edited by a person in Paperless"
    paperless.state.touch(document)
    plan = apply_plan(create_apply_plan(suggestions=Suggestion.objects.all()))
    item = plan.items.get()
    assert item.status == ApplyItem.Status.SKIPPED
    assert "changed in Paperless since the suggestion" in item.reason
    assert not paperless.requests_for(method="PATCH")
    assert document.title == "Edited by a person in Paperless"
    assert set(invoice.fields.exclude(outcome="").values_list("outcome", flat=True)) == {
        FieldSuggestion.Outcome.SKIPPED
    }


def test_revert_from_the_audit_entry_puts_every_value_back(invoice, library, paperless, apply_plan):
    before_tags = list(_document(paperless, library).tags)
    apply_plan(create_apply_plan(suggestions=Suggestion.objects.all()))
    entry = AuditEntry.objects.get(action=AuditEntry.Action.AI_APPLIED)
    plan = apply_plan(create_revert_plan(entry=entry))
    assert plan.kind == ApplyPlan.Kind.REVERT and plan.counts["done"] == 1
    document = _document(paperless, library)
    assert document.title == "scan_0042"
    assert document.correspondent is None
    assert sorted(document.tags) == sorted(before_tags)
    assert document.custom_fields == []
    reverted = AuditEntry.objects.get(action=AuditEntry.Action.AI_REVERTED)
    assert reverted.detail["reverts"] == entry.pk
    assert reverted.detail["after"]["title"] == "scan_0042"
    assert set(invoice.fields.exclude(outcome="").values_list("outcome", flat=True)) == {
        FieldSuggestion.Outcome.REVERTED
    }
    with pytest.raises(ApplyError, match="not reverted yet"):
        create_revert_plan(entry=entry)


def test_revert_skips_a_document_changed_since_the_ai_change(
    invoice, library, paperless, apply_plan
):
    apply_plan(create_apply_plan(suggestions=Suggestion.objects.all()))
    document = _document(paperless, library)
    document.title = "Renamed by hand"
    paperless.state.touch(document)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.AI_APPLIED)
    plan = apply_plan(create_revert_plan(entry=entry))
    item = plan.items.get()
    assert item.status == ApplyItem.Status.SKIPPED
    assert "since the AI change" in item.reason
    assert document.title == "Renamed by hand"


def test_a_refused_value_fails_that_document_and_can_be_retried(
    invoice, library, paperless, apply_plan
):
    paperless.fail_next(1, status=400, method="PATCH")
    plan = apply_plan(create_apply_plan(suggestions=Suggestion.objects.all()))
    item = plan.items.get()
    assert plan.status == ApplyPlan.Status.DONE
    assert item.status == ApplyItem.Status.FAILED and "Scripted failure" in item.reason
    retry = retry_failed(plan=plan)
    run_job(retry.job)
    retry.refresh_from_db()
    assert retry.retry_of == plan and retry.counts["done"] == 1
    assert _document(paperless, library).title == "ACME Energy invoice March 2024"
    assert invoice.fields.get(key="title").outcome == FieldSuggestion.Outcome.APPLIED


def test_paperless_down_stops_the_job_and_resume_sends_the_patch_once(
    invoice, library, paperless, apply_plan
):
    paperless.lose_answer_next(1, method="PATCH")  # applied, but the answer never arrives
    plan = apply_plan(create_apply_plan(suggestions=Suggestion.objects.all()))
    assert plan.status == ApplyPlan.Status.FAILED
    assert plan.job.status == Job.Status.FAILED
    item = plan.items.get()
    assert item.stage == ApplyItem.Stage.ACTING and item.status == ApplyItem.Status.PENDING
    assert jobs.resume(job=plan.job)
    run_job(plan.job)
    plan.refresh_from_db()
    assert plan.status == ApplyPlan.Status.DONE
    assert len(paperless.requests_for(method="PATCH", path="/api/documents/*")) == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.AI_APPLIED).count() == 1


def test_a_plan_runs_once_and_needs_something_accepted(suggest, library, apply_plan):
    suggest()
    with pytest.raises(ApplyError, match="Accept at least one"):
        create_apply_plan(suggestions=Suggestion.objects.all())
    field = FieldSuggestion.objects.filter(key="title").first()
    decide(field=field, decision="accept")
    plan = apply_plan(create_apply_plan(suggestions=Suggestion.objects.all()))
    from ai_review.apply import confirm_plan

    with pytest.raises(ApplyError, match="already confirmed"):
        confirm_plan(plan=plan)
