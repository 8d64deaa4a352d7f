"""``GET /api/groups`` (the page's filters, cursor paging), ``GET /api/groups/{id}`` and the
OpenAPI schema a client is generated from."""

from __future__ import annotations

import json
from datetime import date

import pytest

from duplicates.filters import CONTENT_FACTORS, encode_cursor
from duplicates.models import DuplicateGroup
from duplicates.tests.groupfactory import correspondent, document_type, factors, make_group, tag

URL = "/api/groups"


def walk(client, query: str = "", *, limit: int) -> tuple[list[int], int]:
    """Every id by following next_cursor, and how many requests it took."""
    ids, cursor, requests = [], None, 0
    while True:
        url = f"{URL}?limit={limit}&{query}" + (f"&cursor={cursor}" if cursor else "")
        data = client.get(url).json()
        requests += 1
        ids += [item["id"] for item in data["items"]]
        cursor = data["next_cursor"]
        if cursor is None:
            return ids, requests
        assert requests < 100


@pytest.fixture
def groups(db) -> list[DuplicateGroup]:
    made = []
    for index in range(7):
        made.append(
            make_group(
                pair_factors=[factors(fuzzy=0.9 + index * 0.01)] * (1 + index % 3),
                primary={"created": date(2020 + index % 4, 1, 1)},
                others=[{"original_size": 1000 * (index + 1)}] * (1 + index % 3),
            )
        )
    return made


@pytest.mark.parametrize("sort", ["-confidence", "confidence", "-members", "members", "size",
                                  "-size", "date", "-date"])  # fmt: skip
def test_cursor_walks_every_group_once_in_the_page_order(auth_client, groups, sort):
    page = auth_client.get(f"/duplicates/?sort={sort}&per_page=10", headers={"HX-Request": "1"})
    expected = [row.pk for row in page.context["rows"]]

    ids, requests = walk(auth_client, f"sort={sort}", limit=3)

    assert ids == expected and len(ids) == 7
    assert requests == 3


def test_cursor_walk_with_factor_switches_uses_the_rescored_order(auth_client, groups):
    query = "off=image&off=title&sort=-confidence"
    page = auth_client.get(f"/duplicates/?{query}", headers={"HX-Request": "1"})

    ids, _ = walk(auth_client, query, limit=2)

    assert ids == [row.pk for row in page.context["rows"]]


def test_cursor_survives_a_group_deleted_before_it(auth_client, groups):
    first = auth_client.get(f"{URL}?limit=3").json()
    DuplicateGroup.objects.filter(pk=first["items"][0]["id"]).delete()

    second = auth_client.get(f"{URL}?limit=10&cursor={first['next_cursor']}").json()

    seen = [i["id"] for i in first["items"]] + [i["id"] for i in second["items"]]
    assert len(seen) == len(set(seen)) == 7


def test_count_and_last_slice(auth_client, groups):
    data = auth_client.get(f"{URL}?limit=500").json()
    assert data["count"] == 7 and data["next_cursor"] is None and len(data["items"]) == 7


@pytest.mark.parametrize(
    ("cursor", "detail"),
    [("garbage!", "not a cursor"), (encode_cursor(sort="members", value=2, pk=1), "another sort")],
)
def test_a_bad_cursor_is_a_422_in_the_common_shape(auth_client, groups, cursor, detail):
    response = auth_client.get(f"{URL}?cursor={cursor}")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_cursor" and detail in body["detail"]
    assert set(body) == {"code", "detail", "field_errors"} and body["field_errors"]["cursor"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=maybe", "status"), ("confidence_min=2", "confidence_min"), ("off=colour", "off"),
     ("sort=random", "sort"), ("size_min=lots", "size_min"), ("limit=501", "limit"),
     ("limit=0", "limit"), ("created_from=soon", "created_from"), ("min_jaccard=-1", "min_jaccard"),
     ("&".join(f"off={name}" for name in CONTENT_FACTORS), "off")],
)  # fmt: skip
def test_invalid_filters_are_a_422_naming_the_field(auth_client, groups, query, field):
    response = auth_client.get(f"{URL}?{query}")

    assert response.status_code == 422
    body = response.json()
    # A value the schema refuses is a validation_error; every content factor switched off keeps
    # the schema (each is a factor name) and breaks a rule beyond it.
    rule = query.count("off=") > 1
    assert body["code"] == ("invalid_filters" if rule else "validation_error")
    assert any(field in name for name in body["field_errors"]), body


