"""The learned scoring model: an additive model of the log-odds that a pair is a duplicate.

Two models in one: one for pairs whose shorter text is short (a receipt, a one-line form, a
photo with little text), one for longer texts, since what a factor is worth differs between
them (in a short text one replaced word is decisive; the page layout tells more when there is
little text). In each, ``logit = bias + sum over its features of weight(group) * f(x)``: every
feature reads one factor ``x`` and ``f`` is a learned step function, monotone where the
factor's meaning says so (more text overlap never lowers a score).

Every ``f`` is centred on the training duplicates (its mean over them is 0, the bias holds the
rest), so a factor's amount says how far it moves a pair from a typical duplicate, and
switching it off (weight 0) scores the pair as if it looked like a duplicate there. A factor
unknown for a pair (no correspondent on one side) adds the learned ``missing`` amount.
Features belong to a *group*, the factor a person sees and can switch off or re-weight;
``weight(group)`` is 1 as learned.

The numbers come from ``model.json`` beside this module, written by ``manage.py calibrate``
(:mod:`duplicates.evaluation.calibrate`), which fits them on the training part of the labelled
real-OCR corpus and records what it measured. The same arithmetic runs on one factor dict
(:meth:`Model.logit`) and on a matrix of many (:meth:`Model.logit_columns`), in the same order,
so both give the same doubles.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "model.json"


@dataclass(frozen=True, slots=True)
class Feature:
    """One learned step function: ``values[i]`` for ``x`` in ``(edges[i - 1], edges[i]]``
    (``values[0]`` up to ``edges[0]``, the last value above the last edge)."""

    name: str
    group: str
    input: str
    regime: str = "long"  # "short" or "long": the model it belongs to
    edges: tuple[float, ...] = ()
    values: tuple[float, ...] = (0.0,)
    missing: float = 0.0  # the amount when the factor is unknown for a pair

    def amount(self, x: float) -> float:
        return self.values[bisect.bisect_left(self.edges, x)]

    def amounts(self, x: np.ndarray) -> np.ndarray:
        table = np.asarray(self.values, dtype=float)
        return table[np.searchsorted(np.asarray(self.edges, dtype=float), x, side="left")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "group": self.group, "input": self.input,
            "regime": self.regime, "edges": list(self.edges), "values": list(self.values),
            "missing": self.missing,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Model:
    bias: Mapping[str, float]  # per regime: "short" and "long"
    features: tuple[Feature, ...]
    threshold: float = 0.5
    short_tokens: int = 40
    part_of_containment: float = 0.8
    part_of_length_ratio: float = 0.8
    # grouping: average link at least the threshold, and no pair below this floor
    link_floor: float = 0.15
    info: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        """Changes when anything that turns factors into a confidence changes."""
        data = {k: v for k, v in self.to_dict().items() if k != "info"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([f.input for f in self.features] + ["tokens"]))

    @staticmethod
    def _applies(feature: Feature, short: bool) -> bool:
        return (feature.regime == "short") == short

    def _x(self, feature: Feature, factors: Mapping[str, Any], short: bool) -> float | None:
        if not self._applies(feature, short):
            return None
        raw = factors.get(feature.input)
        if raw is None or isinstance(raw, bool) or not isinstance(raw, int | float):
            return None
        if raw != raw or raw in (math.inf, -math.inf):
            return None
        return float(raw)

    def _short(self, factors: Mapping[str, Any]) -> bool:
        tokens = factors.get("tokens")
        return isinstance(tokens, int | float) and tokens < self.short_tokens

    def terms(self, factors: Mapping[str, Any]) -> dict[str, float]:
        """Log-odds added by each group (before a person's weights)."""
        short = self._short(factors)
        found: dict[str, float] = {}
        for feature in self.features:
            if not self._applies(feature, short):
                continue
            x = self._x(feature, factors, short)
            amount = feature.missing if x is None else feature.amount(x)
            found[feature.group] = found.get(feature.group, 0.0) + amount
        return found

    def logit(self, factors: Mapping[str, Any], *, weights: Mapping[str, float]) -> float:
        short = self._short(factors)
        total = self.bias["short" if short else "long"]
        for feature in self.features:
            weight = weights.get(feature.group, 1.0)
            if not weight:
                continue
            if not self._applies(feature, short):
                continue
            x = self._x(feature, factors, short)
            total += weight * (feature.missing if x is None else feature.amount(x))
        return total

    def logit_columns(
        self, columns: Mapping[str, np.ndarray], *, weights: Mapping[str, float]
    ) -> np.ndarray:
        """:meth:`logit` of many rows: ``columns[input]`` holds the factor per row (NaN when
        missing); the same operations in the same order as the scalar path."""
        n = len(next(iter(columns.values()))) if columns else 0
        tokens = columns.get("tokens", np.full(n, np.nan))
        short = ~np.isnan(tokens) & (tokens < self.short_tokens)
        total = np.where(short, self.bias["short"], self.bias["long"])
        for feature in self.features:
            weight = weights.get(feature.group, 1.0)
            if not weight:
                continue
            raw = columns.get(feature.input, np.full(n, np.nan))
            applies = short if feature.regime == "short" else ~short
            present = ~np.isnan(raw)
            amounts = np.where(
                present, feature.amounts(np.where(present, raw, 0.0)), feature.missing
            )
            total = np.where(applies, total + weight * amounts, total)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "bias": dict(self.bias), "threshold": self.threshold, "short_tokens": self.short_tokens,
            "part_of_containment": self.part_of_containment,
            "part_of_length_ratio": self.part_of_length_ratio, "link_floor": self.link_floor,
            "features": [f.to_dict() for f in self.features], "info": dict(self.info),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Model:
        features = tuple(
            Feature(
                name=f["name"], group=f["group"], input=f["input"],
                regime=f.get("regime", "long"),
                edges=tuple(float(e) for e in f["edges"]),
                values=tuple(float(v) for v in f["values"]),
                missing=float(f.get("missing", 0.0)),
            )
            for f in data["features"]
        )  # fmt: skip
        return cls(
            bias={regime: float(data["bias"][regime]) for regime in ("short", "long")},
            features=features, threshold=float(data["threshold"]),
            short_tokens=int(data.get("short_tokens", 40)),
            part_of_containment=float(data.get("part_of_containment", 0.8)),
            part_of_length_ratio=float(data.get("part_of_length_ratio", 0.8)),
            link_floor=float(data.get("link_floor", 0.15)), info=data.get("info", {}),
        )  # fmt: skip

    def save(self, path: Path = MODEL_PATH) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")


@cache
def default_model() -> Model:
    """The model shipped with the engine (``model.json``)."""
    return Model.from_dict(json.loads(MODEL_PATH.read_text()))
