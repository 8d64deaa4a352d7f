"""Re-scoring many stored pairs at once: :func:`duplicates.engine.scoring.confidence` over arrays.

The groups list re-scores every matching group's members when a person switches factors off or
on (tens of thousands of pairs at 100k documents). :func:`confidences` gives, for a sequence of
factor dicts, exactly what ``[confidence(f, config=config) for f in factors]`` gives, a few times
faster: the same formula evaluated column-wise with NumPy in the same order of floating-point
operations (so every intermediate value is the same IEEE double), and Python's ``round(x, 6)``
at the end (NumPy's rounding can differ in the last place).

Factor values are numbers or missing/``None``. A dict holding anything else (a string, a
boolean, NaN) is scored by the scalar ``confidence`` itself, so odd data never takes a
different path to a different answer. ``tests/test_rescoring.py`` checks equality on random
factor dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from duplicates.engine import ScoringConfig, confidence
from duplicates.engine.scoring import METADATA_FACTORS

# every key confidence() reads
KEYS = (
    "checksum", "text_reliable", "image", "jaccard", "fuzzy", "containment", "length_ratio",
    *METADATA_FACTORS, "discriminative",
)  # fmt: skip
_INDEX = {name: i for i, name in enumerate(KEYS)}
_PLAIN = {float, int, type(None)}


def factor_matrix(rows: Sequence[Mapping[str, object] | None]) -> tuple[np.ndarray, list[int]]:
    """A float matrix (one row per dict, one column per key of :data:`KEYS`, NaN = missing) and
    the positions of the dicts that must be scored by the scalar function."""
    dicts = [factors or {} for factors in rows]
    columns = []
    odd: set[int] = set()
    for name in KEYS:
        column = [factors.get(name) for factors in dicts]
        if not {type(value) for value in column} <= _PLAIN:
            odd.update(i for i, value in enumerate(column) if type(value) not in _PLAIN)
            column = [value if type(value) in _PLAIN else None for value in column]
        if int in {type(value) for value in column}:
            for i, value in enumerate(column):
                if type(value) is int and abs(value) > 2**53:  # not exact as a double
                    odd.add(i)
                    column[i] = None
        values = np.array(column, dtype=float)
        if np.isnan(values).sum() != column.count(None):  # a NaN among the values
            odd.update(i for i, value in enumerate(column) if value is not None and value != value)
        columns.append(values)
    if not dicts:
        return np.empty((0, len(KEYS))), []
    matrix = np.column_stack(columns)
    odd.update(np.flatnonzero(np.isinf(matrix).any(axis=1)).tolist())
    return matrix, sorted(odd)


def _scale(values: np.ndarray, *, floor: float, full: float) -> np.ndarray:
    return np.minimum(1.0, np.maximum(0.0, (values - floor) / (full - floor)))


def confidences(
    rows: Sequence[Mapping[str, object] | None], *, config: ScoringConfig, veto: bool = True
) -> list[float]:
    """``[confidence(f or {}, config=config, veto=veto) for f in rows]``, column-wise."""
    if not rows:
        return []
    matrix, odd = factor_matrix(rows)
    result = score_matrix(matrix, config=config, veto=veto)
    for position in odd:
        result[position] = confidence(rows[position] or {}, config=config, veto=veto)
    return result


def score_matrix(matrix: np.ndarray, *, config: ScoringConfig, veto: bool = True) -> list[float]:
    """The confidence of each row of a factor matrix (columns in :data:`KEYS` order, NaN for a
    missing or null factor; only finite numbers), rounded like ``confidence()``."""
    if not len(matrix):
        return []
    scores = _confidence_columns(matrix, config=config, veto=veto)
    return [round(score, 6) for score in scores.tolist()]


def _column(matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, _INDEX[name]]


def _confidence_columns(matrix: np.ndarray, *, config: ScoringConfig, veto: bool) -> np.ndarray:
    """Unrounded confidences; see ``duplicates.engine.scoring.confidence`` line by line."""
    n = len(matrix)
    weight = config.weight
    # not factors.get("text_reliable"): missing, None or 0
    text_reliable = _column(matrix, "text_reliable")
    reliable = ~np.isnan(text_reliable) & (text_reliable != 0)

    # _content, unreliable texts: the image alone
    image = _column(matrix, "image")
    content = np.full(n, np.nan)
    if weight("image") > 0:
        unreliable_image = ~reliable & ~np.isnan(image)
        content[unreliable_image] = image[unreliable_image]

    # _content, reliable texts: the stronger of the whole-text and containment paths;
    # sum(w * scaled) / sum(w) over the present ones, in order (int 0 + x == x)
    weighted = np.zeros(n)
    any_whole = np.zeros(n, dtype=bool)
    totals = np.zeros(n)
    for name, floor, full in (
        ("jaccard", 0.0, config.jaccard_full),
        ("fuzzy", config.fuzzy_floor, config.fuzzy_full),
    ):
        w = weight(name)
        if not w > 0:
            continue
        values = _column(matrix, name)
        present = ~np.isnan(values)
        term = w * _scale(np.where(present, values, 0.0), floor=floor, full=full)
        weighted = np.where(present, np.where(any_whole, weighted + term, term), weighted)
        totals = np.where(present, np.where(any_whole, totals + w, 0 + w), totals)
        any_whole |= present
    with np.errstate(divide="ignore", invalid="ignore"):
        whole_path = np.where(any_whole, weighted / np.where(any_whole, totals, 1.0), np.nan)

    containment = _column(matrix, "containment")
    length_ratio = _column(matrix, "length_ratio")
    # factors.get("length_ratio") or 0.0
    length_ratio = np.where(np.isnan(length_ratio) | (length_ratio == 0), 0.0, length_ratio)
    if weight("containment") > 0:
        use_containment = ~np.isnan(containment) & (
            length_ratio <= config.containment_max_length_ratio
        )
    else:
        use_containment = np.zeros(n, dtype=bool)
    containment_path = np.where(
        use_containment,
        _scale(
            np.where(use_containment, containment, 0.0),
            floor=config.containment_floor,
            full=config.containment_full,
        ),
        np.nan,
    )
    # max(paths): max() keeps the first of equal values; for floats that is the same value
    reliable_content = np.fmax(whole_path, containment_path)  # NaN only when both are missing
    content = np.where(reliable, reliable_content, content)

    # metadata: weighted mean of the present metadata factors (and the image for good texts)
    numerator = np.zeros(n)
    denominator = np.zeros(n)
    for name in (*METADATA_FACTORS, "image"):
        w = weight(name)
        if not w > 0:
            continue
        values = _column(matrix, name)
        present = ~np.isnan(values)
        if name == "image":
            present &= reliable
        numerator = np.where(present, numerator + w * np.where(present, values, 0.0), numerator)
        denominator = np.where(present, denominator + w, denominator)
    score = content
    influence = min(1.0, weight("metadata"))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = (
            1.0 - influence + influence * numerator / np.where(denominator != 0, denominator, 1)
        )
    score = np.where(denominator != 0, score * factor, score)

    if veto:
        discriminative = _column(matrix, "discriminative")
        score = np.where(
            discriminative == 0.0, score * (1.0 - min(1.0, weight("discriminative"))), score
        )
    score = np.where(np.isnan(content), 0.0, score)

    # an identical checksum means the same file
    if weight("checksum") > 0:
        score = np.where(_column(matrix, "checksum") == 1.0, 1.0, score)
    return score + 0.0  # no -0.0
