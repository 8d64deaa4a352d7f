"""The dashboard's figures, shared by the dashboard page and ``GET /api/stats``: documents, groups
by status, what resolving the open groups would remove (documents and bytes), the last sync and
analysis, and a histogram of the open groups' confidence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, F, FloatField, OuterRef, Sum, Value
from django.db.models.functions import Coalesce, Floor, Least

from documents.models import Document, SyncState
from duplicates.models import AnalysisStatus, DuplicateGroup, GroupMember
from processing.models import Job

OPEN_STATUSES = (DuplicateGroup.Status.NEW, DuplicateGroup.Status.REVIEWED)
BINS = 20  # histogram bins of 0.05


@dataclass(frozen=True)
class HistogramBin:
    low: float
    high: float
    count: int
    percent: int  # bar height, 0..100 in steps of 5 (CSS classes, no inline style under the CSP)

    @property
    def label(self) -> str:
        return f"{self.low:.2f} to {self.high:.2f}"

    @property
    def query(self) -> str:
        """The groups list's filter for this bar (upper bound exclusive but for the last bin)."""
        high = self.high if self.high >= 1.0 else self.high - 0.0001
        return f"status=open&confidence_min={self.low:.2f}&confidence_max={high:.4f}"


def removable_documents() -> Any:
    """Documents that resolving every open group would remove: active members other than the
    primary of a new or reviewed group."""
    member = GroupMember.objects.filter(
        document=OuterRef("pk"),
        removed=False,
        group__status__in=OPEN_STATUSES,
        group__primary__isnull=False,
    ).exclude(document_id=F("group__primary_id"))
    return Document.objects.filter(Exists(member))


def confidence_histogram() -> list[HistogramBin]:
    rows = (
        DuplicateGroup.objects.filter(status__in=OPEN_STATUSES)
        .annotate(
            bin=Least(Floor(F("confidence") * BINS), Value(BINS - 1.0), output_field=FloatField())
        )
        .order_by()
        .values("bin")
        .annotate(n=Count("pk"))
        .values_list("bin", "n")
    )
    counts = {int(b): n for b, n in rows if b is not None}
    if not counts:
        return []
    first = max(0, min(counts))
    peak = max(counts.values())
    return [
        HistogramBin(
            low=i / BINS,
            high=(i + 1) / BINS,
            count=counts.get(i, 0),
            percent=round(counts.get(i, 0) / peak * 20) * 5,
        )
        for i in range(first, BINS)
    ]


def dashboard_stats() -> dict[str, Any]:
    by_status = {status: 0 for status in DuplicateGroup.Status.values}
    for status, n in (
        DuplicateGroup.objects.order_by().values_list("status").annotate(n=Count("pk"))
    ):
        by_status[status] = n
    removable = removable_documents().aggregate(
        count=Count("pk"),
        bytes=Sum(Coalesce("original_size", 0) + Coalesce("archive_size", 0)),
    )
    sync = SyncState.objects.get_solo()
    analysis = AnalysisStatus.objects.get_solo()
    last_job = Job.objects.filter(kind=Job.Kind.ANALYSIS).order_by("-created_at", "-pk").first()
    return {
        "documents": Document.objects.count(),
        "groups": sum(by_status.values()),
        "groups_open": by_status["new"] + by_status["reviewed"],
        "groups_by_status": by_status,
        "documents_in_open_groups": GroupMember.objects.filter(
            removed=False, group__status__in=OPEN_STATUSES
        ).count(),
        "removable_documents": removable["count"] or 0,
        "removable_bytes": removable["bytes"] or 0,
        "last_sync_at": sync.last_success_finished_at,
        "last_analysis_at": analysis.last_run_at,
        "last_full_analysis_at": analysis.last_full_at,
        "last_analysis_job": last_job,
        "histogram": confidence_histogram(),
    }


STATS_CACHE_KEY = "dashboard-stats"
SHARED_FIGURES = ("duplicates", "webhooks")
"""The sets of dashboard figures kept in the cache; :func:`forget_dashboard_stats` forgets all."""


def shared_figures(name: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()``, kept for ``DEDUPE_STATS_CACHE_SECONDS`` (default 10) in the cache (Redis
    in production, so every web process shares it) under ``name`` (one of
    :data:`SHARED_FIGURES`). The dashboard's aggregates (over the groups, members and
    documents, and over the webhook deliveries) were a third of its time, recomputed for every
    visitor and every poll. Whatever a person changes through a request, and every job that
    ends, forgets them at once (:func:`forget_dashboard_stats`); only what runs meanwhile (a
    sync's growing counts, webhook deliveries before their job ends) can lag, by at most those
    seconds."""
    if name not in SHARED_FIGURES:
        raise ValueError(f"{name!r} is not in SHARED_FIGURES, so nothing would forget it")
    seconds = settings.STATS_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    key = f"{STATS_CACHE_KEY}:{name}"
    data = cache.get(key)
    if data is None:
        data = compute()
        cache.set(key, data, seconds)
    return dict(data)


def cached_dashboard_stats() -> dict[str, Any]:
    """:func:`dashboard_stats`, shared a while (:func:`shared_figures`)."""
    return shared_figures("duplicates", dashboard_stats)


def forget_dashboard_stats() -> None:
    cache.delete_many([f"{STATS_CACHE_KEY}:{name}" for name in SHARED_FIGURES])


def isoformat(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
