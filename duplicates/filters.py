"""The duplicate groups list: filters, sorting, factor switches, paging and what each row shows.

One set of functions for the page (``duplicates/views.py``), the API (``duplicates/api.py``) and
the bulk actions ("all N matching the filter" re-runs :func:`matching_group_ids` on the query
string the list page posts along):

* :func:`parse_group_filters` reads the query string (``QueryDict`` or a plain mapping) into a
  :class:`GroupFilters`, with per-field errors for values that make no sense. The page shows the
  errors and ignores those fields; the API answers 422.
* :func:`select_groups` applies them and returns a :class:`GroupSelection` that can count, give
  a page (numbered, for the page) or a slice after a cursor (for the API), in one order.
* :func:`load_groups` loads one page of groups for display in a fixed number of queries: the
  members with their documents, names and tags, and each member's pair with the primary (its
  stored factors), re-scored under the page's scoring.

Query parameters (the same on the page and in the API)::

    status=new&status=reviewed      repeatable; also "open" (= new and reviewed)
    confidence_min / confidence_max  0..1, on the (re-scored) group confidence
    tag / correspondent / document_type   local ids; a group matches when one of its documents does
    size_min / size_max              a member's original file size: bytes, or "200 KB", "1.5 MB"
    created_from / created_to        a member's created date, YYYY-MM-DD
    min_<factor>=0.8                 every member's pair with the primary scores at least 0.8 on it
    off=<factor> / on=<factor>       switch a factor off (or a saved-off one on) for this view only
    sort=-confidence                 confidence, members, size (space to free), date; "-" = desc.

Factor switches and re-scoring: a group's confidence is the mean of its members' confidences to the
primary, and a confidence is a pure function of the pair's stored factors
(:func:`duplicates.engine.confidence`). With the saved scoring (no ``off`` / ``on``) everything is
done in the database on the stored confidences. With switches, the database still applies every
filter that does not depend on the score (status, names, sizes, dates, factor minimums); then the
pairs of the remaining groups with their primaries are read in one query (``group id, factors``,
no documents) and re-scored in Python, and the confidence range and the order are applied to that
list. This costs about one ``confidence()`` call per member (a few microseconds): a second or so for
100k pairs, and it is only paid when a person switches factors, so nothing is cached.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import numpy as np
from django.db import DataError, connection, transaction
from django.db.models import (
    Exists,
    F,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from dedupe_project.models import FACTORS as FACTOR_DESCRIPTIONS
from dedupe_project.models import Configuration
from documents.models import Document
from duplicates.engine import FACTORS, ScoringConfig, confidence
from duplicates.models import DuplicateGroup, GroupMember, PairEdge
from duplicates.rescoring import KEYS as FACTOR_KEYS
from duplicates.rescoring import confidences, score_matrix

FACTOR_LABELS: dict[str, str] = {
    "jaccard": "Text overlap",
    "fuzzy": "Fuzzy text",
    "characters": "Shared letters",
    "containment": "Containment",
    "words": "Replaced words",
    "image": "Page layout",
    "correspondent": "Correspondent",
    "document_type": "Document type",
    "created": "Created date",
    "page_count": "Pages",
    "size": "File size",
    "title": "Title",
    "filename": "File name",
    "checksum": "Checksum",
    "discriminative": "Dates & amounts agree",
}
CONTENT_FACTORS = ("jaccard", "fuzzy", "characters", "containment", "words", "image", "checksum")
# factors that count something (higher is worse) rather than a similarity from 0 to 1
COUNT_FACTORS = ("words",)


def factor_text(name: str, value: float) -> str:
    return f"{value:.0f}" if name in COUNT_FACTORS else f"{value:.2f}"


SORTS: dict[str, str] = {
    "confidence": "Confidence",
    "members": "Members",
    "size": "Space to free",
    "date": "Document date",
}
DEFAULT_SORT = "-confidence"
OPEN_STATUSES = (DuplicateGroup.Status.NEW, DuplicateGroup.Status.REVIEWED)
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 10, 500
# Parameters that are not filters: dropped from the "current filter" query string of pager links.
NON_FILTER_PARAMS = ("page", "cursor")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
FieldErrors = dict[str, list[str]]
MAX_SIZE = 2**50  # a petabyte: anything above is a typo, and must fit a 64-bit column
MAX_ID = 2**62


class FilterError(ValueError):
    """Query parameters that make no sense, per field (the API's ``field_errors``)."""

    def __init__(self, field_errors: FieldErrors) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in field_errors.items()))
        self.field_errors = field_errors


