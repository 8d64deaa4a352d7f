"""WebSocket pushing live job progress to pages.

The socket is for logged-in accounts allowed to read (the ASGI stack authenticates it and checks
its origin; an account without the read permission is closed with 4403).
On each job event the consumer re-reads the job row and sends the rendered progress fragment; the
htmx ws extension swaps it into the page by its id.
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
        html = await self._render(event["job_id"])
        if html:
            await self.send(text_data=html)

    @database_sync_to_async
    def _render(self, job_id: int) -> str:
        job = Job.objects.filter(pk=job_id).select_related("created_by").first()
        if job is None:
            return ""
        return render_to_string("processing/partials/job_progress.html", {"job": job, "oob": True})
