"""Replaced words: in a short text one word replaced by another is decisive; misreadings and
dropped words are not replacements."""

from __future__ import annotations

from duplicates.engine.normalise import normalise_text
from duplicates.engine.scoring import replaced_words


def _replaced(left: str, right: str) -> int | None:
    return replaced_words(normalise_text(left), normalise_text(right))


def test_one_word_that_matters_is_one_replaced_word():
    assert (
        _replaced(
            "Confirmation of receipt. We have received the first copy of your application.",
            "Confirmation of receipt. We have received the second copy of your application.",
        )
        == 1
    )


def test_ocr_misreadings_are_not_replacements():
    assert (
        _replaced(
            "2 x Ibuprofen 400 9.90 Plasters Cash - Thank you!",
            "2x Tbuprofen 400 9,90 Plasfers Cash ~ Thank yon!",
        )
        == 0
    )


def test_words_a_poorer_scan_dropped_are_not_replacements():
    full = "We will debit the total amount on the due date from your account as agreed."
    assert _replaced(full, "We will debit the amount on the date from your account.") == 0


def test_identical_texts_have_none():
    text = "Parcel notification: your parcel was left with the neighbour."
    assert _replaced(text, text) == 0


def test_a_weekday_for_another_is_replaced_not_misread():
    assert _replaced("Closed on Tuesday.", "Closed on Thursday.") == 1


def test_texts_differing_in_many_words_are_not_counted():
    letters = "bcdfghkmnprstvwxz"
    left = " ".join(f"ka{letters[i % 17]}{letters[i // 17]}ta" for i in range(80))
    right = " ".join(f"mo{letters[i % 17]}{letters[i // 17]}re" for i in range(80))
    assert _replaced(left, right) is None


def test_a_word_that_also_stands_elsewhere_in_the_text_still_counts():
    assert (
        _replaced(
            "Your parcel was left with the left neighbour.",
            "Your parcel was left with the right neighbour.",
        )
        == 1
    )


def test_a_word_ocr_split_in_two_is_not_a_replacement():
    assert (
        _replaced(
            "the first instalment of the course fee is due this month",
            "the first inst this month alment of the course fee is due",
        )
        == 0
    )


def test_debris_where_a_number_stood_and_a_dropped_word_are_not_a_replacement():
    # a poor photo read "3.58" as "Sone" and the other copy lost "Cash" at the end: a word
    # left over on each side, but neither stands in the place of the other
    assert (
        _replaced(
            "Fresh Market 2 x Bananas Sone TOTAL EUR 10.45 - Thank you!",
            "Fresh Market 2 x Bananas 3.58 TOTAL EUR 10.45 Cash - Thank you!",
        )
        == 0
    )


def test_a_replaced_word_counts_wherever_else_the_texts_differ():
    assert (
        _replaced(
            "Closed on Tuesday. Opening hours 9 to 18. Cash only.",
            "Closed on Thursday. Opening hours 9 to 18.",
        )
        == 1
    )
