"""Worker processes take the CPU only when the web processes leave it idle."""

from __future__ import annotations

import os

import dramatiq
from django.conf import settings


class LowerPriority(dramatiq.Middleware):
    """Each worker process lowers its CPU priority (``DEDUPE_WORKER_NICENESS``) when it boots:
    a sync or an analysis then takes the cores only when the web processes leave them idle, so
    pages keep answering quickly while it runs. Only separate workers (``rundramatiq``); the
    embedded worker shares the web process."""

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        if settings.WORKER_NICENESS:
            os.nice(settings.WORKER_NICENESS)
