"""What the fuzzer found, kept as plain tests: each answer is a 4xx in the one error shape, never a
server error, and nothing bad is stored."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from dedupe_project.models import Configuration
from processing.models import Job

pytestmark = pytest.mark.django_db


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "detail", "field_errors"}, body
    return body


def _patch(client, body: str):
    return client.generic("PATCH", "/api/config", data=body, content_type="application/json")


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/documents?q=S2%00x", "q"),
        ("/api/jobs?limit=9223372036854775808", "limit"),
        ("/api/jobs?offset=99999999999999999999", "offset"),
        ("/api/groups/99999999999999999999999", "group_id"),
        ("/api/groups?confidence_min=nan", "confidence_min"),
        ("/api/groups?min_fuzzy=inf", "min_fuzzy"),
    ],
)
def test_queries_no_field_can_hold_are_refused(auth_client, url, field):
    body = _error(auth_client.get(url), 422)
    assert body["code"] == "validation_error"
    assert field in body["field_errors"], body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"paperless_url": null}', "paperless_url"),
        ('{"dry_run_tag_name": "a\\u0000b"}', "dry_run_tag_name"),
        ('{"dry_run_tag_name": "\\ud800"}', "dry_run_tag_name"),
        ('{"groups_per_page": 99999999999999999999999}', "groups_per_page"),
        ('{"groups_per_page": "20"}', "groups_per_page"),
        ('{"colour": "blue"}', "colour"),
    ],
)
def test_configuration_values_no_setting_can_hold_are_refused(auth_client, body, field):
    before = Configuration.objects.get_solo().as_dict()
    error = _error(_patch(auth_client, body), 422)
    assert field in error["field_errors"], error
    assert Configuration.objects.get_solo().as_dict() == before


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_not_json_and_are_refused(auth_client, number):
    error = _error(_patch(auth_client, f'{{"duplicate_threshold": {number}}}'), 400)
    assert "not valid JSON" in error["detail"]
    assert json.loads(auth_client.get("/api/config").content)  # still JSON


def test_a_non_finite_threshold_never_reaches_the_database(auth_client):
    config = Configuration.objects.get_solo()
    with pytest.raises(ValidationError, match="finite"):  # NaN passes every range check
        config.apply({"duplicate_threshold": float("nan")})
    with pytest.raises(ValidationError, match="less than or equal"):
        config.apply({"duplicate_threshold": float("inf")})
    assert Configuration.objects.get_solo().duplicate_threshold == config.duplicate_threshold


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://0.0.0.0:8000",
        "http://metadata.google.internal",
        "http://admin:secret@paperless.lan:8000",
        "ftp://paperless.lan",
    ],
)
def test_paperless_urls_the_connection_guard_refuses_are_not_saved(auth_client, url):
    error = _error(_patch(auth_client, json.dumps({"paperless_url": url})), 422)
    assert error["code"] == "invalid_settings"
    assert "paperless_url" in error["field_errors"]
    assert "secret" not in json.dumps(error)
    assert Configuration.objects.get_solo().paperless_url == ""


def test_a_paperless_url_is_stored_as_the_client_will_use_it(auth_client):
    response = _patch(auth_client, '{"paperless_url": "http://paperless.lan:8000/api/"}')
    assert response.status_code == 200, response.content
    assert response.json()["paperless_url"] == "http://paperless.lan:8000"


def test_unknown_routes_and_methods_answer_in_the_error_shape(auth_client):
    assert _error(auth_client.get("/api/no-such-thing"), 404)["code"] == "not_found"
    assert _error(auth_client.get("/api/groups/null,null/status"), 404)["code"] == "not_found"
    response = auth_client.delete("/api/config")
    assert _error(response, 405)["code"] == "method_not_allowed"
    assert "PATCH" in response["Allow"]


def test_one_diagnostics_job_at_a_time(auth_client):
    first = auth_client.post("/api/jobs/diagnostics")
    assert first.status_code == 202
    second = _error(auth_client.post("/api/jobs/diagnostics"), 409)
    assert second["code"] == "diagnostics_running"
    assert Job.objects.filter(kind=Job.Kind.DIAGNOSTICS).count() == 1
    Job.objects.update(status=Job.Status.SUCCEEDED)
    assert auth_client.post("/api/jobs/diagnostics").status_code == 202


def test_the_diagnostics_button_shows_the_running_job_instead_of_starting_another(auth_client):
    running = Job.objects.create(kind=Job.Kind.DIAGNOSTICS, status=Job.Status.RUNNING)
    response = auth_client.post("/jobs/diagnostics/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/jobs/{running.pk}/")
    assert Job.objects.filter(kind=Job.Kind.DIAGNOSTICS).count() == 1


def test_the_schema_has_one_model_per_name_and_documents_the_group_detail(auth_client):
    schema = auth_client.get("/api/openapi.json").json()
    detail = schema["components"]["schemas"]["GroupDetailOut"]
    pair = schema["components"]["schemas"]["PairOut"]
    assert pair["properties"]["factors"]["type"] == "object"
    compared = schema["components"]["schemas"]["ComparedPairOut"]
    assert "not_duplicate" in compared["properties"]
    assert detail["properties"]["pairs"]["items"]["$ref"].endswith("/PairOut")
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            assert "401" in operation["responses"], (method, path)
