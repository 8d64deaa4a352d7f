"""The discriminative check for templated documents.

Monthly bills from one template share almost all of their words; what tells them apart are
their dates, amounts and reference numbers. This module reads those values from the raw text
(its own path: digits are never folded into letters here) and compares the two sets.

Rules (:func:`compare_identifiers`):

* OCR letter/digit confusions inside a number (``O/0``, ``l/I/1``, ``S/s/5``, ``B/8``, ``Z/2``) are
  canonicalised before comparing, so they cost nothing.
* Values equal on both sides match. A value left on one side only is *missing* (an extract, a
  missing page, a number OCR could not read) and is no evidence either way.
* A remaining value that is one misreading away from a remaining value of the same kind on the
  other side is *near*: one digit read as a digit OCR confuses it with (``3/8``, ``1/7``,
  ``5/6``..., :data:`CONFUSABLE`), or one digit dropped or doubled. Another digit in one place
  (``13.03.`` / ``13.05.``, another month) is a real difference. Values shorter than
  :data:`MIN_NEAR_LENGTH` characters must match exactly, so a near match needs a long value.
  A value that is a piece of a value on the other side (OCR split or truncated a number) is
  near as well. Version numbers (``Version 2.1``) must always match exactly.
* Anything else left on both sides is a *conflict*.

More near values than one misread per :data:`NEAR_PER_EXACT` exact matches allows count as
conflicts beyond that allowance (different months of one bill can differ in several dates,
each by a digit OCR could confuse; a rescan has at most a few misreads among many exact
matches). Two documents conflict when there is at least one conflict.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

IDENTIFIERS_VERSION = 3
MIN_NEAR_LENGTH = 4
MIN_DAMAGED_LENGTH = 3
NEAR_PER_EXACT = 4
# Digits OCR takes for one another (shapes that differ by a stroke or a closed loop).
CONFUSABLE = frozenset(
    frozenset(pair) for pair in ("08", "06", "09", "17", "38", "56", "68", "89", "49")
)

_DIGITISH = "0-9OoIl|SsBZz"
_DATE = re.compile(
    rf"(?<![\w.])(?:[{_DIGITISH}]{{1,2}} ?[./-] ?[{_DIGITISH}]{{1,2}} ?[./-] ?[{_DIGITISH}]{{2,4}}"
    rf"|[{_DIGITISH}]{{4}}-[{_DIGITISH}]{{2}}-[{_DIGITISH}]{{2}})(?![\w])"
)
_AMOUNT = re.compile(
    rf"(?<![\w.,])[{_DIGITISH}]{{1,3}}(?:[.,' ][{_DIGITISH}]{{3}})*"
    rf"[.,][{_DIGITISH}]{{2}}(?![\w.,]?\d)"
)
_REFERENCE = re.compile(r"(?<![\w])(?=[\w/-]*\d[\w/-]*\d[\w/-]*\d)[A-Za-z0-9][\w/-]{3,}(?!\w)")
_VERSION = re.compile(
    r"(?i)\b(?:version|fassung|revision|rev\.?)\s?(\d+(?:\.\d+)*)\b|\bv(\d+(?:\.\d+)+)\b"
    # a release number such as 2.14.3 (a date never ends in a one-digit year)
    r"|(?<![\d.])(\d{1,3}\.\d{1,3}\.\d)(?![\d.])"
)
_TO_DIGIT = str.maketrans(
    {"O": "0", "o": "0", "I": "1", "l": "1", "|": "1", "S": "5", "s": "5", "B": "8", "Z": "2",
     "z": "2"}
)  # fmt: skip
_DIGIT_RUN = re.compile(r"\d\S*(?:[ \t]{1,2}\S*\d\S*)*")
_SEPARATORS = re.compile(r"[\s./,'-]")
_RUN = re.compile(r"[A-Za-z0-9|]+")


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: str  # "version", "date", "amount" or "ref"
    value: str


@dataclass(frozen=True, slots=True)
class IdentifierComparison:
    exact: int
    near: int
    conflicts: int
    missing: int
    version_conflicts: int = 0

    @property
    def compared(self) -> int:
        return self.exact + self.near + self.conflicts

    @property
    def agreement(self) -> float | None:
        """The share of the values found on both sides that are equal (None: none to compare):
        a rescan agrees on nearly all of its numbers, another month of one bill on its fixed
        ones only."""
        return self.exact / self.compared if self.compared else None

    @property
    def is_conflict(self) -> bool:
        return bool(self.conflicts)

    @property
    def score(self) -> float | None:
        """1.0 compatible, 0.0 different documents, ``None`` when there is nothing to compare."""
        if self.compared == 0:
            return None
        return 0.0 if self.is_conflict else 1.0


def _canonical(raw: str) -> str:
    return _SEPARATORS.sub("", raw.translate(_TO_DIGIT)).upper()


def _canonical_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if sum(char.isdigit() for char in run) * 2 >= len(run):
        return run.translate(_TO_DIGIT)
    return run


def _canonical_reference(raw: str) -> str:
    return _SEPARATORS.sub("", _RUN.sub(_canonical_run, raw)).upper()


def numeric_regions(text: str) -> str:
    """Only the parts of ``text`` around digits (with the word before each), one per line.

    The identifier patterns are costly to try at every position of a long text; a scan for
    digits is cheap, and every identifier contains at least one digit.
    """
    spans: list[list[int]] = []
    for match in _DIGIT_RUN.finditer(text):
        start = max(text.rfind(" ", 0, match.start()), text.rfind("\n", 0, match.start()))
        before = text[: max(start, 0)].rstrip()
        previous_word = max(before.rfind(" "), before.rfind("\n")) + 1
        start = previous_word if start >= 0 else 0
        if spans and start <= spans[-1][1]:
            spans[-1][1] = match.end()
        else:
            spans.append([start, match.end()])
    return "\n".join(text[start:end] for start, end in spans)


def extract_identifiers(text: str) -> Counter[Identifier]:
    """Dates, amounts and reference numbers of a raw (not normalised) text, as a multiset."""
    text = numeric_regions(unicodedata.normalize("NFKC", text))
    found: Counter[Identifier] = Counter()
    taken: list[tuple[int, int]] = []
    for match in _VERSION.finditer(text):
        found[Identifier("version", match.group(1) or match.group(2) or match.group(3))] += 1
        taken.append(match.span())
    for kind, pattern in (("date", _DATE), ("amount", _AMOUNT)):
        for match in pattern.finditer(text):
            overlaps = any(match.start() < end and start < match.end() for start, end in taken)
            if overlaps or not any(char.isdigit() for char in match.group(0)):
                continue
            found[Identifier(kind, _canonical(match.group(0)))] += 1
            taken.append(match.span())
    for match in _REFERENCE.finditer(text):
        start, end = match.span()
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        value = _canonical_reference(match.group(0))
        if sum(char.isdigit() for char in value) * 2 >= len(value):
            found[Identifier("ref", value)] += 1
    return found


def _take_partner(
    ident: Identifier, candidates: list[Identifier], *, accept: Callable[[str, str], bool]
) -> bool:
    for other in candidates:
        if accept(ident, other):
            candidates.remove(other)
            return True
    return False


def _one_edit(left: Identifier, right: Identifier) -> bool:
    """One misreading apart: one confusable digit, or one character dropped or doubled."""
    if left.kind != right.kind or left.kind == "version":
        return False
    a, b = left.value, right.value
    if min(len(a), len(b)) < MIN_NEAR_LENGTH:
        return False
    if len(a) != len(b):
        return Levenshtein.distance(a, b, score_cutoff=1) <= 1
    differing = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(differing) == 1 and frozenset(differing[0]) in CONFUSABLE


def _damaged(left: Identifier, right: Identifier) -> bool:
    """One value is a piece of the other: OCR split or truncated a number."""
    if "version" in (left.kind, right.kind):
        return False
    short, long_ = sorted((left.value, right.value), key=len)
    return len(short) >= MIN_DAMAGED_LENGTH and short in long_


def _pair_near(left: list[Identifier], right: list[Identifier]) -> tuple[int, Counter[str]]:
    """Match leftovers that one misread explains; return (near, conflicts per kind)."""
    near = 0
    unmatched_right = list(right)
    unmatched_left: list[Identifier] = []
    for accept in (_one_edit, _damaged):
        unmatched_left = []
        for ident in left:
            if _take_partner(ident, unmatched_right, accept=accept):
                near += 1
            else:
                unmatched_left.append(ident)
        left = unmatched_left
    kinds_left = Counter(ident.kind for ident in unmatched_left)
    kinds_right = Counter(ident.kind for ident in unmatched_right)
    conflicts = Counter({kind: min(count, kinds_right[kind]) for kind, count in kinds_left.items()})
    return near, +conflicts


def compare_identifiers(
    *, left: Counter[Identifier], right: Counter[Identifier]
) -> IdentifierComparison:
    """Compare the identifier multisets of two documents (see the module docstring)."""
    common = left & right
    exact = sum(common.values())
    rest_left = list((left - common).elements())
    rest_right = list((right - common).elements())
    near, by_kind = _pair_near(rest_left, rest_right)
    conflicts = sum(by_kind.values())
    missing = len(rest_left) + len(rest_right) - 2 * near - 2 * conflicts
    # A rescan misreads a digit here and there among many that agree; more misreadings than
    # that (other months of one bill whose dates differ in digits OCR could confuse) are
    # differences: the excess counts as conflicts.
    allowed = max(1, exact // NEAR_PER_EXACT)
    if near > allowed:
        conflicts += near - allowed
        near = allowed
    return IdentifierComparison(
        exact=exact, near=near, conflicts=conflicts, missing=missing,
        version_conflicts=by_kind["version"],
    )  # fmt: skip