def test_filters_match_the_page(auth_client, db):
    taxes, bank, letter = tag("Steuer"), correspondent("Bank"), document_type("Brief")
    tagged = make_group(others=[{"tags": [taxes], "correspondent": bank}])
    typed = make_group(
        status=DuplicateGroup.Status.REVIEWED,
        primary={"document_type": letter, "original_size": 5_000_000},
        pair_factors=[factors(jaccard=0.5)],
    )

    def ids(query: str) -> list[int]:
        return [item["id"] for item in auth_client.get(f"{URL}?{query}").json()["items"]]

    assert ids(f"tag={taxes.pk}") == [tagged.pk]
    assert ids(f"correspondent={bank.pk}") == [tagged.pk]
    assert ids(f"document_type={letter.pk}") == [typed.pk]
    assert ids("status=reviewed") == [typed.pk]
    assert ids("status=new&status=reviewed") == [tagged.pk, typed.pk]
    assert ids("size_min=4 MB") == [typed.pk]
    assert ids("min_jaccard=0.8") == [tagged.pk]
    assert ids(f"confidence_max={typed.confidence}") == [typed.pk]


def test_items_carry_names_factors_and_the_breakdown(auth_client, db):
    taxes, bank = tag("Steuer 2023"), correspondent("Sparkasse")
    group = make_group(
        primary={"correspondent": bank, "title": "Kontoauszug"},
        others=[{"tags": [taxes], "title": "Kontoauszug (Scan)"}],
        pair_factors=[factors(jaccard=0.81)],
    )

    item = auth_client.get(URL).json()["items"][0]

    assert item["id"] == group.pk and item["member_count"] == 2
    primary, other = item["members"]
    assert primary["is_primary"] and primary["correspondent"] == "Sparkasse"
    assert primary["confidence"] is None and primary["factors"] == {}
    assert other["tags"] == ["Steuer 2023"] and other["factors"]["jaccard"] == 0.81
    assert "text_reliable" not in other["factors"]
    assert other["confidence"] == pytest.approx(group.confidence)
    assert item["factors"]["jaccard"] == 0.81 and item["space_to_free"] == 100_000
    assert item["primary_paperless_id"] == primary["paperless_id"]


def test_switching_factors_off_changes_the_scores(auth_client, db):
    make_group(pair_factors=[factors(correspondent=0.0, document_type=0.0, title=0.0)])

    saved = auth_client.get(URL).json()["items"][0]
    switched = auth_client.get(f"{URL}?off=correspondent&off=document_type&off=title").json()

    assert switched["items"][0]["confidence"] > saved["confidence"]
    assert switched["items"][0]["stored_confidence"] == saved["confidence"]


def test_group_detail_has_members_pairs_and_names(auth_client, db):
    group = make_group(
        pair_factors=[factors(), factors(fuzzy=0.95)],
        others=[{"tags": [tag("Versicherung")]}, {}],
    )

    data = auth_client.get(f"{URL}/{group.pk}").json()

    assert data["id"] == group.pk and len(data["members"]) == 3
    assert any(m["tags"] == ["Versicherung"] for m in data["members"])
    assert len(data["pairs"]) == 2 and all("fuzzy" in p["factors"] for p in data["pairs"])
    ids = {m["paperless_id"] for m in data["members"]}
    assert all(p["a"] in ids and p["b"] in ids for p in data["pairs"])


def test_unknown_group_is_a_404_in_the_common_shape(auth_client, db):
    response = auth_client.get(f"{URL}/999999")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_list_needs_authentication(client, groups):
    assert client.get(URL).status_code == 401


def test_openapi_schema_lists_the_routes_with_their_parameters(auth_client, db):
    response = auth_client.get("/api/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    listing = paths["/api/groups"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"status", "confidence_min", "confidence_max", "tag", "correspondent",
            "document_type", "size_min", "size_max", "created_from", "created_to", "off", "on",
            "sort", "cursor", "limit", "min_jaccard", "min_fuzzy"} <= names  # fmt: skip
    status = next(p for p in listing["parameters"] if p["name"] == "status")
    assert "array" in str(status["schema"])
    ok = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schema["components"]["schemas"][ok.rsplit("/", 1)[1]]
    assert {"items", "count", "next_cursor"} <= set(page["properties"])
    assert "422" in listing["responses"]
    assert "get" in paths["/api/groups/{group_id}"]
    assert "get" in paths["/api/stats"]
    # every $ref resolves, so a generator can follow it
    text = json.dumps(schema)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        assert ref.rsplit("/", 1)[1] in schema["components"]["schemas"], ref
