"""Fitting a document's text into a token budget without losing what metadata comes from.

Pure functions, no Django. A long text is cut "smartly": its start (letterhead, sender, subject,
date), its end (totals, signature, payment terms), and from the middle only the lines that carry
a date or an amount, in document order. The parts are joined with a marker the prompt explains.

Tokens are counted approximately, by characters (``chars_per_token``): the exact tokenizer of an
arbitrary OpenAI-compatible model is not known here, and the figure is calibrated from the
``usage`` of past answers (see :mod:`ai_review.budget`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CUT_MARKER = "\n[…]\n"
DEFAULT_CHARS_PER_TOKEN = 4.0
HEAD_SHARE = 0.45
TAIL_SHARE = 0.2
MAX_LINE_CHARS = 240

_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|januar|februar|märz|maerz|mai|juni|"
    "juli|okt|dez|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|"
    "novembre|décembre|decembre|january|february|march|april|june|july|august|september|"
    "october|november|december"
)
DATE_RE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b"  # 2024-03-01
    r"|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b"  # 01.03.2024, 1/3/24
    r"|\b\d{1,2}\.?\s+(?:" + _MONTHS + r")\.?\s+\d{2,4}\b"  # 1. März 2024, 1 March 2024
    r"|\b(?:" + _MONTHS + r")\.?\s+\d{1,2},?\s+\d{4}\b",  # March 1, 2024
    re.IGNORECASE,
)
AMOUNT_RE = re.compile(
    r"(?:[€$£¥]|\b(?:eur|usd|gbp|chf|sek|nok|dkk|pln|czk)\b)\s*-?\d[\d.,' ]*"  # € 12,50 / EUR 12
    r"|-?\d[\d.,' ]*\d\s*(?:[€$£¥]|\b(?:eur|usd|gbp|chf|sek|nok|dkk|pln|czk)\b)"  # 12,50 €
    r"|\b\d{1,3}(?:[.,' ]\d{3})*[.,]\d{2}\b",  # 1.234,56 / 1,234.56 / 12.50
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Excerpt:
    """What is sent of a document: the text, whether it was cut, and its estimated tokens."""

    text: str
    truncated: bool
    original_chars: int
    estimated_tokens: int


def estimate_tokens(text: str, *, chars_per_token: float = DEFAULT_CHARS_PER_TOKEN) -> int:
    """Approximate tokens of ``text``: characters divided by ``chars_per_token``, rounded up."""
    if not text:
        return 0
    return int(-(-len(text) // max(chars_per_token, 0.5)))


def has_date_or_amount(line: str) -> bool:
    return bool(DATE_RE.search(line) or AMOUNT_RE.search(line))


def _head(text: str, limit: int) -> str:
    """The start of ``text``, at most ``limit`` characters, ending at a line break if near."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > limit * 0.6 else limit]


def _tail(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    start = len(text) - limit
    cut = text.find("\n", start)
    return text[cut + 1 if 0 <= cut < start + limit * 0.4 else start :]


def excerpt(
    text: str, *, max_tokens: int, chars_per_token: float = DEFAULT_CHARS_PER_TOKEN
) -> Excerpt:
    """``text`` fitted into ``max_tokens``: whole when it fits, else start, end, and the middle's
    lines with dates or amounts (each at most ``MAX_LINE_CHARS``), joined by ``CUT_MARKER``."""
    text = (text or "").strip()
    budget = max(0, int(max_tokens * chars_per_token))
    if len(text) <= budget:
        return Excerpt(
            text=text,
            truncated=False,
            original_chars=len(text),
            estimated_tokens=estimate_tokens(text, chars_per_token=chars_per_token),
        )
    marker = len(CUT_MARKER)
    head = _head(text, max(0, int(budget * HEAD_SHARE)))
    tail = _tail(text, max(0, int(budget * TAIL_SHARE)))
    middle_text = text[len(head) : len(text) - len(tail)]
    room = budget - len(head) - len(tail) - 2 * marker
    picked: list[str] = []
    for line in middle_text.splitlines():
        line = line.strip()
        if not line or not has_date_or_amount(line):
            continue
        line = line[:MAX_LINE_CHARS]
        if len(line) + 1 > room:
            break
        picked.append(line)
        room -= len(line) + 1
    parts = [head.rstrip()]
    if picked:
        parts.append("\n".join(picked))
    parts.append(tail.lstrip())
    result = CUT_MARKER.join(part for part in parts if part)
    return Excerpt(
        text=result,
        truncated=True,
        original_chars=len(text),
        estimated_tokens=estimate_tokens(result, chars_per_token=chars_per_token),
    )
