"""Drivers' offer statistics and customers' rating totals in Redis.

Keys: ``P:st:<driver>`` hash of counts per outcome; ``P:sr:<driver>`` list
of the recent answers (``<microseconds>|<outcome>``, oldest first, trimmed
to the window at each record); ``P:rt:<party>`` hash ``s`` sum of stars,
``n`` number of ratings.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from vtc_dispatch.pool.stats import DriverStats, Outcome
from vtc_dispatch_redis.connection import RedisClient, RedisSettings, from_us, guarded, to_us

__all__ = ["OUTCOMES", "RedisRatingStore", "RedisStatsStore"]

OUTCOMES = ("offered", "accepted", "refused", "expired", "cancelled_after_accept")
"""The outcomes of an offer that the statistics count."""

# KEYS[1] counts, KEYS[2] recent; ARGV outcome, at (us), horizon (us)
_RECORD = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if ARGV[1] ~= 'offered' then
  redis.call('RPUSH', KEYS[2], ARGV[2] .. '|' .. ARGV[1])
  local horizon = tonumber(ARGV[3])
  while true do
    local first = redis.call('LINDEX', KEYS[2], 0)
    if not first or tonumber(string.match(first, '^(%d+)')) >= horizon then break end
    redis.call('LPOP', KEYS[2])
  end
end
return 1
"""


class RedisStatsStore:
    """The :class:`~vtc_dispatch.ports.StatsStore` in Redis (one script per record)."""

    def __init__(
        self, client: RedisClient, settings: RedisSettings, *, window: timedelta = timedelta(days=7)
    ) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, got {window}")
        self._client = client
        self._p = settings.prefix
        self._window = window
        self._record = client.register_script(_RECORD)

    def record(self, driver_id: str, outcome: Outcome, at: datetime) -> None:
        """See :class:`~vtc_dispatch.ports.StatsStore`."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
        with guarded(f"recording an offer outcome of driver {driver_id!r}"):
            self._record(
                keys=[f"{self._p}:st:{driver_id}", f"{self._p}:sr:{driver_id}"],
                args=[outcome, to_us(at), to_us(at - self._window)],
            )

    def get(self, driver_id: str) -> DriverStats:
        """See :class:`~vtc_dispatch.ports.StatsStore`."""
        with guarded(f"reading the statistics of driver {driver_id!r}"):
            pipe = self._client.pipeline(transaction=True)
            pipe.hgetall(f"{self._p}:st:{driver_id}")
            pipe.lrange(f"{self._p}:sr:{driver_id}", 0, -1)
            counts, recent = pipe.execute()
        entries = deque((from_us(at), outcome) for at, outcome in (e.split("|", 1) for e in recent))
        return DriverStats(
            self._window, **{o: int(counts.get(o, 0)) for o in OUTCOMES}, recent=entries
        )


class RedisRatingStore:
    """The :class:`~vtc_dispatch.ports.RatingStore` in Redis (two HINCRBY in one MULTI)."""

    def __init__(self, client: RedisClient, settings: RedisSettings) -> None:
        self._client = client
        self._p = settings.prefix

    def add(self, party_id: str, stars: int) -> None:
        """See :class:`~vtc_dispatch.ports.RatingStore`."""
        key = f"{self._p}:rt:{party_id}"
        with guarded(f"adding a rating of {party_id!r}"):
            pipe = self._client.pipeline(transaction=True)
            pipe.hincrby(key, "s", stars)
            pipe.hincrby(key, "n", 1)
            pipe.execute()

    def totals(self, party_id: str) -> tuple[int, int]:
        """See :class:`~vtc_dispatch.ports.RatingStore`."""
        with guarded(f"reading the ratings of {party_id!r}"):
            found = self._client.hmget(f"{self._p}:rt:{party_id}", ["s", "n"])
        return int(found[0] or 0), int(found[1] or 0)
