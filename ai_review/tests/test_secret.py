"""The AI key never appears in a log line, a page, an API answer or a stored error."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest
from django.urls import reverse

from ai_review.models import ApplyPlan, ReviewRun, Suggestion
from ai_review.runs import create_run, start_run
from ai_review.selection import Selection
from dedupe_project.logging import build_logging_config
from dedupe_project.models import Configuration
from processing.models import Job
from tests.ai_review_fixtures import run_job

pytestmark = pytest.mark.django_db
SECRET = "sk-proj-SECRET-never-shown-0123456789abcdef"


@pytest.fixture
def captured_logs():
    """Every record at DEBUG (the SDK's and httpx's too) through the app's own formatter."""
    config = build_logging_config(level="DEBUG", fmt="json")
    formatter = logging.config.DictConfigurator(config).configure_formatter(
        config["formatters"]["structured"]
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    names = ["openai", "httpx", "httpx2", "httpcore", "ai_review", "processing"]
    levels = {name: logging.getLogger(name).level for name in names}
    root.addHandler(handler)
    old_root = root.level
    root.setLevel(logging.DEBUG)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_root)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _pages(client, run: ReviewRun) -> str:
    urls = [
        reverse("ai-home"),
        reverse("ai-settings"),
        reverse("ai-review"),
        reverse("ai-run-detail", args=[run.pk]),
        reverse("settings"),
        reverse("audit"),
        reverse("history"),
        "/api/config",
        "/api/ai/status",
        f"/api/ai/runs/{run.pk}",
        "/api/jobs",
        "/metrics",
    ]
    urls += [reverse("ai-plan-detail", args=[p.pk]) for p in ApplyPlan.objects.all()]
    urls += [reverse("job-detail", args=[j.pk]) for j in Job.objects.all()]
    out = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        out.append(response.content.decode())
    return "\n".join(out)


def test_key_never_in_logs_pages_api_or_errors(auth_client, library, fake_openai, captured_logs):
    fake_openai.key = SECRET
    auth_client.post(
        reverse("ai-settings"),
        {
            "ai_base_url": fake_openai.url,
            "ai_model": "gpt-4o-mini",
            "ai_timeout_seconds": 5,
            "ai_max_input_tokens": 3000,
            "ai_max_output_tokens": 1000,
            "ai_temperature": 0,
            "ai_requests_per_minute": 0,
            "ai_max_retries": 1,
            "ai_max_tags": 5,
            "ai_monthly_budget": "5",
            "ai_run_document_limit": 100,
            "ai_accept_threshold": 0.8,
            "openai_api_key": SECRET,
            "price_table": "gpt-4o-mini 0.15 0.6",
        },
    )
    assert Configuration.objects.get_solo().get_secret("openai_api_key") == SECRET
    # A run with a retry (the SDK logs it), a connection test, then a key the endpoint refuses:
    # the fake echoes the refused key in its error, as OpenAI does in part.
    fake_openai.fail_next(1, status=500)
    run = create_run(selection=Selection(tag=library.objects["inbox"]))
    run_job(start_run(run=run))
    assert all(r.headers["authorization"] == f"Bearer {SECRET}" for r in fake_openai.completions())
    auth_client.post(reverse("ai-settings-test"))
    fake_openai.key = "sk-another-key-the-endpoint-wants-000"
    again = create_run(selection=Selection(tag=library.objects["inbox"], skip_suggested=False))
    job = run_job(start_run(run=again))
    again.refresh_from_db()
    assert job.status == Job.Status.FAILED and "refused the key" in again.error

    logs = captured_logs.getvalue()
    assert "chat/completions" in logs or "Retrying request" in logs  # the logs were captured
    assert SECRET not in logs
    assert SECRET not in _pages(auth_client, run)
    stored = [again.error, job.error, *Suggestion.objects.values_list("reason", flat=True)]
    stored += list(Job.objects.values_list("error", flat=True))
    assert not any(SECRET in text for text in stored)
    assert SECRET[-4:] in auth_client.get(reverse("ai-settings")).content.decode()  # the hint
