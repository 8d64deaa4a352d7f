"""The one-click set-up against the fake Paperless: the two workflows made, updated, found again and
removed through its API; what would stop delivery; and the test delivery end to end over real
HTTP (the fake's webhook reaching this app's live server)."""

from __future__ import annotations

import time

import pytest

from documents.paperless import BadRequest
from webhooks import setup
from webhooks.models import WebhookEvent, WebhookSettings

pytestmark = pytest.mark.django_db

BASE = "http://dedupe.lan:8000"


@pytest.fixture
def allowed(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "dedupe.lan"]


def test_set_up_makes_two_workflows_that_call_us_with_the_secret(paperless, allowed):
    states = setup.apply(public_url=BASE)
    assert [s.ok for s in states] == [True, True]
    stored = WebhookSettings.objects.get_solo()
    secret = stored.secret()
    assert len(secret) >= 40 and secret not in stored.secret_encrypted
    workflows = sorted(paperless.state.workflows.values(), key=lambda w: w["id"])
    assert [w["id"] for w in workflows] == [stored.workflow_added_id, stored.workflow_updated_id]
    for workflow, event, trigger in zip(workflows, ("added", "updated"), (2, 3), strict=True):
        assert [t["type"] for t in workflow["triggers"]] == [trigger]
        (action,) = workflow["actions"]
        webhook = action["webhook"]
        assert action["type"] == 4
        assert webhook["url"] == f"{BASE}/webhooks/paperless/{event}/"
        assert webhook["headers"] == {"X-Dedupe-Secret": secret}
        assert (webhook["use_params"], webhook["as_json"]) == (True, True)
        assert webhook["params"]["doc_id"] == "{{ doc_id }}"
        assert webhook["include_document"] is False


def test_setting_up_again_updates_the_same_workflows(paperless, allowed):
    setup.apply(public_url=BASE)
    first = set(paperless.state.workflows)
    setup.apply(public_url="http://dedupe.lan:9000")
    assert set(paperless.state.workflows) == first
    urls = {w["actions"][0]["webhook"]["url"] for w in paperless.state.workflows.values()}
    assert urls == {
        "http://dedupe.lan:9000/webhooks/paperless/added/",
        "http://dedupe.lan:9000/webhooks/paperless/updated/",
    }
    assert len(paperless.requests_for(method="PUT", path="/api/workflows/*")) == 2


def test_workflows_are_found_by_name_when_our_ids_are_lost_and_made_again_when_deleted(
    paperless, allowed
):
    setup.apply(public_url=BASE)
    WebhookSettings.objects.update(workflow_added_id=None, workflow_updated_id=None)
    setup.apply()
    assert len(paperless.state.workflows) == 2
    deleted = WebhookSettings.objects.get_solo().workflow_added_id
    del paperless.state.workflows[deleted]
    states = setup.apply()
    assert len(paperless.state.workflows) == 2 and all(s.ok for s in states)
    assert WebhookSettings.objects.get_solo().workflow_added_id != deleted


def test_the_state_says_what_is_wrong_in_paperless(paperless, allowed):
    setup.apply(public_url=BASE)
    stored = WebhookSettings.objects.get_solo()
    with paperless.state.lock:
        paperless.state.workflows[stored.workflow_added_id]["enabled"] = False
        webhook = paperless.state.workflows[stored.workflow_updated_id]["actions"][0]["webhook"]
        webhook["headers"] = {"X-Dedupe-Secret": "old"}
    from documents.connection import get_client

    with get_client() as client:
        added, updated = setup.workflow_states(client, stored)
    assert not added.ok and added.problems == ["Switched off in Paperless."]
    assert not updated.ok and "header is not our secret" in updated.problems[0]


def test_remove_deletes_both_workflows(paperless, allowed):
    setup.apply(public_url=BASE)
    assert setup.remove() == 2
    assert paperless.state.workflows == {}
    stored = WebhookSettings.objects.get_solo()
    assert stored.workflow_added_id is None and stored.set_up_at is None
    assert setup.remove() == 0  # nothing left: no error


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the URL"),
        ("ftp://dedupe.lan/", "http:// or https://"),
        ("http://user:pw@dedupe.lan", "no user name"),
        ("http://dedupe.lan/" + "x" * 240, "Paperless takes 256"),
        ("http://dedupe.lan/" + "x" * 190, "at most 200 are kept"),
        ("http://dedupe.lan:99999", "not a valid URL"),
    ],
)
def test_a_url_paperless_would_refuse_is_refused_first(paperless, url, message):
    with pytest.raises(setup.SetupError, match=message):
        setup.apply(public_url=url)
    assert paperless.state.workflows == {}


