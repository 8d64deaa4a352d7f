"""Quality of the engine on the labelled corpus: precision, recall and F1 per kind.

Run without Django: ``python -m duplicates.engine.quality [--seed N] [--per-kind N]``.
A pair counts as *predicted* when both documents end up in one group at the default settings.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .corpus import NEGATIVE_KINDS, POSITIVE_KINDS, LabelledCorpus, generate_corpus
from .pipeline import EngineConfig, analyse
from .scoring import FACTORS, ScoringConfig
from .types import Group


@dataclass(frozen=True, slots=True)
class KindQuality:
    kind: str
    true_pairs: int
    found: int
    wrong: int
    missed: int

    @property
    def precision(self) -> float:
        predicted = self.found + self.wrong
        return self.found / predicted if predicted else 1.0

    @property
    def recall(self) -> float | None:
        return self.found / self.true_pairs if self.true_pairs else None

    @property
    def f1(self) -> float | None:
        recall = self.recall
        if recall is None or self.precision + recall == 0:
            return None
        return 2 * self.precision * recall / (self.precision + recall)


def predicted_pairs(groups: Sequence[Group]) -> set[frozenset]:
    return {
        frozenset(pair) for group in groups for pair in itertools.combinations(group.members, 2)
    }


def evaluate_groups(corpus: LabelledCorpus, groups: Sequence[Group]) -> list[KindQuality]:
    """Quality per kind (and ``all``) of ``groups`` against the corpus labels."""
    predicted = predicted_pairs(groups)
    by_cluster: dict[int, list[int]] = {}
    for doc in corpus.docs:
        by_cluster.setdefault(corpus.cluster[doc.id], []).append(doc.id)
    truth = {
        frozenset(pair)
        for members in by_cluster.values()
        for pair in itertools.combinations(members, 2)
    }
    rows = []
    for kind in (*POSITIVE_KINDS, *NEGATIVE_KINDS, "background", "all"):

        def touches(pair: frozenset, kind: str = kind) -> bool:
            return kind == "all" or any(corpus.kind[d] == kind for d in pair)

        kind_truth = {p for p in truth if touches(p)}
        kind_predicted = {p for p in predicted if touches(p)}
        rows.append(
            KindQuality(
                kind=kind,
                true_pairs=len(kind_truth),
                found=len(kind_truth & kind_predicted),
                wrong=len(kind_predicted - truth),
                missed=len(kind_truth - kind_predicted),
            )
        )
    return rows


def evaluate(
    *, seed: int = 7, per_kind: int = 40, background: int = 300, config: EngineConfig | None = None
) -> list[KindQuality]:
    corpus = generate_corpus(seed=seed, per_kind=per_kind, background=background)
    result = analyse(corpus.docs, config=config or EngineConfig())
    return evaluate_groups(corpus, result.groups)


def _fmt(value: float | None) -> str:
    return "   -" if value is None else f"{value:.3f}"


def format_table(rows: Sequence[KindQuality]) -> str:
    lines = [
        f"{'kind':<18}{'pairs':>6}{'found':>6}{'wrong':>6}{'missed':>7}"
        f"{'precision':>10}{'recall':>8}{'F1':>7}"
    ]
    for row in rows:
        lines.append(
            f"{row.kind:<18}{row.true_pairs:>6}{row.found:>6}{row.wrong:>6}{row.missed:>7}"
            f"{_fmt(row.precision):>10}{_fmt(row.recall):>8}{_fmt(row.f1):>7}"
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m duplicates.engine.quality`` and ``manage.py dedupe_quality``."""
    parser.add_argument("--seed", type=int, default=7, help="corpus seed")
    parser.add_argument("--per-kind", type=int, default=40, help="cases per kind")
    parser.add_argument("--background", type=int, default=300, help="unrelated documents")
    parser.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="FACTOR",
        help="switch a factor off (repeatable), to see what it contributes",
    )


def report(*, seed: int, per_kind: int, background: int, disable: Sequence[str] = ()) -> str:
    """The quality table as text, for the given corpus and disabled factors."""
    scoring = ScoringConfig()
    unknown = set(disable) - set(FACTORS)
    if unknown:
        raise ValueError(f"unknown factors: {sorted(unknown)}; known: {FACTORS}")
    config = EngineConfig(scoring=replace(scoring, enabled=scoring.enabled - set(disable)))
    started = time.perf_counter()
    rows = evaluate(seed=seed, per_kind=per_kind, background=background, config=config)
    elapsed = time.perf_counter() - started
    disabled = f", disabled: {', '.join(disable)}" if disable else ""
    return f"{format_table(rows)}\n({elapsed:.1f} s, seed {seed}{disabled})"


def main(argv: Sequence[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return report(
        seed=args.seed, per_kind=args.per_kind, background=args.background, disable=args.disable
    )


if __name__ == "__main__":
    print(main())
