"""Fit the scoring model on the training part of the labelled real-OCR corpus.

1. Every candidate pair of the training documents is scored by the engine (its own candidate
   passes, so the model learns on the pairs it will meet), each labelled duplicate or not.
2. scikit-learn's gradient-boosted trees fit the log-odds of "duplicate" as a sum of one step
   function per feature (``interaction_cst``: every tree splits on one feature only, so the
   model stays additive and each factor's part can be shown on its own), monotone where the
   factor's meaning says so (``monotonic_cst``: more text overlap never lowers a score, more
   conflicting numbers never raise it). Each step function is read back from the fitted model
   and measured from the missing case, so a missing or switched-off factor adds nothing.
3. The trees' number and size are chosen by 5-fold cross-validation *by unit* (the bills of
   one template, the revisions of one licence stay in one fold), on log-loss.
4. The decision threshold and the grouping's link floor are chosen on the out-of-fold scores:
   the pair F1 of the *groups* built from them, among choices whose precision is at least
   ``MIN_PRECISION``.

The held-out part is never read here. ``manage.py calibrate --write`` writes
``duplicates/engine/model.json`` and prints what the model learned (log-odds per factor at a
few values).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from duplicates.engine import EngineConfig, PairScore, analyse, build_groups
from duplicates.engine.model import Feature, Model

from .quality import Corpus, load

# The goal is a pair precision of at least 0.97: the threshold (and link floor) with the best F1
# among those that reach it on the training part's out-of-fold scores.
MIN_PRECISION = 0.97


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    group: str
    input: str
    monotone: int = 0  # +1: never lowers the score as it grows, -1: never raises it
    regimes: tuple[str, ...] = ("short", "long")


FEATURE_SPECS = (
    Spec("jaccard", "jaccard", "jaccard", +1),
    Spec("fuzzy", "fuzzy", "fuzzy", +1),
    Spec("characters", "characters", "characters", +1),
    Spec("containment", "containment", "containment", +1),
    Spec("length_ratio", "containment", "length_ratio", +1),
    # in a short text the count of replaced words tells, in a long one their rate
    Spec("words", "words", "words", -1, regimes=("short",)),
    Spec("words_rate", "words", "words_rate", -1, regimes=("long",)),
    Spec("image", "image", "image", +1),
    Spec("correspondent", "correspondent", "correspondent", +1),
    Spec("document_type", "document_type", "document_type", +1),
    Spec("created", "created", "created", +1),
    Spec("page_count", "page_count", "page_count", +1),
    Spec("size", "size", "size", +1),
    Spec("title", "title", "title", +1),
    Spec("filename", "filename", "filename", +1),
    Spec("id_conflicts", "discriminative", "id_conflicts", -1),
    Spec("id_exact", "discriminative", "id_exact", +1),
    Spec("id_near", "discriminative", "id_near"),
    Spec("id_versions", "discriminative", "id_versions", -1),
    Spec("id_agreement", "discriminative", "id_agreement", +1),
    Spec("id_differ_same_text", "discriminative", "id_differ_same_text", -1),
    Spec("tokens", "base", "tokens"),
)
REGIMES = ("short", "long")


def regime_of(edge: PairScore, *, short_tokens: int) -> str:
    tokens = edge.factors.get("tokens")
    return "short" if tokens is not None and tokens < short_tokens else "long"


def design(edges: Sequence[PairScore], *, short_tokens: int = 40) -> np.ndarray:
    """One row per edge, one column per spec: the factor, or NaN when missing (or when the
    feature is not one of the pair's regime)."""
    matrix = np.full((len(edges), len(FEATURE_SPECS)), np.nan)
    for row, edge in enumerate(edges):
        regime = regime_of(edge, short_tokens=short_tokens)
        for col, spec in enumerate(FEATURE_SPECS):
            value = edge.factors.get(spec.input)
            if value is not None and regime in spec.regimes:
                matrix[row, col] = float(value)
    return matrix


def regime_columns(regime: str) -> list[int]:
    return [index for index, spec in enumerate(FEATURE_SPECS) if regime in spec.regimes]


def _estimator(*, iterations: int, leaves: int, regime: str):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=iterations, max_leaf_nodes=leaves, min_samples_leaf=20,
        l2_regularization=2.0, early_stopping=False, random_state=0,
        monotonic_cst=[FEATURE_SPECS[index].monotone for index in regime_columns(regime)],
        interaction_cst="no_interactions",
    )  # fmt: skip


