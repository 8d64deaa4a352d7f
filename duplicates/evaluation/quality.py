"""The quality report on the labelled real-OCR corpus, beside two simple baselines.

For one part of the corpus (``heldout`` by default; nothing is tuned on it) the engine runs a
full analysis with the default configuration, and a pair counts as *predicted* when both
documents end up in one group. The same documents go through two baselines:

* ``paperless_fuzzy``: what Paperless-NGX's ``document_fuzzy_match --ratio 85`` does: rapidfuzz
  ``utils.default_process`` on the whole content, then ``fuzz.ratio >= 85``, every pair;
* ``minhash_lsh``: datasketch ``MinHashLSH`` at threshold 0.7 over word 3-shingles of the same
  processed text (128 permutations); a pair is predicted when the index returns it.

Precision, recall and F1 are counted per variant (how the copy came in), per document type and
overall; hard negatives (bills of one template, licence revisions, circulars, extracts...) are
counted by relation: how many such pairs there are and how many were grouped. The worst false
positives and misses follow, with their factors, so a reader sees why.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from datasketch import MinHash, MinHashLSH
from rapidfuzz import fuzz, process, utils

from duplicates.engine import AnalysisResult, DocFeatures, EngineConfig, ScoringConfig, analyse
from duplicates.engine.scoring import part_of

from .dataset import DATASET, read_rows
from .labels import VARIANT_RANK, Label, relation, type_category, variant_category

Pair = frozenset


@dataclass(slots=True)
class Corpus:
    docs: list[DocFeatures]
    labels: dict[int, Label]
    rows: dict[int, dict] = field(default_factory=dict)

    def truth(self) -> set[Pair]:
        by_key: dict[str, list[int]] = {}
        for doc in self.docs:
            by_key.setdefault(self.labels[doc.id].key, []).append(doc.id)
        return {Pair(p) for ids in by_key.values() for p in itertools.combinations(ids, 2)}

    def part_of_pairs(self) -> set[Pair]:
        ids = [doc.id for doc in self.docs]
        return {
            Pair((a, b))
            for a, b in itertools.combinations(ids, 2)
            if relation(self.labels[a], self.labels[b]) == "part_of"
        }


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def load(*, path: Path = DATASET, split: str | None = "heldout") -> Corpus:
    """The dataset as engine documents (``split``: train, heldout, or None for all)."""
    names: dict[str, int] = {}

    def name_id(value: str | None) -> int | None:
        return None if value is None else names.setdefault(value, len(names) + 1)

    docs, labels, rows = [], {}, {}
    for row in read_rows(split=split, path=path):
        doc = DocFeatures(
            id=row["id"],
            text=row["content"],
            checksum=row["checksum"],
            correspondent_id=name_id(row["correspondent"]),
            document_type_id=name_id(row["document_type"]),
            created=_date(row["created"]),
            added=_date(row["added"]),
            page_count=row["page_count"],
            size=row["size"],
            title=row["title"],
            original_file_name=row["original_file_name"],
            has_archive=True,
            dhash=bytes.fromhex(row["dhash"]) if row.get("dhash") else None,
            phash=row["phash"] & 0xFFFFFFFFFFFFFFFF if row.get("phash") is not None else None,
            layout=bytes.fromhex(row["layout"]) if row.get("layout") else None,
        )
        docs.append(doc)
        labels[doc.id] = Label.of_row(row)
        rows[doc.id] = row
    return Corpus(docs=docs, labels=labels, rows=rows)


# --- predictions -----------------------------------------------------------------------------


def engine_pairs(
    corpus: Corpus, *, config: EngineConfig | None = None
) -> tuple[set[Pair], AnalysisResult]:
    result = analyse(corpus.docs, config=config or EngineConfig(workers=1))
    predicted = {
        Pair(pair) for group in result.groups for pair in itertools.combinations(group.members, 2)
    }
    return predicted, result


def fuzzy_baseline(corpus: Corpus, *, ratio: float = 85.0) -> set[Pair]:
    """Paperless's ``document_fuzzy_match``: default_process, then fuzz.ratio over all pairs."""
    texts = [utils.default_process(doc.text) for doc in corpus.docs]
    matrix = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=ratio, workers=1)
    ids = [doc.id for doc in corpus.docs]
    return {Pair((ids[i], ids[j])) for i, j in zip(*matrix.nonzero(), strict=True) if i < j}


