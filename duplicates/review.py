"""Reviewing one duplicate group: what the page and the API show side by side, and the decisions a
person takes on it. The detail views (``duplicates/detail_views.py``) and the API
(``duplicates/api_detail.py``) call these same functions.

Bounds, so a megabyte of OCR can't hang a page:

* the word diff compares at most :data:`DIFF_MAX_CHARS` characters of each text (cut at a word
  boundary, the page says so); difflib's cost grows with the product of the word counts, so this
  keeps one diff to a few tens of milliseconds whatever the documents hold. Long identical runs are
  folded to a line ("… 120 identical words …") with :data:`DIFF_CONTEXT_WORDS` around changes;
* identifiers (dates, amounts, reference numbers) are read from at most
  :data:`IDENTIFIER_MAX_CHARS` characters, which the engine's digit scan handles in milliseconds;
* the pairwise factors list at most :data:`MAX_PAIRS` pairs, the primary's pairs first.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from documents.models import Document
from duplicates.engine.identifiers import Identifier, compare_identifiers, extract_identifiers
from duplicates.engine.scoring import (
    FACTORS,
    INFO_FACTORS,
    ScoringConfig,
    confidence,
    contributions,
)
from duplicates.models import DuplicateGroup, GroupMember, PairDecision, PairEdge

DIFF_MAX_CHARS = 30_000
DIFF_CONTEXT_WORDS = 12
DIFF_FOLD_MIN_WORDS = 40
DIFF_REFINE_CELLS = 10_000
IDENTIFIER_MAX_CHARS = 200_000
MAX_PAIRS = 200

FACTOR_LABELS: dict[str, tuple[str, str]] = {
    "jaccard": ("Shared word sequences", "Jaccard similarity of the texts' shingles."),
    "fuzzy": ("Text similarity", "Fuzzy ratio of the whole normalised texts."),
    "characters": ("Shared letters", "Character 4-grams in common: survives a poor scan."),
    "containment": ("Text contained", "How much of the shorter text is inside the longer one."),
    "words": (
        "Replaced words",
        "Words of one text replaced by other words in the other (not a misreading).",
    ),
    "image": ("Page layout", "How alike the ink on the first pages is laid out."),
    "correspondent": ("Same correspondent", "1 when both have the same correspondent."),
    "document_type": ("Same document type", "1 when both have the same document type."),
    "created": ("Created date", "1 on the same day, less the further apart."),
    "page_count": ("Page count", "Ratio of the page counts."),
    "size": ("File size", "Ratio of the file sizes."),
    "title": ("Title", "Similarity of the titles."),
    "filename": ("File name", "Similarity of the original file names."),
    "checksum": ("Same file", "1 when the checksums are identical."),
    "discriminative": (
        "Dates, amounts, numbers",
        "1 when they agree, 0 when they conflict (another month, another invoice).",
    ),
    "text_reliable": ("Enough text", "1 when both texts are long enough to compare."),
    "length_ratio": ("Text length ratio", "Ratio of the text lengths."),
    "tokens": ("Words in the shorter text", "How many words the shorter text has."),
    "id_exact": ("Numbers that agree", "Dates, amounts and numbers found in both."),
    "id_near": ("Numbers one misreading apart", "Pairs of values one character apart."),
    "id_conflicts": ("Numbers that differ", "The same kind of value with two different values."),
    "id_versions": ("Versions that differ", "Version numbers that differ (Version 2 / 2.1)."),
    "id_agreement": ("Numbers that agree, share", "Of the values found in both, how many agree."),
    "id_differ_same_text": (
        "Numbers that differ in the same text",
        "Values that differ between texts that otherwise agree (another month of one bill).",
    ),
    "words_rate": ("Replaced words per 1,000", "Replaced words per thousand words of text."),
}
COUNTS = (
    "words", "tokens", "id_exact", "id_near", "id_conflicts", "id_versions", "words_rate",
    "id_differ_same_text",
)  # fmt: skip
IDENTIFIER_KINDS = {"date": "Dates", "amount": "Amounts", "ref": "Numbers", "version": "Versions"}

# --- Loading --------------------------------------------------------------------------------------


def group_for_review(group_id: int) -> DuplicateGroup:
    """The group with its active members (documents, names and tags loaded) as
    ``active_members`` and the removed ones as ``removed_members``. Raises ``DoesNotExist``."""
    members = GroupMember.objects.select_related(
        "document",
        "document__correspondent",
        "document__document_type",
        "document__storage_path",
        "removed_by",
    ).prefetch_related("document__tags")
    return (
        DuplicateGroup.objects.select_related("primary", "status_changed_by")
        .prefetch_related(
            Prefetch("members", queryset=members.filter(removed=False), to_attr="active_members"),
            Prefetch("members", queryset=members.filter(removed=True), to_attr="removed_members"),
        )
        .get(pk=group_id)
    )


def kept_explanation(group: DuplicateGroup) -> Any:
    """Why the group keeps its primary ("kept: 4 pages, has a text layer") and where it has
    fewer pages or less text than another member; None without a primary."""
    from duplicates.keeping import explain_kept

    if group.primary_id is None:
        return None
    others = [m.document_id for m in group.active_members if m.document_id != group.primary_id]
    return explain_kept(kept_id=group.primary_id, other_ids=others, chosen=group.primary_chosen)


def member_documents(group: DuplicateGroup) -> list[Document]:
    """Active members' documents, the primary first (then by confidence, as the model orders)."""
    documents = [member.document for member in group.active_members]
    documents.sort(key=lambda document: document.pk != group.primary_id)
    return documents