def test_a_refusal_from_paperless_is_said_in_a_sentence(paperless, allowed):
    paperless.fail_next(1, status=400, path="/api/workflows/")
    with pytest.raises(setup.SetupError, match="Paperless refused the workflow: Scripted failure"):
        setup.apply(public_url=BASE)
    capture_51 = {
        "actions": [
            {"webhook": {"url": ["URI scheme 'ftp' is not allowed. Allowed schemes: https, http"]}}
        ]
    }
    text = setup._bad_request_text(BadRequest("x", errors=capture_51))
    assert text == "URI scheme 'ftp' is not allowed. Allowed schemes: https, http"


def test_the_fake_refuses_a_bad_url_like_capture_51(paperless):
    from documents.connection import get_client

    body = setup.workflow_body(event="added", base="ftp://example.org", secret="s")
    with get_client() as client, pytest.raises(BadRequest) as refused:
        client.create_workflow(body)
    assert refused.value.errors == {
        "actions": [
            {"webhook": {"url": ["URI scheme 'ftp' is not allowed. Allowed schemes: https, http"]}}
        ]
    }


def test_the_url_checks_name_what_would_stop_delivery(settings):
    settings.ALLOWED_HOSTS = ["dedupe.lan", "127.0.0.1"]
    assert setup.url_checks("")[0].level == "error"
    unknown = setup.url_checks("http://elsewhere.example:8000")
    assert unknown[0].level == "error" and "DEDUPE_ALLOWED_HOSTS" in unknown[0].text
    loopback = setup.url_checks("http://127.0.0.1:8000")
    texts = " ".join(c.text for c in loopback)
    assert [c.level for c in loopback] == ["warning", "info", "info"]
    assert "loopback" in loopback[0].text
    assert "PAPERLESS_WEBHOOKS_ALLOW_INTERNAL_REQUESTS" in texts
    assert "PAPERLESS_WEBHOOKS_ALLOWED_PORTS, it must include 8000" in texts
    assert setup.url_checks("https://dedupe.lan") == [] or all(
        c.level != "error" for c in setup.url_checks("https://dedupe.lan")
    )


def test_a_stopped_paperless_worker_is_reported(paperless):
    from documents.connection import get_client

    paperless.celery_status = "ERROR"
    with get_client() as client:
        (check,) = setup.paperless_checks(client)
    assert check.level == "error" and "Celery" in check.text


@pytest.mark.django_db(transaction=True)
def test_the_url_check_knows_this_app_from_another_server(live_server, paperless):
    assert setup.ping(live_server.url).level == "ok"
    other = setup.ping(paperless.url)  # answers, but it is not us
    assert other.level == "warning" and "404" in other.text


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_the_test_delivery_arrives_end_to_end(live_server, paperless, run_webhook_jobs):
    paperless.seed(documents=3)
    setup.apply(public_url=live_server.url)
    titles = {d.id: d.title for d in paperless.state.documents.values()}
    record = setup.start_delivery_test()
    touched = paperless.state.documents[record["paperless_id"]]
    assert touched.title == titles[touched.id]  # only "modified" changed
    _wait_for(lambda: setup.delivery_test_result().state == "received")
    result = setup.delivery_test_result()
    assert 0 <= result.seconds_after_change < 10
    run_webhook_jobs()
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert "test delivery" in event.detail
    (delivery,) = paperless.webhook_deliveries
    assert delivery.attempts == ["202"]


@pytest.mark.django_db(transaction=True)
def test_a_paperless_refusing_internal_addresses_sends_nothing_and_the_test_says_so(
    live_server, paperless, monkeypatch
):
    paperless.seed(documents=1)
    paperless.webhooks_allow_internal = False  # PAPERLESS_WEBHOOKS_ALLOW_INTERNAL_REQUESTS=false
    setup.apply(public_url=live_server.url)
    monkeypatch.setattr(setup, "TEST_WAIT", setup.timedelta(seconds=0.5))
    setup.start_delivery_test()
    assert setup.delivery_test_result().state == "waiting"
    paperless.wait_for_deliveries(1)
    assert paperless.webhook_deliveries[0].attempts == ["blocked"]
    time.sleep(0.6)
    assert setup.delivery_test_result().state == "missing"
    assert not WebhookEvent.objects.exists()


def test_a_new_secret_replaces_the_old_only_once_paperless_took_it(paperless, allowed):
    setup.apply(public_url=BASE)
    old = WebhookSettings.objects.get_solo().secret()
    paperless.fail_next(2, status=500, path="/api/workflows/*")
    from documents import connection

    with pytest.MonkeyPatch.context() as patch:
        quick = connection.make_client
        patch.setattr(connection, "make_client", lambda **kw: quick(**{**kw, "max_retries": 0}))
        with pytest.raises(setup.SetupError):
            setup.rotate_secret()
    assert WebhookSettings.objects.get_solo().secret() == old  # deliveries still accepted
    setup.rotate_secret()
    new = WebhookSettings.objects.get_solo().secret()
    assert new != old
    sent = {
        w["actions"][0]["webhook"]["headers"]["X-Dedupe-Secret"]
        for w in paperless.state.workflows.values()
    }
    assert sent == {new}
