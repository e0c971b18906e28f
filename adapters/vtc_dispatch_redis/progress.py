"""Ride progress in Redis: one hash per ride (``P:p:<order id>``: ``v`` version, ``d`` JSON).

Written at every GPS fix of a ride, so a save is one short script.
"""

from __future__ import annotations

from typing import cast

import attrs

from vtc_dispatch.errors import ConcurrencyConflict
from vtc_dispatch.order import RideProgress
from vtc_dispatch_redis.codec import decode_progress, encode_progress
from vtc_dispatch_redis.connection import RedisClient, RedisSettings, guarded

__all__ = ["RedisProgressStore"]

# KEYS[1] progress hash; ARGV expected version, data
_SAVE = """
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return -1 - v end
redis.call('HSET', KEYS[1], 'v', v + 1, 'd', ARGV[2])
return v + 1
"""


class RedisProgressStore:
    """The :class:`~vtc_dispatch.ports.ProgressStore` in Redis."""

    def __init__(self, client: RedisClient, settings: RedisSettings) -> None:
        self._client = client
        self._p = settings.prefix
        self._save = client.register_script(_SAVE)

    def _key(self, order_id: str) -> str:
        return f"{self._p}:p:{order_id}"

    def get(self, order_id: str) -> RideProgress:
        """See :class:`~vtc_dispatch.ports.ProgressStore`."""
        with guarded(f"reading the progress of order {order_id!r}"):
            version, data = self._client.hmget(self._key(order_id), ["v", "d"])
        if version is None:
            return RideProgress(order_id)
        return decode_progress(cast(str, data), version=int(version))

    def save(self, progress: RideProgress, expected_version: int) -> RideProgress:
        """See :class:`~vtc_dispatch.ports.ProgressStore`."""
        with guarded(f"saving the progress of order {progress.order_id!r}"):
            result = int(
                self._save(
                    keys=[self._key(progress.order_id)],
                    args=[expected_version, encode_progress(progress)],
                )
            )
        if result < 0:
            raise ConcurrencyConflict(
                f"progress of order {progress.order_id!r} is at version {-1 - result},"
                f" not {expected_version}: reload and retry"
            )
        return attrs.evolve(progress, version=result)

    def discard(self, order_id: str) -> None:
        """See :class:`~vtc_dispatch.ports.ProgressStore`."""
        with guarded(f"discarding the progress of order {order_id!r}"):
            self._client.unlink(self._key(order_id))
