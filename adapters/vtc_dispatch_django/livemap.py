"""The staff's live map over a websocket: ``ws/ops/map/``, a snapshot then batched updates.

Every process that runs commands feeds the map: its service's events go
to the process's :class:`~vtc_dispatch.livemap.LiveMapFeed`
(:func:`~vtc_dispatch_django.runtime.live_map_feed`), which gathers them
for ``VTC_DISPATCH["LIVE_MAP_WINDOW_MS"]`` (500 ms) and hands one
``map_update`` message per window to :func:`publish`: a message to the
Channels group :data:`MAP_GROUP`, which every open map socket of every
process joins.  With thousands of drivers moving, a page thus gets a few
messages a second, each with the latest position of every driver who
moved (see :mod:`vtc_dispatch.livemap`).

:class:`LiveMapConsumer` needs a staff user (the admin's session cookie,
or a token; :func:`~vtc_dispatch_django.auth.staff_socket`): the handshake
is refused with 4401 without a user, 4403 for a user who is not staff.
It sends first a ``map_snapshot`` (every online driver and active order,
read from the stores), then the ``map_update`` messages, and a fresh
snapshot every ``VTC_DISPATCH["LIVE_MAP_RESYNC_S"]`` (30 s; changes no
event tells, such as a closed connection, show then) or when the page
sends ``{"type": "snapshot"}``.  Any other message is answered with an
``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.db import connections

from vtc_dispatch.livemap import map_snapshot
from vtc_dispatch.presentation import MapUpdateMessage
from vtc_dispatch.wire import ErrorMessage
from vtc_dispatch_django.auth import is_staff
from vtc_dispatch_django.notifier import channel_layer, group_name
from vtc_dispatch_django.runtime import dispatch_setting, get_service

__all__ = ["MAP_EVENT", "MAP_GROUP", "LiveMapConsumer", "publish", "snapshot_text"]

MAP_GROUP = group_name("ops", "map")
"""The Channels group of the open map sockets."""
MAP_EVENT = "vtc.map"
"""The Channels event type of a batch (consumer method ``vtc_map``)."""

UNAUTHENTICATED = 4401
NOT_ALLOWED = 4403
_SEND_TIMEOUT_S = 10.0

# The event loop of this process's map sockets: a batch is sent from the
# feed's thread into it, where the in-memory layer's queues live.
_loop: asyncio.AbstractEventLoop | None = None


def publish(update: MapUpdateMessage) -> None:
    """Send a batch to every map socket: the feed's ``publish``, called in its thread (never
    in the sockets' event loop, which it waits for)."""
    event = {"type": MAP_EVENT, "text": update.model_dump_json(), "flushed": time.time()}
    layer = channel_layer()
    loop = _loop
    if loop is not None and loop.is_running():
        sent = asyncio.run_coroutine_threadsafe(layer.group_send(MAP_GROUP, event), loop)
        sent.result(_SEND_TIMEOUT_S)
    elif not isinstance(layer, InMemoryChannelLayer):
        async_to_sync(layer.group_send)(MAP_GROUP, event)
    # Else no socket of this process listens, and an in-memory layer reaches no other.


def snapshot_text() -> str:
    """The ``map_snapshot`` message, as JSON text (reads the stores)."""
    snapshot = map_snapshot(
        get_service(),
        max_drivers=dispatch_setting("LIVE_MAP_MAX_DRIVERS", 10_000),
        max_orders=dispatch_setting("LIVE_MAP_MAX_ORDERS", 2_000),
    )
    return snapshot.model_dump_json()


def _snapshot_apart() -> str:
    """:func:`snapshot_text` off the thread the views share (thousands of rows are read
    and written), its database connection closed after it."""
    try:
        return snapshot_text()
    finally:
        connections.close_all()


class LiveMapConsumer(AsyncWebsocketConsumer):
    """``ws/ops/map/``: the live map of the staff (see the module)."""

    async def connect(self) -> None:
        global _loop
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        if not is_staff(user):
            await self.close(code=NOT_ALLOWED)
            return
        _loop = asyncio.get_running_loop()
        self.since = time.time()
        await self.channel_layer.group_add(MAP_GROUP, self.channel_name)
        self.joined = True
        await self.accept()
        await self.send_snapshot()
        self.resync = asyncio.create_task(self._resync(dispatch_setting("LIVE_MAP_RESYNC_S", 30)))

    async def disconnect(self, code: int) -> None:
        resync: asyncio.Task[None] | None = getattr(self, "resync", None)
        if resync is not None:
            resync.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await resync
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(MAP_GROUP, self.channel_name)

    async def send_snapshot(self) -> None:
        """A fresh snapshot; the batches published before it was read are dropped."""
        started = time.time()
        text = await asyncio.to_thread(_snapshot_apart)
        self.since = started
        await self.send(text_data=text)

    async def _resync(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            await self.send_snapshot()

    async def vtc_map(self, event: dict[str, Any]) -> None:
        """A batch of the map's changes (from :func:`publish`)."""
        if event["flushed"] >= self.since:
            await self.send(text_data=event["text"])

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """``{"type": "snapshot"}`` asks for a fresh snapshot; nothing else is expected."""
        try:
            data = json.loads(text_data or bytes_data or b"")
        except (ValueError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict) and data.get("type") == "snapshot":
            await self.send_snapshot()
            return
        error = ErrorMessage(
            id=None,
            error="InvalidMessage",
            detail='the live map expects only {"type": "snapshot"}',
            field="type",
        )
        await self.send(text_data=error.model_dump_json())
