"""The group detail page: full page and HTMX fragments, every action as a plain POST and with
HTMX, filters carried through ``next``, decisions kept by re-analysis, bounded text diff, the
identifiers behind a match."""

from __future__ import annotations

import random
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from documents.models import Document, Tag
from duplicates import detail_views, review
from duplicates.models import DuplicateGroup, GroupMember, PairDecision
from duplicates.tests.conftest import LETTER, change_text, feature, page, store_documents

pytestmark = pytest.mark.django_db

LIST_FILTERS = "/duplicates/?status=new&page=2"
HTMX = {"HX-Request": "true", "HX-Target": "group-detail"}


def active_members(group: DuplicateGroup) -> set[int]:
    return set(group.members.filter(removed=False).values_list("document_id", flat=True))


@pytest.fixture
def trio(analyse) -> DuplicateGroup:
    """Three copies of one letter (documents 1, 2, 3) in one group, and an unrelated document 4;
    document 1 is tagged by name."""
    store_documents(
        [
            feature(1, LETTER + " Rechnung 2023-03-14 Betrag 1.234,56 EUR Kunde 4711-0815"),
            feature(2, LETTER + " Anlage 1 Rechnung 2023-03-14 Betrag 1.234,56 EUR"),
            feature(3, LETTER + " Anlage 2"),
            feature(4, page(4)),
        ]
    )
    Document.objects.update(mime_type="application/pdf")
    Document.objects.get(pk=1).tags.add(Tag.objects.create(paperless_id=77, name="Steuer 2023"))
    analyse()
    group = DuplicateGroup.objects.get()
    assert active_members(group) == {1, 2, 3}
    return group


def detail_url(group: DuplicateGroup) -> str:
    return reverse("group-detail", kwargs={"group_id": group.pk})


def test_full_page_shows_members_metadata_text_and_why(auth_client, trio):
    response = auth_client.get(detail_url(trio), {"next": LIST_FILTERS})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and 'id="group-detail"' in html
    for paperless_id in (1, 2, 3):
        assert f'id="member-{paperless_id}"' in html
        assert reverse("document-thumbnail", kwargs={"paperless_id": paperless_id}) in html
    assert "Steuer 2023" in html  # tags by name
    assert "scan_2.pdf" in html and f"{2:032x}" in html  # file names and checksums side by side
    assert 'class="differs"' in html  # the cells that differ from the primary are marked
    assert "Text similarity" in html and "Dates, amounts, numbers" in html  # labelled factors
    primary = trio.primary.paperless_id
    assert f"{reverse('document-preview', kwargs={'paperless_id': primary})}#page=1" in html
    assert f'href="{LIST_FILTERS.replace("&", "&amp;")}"' in html  # back to the list, filtered