@dataclass(frozen=True)
class GroupFilters:
    statuses: tuple[str, ...] = ()
    confidence_min: float | None = None
    confidence_max: float | None = None
    tag: int | None = None
    correspondent: int | None = None
    document_type: int | None = None
    size_min: int | None = None
    size_max: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    factor_min: Mapping[str, float] = field(default_factory=dict)
    off: frozenset[str] = frozenset()
    on: frozenset[str] = frozenset()
    sort: str = DEFAULT_SORT
    hide_handled: bool = False
    """Leave out the groups already handled (in a plan, tagged by a dry run): the pages set it
    for the new groups unless ``handled=show``; the API never does."""

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def scoring(self, saved: ScoringConfig) -> ScoringConfig:
        """The saved scoring with this view's factor switches."""
        if not self.off and not self.on:
            return saved
        enabled = (saved.enabled - self.off) | self.on
        return ScoringConfig(
            weights=saved.weights,
            enabled=frozenset(enabled),
            threshold=saved.threshold,
        )


# --- parsing ---------------------------------------------------------------------------------


def _values(data: Mapping[str, Any] | QueryDict, name: str) -> list[str]:
    if isinstance(data, QueryDict):
        return [v for v in data.getlist(name) if v.strip()]
    value = data.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [str(v) for v in value if str(v).strip()]
    return [str(value)]


def _one(data: Mapping[str, Any] | QueryDict, name: str) -> str:
    values = _values(data, name)
    return values[-1].strip() if values else ""


