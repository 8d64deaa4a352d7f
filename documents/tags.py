"""Tags we manage in Paperless ourselves: the dry-run tag."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from documents.connection import get_client
from documents.models import Tag


def mirror_tag(raw: dict[str, Any]) -> Tag:
    """Keep our copy of one Paperless tag current (its name is what pages show)."""
    tag, _ = Tag.objects.update_or_create(
        paperless_id=raw["id"],
        defaults={
            "name": raw.get("name", ""),
            "color": raw.get("color") or "",
            "updated_at": timezone.now(),
        },
    )
    return tag


def ensure_dry_run_tag(*, name: str | None = None, user: Any = None) -> Tag:
    """The dry-run tag in Paperless, created when missing (matching_algorithm 0: Paperless must
    never put it on documents by itself), remembered in the configuration and mirrored here.
    Raises the client's ``PaperlessError`` subclasses or ``ConnectionNotConfigured``."""
    from dedupe_project.models import Configuration

    config = Configuration.objects.get_solo()
    wanted = (name or config.dry_run_tag_name).strip()
    with get_client() as client:
        raw, _created = client.ensure_tag(wanted)
    tag = mirror_tag(raw)
    config.apply({"dry_run_tag_id": tag.paperless_id, "dry_run_tag_name": tag.name}, user=user)
    return tag