def minhash_baseline(corpus: Corpus, *, threshold: float = 0.7, num_perm: int = 128) -> set[Pair]:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes = {}
    for doc in corpus.docs:
        words = utils.default_process(doc.text).split()
        shingles = {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}
        minhash = MinHash(num_perm=num_perm, seed=1)
        minhash.update_batch([s.encode() for s in shingles if s])
        hashes[doc.id] = minhash
        lsh.insert(doc.id, minhash)
    return {
        Pair((doc_id, other))
        for doc_id, minhash in hashes.items()
        for other in lsh.query(minhash)
        if other != doc_id
    }


# --- counting --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    category: str
    true_pairs: int
    found: int
    wrong: int

    @property
    def missed(self) -> int:
        return self.true_pairs - self.found

    @property
    def precision(self) -> float | None:
        predicted = self.found + self.wrong
        return self.found / predicted if predicted else None

    @property
    def recall(self) -> float | None:
        return self.found / self.true_pairs if self.true_pairs else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


def count(
    corpus: Corpus, predicted: set[Pair], *, by: Callable[[Label, Label], str]
) -> dict[str, Row]:
    """Found / wrong / true pairs per category (``by`` names a pair's category) and ``all``."""
    truth = corpus.truth()
    counts: dict[str, list[int]] = {}
    for pair in truth | predicted:
        a, b = tuple(pair)
        for name in (by(corpus.labels[a], corpus.labels[b]), "all"):
            row = counts.setdefault(name, [0, 0, 0])
            if pair in truth:
                row[0] += 1
                row[1] += pair in predicted
            else:
                row[2] += 1
    return {name: Row(name, *values) for name, values in counts.items()}


def relation_counts(corpus: Corpus, predicted: set[Pair]) -> dict[str, tuple[int, int]]:
    """Hard negatives per relation: (pairs, grouped as duplicates)."""
    found: dict[str, list[int]] = {}
    ids = [doc.id for doc in corpus.docs]
    for a, b in itertools.combinations(ids, 2):
        name = relation(corpus.labels[a], corpus.labels[b])
        if name is None:
            continue
        row = found.setdefault(name, [0, 0])
        row[0] += 1
        row[1] += Pair((a, b)) in predicted
    return {name: (v[0], v[1]) for name, v in sorted(found.items())}


def _fmt(value: float | None) -> str:
    return "    -" if value is None else f"{value:.3f}"


def _table(title: str, rows: dict[str, dict[str, Row]], order: Sequence[str]) -> list[str]:
    methods = list(rows)
    lines = [title, f"{'':<16}{'pairs':>6}" + "".join(
        f"  {m[:22]:>22} P/R/F1 (wrong)" for m in methods
    )]  # fmt: skip
    for category in order:
        present = [rows[m][category] for m in methods if category in rows[m]]
        if not present:
            continue
        true_pairs = max(r.true_pairs for r in present)
        cells = []
        for method in methods:
            row = rows[method].get(category, Row(category, true_pairs, 0, 0))
            cell = f"  {_fmt(row.precision)} {_fmt(row.recall)} {_fmt(row.f1)} ({row.wrong:>3})"
            cells.append(cell.rjust(37))
        lines.append(f"{category:<16}{true_pairs:>6}" + "".join(cells))
    return lines


