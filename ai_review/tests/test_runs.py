"""AI runs against the fake OpenAI-compatible endpoint and the fake Paperless, over real HTTP:
what is sent, what comes back, and every way the endpoint can misbehave."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

import pytest

from ai_review.models import ApiCall, FieldSuggestion, ReviewRun, Suggestion
from ai_review.runs import RunError, create_run, queue_for_review, retry_failed, start_run
from ai_review.selection import Selection
from dedupe_project.models import Configuration
from processing.models import Job
from tests.ai_review_fixtures import run_job

pytestmark = pytest.mark.django_db


def _fields(run: ReviewRun, paperless_id: int) -> dict[str, FieldSuggestion]:
    suggestion = run.suggestions.get(paperless_id=paperless_id)
    return {field.key: field for field in suggestion.fields.all()}


def _sent_texts(fake_openai) -> list[str]:
    return [r.json["messages"][1]["content"] for r in fake_openai.completions()]


def test_run_suggests_fields_constrained_to_paperless_with_confidence_and_evidence(
    suggest, library, fake_openai
):
    run = suggest()
    assert run.status == ReviewRun.Status.DONE
    fields = _fields(run, library.ids["invoice"])
    assert fields["title"].display == "ACME Energy invoice March 2024"
    assert fields["title"].current_display == "scan_0042"
    assert fields["correspondent"].value == library.objects["acme"]
    assert fields["document_type"].value == library.objects["invoice"]
    assert fields["created"].value == "2024-03-05"
    assert fields[f"custom_field:{library.objects['invoice_number']}"].value == "INV-2024-0042"
    assert fields[f"custom_field:{library.objects['total']}"].value == "EUR123.45"
    energy = fields["tag:energy"]
    assert energy.is_new and energy.value is None
    for field in fields.values():
        assert 0 < field.confidence <= 1
        assert field.evidence and field.evidence_found
        assert field.decision == FieldSuggestion.Decision.PENDING
    # The model was asked with a strict JSON schema naming what exists in Paperless.
    request = fake_openai.completions()[0].json
    schema = request["response_format"]["json_schema"]
    assert schema["strict"] is True
    assert schema["schema"]["properties"]["correspondent"]["properties"]["value"]["enum"] == [
        "ACME Energy",
        "City Bank",
        None,
    ]
    assert request["model"] == "gpt-4o-mini"
    assert request["temperature"] == 0
    assert request["max_tokens"] == 1000


def test_nothing_changes_in_paperless_until_applied(suggest, library, paperless):
    suggest()
    assert not paperless.requests_for(method="PATCH")
    assert not paperless.requests_for(method="POST")
    assert paperless.state.get_document(library.ids["invoice"]).title == "scan_0042"


def test_protected_tag_is_never_sent_even_when_added_after_the_run_was_made(
    library, paperless, fake_openai
):
    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    assert run.selection["left_out"] == {"protected": 1}
    assert library.ids["private"] not in run.suggestions.values_list("paperless_id", flat=True)
    # Someone protects the letter in Paperless after the run was made (the mirror does not know).
    letter = paperless.state.get_document(library.ids["letter"])
    letter.tags = [*letter.tags, library.objects["private"]]
    run_job(start_run(run=run))
    skipped = run.suggestions.get(paperless_id=library.ids["letter"])
    assert skipped.status == Suggestion.Status.SKIPPED
    assert "protected tag (private)" in skipped.reason
    sent = "\n".join(_sent_texts(fake_openai))
    assert "City Bank account statement" not in sent
    assert "Medical report" not in sent
    assert "ACME Energy invoice" in sent
    assert len(fake_openai.completions()) == 1


def test_usage_is_recorded_per_run_and_month_with_cost_from_the_price_table(
    suggest, library, fake_openai
):
    run = suggest()
    answers = [r for r in fake_openai.completions()]
    assert len(answers) == 2
    calls = ApiCall.objects.filter(run=run)
    assert calls.count() == 2
    usage = run.usage()
    # The fake counts characters / 4 of what it received; we record what it reported.
    expected_prompt = 0
    for request in answers:
        body = request.json
        chars = sum(len(m["content"]) for m in body["messages"])
        chars += len(json.dumps(body["response_format"]))
        expected_prompt += -(-chars // 4)
    assert usage["prompt_tokens"] == expected_prompt
    assert usage["completion_tokens"] > 0
    expected_cost = (
        Decimal(usage["prompt_tokens"]) * Decimal("0.15")
        + Decimal(usage["completion_tokens"]) * Decimal("0.60")
    ) / Decimal(1_000_000)
    assert abs(usage["cost"] - expected_cost) < Decimal("0.000002")
    assert ApiCall.objects.this_month().totals()["total_tokens"] == usage["total_tokens"]
    # The estimate made before the run was within 25% of what the endpoint counted.
    assert abs(run.estimate["prompt_tokens"] - usage["prompt_tokens"]) < 0.25 * expected_prompt


def test_429_with_retry_after_is_waited_for_and_retried(suggest, library, fake_openai):
    fake_openai.throttle_next(1, retry_after="1")
    run = suggest()
    assert run.status == ReviewRun.Status.DONE
    assert run.suggestions.filter(status=Suggestion.Status.DONE).count() == 2
    requests = fake_openai.completions()
    assert len(requests) == 3
    assert requests[1].time - requests[0].time >= 0.95  # Retry-After: 1 was honoured


def test_500_is_retried_by_the_sdk(suggest, library, fake_openai):
    fake_openai.fail_next(2, status=500)
    run = suggest()
    assert run.suggestions.filter(status=Suggestion.Status.DONE).count() == 2
    assert len(fake_openai.completions()) == 4


def test_timeout_after_retries_fails_that_document_only(suggest, library, fake_openai):
    Configuration.objects.get_solo().apply({"ai_max_retries": 1})
    # Below the settings' 5 s minimum, so the test does not wait for long.
    Configuration.objects.update(ai_timeout_seconds=0.5)
    fake_openai.delay_next(2, seconds=1.0)
    run = suggest()
    assert run.status == ReviewRun.Status.DONE
    statuses = dict(run.suggestions.values_list("paperless_id", "status"))
    failed = [pid for pid, status in statuses.items() if status == Suggestion.Status.FAILED]
    assert len(failed) == 1
    reason = run.suggestions.get(paperless_id=failed[0]).reason
    assert "No answer within 0.5 s (2 attempts)" in reason
    assert list(statuses.values()).count(Suggestion.Status.DONE) == 1


@pytest.mark.parametrize(
    ("misbehave", "reason"),
    [
        ("malformed_next", "The answer is not valid JSON"),
        ("violate_schema_next", "The answer does not fit the schema"),
        ("refuse_next", "The model refused: I'm sorry"),
        ("truncate_next", "The answer was cut off at 1000 tokens"),
    ],
)
def test_a_bad_answer_fails_that_document_with_the_reason(
    suggest, library, fake_openai, misbehave, reason
):
    getattr(fake_openai, misbehave)(1)
    run = suggest()
    assert run.status == ReviewRun.Status.DONE
    failed = run.suggestions.get(status=Suggestion.Status.FAILED)
    assert reason in failed.reason
    assert not failed.fields.exists()
    assert run.suggestions.filter(status=Suggestion.Status.DONE).count() == 1
    # The unusable answer still cost tokens, and they are counted.
    assert failed.prompt_tokens > 0
    assert ApiCall.objects.filter(suggestion=failed).exists()


def test_a_failed_document_can_be_retried(suggest, library, fake_openai):
    fake_openai.malformed_next(1)
    run = suggest()
    failed = run.suggestions.get(status=Suggestion.Status.FAILED)
    run_job(retry_failed(run=run))
    failed.refresh_from_db()
    assert failed.status == Suggestion.Status.DONE and failed.reason == ""
    assert failed.fields.exists()
    assert failed.attempts == 2


def test_endpoint_failing_documents_in_a_row_stops_the_run_resumably(library, fake_openai):
    Configuration.objects.get_solo().apply({"ai_max_retries": 0})
    documents = [library.ids["invoice"], library.ids["letter"]]
    fake_openai.fail_next(2, status=503)
    run = create_run(selection=Selection(document_ids=tuple(documents)))
    from ai_review import runs

    stop = runs.CONSECUTIVE_FAILURES_STOP
    runs.CONSECUTIVE_FAILURES_STOP = 2
    try:
        job = run_job(start_run(run=run))
    finally:
        runs.CONSECUTIVE_FAILURES_STOP = stop
    run.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert run.status == ReviewRun.Status.FAILED
    assert "2 documents in a row failed" in run.error
    assert run.suggestions.filter(status=Suggestion.Status.PENDING).count() == 1
    # Resumed when the endpoint is back: the waiting document is asked for again.
    from processing import jobs

    assert jobs.resume(job=job)
    run_job(job)
    run.refresh_from_db()
    assert run.status == ReviewRun.Status.DONE
    assert run.suggestions.filter(status=Suggestion.Status.DONE).count() == 1


def test_refused_key_stops_the_run_without_showing_the_key(library, fake_openai):
    Configuration.objects.get_solo().apply({"openai_api_key": "sk-wrong-key-abcdefghijklmnop"})
    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    job = run_job(start_run(run=run))
    run.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "refused the key (HTTP 401)" in run.error
    assert "sk-wrong-key-abcdefghijklmnop" not in run.error + job.error
    assert len(fake_openai.completions()) == 1  # a 401 is not retried


def test_unknown_model_stops_the_run_with_a_clear_error(library, fake_openai):
    Configuration.objects.get_solo().apply({"ai_model": "gpt-4o-mini-2099"})
    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    run_job(start_run(run=run))
    run.refresh_from_db()
    assert run.status == ReviewRun.Status.FAILED
    assert "does not know the model 'gpt-4o-mini-2099'" in run.error


def test_budget_stops_the_run_cleanly_before_overspending(library, fake_openai):
    config = Configuration.objects.get_solo()
    # Expensive answers: a document's worst case (its prompt, ~1000 tokens, and an answer as
    # long as allowed, 1000 tokens) is about 21 cents, what the first answer really cost about
    # 5 cents. With 23 cents the first fits; the second could overspend: not sent.
    config.apply(
        {
            "ai_price_table": {"gpt-4o-mini": {"input": 10.0, "output": 200.0}},
            "ai_monthly_budget": Decimal("0.23"),
        }
    )
    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    assert run.estimate["documents_within_budget"] == 1
    job = run_job(start_run(run=run))
    run.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert run.status == ReviewRun.Status.STOPPED
    assert "monthly AI budget ($0.23) would be exceeded" in run.stopped_reason
    assert run.suggestions.filter(status=Suggestion.Status.DONE).count() == 1
    assert run.suggestions.filter(status=Suggestion.Status.PENDING).count() == 1
    assert len(fake_openai.completions()) == 1
    assert ApiCall.objects.this_month().totals()["cost"] <= Decimal("0.23")
    # Raising the budget lets the same run continue with the waiting document.
    config.apply({"ai_monthly_budget": Decimal("1.00")})
    run_job(start_run(run=run))
    run.refresh_from_db()
    assert run.status == ReviewRun.Status.DONE
    assert run.suggestions.filter(status=Suggestion.Status.DONE).count() == 2


def test_a_used_up_budget_refuses_to_start(library, fake_openai):
    Configuration.objects.get_solo().apply({"ai_monthly_budget": Decimal("0")})
    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    with pytest.raises(RunError, match=r"budget .* is used up"):
        start_run(run=run)
    assert not fake_openai.completions()


def test_a_model_without_price_needs_one_when_there_is_a_budget(library, fake_openai):
    Configuration.objects.get_solo().apply({"ai_model": "llama3.1:8b", "ai_price_table": {}})
    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    assert run.estimate["price_known"] is False
    with pytest.raises(RunError, match=r"no price for the model 'llama3\.1:8b'"):
        start_run(run=run)
    Configuration.objects.get_solo().apply({"ai_monthly_budget": None})
    run_job(start_run(run=run))
    run.refresh_from_db()
    assert run.status == ReviewRun.Status.DONE
    assert run.usage()["unpriced_calls"] == 2


def test_per_run_document_limit_takes_the_newest_and_says_how_many_wait(library):
    Configuration.objects.get_solo().apply({"ai_run_document_limit": 1})
    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    assert list(run.suggestions.values_list("paperless_id", flat=True)) == [library.ids["letter"]]
    assert run.selection["left_out"] == {"protected": 1, "over_limit": 1}


def test_documents_suggested_before_are_left_out_unless_asked(suggest, library):
    suggest()
    with pytest.raises(RunError, match="No document to send"):
        create_run(selection=Selection(tag=library.objects["inbox"]))
    again = create_run(selection=Selection(tag=library.objects["inbox"], skip_suggested=False))
    assert again.suggestions.count() == 2


def test_filters_untagged_and_without_correspondent(library, paperless):
    from documents.models import Document

    Document.objects.filter(paperless_id=library.ids["letter"]).first().tags.clear()
    run = create_run(selection=Selection(untagged=True, no_correspondent=True))
    assert list(run.suggestions.values_list("paperless_id", flat=True)) == [library.ids["letter"]]


def test_missing_usage_is_estimated_and_marked(suggest, library, fake_openai):
    fake_openai.no_usage_next(2)
    run = suggest()
    calls = ApiCall.objects.filter(run=run)
    assert calls.count() == 2
    assert not any(calls.values_list("usage_reported", flat=True))
    assert all(call.prompt_tokens > 0 for call in calls)


def test_key_is_only_sent_to_the_url_it_was_entered_for(library, fake_openai):
    from ai_review.llm import ai_settings

    config = Configuration.objects.get_solo()
    other = fake_openai.url.replace("127.0.0.1", "localhost")
    config.apply({"ai_base_url": other})
    ai = ai_settings()
    assert ai.key == "" and "entered for" in ai.key_note
    fake_openai.key = None  # a local server that wants no key
    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    run_job(start_run(run=run))
    headers = [r.headers.get("authorization") for r in fake_openai.completions()]
    assert headers and all(h == "Bearer no-key" for h in headers)
    assert not any(
        Configuration.objects.get_solo().get_secret("openai_api_key") in h for h in headers
    )
    # Entering it again for the new URL binds it there.
    config.apply({"openai_api_key": "sk-fake-openai-key-0123456789"})
    assert ai_settings().key == "sk-fake-openai-key-0123456789"


def test_requests_per_minute_spaces_requests_including_retries(suggest, library, fake_openai):
    Configuration.objects.get_solo().apply({"ai_requests_per_minute": 300})  # 0.2 s apart
    fake_openai.fail_next(1, status=500)
    suggest()
    times = [r.time for r in fake_openai.completions()]
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.18


def test_queue_for_review_sends_new_documents_only_when_switched_on(library, fake_openai):
    ids = [library.ids["invoice"], library.ids["private"]]
    assert queue_for_review(document_ids=ids) is None
    Configuration.objects.get_solo().apply({"ai_review_new_documents": True})
    run = queue_for_review(document_ids=ids)
    assert run is not None and run.source == ReviewRun.Source.WEBHOOK
    assert run.status == ReviewRun.Status.QUEUED
    assert list(run.suggestions.values_list("paperless_id", flat=True)) == [library.ids["invoice"]]
    run_job(run.job)
    run.refresh_from_db()
    assert run.status == ReviewRun.Status.DONE
    # Documents already suggested, or protected, make no new run (and raise nothing).
    assert queue_for_review(document_ids=ids) is None


def test_tokens_and_cost_are_on_metrics_per_month_and_last_run(client, suggest, library):
    run = suggest()
    usage = run.usage()
    text = client.get("/metrics").content.decode()
    assert f'dedupe_ai_month_tokens{{kind="prompt"}} {float(usage["prompt_tokens"])}' in text
    assert (
        f'dedupe_ai_tokens_total{{kind="completion"}} {float(usage["completion_tokens"])}' in text
    )
    assert f'dedupe_ai_last_run_tokens{{kind="prompt",run="{run.pk}"}}' in text
    assert "dedupe_ai_month_budget_usd 5.0" in text
    assert 'dedupe_ai_suggestions{status="done"} 2.0' in text
    assert f"dedupe_ai_month_cost_usd {float(usage['cost'])}" in text