def step_functions(fitted, matrix: np.ndarray, *, regime: str) -> tuple[float, list[Feature]]:
    """The fitted trees (on the regime's columns) as one step function per feature, centred on
    the training duplicates ``matrix`` (each function's mean over them is 0; the bias takes the
    rest), and the bias: a factor then says how far a pair is from a typical duplicate, and
    switching it off scores the pair as if it looked like one there (switching off the numbers
    check lets bills of one template group together again)."""
    columns = regime_columns(regime)
    width = len(columns)
    reference = float(fitted.decision_function(np.full((1, width), np.nan))[0])
    bias = reference
    features = []
    for position, index in enumerate(columns):
        spec = FEATURE_SPECS[index]
        edges = [float(t) for t in fitted._bin_mapper.bin_thresholds_[position]]
        points = [*edges, (edges[-1] + max(1.0, abs(edges[-1]))) if edges else 0.0]
        rows = np.full((len(points), width), np.nan)
        rows[:, position] = points
        raw = fitted.decision_function(rows) - reference  # from the unknown case (0)
        kept_edges, kept_values = [], [float(raw[0])]
        for edge, value in zip(edges, raw[1:].tolist(), strict=True):
            if abs(value - kept_values[-1]) > 1e-9:
                kept_edges.append(edge)
                kept_values.append(value)
        if len(kept_values) == 1 and abs(kept_values[0]) < 1e-9:
            continue  # the trees never used it
        column = matrix[:, index]
        present = ~np.isnan(column)
        table = np.asarray(kept_values)
        at = table[np.searchsorted(np.asarray(kept_edges), column[present], side="left")]
        mean = float(at.sum()) / len(column)  # the unknown rows contribute 0
        bias += mean
        features.append(Feature(
            name=f"{spec.name}_{regime}", group=spec.group, input=spec.input, regime=regime,
            edges=tuple(kept_edges), values=tuple(round(v - mean, 6) for v in kept_values),
            missing=round(-mean, 6),
        ))  # fmt: skip
    return round(bias, 6), features


def scored_pairs(corpus: Corpus) -> list[PairScore]:
    """Every candidate pair of the corpus with its factors (nothing dropped by a threshold)."""
    result = analyse(corpus.docs, config=EngineConfig(workers=1, keep_threshold=0.0))
    return result.edges


def _labels(corpus: Corpus, edges: Sequence[PairScore]) -> np.ndarray:
    return np.array([corpus.labels[e.a].key == corpus.labels[e.b].key for e in edges], dtype=int)


def _folds(corpus: Corpus, edges: Sequence[PairScore], *, k: int = 5) -> np.ndarray:
    units = sorted({label.unit for label in corpus.labels.values()})
    rng = np.random.default_rng(11)
    fold_of = dict(zip(units, rng.permutation(len(units)) % k, strict=True))
    return np.array([fold_of[corpus.labels[e.a].unit] for e in edges])


def group_quality(
    corpus: Corpus, edges: Sequence[PairScore], scores: np.ndarray, *, threshold: float,
    floor: float,
) -> tuple[float, float, float]:  # fmt: skip
    """Pair precision, recall and F1 of the groups built from ``scores``."""
    scored = [replace(e, confidence=float(s)) for e, s in zip(edges, scores, strict=True)]
    docs = {doc.id: doc for doc in corpus.docs}
    groups = build_groups(scored, docs=docs, threshold=threshold, floor=floor)
    predicted = {frozenset(p) for g in groups for p in itertools.combinations(g.members, 2)}
    truth = corpus.truth()
    found = len(predicted & truth)
    precision = found / len(predicted) if predicted else 1.0
    recall = found / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _fit_regimes(
    matrix: np.ndarray, labels: np.ndarray, regimes: np.ndarray, *, iterations: int, leaves: int
) -> dict[str, object]:
    fitted = {}
    for regime in REGIMES:
        rows = regimes == regime
        estimator = _estimator(iterations=iterations, leaves=leaves, regime=regime)
        fitted[regime] = estimator.fit(matrix[rows][:, regime_columns(regime)], labels[rows])
    return fitted


def _predict(fitted: dict, matrix: np.ndarray, regimes: np.ndarray) -> np.ndarray:
    scores = np.zeros(len(matrix))
    for regime, model in fitted.items():
        rows = regimes == regime
        if rows.any():
            scores[rows] = model.predict_proba(matrix[rows][:, regime_columns(regime)])[:, 1]
    return scores


