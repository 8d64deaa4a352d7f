"""The pure parts: fitting a text into a token budget, and reading a model's answer."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ai_review.answers import AnswerRejected, CurrentMetadata, read_answer
from ai_review.prompt import CustomFieldInfo, Vocabulary, answer_schema
from ai_review.truncation import CUT_MARKER, excerpt

VOCABULARY = Vocabulary(
    correspondents={"ACME Energy": 1, "City Bank": 2},
    document_types={"Invoice": 1},
    tags={"bills": 1, "energy": 2},
    custom_fields={
        "Paid": CustomFieldInfo(id=1, name="Paid", data_type="boolean"),
        "Status": CustomFieldInfo(
            id=2, name="Status", data_type="select", options=(("a1", "Open"), ("b2", "Done"))
        ),
        "Amount": CustomFieldInfo(id=3, name="Amount", data_type="monetary"),
        "Due": CustomFieldInfo(id=4, name="Due", data_type="date"),
    },
)
TEXT = "ACME Energy invoice\nTotal 12,50 €\nDue 2024-04-01"


def _answer(**overrides) -> str:
    base = {
        "title": {"value": "ACME invoice", "confidence": 0.9, "evidence": "ACME Energy invoice"},
        "correspondent": {"value": "ACME Energy", "confidence": 0.8, "evidence": "ACME Energy"},
        "document_type": {"value": None, "confidence": 0, "evidence": ""},
        "created": {"value": "2024-03-05", "confidence": 0.7, "evidence": "not in the text"},
        "tags": [],
        "custom_fields": [],
    }
    base.update(overrides)
    return json.dumps(base)


def _read(content: str, *, current: CurrentMetadata | None = None, max_tags: int = 5):
    return read_answer(
        content,
        vocabulary=VOCABULARY,
        current=current or CurrentMetadata(),
        text=TEXT,
        max_tags=max_tags,
        today=date(2026, 1, 1),
    )


def test_short_text_is_sent_whole():
    result = excerpt("one\ntwo", max_tokens=100)
    assert result.text == "one\ntwo" and not result.truncated


def test_long_text_keeps_start_end_and_middle_lines_with_dates_and_amounts():
    middle = [f"filler line {n} with nothing of interest at all" for n in range(400)]
    middle[150] = "Invoice date 05.03.2024 for the period"
    middle[250] = "Total due: 1.234,56 EUR"
    text = "LETTERHEAD ACME\n" + "\n".join(middle) + "\nSIGNATURE"
    result = excerpt(text, max_tokens=300)
    assert result.truncated
    assert result.text.startswith("LETTERHEAD ACME")
    assert result.text.endswith("SIGNATURE")
    assert "Invoice date 05.03.2024" in result.text
    assert "Total due: 1.234,56 EUR" in result.text
    assert CUT_MARKER in result.text
    assert len(result.text) <= 300 * 4
    assert "filler line 200 " not in result.text


def test_answer_becomes_proposals_that_differ_from_the_current_values():
    reading = _read(_answer(), current=CurrentMetadata(correspondent=1))
    keys = [p.key for p in reading.proposals]
    assert keys == ["title", "created"]  # the correspondent is already ACME Energy
    created = reading.proposals[1]
    assert created.evidence_found is False  # the quote is not in the text
    assert reading.proposals[0].evidence_found is True


def test_invented_correspondent_is_not_offered_but_invented_tag_is_new():
    reading = _read(
        _answer(
            correspondent={"value": "Mega Corp", "confidence": 0.9, "evidence": "x"},
            tags=[
                {"name": "Energy", "confidence": 0.6, "evidence": "energy"},
                {"name": "utilities", "confidence": 0.5, "evidence": "energy"},
            ],
        )
    )
    assert "Mega Corp" in reading.notes[0]
    tags = [p for p in reading.proposals if p.field == "tag"]
    assert [(t.display, t.value, t.is_new) for t in tags] == [
        ("energy", 2, False),
        ("utilities", None, True),
    ]


def test_only_the_most_confident_tags_up_to_the_limit():
    tags = [{"name": f"t{n}", "confidence": n / 10, "evidence": ""} for n in range(1, 8)]
    reading = _read(_answer(tags=tags), max_tags=3)
    assert [p.display for p in reading.proposals if p.field == "tag"] == ["t7", "t6", "t5"]


def test_custom_field_values_are_typed_and_checked():
    reading = _read(
        _answer(
            custom_fields=[
                {"field": "Paid", "value": "yes", "confidence": 0.9, "evidence": ""},
                {"field": "Status", "value": "done", "confidence": 0.9, "evidence": ""},
                {"field": "Amount", "value": "12,50 €", "confidence": 0.9, "evidence": ""},
                {"field": "Due", "value": "next week", "confidence": 0.9, "evidence": ""},
            ]
        )
    )
    values = {p.label: p.value for p in reading.proposals if p.field == "custom_field"}
    assert values == {"Paid": True, "Status": "b2", "Amount": "EUR12.50"}
    assert any("Due: 'next week' is not a date" in note for note in reading.notes)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty answer"),
        ('{"title": ', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"title": "x"}), "does not fit the schema"),
        (
            _answer(title={"value": "x", "confidence": 7, "evidence": ""}),
            "confidence is not 0 to 1",
        ),
        (_answer(extra=1), "does not fit the schema"),
    ],
)
def test_unusable_answers_are_rejected_with_the_reason(content, reason):
    with pytest.raises(AnswerRejected, match=reason):
        _read(content)


def test_schema_is_strict_and_lists_what_exists():
    schema = answer_schema(VOCABULARY)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    assert schema["properties"]["document_type"]["properties"]["value"]["enum"] == ["Invoice", None]
    names = schema["properties"]["custom_fields"]["items"]["properties"]["field"]["enum"]
    assert names == ["Amount", "Due", "Paid", "Status"]
