"""The websocket consumers in process, through channels' WebsocketCommunicator (Django tests)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django_demo import Demo


def run(demo: Demo, body: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``body(application)``, then close the consumers' database connection."""
    from vtc_dispatch_django.routing import websocket_application

    async def main() -> None:
        try:
            await body(websocket_application())
        finally:
            await database_sync_to_async(connections.close_all)()

    asyncio.run(main())


def connect(app: Any, demo: Demo, role: str, name: str | None) -> WebsocketCommunicator:
    """A connection to ``ws/<role>/`` as ``name`` (``None``: without a token), not yet open."""
    query = "" if name is None else f"?token={demo.tokens[name]}"
    return WebsocketCommunicator(app, f"/ws/{role}/{query}")


async def receive(comm: WebsocketCommunicator) -> dict[str, Any]:
    """The next message of ``comm``, decoded (fails after 5 s without one)."""
    message: dict[str, Any] = json.loads(await comm.receive_from(timeout=5))
    return message
