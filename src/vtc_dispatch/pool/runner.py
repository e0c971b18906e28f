"""Run the pool's deadlines in an asyncio program: call ``expire_due`` when one is due.

The core keeps no timer: offers store their deadlines, and this helper only
decides when to call :meth:`~vtc_dispatch.service.DispatchService.expire_due`.
It sleeps until the earliest deadline, but never longer than
``max_sleep_s``, so deadlines created while it sleeps are not missed by
more than that.  Other schedulers (a Celery beat, a Redis poller, a
simulation's event heap) call ``expire_due`` the same way.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from vtc_dispatch.errors import shown

__all__ = ["Expiring", "run_deadlines"]


class _Now(Protocol):
    def now(self) -> datetime: ...


class _Deadlines(Protocol):
    def next_deadline(self) -> datetime | None: ...


class Expiring(Protocol):
    """What the runner needs from the service (its clock and its orders' deadlines)."""

    @property
    def clock(self) -> _Now: ...

    @property
    def orders(self) -> _Deadlines: ...

    def expire_due(self) -> int:
        """Handle every deadline that is due; see the service."""
        ...


async def run_deadlines(service: Expiring, stop: asyncio.Event, *, max_sleep_s: float = 1.0) -> int:
    """Call ``service.expire_due()`` at each deadline until ``stop`` is set.

    Returns how many offers were handled in all.
    """
    if not max_sleep_s > 0:
        raise ValueError(f"max_sleep_s must be > 0, got {shown(max_sleep_s)}")
    handled = 0
    while not stop.is_set():
        handled += service.expire_due()
        deadline = service.orders.next_deadline()
        delay = max_sleep_s
        if deadline is not None:
            delay = min(delay, max(0.0, (deadline - service.clock.now()).total_seconds()))
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            continue
    return handled
