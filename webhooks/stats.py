"""The webhooks' figures for the dashboard, the set-up and events pages and ``/api/webhooks``."""

from __future__ import annotations

from datetime import timedelta
from statistics import median
from typing import Any

from django.db.models import Count
from django.utils import timezone

from webhooks.models import WebhookEvent, WebhookSettings

RECENT = timedelta(days=7)


def webhook_stats() -> dict[str, Any]:
    """Deliveries of the last 7 days by outcome, duplicates they found, the last delivery and
    the median seconds from a delivery to its document analysed."""
    now = timezone.now()
    recent = WebhookEvent.objects.filter(received_at__gte=now - RECENT)
    by_status = dict(recent.order_by().values_list("status").annotate(n=Count("pk")))
    last = WebhookEvent.objects.order_by("-received_at").first()
    times = [
        (analysed - received).total_seconds()
        for received, analysed in recent.filter(analysed_at__isnull=False)
        .order_by("-received_at")
        .values_list("received_at", "analysed_at")[:200]
    ]
    setup = WebhookSettings.objects.get_solo()
    return {
        "set_up": setup.set_up_at is not None,
        "received_7d": sum(by_status.values()),
        "by_status": {status: by_status.get(status, 0) for status in WebhookEvent.Status.values},
        "failed_7d": by_status.get(WebhookEvent.Status.FAILED, 0),
        "open": WebhookEvent.objects.filter(status__in=WebhookEvent.OPEN_STATUSES).count(),
        "duplicates_7d": recent.filter(duplicate_group_id__isnull=False).count(),
        "duplicates_total": WebhookEvent.objects.filter(duplicate_group_id__isnull=False)
        .values("paperless_id")
        .distinct()
        .count(),
        "last_received_at": last.received_at if last else None,
        "median_seconds_to_analysed": round(median(times), 2) if times else None,
    }


def cached_webhook_stats() -> dict[str, Any]:
    """:func:`webhook_stats` for the dashboard, shared a while with its other figures (and
    forgotten with them: by a person's change, or a job ending, such as the webhook run that
    handled the deliveries)."""
    from duplicates.stats import shared_figures

    return shared_figures("webhooks", webhook_stats)