def test_htmx_request_returns_the_detail_fragment_only(auth_client, trio):
    response = auth_client.get(detail_url(trio), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="group-detail"')


def test_page_navigation_with_htmx_returns_only_the_preview(auth_client, trio):
    Document.objects.filter(pk__in=[1, 2, 3]).update(page_count=3)

    response = auth_client.get(
        detail_url(trio),
        {"page": 2, "zoom": "150"},
        headers={"HX-Request": "true", "HX-Target": "detail-preview"},
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="detail-preview"')
    assert "#page=2&amp;zoom=150" in html
    assert "page=1&amp;zoom=150" in html and "page=3&amp;zoom=150" in html  # previous / next


def test_page_number_is_kept_within_the_documents_pages(auth_client, trio):
    Document.objects.filter(pk__in=[1, 2, 3]).update(page_count=2)

    html = auth_client.get(detail_url(trio), {"page": 99}).content.decode()

    assert "#page=2&amp;" in html and "#page=99" not in html


def test_compare_picks_the_member_shown_beside_the_primary(auth_client, trio):
    other = ({2, 3} - {trio.primary_id}).pop()

    html = auth_client.get(detail_url(trio), {"compare": other}).content.decode()

    assert f"Text: #{trio.primary_id} and #{other}" in html
    assert 'class="member-card compared"' in html


def test_a_document_not_in_the_group_is_404(auth_client, trio):
    assert auth_client.get(detail_url(trio), {"compare": 4}).status_code == 404
    for name, data in [
        ("group-set-primary", {"document": 4}),
        ("group-remove-member", {"document": 4}),
        ("group-pair-not-duplicate", {"a": 1, "b": 4}),
    ]:
        response = auth_client.post(reverse(name, kwargs={"group_id": trio.pk}), data)
        assert response.status_code == 404, name
    assert not PairDecision.objects.exists()
    assert auth_client.get(reverse("group-detail", kwargs={"group_id": 999})).status_code == 404


def test_page_and_actions_need_a_login(client, trio):
    response = client.get(detail_url(trio))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post(
        reverse("group-set-status", kwargs={"group_id": trio.pk}), {"status": "resolved"}
    )
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    trio.refresh_from_db()
    assert trio.status == DuplicateGroup.Status.NEW


def redirect_state(response) -> dict[str, list[str]]:
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    return {"path": [location.path], **parse_qs(location.query)}


def test_set_primary_redirects_back_keeping_the_list_filters(auth_client, trio):
    new_primary = 3 if trio.primary_id != 3 else 2

    response = auth_client.post(
        reverse("group-set-primary", kwargs={"group_id": trio.pk}),
        {"document": new_primary, "next": LIST_FILTERS, "page": "2", "zoom": "125"},
    )

    state = redirect_state(response)
    assert state["path"] == [detail_url(trio)]
    assert state["next"] == [LIST_FILTERS] and state["page"] == ["2"] and state["zoom"] == ["125"]
    trio.refresh_from_db()
    assert (trio.primary_id, trio.primary_chosen) == (new_primary, True)
    primary_rows = GroupMember.objects.filter(group=trio, is_primary=True)
    assert list(primary_rows.values_list("document_id", flat=True)) == [new_primary]
    assert GroupMember.objects.get(group=trio, document_id=new_primary).confidence is None
    assert all(
        m.confidence is not None
        for m in GroupMember.objects.filter(group=trio).exclude(document_id=new_primary)
    )
    html = auth_client.get(response["Location"]).content.decode()
    assert f"Document #{new_primary} is now the primary" in html


def test_a_next_url_to_another_site_is_replaced_by_the_groups_list(auth_client, trio):
    response = auth_client.post(
        reverse("group-set-status", kwargs={"group_id": trio.pk}),
        {"status": "reviewed", "next": "https://evil.example/phish"},
    )

    assert redirect_state(response)["next"] == [reverse("group-list")]


def test_set_primary_with_htmx_answers_the_fragment_with_its_message(auth_client, trio):
    new_primary = 3 if trio.primary_id != 3 else 2

    response = auth_client.post(
        reverse("group-set-primary", kwargs={"group_id": trio.pk}),
        {"document": new_primary, "next": LIST_FILTERS},
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="group-detail"')
    assert f"Document #{new_primary} is now the primary" in html
    assert f'value="{LIST_FILTERS.replace("&", "&amp;")}"' in html  # filters still carried
    trio.refresh_from_db()
    assert trio.primary_id == new_primary


@pytest.mark.parametrize("htmx", [False, True])
def test_remove_member_takes_it_out_and_records_who(auth_client, admin_user, trio, htmx):
    headers = HTMX if htmx else {}

    response = auth_client.post(
        reverse("group-remove-member", kwargs={"group_id": trio.pk}),
        {"document": 3, "compare": 3, "next": LIST_FILTERS, "confirm": "1"},
        headers=headers,
    )

    assert response.status_code == (200 if htmx else 302)
    member = GroupMember.objects.get(group=trio, document_id=3)
    assert member.removed and member.removed_by == admin_user
    assert active_members(trio) == {1, 2}
    if htmx:
        html = response.content.decode()
        assert "1 taken out of this group" in html and 'id="member-3"' not in html
    else:
        assert "compare" not in redirect_state(response)  # the compared document left


@pytest.mark.parametrize("htmx", [False, True])
def test_pair_not_duplicate_is_recorded_and_the_member_leaves_at_once(auth_client, trio, htmx):
    """Behaviour changed (issue 10): the decision used to wait for the next analysis while the
    member stayed in the group, deletable; now it leaves before the page comes back."""
    response = auth_client.post(
        reverse("group-pair-not-duplicate", kwargs={"group_id": trio.pk}),
        {"a": 3, "b": 2},
        headers=HTMX if htmx else {},
    )

    assert response.status_code == (200 if htmx else 302)
    assert list(PairDecision.objects.values_list("a_id", "b_id")) == [(2, 3)]
    trio.refresh_from_db()
    assert trio.status == DuplicateGroup.Status.NEW
    members = active_members(trio)
    assert trio.primary_id in members and len(members) == 2 and not {2, 3} <= members
    if htmx:
        left = ({2, 3} - members).pop()
        html = response.content.decode()
        assert f"#{left} left this group" in html and f'id="member-{left}"' not in html


def test_pair_not_duplicate_in_a_group_of_two_closes_it(auth_client, trio):
    review.remove_member(trio, paperless_id=3, user=None)

    auth_client.post(
        reverse("group-pair-not-duplicate", kwargs={"group_id": trio.pk}), {"a": 1, "b": 2}
    )

    trio.refresh_from_db()
    assert trio.status == DuplicateGroup.Status.NOT_DUPLICATE


def test_a_pair_of_one_document_with_itself_is_refused(auth_client, trio):
    response = auth_client.post(
        reverse("group-pair-not-duplicate", kwargs={"group_id": trio.pk}), {"a": 2, "b": 2}
    )

    assert response.status_code == 302
    assert not PairDecision.objects.exists()


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("status", ["reviewed", "resolved"])
def test_mark_reviewed_or_resolved(auth_client, admin_user, trio, status, htmx):
    response = auth_client.post(
        reverse("group-set-status", kwargs={"group_id": trio.pk}),
        {"status": status, "next": LIST_FILTERS},
        headers=HTMX if htmx else {},
    )

    assert response.status_code == (200 if htmx else 302)
    trio.refresh_from_db()
    assert trio.status == status and trio.status_changed_by == admin_user
    if htmx:
        assert f"badge status-{status}" in response.content.decode()


@pytest.mark.parametrize("htmx", [False, True])
def test_group_not_duplicate_records_every_pair_and_back_to_new_undoes_it(auth_client, trio, htmx):
    url = reverse("group-set-status", kwargs={"group_id": trio.pk})
    headers = HTMX if htmx else {}

    auth_client.post(url, {"status": "not_duplicate"}, headers=headers)

    trio.refresh_from_db()
    assert trio.status == DuplicateGroup.Status.NOT_DUPLICATE
    assert set(PairDecision.objects.values_list("a_id", "b_id")) == {(1, 2), (1, 3), (2, 3)}

    auth_client.post(url, {"status": "new"}, headers=headers)

    trio.refresh_from_db()
    assert trio.status == DuplicateGroup.Status.NEW and not PairDecision.objects.exists()


def test_an_unknown_status_changes_nothing(auth_client, trio):
    auth_client.post(reverse("group-set-status", kwargs={"group_id": trio.pk}), {"status": "x"})

    trio.refresh_from_db()
    assert trio.status == DuplicateGroup.Status.NEW


@pytest.mark.parametrize("full", [False, True])
def test_decisions_taken_on_the_page_survive_a_re_analysis(auth_client, trio, analyse, full):
    new_primary = 3 if trio.primary_id != 3 else 2
    removed = ({1, 2, 3} - {new_primary}).pop()
    auth_client.post(
        reverse("group-set-primary", kwargs={"group_id": trio.pk}), {"document": new_primary}
    )
    auth_client.post(
        reverse("group-remove-member", kwargs={"group_id": trio.pk}),
        {"document": removed, "confirm": "1"},
    )
    auth_client.post(
        reverse("group-set-status", kwargs={"group_id": trio.pk}), {"status": "reviewed"}
    )

    analyse(full=full)

    group = DuplicateGroup.objects.get(pk=trio.pk)
    assert (group.primary_id, group.primary_chosen) == (new_primary, True)
    assert group.status == DuplicateGroup.Status.REVIEWED
    assert removed not in active_members(group)
    assert GroupMember.objects.get(group=group, document_id=removed).removed


def test_a_pair_marked_on_the_page_is_split_by_the_next_analysis(auth_client, trio, analyse):
    auth_client.post(
        reverse("group-pair-not-duplicate", kwargs={"group_id": trio.pk}), {"a": 1, "b": 3}
    )

    analyse(full=True)

    for group in DuplicateGroup.objects.all():
        assert not {1, 3} <= active_members(group)


def test_identifiers_shared_and_differing_are_shown(auth_client, trio):
    change_text(2, LETTER + " Rechnung 2023-09-28 Betrag 1.234,56 EUR Kunde 4711-0815")
    primary, other = (1, 2) if trio.primary_id != 2 else (2, 1)
    review.choose_primary(trio, paperless_id=primary, user=None)

    html = auth_client.get(detail_url(trio), {"compare": other}).content.decode()

    assert '<code class="shared">123456</code>' in html  # the amount both have
    assert '<code class="shared">47110815</code>' in html  # the customer number
    assert '<code class="differs">20230314</code>' in html
    assert '<code class="differs">20230928</code>' in html
    assert "Conflict" in html


def test_compare_identifiers_separates_shared_from_one_sided_values():
    report = review.compare_texts_identifiers(
        "Datum 14.03.2023 Betrag 99,90 EUR Rechnung RE-2023-0042",
        "Datum 28.09.2023 Betrag 99,90 EUR Rechnung RE-2023-0042",
    )

    kinds = {kind.kind: kind for kind in report.kinds}
    assert [v.value for v in kinds["amount"].shared] == ["9990"]
    assert [v.value for v in kinds["date"].only_left] == ["14032023"]
    assert [v.value for v in kinds["date"].only_right] == ["28092023"]
    assert report.conflict


def random_words(seed: int, count: int) -> str:
    rng = random.Random(seed)
    return " ".join(
        "".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 9))) for _ in range(count)
    )


