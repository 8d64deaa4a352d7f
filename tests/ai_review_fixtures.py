"""Fixtures for AI review (loaded by ``pytest_plugins``, for ai_review/tests and the browser
tests): a small library in the fake Paperless (mirrored by a real sync), the
app pointed at the fake OpenAI-compatible endpoint, and runs and plans carried out as the worker
does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ai_review.models import ApplyPlan, ReviewRun
from ai_review.selection import Selection
from processing import jobs
from processing.models import Job

INVOICE = """ACME Energy invoice March 2024
Invoice number: INV-2024-0042
Date: 05.03.2024
Customer: Jane Doe, 12 Elm Street
Electricity for February, meter 778812
Total amount: EUR 123.45
Please pay within 14 days. #energy
"""
LETTER = """City Bank account statement
Date: 2023-11-30
Dear Jane Doe, here is the statement of your savings account. Your balance is 1,204.10 EUR.
Kind regards, City Bank, a letter about bills
"""
PRIVATE = """Medical report for Jane Doe
Date: 2024-01-10
Diagnosis: confidential.
"""


@dataclass
class Library:
    ids: dict[str, int] = field(default_factory=dict)
    objects: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def library(paperless, ai_configured, db) -> Library:
    """Three documents with poor metadata (one carrying the protected tag 'private'), the
    objects they could get, mirrored by a real sync; 'private' is the protected tag."""
    from dedupe_project.models import Configuration

    state = paperless.state
    lib = Library()
    lib.objects["acme"] = state.add_object("correspondents", name="ACME Energy")["id"]
    lib.objects["bank"] = state.add_object("correspondents", name="City Bank")["id"]
    lib.objects["invoice"] = state.add_object("document_types", name="Invoice")["id"]
    lib.objects["letter"] = state.add_object("document_types", name="Letter")["id"]
    lib.objects["bills"] = state.add_tag("bills")["id"]
    lib.objects["private"] = state.add_tag("private")["id"]
    lib.objects["inbox"] = state.add_tag("ai-review")["id"]
    lib.objects["invoice_number"] = state.add_object(
        "custom_fields", name="Invoice number", data_type="string"
    )["id"]
    lib.objects["total"] = state.add_object(
        "custom_fields", name="Total amount", data_type="monetary"
    )["id"]
    lib.ids["invoice"] = state.add_document(
        title="scan_0042", content=INVOICE, tags=[lib.objects["inbox"]]
    ).id
    lib.ids["letter"] = state.add_document(
        title="scan_0043", content=LETTER, tags=[lib.objects["inbox"]]
    ).id
    lib.ids["private"] = state.add_document(
        title="scan_0044", content=PRIVATE, tags=[lib.objects["inbox"], lib.objects["private"]]
    ).id
    job = jobs.run_inline(kind=Job.Kind.SYNC, params={"full": True})
    assert job.status == Job.Status.SUCCEEDED, job.error
    Configuration.objects.get_solo().apply({"ai_protected_tag_ids": [lib.objects["private"]]})
    return lib


def run_job(job: Job) -> Job:
    """Carry out a queued job here, as a worker would."""
    jobs.execute(job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def suggest(library) -> Callable[..., ReviewRun]:
    """Make, start and carry out a run; returns it finished."""
    from ai_review.runs import create_run, start_run

    def run(selection: Selection | None = None, **fields: Any) -> ReviewRun:
        selection = selection or Selection(tag=library.objects["inbox"], **fields)
        review_run = create_run(selection=selection)
        run_job(start_run(run=review_run))
        review_run.refresh_from_db()
        return review_run

    return run


@pytest.fixture
def apply_plan() -> Callable[[ApplyPlan], ApplyPlan]:
    from ai_review.apply import confirm_plan

    def run(plan: ApplyPlan) -> ApplyPlan:
        run_job(confirm_plan(plan=plan))
        plan.refresh_from_db()
        return plan

    return run
