"""Run the offers' deadlines inside a one-process ASGI server: :class:`WithDeadlines`.

With the in-memory Channels layer only the server process reaches the
connected users, so the deadlines must be handled there: this wrapper
starts, at the first connection, a task of the server's event loop that
calls ``expire_due`` at each deadline (in Django's sync thread, like the
views).  With several server processes, run ``manage.py dispatch_worker``
instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import sync_to_async

from vtc_dispatch_django.runtime import get_service

__all__ = ["WithDeadlines"]

log = logging.getLogger(__name__)


def _tick(max_sleep_s: float) -> float:
    """Handle what is due; the time to sleep until the next deadline."""
    service = get_service()
    service.expire_due()
    deadline = service.orders.next_deadline()
    if deadline is None:
        return max_sleep_s
    return min(max_sleep_s, max(0.0, (deadline - service.clock.now()).total_seconds()))


class WithDeadlines:
    """An ASGI app that also runs the deadlines (see the module)."""

    def __init__(self, app: Any, *, max_sleep_s: float = 1.0) -> None:
        if not max_sleep_s > 0:
            raise ValueError(f"max_sleep_s must be > 0, got {max_sleep_s!r}")
        self.app = app
        self.max_sleep_s = max_sleep_s
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if self._task is None and scope["type"] in ("http", "websocket"):
            self._task = asyncio.get_running_loop().create_task(self._run())
        return await self.app(scope, receive, send)

    async def _run(self) -> None:
        tick = sync_to_async(_tick, thread_sensitive=True)
        while True:
            try:
                delay = await tick(self.max_sleep_s)
            except Exception:  # the loop must outlive a bad configuration or a lost database
                log.exception("vtc-dispatch: handling the offer deadlines failed")
                delay = self.max_sleep_s
            await asyncio.sleep(delay)
