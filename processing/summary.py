"""What a finished job did, in words a person reads: one sentence and the next step ("32 groups
are new: review them"), and durations rounded to words ("24 seconds", "3 minutes 5 seconds")
instead of ``0:00:24.713971``. Used by the job page, the dashboard and the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.urls import reverse

from processing.models import Job


@dataclass(frozen=True)
class Summary:
    sentence: str
    next_url: str = ""
    next_label: str = ""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def duration_words(value: timedelta | float | None) -> str:
    """A duration rounded to what matters: "under a second", "24 seconds", "3 minutes 5
    seconds", "2 hours 4 minutes"."""
    if value is None:
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return "under a second"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return " ".join(
            [_plural(hours, "hour"), *([_plural(minutes, "minute")] if minutes else [])]
        )
    if minutes:
        return " ".join(
            [_plural(minutes, "minute"), *([_plural(seconds, "second")] if seconds else [])]
        )
    return _plural(seconds, "second")


def _sync(result: dict[str, Any]) -> Summary:
    parts = [
        f"{result.get(name, 0)} {label}"
        for name, label in (("created", "new"), ("updated", "changed"), ("deleted", "deleted"))
        if result.get(name)
    ]
    seen = sum(int(result.get(name) or 0) for name in ("created", "updated", "unchanged"))
    sentence = f"{_plural(seen, 'document')} checked in Paperless"
    sentence += f": {', '.join(parts)}." if parts else ", nothing changed."
    if result.get("errors"):
        sentence += f" {_plural(int(result['errors']), 'document')} could not be read."
        return Summary(sentence, reverse("document-list"), "see the documents")
    if parts:
        return Summary(
            sentence + " The changed documents are analysed next.",
            reverse("group-list"),
            "see the duplicate groups",
        )
    return Summary(sentence, reverse("group-list"), "see the duplicate groups")


def _analysis(result: dict[str, Any]) -> Summary:
    from duplicates.models import DuplicateGroup

    documents = int(result.get("documents") or result.get("compared") or 0)
    new = DuplicateGroup.objects.filter(status=DuplicateGroup.Status.NEW).not_handled().count()
    sentence = f"{_plural(documents, 'document')} analysed"
    if not new:
        return Summary(sentence + "; no new duplicate groups wait for review.")
    return Summary(
        f"{sentence}; {_plural(new, 'group')} of duplicates wait for review.",
        reverse("review-start"),
        "review them",
    )


def _action(result: dict[str, Any]) -> Summary:
    from duplicates.models import Plan

    plan_id = result.get("plan")
    plan = Plan.objects.filter(pk=plan_id).first() if plan_id else None
    done, skipped, failed = (int(result.get(k) or 0) for k in ("done", "skipped", "failed"))
    sentence = f"{_plural(done, 'item')} done"
    if skipped:
        sentence += f", {skipped} skipped"
    if failed:
        sentence += f", {failed} failed"
    if plan is None:
        return Summary(sentence + ".")
    what = "Dry run" if plan.dry_run else plan.get_action_display()
    return Summary(
        f"{what} (plan #{plan.pk}): {sentence}.",
        reverse("plan-detail", args=[plan.pk]),
        "see every document of the plan",
    )


def summarise(job: Job) -> Summary | None:
    """The summary of a finished job (None while it runs or when it failed: the error says)."""
    if job.status != Job.Status.SUCCEEDED:
        return None
    result = job.result if isinstance(job.result, dict) else {}
    if job.kind == Job.Kind.SYNC:
        return _sync(result)
    if job.kind == Job.Kind.ANALYSIS:
        return _analysis(result)
    if job.kind == Job.Kind.ACTION:
        return _action(result)
    return Summary(f"{job.get_kind_display()} finished.")