def test_a_megabyte_of_text_is_compared_only_up_to_the_bound(auth_client, trio):
    huge_left, huge_right = random_words(1, 180_000), random_words(2, 180_000)
    assert len(huge_left) > 1_000_000
    change_text(1, huge_left)
    change_text(2, huge_right)
    review.choose_primary(trio, paperless_id=1, user=None)

    response = auth_client.get(detail_url(trio), {"compare": 2})

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Only the first {review.DIFF_MAX_CHARS} characters" in html
    assert len(html) < 4 * review.DIFF_MAX_CHARS + 200_000  # not the megabytes of text


def test_diff_marks_changed_words_and_folds_long_identical_runs():
    common = random_words(3, 300)
    diff = review.diff_texts(f"{common} Betrag 10,00 EUR", f"{common} Betrag 12,00 EUR")

    left_changed = [s.text.strip() for s in diff.left if s.changed]
    right_changed = [s.text.strip() for s in diff.right if s.changed]
    assert left_changed == ["10,00"] and right_changed == ["12,00"]
    folded = [s.folded for s in diff.left if s.folded]
    assert folded == [300 - review.DIFF_CONTEXT_WORDS + 1]  # "Betrag" is kept as context
    assert not diff.identical and not diff.truncated


def test_diff_of_huge_texts_reads_only_the_bound():
    diff = review.diff_texts("a " * 1_000_000, "b " * 1_000_000, max_chars=1000)

    assert diff.left_truncated and diff.right_truncated
    assert sum(len(s.text) for s in diff.left) <= 1000
    assert sum(len(s.text) for s in diff.right) <= 1000


