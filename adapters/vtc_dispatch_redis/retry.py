"""Where a command collided with another worker: run it again.

Across processes the service's lock no longer serialises commands: two
workers may load one order, and the second save raises
:class:`~vtc_dispatch.errors.ConcurrencyConflict` with nothing written.
Every service command starts by reading what it needs, so running the
whole command again is the retry: it sees the other worker's change and
either does its work on top of it or fails with the domain error that is
now right (the offer was taken, the order cancelled...).  Workers wrap
their calls in :func:`retry_conflicts`; the adapter's ports never retry by
themselves, since only the command knows what to read again.

>>> calls = []
>>> def flaky() -> str:
...     calls.append(1)
...     if len(calls) < 3:
...         raise ConcurrencyConflict("order 'o1' is at version 3, not 2")
...     return "done"
>>> retry_conflicts(flaky, backoff_s=0.0), len(calls)
('done', 3)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from vtc_dispatch.errors import ConcurrencyConflict

__all__ = ["retry_conflicts"]

T = TypeVar("T")


def retry_conflicts(command: Callable[[], T], *, attempts: int = 8, backoff_s: float = 0.002) -> T:
    """Call ``command()``, again after each ConcurrencyConflict (use a lambda or partial).

    Waits a random time up to ``backoff_s * 2**attempt`` between tries
    (so colliding workers spread out); after ``attempts`` tries the last
    conflict is raised.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    for attempt in range(attempts):
        try:
            return command()
        except ConcurrencyConflict:
            if attempt == attempts - 1:
                raise
            if backoff_s:
                time.sleep(random.uniform(0, backoff_s * 2**attempt))
    raise AssertionError("unreachable")
