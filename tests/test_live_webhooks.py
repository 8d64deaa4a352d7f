"""Done means: with the one-click set-up against the fake Paperless, a document added there is
mirrored and analysed with no manual sync, and a duplicate of it shows in the groups list within
10 s. The real app in a subprocess (its worker inside it, or a separate worker on Redis), the
fake's workflows calling it over real HTTP."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(predicate, *, timeout: float, what: str, app) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not within {timeout} s\n{app.output()}")
        time.sleep(0.1)
    return time.monotonic() - started


def _jobs_done(client) -> bool:
    jobs = client.get("/api/jobs", params={"limit": 50}).json()["items"]
    return bool(jobs) and all(job["status"] not in ("queued", "running") for job in jobs)


def test_a_document_added_in_paperless_shows_as_a_duplicate_within_10_s(
    live_app, admin_user, fake_paperless
):
    fake = fake_paperless
    fake.seed(documents=40, duplicate_ratio=0.0)
    client = live_app.login()
    csrf = {"X-CSRFToken": client.cookies["csrftoken"]}
    saved = client.post(
        "/settings/connection/",
        data={"url": fake.url, "token": fake.token, "save": "1"},
        headers=csrf,
    )
    assert saved.status_code == 302, saved.text[:2000]
    # The library as it is: one sync and its analysis (the set-up's starting point).
    assert client.post("/api/sync", headers=csrf).status_code == 202
    _wait(lambda: _jobs_done(client), timeout=60, what="first sync and analysis", app=live_app)
    assert client.get("/api/stats").json()["documents"] == 40

    # One click on the set-up page, with the URL Paperless should call.
    setup = client.post("/webhooks/apply/", data={"public_url": live_app.url}, headers=csrf)
    assert setup.status_code == 302
    assert len(fake.state.workflows) == 2
    page = client.get("/webhooks/").text
    assert page.count(">working<") == 2, page

    # A re-scan of document 17 arrives in Paperless: nobody syncs.
    original = fake.state.documents[17]
    added = time.monotonic()
    copy = fake.state.add_document(
        title="Scan of the same letter", blob_key=original.blob_key, image_seed=original.image_seed
    )
    shown = _wait(
        lambda: f"#{copy.id} " in client.get("/duplicates/").text,
        timeout=10,
        what="the duplicate in the groups list",
        app=live_app,
    )
    assert time.monotonic() - added < 10
    listing = client.get("/duplicates/").text
    assert "#17 " in listing
    (delivery,) = fake.webhook_deliveries
    assert delivery.attempts == ["202"]
    document = client.get(f"/api/documents/{copy.id}").json()
    assert document["content"] == original.content
    events = client.get("/webhooks/events/", params={"duplicates": "1"}).text
    assert f"#{copy.id}" in events and "Analysed" in events
    print(f"duplicate shown {shown:.2f} s after the document was added")
