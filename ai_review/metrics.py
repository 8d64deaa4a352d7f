"""AI figures on /metrics, read from the token ledger at scrape time (the runs happen in worker
processes; the database is where every process writes)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)


class AiCollector(Collector):
    NAMES = (
        "dedupe_ai_tokens",
        "dedupe_ai_cost_usd",
        "dedupe_ai_month_tokens",
        "dedupe_ai_month_cost_usd",
        "dedupe_ai_month_budget_usd",
        "dedupe_ai_last_run_tokens",
        "dedupe_ai_last_run_cost_usd",
        "dedupe_ai_suggestions",
    )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for name in self.NAMES:
            yield GaugeMetricFamily(name, name)

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        try:
            yield from self._collect()
        except DatabaseError:
            logger.warning("metrics: database unavailable", exc_info=True)

    def _collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        from ai_review import budget
        from ai_review.models import ApiCall, ReviewRun, Suggestion
        from dedupe_project.models import Configuration

        every = budget.all_time_totals()
        tokens = CounterMetricFamily(
            "dedupe_ai_tokens", "Tokens the AI endpoint reported, ever.", labels=["kind"]
        )
        tokens.add_metric(["prompt"], every["prompt_tokens"])
        tokens.add_metric(["completion"], every["completion_tokens"])
        yield tokens
        cost = CounterMetricFamily("dedupe_ai_cost_usd", "What the AI answers cost, ever (USD).")
        cost.add_metric([], float(every["cost"]))
        yield cost

        month = ApiCall.objects.this_month().totals()
        month_tokens = GaugeMetricFamily(
            "dedupe_ai_month_tokens", "Tokens used this calendar month.", labels=["kind"]
        )
        month_tokens.add_metric(["prompt"], month["prompt_tokens"])
        month_tokens.add_metric(["completion"], month["completion_tokens"])
        yield month_tokens
        month_cost = GaugeMetricFamily("dedupe_ai_month_cost_usd", "AI cost this month (USD).")
        month_cost.add_metric([], float(month["cost"]))
        yield month_cost
        limit = Configuration.objects.get_solo().ai_monthly_budget
        if limit is not None:
            budget_gauge = GaugeMetricFamily(
                "dedupe_ai_month_budget_usd", "The monthly AI budget (USD)."
            )
            budget_gauge.add_metric([], float(limit))
            yield budget_gauge

        last = ReviewRun.objects.exclude(status=ReviewRun.Status.DRAFT).first()
        if last is not None:
            usage = last.usage()
            run_tokens = GaugeMetricFamily(
                "dedupe_ai_last_run_tokens",
                "Tokens of the most recent AI run.",
                labels=["run", "kind"],
            )
            run_tokens.add_metric([str(last.pk), "prompt"], usage["prompt_tokens"])
            run_tokens.add_metric([str(last.pk), "completion"], usage["completion_tokens"])
            yield run_tokens
            run_cost = GaugeMetricFamily(
                "dedupe_ai_last_run_cost_usd", "Cost of the most recent AI run.", labels=["run"]
            )
            run_cost.add_metric([str(last.pk)], float(usage["cost"]))
            yield run_cost

        suggestions = GaugeMetricFamily(
            "dedupe_ai_suggestions", "Documents of AI runs by status.", labels=["status"]
        )
        for row in Suggestion.objects.values("status").annotate(n=Count("pk")):
            suggestions.add_metric([row["status"]], row["n"])
        yield suggestions


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(AiCollector())
        _registered = True
