"""Dashboard figures: documents, groups by status, what resolving the open groups would remove and
the space it holds, last sync and analysis, the confidence histogram, "Analyse now"."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from documents.models import SyncState
from duplicates.models import AnalysisStatus, DuplicateGroup
from duplicates.stats import confidence_histogram, dashboard_stats
from duplicates.tests.groupfactory import document, factors, make_group, weaker
from processing.models import Job


@pytest.fixture
def library(db):
    document()  # not in any group
    new = make_group(
        others=[{"original_size": 1_000, "archive_size": 500}, {"original_size": 2_000}],
        pair_factors=[factors(), factors(fuzzy=0.9, jaccard=0.6)],
    )
    reviewed = make_group(status=DuplicateGroup.Status.REVIEWED, others=[{"original_size": 4_000}])
    make_group(status=DuplicateGroup.Status.RESOLVED, others=[{"original_size": 8_000}])
    make_group(status=DuplicateGroup.Status.NOT_DUPLICATE, others=[{"original_size": 16_000}])
    return {"new": new, "reviewed": reviewed}


def test_counts_groups_by_status_and_what_would_be_removed(library):
    stats = dashboard_stats()

    assert stats["documents"] == 1 + 3 + 2 + 2 + 2
    assert stats["groups_by_status"] == {
        "new": 1, "reviewed": 1, "resolved": 1, "not_duplicate": 1
    }  # fmt: skip
    assert stats["groups"] == 4 and stats["groups_open"] == 2
    # non-primary members of the open groups only, originals and archives
    assert stats["removable_documents"] == 3
    assert stats["removable_bytes"] == 1_000 + 500 + 2_000 + 4_000


def test_removed_members_and_the_chosen_primary_are_not_counted(library):
    group = library["new"]
    others = [m.document_id for m in group.members.exclude(document_id=group.primary_id)]
    group.remove_member(others[0])
    group.choose_primary(others[1])

    stats = dashboard_stats()

    # left in the new group: the old primary (100 KB) now to remove; the chosen one kept
    assert stats["removable_documents"] == 2
    assert stats["removable_bytes"] == 100_000 + 4_000


def test_histogram_counts_open_groups_per_bin(db):
    below = factors(**weaker(0.86, 0.95))
    for pair in (factors(), factors(fuzzy=0.97), below):  # ~1.0, ~1.0, 0.86-0.95
        make_group(pair_factors=[pair])
    make_group(status=DuplicateGroup.Status.RESOLVED)

    bins = confidence_histogram()

    assert sum(b.count for b in bins) == 3
    assert bins[-1].high == 1.0 and bins[-1].count == 2 and bins[-1].percent == 100
    assert any(b.count == 1 and b.percent == 50 for b in bins)
    assert bins[-1].query.endswith("confidence_max=1.0000")


def test_dashboard_page_shows_the_figures_histogram_and_analyse_button(auth_client, library):
    state = SyncState.objects.get_solo()
    state.last_success_finished_at = timezone.now()
    state.save()
    status = AnalysisStatus.objects.get_solo()
    status.last_run_at = timezone.now()
    status.save()

    body = auth_client.get("/").content.decode()

    assert 'id="duplicate-stats"' in body
    assert re.search(r'id="removable">3 documents, 7\.3\xa0KB', body)
    assert '<a href="/duplicates/?status=new">1</a>' in body
    assert body.count('class="column h-') >= 1
    assert 'href="/duplicates/?status=open&amp;confidence_min=' in body
    assert 'action="/duplicates/analyse/"' in body and "Analyse now" in body
    assert "Last sync</dt><dd>0\xa0minutes ago" in body


def test_analyse_now_on_the_dashboard_queues_a_run_and_comes_back(auth_client, db):
    response = auth_client.post("/duplicates/analyse/", {"next": "dashboard"})

    assert response.status_code == 302 and response["Location"] == "/"
    assert Job.objects.filter(kind=Job.Kind.ANALYSIS).count() == 1


def test_empty_library_dashboard(auth_client, db):
    body = auth_client.get("/").content.decode()
    assert "No open groups." in body and 'id="removable">0 documents' in body


def test_stats_api_matches_the_dashboard(auth_client, library):
    data = auth_client.get("/api/stats").json()

    assert data["removable_documents"] == 3 and data["removable_bytes"] == 7_500
    assert data["groups_by_status"]["reviewed"] == 1
    assert data["documents"] == 10
    assert sum(b["count"] for b in data["histogram"]) == 2
    assert data["last_analysis_job_id"] is None


def test_stats_api_needs_authentication(client, db):
    response = client.get("/api/stats")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def _open_groups_shown(client, url: str = "/api/stats") -> int:
    return client.get(url).json()["groups_open"]


def test_figures_are_shared_for_a_while_and_a_decision_shows_at_once(auth_client, library):
    assert _open_groups_shown(auth_client) == 2
    make_group()  # written behind the app's back (as a running sync would)
    assert _open_groups_shown(auth_client) == 2  # the cached figures
    group = library["reviewed"]
    response = auth_client.post(
        f"/api/groups/{group.pk}/status",
        data={"status": "resolved"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert _open_groups_shown(auth_client) == 2  # 3 open, less the one just resolved


def test_a_change_through_an_api_token_shows_at_once(client, admin_user, library):
    from dedupe_project.models import ApiToken

    headers = {"Authorization": f"Bearer {ApiToken.issue(user=admin_user, name='ci')[1]}"}
    assert client.get("/api/stats", headers=headers).json()["groups_open"] == 2
    make_group()  # behind the app's back: the figures stay shared
    assert client.get("/api/stats", headers=headers).json()["groups_open"] == 2
    response = client.post(
        f"/api/groups/{library['reviewed'].pk}/status",
        data={"status": "resolved"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    assert client.get("/api/stats", headers=headers).json()["groups_open"] == 2  # 3 less 1


def test_a_finished_job_forgets_the_figures(auth_client, library):
    from processing import jobs

    assert _open_groups_shown(auth_client) == 2
    make_group()
    job = Job.objects.create(kind=Job.Kind.DIAGNOSTICS, status=Job.Status.RUNNING)
    jobs._finish(job, status=Job.Status.SUCCEEDED)
    assert _open_groups_shown(auth_client) == 3


def test_the_cache_can_be_switched_off(auth_client, library, settings):
    settings.STATS_CACHE_SECONDS = 0
    assert _open_groups_shown(auth_client) == 2
    make_group()
    assert _open_groups_shown(auth_client) == 3
