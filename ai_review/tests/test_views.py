"""The AI review pages: each as a full page and as an HTMX fragment, decisions through them, and
what they show."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from ai_review.models import ApplyPlan, FieldSuggestion, ReviewRun, Suggestion
from ai_review.review import decide
from dedupe_project.models import Configuration
from duplicates.models import AuditEntry

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def done_run(suggest, library) -> ReviewRun:
    return suggest()


def _field(key: str = "title") -> FieldSuggestion:
    return FieldSuggestion.objects.filter(key=key).order_by("pk").first()


def test_home_shows_connection_usage_and_the_run_form(auth_client, done_run):
    page = auth_client.get(reverse("ai-home")).content.decode()
    assert "gpt-4o-mini" in page and 'id="ai-run-form"' in page
    assert f"#{done_run.pk}" in page
    usage = done_run.usage()
    assert str(usage["total_tokens"]) in page
    fragment = auth_client.get(reverse("ai-home"), **HTMX).content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="ai-status">')
    assert "<html" not in fragment


def test_run_form_makes_a_draft_with_an_estimate_and_sends_nothing(
    auth_client, library, fake_openai
):
    response = auth_client.post(
        reverse("ai-run-create"), {"tag": library.objects["inbox"], "skip_suggested": "on"}
    )
    run = ReviewRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "ai-run-detail", args=[run.pk]
    )
    page = auth_client.get(response["Location"]).content.decode()
    assert "2</strong> documents will be sent" in page
    assert "1 with a protected tag" in page
    assert "Send 2 documents" in page
    assert not fake_openai.completions()


def test_run_form_with_nothing_to_send_says_why(auth_client, library):
    response = auth_client.post(reverse("ai-run-create"), {"untagged": "on"}, follow=True)
    assert "No document to send" in response.content.decode()
    assert not ReviewRun.objects.exists()


def test_documents_list_selection_makes_a_run_of_exactly_those(auth_client, library):
    page = auth_client.get(reverse("document-list")).content.decode()
    assert 'name="document_ids"' in page
    auth_client.post(
        reverse("ai-run-create"), {"document_ids": [library.ids["letter"]], "skip_suggested": ""}
    )
    run = ReviewRun.objects.get()
    assert list(run.suggestions.values_list("paperless_id", flat=True)) == [library.ids["letter"]]


def test_run_detail_full_page_and_fragment(auth_client, done_run):
    url = reverse("ai-run-detail", args=[done_run.pk])
    page = auth_client.get(url).content.decode()
    assert "Review 2 documents" in page and "<html" in page
    fragment = auth_client.get(url, **HTMX).content.decode()
    assert fragment.lstrip().startswith('<section id="run"') and "<html" not in fragment


def test_starting_a_run_from_its_page_queues_the_job(auth_client, library):
    from ai_review.runs import create_run
    from ai_review.selection import Selection

    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    response = auth_client.post(reverse("ai-run-start", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ReviewRun.Status.QUEUED and run.job is not None


def test_review_page_shows_a_card_per_document_with_current_and_suggested(auth_client, done_run):
    page = auth_client.get(reverse("ai-review")).content.decode()
    assert page.count("data-card") == 2
    assert "ACME Energy invoice March 2024" in page and "scan_0042" in page
    assert "new</span>" in page  # the invented tag 'energy'
    assert "document-thumbnail" not in page and "/thumbnail/" in page
    fragment = auth_client.get(reverse("ai-review"), {"run": done_run.pk}, **HTMX).content.decode()
    assert fragment.lstrip().startswith('<div id="review">')


def test_accept_reject_and_edit_a_field_full_page_and_htmx(auth_client, done_run):
    field = _field("title")
    url = reverse("ai-field-decide", args=[field.pk])
    response = auth_client.post(url, {"decision": "accept", "next": reverse("ai-review")})
    assert response.status_code == 302
    field.refresh_from_db()
    assert field.decision == FieldSuggestion.Decision.ACCEPTED
    row = auth_client.post(url, {"decision": "reset"}, **HTMX)
    assert row.content.decode().lstrip().startswith(f'<tr id="field-{field.pk}"')
    row = auth_client.post(url, {"decision": "edit", "value": "Electricity bill March"}, **HTMX)
    field.refresh_from_db()
    assert field.decision == FieldSuggestion.Decision.ACCEPTED and field.edited
    assert field.value == "Electricity bill March"
    assert "edited" in row.content.decode()


def test_a_bad_edit_is_refused_next_to_the_field(auth_client, done_run):
    field = _field("created")
    response = auth_client.post(
        reverse("ai-field-decide", args=[field.pk]),
        {"decision": "edit", "value": "last tuesday"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "Enter the date as YYYY-MM-DD." in response.content.decode()
    field.refresh_from_db()
    assert field.decision == FieldSuggestion.Decision.PENDING


def test_accept_all_above_a_confidence_for_the_batch(auth_client, done_run):
    response = auth_client.post(reverse("ai-accept-above"), {"threshold": "80", "run": done_run.pk})
    assert response.status_code == 302
    accepted = FieldSuggestion.objects.filter(decision=FieldSuggestion.Decision.ACCEPTED)
    assert accepted.exists()
    assert all(f.confidence >= 0.8 for f in accepted)
    assert FieldSuggestion.objects.filter(
        decision=FieldSuggestion.Decision.PENDING, confidence__lt=0.8
    ).exists()


def test_accept_one_documents_suggestions_htmx_returns_the_card(auth_client, done_run):
    suggestion = done_run.suggestions.filter(status=Suggestion.Status.DONE).first()
    response = auth_client.post(
        reverse("ai-suggestion-decide", args=[suggestion.pk]),
        {"action": "accept_above", "threshold": "0.5"},
        **HTMX,
    )
    assert (
        response.content.decode()
        .lstrip()
        .startswith(f'<article class="ai-card" id="suggestion-{suggestion.pk}"')
    )
    assert not suggestion.fields.filter(decision="pending", confidence__gte=0.5).exists()


def test_apply_page_confirms_and_audit_offers_revert(auth_client, done_run, apply_plan):
    decide(field=_field("title"), decision="accept")
    response = auth_client.post(reverse("ai-apply-create"), {"run": done_run.pk})
    plan = ApplyPlan.objects.get()
    assert response["Location"] == reverse("ai-plan-detail", args=[plan.pk])
    page = auth_client.get(response["Location"]).content.decode()
    assert "Apply to 1 document" in page and "scan_" in page
    fragment = auth_client.get(response["Location"], **HTMX).content.decode()
    assert fragment.lstrip().startswith('<section id="plan"')
    auth_client.post(reverse("ai-plan-confirm", args=[plan.pk]))
    plan.refresh_from_db()
    assert plan.status == ApplyPlan.Status.QUEUED
    from tests.ai_review_fixtures import run_job

    run_job(plan.job)
    audit = auth_client.get(reverse("audit")).content.decode()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.AI_APPLIED)
    assert reverse("ai-revert", args=[entry.pk]) in audit
    assert "title: scan_" in audit
    response = auth_client.post(reverse("ai-revert", args=[entry.pk]))
    revert = ApplyPlan.objects.get(kind=ApplyPlan.Kind.REVERT)
    assert response["Location"] == reverse("ai-plan-detail", args=[revert.pk])


def test_ai_settings_page_saves_and_binds_the_key_to_the_base_url(auth_client, db):
    page = auth_client.get(reverse("ai-settings"))
    assert page.status_code == 200 and "Save AI settings" in page.content.decode()
    data = {
        "ai_base_url": "http://localhost:11434/v1",
        "ai_model": "llama3.1:8b",
        "ai_timeout_seconds": 120,
        "ai_max_input_tokens": 2000,
        "ai_max_output_tokens": 800,
        "ai_temperature": 0,
        "ai_requests_per_minute": 30,
        "ai_max_retries": 3,
        "ai_max_tags": 4,
        "ai_monthly_budget": "",
        "ai_run_document_limit": 50,
        "ai_accept_threshold": 0.9,
        "openai_api_key": "sk-local-key-abcdefghijklmnop",
        "price_table": "llama3.1:8b 0 0\ngpt-4o-mini 0.15 0.6",
    }
    response = auth_client.post(reverse("ai-settings"), data)
    assert response.status_code == 302
    config = Configuration.objects.get_solo()
    assert config.ai_model == "llama3.1:8b" and config.ai_monthly_budget is None
    assert config.ai_price_table["llama3.1:8b"] == {"input": 0.0, "output": 0.0}
    assert config.openai_api_key_url == "http://localhost:11434/v1"
    assert config.get_secret("openai_api_key") == "sk-local-key-abcdefghijklmnop"
    bad = auth_client.post(reverse("ai-settings"), {**data, "price_table": "gpt 1"}, **HTMX)
    assert bad.status_code == 422
    assert "write the model name" in bad.content.decode()
    assert bad.content.decode().lstrip().startswith('<form method="post" id="ai-settings-form"')


def test_connection_test_lists_the_models(auth_client, ai_configured):
    response = auth_client.post(reverse("ai-settings-test"), **HTMX)
    assert "model 'gpt-4o-mini' is available" in html.unescape(response.content.decode())
    Configuration.objects.get_solo().apply({"ai_model": "mistral"})
    response = auth_client.post(reverse("ai-settings-test"), follow=True)
    assert "does not list 'mistral'" in html.unescape(response.content.decode())
