"""A labelled synthetic corpus for measuring the engine (deterministic for a seed).

Every document belongs to a *cluster*: documents in one cluster are true duplicates, documents in
different clusters are not. Every case is tagged with a *kind*, so quality can be reported per
kind of duplicate and per kind of hard negative:

positives
    ``rescan_1`` .. ``rescan_10`` (OCR word error rate in percent), ``reflow`` (other line
    breaks and hyphenation), ``stamped`` (a stamp added on the first page), ``extract`` (one page
    of a three-page scan), ``missing_pages`` (three of four pages), ``exact_copy`` (same file),
    ``resaved`` (same text, other checksum and size), ``image_only`` (no text, near-identical
    perceptual hashes), ``misread_digit`` (one digit of a date or number misread, nothing else).
hard negatives
    ``template_bill`` (monthly bills of one template with other dates, amounts and numbers; one
    bill of each family also has a rescan, the only true pair there), ``licence_revision``
    (one licence in two versions), ``form_letter`` (one circular letter to several people, same
    date and sender, a personal middle part; nothing but the text tells them apart).
``background``
    unrelated letters from the same correspondents and document types.

The OCR noise model mixes glyph confusions (``o/0``, ``l/1``, ``rn/m``, ``e/c``...), random
substitutions, deletions, split and merged words.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from .layout import LAYOUT_COLUMNS, LAYOUT_ROWS, LAYOUT_VERSION
from .types import DocFeatures

CONFUSIONS = (
    ("o", "0"), ("0", "o"), ("l", "1"), ("1", "l"), ("i", "l"), ("s", "5"), ("5", "s"),
    ("b", "8"), ("8", "b"), ("m", "rn"), ("w", "vv"), ("e", "c"), ("a", "o"), ("u", "v"),
    ("n", "h"), ("c", "e"), ("d", "cl"), ("O", "0"), ("I", "1"), ("S", "5"), ("B", "8"),
)  # fmt: skip
POSITIVE_KINDS = (
    "rescan_1", "rescan_3", "rescan_5", "rescan_8", "rescan_10", "reflow", "stamped",
    "extract", "missing_pages", "exact_copy", "resaved", "image_only", "misread_digit",
)  # fmt: skip
NEGATIVE_KINDS = ("template_bill", "licence_revision", "form_letter")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(slots=True)
class LabelledCorpus:
    docs: list[DocFeatures] = field(default_factory=list)
    cluster: dict[int, int] = field(default_factory=dict)
    kind: dict[int, str] = field(default_factory=dict)


class _Writer:
    """Pseudo-language text with a Zipf-like vocabulary, so common words are shared."""

    def __init__(self, rng: random.Random, *, vocabulary: int = 6000) -> None:
        self.rng = rng
        words: set[str] = set()
        while len(words) < vocabulary:
            length = max(2, min(12, int(rng.gauss(6, 2.5))))
            words.add("".join(rng.choice(_LETTERS) for _ in range(length)))
        self.words = sorted(words)
        self.cum_weights = list(
            itertools.accumulate(1.0 / (rank + 1) ** 0.9 for rank in range(vocabulary))
        )

    def sentence(self) -> str:
        count = self.rng.randint(6, 18)
        words = self.rng.choices(self.words, cum_weights=self.cum_weights, k=count)
        words[0] = words[0].capitalize()
        return " ".join(words) + self.rng.choice(".....,;:!?")[0].replace(",", ".")

    def paragraph(self, words: int) -> list[str]:
        sentences, total = [], 0
        while total < words:
            sentence = self.sentence()
            sentences.append(sentence)
            total += sentence.count(" ") + 1
        return sentences


def _layout(text_words: list[str], rng: random.Random, *, width: int, hyphenate: bool) -> str:
    """Break words into lines of about ``width`` characters, sometimes hyphenating."""
    lines, line = [], ""
    for word in text_words:
        if len(line) + len(word) + 1 > width and line:
            if hyphenate and len(word) > 7 and word.isalpha() and rng.random() < 0.5:
                cut = rng.randint(3, len(word) - 3)
                lines.append(f"{line} {word[:cut]}-")
                line = word[cut:]
                continue
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def _corrupt_word(word: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        options = [(a, b) for a, b in CONFUSIONS if a in word]
        if options:
            a, b = rng.choice(options)
            return word.replace(a, b, 1)
    if roll < 0.7 or len(word) < 3:
        pos = rng.randrange(len(word))
        pool = "0123456789" if word[pos].isdigit() else _LETTERS
        return word[:pos] + rng.choice(pool) + word[pos + 1 :]
    if roll < 0.85:
        pos = rng.randrange(len(word))
        return word[:pos] + word[pos + 1 :]
    pos = rng.randrange(1, len(word) - 1)
    return word[:pos] + " " + word[pos:]


def ocr_noise(text: str, *, rate: float, rng: random.Random) -> str:
    """Corrupt about ``rate`` of the words (line structure kept)."""
    out_lines = []
    for line in text.split("\n"):
        words = line.split(" ")
        for i, word in enumerate(words):
            if word and rng.random() < rate:
                if rng.random() < 0.05 and i + 1 < len(words):
                    words[i + 1] = word + words[i + 1]
                    words[i] = ""
                else:
                    words[i] = _corrupt_word(word, rng)
        out_lines.append(" ".join(w for w in words if w))
    return "\n".join(out_lines)


def _pages_text(pages: list[str]) -> str:
    return "\n\f\n".join(pages)


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.writer = _Writer(self.rng)
        self.corpus = LabelledCorpus()
        self.next_id = 1
        self.next_cluster = 1

    def new_cluster(self) -> int:
        self.next_cluster += 1
        return self.next_cluster

    def add(self, *, cluster: int, kind: str, **fields: object) -> DocFeatures:
        doc = DocFeatures(id=self.next_id, **fields)  # type: ignore[arg-type]
        self.next_id += 1
        self.corpus.docs.append(doc)
        self.corpus.cluster[doc.id] = cluster
        self.corpus.kind[doc.id] = kind
        return doc

    def checksum(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def letter_pages(self, *, pages: int) -> list[str]:
        rng = self.rng
        out = []
        for page in range(pages):
            words: list[str] = []
            if page == 0:
                words += f"Datum {self.date_text(self.some_date())}".split()
                words += f"Unser Zeichen {rng.randint(10000, 99999)}-{rng.randint(10, 99)}".split()
            for sentence in self.writer.paragraph(rng.randint(180, 320)):
                words += sentence.split()
            out.append(_layout(words, rng, width=rng.randint(60, 80), hyphenate=True))
        return out

    def some_date(self) -> date:
        return date(2015, 1, 1) + timedelta(days=self.rng.randint(0, 3650))

    @staticmethod
    def date_text(value: date) -> str:
        return value.strftime("%d.%m.%Y")

    def metadata(self, *, pages: int, text: str) -> dict[str, object]:
        rng = self.rng
        name = f"scan_{rng.randint(1, 99999):05d}.pdf"
        return {
            "correspondent_id": rng.randint(1, 12),
            "document_type_id": rng.randint(1, 5),
            "created": self.some_date(),
            "page_count": pages,
            "size": 40_000 * pages + rng.randint(0, 90_000),
            "title": name.removesuffix(".pdf"),
            "original_file_name": name,
            "checksum": self.checksum(),
            "has_archive": True,
            "text": text,
        }

    def variant_metadata(self, base: DocFeatures, **changes: object) -> dict[str, object]:
        rng = self.rng
        name = f"scan_{rng.randint(1, 99999):05d}.pdf"
        fields = {
            "correspondent_id": base.correspondent_id if rng.random() < 0.8 else None,
            "document_type_id": base.document_type_id if rng.random() < 0.8 else None,
            "created": base.created,
            "page_count": base.page_count,
            "size": int((base.size or 1) * rng.uniform(0.6, 1.6)),
            "title": name.removesuffix(".pdf"),
            "original_file_name": name,
            "checksum": self.checksum(),
            "has_archive": True,
            "text": base.text,
            "phash": base.phash,
            "dhash": base.dhash,
            "layout": base.layout,
        }
        fields.update(changes)
        return fields


def _bill_text(
    builder: _Builder, *, template: list[str], values: dict[str, str], noise: float
) -> str:
    rng = builder.rng
    lines = list(template[:3])
    lines.append(f"Rechnungsnummer {values['invoice']} Kundennummer {values['customer']}")
    lines.append(f"Rechnungsdatum {values['date']} Leistungszeitraum {values['period']}")
    for label, amount in zip(template[3:6], values["items"].split("|"), strict=True):
        lines.append(f"{label} {amount} EUR")
    lines.append(f"Gesamtbetrag {values['total']} EUR faellig am {values['due']}")
    lines.append(f"IBAN {values['iban']}")
    lines.extend(template[6:])
    text = "\n".join(lines)
    return ocr_noise(text, rate=noise, rng=rng) if noise else text


def _amount(rng: random.Random) -> str:
    return f"{rng.randint(5, 400)},{rng.randint(0, 99):02d}"


def _bill_values(builder: _Builder, *, month: date, flat: dict[str, str]) -> dict[str, str]:
    rng = builder.rng
    items = flat.get("items") or "|".join(_amount(rng) for _ in range(3))
    total = sum(float(a.replace(",", ".")) for a in items.split("|"))
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return {
        "invoice": f"RE-{month:%Y}-{rng.randint(10000, 99999)}",
        "customer": flat["customer"],
        "date": builder.date_text(month + timedelta(days=2)),
        "period": f"{builder.date_text(month)} - {builder.date_text(end)}",
        "items": items,
        "total": f"{total:.2f}".replace(".", ","),
        "due": builder.date_text(month + timedelta(days=16)),
        "iban": flat["iban"],
    }


def _misread_one_digit(text: str, rng: random.Random) -> str:
    positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    pos = rng.choice(positions)
    replacement = rng.choice([d for d in "0123456789" if d != text[pos]])
    return text[:pos] + replacement + text[pos + 1 :]


def _random_hash(rng: random.Random, bits: int) -> int:
    return rng.getrandbits(bits)


def random_layout(rng: random.Random) -> bytes:
    """A layout signature (see :mod:`.layout`) of a text page: a heading, lines of ink of
    varying length, a few blank lines between paragraphs."""
    cells = []
    for row in range(LAYOUT_ROWS):
        blank = row > 0 and rng.random() < 0.2
        length = 0 if blank else rng.randint(LAYOUT_COLUMNS // 3, LAYOUT_COLUMNS)
        darkness = 255 if row == 0 else rng.randint(90, 200)
        cells += [darkness if column < length else 0 for column in range(LAYOUT_COLUMNS)]
    return bytes((LAYOUT_VERSION, 48, 90, 0)) + bytes(cells)


def jitter_layout(layout: bytes, rng: random.Random) -> bytes:
    cells = [max(0, min(255, v + rng.randint(-25, 25))) if v else v for v in layout[4:]]
    return layout[:4] + bytes(cells)


def _flip_bits(value: int, *, bits: int, flips: int, rng: random.Random) -> int:
    for position in rng.sample(range(bits), flips):
        value ^= 1 << position
    return value


def _add_original(builder: _Builder, *, kind: str, pages: int) -> tuple[DocFeatures, int]:
    cluster = builder.new_cluster()
    page_texts = builder.letter_pages(pages=pages)
    fields = builder.metadata(pages=pages, text=_pages_text(page_texts))
    fields["phash"] = _random_hash(builder.rng, 64)
    fields["dhash"] = _random_hash(builder.rng, 256)
    doc = builder.add(cluster=cluster, kind=kind, **fields)
    return doc, cluster


def _positive_case(builder: _Builder, kind: str) -> None:
    rng = builder.rng
    pages = 4 if kind == "missing_pages" else 3 if kind == "extract" else rng.randint(1, 2)
    base, cluster = _add_original(builder, kind=kind, pages=pages)
    page_texts = base.text.split("\n\f\n")
    if kind.startswith("rescan_"):
        rate = int(kind.split("_")[1]) / 100
        text = ocr_noise(base.text, rate=rate, rng=rng)
        builder.add(cluster=cluster, kind=kind, **builder.variant_metadata(base, text=text))
    elif kind == "reflow":
        words = base.text.replace("-\n", "").split()
        text = _layout(words, rng, width=rng.randint(40, 100), hyphenate=True)
        builder.add(cluster=cluster, kind=kind, **builder.variant_metadata(base, text=text))
    elif kind == "stamped":
        stamp = f"EINGEGANGEN {builder.date_text(builder.some_date())} Erledigt"
        text = ocr_noise(stamp + "\n" + base.text, rate=0.02, rng=rng)
        builder.add(cluster=cluster, kind=kind, **builder.variant_metadata(base, text=text))
    elif kind == "extract":
        keep = rng.randrange(3)
        text = ocr_noise(page_texts[keep], rate=0.02, rng=rng)
        fields = builder.variant_metadata(base, text=text, page_count=1, dhash=None, phash=None)
        builder.add(cluster=cluster, kind=kind, **fields)
    elif kind == "missing_pages":
        drop = rng.randrange(4)
        text = _pages_text([p for i, p in enumerate(page_texts) if i != drop])
        fields = builder.variant_metadata(base, text=ocr_noise(text, rate=0.02, rng=rng))
        fields["page_count"] = 3
        builder.add(cluster=cluster, kind=kind, **fields)
    elif kind == "exact_copy":
        fields = builder.variant_metadata(base, checksum=base.checksum, size=base.size)
        builder.add(cluster=cluster, kind=kind, **fields)
    elif kind == "resaved":
        builder.add(cluster=cluster, kind=kind, **builder.variant_metadata(base))
    elif kind == "misread_digit":
        text = _misread_one_digit(base.text, rng)
        builder.add(cluster=cluster, kind=kind, **builder.variant_metadata(base, text=text))


def _image_only_case(builder: _Builder) -> None:
    rng = builder.rng
    cluster = builder.new_cluster()
    fields = builder.metadata(pages=1, text=rng.choice(["", "", "x", "ll 1", "."]))
    fields["phash"] = _random_hash(rng, 64)
    fields["dhash"] = _random_hash(rng, 256)
    fields["layout"] = random_layout(rng)
    base = builder.add(cluster=cluster, kind="image_only", **fields)
    variant = builder.variant_metadata(
        base,
        text=rng.choice(["", "", "1", "l"]),
        layout=jitter_layout(base.layout, rng),  # type: ignore[arg-type]
        phash=_flip_bits(base.phash, bits=64, flips=rng.randint(0, 5), rng=rng),  # type: ignore[arg-type]
        dhash=_flip_bits(base.dhash, bits=256, flips=rng.randint(0, 20), rng=rng),  # type: ignore[arg-type]
    )
    builder.add(cluster=cluster, kind="image_only", **variant)


def _template_family(builder: _Builder, *, months: int = 6) -> None:
    rng = builder.rng
    company = " ".join(builder.writer.paragraph(12)).split()
    template = [
        " ".join(company[:6]),
        f"Musterstrasse {rng.randint(1, 99)} {rng.randint(10000, 99999)} Stadt",
        " ".join(builder.writer.paragraph(25)),
        *(f"Position {name}" for name in rng.sample(builder.writer.words[:800], 3)),
        *builder.writer.paragraph(90),
    ]
    flat = {
        "customer": str(rng.randint(1000000, 9999999)),
        "iban": "DE" + "".join(rng.choice("0123456789") for _ in range(20)),
    }
    if rng.random() < 0.5:
        flat["items"] = "|".join(_amount(rng) for _ in range(3))
    correspondent, doc_type = rng.randint(1, 12), rng.randint(1, 5)
    start = date(2020, 1, 1) + timedelta(days=31 * rng.randint(0, 40))
    rescanned = set(rng.sample(range(months), 2))
    for month_index in range(months):
        month = (start + timedelta(days=31 * month_index)).replace(day=1)
        values = _bill_values(builder, month=month, flat=flat)
        cluster = builder.new_cluster()
        name = f"rechnung_{month:%Y_%m}.pdf"
        fields = {
            "correspondent_id": correspondent,
            "document_type_id": doc_type,
            "created": month,
            "page_count": 1,
            "size": 50_000 + rng.randint(0, 3000),
            "title": f"Rechnung {month:%Y-%m}",
            "original_file_name": name,
            "checksum": builder.checksum(),
            "has_archive": True,
            "phash": _random_hash(rng, 64),
            "dhash": _random_hash(rng, 256),
            "text": _bill_text(builder, template=template, values=values, noise=0.01),
        }
        bill = builder.add(cluster=cluster, kind="template_bill", **fields)
        if month_index in rescanned:
            clean = _bill_text(builder, template=template, values=values, noise=0.0)
            text = ocr_noise(_misread_one_digit(clean, rng), rate=0.01, rng=rng)
            variant = builder.variant_metadata(bill, text=text, title=bill.title)
            builder.add(cluster=cluster, kind="template_bill", **variant)


def _licence_case(builder: _Builder) -> None:
    rng = builder.rng
    sentences = builder.writer.paragraph(rng.randint(500, 900))
    first = builder.some_date()
    major = rng.randint(1, 5)
    versions = [(major, rng.randint(0, 4)), (major, 0)]
    versions[1] = (major, versions[0][1] + 1)
    revised = list(sentences)
    for index in rng.sample(range(len(sentences)), max(2, len(sentences) // 8)):
        revised[index] = builder.writer.sentence()
    base_fields = builder.metadata(pages=3, text="")
    for (maj, minor), body, effective in (
        (versions[0], sentences, first),
        (versions[1], revised, first + timedelta(days=rng.randint(90, 700))),
    ):
        header = (
            f"Lizenzbedingungen Version {maj}.{minor} gueltig ab {builder.date_text(effective)}"
        )
        words = (header + " " + " ".join(body)).split()
        fields = dict(base_fields)
        fields.update(
            text=_layout(words, rng, width=72, hyphenate=False),
            checksum=builder.checksum(),
            created=effective,
            title=f"Lizenz {maj}.{minor}",
            original_file_name=f"lizenz_v{maj}_{minor}.pdf",
        )
        builder.add(cluster=builder.new_cluster(), kind="licence_revision", **fields)


def _form_letter_family(builder: _Builder, *, letters: int = 3) -> None:
    """One circular letter sent to several people: shared boilerplate, personal middle part."""
    rng = builder.rng
    opening = builder.writer.paragraph(80)
    closing = builder.writer.paragraph(120)
    correspondent, doc_type = rng.randint(1, 12), rng.randint(1, 5)
    sent = builder.some_date()
    for _ in range(letters):
        personal = builder.writer.paragraph(rng.randint(60, 110))
        words = " ".join([*opening, *personal, *closing]).split()
        text = ocr_noise(_layout(words, rng, width=70, hyphenate=True), rate=0.02, rng=rng)
        fields = builder.metadata(pages=1, text=text)
        fields.update(
            correspondent_id=correspondent,
            document_type_id=doc_type,
            created=sent,
            title="Rundschreiben",
            original_file_name="rundschreiben.pdf",
        )
        builder.add(cluster=builder.new_cluster(), kind="form_letter", **fields)


def generate_corpus(*, seed: int = 7, per_kind: int = 40, background: int = 300) -> LabelledCorpus:
    """The labelled corpus: ``per_kind`` cases of every kind plus unrelated background documents."""
    builder = _Builder(seed)
    for kind in POSITIVE_KINDS:
        for _ in range(per_kind):
            if kind == "image_only":
                _image_only_case(builder)
            else:
                _positive_case(builder, kind)
    for _ in range(max(1, per_kind // 4)):
        _template_family(builder)
    for _ in range(per_kind):
        _licence_case(builder)
    for _ in range(max(1, per_kind // 2)):
        _form_letter_family(builder)
    for _ in range(background):
        _add_original(builder, kind="background", pages=builder.rng.randint(1, 3))
    return builder.corpus