def calibrate(*, base: Model, progress=print) -> Model:
    started = time.monotonic()
    corpus = load(split="train")
    edges = scored_pairs(corpus)
    labels = _labels(corpus, edges)
    truth = corpus.truth()
    candidates = {frozenset((e.a, e.b)) for e in edges}
    regimes = np.array([regime_of(e, short_tokens=base.short_tokens) for e in edges])
    progress(
        f"training part: {len(corpus.docs)} documents, {len(truth)} duplicate pairs, "
        f"{len(edges)} candidate pairs ({labels.sum()} duplicates, "
        f"{(regimes == 'short').sum()} pairs of short texts; "
        f"{len(truth - candidates)} duplicate pairs are no candidate)"
    )
    matrix = design(edges, short_tokens=base.short_tokens)
    folds = _folds(corpus, edges)
    best = None
    for iterations, leaves in itertools.product((200, 400, 800), (3, 6)):
        out_of_fold = np.zeros(len(edges))
        for fold in range(folds.max() + 1):
            train, test = folds != fold, folds == fold
            fitted = _fit_regimes(
                matrix[train], labels[train], regimes[train], iterations=iterations, leaves=leaves
            )
            out_of_fold[test] = _predict(fitted, matrix[test], regimes[test])
        clipped = np.clip(out_of_fold, 1e-6, 1 - 1e-6)
        loss = -np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped))
        progress(f"  {iterations} trees of {leaves} leaves: cross-validated log-loss {loss:.4f}")
        if best is None or loss < best[0]:
            best = (loss, iterations, leaves, out_of_fold)
    loss, iterations, leaves, out_of_fold = best
    choices = []
    for threshold in np.arange(0.3, 0.91, 0.05):
        for floor in (0.05, 0.1, 0.15, 0.2, 0.3):
            if floor > threshold:
                continue
            precision, recall, f1 = group_quality(
                corpus, edges, out_of_fold, threshold=float(threshold), floor=floor
            )
            choices.append((precision >= MIN_PRECISION, round(f1, 4), -abs(threshold - 0.5),
                            round(float(threshold), 2), floor, precision, recall))  # fmt: skip
    choices.sort(reverse=True)
    _, f1, _, threshold, floor, precision, recall = choices[0]
    progress(
        f"chose {iterations} trees of {leaves} leaves, threshold {threshold:.2f}, link floor "
        f"{floor:.2f}: out-of-fold group precision {precision:.3f}, recall {recall:.3f}, "
        f"F1 {f1:.3f}"
    )
    fitted = _fit_regimes(matrix, labels, regimes, iterations=iterations, leaves=leaves)
    bias, features = {}, []
    for regime in REGIMES:
        bias[regime], regime_features = step_functions(
            fitted[regime], matrix[(regimes == regime) & (labels == 1)], regime=regime
        )
        features += regime_features
    return replace(
        base, bias=bias, features=tuple(features), threshold=threshold, link_floor=floor,
        info={
            "fitted": datetime.now(UTC).strftime("%Y-%m-%d"),
            "method": "additive boosted trees, one model per regime (short / long texts)",
            "trees": iterations, "leaves": leaves, "training_documents": len(corpus.docs),
            "training_pairs": len(edges), "training_duplicates": int(labels.sum()),
            "cv_log_loss": round(float(loss), 4), "cv_group_precision": round(precision, 4),
            "cv_group_recall": round(recall, 4), "cv_group_f1": round(f1, 4),
            "seconds": round(time.monotonic() - started, 1),
        },
    )  # fmt: skip


PROBES = {
    "words": (0, 1, 2, 3, 5, 10), "id_conflicts": (0, 1, 2, 3, 5), "id_exact": (0, 1, 2, 5, 10),
    "id_near": (0, 1, 2, 4), "id_versions": (0, 1, 2), "id_differ_same_text": (0, 1, 2, 5),
    "words_rate": (0, 2, 5, 10, 20, 50),
    "tokens": (5, 15, 30, 60, 200, 1000),
}  # fmt: skip
FRACTIONS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0)


def describe(model: Model) -> str:
    """What the model learned: log-odds each factor adds at a few values."""
    biases = ", ".join(f"{regime} texts {value:+.2f}" for regime, value in model.bias.items())
    lines = [f"bias {biases}; threshold {model.threshold}; link floor {model.link_floor}"]
    for feature in model.features:
        probes = PROBES.get(feature.input, FRACTIONS)
        cells = ", ".join(f"{value:g}: {feature.amount(float(value)):+.2f}" for value in probes)
        lines.append(f"  {feature.regime:<6}{feature.group:<15}{feature.input:<14}{cells}")
    return "\n".join(lines)
