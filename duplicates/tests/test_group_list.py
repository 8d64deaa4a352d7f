"""The groups list page: full page and HTMX partial, every filter, sorting, page sizes, factor
switches re-scoring and re-ordering, names (never ids), filters kept by every link and form, and
a constant number of queries whatever the page size."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from dedupe_project.models import Configuration
from duplicates.engine import ScoringConfig, confidence
from duplicates.filters import (
    CONTENT_FACTORS,
    matching_group_ids,
    parse_group_filters,
    parse_size,
)
from duplicates.models import DuplicateGroup
from duplicates.tests.groupfactory import (
    correspondent,
    document_type,
    factors,
    make_group,
    tag,
    weaker,
)

URL = "/duplicates/"
HX = {"HX-Request": "true"}


def shown(response) -> list[int]:
    """Group pks in the order the page shows them."""
    return [int(pk) for pk in re.findall(r'id="group-(\d+)"', response.content.decode())]


@pytest.fixture
def three(db) -> dict[str, DuplicateGroup]:
    """Three groups of different confidence, members, size and date."""
    high = make_group(
        pair_factors=[factors()],
        primary={"created": date(2021, 1, 1), "original_size": 50_000},
        others=[{"original_size": 10_000}],
    )
    # the weaker pairs: fewer letters in common, pages that look less alike, numbers that
    # differ, another page count (what the learned model weighs), scored 0.80-0.90
    second = {"fuzzy": 0.92, "jaccard": 0.6}
    weak = weaker(0.8, 0.9, also=({}, second), keep=("fuzzy", "jaccard"))
    middle = make_group(
        pair_factors=[factors(**weak), factors(**second, **weak)],
        status=DuplicateGroup.Status.REVIEWED,
        primary={"created": date(2023, 6, 1)},
        others=[{"original_size": 3_000_000}, {"original_size": 2_000_000}],
    )
    poor = {"fuzzy": 0.85, "jaccard": 0.4, "containment": 0.6}
    low = make_group(
        pair_factors=[factors(**poor, **weaker(0.01, 0.8, also=(poor,), keep=tuple(poor)))],
        status=DuplicateGroup.Status.RESOLVED,
        primary={"created": date(2022, 2, 2)},
        others=[{"original_size": 500_000}],
    )
    assert high.confidence > middle.confidence > low.confidence
    return {"high": high, "middle": middle, "low": low}


def test_full_page_has_layout_filters_and_groups(auth_client, three):
    response = auth_client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body and 'id="group-filters"' in body and 'id="groups"' in body
    assert shown(response) == [three["high"].pk, three["middle"].pk, three["low"].pk]
    assert "js/groups.js" in body


def test_htmx_request_renders_only_the_groups_partial(auth_client, three):
    response = auth_client.get(URL + "?status=reviewed", headers=HX)

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="group-filters"' not in body
    assert body.lstrip().startswith('<div id="groups"')
    assert shown(response) == [three["middle"].pk]


def test_page_needs_login(client, three):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=new", ["high"]),
        ("status=reviewed&status=resolved", ["middle", "low"]),
        ("status=open", ["high", "middle"]),
        ("confidence_min=0.99", ["high"]),
        ("confidence_max=0.9", ["middle", "low"]),
        ("size_min=1 MB", ["middle"]),
        ("size_min=400000&size_max=600 KB", ["low"]),
        ("created_from=2022-01-01&created_to=2022-12-31", ["low"]),
        ("created_from=2023-01-01", ["high", "middle", "low"]),  # members keep 2023-03-14
        ("min_jaccard=0.8", ["high"]),
        ("min_fuzzy=0.9&min_jaccard=0.5", ["high", "middle"]),
    ],
)
def test_each_filter_selects_its_groups(auth_client, three, query, expected):
    response = auth_client.get(f"{URL}?{query}", headers=HX)
    assert shown(response) == [three[name].pk for name in expected]


def test_created_date_filter_matches_any_member(auth_client, three):
    response = auth_client.get(URL + "?created_to=2021-06-30", headers=HX)
    assert shown(response) == [three["high"].pk]


def test_tag_correspondent_and_type_filters_match_a_member(auth_client, db):
    invoices, bank, letter = tag("Rechnung"), correspondent("Sparkasse"), document_type("Brief")
    tagged = make_group(others=[{"tags": [invoices]}])
    from_bank = make_group(primary={"correspondent": bank})
    typed = make_group(others=[{"document_type": letter}])

    def pks(query: str) -> list[int]:
        return shown(auth_client.get(f"{URL}?{query}", headers=HX))

    assert pks(f"tag={invoices.pk}") == [tagged.pk]
    assert pks(f"correspondent={bank.pk}") == [from_bank.pk]
    assert pks(f"document_type={letter.pk}") == [typed.pk]
    assert pks(f"tag={invoices.pk}&correspondent={bank.pk}") == []


def test_members_show_tag_correspondent_and_type_names_not_ids(auth_client, db):
    invoices, bank, letter = (
        tag("Rechnung 2023"),
        correspondent("Sparkasse"),
        document_type("Brief"),
    )
    group = make_group(
        primary={"correspondent": bank, "document_type": letter, "tags": [invoices]},
        others=[{"title": "Kontoauszug Kopie"}],
    )

    body = auth_client.get(URL, headers=HX).content.decode()

    card = body[body.index(f'id="group-{group.pk}"') :]
    assert '<span class="badge tag">Rechnung 2023</span>' in card
    assert "Sparkasse" in card and "Brief" in card and "Kontoauszug Kopie" in card
    assert f'<span class="badge tag">{invoices.pk}</span>' not in card
    assert f"/documents/{group.primary.paperless_id}/thumbnail" in card


def test_member_shows_similarity_to_primary_and_its_factors(auth_client, db):
    make_group(pair_factors=[factors(jaccard=0.87, fuzzy=0.93)])

    body = auth_client.get(URL, headers=HX).content.decode()

    assert '<span class="badge primary">primary</span>' in body
    assert "<li>Text overlap 0.87</li>" in body and "<li>Fuzzy text 0.93</li>" in body
    assert 'class="bar-fill w-85"' in body or 'class="bar-fill w-90"' in body  # jaccard 0.87


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-confidence", ["high", "middle", "low"]),
        ("confidence", ["low", "middle", "high"]),
        ("-members", ["middle", "high", "low"]),
        ("-size", ["middle", "low", "high"]),
        ("size", ["high", "low", "middle"]),
        ("-date", ["middle", "low", "high"]),
        ("date", ["high", "low", "middle"]),
    ],
)
def test_sorting(auth_client, three, sort, expected):
    response = auth_client.get(f"{URL}?sort={sort}", headers=HX)
    assert shown(response) == [three[name].pk for name in expected]


def test_switching_factors_off_rescores_and_reorders(auth_client, db):
    # the text is the same, but all the metadata differs and drags the score down
    poor_metadata = make_group(
        pair_factors=[factors(correspondent=0.0, document_type=0.0, created=0.0, title=0.0,
                              page_count=0.0, size=0.0, filename=0.0)]
    )  # fmt: skip
    weaker_text = make_group(pair_factors=[factors(characters=0.85)])
    assert poor_metadata.confidence < weaker_text.confidence

    saved = auth_client.get(URL, headers=HX)
    off = "&".join(
        f"off={name}"
        for name in ("correspondent", "document_type", "created", "title", "page_count",
                     "size", "filename")
    )  # fmt: skip
    switched = auth_client.get(f"{URL}?{off}", headers=HX)

    assert shown(saved) == [weaker_text.pk, poor_metadata.pk]
    assert shown(switched) == [poor_metadata.pk, weaker_text.pk]
    body = switched.content.decode()
    assert "re-computed with your factor switches" in body
    assert f">{poor_metadata.confidence:.3f}</span>" not in body
    assert Configuration.objects.get_solo().factor_weights["correspondent"]["enabled"] is True


def test_switched_off_confidence_range_uses_the_new_scores(auth_client, db):
    metadata = ("correspondent", "document_type", "created", "title", "page_count", "size",
                "filename")  # fmt: skip
    poor = make_group(pair_factors=[factors(**dict.fromkeys(metadata, 0.0))])
    saved = ScoringConfig()
    switched = confidence(
        factors(**dict.fromkeys(metadata, 0.0)),
        config=replace(saved, enabled=saved.enabled - set(metadata)),
    )
    assert poor.confidence < switched
    bound = round((poor.confidence + switched) / 2, 6)
    off = "&".join(f"off={name}" for name in metadata)

    assert shown(auth_client.get(f"{URL}?confidence_min={bound}", headers=HX)) == []
    assert shown(auth_client.get(f"{URL}?confidence_min={bound}&{off}", headers=HX)) == [poor.pk]


def test_switching_a_factor_saved_off_on(auth_client, db):
    config = Configuration.objects.get_solo()
    weights = config.factor_weights
    weights["page_count"]["enabled"] = False
    config.apply({"factor_weights": weights})
    scoring = config.scoring_config()
    # scored 0.5-0.99 without the page count; its 0.5 counted lowers that a good deal
    weak = weaker(0.5, 0.99, keep=("page_count",), scoring=scoring)
    group = make_group(pair_factors=[factors(page_count=0.5, **weak)], scoring=scoring)

    saved = auth_client.get(URL, headers=HX).content.decode()
    switched_on = auth_client.get(URL + "?on=page_count", headers=HX).content.decode()

    assert f"{group.confidence:.3f}" in saved
    assert "re-computed" in switched_on
    assert f">{group.confidence:.3f}</span>" not in switched_on


def test_switching_every_content_factor_off_is_refused(auth_client, three):
    off = "&".join(f"off={n}" for n in CONTENT_FACTORS)
    response = auth_client.get(f"{URL}?{off}", headers=HX)

    assert response.status_code == 200
    assert "Keep at least one content factor on" in response.content.decode()
    assert shown(response) == [three["high"].pk, three["middle"].pk, three["low"].pk]


@pytest.mark.parametrize(
    "query",
    [
        "confidence_min=abc", "confidence_max=7", "status=maybe", "tag=-3", "tag=x",
        "size_min=lots", "created_from=yesterday", "min_jaccard=2", "off=colour", "sort=random",
        "page=abc", "page=-1", "page=99999", "per_page=", "confidence_min=0.9&confidence_max=0.1",
        "size_min=99999999999999999999999 TB", "created_to=2023-02-30",
        "tag=99999999999999999999999", "min_fuzzy=nan", "confidence_min=inf",
    ],
)  # fmt: skip
def test_nonsense_parameters_never_fail_the_page(auth_client, three, query):
    response = auth_client.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert shown(response)  # the bad filter is ignored, the groups are still listed


def test_a_nonsense_filter_is_reported_and_ignored(auth_client, three):
    response = auth_client.get(URL + "?confidence_min=abc&status=reviewed", headers=HX)

    body = response.content.decode()
    assert "confidence_min: Give a number from 0 to 1. This filter is ignored." in body
    assert shown(response) == [three["middle"].pk]


def test_page_size_defaults_from_settings(auth_client, db):
    config = Configuration.objects.get_solo()
    config.apply({"groups_per_page": 10})
    for _ in range(12):
        make_group()

    response = auth_client.get(URL, headers=HX)

    assert len(shown(response)) == 10
    assert "page 1 of 2" in response.content.decode()


@pytest.mark.parametrize(
    ("asked", "size", "note"),
    [("25", 25, ""), ("3", 10, "10 to 500"), ("100000", 500, "10 to 500"),
     ("ten", 50, "not a page size")],
)  # fmt: skip
def test_page_size_chosen_on_the_page_is_kept_within_bounds(auth_client, db, asked, size, note):
    for _ in range(30):
        make_group()

    response = auth_client.get(f"{URL}?per_page={asked}", headers=HX)

    assert len(shown(response)) == min(size, 30)
    assert response.context["per_page"] == size
    assert note in response.content.decode()


def test_pager_links_and_forms_keep_the_filters(auth_client, db):
    for _ in range(12):
        make_group()
    query = "status=new&per_page=10&min_fuzzy=0.5&off=image&sort=-members"

    body = auth_client.get(f"{URL}?{query}").content.decode()

    next_links = re.findall(r'href="(\?[^"]*page=2[^"]*)"', body)
    assert next_links, "no link to page 2"
    for link in next_links:
        params = QueryDict(link[1:].replace("&amp;", "&"))
        assert params["status"] == "new" and params["per_page"] == "10"
        assert params["min_fuzzy"] == "0.5" and params["off"] == "image"
        assert params["sort"] == "-members"
    hidden = re.findall(r'name="query" value="([^"]*)"', body)
    assert len(hidden) == 2  # the bulk form and "Analyse"
    for value in hidden:
        params = QueryDict(value.replace("&amp;", "&"))
        assert params["status"] == "new" and params["off"] == "image" and "page" not in params


def test_page_two_shows_the_next_groups(auth_client, db):
    groups = [make_group() for _ in range(12)]

    response = auth_client.get(URL + "?per_page=10&page=2&sort=confidence", headers=HX)

    ordered = sorted(groups, key=lambda g: (g.confidence, g.pk))
    assert shown(response) == [g.pk for g in ordered[10:]]


def test_analyse_now_returns_to_the_list_with_its_filters(auth_client, db):
    response = auth_client.post(
        "/duplicates/analyse/", {"query": "status=new&min_fuzzy=0.5&page=3"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/duplicates/?status=new&min_fuzzy=0.5&page=3"


def test_analyse_now_never_redirects_elsewhere(auth_client, db):
    response = auth_client.post("/duplicates/analyse/", {"query": "//evil.example/x"})
    assert response["Location"].startswith("/duplicates/?")


def test_select_all_matching_counts_and_resolves_every_filtered_group(auth_client, three):
    body = auth_client.get(URL + "?status=open&per_page=10").content.decode()

    assert "Select all 2 groups matching the filter" in body
    assert 'name="all_matching" value="1"' in body
    assert f'name="pk" value="{three["high"].pk}"' in body
    assert sorted(matching_group_ids(QueryDict("status=open"))) == sorted(
        [three["high"].pk, three["middle"].pk]
    )


def test_every_checkbox_is_inside_the_bulk_form(auth_client, three):
    """A browser ends a form at the first ``</form>`` (forms do not nest): everything the bulk
    actions post must come before it."""
    body = auth_client.get(URL).content.decode()
    start = body.index('id="group-bulk"')
    form = body[start : body.index("</form>", start)]

    assert "<form" not in form, "a form nested in the bulk form ends it early"
    assert 'name="csrfmiddlewaretoken"' in form and 'name="all_matching"' in form
    for group in three.values():
        assert f'name="pk" value="{group.pk}"' in form


def test_the_number_of_queries_does_not_grow_with_the_page(auth_client, db):
    Configuration.objects.get_solo()  # created once, not inside the measured request
    rescue = tag("Steuer")
    for index in range(3):
        make_group(others=[{"tags": [rescue]}, {"correspondent": correspondent(f"C{index}")}],
                   pair_factors=[factors(), factors()])  # fmt: skip
    with CaptureQueriesContext(connection) as small:
        auth_client.get(URL + "?per_page=10")
    for index in range(30):
        make_group(
            others=[{"tags": [rescue, tag(f"T{index}")]},
                    {"document_type": document_type(f"D{index}")}],
            pair_factors=[factors(), factors()],
        )  # fmt: skip
    with CaptureQueriesContext(connection) as large:
        response = auth_client.get(URL + "?per_page=50")

    assert len(shown(response)) == 33
    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_page_of_groups_takes_a_fixed_handful_of_queries(
    auth_client, three, django_assert_max_num_queries
):
    # 16: one constant query reads whether the server keeps versions (the bulk action "keep as
    # versions" is offered, or disabled with the reason), one which of the page's groups are
    # already handled (in a plan, tagged by a dry run)
    with django_assert_max_num_queries(16):
        auth_client.get(URL + "?off=image&min_fuzzy=0.1", headers=HX)


def test_sizes_read_with_units():
    assert parse_size("1234") == 1234
    assert parse_size("200 KB") == 200 * 1024
    assert parse_size("1.5mb") == int(1.5 * 1024**2)
    assert parse_size("2G") == 2 * 1024**3
    with pytest.raises(ValueError):
        parse_size("big")


def test_open_status_means_new_and_reviewed():
    filters, errors = parse_group_filters(QueryDict("status=open&status=new"))
    assert not errors and filters.statuses == ("new", "reviewed")
