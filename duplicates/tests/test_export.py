"""Export of groups (command, download, API), the groups page and starting an analysis."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command

from duplicates.engine import FACTORS
from duplicates.models import DuplicateGroup
from duplicates.tests.conftest import LETTER, feature, page, store_documents
from processing.models import Job


@pytest.fixture
def grouped(analyse) -> DuplicateGroup:
    store_documents(
        [feature(1, LETTER, title="Brief"), feature(2, LETTER + " Kopie", title="Brief (Scan)"),
         feature(3, page(3))]
    )  # fmt: skip
    analyse()
    return DuplicateGroup.objects.get()


def export(format: str) -> str:
    out = io.StringIO()
    call_command("export_groups", format=format, stdout=out)
    return out.getvalue()


def test_json_export_lists_each_member_with_primary_flag_and_factors(grouped):
    data = json.loads(export("json"))

    assert len(data) == 1
    group = data[0]
    assert group["group_id"] == grouped.pk
    assert group["status"] == "new"
    assert group["confidence"] == pytest.approx(grouped.confidence)
    members = {m["paperless_id"]: m for m in group["members"]}
    assert set(members) == {1, 2}
    primary = [m for m in members.values() if m["primary"]]
    other = [m for m in members.values() if not m["primary"]]
    assert len(primary) == 1 and primary[0]["factors"] is None
    assert other[0]["factors"]["jaccard"] > 0.5
    assert {m["title"] for m in members.values()} == {"Brief", "Brief (Scan)"}


def test_csv_export_has_one_row_per_member_and_a_column_per_factor(grouped):
    rows = list(csv.DictReader(io.StringIO(export("csv"))))

    assert len(rows) == 2
    # Every column name once: the "title" factor used to share its name with the title column,
    # so a CSV reader kept only one of them.
    header = next(csv.reader(io.StringIO(export("csv"))))
    assert len(header) == len(set(header))
    assert set(rows[0]) >= {"group_id", "confidence", "status", "paperless_id", "title",
                            "primary", *(f"factor_{name}" for name in FACTORS)}  # fmt: skip
    assert sorted(r["primary"] for r in rows) == ["0", "1"]
    duplicate = next(r for r in rows if r["primary"] == "0")
    assert float(duplicate["factor_fuzzy"]) > 0.5
    assert duplicate["title"] in ("Brief", "Brief (Scan)")
    assert {r["group_id"] for r in rows} == {str(grouped.pk)}


@pytest.mark.parametrize(
    "title", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]
)
def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_escaped(grouped, title):
    from documents.models import Document

    Document.objects.filter(paperless_id=2).update(title=title)
    rows = list(csv.DictReader(io.StringIO(export("csv"))))
    titles = {r["paperless_id"]: r["title"] for r in rows}
    assert titles["2"] == "'" + title
    assert titles["1"] == "Brief"  # ordinary text is left alone
    members = json.loads(export("json"))[0]["members"]
    assert {m["paperless_id"]: m["title"] for m in members}[2] == title  # JSON is data


def test_download_needs_login(client, grouped):
    response = client.get("/duplicates/export/?format=csv")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("format", ["csv", "json"])
def test_download_is_an_attachment_with_every_group(auth_client, grouped, format):
    response = auth_client.get(f"/duplicates/export/?format={format}")

    assert response.status_code == 200
    assert f"duplicate-groups.{format}" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert export(format).replace("\r\n", "\n") == body.replace("\r\n", "\n")


def test_api_export_rejects_an_unknown_format(auth_client, grouped):
    response = auth_client.get("/api/groups/export?format=xml")
    assert response.status_code == 422
    assert response.json()["field_errors"]["format"]


def test_api_lists_groups_with_members(auth_client, grouped):
    data = auth_client.get("/api/groups").json()

    assert data["count"] == 1
    item = data["items"][0]
    assert item["id"] == grouped.pk and item["member_count"] == 2
    assert {m["paperless_id"] for m in item["members"]} == {1, 2}
    assert auth_client.get("/api/groups?status=resolved").json()["count"] == 0


def test_api_starts_an_analysis_and_refuses_a_second(auth_client, db):
    first = auth_client.post("/api/analysis", data={"full": True}, content_type="application/json")
    assert first.status_code == 202
    job = Job.objects.get(pk=first.json()["id"])
    assert (job.kind, job.params["full"]) == ("analysis", True)

    second = auth_client.post("/api/analysis", content_type="application/json")
    assert second.status_code == 409 and second.json()["code"] == "analysis_running"


def test_groups_page_full_and_htmx_partial(auth_client, grouped):
    full = auth_client.get("/duplicates/")
    partial = auth_client.get("/duplicates/", headers={"HX-Request": "true"})

    assert full.status_code == partial.status_code == 200
    assert b"<html" in full.content and b'id="groups"' in full.content
    assert b"<html" not in partial.content and b'id="groups"' in partial.content
    assert b"#2" in partial.content