def active_member(group: DuplicateGroup, paperless_id: int) -> Document | None:
    for member in group.active_members:
        if member.document.paperless_id == paperless_id:
            return member.document
    return None


def texts_of(documents: Iterable[Document], *, max_chars: int) -> dict[int, str]:
    """The first ``max_chars`` characters of each document's text (by pk), cut in the database
    so a huge OCR text is never loaded whole."""
    from django.db.models.functions import Substr

    from documents.models import DocumentContent

    ids = [document.pk for document in documents]
    rows = DocumentContent.objects.filter(document_id__in=ids).annotate(
        head=Substr("text", 1, max_chars)
    )
    found = dict(rows.values_list("document_id", "head"))
    return {pk: found.get(pk) or "" for pk in ids}


# --- Factors --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactorRow:
    name: str
    label: str
    help: str
    value: float | None
    moved: float | None = None  # how many points this factor moved the pair's confidence

    @property
    def is_count(self) -> bool:
        return self.name in COUNTS

    @property
    def percent(self) -> int | None:
        if self.value is None or self.is_count:
            return None
        return round(self.value * 100)

    @property
    def moved_points(self) -> int | None:
        return None if self.moved is None else round(self.moved * 100)


def factor_moves(factors: dict[str, Any], *, scoring: ScoringConfig) -> dict[str, float]:
    """Per factor, the pair's confidence with it minus without it (under ``scoring``)."""
    full = confidence(factors, config=scoring)
    moves = {}
    for name in contributions(factors, config=scoring):
        if name not in FACTORS:
            continue
        without = replace(scoring, enabled=scoring.enabled - {name})
        moves[name] = full - confidence(factors, config=without)
    return moves


def factor_rows(
    factors: dict[str, Any], *, scoring: ScoringConfig | None = None
) -> list[FactorRow]:
    """The stored factors of a pair, labelled, in the engine's order; unknown factors last;
    with ``scoring``, how much each factor moved the pair's confidence."""
    names = [name for name in (*FACTORS, *INFO_FACTORS) if name in factors]
    names += sorted(name for name in factors if name not in names)
    moves = factor_moves(factors, scoring=scoring) if scoring is not None else {}
    rows = []
    for name in names:
        label, help_text = FACTOR_LABELS.get(name, (name.replace("_", " ").capitalize(), ""))
        value = factors[name]
        number = float(value) if isinstance(value, int | float) else None
        rows.append(FactorRow(name, label, help_text, number, moves.get(name)))
    return rows


@dataclass(frozen=True, slots=True)
class PairRow:
    a: Document
    b: Document
    confidence: float | None
    factors: list[FactorRow]
    not_duplicate: bool
    scored: bool


