"""Labels of the corpus by construction, and the categories the quality report counts in.

Two documents are duplicates when they come from the same source (``key``). Pairs are counted
in three ways:

* by *variant*: the harder of the two documents' variants (a PDF and its photo count as
  ``photo``), in the order of :data:`VARIANT_RANK`;
* by *document type*: letter, invoice, receipt, form, ... (``mixed`` across types);
* by *relation*, for pairs that are not duplicates but look alike on purpose: bills of one
  template, revisions of a licence, one circular to several people, short forms that differ in
  one word, receipts of one shop, notices with one licence, a notice embedding a licence,
  extracts and appendices (``part_of``) and two halves of one document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IMAGE_FORMATS = ("png", "jpeg", "tiff", "gif", "bmp")
VARIANT_RANK = (
    "born_digital", "resaved", "image_format", "image_pdf", "multi_tiff", "rescan", "stamped",
    "rescan_poor", "photo",
)  # fmt: skip
UNIT_RELATIONS = {
    "invoice": "template_bill", "receipt": "same_shop", "form": "short_near",
    "circular": "form_letter", "licence": "licence_revision", "notice": "same_licence_notice",
    "appendix": "licence_revision", "manual": "part_of",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Label:
    key: str
    unit: str
    doc_type: str
    variant: str
    split: str
    part_of: tuple[str, str] | None = None
    contains: str | None = None
    embeds: str | None = None

    @property
    def variant_category(self) -> str:
        return "image_format" if self.variant in IMAGE_FORMATS else self.variant

    @classmethod
    def of_spec(cls, spec: Any) -> Label:
        source = spec.source
        return cls(
            key=source.key, unit=source.unit, doc_type=source.doc_type, variant=spec.variant.kind,
            split=spec.split, part_of=source.part_of, contains=source.meta.get("contains"),
            embeds=source.meta.get("embeds"),
        )  # fmt: skip

    @classmethod
    def of_row(cls, row: dict) -> Label:
        return cls(
            key=row["cluster"], unit=row["unit"], doc_type=row["doc_type"], variant=row["variant"],
            split=row["split"], part_of=tuple(row["part_of"]) if row.get("part_of") else None,
            contains=row.get("contains"), embeds=row.get("embeds"),
        )  # fmt: skip


def relation(left: Label, right: Label) -> str | None:
    """Why two documents of different sources look alike (a hard negative), or None."""
    if left.key == right.key:
        return None
    for one, other in ((left, right), (right, left)):
        if one.part_of and one.part_of[0] == other.key:
            return "part_of"
        if one.contains == other.key:
            return "part_of"
        if one.embeds == other.key:
            return "embeds_licence"
    if left.part_of and right.part_of and left.part_of[0] == right.part_of[0]:
        return "halves" if "half" in (left.part_of[1], right.part_of[1]) else "part_of"
    if left.unit != right.unit:
        return None
    return UNIT_RELATIONS.get(left.doc_type)


def variant_category(left: Label, right: Label) -> str:
    ranks = [VARIANT_RANK.index(label.variant_category) for label in (left, right)]
    return VARIANT_RANK[max(ranks)]


def type_category(left: Label, right: Label) -> str:
    return left.doc_type if left.doc_type == right.doc_type else "mixed"


def pair_category(left: Label, right: Label) -> str:
    """A duplicate pair's variant category, else its relation (``unrelated`` when none)."""
    if left.key == right.key:
        return variant_category(left, right)
    return relation(left, right) or "unrelated"
