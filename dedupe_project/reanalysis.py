"""Settings that change how pairs are scored take effect by re-scoring the stored pairs.

The analysis compares the scoring it finds stored with the configured one and re-scores the stored
factors (no texts, no signatures) when they differ, so a change on the settings page or through the
API only needs an analysis to be queued.
"""

from __future__ import annotations

from typing import Any

from dedupe_project.models import Configuration
from duplicates.models import scoring_key
from processing.models import Job


def scoring_fingerprint(config: Configuration) -> str:
    """Weights and switches (which re-score pairs) and the threshold (which regroups them)."""
    scoring = config.scoring_config()
    return f"{scoring_key(scoring)}@{scoring.threshold}"


def queue_rescore_if_changed(*, before: str, config: Configuration, user: Any = None) -> Job | None:
    """Queue an analysis when the threshold, weights or switched factors changed. None when
    nothing changed, or when an analysis is already queued or running (the next one re-scores)."""
    from duplicates.analysis import AnalysisAlreadyRunning, start_analysis

    if scoring_fingerprint(config) == before:
        return None
    try:
        return start_analysis(full=False, user=user)
    except AnalysisAlreadyRunning:
        return None
