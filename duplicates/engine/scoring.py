"""Exact scoring of candidate pairs, one factor at a time, and the calibrated confidence.

:func:`score_factors` computes every factor of a pair on the *whole* documents and keeps each one
separately (``None`` when a factor cannot be computed, e.g. no correspondent on one side, or a
page with too little on it for its image to say anything). :func:`confidence` turns a factor
dict into a probability with the learned model (:mod:`.model`) and a :class:`ScoringConfig`; it
needs no text or image, so stored factors can be re-weighted at any time.

The model is an additive logistic model fitted on the labelled real-OCR corpus
(``manage.py calibrate``): every factor adds a learned step function of its value to the log-odds
that the pair is a duplicate, a missing factor adds nothing. A person's weight for a factor
multiplies that amount (1 = as learned, 0 = off), so switching a factor off re-scores without
it and :func:`contributions` says how much each factor moved a score.

Factors:

* text: ``jaccard`` (word 3-shingles), ``fuzzy`` (edit ratio of the normalised texts),
  ``characters`` (character 4-grams: what a poor scan keeps of garbled words),
  ``containment`` (with ``length_ratio``: one text inside a longer one is an extract, a
  relation of its own, not a duplicate), ``words`` (content words replaced by other words, not
  misread: in a short text one such word is decisive);
* ``image``: the page layout's similarity (:func:`.layout.layout_similarity`: the
  ink's shape, not the white page), ``None`` when a page is too empty to tell;
* metadata: correspondent, document type, created date, page count, size, title, file name;
* ``discriminative``: dates, amounts and reference numbers (``id_exact``, ``id_near``,
  ``id_conflicts``, :mod:`.identifiers`): many conflicts mean other documents of one template,
  one misread number among many agreeing ones does not;
* ``checksum``: the same file (confidence 1).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from .identifiers import Identifier, compare_identifiers, extract_identifiers
from .layout import layout_similarity
from .model import Model, default_model
from .normalise import normalise_tokens
from .signatures import SignatureParams, shingle_hashes, sorted_unique
from .types import DocFeatures

FACTORS_VERSION = 2
CONTENT_FACTORS = ("jaccard", "fuzzy", "characters", "containment", "words", "image")
METADATA_FACTORS = (
    "correspondent",
    "document_type",
    "created",
    "page_count",
    "size",
    "title",
    "filename",
)
RULE_FACTORS = ("checksum", "discriminative")
FACTORS = CONTENT_FACTORS + METADATA_FACTORS + RULE_FACTORS
INFO_FACTORS = (
    "text_reliable",
    "length_ratio",
    "tokens",
    "id_exact",
    "id_near",
    "id_conflicts",
    "id_versions",
    "id_agreement",
    "id_differ_same_text",
    "words_rate",
)

# Every weight is a multiplier of what the model learned; "metadata" multiplies all of
# METADATA_FACTORS at once.
DEFAULT_WEIGHTS: dict[str, float] = {"metadata": 1.0, **dict.fromkeys(FACTORS, 1.0)}

SAME_TEXT_CHARACTERS = 0.9
# Texts shorter than this carry no text evidence ("x", "1": OCR of a picture): only the image,
# the numbers and the metadata say anything about such a pair.
MIN_TEXT_TOKENS = 3
WORDS_MIN_LENGTH = 3
WORDS_MAX_DIFFERENT = 60
WORDS_MIN_FUZZY = 0.45
CHARACTER_GRAM = 4


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Weights (multipliers of the learned model), enabled factors and the decision threshold
    (default: the model's, chosen on the training part of the corpus)."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    enabled: frozenset[str] = frozenset(FACTORS)
    threshold: float = field(default_factory=lambda: default_model().threshold)
    short_text_tokens: int = 25
    created_days_zero: int = 45
    model: Model = field(default_factory=default_model, compare=False, repr=False)

    def weight(self, name: str) -> float:
        if name != "metadata" and name not in self.enabled:
            return 0.0
        return float(self.weights.get(name, 1.0))

    def group_weight(self, name: str) -> float:
        """What the model's amount for factor ``name`` is multiplied by."""
        weight = self.weight(name)
        if name in METADATA_FACTORS:
            weight *= max(0.0, float(self.weights.get("metadata", 1.0)))
        return weight


@dataclass(slots=True)
class DocContext:
    """Per-document values the factors need, computed once per document per run."""

    tokens_text: str
    shingles: np.ndarray
    identifiers: Counter[Identifier]
    token_count: int
    characters: np.ndarray
    _words: Counter[str] | None = None

    @property
    def words(self) -> Counter[str]:
        """The content words (made on first use: only pairs near enough need them)."""
        if self._words is None:
            self._words = content_words(self.tokens_text)
        return self._words