def pair_rows(
    group: DuplicateGroup, *, limit: int = MAX_PAIRS, scoring: ScoringConfig | None = None
) -> tuple[list[PairRow], bool]:
    """Every pair of active members with its stored edge and whether a person said "not
    duplicates"; the primary's pairs first. Returns the rows and whether some were left off.
    ``scoring`` (default: the saved configuration) says how much each factor moved a score."""
    if scoring is None:
        from dedupe_project.models import Configuration

        scoring = Configuration.objects.get_solo().scoring_config()
    documents = member_documents(group)
    by_pk = {document.pk: document for document in documents}
    ids = list(by_pk)
    edges = {
        (edge.a_id, edge.b_id): edge
        for edge in PairEdge.objects.filter(a_id__in=ids, b_id__in=ids).only(
            "a_id", "b_id", "factors", "confidence"
        )
    }
    decided = set(
        PairDecision.objects.filter(a_id__in=ids, b_id__in=ids).values_list("a_id", "b_id")
    )
    pairs = [
        tuple(sorted((first.pk, second.pk)))
        for index, first in enumerate(documents)
        for second in documents[index + 1 :]
    ]
    # The primary's pairs come first (documents is primary-first), then the strongest.
    pairs.sort(
        key=lambda pair: (
            group.primary_id not in pair,
            -(edges[pair].confidence if pair in edges else -1.0),
        )
    )
    rows = []
    for a, b in pairs[:limit]:
        edge = edges.get((a, b))
        first, second = (a, b) if a == group.primary_id or b != group.primary_id else (b, a)
        rows.append(
            PairRow(
                a=by_pk[first],
                b=by_pk[second],
                confidence=edge.confidence if edge else None,
                factors=factor_rows(edge.factors, scoring=scoring) if edge else [],
                not_duplicate=(a, b) in decided,
                scored=edge is not None,
            )
        )
    return rows, len(pairs) > limit


# --- Identifiers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentifierValue:
    kind: str
    value: str
    count: int = 1


