"""Count Redis round trips: how many times the process wrote a request and waited for Redis.

Every request redis-py writes goes through one ``send_packed_command``
call of its connection: a command, a script (``EVALSHA``), a whole
pipeline or MULTI/EXEC transaction.  :func:`count_round_trips` counts
those calls in the whole process (every client, every thread) while it is
active: for benchmarks and tests, not for production code paths.

>>> from decimal import Decimal
>>> from vtc_dispatch_redis import RedisStorage
>>> storage = RedisStorage.from_url("redis://127.0.0.1:6379/0", prefix="vtc-doc:{rt}")
>>> storage.wallet.credit("alice", Decimal(100), "XAF")  # loads the script on the server
>>> with count_round_trips() as trips:
...     storage.wallet.credit("alice", Decimal(100), "XAF")
...     _ = storage.wallet.balance("alice", "XAF")
>>> trips.n
2
>>> storage.clear()
1
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.connection import AbstractConnection

__all__ = ["RoundTrips", "count_round_trips"]


class RoundTrips:
    """The running count of :func:`count_round_trips` (``n``)."""

    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        """One more request written."""
        with self._lock:
            self.n += 1


@contextmanager
def count_round_trips() -> Iterator[RoundTrips]:
    """Count every request written to Redis by this process until the block ends."""
    counter = RoundTrips()
    original: Any = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        counter.add()
        original(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