def character_grams(tokens_text: str) -> np.ndarray:
    """The normalised text's character 4-grams (spaces left out, so words OCR split or joined
    still agree), as sorted unique 32-bit values: a poor scan garbles whole words but keeps
    most of their letters."""
    data = np.frombuffer(tokens_text.replace(" ", "").encode("utf-8"), dtype=np.uint8)
    if len(data) < CHARACTER_GRAM:
        return sorted_unique(data.astype(np.uint32))
    grams = data[: len(data) - 3].astype(np.uint32) << 24
    grams |= data[1 : len(data) - 2].astype(np.uint32) << 16
    grams |= data[2 : len(data) - 1].astype(np.uint32) << 8
    grams |= data[3:].astype(np.uint32)
    return sorted_unique(grams)


def build_context(doc: DocFeatures, *, params: SignatureParams) -> DocContext:
    tokens = normalise_tokens(doc.text)
    tokens_text = " ".join(tokens)
    return DocContext(
        tokens_text=tokens_text,
        shingles=shingle_hashes(tokens, params=params),
        identifiers=extract_identifiers(doc.text),
        token_count=len(tokens),
        characters=character_grams(tokens_text),
    )


def _ratio(small: float | None, large: float | None) -> float | None:
    if not small or not large:
        return None
    return min(small, large) / max(small, large)


def _same(left: object, right: object) -> float | None:
    if left is None or right is None:
        return None
    return 1.0 if left == right else 0.0


def _text_ratio(left: str, right: str) -> float | None:
    if not left or not right:
        return None
    return fuzz.ratio(left, right) / 100.0


def shingle_factors(left: np.ndarray, right: np.ndarray) -> tuple[float | None, float | None]:
    """Exact Jaccard and containment (|A & B| / min(|A|, |B|)) of two shingle sets."""
    if not len(left) or not len(right):
        return None, None
    shared = len(np.intersect1d(left, right, assume_unique=True))
    return shared / (len(left) + len(right) - shared), shared / min(len(left), len(right))


def content_words(tokens_text: str) -> Counter[str]:
    """Words of three letters or more, counted (no numbers, no OCR debris)."""
    words = Counter(tokens_text.split())
    for word in [w for w in words if len(w) < WORDS_MIN_LENGTH or not w.isalpha()]:
        del words[word]
    return words


def _unmatched_words(only: list[str], other: list[str]) -> list[str]:
    """The words of ``only`` with no near spelling (an OCR misreading: one edit away, two in a
    word longer than 8 letters) among ``other`` that are not two of its words run together (a
    word OCR split at a line or column break)."""
    if not only:
        return []
    if not other:
        return list(only)
    distances = process.cdist(only, other, scorer=Levenshtein.distance, score_cutoff=2,
                              dtype=np.uint8, workers=1)  # fmt: skip
    allowed = np.array([1 if len(word) <= 8 else 2 for word in only], dtype=np.uint8)
    unmatched = [
        w for w, near in zip(only, distances.min(axis=1) <= allowed, strict=True) if not near
    ]
    pieces = set(other)
    return [word for word in unmatched if not _two_pieces(word, pieces)]


def _two_pieces(word: str, pieces: set[str]) -> bool:
    return any(word[:cut] in pieces and word[cut:] in pieces for cut in range(2, len(word) - 1))


def replaced_words(
    left: str,
    right: str,
    *,
    left_words: Counter[str] | None = None,
    right_words: Counter[str] | None = None,
) -> int | None:
    """Content words of one text replaced by other words in the other, e.g. "the first copy" /
    "the second copy", "left with the left neighbour" / "left with the right neighbour".

    ``left`` / ``right``: normalised texts (``*_words``: their :func:`content_words`, if made).
    The texts' words are compared as multisets; what is left on each side is matched against
    what is left on the other, where a word one edit away is a misreading, not a replacement.
    A word left over counts only where the texts, aligned word by word, put it in the place of
    a word left over on the other side: a word a poorer scan dropped, OCR debris where a number
    stood, or a line read in another order is not a replacement. ``None`` when the texts differ
    in too many words to say (they are not near copies anyway)."""
    a = left_words if left_words is not None else content_words(left)
    b = right_words if right_words is not None else content_words(right)
    only_a, only_b = sorted((a - b).elements()), sorted((b - a).elements())
    if len(only_a) > WORDS_MAX_DIFFERENT or len(only_b) > WORDS_MAX_DIFFERENT:
        return None
    unmatched_a = Counter(_unmatched_words(only_a, only_b))
    unmatched_b = Counter(_unmatched_words(only_b, only_a))
    if not unmatched_a or not unmatched_b:
        return 0
    left_tokens, right_tokens = left.split(), right.split()
    replaced = 0
    for tag, i1, i2, j1, j2 in Levenshtein.opcodes(left_tokens, right_tokens):
        if tag != "replace":
            continue
        for x, y in zip(left_tokens[i1:i2], right_tokens[j1:j2], strict=False):
            if unmatched_a[x] > 0 and unmatched_b[y] > 0:
                unmatched_a[x] -= 1
                unmatched_b[y] -= 1
                replaced += 1
    return replaced


def image_similarity(left: DocFeatures, right: DocFeatures) -> float | None:
    """The layouts' similarity, or None (no layout, or a page with too little on it)."""
    if left.layout is None or right.layout is None:
        return None
    return layout_similarity(left.layout, right.layout)