@dataclass(slots=True)
class Report:
    corpus: Corpus
    predictions: dict[str, set[Pair]]
    result: AnalysisResult
    seconds: float
    split: str = "heldout"

    def by_variant(self) -> dict[str, dict[str, Row]]:
        return {m: count(self.corpus, p, by=variant_category) for m, p in self.predictions.items()}

    def by_type(self) -> dict[str, dict[str, Row]]:
        return {m: count(self.corpus, p, by=type_category) for m, p in self.predictions.items()}

    def relations(self) -> dict[str, dict[str, tuple[int, int]]]:
        return {m: relation_counts(self.corpus, p) for m, p in self.predictions.items()}

    def edge(self, pair: Pair) -> dict | None:
        for edge in self.result.edges:
            if Pair((edge.a, edge.b)) == pair:
                return {"confidence": edge.confidence, **edge.factors}
        return None

    def mistakes(self, *, limit: int = 10) -> tuple[list, list]:
        truth = self.corpus.truth()
        ours = self.predictions["engine"]
        scored = {Pair((e.a, e.b)): e for e in self.result.edges}

        def confidence(pair: Pair) -> float:
            edge = scored.get(pair)
            return edge.confidence if edge else -1.0

        wrong = sorted(ours - truth, key=confidence, reverse=True)[:limit]
        missed = sorted(truth - ours, key=confidence)[:limit]
        return wrong, missed

    def describe(self, pair: Pair) -> str:
        a, b = sorted(pair)
        la, lb = self.corpus.labels[a], self.corpus.labels[b]
        edge = self.edge(pair)
        what = relation(la, lb) or ("duplicate" if la.key == lb.key else "unrelated")
        head = f"  #{a} {la.key} [{la.variant}] ~ #{b} {lb.key} [{lb.variant}]: {what}"
        if edge is None:
            return head + "; no edge (not a candidate, or below the kept threshold)"
        factors = ", ".join(
            f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
            for k, v in edge.items() if v is not None
        )  # fmt: skip
        return f"{head}\n      {factors}"

    def text(self, *, limit: int = 10) -> str:
        lines = [
            f"Labelled real-OCR corpus, {self.split} part: "
            f"{len(self.corpus.docs)} documents, {len(self.corpus.truth())} duplicate pairs "
            f"(engine: {self.seconds:.1f} s)",
            "Columns per method: precision recall F1 (wrong pairs). Methods: "
            + ", ".join(self.predictions),
            "",
        ]
        lines += _table("By variant (the harder copy of the pair):", self.by_variant(),
                        [*VARIANT_RANK, "all"])  # fmt: skip
        lines.append("")
        types = [*sorted({label.doc_type for label in self.corpus.labels.values()}), "mixed", "all"]
        lines += _table("By document type:", self.by_type(), types)
        lines.append("")
        lines.append("Hard negatives by relation: pairs, grouped as duplicates per method")
        relations = self.relations()
        for name, (pairs, _) in relations["engine"].items():
            grouped = "  ".join(f"{m}={relations[m][name][1]}" for m in relations)
            lines.append(f"  {name:<22}{pairs:>5}   {grouped}")
        shown = self.part_of_shown()
        lines.append(f"  part_of pairs the engine shows as 'part of': {shown[1]}/{shown[0]}")
        wrong, missed = self.mistakes(limit=limit)
        lines.append("")
        lines.append(f"Worst false positives of the engine ({len(wrong)} shown):")
        lines += [self.describe(p) for p in wrong] or ["  none"]
        lines.append(f"Worst misses of the engine ({len(missed)} shown):")
        lines += [self.describe(p) for p in missed] or ["  none"]
        return "\n".join(lines)

    def part_of_shown(self) -> tuple[int, int]:
        """Labelled "part of" pairs, and how many the engine shows as such."""
        pairs = self.corpus.part_of_pairs()
        scoring = ScoringConfig()
        shown = {
            Pair((e.a, e.b))
            for e in self.result.edges
            if e.confidence < scoring.threshold and part_of(e.factors, config=scoring)
        }
        return len(pairs), len(pairs & shown)


def run(
    *, split: str = "heldout", path: Path = DATASET, config: EngineConfig | None = None,
    baselines: bool = True,
) -> Report:  # fmt: skip
    corpus = load(path=path, split=split)
    started = time.perf_counter()
    ours, result = engine_pairs(corpus, config=config)
    seconds = time.perf_counter() - started
    predictions = {"engine": ours}
    if baselines:
        predictions["paperless_fuzzy"] = fuzzy_baseline(corpus)
        predictions["minhash_lsh"] = minhash_baseline(corpus)
    return Report(
        corpus=corpus, predictions=predictions, result=result, seconds=seconds, split=split
    )


def pairs_of(groups: Iterable[Sequence[int]]) -> set[Pair]:
    return {Pair(p) for members in groups for p in itertools.combinations(members, 2)}
