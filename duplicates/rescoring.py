"""Re-scoring many stored pairs at once: :func:`duplicates.engine.scoring.confidence` over arrays.

The groups list re-scores every matching group's members when a person switches factors off or
on (tens of thousands of pairs at 100k documents). :func:`confidences` gives, for a sequence of
factor dicts, exactly what ``[confidence(f, config=config) for f in factors]`` gives, a few times
faster: the model's log-odds evaluated column-wise (:meth:`~duplicates.engine.model.Model.
logit_columns`, the same floating-point operations in the same order as the scalar path), then
the same sigmoid and Python's ``round(x, 6)`` per value.

Factor values are numbers or missing/``None``. A dict holding anything else (a string, a
boolean, NaN) is scored by the scalar ``confidence`` itself, so odd data never takes a
different path to a different answer. ``tests/test_rescoring.py`` checks equality on random
factor dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from duplicates.engine import ScoringConfig, confidence
from duplicates.engine.model import default_model
from duplicates.engine.scoring import _group_weights, _sigmoid

# every key confidence() reads
KEYS = ("checksum", *default_model().inputs)
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
    columns = {name: matrix[:, _INDEX[name]] for name in KEYS if name != "checksum"}
    logits = config.model.logit_columns(columns, weights=_group_weights(config, veto=veto))
    scores = [round(_sigmoid(value), 6) for value in logits.tolist()]
    if config.weight("checksum") > 0:
        same_file = matrix[:, _INDEX["checksum"]] == 1.0
        for position in np.flatnonzero(same_file).tolist():
            scores[position] = 1.0
    return scores
