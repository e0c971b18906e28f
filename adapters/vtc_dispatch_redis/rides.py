"""A driver and the ride he is on, read in one round trip (every GPS fix needs them).

>>> from datetime import UTC, datetime
>>> from vtc_dispatch.changes import ChangeSet, DriverOnline
>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch_redis import RedisStorage
>>> storage = RedisStorage.from_url("redis://127.0.0.1:6379/0", prefix="vtc-doc:{rides}")
>>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
>>> _ = storage.unit_of_work.commit(
...     ChangeSet(drivers=(DriverOnline("amadou", "taxi_jaune", LatLng(4.05, 9.7), at),)))
>>> status, order, progress = storage.rides.ride_of("amadou")
>>> status.available, order, progress
(True, None, None)
>>> storage.clear()
3
"""

from __future__ import annotations

from typing import cast

import redis

from vtc_dispatch.order import DriverStatus, Order, RideProgress
from vtc_dispatch_redis.codec import decode_progress
from vtc_dispatch_redis.connection import RedisSettings, guarded
from vtc_dispatch_redis.drivers import RedisDriverRegistry
from vtc_dispatch_redis.orders import RedisOrderRepository

__all__ = ["RedisRideReader"]

# KEYS[1]: the driver's hash.  ARGV: the prefix, the driver id.  The order and
# its progress are named by the driver's hash (one slot with a hash-tag prefix).
_RIDE_OF = """
local d = redis.call('HGETALL', KEYS[1])
if #d == 0 then return {} end
local o = ''
for i = 1, #d, 2 do if d[i] == 'o' then o = d[i + 1] end end
if o == '' then return {d} end
local order = redis.call('HMGET', ARGV[1] .. ':o:' .. o, 'v', 'd', 'r')
if not order[1] then return {d} end
if order[3] ~= ARGV[2] then return {d, order[1], order[2]} end
local p = redis.call('HMGET', ARGV[1] .. ':p:' .. o, 'v', 'd')
return {d, order[1], order[2], p[1] or '', p[2] or ''}
"""


class RedisRideReader:
    """The :class:`~vtc_dispatch.ports.RideReader` in Redis: one script, one round trip."""

    def __init__(
        self,
        client: redis.Redis,
        settings: RedisSettings,
        *,
        drivers: RedisDriverRegistry,
        orders: RedisOrderRepository,
    ) -> None:
        self._p = settings.prefix
        self._drivers = drivers
        self._orders = orders
        self._ride_of = client.register_script(_RIDE_OF)

    def ride_of(self, driver_id: str) -> tuple[DriverStatus, Order | None, RideProgress | None]:
        """See :class:`~vtc_dispatch.ports.RideReader`."""
        with guarded(f"reading driver {driver_id!r} and his ride"):
            found = cast(
                list[object],
                self._ride_of(keys=[f"{self._p}:d:{driver_id}"], args=[self._p, driver_id]),
            )
        flat = cast(list[str], found[0]) if found else []
        status = self._drivers.status_from_hash(
            driver_id, dict(zip(flat[::2], flat[1::2], strict=True))
        )
        if len(found) < 3 or status.order_id is None:
            return status, None, None
        order = self._orders.order_from_stored(
            status.order_id, int(cast(str, found[1])), cast(str, found[2])
        )
        if len(found) < 5:
            return status, order, None
        version, data = cast(str, found[3]), cast(str, found[4])
        if not version:
            return status, order, RideProgress(order.id)
        return status, order, decode_progress(data, version=int(version))
