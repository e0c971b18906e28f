"""Drivers' offer statistics and customers' rating totals in Redis.

Keys: ``P:st:<driver>`` hash of counts per outcome (and ``#``, the number
of activity entries ever recorded); ``P:sr:<driver>`` list of the recent
answers (``<microseconds>|<outcome>``, oldest first, trimmed to the window
at each record); ``P:sa:<driver>`` sorted set of the driver's activity
(member ``<microseconds>|<outcome>|<n>``, scored by the microseconds,
trimmed to what is kept); ``P:rt:<party>`` hash ``s`` sum of stars, ``n``
number of ratings.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import cast

from vtc_dispatch.pool.stats import ACTIVITY_KEPT, COUNTED, DriverStats, Outcome, check_outcome
from vtc_dispatch_redis.connection import RedisClient, RedisSettings, from_us, guarded, to_us

__all__ = ["OUTCOMES", "STATS_LUA", "RedisRatingStore", "RedisStatsStore", "stat_keys"]

OUTCOMES = COUNTED
"""The outcomes of an offer that the statistics count."""

STATS_LUA = r"""
local function record_stat(st, sr, sa, o, at, horizon, kept)
  if o ~= 'online' and o ~= 'offline' then redis.call('HINCRBY', st, o, 1) end
  if o == 'offered' then return end
  local n = redis.call('HINCRBY', st, '#', 1)
  redis.call('ZADD', sa, at, at .. '|' .. o .. '|' .. n)
  redis.call('ZREMRANGEBYSCORE', sa, '-inf', '(' .. kept)
  if o == 'online' or o == 'offline' then return end
  redis.call('RPUSH', sr, at .. '|' .. o)
  horizon = tonumber(horizon)
  while true do
    local first = redis.call('LINDEX', sr, 0)
    if not first or tonumber(string.match(first, '^(%d+)')) >= horizon then break end
    redis.call('LPOP', sr)
  end
end
"""
"""``record_stat(counts, recent, activity, outcome, at, horizon, kept)``: one outcome
recorded (times in microseconds; ``horizon`` the window's start, ``kept`` the
activity's), by the store and by the unit of work's commit."""

# KEYS counts, recent, activity; ARGV outcome, at, horizon, kept (us)
_RECORD = STATS_LUA + "record_stat(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4])"


def stat_keys(prefix: str, driver_id: str) -> tuple[str, str, str]:
    """The counts, recent answers and activity keys of a driver."""
    return f"{prefix}:st:{driver_id}", f"{prefix}:sr:{driver_id}", f"{prefix}:sa:{driver_id}"


class RedisStatsStore:
    """The :class:`~vtc_dispatch.ports.StatsStore` in Redis (one script per record)."""

    def __init__(
        self,
        client: RedisClient,
        settings: RedisSettings,
        *,
        window: timedelta = timedelta(days=7),
        kept: timedelta = ACTIVITY_KEPT,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, got {window}")
        self._client = client
        self._p = settings.prefix
        self._window = window
        self._kept = kept
        self._record = client.register_script(_RECORD)

    def record(self, driver_id: str, outcome: Outcome, at: datetime) -> None:
        """See :class:`~vtc_dispatch.ports.StatsStore`."""
        check_outcome(outcome)
        with guarded(f"recording an offer outcome of driver {driver_id!r}"):
            self._record(
                keys=list(stat_keys(self._p, driver_id)),
                args=[outcome, to_us(at), to_us(at - self._window), to_us(at - self._kept)],
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

    def activity(
        self, driver_id: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, str]]:
        """See :class:`~vtc_dispatch.ports.StatsStore` (one ZRANGEBYSCORE)."""
        with guarded(f"reading the activity of driver {driver_id!r}"):
            found = cast(
                list[str],
                self._client.zrangebyscore(
                    f"{self._p}:sa:{driver_id}", to_us(since), f"({to_us(until)}"
                ),
            )
        entries = (member.split("|") for member in found)
        return [(from_us(at), outcome) for at, outcome, _ in entries]


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
