"""``/api/ai``: the same flow as the pages, through the JSON API."""

from __future__ import annotations

import pytest

from ai_review.models import ApplyPlan, FieldSuggestion, ReviewRun
from tests.ai_review_fixtures import run_job

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_run_review_and_apply_through_the_api(auth_client, library, paperless):
    status = auth_client.get("/api/ai/status").json()
    assert status["model"] == "gpt-4o-mini" and status["key_sent"] is True
    response = auth_client.post(
        "/api/ai/runs", {"tag": library.objects["inbox"], "start": True}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["estimate"]["documents"] == 2 and body["status"] == "queued"
    run_job(ReviewRun.objects.get(pk=body["id"]).job)
    run = auth_client.get(f"/api/ai/runs/{body['id']}").json()
    assert run["status"] == "done" and run["usage"]["total_tokens"] > 0
    items = auth_client.get("/api/ai/suggestions", {"run": body["id"]}).json()
    assert items["count"] == 2
    title = next(
        f
        for s in items["items"]
        for f in s["fields"]
        if f["field"] == "title" and s["paperless_id"] == library.ids["invoice"]
    )
    decided = auth_client.post(
        f"/api/ai/fields/{title['id']}",
        {"decision": "accept", "value": "Power bill"},
        content_type=JSON,
    )
    assert decided.json()["edited"] is True
    bad = auth_client.post(
        f"/api/ai/fields/{title['id']}", {"decision": "maybe"}, content_type=JSON
    )
    # The schema lists the decisions, so an unknown one breaks it: validation_error, by field.
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    assert "decision" in bad.json()["field_errors"]
    plan = auth_client.post("/api/ai/plans", {"run": body["id"]}, content_type=JSON).json()
    assert len(plan["items"]) == 1 and plan["status"] == "draft"
    confirmed = auth_client.post(f"/api/ai/plans/{plan['id']}/confirm", content_type=JSON)
    assert confirmed.status_code == 202
    run_job(ApplyPlan.objects.get(pk=plan["id"]).job)
    assert paperless.state.get_document(library.ids["invoice"]).title == "Power bill"
    again = auth_client.post(f"/api/ai/plans/{plan['id']}/confirm", content_type=JSON)
    assert again.status_code == 409 and again.json()["code"] == "plan_already_confirmed"
    entry = auth_client.get(f"/api/ai/plans/{plan['id']}").json()["items"][0]["audit_entry_id"]
    revert = auth_client.post(f"/api/ai/audit/{entry}/revert", content_type=JSON)
    assert revert.status_code == 201 and revert.json()["kind"] == "revert"


def test_accept_above_and_errors_in_the_common_shape(auth_client, suggest, library):
    run = suggest()
    response = auth_client.post(
        "/api/ai/accept-above", {"threshold": 0.8, "run": run.pk}, content_type=JSON
    )
    assert response.json()["count"] == FieldSuggestion.objects.filter(decision="accepted").count()
    assert response.json()["count"] > 0
    bad = auth_client.post("/api/ai/accept-above", {"threshold": 3}, content_type=JSON)
    assert bad.status_code == 422 and set(bad.json()) == {"code", "detail", "field_errors"}
    empty = auth_client.post("/api/ai/runs", {"untagged": True}, content_type=JSON)
    assert empty.status_code == 422 and empty.json()["code"] == "empty_selection"


def test_config_api_edits_the_ai_settings_and_never_returns_the_key(auth_client, db):
    response = auth_client.patch(
        "/api/config",
        {
            "ai_base_url": "http://localhost:11434/v1",
            "ai_model": "qwen2.5:7b",
            "openai_api_key": "sk-api-key-abcdefghijklmnopqrst",
            "ai_monthly_budget": None,
        },
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ai_model"] == "qwen2.5:7b" and body["ai_monthly_budget"] is None
    assert body["openai_api_key_url"] == "http://localhost:11434/v1"
    assert "sk-api-key-abcdefghijklmnopqrst" not in response.content.decode()
    bad = auth_client.patch(
        "/api/config", {"ai_price_table": {"x": {"input": -1, "output": 0}}}, content_type=JSON
    )
    assert bad.status_code == 422  # the schema names the very price: ai_price_table.x.input
    assert any(name.startswith("ai_price_table") for name in bad.json()["field_errors"])