@dataclass(slots=True)
class IdentifierKind:
    kind: str
    label: str
    shared: list[IdentifierValue] = field(default_factory=list)
    only_left: list[IdentifierValue] = field(default_factory=list)
    only_right: list[IdentifierValue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class IdentifierReport:
    kinds: list[IdentifierKind]
    exact: int
    near: int
    conflicts: int
    missing: int
    conflict: bool
    truncated: bool

    @property
    def shared_count(self) -> int:
        return sum(len(kind.shared) for kind in self.kinds)

    @property
    def differing_count(self) -> int:
        return sum(len(kind.only_left) + len(kind.only_right) for kind in self.kinds)


def _values(counter: Counter[Identifier]) -> list[IdentifierValue]:
    return sorted(
        (IdentifierValue(ident.kind, ident.value, count) for ident, count in counter.items()),
        key=lambda item: item.value,
    )


def compare_texts_identifiers(
    left: str, right: str, *, max_chars: int = IDENTIFIER_MAX_CHARS
) -> IdentifierReport:
    """Dates, amounts and reference numbers both texts share and those only one has, with the
    engine's verdict (near matches are one misread character; a conflict means different
    documents)."""
    truncated = len(left) > max_chars or len(right) > max_chars
    found_left = extract_identifiers(left[:max_chars])
    found_right = extract_identifiers(right[:max_chars])
    verdict = compare_identifiers(left=found_left, right=found_right)
    shared = found_left & found_right
    kinds = []
    for kind, label in IDENTIFIER_KINDS.items():

        def of_kind(counter: Counter[Identifier], kind: str = kind) -> Counter[Identifier]:
            return Counter({ident: n for ident, n in counter.items() if ident.kind == kind})

        entry = IdentifierKind(
            kind=kind,
            label=label,
            shared=_values(of_kind(shared)),
            only_left=_values(of_kind(found_left - shared)),
            only_right=_values(of_kind(found_right - shared)),
        )
        if entry.shared or entry.only_left or entry.only_right:
            kinds.append(entry)
    return IdentifierReport(
        kinds=kinds,
        exact=verdict.exact,
        near=verdict.near,
        conflicts=verdict.conflicts,
        missing=verdict.missing,
        conflict=verdict.is_conflict,
        truncated=truncated,
    )


# --- Text diff ------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\S+\s*")


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of one side's text: ``changed`` words are marked, ``folded`` says how many identical
    words were left out in its place."""

    text: str = ""
    changed: bool = False
    folded: int = 0


@dataclass(frozen=True, slots=True)
class TextDiff:
    left: list[Segment]
    right: list[Segment]
    ratio: float
    left_truncated: bool
    right_truncated: bool
    max_chars: int
    identical: bool

    @property
    def truncated(self) -> bool:
        return self.left_truncated or self.right_truncated


def _head(text: str, max_chars: int) -> tuple[str, bool]:
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return (cut[:space] if space > max_chars // 2 else cut), True


def _equal_segments(tokens: Sequence[str], *, first: bool, last: bool) -> list[Segment]:
    """An identical run; a long one keeps some context at each end and folds the middle."""
    keep_before = 0 if first else DIFF_CONTEXT_WORDS
    keep_after = 0 if last else DIFF_CONTEXT_WORDS
    if len(tokens) < DIFF_FOLD_MIN_WORDS or len(tokens) <= keep_before + keep_after:
        return [Segment("".join(tokens))]
    segments = []
    if keep_before:
        segments.append(Segment("".join(tokens[:keep_before])))
    segments.append(Segment(folded=len(tokens) - keep_before - keep_after))
    if keep_after:
        segments.append(Segment("".join(tokens[-keep_after:])))
    return segments


def _unique_anchors(left: Sequence[str], right: Sequence[str]) -> list[tuple[int, int]]:
    """Words that occur exactly once on each side, as (left index, right index) pairs, reduced to
    the longest run increasing on both sides (patience diff's anchors)."""
    left_count, right_count = Counter(left), Counter(right)
    right_index = {word: j for j, word in enumerate(right) if right_count[word] == 1}
    pairs = [
        (i, right_index[word])
        for i, word in enumerate(left)
        if left_count[word] == 1 and word in right_index
    ]
    # Longest increasing subsequence of the right indices (patience sorting, O(k log k)).
    tails: list[int] = []
    tail_at: list[int] = []
    previous: list[int] = [-1] * len(pairs)
    for index, (_i, j) in enumerate(pairs):
        position = bisect.bisect_left(tails, j)
        if position == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[position] = j
            tail_at[position] = index
        previous[index] = tail_at[position - 1] if position else -1
    chain: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        chain.append(pairs[index])
        index = previous[index]
    return chain[::-1]


def _word_opcodes(left: Sequence[str], right: Sequence[str]) -> tuple[list[tuple], float]:
    """Opcodes (as difflib's) of two word lists, in time close to linear whatever the texts.

    difflib alone is quadratic or worse on texts of repeated words (11 s for 8,000 words drawn
    from 120). So, as in patience diff: the common start and end are matched first; then words
    found once on each side anchor the match and only the gaps between anchors are compared; a
    gap is handed to difflib only when small (:data:`DIFF_REFINE_CELLS` word pairs at most), and
    a large gap without anchors is cut into such slices along the diagonal."""
    opcodes: list[tuple] = []
    stack = [(0, len(left), 0, len(right))]
    while stack:
        i1, i2, j1, j2 = stack.pop()
        while i1 < i2 and j1 < j2 and left[i1] == right[j1]:
            opcodes.append(("equal", i1, i1 + 1, j1, j1 + 1))
            i1, j1 = i1 + 1, j1 + 1
        tail: list[tuple] = []
        while i2 > i1 and j2 > j1 and left[i2 - 1] == right[j2 - 1]:
            tail.append(("equal", i2 - 1, i2, j2 - 1, j2))
            i2, j2 = i2 - 1, j2 - 1
        opcodes.extend(tail)
        if i1 == i2 or j1 == j2:
            if i1 < i2:
                opcodes.append(("delete", i1, i2, j1, j1))
            elif j1 < j2:
                opcodes.append(("insert", i1, i1, j1, j2))
            continue
        if (i2 - i1) * (j2 - j1) <= DIFF_REFINE_CELLS:
            matcher = difflib.SequenceMatcher(None, left[i1:i2], right[j1:j2], autojunk=False)
            for tag, a1, a2, b1, b2 in matcher.get_opcodes():
                opcodes.append((tag, i1 + a1, i1 + a2, j1 + b1, j1 + b2))
            continue
        anchors = _unique_anchors(left[i1:i2], right[j1:j2])
        if not anchors:
            # Nothing to anchor on (repeated words): compare slices along the diagonal, each
            # small enough for difflib; shifted text then shows as changed, but in bounded time.
            side = int(DIFF_REFINE_CELLS**0.5)
            chunks = -(-max(i2 - i1, j2 - j1) // side)
            for k in range(chunks):
                stack.append(
                    (
                        i1 + (i2 - i1) * k // chunks,
                        i1 + (i2 - i1) * (k + 1) // chunks,
                        j1 + (j2 - j1) * k // chunks,
                        j1 + (j2 - j1) * (k + 1) // chunks,
                    )
                )
            continue
        a_start, b_start = i1, j1
        for a, b in anchors:
            stack.append((a_start, i1 + a, b_start, j1 + b))
            opcodes.append(("equal", i1 + a, i1 + a + 1, j1 + b, j1 + b + 1))
            a_start, b_start = i1 + a + 1, j1 + b + 1
        stack.append((a_start, i2, b_start, j2))
    opcodes.sort(key=lambda op: (op[1], op[3], op[2] - op[1] + op[4] - op[3]))
    merged: list[tuple] = []
    for op in opcodes:
        if op[1] == op[2] and op[3] == op[4]:
            continue
        if merged and merged[-1][0] == op[0] == "equal" and merged[-1][2] == op[1]:
            merged[-1] = ("equal", merged[-1][1], op[2], merged[-1][3], op[4])
        else:
            merged.append(op)
    matched = sum(i2 - i1 for tag, i1, i2, _j1, _j2 in merged if tag == "equal")
    total = len(left) + len(right)
    return merged, (2.0 * matched / total if total else 1.0)


def diff_texts(left: str, right: str, *, max_chars: int = DIFF_MAX_CHARS) -> TextDiff:
    """A word diff of two texts for showing side by side (see the module docstring for bounds).

    Words are compared without their surrounding whitespace, so a re-flowed OCR text only shows
    the words that really differ."""
    left, left_truncated = _head(left, max_chars)
    right, right_truncated = _head(right, max_chars)
    left_tokens, right_tokens = _TOKEN.findall(left), _TOKEN.findall(right)
    opcodes, ratio = _word_opcodes(
        [t.rstrip() for t in left_tokens], [t.rstrip() for t in right_tokens]
    )
    out_left: list[Segment] = []
    out_right: list[Segment] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            first, last = index == 0, index == len(opcodes) - 1
            out_left.extend(_equal_segments(left_tokens[i1:i2], first=first, last=last))
            out_right.extend(_equal_segments(right_tokens[j1:j2], first=first, last=last))
            continue
        if i2 > i1:
            out_left.append(Segment("".join(left_tokens[i1:i2]), changed=True))
        if j2 > j1:
            out_right.append(Segment("".join(right_tokens[j1:j2]), changed=True))
    identical = all(tag == "equal" for tag, *_ in opcodes)
    return TextDiff(
        left=out_left,
        right=out_right,
        ratio=ratio,
        left_truncated=left_truncated,
        right_truncated=right_truncated,
        max_chars=max_chars,
        identical=identical,
    )


# --- Metadata side by side ------------------------------------------------------------------------

METADATA_FIELDS: list[tuple[str, str]] = [
    ("title", "Title"),
    ("correspondent", "Correspondent"),
    ("document_type", "Document type"),
    ("created", "Created"),
    ("added", "Added"),
    ("page_count", "Pages"),
    ("original_size", "Original size"),
    ("archive_size", "Archive size"),
    ("original_checksum", "Original checksum"),
    ("archive_checksum", "Archive checksum"),
    ("archive_serial_number", "ASN"),
    ("tags", "Tags"),
    ("original_file_name", "Original file name"),
    ("archived_file_name", "Archive file name"),
    ("mime_type", "Type of file"),
    ("storage_path", "Storage path"),
    ("notes_count", "Notes"),
    ("content_length", "Text length"),
]


def _metadata_value(document: Document, name: str) -> Any:
    if name == "tags":
        return ", ".join(sorted(tag.name for tag in document.tags.all()))
    value = getattr(document, name)
    if name in ("correspondent", "document_type", "storage_path"):
        return value.name if value is not None else None
    return value


@dataclass(frozen=True, slots=True)
class MetadataRow:
    name: str
    label: str
    cells: list[tuple[Any, bool]]  # (value, differs from the primary's)


def metadata_rows(documents: Sequence[Document]) -> list[MetadataRow]:
    """One row per field, one cell per document (the first is the primary); a cell is marked when
    it differs from the first document's."""
    rows = []
    for name, label in METADATA_FIELDS:
        values = [_metadata_value(document, name) for document in documents]
        base = values[0] if values else None
        rows.append(
            MetadataRow(
                name=name,
                label=label,
                cells=[(value, index > 0 and value != base) for index, value in enumerate(values)],
            )
        )
    return rows


# --- Decisions ------------------------------------------------------------------------------------


class NotAMember(LookupError):
    """The document is not an active member of the group."""


def _member_pk(group: DuplicateGroup, paperless_id: int) -> int:
    pk = (
        group.members.filter(removed=False, document__paperless_id=paperless_id)
        .values_list("document_id", flat=True)
        .first()
    )
    if pk is None:
        raise NotAMember(f"Document {paperless_id} is not in group {group.pk}.")
    return pk


def choose_primary(group: DuplicateGroup, *, paperless_id: int, user: object) -> None:
    """Make a member the primary (the document kept); every re-analysis keeps the choice."""
    pk = _member_pk(group, paperless_id)
    with transaction.atomic():
        group.choose_primary(pk, user=user)


def remove_member(group: DuplicateGroup, *, paperless_id: int, user: object) -> None:
    """Take a document out of the group at once; no analysis puts it back with these documents
    (until a person puts it back, :func:`put_back`). A removed primary is replaced at once by
    the policy's choice among the others, so the group never waits for an analysis."""
    pk = _member_pk(group, paperless_id)
    with transaction.atomic():
        was_primary = group.primary_id == pk
        group.remove_member(pk, user=user)
        group.members.filter(document_id=pk).update(is_primary=False)
        if was_primary:
            _primary_by_policy(group)
        _refresh_counts(group)


class CannotPutBack(ValueError):
    """The removed document cannot rejoin the group (it is in another group now)."""


def put_back(group: DuplicateGroup, *, paperless_id: int, user: object) -> None:
    """Undo a removal: the document is an active member again (with its confidence to the
    primary), and analyses may group it with these documents again."""
    member = (
        group.members.filter(removed=True, document__paperless_id=paperless_id)
        .select_related("document")
        .first()
    )
    if member is None:
        raise NotAMember(f"Document {paperless_id} was not taken out of group {group.pk}.")
    elsewhere = (
        GroupMember.objects.filter(document_id=member.document_id, removed=False)
        .exclude(group=group)
        .values_list("group_id", flat=True)
        .first()
    )
    if elsewhere is not None:
        raise CannotPutBack(
            f"#{paperless_id} is in group {elsewhere} now: take it out there first."
        )
    with transaction.atomic():
        member.removed, member.removed_at, member.removed_by = False, None, None
        member.confidence = _edge_confidence(group.primary_id, member.document_id)
        member.is_primary = False
        member.save(
            update_fields=["removed", "removed_at", "removed_by", "confidence", "is_primary"]
        )
        if group.primary_id is None:
            _primary_by_policy(group)
        _refresh_counts(group)


def _edge_confidence(first: int | None, second: int) -> float | None:
    if first is None:
        return None
    return PairEdge.objects.between(first, second).values_list("confidence", flat=True).first()


def _primary_by_policy(group: DuplicateGroup) -> None:
    """The policy's primary among the active members (not a person's choice)."""
    from duplicates.engine.primary import choose
    from duplicates.grouping import _primary_keys

    active = list(group.members.filter(removed=False).values_list("document_id", flat=True))
    if not active:
        group.primary_id, group.primary_chosen = None, False
        group.save(update_fields=["primary", "primary_chosen"])
        return
    best = choose(list(_primary_keys(active).values()))
    group.choose_primary(best)
    group.primary_chosen = False
    group.save(update_fields=["primary_chosen"])


def _refresh_counts(group: DuplicateGroup) -> None:
    """Member count and confidence (the weakest link to the primary) as the members now are."""
    scores = list(
        group.members.filter(removed=False, is_primary=False).values_list("confidence", flat=True)
    )
    group.member_count = group.members.filter(removed=False).count()
    known = [score for score in scores if score is not None]
    if known:
        group.confidence = min(known)
    group.updated_at = timezone.now()
    group.save(update_fields=["member_count", "confidence", "updated_at"])


@dataclass(frozen=True)
class Reformed:
    """What re-forming a group did: closed it, or which documents (Paperless ids) left it."""

    closed: bool
    left: list[int] = field(default_factory=list)


def mark_pair_not_duplicate(group: DuplicateGroup, *, a: int, b: int, user: object) -> Reformed:
    """Two members (Paperless ids) are not duplicates of each other, and the group is re-formed
    at once (:func:`reform_group`): a group of just these two is closed as "not duplicates"; in
    a larger one, the member the decision separates from the primary leaves it (with any others
    that only belong with it)."""
    if a == b:
        raise ValueError("A document is always a duplicate of itself: choose two documents.")
    pks = [_member_pk(group, a), _member_pk(group, b)]
    with transaction.atomic():
        PairDecision.objects.record_not_duplicate(document_ids=pks, user=user)
        return reform_group(group, user=user)


def reform_group(group: DuplicateGroup, *, user: object = None) -> Reformed:
    """Rebuild ``group`` from its members' stored edges and every "not duplicates" decision
    among them, with the engine's own grouping (no chaining): the group keeps its primary and
    the members still linked to it; members a decision separates leave it, and those of them
    still duplicates of each other form new groups. When no two members are duplicates any
    more, the group is closed as "not duplicates" (the record of the decision). The next
    analysis regroups the same way (the decisions are kept)."""
    from duplicates.engine import Decisions, DocFeatures, PairScore, build_groups
    from duplicates.engine.primary import choose
    from duplicates.grouping import _primary_keys

    active = list(group.members.filter(removed=False).values_list("document_id", flat=True))
    decided = {
        frozenset(pair)
        for pair in PairDecision.objects.filter(a_id__in=active, b_id__in=active).values_list(
            "a_id", "b_id"
        )
    }
    if not decided:
        return Reformed(closed=False)
    # Members were grouped as duplicates of each other: they stay linked (by their stored
    # confidence, else the group's) unless a decision separates them.
    stored = {
        frozenset((a, b)): score
        for a, b, score in PairEdge.objects.filter(a_id__in=active, b_id__in=active).values_list(
            "a_id", "b_id", "confidence"
        )
    }
    edges = [
        PairScore(a=a, b=b, factors={}, confidence=stored.get(frozenset((a, b)), group.confidence))
        for index, a in enumerate(active)
        for b in active[index + 1 :]
    ]
    facts = _primary_keys(active)
    kept_primary = group.primary_id if group.primary_id in active else None
    groups = build_groups(
        edges,
        docs={pk: DocFeatures(id=pk) for pk in active},
        threshold=min((edge.confidence for edge in edges), default=0.0),
        decisions=Decisions(not_duplicate=decided, primaries={kept_primary} - {None}),
        choose_primary=lambda members: choose([facts[pk] for pk in members if pk in facts]),
    )
    if not groups:
        group.set_status(DuplicateGroup.Status.NOT_DUPLICATE, user=user)
        return Reformed(closed=True)
    mine = next((g for g in groups if kept_primary in g.members), None)
    if mine is None:  # the primary is apart from everyone: the largest group carries on
        mine = max(groups, key=lambda g: (len(g.members), g.confidence))
    leaving = [pk for pk in active if pk not in mine.members]
    GroupMember.objects.filter(group=group, document_id__in=leaving, removed=False).delete()
    if mine.primary != group.primary_id:
        group.choose_primary(mine.primary)
        group.primary_chosen = False
        group.save(update_fields=["primary_chosen"])
    _refresh_counts(group)
    now = timezone.now()
    for other in groups:
        if other is mine:
            continue
        new = DuplicateGroup.objects.create(
            confidence=other.confidence,
            primary_id=other.primary,
            member_count=len(other.members),
            created_at=now,
            updated_at=now,
            members_changed_at=now,
        )
        GroupMember.objects.bulk_create(
            [
                GroupMember(
                    group=new,
                    document_id=pk,
                    is_primary=pk == other.primary,
                    confidence=other.member_confidence.get(pk),
                )
                for pk in other.members
            ]
        )
    left = Document.objects.filter(pk__in=leaving).order_by("paperless_id")
    return Reformed(closed=False, left=list(left.values_list("paperless_id", flat=True)))


def set_status(group: DuplicateGroup, *, status: str, user: object) -> None:
    """Set the review status. "Not duplicates" records every pair of the group as such; leaving
    "not duplicates" again takes those pair decisions back, so an accidental click is undone."""
    if status not in DuplicateGroup.Status.values:
        raise ValueError(f"Unknown status {status!r}.")
    with transaction.atomic():
        if status == DuplicateGroup.Status.NOT_DUPLICATE:
            group.mark_not_duplicate(user=user)
            return
        if group.status == DuplicateGroup.Status.NOT_DUPLICATE:
            ids = list(group.members.filter(removed=False).values_list("document_id", flat=True))
            PairDecision.objects.filter(Q(a_id__in=ids) & Q(b_id__in=ids)).delete()
        group.set_status(status, user=user)