def parse_size(text: str) -> int:
    """Bytes from ``"123"``, ``"200 KB"``, ``"1.5 MB"``, ``"2G"`` (1 KB = 1024 bytes)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(text)
    unit = (match.group(2) or "").lower()[:1]
    size = int(float(match.group(1)) * _UNITS[unit])
    if size > MAX_SIZE:
        raise ValueError(text)
    return size


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(text)
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise ValueError(text)
    return value


def parse_group_filters(data: Mapping[str, Any] | QueryDict) -> tuple[GroupFilters, FieldErrors]:
    """The filters in ``data`` and the errors of the fields that were left out."""
    errors: FieldErrors = {}
    values: dict[str, Any] = {}

    def read(name: str, convert: Any, message: str) -> Any:
        raw = _one(data, name)
        if not raw:
            return None
        try:
            return convert(raw)
        except (ValueError, TypeError, OverflowError):
            errors.setdefault(name, []).append(message)
            return None

    statuses: list[str] = []
    for raw in _values(data, "status"):
        if raw == "open":
            statuses.extend(OPEN_STATUSES)
        elif raw in DuplicateGroup.Status.values:
            statuses.append(raw)
        else:
            allowed = ", ".join(["open", *DuplicateGroup.Status.values])
            errors.setdefault("status", []).append(f"'{raw}' is not a status: use {allowed}.")
    values["statuses"] = tuple(dict.fromkeys(statuses))

    fraction = "Give a number from 0 to 1."
    values["confidence_min"] = read("confidence_min", _fraction, fraction)
    values["confidence_max"] = read("confidence_max", _fraction, fraction)
    for name in ("tag", "correspondent", "document_type"):
        values[name] = read(name, _positive_int, "Give the id of one from the list.")
    size_message = "Give a size such as 250000, 200 KB or 1.5 MB."
    values["size_min"] = read("size_min", parse_size, size_message)
    values["size_max"] = read("size_max", parse_size, size_message)
    date_message = "Give a date as YYYY-MM-DD."
    values["created_from"] = read("created_from", date.fromisoformat, date_message)
    values["created_to"] = read("created_to", date.fromisoformat, date_message)

    factor_min: dict[str, float] = {}
    for name in FACTORS:
        value = read(f"min_{name}", _fraction, fraction)
        if value is not None and value > 0:
            factor_min[name] = value
    values["factor_min"] = factor_min

    for switch in ("off", "on"):
        names = _values(data, switch)
        unknown = [n for n in names if n not in FACTORS]
        if unknown:
            errors[switch] = [f"Unknown factor(s): {', '.join(unknown)}. Use {', '.join(FACTORS)}."]
        values[switch] = frozenset(n for n in names if n in FACTORS)
    if values["off"] & values["on"]:
        errors["on"] = ["A factor cannot be switched both off and on."]
        values["on"] = values["on"] - values["off"]

    sort = _one(data, "sort") or DEFAULT_SORT
    if sort.lstrip("-") not in SORTS:
        errors["sort"] = [f"Sort by one of {', '.join(SORTS)} (prefix '-' for descending)."]
        sort = DEFAULT_SORT
    values["sort"] = sort

    for low, high in (
        ("confidence_min", "confidence_max"),
        ("size_min", "size_max"),
        ("created_from", "created_to"),
    ):
        if values[low] is not None and values[high] is not None and values[low] > values[high]:
            errors.setdefault(high, []).append("The upper bound is below the lower bound.")
            values[high] = None
    return GroupFilters(**values), errors


def check_scoring(filters: GroupFilters, saved: ScoringConfig) -> FieldErrors:
    """Switches that leave no content factor on would score every pair 0."""
    scoring = filters.scoring(saved)
    if any(scoring.weight(name) > 0 for name in CONTENT_FACTORS):
        return {}
    return {"off": ["Keep at least one content factor on (text, containment, image, checksum)."]}


def parse_page_size(raw: str | None, *, default: int) -> tuple[int, str]:
    """A page size from 10 to 500, and a note when the asked one was replaced."""
    if raw is None or not str(raw).strip():
        return default, ""
    try:
        size = int(str(raw).strip())
    except ValueError:
        return default, f"'{raw}' is not a page size; showing {default} per page."
    clamped = min(MAX_PAGE_SIZE, max(MIN_PAGE_SIZE, size))
    if clamped != size:
        return clamped, (
            f"Pages hold {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE} groups; showing {clamped} per page."
        )
    return size, ""


def filter_query(data: QueryDict, *, drop: Iterable[str] = NON_FILTER_PARAMS) -> str:
    """The current filters as a query string (no page or cursor): what every link, form and
    action redirect carries so the filters survive."""
    items = [(k, v) for k in data for v in data.getlist(k) if k not in drop and v != ""]
    return urlencode(items)


# --- selecting -------------------------------------------------------------------------------


def _edge_to_primary() -> QuerySet[PairEdge]:
    """The stored pair of a member (outer row: a GroupMember) with its group's primary."""
    return PairEdge.objects.filter(
        a_id=Least(OuterRef("document_id"), OuterRef("group__primary_id")),
        b_id=Greatest(OuterRef("document_id"), OuterRef("group__primary_id")),
    )


def _space_to_free() -> Coalesce:
    """Original size of the non-primary members (what resolving the group would free).

    An aggregate over a join (one hash join of members and documents for all groups, then a
    sort) rather than a subquery per group: sorting 20k groups by it went from 20k subquery
    runs (and a JIT-compiled plan on PostgreSQL) to one pass."""
    active = Q(members__removed=False, members__is_primary=False)
    return Coalesce(Sum("members__document__original_size", filter=active), Value(0))