def test_open_in_paperless_links_to_the_document(auth_client, trio, settings):
    settings.PAPERLESS_URL = "http://paperless.lan:8000/"

    html = auth_client.get(detail_url(trio)).content.decode()

    assert 'href="http://paperless.lan:8000/documents/2/details"' in html


def test_delete_goes_through_the_safe_plan_and_never_for_the_primary(
    auth_client, trio, monkeypatch
):
    monkeypatch.setattr(detail_views, "plan_create_url", lambda: "/plans/new/")

    html = auth_client.get(detail_url(trio)).content.decode()

    # the two non-primary members only: delete, and keep as a version (each its own plan form)
    assert html.count('action="/plans/new/"') == 4
    assert html.count('name="action" value="delete"') == 2
    assert html.count('name="action" value="keep_as_version"') == 2
    other = ({1, 2, 3} - {trio.primary_id}).pop()
    assert f'name="documents" value="{other}"' in html
    assert f'name="documents" value="{trio.primary_id}"' not in html
    assert 'name="action" value="delete"' in html and f'name="group" value="{trio.pk}"' in html


def test_without_the_plan_page_no_delete_button_is_offered(auth_client, trio, monkeypatch):
    monkeypatch.setattr(detail_views, "plan_create_url", lambda: None)

    html = auth_client.get(detail_url(trio)).content.decode()

    assert 'name="action" value="delete"' not in html
    assert "done from a confirmed plan" in html


