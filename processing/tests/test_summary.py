"""A finished job reads as finished: one sentence of what it did, the next step, and durations
in words; the job page stops looking busy once the job is done."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from duplicates.models import Plan
from duplicates.tests.groupfactory import make_group
from processing.models import Job
from processing.summary import duration_words, summarise

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.4, "under a second"),
        (24.713971, "25 seconds"),
        (1, "1 second"),
        (60, "1 minute"),
        (185, "3 minutes 5 seconds"),
        (7440, "2 hours 4 minutes"),
        (3600, "1 hour"),
    ],
)
def test_durations_are_rounded_words(seconds, words):
    assert duration_words(timedelta(seconds=seconds)) == words


def finished(kind: str, result: dict, **fields) -> Job:
    now = timezone.now()
    return Job.objects.create(
        kind=kind,
        status=Job.Status.SUCCEEDED,
        result=result,
        started_at=now - timedelta(seconds=24.713971),
        finished_at=now,
        **fields,
    )


def test_an_analysis_says_how_many_groups_wait_and_links_the_review(auth_client):
    for _ in range(3):
        make_group()
    job = finished(Job.Kind.ANALYSIS, {"mode": "full", "documents": 40, "compared": 40})
    summary = summarise(job)
    assert summary.sentence == "40 documents analysed; 3 groups of duplicates wait for review."
    assert summary.next_url == reverse("review-start") and summary.next_label == "review them"

    page = auth_client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "3 groups of duplicates wait for review" in page and "Review them" in page
    assert "took 25 seconds" in page and "0:00:24" not in page
    assert ">Cancel<" not in page and "Finished</dt><dd>" in page
    assert "{&#x27;mode&#x27;" not in page.split("<details")[0]  # the raw dict only in details


def test_a_sync_says_what_changed(auth_client):
    job = finished(Job.Kind.SYNC, {"created": 5, "updated": 2, "unchanged": 30, "deleted": 1})
    assert summarise(job).sentence == (
        "37 documents checked in Paperless: 5 new, 2 changed, 1 deleted. "
        "The changed documents are analysed next."
    )


def test_an_action_job_links_its_plan(auth_client):
    plan = Plan.objects.create(action=Plan.Action.DELETE_DUPLICATES, dry_run=True)
    job = finished(
        Job.Kind.ACTION, {"plan": plan.pk, "done": 4, "skipped": 1}, params={"plan": plan.pk}
    )
    summary = summarise(job)
    assert summary.sentence == f"Dry run (plan #{plan.pk}): 4 items done, 1 skipped."
    assert summary.next_url == reverse("plan-detail", args=[plan.pk])
    page = auth_client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'id="job-plan"' in page and reverse("plan-detail", args=[plan.pk]) in page


def test_a_running_job_card_polls_itself_and_a_finished_one_clears_the_old_messages(auth_client):
    running = Job.objects.create(kind=Job.Kind.SYNC, status=Job.Status.RUNNING)
    page = auth_client.get(reverse("job-detail", args=[running.pk])).content.decode()
    assert "data-poll-always" in page and "?card=1" in page and ">Cancel<" in page
    Job.objects.filter(pk=running.pk).update(
        status=Job.Status.SUCCEEDED, finished_at=timezone.now(), result={"unchanged": 3}
    )
    card = auth_client.get(
        reverse("job-detail", args=[running.pk]), {"card": "1"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" not in card and f'id="job-{running.pk}-card"' in card
    assert "data-poll-always" not in card and ">Cancel<" not in card
    assert 'id="messages" hx-swap-oob="true"' in card
    assert "3 documents checked in Paperless, nothing changed." in card