SORT_EXPRESSIONS: dict[str, Any] = {
    "confidence": lambda: F("confidence"),
    "members": lambda: F("member_count"),
    "size": _space_to_free,
    "date": lambda: Coalesce(F("primary__created"), Value(date(1, 1, 1))),
}


def prefiltered(filters: GroupFilters) -> QuerySet[DuplicateGroup]:
    """Every filter that does not depend on the scoring, in the database."""
    queryset = DuplicateGroup.objects.all()
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.hide_handled:
        queryset = queryset.not_handled()
    member = Q()
    if filters.tag:
        member &= Q(document__tags=filters.tag)
    if filters.correspondent:
        member &= Q(document__correspondent=filters.correspondent)
    if filters.document_type:
        member &= Q(document__document_type=filters.document_type)
    if filters.size_min is not None:
        member &= Q(document__original_size__gte=filters.size_min)
    if filters.size_max is not None:
        member &= Q(document__original_size__lte=filters.size_max)
    if filters.created_from:
        member &= Q(document__created__gte=filters.created_from)
    if filters.created_to:
        member &= Q(document__created__lte=filters.created_to)
    if member:
        queryset = queryset.filter(
            Exists(GroupMember.objects.filter(member, group=OuterRef("pk"), removed=False))
        )
    if filters.factor_min:
        passing = _edge_to_primary().filter(
            **{f"factors__{name}__gte": value for name, value in filters.factor_min.items()}
        )
        failing_member = (
            GroupMember.objects.filter(group=OuterRef("pk"), removed=False)
            .exclude(document_id=OuterRef("primary_id"))
            .filter(~Exists(passing))
        )
        queryset = queryset.filter(primary__isnull=False).filter(~Exists(failing_member))
    return queryset


def rescored_confidences(
    queryset: QuerySet[DuplicateGroup], *, scoring: ScoringConfig
) -> dict[int, float]:
    """Group pk -> the mean of its members' confidences to the primary, re-scored from the
    stored factors (one query, no documents read; a member without a stored pair scores 0).

    The member's pair is found by a join on (least, greatest) of the two document ids rather
    than a subquery per member (one hash join instead of an index probe per member: 33k at
    100k documents), and the factors are scored column-wise
    (:mod:`duplicates.rescoring`: exactly ``confidence()``, a few times faster)."""
    quote = connection.ops.quote_name
    member, group, edge = (
        quote(model._meta.db_table) for model in (GroupMember, DuplicateGroup, PairEdge)
    )
    low = "CASE WHEN m.document_id < g.primary_id THEN m.document_id ELSE g.primary_id END"
    high = "CASE WHEN m.document_id < g.primary_id THEN g.primary_id ELSE m.document_id END"
    selected, selected_params = queryset.order_by().values("pk").query.sql_with_params()
    joins = (
        f"FROM {member} m INNER JOIN {group} g ON g.id = m.group_id "
        f"LEFT OUTER JOIN {edge} e ON e.a_id = {low} AND e.b_id = {high}"
    )
    where = (
        "WHERE m.removed = %s AND g.primary_id IS NOT NULL AND m.document_id <> g.primary_id "
        f"AND m.group_id IN ({selected})"
    )
    params = [False, *selected_params]
    if connection.vendor == "postgresql":
        fast = _rescore_postgresql(joins, where, params, scoring=scoring)
        if fast is not None:
            return _mean_per_group(*fast)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT m.group_id, e.factors {joins} {where}", params)
        rows = cursor.fetchall()
    group_ids = [group_id for group_id, _factors in rows]
    factor_dicts = [
        json.loads(factors) if isinstance(factors, str | bytes) else factors
        for _group_id, factors in rows
    ]
    return _mean_per_group(group_ids, confidences(factor_dicts, config=scoring))


