from __future__ import annotations

import pytest
from django.urls import reverse

from dedupe_project.models import CONTENT_FACTORS, FACTORS, Configuration
from duplicates.engine.scoring import DEFAULT_WEIGHTS

pytestmark = pytest.mark.django_db


def test_get_returns_defaults_on_a_fresh_install(auth_client):
    body = auth_client.get("/api/config").json()
    assert body["groups_per_page"] == 50
    assert body["dry_run"] is True
    assert body["paperless_token_set"] is False
    assert set(body["factor_weights"]) == set(DEFAULT_WEIGHTS)
    assert body["factor_weights"]["fuzzy"] == {"weight": DEFAULT_WEIGHTS["fuzzy"], "enabled": True}


def test_update_returns_the_whole_configuration(auth_client):
    response = auth_client.patch(
        "/api/config", data={"groups_per_page": 200}, content_type="application/json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["groups_per_page"] == 200
    assert "duplicate_threshold" in body and "factor_weights" in body
    assert Configuration.objects.get_solo().groups_per_page == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"groups_per_page": 5}, "groups_per_page"),
        ({"groups_per_page": 501}, "groups_per_page"),
        ({"duplicate_threshold": 1.5}, "duplicate_threshold"),
        ({"sync_interval_minutes": 3}, "sync_interval_minutes"),
        ({"paperless_url": "not a url"}, "paperless_url"),
        ({"groups_per_page": "many"}, "groups_per_page"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_update_rejects_nonsense_with_field_errors_and_keeps_the_old_values(
    auth_client, changes, field
):
    before = Configuration.objects.get_solo().as_dict()
    response = auth_client.patch("/api/config", data=changes, content_type="application/json")
    # An unknown setting is refused too: a typo must not look saved.
    assert response.status_code == 422
    body = response.json()
    assert body["code"] in ("validation_error", "invalid_settings")
    assert field in body["field_errors"], body
    after = Configuration.objects.get_solo().as_dict()
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


def test_factor_weights_must_leave_one_content_factor_on(auth_client):
    weights = {name: {"weight": 0.2, "enabled": name not in CONTENT_FACTORS} for name in FACTORS}
    response = auth_client.post(
        "/api/config/validate", data={"factor_weights": weights}, content_type="application/json"
    )
    assert response.json()["valid"] is False
    assert "factor_weights" in response.json()["field_errors"]


def test_validate_does_not_save(auth_client):
    response = auth_client.post(
        "/api/config/validate", data={"groups_per_page": 100}, content_type="application/json"
    )
    assert response.json() == {"valid": True, "field_errors": {}}
    assert Configuration.objects.get_solo().groups_per_page == 50


def test_reset_and_defaults(auth_client):
    auth_client.patch(
        "/api/config",
        data={"groups_per_page": 300, "dry_run": False},
        content_type="application/json",
    )
    assert auth_client.get("/api/config/defaults").json()["groups_per_page"] == 50
    body = auth_client.post("/api/config/reset").json()
    assert body["groups_per_page"] == 50 and body["dry_run"] is True


def _settings_post(**overrides):
    data = {
        "duplicate_threshold": "0.8",
        "groups_per_page": "100",
        "dry_run": "on",
        "dry_run_tag_name": "dedupe:would-delete",
        "sync_interval_minutes": "30",
        "paperless_requests_per_second": "0",
        "paperless_timeout_seconds": "30",
        "paperless_file_workers": "4",
        "thumbnail_cache_mb": "512",
    }
    for name in FACTORS:
        data[f"factor_{name}_enabled"] = "on"
        data[f"factor_{name}_weight"] = "0.2"
    data.update(overrides)
    return data


def test_settings_page_saves_valid_form(auth_client):
    data = _settings_post(factor_filename_enabled="")
    del data["factor_filename_enabled"]
    response = auth_client.post(reverse("settings"), data)
    assert response.status_code == 302
    config = Configuration.objects.get_solo()
    assert config.groups_per_page == 100
    assert config.factor_weights["filename"] == {"weight": 0.2, "enabled": False}
    scoring = config.scoring_config()
    assert "filename" not in scoring.enabled and "fuzzy" in scoring.enabled
    assert scoring.weight("filename") == 0.0 and scoring.threshold == 0.8


def test_settings_saved_with_htmx_answers_the_form_with_the_confirmation_in_it(auth_client):
    response = auth_client.post(
        reverse("settings"), _settings_post(groups_per_page="75"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="settings-form"' in html
    assert 'id="settings-messages"' in html and "Settings saved." in html
    assert 'value="75"' in html
    assert Configuration.objects.get_solo().groups_per_page == 75


def test_settings_saved_without_javascript_redirects_and_the_page_confirms(auth_client):
    response = auth_client.post(reverse("settings"), _settings_post(), follow=True)
    assert response.redirect_chain[-1][1] == 302
    assert "Settings saved." in response.content.decode()


def test_settings_page_shows_field_errors_full_page_and_htmx(auth_client):
    data = _settings_post(groups_per_page="7")
    full = auth_client.post(reverse("settings"), data)
    assert full.status_code == 422
    assert b"<html" in full.content and b"Ensure this value is greater than or equal to 10" in (
        full.content
    )
    partial = auth_client.post(reverse("settings"), data, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200  # swapped in place by htmx, errors next to the fields
    assert b"<html" not in partial.content
    assert b'id="settings-form"' in partial.content
    assert b"Nothing was saved" in partial.content
    assert b"Ensure this value is greater than or equal to 10" in partial.content
    assert Configuration.objects.get_solo().groups_per_page == 50


def test_weights_above_the_maximum_are_rejected(auth_client):
    weights = {name: {"weight": 1.0, "enabled": True} for name in FACTORS}
    weights["fuzzy"]["weight"] = 50
    response = auth_client.patch(
        "/api/config", data={"factor_weights": weights}, content_type="application/json"
    )
    assert response.status_code == 422
    # The schema names the very weight that is too large.
    assert response.json()["field_errors"]["factor_weights.fuzzy.weight"] == [
        "Input should be less than or equal to 5"
    ]


def test_changing_weights_or_threshold_queues_a_rescore_and_other_settings_do_not(
    auth_client, django_capture_on_commit_callbacks
):
    from processing.models import Job

    with django_capture_on_commit_callbacks(execute=False):
        auth_client.patch(
            "/api/config", data={"groups_per_page": 120}, content_type="application/json"
        )
    assert not Job.objects.filter(kind="analysis").exists()
    weights = Configuration.objects.get_solo().factor_weights
    weights["filename"]["enabled"] = False
    with django_capture_on_commit_callbacks(execute=False):
        auth_client.patch(
            "/api/config", data={"factor_weights": weights}, content_type="application/json"
        )
    assert Job.objects.filter(kind="analysis").count() == 1
    Job.objects.update(status=Job.Status.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=False):
        auth_client.post(reverse("settings"), _settings_post(duplicate_threshold="0.9"))
    assert Job.objects.filter(kind="analysis").count() == 2
