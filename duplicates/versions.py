"""Keeping a duplicate as a file version of the kept document (Paperless 3): the Paperless steps.

``duplicates/actions.py`` runs them as one more kind of plan item, with the same re-checks,
checkpoints, audit and dry run as a deletion:

1. the duplicate's original file is downloaded (``/download/?original=true``) and sent to
   ``POST /api/documents/<kept>/update_version/`` with a ``version_label`` saying where it came
   from (:func:`send_version`);
2. Paperless consumes it in a task; we wait for the task and then for the kept document to list a
   version (not its root) whose checksum is the duplicate's file (:func:`wait_for_version`). Only
   then is the duplicate moved to the trash. A failed task, or no version after
   ``VERSION_TIMEOUT``, leaves the duplicate where it is.

Only a server with versions (API 10) is offered this: :func:`versions_unavailable` says why not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from documents.paperless import NotFound, PaperlessClient, PaperlessError

VERSION_TIMEOUT = timedelta(minutes=3)
POLL_SECONDS = (0.25, 0.5, 1.0, 2.0)
LABEL_LENGTH = 64  # Paperless's limit


class VersionNotAdded(PaperlessError):
    """Paperless did not add the version (its task failed, or it never showed up)."""


def version_label(*, paperless_id: int, title: str) -> str:
    """Where the version came from, within Paperless's 64 characters."""
    label = f"Duplicate #{paperless_id}: {title}".strip()
    return label if len(label) <= LABEL_LENGTH else label[: LABEL_LENGTH - 1] + "…"


def versions_unavailable(*, api_version: int | None) -> str:
    """Why keeping as a version is not offered ("" when it is)."""
    if api_version is None:
        return (
            "It is not known yet whether your Paperless keeps document versions: sync once, or "
            "test the connection."
        )
    if api_version < 10:
        return (
            f"Your Paperless speaks API {api_version} (Paperless-ngx 2.x), which has no document "
            "versions; Paperless 3 (API 10) adds them. Delete or tag the duplicates instead."
        )
    return ""


def send_version(client: PaperlessClient, *, duplicate_id: int, kept_id: int, label: str) -> str:
    """Download the duplicate's original file and add it to the kept document as a new version;
    returns Paperless's task id."""
    original = client.download(duplicate_id, original=True)
    return client.update_version(
        kept_id,
        content=original.content,
        filename=original.filename or f"document-{duplicate_id}",
        mime_type=(original.content_type or "application/octet-stream").split(";")[0],
        label=label,
    )


def listed_version(kept: dict[str, Any], *, checksum: str) -> dict[str, Any] | None:
    """The kept document's version (not its root) whose file has ``checksum``, if listed."""
    matches = [
        version
        for version in kept.get("versions") or ()
        if not version.get("is_root") and version.get("checksum") == checksum
    ]
    return matches[-1] if matches else None


def wait_for_version(
    client: PaperlessClient,
    *,
    kept_id: int,
    checksum: str,
    task_id: str | None,
    check_cancelled: Callable[[], None] = lambda: None,
    timeout: timedelta = VERSION_TIMEOUT,
) -> dict[str, Any]:
    """Wait until the kept document lists the new version (the duplicate's checksum) and return
    its entry. Raises :class:`VersionNotAdded` when the task failed or time ran out, and
    ``NotFound`` when the kept document is gone."""
    deadline = time.monotonic() + timeout.total_seconds()
    polls = 0
    while True:
        kept = client.get_document(kept_id)
        version = listed_version(kept, checksum=checksum)
        if version is not None:
            return version
        if task_id:
            task = client.get_task(task_id)
            if task is not None and task.get("status") == "failure":
                result = task.get("result_data") or {}
                raise VersionNotAdded(
                    "Paperless could not add the version: "
                    f"{result.get('error_message') or 'its consume task failed'}."
                )
        if time.monotonic() > deadline:
            raise VersionNotAdded(
                f"Paperless did not list the new version within {timeout.total_seconds():.0f} s"
                + (f" (task {task_id})" if task_id else "")
                + "; the duplicate was left where it is. Look at the kept document in Paperless."
            )
        check_cancelled()
        time.sleep(POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)])
        polls += 1


__all__ = [
    "NotFound",
    "VersionNotAdded",
    "listed_version",
    "send_version",
    "version_label",
    "versions_unavailable",
    "wait_for_version",
]