def _rescore_postgresql(
    joins: str, where: str, params: list[Any], *, scoring: ScoringConfig
) -> tuple[list[int], list[float]] | None:
    """The factors as float columns straight from ``jsonb`` (``jsonb_to_record``: no JSON
    text parsed in Python), or None when some stored factor dict is not an object of numbers
    and nulls (a cast fails; the caller then reads the dicts, and ``confidences`` leaves the
    odd ones to ``confidence()`` itself)."""
    columns = ", ".join(f"x.{name}::float8" for name in FACTOR_KEYS)
    record = ", ".join(f"{name} jsonb" for name in FACTOR_KEYS)
    sql = (
        f"SELECT m.group_id, {columns} {joins} "
        f"LEFT OUTER JOIN LATERAL jsonb_to_record(e.factors) AS x({record}) ON true {where}"
    )
    # a failed cast must not break a surrounding transaction: a savepoint when there is one
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard, connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    except DataError:
        return None
    if not rows:
        return [], []
    matrix = np.array([row[1:] for row in rows], dtype=float)
    if np.isinf(matrix).any():
        return None
    return [row[0] for row in rows], score_matrix(matrix, config=scoring)


def _mean_per_group(group_ids: Sequence[int], scores: Sequence[float]) -> dict[int, float]:
    """A group's confidence as the engine states it: the mean of its members' confidences to
    the primary (rounded like the stored one)."""
    totals: dict[int, list[float]] = {}
    for group_id, score in zip(group_ids, scores, strict=True):
        entry = totals.setdefault(group_id, [0.0, 0])
        entry[0] += score
        entry[1] += 1
    return {group_id: round(total / count, 6) for group_id, (total, count) in totals.items()}


class CursorError(ValueError):
    pass