def _created(left: DocFeatures, right: DocFeatures, *, days_zero: int) -> float | None:
    if left.created is None or right.created is None:
        return None
    return max(0.0, 1.0 - abs((left.created - right.created).days) / days_zero)


def _checksum(left: DocFeatures, right: DocFeatures) -> float | None:
    mine = {v for v in (left.checksum, left.archive_checksum) if v}
    theirs = {v for v in (right.checksum, right.archive_checksum) if v}
    if not mine or not theirs:
        return None
    return 1.0 if mine & theirs else 0.0


def _stem(name: str) -> str:
    return PurePath(name).stem.casefold() if name else ""


def score_factors(
    left: DocFeatures,
    right: DocFeatures,
    *,
    left_context: DocContext,
    right_context: DocContext,
    config: ScoringConfig,
) -> dict[str, float | None]:
    """Every factor of one pair (see the module docstring)."""
    tokens = min(left_context.token_count, right_context.token_count)
    jaccard = containment = fuzzy = words = characters = None
    if tokens >= MIN_TEXT_TOKENS:
        jaccard, containment = shingle_factors(left_context.shingles, right_context.shingles)
        fuzzy = _text_ratio(left_context.tokens_text, right_context.tokens_text)
        if fuzzy is not None and fuzzy >= WORDS_MIN_FUZZY:
            words = replaced_words(
                left_context.tokens_text, right_context.tokens_text,
                left_words=left_context.words, right_words=right_context.words,
            )  # fmt: skip
        characters, _ = shingle_factors(left_context.characters, right_context.characters)
    identifiers = compare_identifiers(
        left=left_context.identifiers, right=right_context.identifiers
    )
    return {
        "jaccard": jaccard,
        "containment": containment,
        "fuzzy": fuzzy,
        "characters": characters,
        "words": words,
        "image": image_similarity(left, right),
        "correspondent": _same(left.correspondent_id, right.correspondent_id),
        "document_type": _same(left.document_type_id, right.document_type_id),
        "created": _created(left, right, days_zero=config.created_days_zero),
        "page_count": _ratio(left.page_count, right.page_count),
        "size": _ratio(left.size, right.size),
        "title": _text_ratio(left.title.casefold(), right.title.casefold()),
        "filename": _text_ratio(_stem(left.original_file_name), _stem(right.original_file_name)),
        "checksum": _checksum(left, right),
        "discriminative": identifiers.score,
        "text_reliable": 1.0 if tokens >= config.short_text_tokens else 0.0,
        "length_ratio": _ratio(left_context.token_count, right_context.token_count),
        "tokens": tokens,
        "id_exact": identifiers.exact,
        "id_near": identifiers.near,
        "id_conflicts": identifiers.conflicts,
        "id_versions": identifiers.version_conflicts,
        "id_agreement": identifiers.agreement,
        # numbers that differ (or are one misreading apart) between texts that otherwise
        # agree nearly letter for letter: another month of one template, not a poor scan
        "id_differ_same_text": (
            identifiers.conflicts + identifiers.near
            if characters is not None and characters >= SAME_TEXT_CHARACTERS
            else None
        ),
        "words_rate": None if words is None else 1000 * words / max(1, tokens),
    }


def _group_weights(config: ScoringConfig, *, veto: bool) -> dict[str, float]:
    weights = {name: config.group_weight(name) for name in FACTORS}
    if not veto:
        weights["discriminative"] = 0.0
    return weights


def contributions(
    factors: Mapping[str, float | None], *, config: ScoringConfig
) -> dict[str, float]:
    """How much each factor moves the pair's log-odds (after the person's weights); factors
    that add nothing (missing, switched off) are left out."""
    weights = _group_weights(config, veto=True)
    found = {}
    for group, amount in config.model.terms(factors).items():
        weight = weights.get(group, 1.0)
        if amount and weight:
            found[group] = amount * weight
    return found


def is_same_file(factors: Mapping[str, float | None], *, config: ScoringConfig) -> bool:
    return config.weight("checksum") > 0 and factors.get("checksum") == 1.0


def confidence(
    factors: Mapping[str, float | None], *, config: ScoringConfig, veto: bool = True
) -> float:
    """The probability in [0, 1] that a pair is a duplicate, from stored factors only.

    ``veto=False`` leaves out the dates / amounts / numbers check (to keep pairs it alone
    rejects as edges a person can still see and re-weight)."""
    if is_same_file(factors, config=config):
        return 1.0
    logit = config.model.logit(factors, weights=_group_weights(config, veto=veto))
    return round(_sigmoid(logit), 6)


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


def part_of(factors: Mapping[str, float | None], *, config: ScoringConfig) -> bool:
    """One text is contained in a clearly longer one (an extract, a document with a licence in
    its appendix): a relation of its own, shown to the person, never a duplicate group."""
    containment = factors.get("containment")
    length_ratio = factors.get("length_ratio")
    if containment is None or length_ratio is None:
        return False
    model = config.model
    return containment >= model.part_of_containment and length_ratio <= model.part_of_length_ratio
