"""Our own Prometheus metrics, read from the database at scrape time.

The web process serves /metrics, but syncs and analyses run in worker processes (often other
containers), so counters kept in memory would be lost or split between processes. The database is
the one place every process writes to, so the collector asks it: a few COUNT queries per scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Max
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)


class DedupeCollector(Collector):
    NAMES = (
        "dedupe_jobs",
        "dedupe_last_success_timestamp_seconds",
        "dedupe_documents",
        "dedupe_documents_with_sync_errors",
        "dedupe_duplicate_groups",
    )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """Names only, so registering at start-up runs no query."""
        for name in self.NAMES:
            yield GaugeMetricFamily(name, name)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            yield from self._jobs()
            yield from self._library()
        except DatabaseError:
            logger.warning("metrics: database unavailable", exc_info=True)

    def _jobs(self) -> Iterator[GaugeMetricFamily]:
        from processing.models import Job

        jobs = GaugeMetricFamily(
            "dedupe_jobs", "Jobs by kind and status.", labels=["kind", "status"]
        )
        for row in Job.objects.values("kind", "status").annotate(n=Count("id")):
            jobs.add_metric([row["kind"], row["status"]], row["n"])
        yield jobs
        last = GaugeMetricFamily(
            "dedupe_last_success_timestamp_seconds",
            "When the last successful job of each kind finished.",
            labels=["kind"],
        )
        finished = (
            Job.objects.filter(status=Job.Status.SUCCEEDED)
            .values("kind")
            .annotate(at=Max("finished_at"))
        )
        for row in finished:
            if row["at"] is not None:
                last.add_metric([row["kind"]], row["at"].timestamp())
        yield last

    def _library(self) -> Iterator[GaugeMetricFamily]:
        from documents.models import Document
        from duplicates.models import DuplicateGroup

        documents = GaugeMetricFamily("dedupe_documents", "Documents mirrored from Paperless.")
        documents.add_metric([], Document.objects.count())
        yield documents
        errors = GaugeMetricFamily(
            "dedupe_documents_with_sync_errors", "Documents whose last sync recorded an error."
        )
        errors.add_metric([], Document.objects.exclude(sync_error="").count())
        yield errors
        groups = GaugeMetricFamily(
            "dedupe_duplicate_groups", "Duplicate groups by status.", labels=["status"]
        )
        for row in DuplicateGroup.objects.values("status").annotate(n=Count("id")):
            groups.add_metric([row["status"]], row["n"])
        yield groups


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(DedupeCollector())
        _registered = True