def encode_cursor(*, sort: str, value: Any, pk: int) -> str:
    if isinstance(value, date):
        value = value.isoformat()
    raw = json.dumps({"s": sort, "v": value, "k": pk}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, sort: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["s"] != sort:
            raise CursorError("The cursor belongs to another sort order: start again without it.")
        value, pk = data["v"], int(data["k"])
        if sort.lstrip("-") == "date":
            value = date.fromisoformat(value)
        elif not isinstance(value, int | float) or isinstance(value, bool):
            raise CursorError("This is not a cursor from this list.")
    except CursorError:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise CursorError("This is not a cursor from this list.") from exc
    return value, pk


@dataclass
class GroupSelection:
    """The groups a filter selects, in order. In the database when the saved scoring applies;
    as a re-scored list (``ranked``: (sort value, pk) in order) when factors were switched."""

    filters: GroupFilters
    scoring: ScoringConfig
    queryset: QuerySet[DuplicateGroup] | None = None
    ranked: list[tuple[Any, int]] | None = None
    scores: dict[int, float] | None = None

    @property
    def rescored(self) -> bool:
        return self.ranked is not None

    def count(self) -> int:
        if self.ranked is not None:
            return len(self.ranked)
        assert self.queryset is not None
        return self.queryset.count()

    def pks(self) -> Sequence[int]:
        """Every selected pk in order (lazy in the database case: slice it)."""
        if self.ranked is not None:
            return [pk for _value, pk in self.ranked]
        assert self.queryset is not None
        return self.queryset.values_list("pk", flat=True)

    def after(self, cursor: str | None, *, limit: int) -> tuple[list[int], str | None]:
        """Up to ``limit`` pks after ``cursor`` and the cursor of the next slice (or None)."""
        sort = self.filters.sort
        if self.ranked is not None:
            items = self.ranked
            if cursor:
                value, pk = decode_cursor(cursor, sort=sort)
                items = [item for item in items if self._is_after(item, (value, pk))]
            window = items[: limit + 1]
        else:
            assert self.queryset is not None
            queryset = self.queryset
            if cursor:
                value, pk = decode_cursor(cursor, sort=sort)
                beyond = "sort_value__lt" if self.filters.descending else "sort_value__gt"
                queryset = queryset.filter(Q(**{beyond: value}) | Q(sort_value=value, pk__gt=pk))
            window = list(queryset.values_list("sort_value", "pk")[: limit + 1])
        page, more = window[:limit], len(window) > limit
        next_cursor = None
        if more and page:
            value, pk = page[-1]
            next_cursor = encode_cursor(sort=sort, value=value, pk=pk)
        return [pk for _value, pk in page], next_cursor

    def _is_after(self, item: tuple[Any, int], mark: tuple[Any, int]) -> bool:
        value, pk = item
        if value == mark[0]:
            return pk > mark[1]
        return value < mark[0] if self.filters.descending else value > mark[0]


def select_groups(filters: GroupFilters, *, saved: ScoringConfig | None = None) -> GroupSelection:
    """The groups matching ``filters`` in their order (see the module docstring)."""
    saved = saved or Configuration.objects.get_solo().scoring_config()
    scoring = filters.scoring(saved)
    queryset = prefiltered(filters)
    key, descending = filters.sort_key, filters.descending
    if scoring is saved:
        if filters.confidence_min is not None:
            queryset = queryset.filter(confidence__gte=filters.confidence_min)
        if filters.confidence_max is not None:
            queryset = queryset.filter(confidence__lte=filters.confidence_max)
        queryset = queryset.annotate(sort_value=SORT_EXPRESSIONS[key]()).order_by(
            "-sort_value" if descending else "sort_value", "pk"
        )
        return GroupSelection(filters=filters, scoring=scoring, queryset=queryset)

    scores = rescored_confidences(queryset, scoring=scoring)
    if key == "confidence":
        rows: Iterable[tuple[int, Any]] = queryset.values_list("pk", "confidence")
        rows = [(pk, scores.get(pk, stored)) for pk, stored in rows]
    else:
        rows = queryset.annotate(sort_value=SORT_EXPRESSIONS[key]()).values_list("pk", "sort_value")
    low, high = filters.confidence_min, filters.confidence_max
    ranked = []
    for pk, value in rows:
        score = scores.get(pk)
        if score is not None and (
            (low is not None and score < low) or (high is not None and score > high)
        ):
            continue
        ranked.append((value, pk))
    if descending:
        ranked.sort(key=lambda item: (_negate(item[0]), item[1]))
    else:
        ranked.sort()
    return GroupSelection(filters=filters, scoring=scoring, ranked=ranked, scores=scores)


def _negate(value: Any) -> Any:
    if isinstance(value, date):
        return -value.toordinal()
    return -value


def page_filters(data: Mapping[str, Any] | QueryDict) -> tuple[GroupFilters, FieldErrors]:
    """The filters as the pages apply them: new groups already handled (in a plan, tagged by a
    dry run) drop out unless ``handled=show`` asks for them."""
    filters, errors = parse_group_filters(data)
    if DuplicateGroup.Status.NEW in filters.statuses and _one(data, "handled") != "show":
        filters = replace(filters, hide_handled=True)
    return filters, errors


def matching_group_ids(data: QueryDict | Mapping[str, Any]) -> list[int]:
    """Every group pk the list's filters in ``data`` select ("select all N matching"), as the
    list page showed them."""
    filters, errors = page_filters(data)
    if errors:
        raise FilterError(errors)
    return list(select_groups(filters).pks())


# --- loading a page for display --------------------------------------------------------------


@dataclass
class FactorBar:
    name: str
    label: str
    description: str
    value: float | None
    enabled: bool
    weight: float

    @property
    def text(self) -> str:
        return "" if self.value is None else factor_text(self.name, self.value)

    @property
    def percent(self) -> int:
        """0..100 in steps of 5 (the CSS has a class per step: no inline styles under the CSP);
        a count fills the bar at 5."""
        if self.value is None:
            return 0
        share = self.value / 5 if self.name in COUNT_FACTORS else self.value
        return round(min(1.0, max(0.0, share)) * 20) * 5


@dataclass
class MemberRow:
    member: GroupMember
    document: Any
    is_primary: bool
    confidence: float | None
    factors: dict[str, float | None]
    tag_names: list[str]
    correspondent: str | None = None
    document_type: str | None = None

    def factor_items(self) -> list[tuple[str, str]]:
        return [
            (FACTOR_LABELS[name], factor_text(name, value))
            for name in FACTORS
            if (value := self.factors.get(name)) is not None
        ]

    @property
    def confidence_text(self) -> str:
        return "" if self.confidence is None else f"{self.confidence:.3f}"

    @property
    def thumbnail_url(self) -> str:
        return _url("document-thumbnail", self.document.paperless_id)

    @property
    def document_url(self) -> str:
        return _url("document-detail", self.document.paperless_id)

    @property
    def factors_html(self) -> SafeString:
        """``<li>Label 0.93</li>`` per factor present (rendered here: 500 groups of members
        through the template engine cost a second; labels are constants, values numbers)."""
        return mark_safe(  # noqa: S308 - escaped constant labels and formatted floats only
            "".join(
                f"<li>{_LABELS_HTML[name]} {factor_text(name, value)}</li>"
                for name, value in self._present()
            )
        )

    def _present(self) -> list[tuple[str, float]]:
        return [(n, v) for n in FACTORS if (v := self.factors.get(n)) is not None]

    @property
    def meta_html(self) -> SafeString:
        """Correspondent, type, date, pages and size as ``<span>``s (names escaped)."""
        doc, parts = self.document, []
        if self.correspondent:
            parts.append(escape(self.correspondent))
        if self.document_type:
            parts.append(escape(self.document_type))
        if doc.created:
            parts.append(doc.created.isoformat())
        if doc.page_count:
            parts.append(f"{doc.page_count} p.")
        if doc.original_size:
            parts.append(escape(filesizeformat(doc.original_size)))
        return mark_safe("".join(f"<span>{part}</span>" for part in parts))  # noqa: S308


@dataclass
class GroupRow:
    group: DuplicateGroup
    confidence: float
    stored_confidence: float
    members: list[MemberRow]
    breakdown: list[FactorBar]
    handled: bool = False

    @property
    def pk(self) -> int:
        return self.group.pk

    @property
    def confidence_text(self) -> str:
        return f"{self.confidence:.3f}"

    @property
    def stored_text(self) -> str:
        return f"{self.stored_confidence:.3f}"

    @property
    def changed(self) -> bool:
        return round(self.confidence, 3) != round(self.stored_confidence, 3)

    @property
    def bars_html(self) -> SafeString:
        """One ``<li>`` per factor with a value: label, bar (a width class: no inline style
        under the CSP), value; switched-off factors marked."""
        items = []
        for bar in self.breakdown:
            if bar.value is None:
                continue
            off = "" if bar.enabled else ' class="off"'
            note = "" if bar.enabled else " (off)"
            items.append(
                f'<li{off}><span class="bar-label">'
                f"{_LABELS_HTML[bar.name]}{note}</span><span class='bar'><span "
                f'class="bar-fill w-{bar.percent}"></span></span>'
                f'<span class="bar-value">{bar.text}</span></li>'
            )
        return mark_safe("".join(items))  # noqa: S308 - escaped labels, numbers

    @property
    def space_to_free(self) -> int:
        return sum(m.document.original_size or 0 for m in self.members if not m.is_primary)


_LABELS_HTML = {name: str(escape(label)) for name, label in FACTOR_LABELS.items()}
_URL_MARK = 987654321


@lru_cache(maxsize=16)
def _url_pattern(name: str) -> tuple[str, str]:
    head, _, tail = reverse(name, kwargs={"paperless_id": _URL_MARK}).partition(str(_URL_MARK))
    return head, tail


def _url(name: str, paperless_id: int) -> str:
    """``reverse`` once per URL name, not once per document (thousands on a page)."""
    head, tail = _url_pattern(name)
    return f"{head}{paperless_id}{tail}"


DOCUMENT_FIELDS = (
    "document__paperless_id", "document__title", "document__created",
    "document__original_size", "document__archive_size", "document__page_count",
)  # fmt: skip


def members_prefetch() -> Prefetch:
    """Active members with the document fields a list shows (not its hashes or custom fields),
    the correspondent's and type's names and the stored factors of the pair with the primary,
    in one query (names as values: no model instance per name)."""
    active = (
        GroupMember.objects.filter(removed=False)
        .select_related("document")
        .only("group_id", "document_id", "confidence", "is_primary", *DOCUMENT_FIELDS)
        .annotate(
            correspondent_name=F("document__correspondent__name"),
            document_type_name=F("document__document_type__name"),
            edge_factors=Subquery(
                _edge_to_primary().values("factors")[:1], output_field=JSONField()
            ),
        )
    )
    return Prefetch("members", queryset=active, to_attr="active_members")


def tag_names(document_ids: Iterable[int]) -> dict[int, list[str]]:
    """Document pk -> its tag names in name order, in one query."""
    through = Document.tags.through
    names: dict[int, list[str]] = {}
    rows = (
        through.objects.filter(document_id__in=list(document_ids))
        .order_by("tag__name")
        .values_list("document_id", "tag__name")
    )
    for document_id, name in rows:
        names.setdefault(document_id, []).append(name)
    return names


def group_row(
    group: DuplicateGroup, *, scoring: ScoringConfig, tags: Mapping[int, list[str]]
) -> GroupRow:
    members: list[MemberRow] = []
    for member in group.active_members:  # type: ignore[attr-defined]
        primary = member.document_id == group.primary_id
        factors = member.edge_factors if not primary else None
        if isinstance(factors, str):
            factors = json.loads(factors)
        factors = factors or {}
        score = None
        if not primary:
            score = confidence(factors, config=scoring) if factors else member.confidence
        members.append(
            MemberRow(
                member=member,
                document=member.document,
                is_primary=primary,
                confidence=score,
                factors=factors,
                tag_names=tags.get(member.document_id, []),
                correspondent=member.correspondent_name,
                document_type=member.document_type_name,
            )
        )
    members.sort(key=lambda m: (not m.is_primary, -(m.confidence or 0.0), m.document.pk))
    others = [m for m in members if not m.is_primary]
    scores = [m.confidence for m in others if m.confidence is not None]
    breakdown = []
    for name in FACTORS:
        values = [m.factors.get(name) for m in others]
        present = [v for v in values if v is not None]
        breakdown.append(
            FactorBar(
                name=name,
                label=FACTOR_LABELS[name],
                description=FACTOR_DESCRIPTIONS.get(name, ""),
                value=(max(present) if name in COUNT_FACTORS else min(present))
                if present
                else None,
                enabled=scoring.weight(name) > 0,
                weight=scoring.weight(name),
            )
        )
    return GroupRow(
        group=group,
        confidence=round(sum(scores) / len(scores), 6) if scores else group.confidence,
        stored_confidence=group.confidence,
        members=members,
        breakdown=breakdown,
    )


def load_groups(pks: Sequence[int], *, scoring: ScoringConfig) -> list[GroupRow]:
    """The groups ``pks`` in that order, ready to show: 3 queries whatever the page size
    (groups, members with documents, names and their pair's factors, tags)."""
    pks = list(pks)
    if not pks:
        return []
    groups = DuplicateGroup.objects.filter(pk__in=pks).prefetch_related(members_prefetch())
    by_pk = {group.pk: group for group in groups}
    tags = tag_names(m.document_id for g in by_pk.values() for m in g.active_members)
    return [group_row(by_pk[pk], scoring=scoring, tags=tags) for pk in pks if pk in by_pk]