def test_repeated_words_never_reach_difflib_in_blocks_larger_than_the_bound(monkeypatch):
    """Texts of repeated words made difflib alone run for seconds; it only ever sees small gaps."""
    seen: list[int] = []
    real = review.difflib.SequenceMatcher

    def recording(isjunk, a, b, autojunk=True):
        seen.append(len(a) * len(b))
        return real(isjunk, a, b, autojunk=autojunk)

    monkeypatch.setattr(review.difflib, "SequenceMatcher", recording)
    left = " ".join(f"x{i % 120}" for i in range(6000))
    right = " ".join(f"x{(i * 13) % 120}" for i in range(6000))

    diff = review.diff_texts(left, right + " Ende")

    assert all(cells <= review.DIFF_REFINE_CELLS for cells in seen)
    assert [s.text for s in diff.right if s.changed][-1].endswith("Ende")


def test_word_opcodes_cover_both_texts_in_order():
    rng = random.Random(5)
    left = random_words(7, 3000).split() + ["the", "of"] * 500
    right = list(left)
    for _ in range(40):
        right[rng.randrange(len(right))] = "CHANGED"
    del right[100:140]
    right[2000:2000] = ["NEW"] * 30

    opcodes, ratio = review._word_opcodes(left, right)

    i = j = 0
    for tag, i1, i2, j1, j2 in opcodes:
        assert (i1, j1) == (i, j)
        if tag == "equal":
            assert left[i1:i2] == right[j1:j2]
        i, j = i2, j2
    assert (i, j) == (len(left), len(right))
    assert 0.9 < ratio < 1.0


def test_the_installed_plan_page_receives_the_delete(auth_client, trio):
    html = auth_client.get(detail_url(trio)).content.decode()

    assert f'action="{reverse("plan-create")}"' in html


def test_filters_put_on_the_link_by_the_list_become_the_way_back(auth_client, trio):
    html = auth_client.get(
        detail_url(trio), {"status": "new", "min_confidence": "0.9", "compare": 3, "page": 1}
    ).content.decode()

    back = f"{reverse('group-list')}?status=new&amp;min_confidence=0.9"
    assert f'href="{back}"' in html  # the list's filters, without the preview's own page
    assert f'name="next" value="{back}"' in html  # and every action form carries them on
