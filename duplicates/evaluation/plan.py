"""The labelled corpus's plan: which documents exist, how each was made, and the labels.

Labels are by construction. Every document is one *variant* (a way into Paperless: the e-mailed
PDF, a re-saved PDF, a PNG / JPEG / TIFF / GIF / BMP of the page, an image-only PDF, a multi-page
TIFF, a rescan, a poor rescan, a stamped rescan, a phone photo) of one *source* (a piece of paper,
see :mod:`.texts`). Two documents are duplicates exactly when they are variants of the same
source. Sources of one *unit* are near on purpose (bills of one template, revisions of one
licence, a circular to several people, a manual and its extracts): those pairs are the hard
negatives, and extracts and appendices are *part of* another document, a relation of its own.

The split is by unit (a unit is wholly in ``train`` or wholly in ``heldout``), 40% held out,
chosen by a hash of the unit's name alone: nothing is tuned on the held-out part, and a unit
added later never moves an existing one.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import labels, texts
from .labels import IMAGE_FORMATS
from .texts import Source

HELDOUT_SHARE = 0.4
# Bump a kind's number when duplicates/evaluation/build.py changes how it is made.
RECIPE_VERSIONS = {"rescan_poor": 2}


@dataclass(frozen=True, slots=True)
class Variant:
    kind: str
    seed: int

    @property
    def category(self) -> str:
        return "image_format" if self.kind in IMAGE_FORMATS else self.kind


@dataclass(frozen=True, slots=True)
class DocSpec:
    id: int
    source: Source
    variant: Variant
    split: str

    @property
    def cluster(self) -> str:
        return self.source.key

    @property
    def recipe_key(self) -> str:
        """Changes when anything that makes this document's file changes (the source, the
        variant, or how :mod:`.build` makes that kind of variant: :data:`RECIPE_VERSIONS`)."""
        version = RECIPE_VERSIONS.get(self.variant.kind, 1)
        made = (self.source, self.variant) if version == 1 else (self.source, self.variant, version)
        digest = hashlib.sha256(repr(made).encode()).hexdigest()
        return f"{self.variant.kind}-{digest[:20]}"


def _weighted(rng: random.Random, options: dict[str, float], k: int) -> list[str]:
    chosen: list[str] = []
    pool = dict(options)
    while pool and len(chosen) < k:
        names = sorted(pool)
        name = rng.choices(names, weights=[pool[n] for n in names])[0]
        chosen.append(name)
        pool.pop(name)
    return chosen


def _variants_for(source: Source, *, one_page: bool, rng: random.Random) -> list[str]:
    """The base variant and its duplicates for one source (see the module docstring)."""
    images = {name: 1.0 for name in IMAGE_FORMATS} if one_page else {}
    scans = {"image_pdf": 2.5, "rescan": 2.5, "stamped": 1.5, "rescan_poor": 1.5, "resaved": 2.0}
    if not one_page:
        scans["multi_tiff"] = 3.0
    else:
        scans["photo"] = 1.5
    kind = source.doc_type
    if kind in ("receipt", "form"):  # paper first: a scan, then a photo or another scan
        base = rng.choice(("jpeg", "png", "rescan"))
        extra = {"photo": 3.0, "png": 1.0, "jpeg": 1.0, "gif": 1.0, "bmp": 1.0, "tiff": 1.0,
                 "rescan": 1.5, "rescan_poor": 1.5, "stamped": 1.0}  # fmt: skip
        if kind == "form":
            extra["born_digital"] = 2.0
        extra.pop(base, None)
        count = rng.choices((0, 1, 2, 3), weights=(1, 3, 3, 1))[0]
        return [base, *_weighted(rng, extra, count)]
    options = {**images, **scans}
    weights = {
        "letter": (1, 4, 4, 2), "invoice": (3, 4, 2, 0), "circular": (3, 4, 1, 0),
        "licence": (1, 4, 3, 0), "notice": (3, 3, 0, 0), "manual": (1, 3, 3, 1),
        "appendix": (2, 2, 0, 0), "part": (2, 2, 0, 0),
    }[kind if not source.part_of else "part"]  # fmt: skip
    count = rng.choices((0, 1, 2, 3), weights=weights)[0]
    return ["born_digital", *_weighted(rng, options, count)]


def sources() -> list[Source]:
    """Every source of the corpus, in a fixed order."""
    found: list[Source] = []
    found += [texts.letter(seed=seed, long=seed % 3 == 0) for seed in range(110)]
    found += [
        texts.invoice(template=t, customer=c, month=m)
        for t in range(len(texts.INVOICE_TEMPLATES))
        for c in range(3)
        for m in range(3)
    ]
    found += [texts.receipt(shop=s, number=n) for s in range(len(texts.SHOPS)) for n in range(5)]
    found += [
        texts.form(template=t, fill=f) for t in range(len(texts.FORMS)) for f in range(2 + t % 2)
    ]
    found += [
        texts.circular(number=n, recipient=r) for n in range(len(texts.CIRCULARS)) for r in range(4)
    ]
    found += [texts.licence(name=name) for name in texts.LICENCES]
    for index, name in enumerate(("Apache-2.0", "BSD", "MPL-2.0", "GPL-2", "Artistic", "CC0-1.0")):
        found.append(texts.licence_revision(texts.licence(name=name), seed=index + 1))
    for index, name in enumerate(texts.NOTICE_LICENCES):
        found += [texts.notice(licence_name=name, package=3 * index + p) for p in range(3)]
    for index, name in enumerate(texts.MANUALS):
        full = texts.manual(name=name)
        found.append(full)
        pages = len(texts.pages_of(full))
        if index % 2 == 0 and pages >= 3:
            found.append(texts.manual_part(full, pages=slice(1, 2), relation="extract"))
        if index % 3 == 0 and pages >= 4:
            half = pages // 2
            found.append(texts.manual_part(full, pages=slice(0, half), relation="half"))
            found.append(texts.manual_part(full, pages=slice(half, pages), relation="half"))
    for manual_name, licence_name in (("zstd", "BSD"), ("socat", "GPL-2"), ("apt", "GPL-2"),
                                      ("xz-utils", "LGPL-2.1"), ("man-db", "GPL-3"),
                                      ("libjpeg-dev", "Artistic")):  # fmt: skip
        found.append(texts.appendix(manual_name=manual_name, licence_name=licence_name))
    return found


def split_of(unit: str) -> str:
    """train or heldout, from a hash of the unit's name alone (40% held out): adding units to
    the corpus never moves an existing one to the other part."""
    bucket = int(hashlib.sha256(unit.encode()).hexdigest(), 16) % 100
    return "heldout" if bucket < HELDOUT_SHARE * 100 else "train"


def plan(
    *,
    page_count: Callable[[Source], int] | None = None,
    only: Sequence[str] | None = None,
) -> list[DocSpec]:
    """Every document of the corpus (``only``: of the sources whose key starts with one of
    these). ``page_count(source)`` (the pages of its PDF) decides which sources may become single
    images; without it a source with a page break counts as multi-page. A document's id is its
    source's position times ten plus its variant's, so it is the same in any subset."""
    found = sources()
    specs: list[DocSpec] = []
    for position, source in enumerate(found):
        if only and not any(source.key.startswith(prefix) for prefix in only):
            continue
        rng = random.Random(f"variants/{source.key}")
        if page_count is not None:
            one_page = page_count(source) == 1
        else:
            one_page = not any(block.style == "pagebreak" for block in source.blocks)
        for index, kind in enumerate(_variants_for(source, one_page=one_page, rng=rng)):
            variant = Variant(kind=kind, seed=rng.randrange(1 << 30) + index)
            specs.append(
                DocSpec(id=position * 10 + index + 1, source=source, variant=variant,
                        split=split_of(source.unit))
            )  # fmt: skip
    return specs


def pair_category(left: DocSpec, right: DocSpec) -> str:
    """The category of a pair of documents for the report (see :mod:`.labels`)."""
    return labels.pair_category(labels.Label.of_spec(left), labels.Label.of_spec(right))
