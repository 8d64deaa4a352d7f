"""WebSocket pushing live job progress to pages.

The socket is for logged-in accounts allowed to read (the ASGI stack authenticates it and checks
its origin; an account without the read permission is closed with 4403).
On each job event the consumer renders the progress fragment from the state the event carries
(status, progress, message) and the job's row for the rest; the htmx ws extension swaps it into
the page by its id.
"""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from dedupe_project.access import READ
from processing import events
from processing.models import Job

UNAUTHORISED = 4401
SNAPSHOT_FIELDS = ("status", "progress_done", "progress_total", "message")
FORBIDDEN = 4403


class JobProgressConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHORISED)
            return
        if not await database_sync_to_async(READ.allows)(user):
            await self.close(code=FORBIDDEN)
            return
        events.register_web_loop(asyncio.get_running_loop())
        await self.channel_layer.group_add(events.JOBS_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(events.JOBS_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; anything they send is ignored."""

    async def job_update(self, event: dict) -> None:
        html = await self._render(event)
        if html:
            await self.send(text_data=html)

    @database_sync_to_async
    def _render(self, event: dict) -> str:
        """The job's fragment as the event describes it (status, progress, message), the rest from
        its row: a consumer that falls behind a quick job still shows each step, in order."""
        job = Job.objects.filter(pk=event["job_id"]).select_related("created_by").first()
        if job is None:
            return ""
        for name in SNAPSHOT_FIELDS:
            if name in event:
                setattr(job, name, event[name])
        return render_to_string("processing/partials/job_progress.html", {"job": job, "oob": True})
