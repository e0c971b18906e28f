"""A driver and the ride he is on, read in one round trip (every GPS fix needs them).

A process also keeps the rides in course as it last read or wrote them
(``RedisSettings.ride_cache``): the commands that read a ride (a fix, the
arrival, the start, the end) state the order and progress versions they
read (:class:`~vtc_dispatch.changes.RideRead`), and the commit script
refuses them when either moved.  So while a driver's commands reach the
same process, each is one round trip (the commit); when another process
moved the ride meanwhile, the commit is refused, the process forgets what
it kept and the command reads again.

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
4
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from vtc_dispatch._records import evolve
from vtc_dispatch.changes import ChangeSet, DriverPositioned, DriverSeen
from vtc_dispatch.errors import NotFound
from vtc_dispatch.fsm import RideState
from vtc_dispatch.order import DRIVING_STATES, DriverStatus, Order, RideProgress
from vtc_dispatch.unit_of_work import apply_driver_write
from vtc_dispatch_redis.codec import decode_progress
from vtc_dispatch_redis.connection import RedisClient, RedisSettings, guarded
from vtc_dispatch_redis.drivers import RedisDriverRegistry
from vtc_dispatch_redis.orders import RedisOrderRepository

if TYPE_CHECKING:
    from vtc_dispatch.ports import Ride

__all__ = ["RedisRideReader", "RideCache"]

_Ride = tuple[DriverStatus, Order, RideProgress]

_KEEP_IDLE = (DriverPositioned, DriverSeen)
"""The driver writes after which an idle driver stays idle (and is kept as read)."""

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

# _RIDE_OF for many drivers at once: KEYS their hashes, ARGV the prefix then their
# ids; one answer of _RIDE_OF's shape per driver, in order.
_RIDES_OF = """
local out = {}
for k = 1, #KEYS do
  local ride = {}
  local d = redis.call('HGETALL', KEYS[k])
  if #d > 0 then
    ride = {d}
    local o = ''
    for i = 1, #d, 2 do if d[i] == 'o' then o = d[i + 1] end end
    if o ~= '' then
      local order = redis.call('HMGET', ARGV[1] .. ':o:' .. o, 'v', 'd', 'r')
      if order[1] then
        ride = {d, order[1], order[2]}
        if order[3] == ARGV[k + 1] then
          local p = redis.call('HMGET', ARGV[1] .. ':p:' .. o, 'v', 'd')
          ride = {d, order[1], order[2], p[1] or '', p[2] or ''}
        end
      end
    end
  end
  out[k] = ride
end
return out
"""


class RideCache:
    """The rides in course as this process last read or wrote them, by driver (bounded).

    Only a driver on his order (accepted, arrived, in progress) with its
    progress is kept; apart, the orders of the rides that ended done, as
    this process stored them, for their ratings; and, up to ``idle_size``,
    the idle drivers (online, on no order), for batches of fixes.
    :meth:`committed` follows a change set this process stored;
    :meth:`clear` forgets everything (after a refused or failed commit).
    """

    def __init__(self, size: int, idle_size: int = 0) -> None:
        self._size = size
        self._idle_size = idle_size
        self._rides: dict[str, _Ride] = {}
        self._drivers: dict[str, str] = {}  # order id -> its driver's id
        self._done: dict[str, Order] = {}  # order id -> the order, DONE
        self._idle: dict[str, DriverStatus] = {}
        self._lock = threading.Lock()
        self._served = threading.local()
        self._read = threading.local()  # statuses this thread read, no ride kept with them

    def get(self, driver_id: str) -> _Ride | None:
        """The ride kept for ``driver_id``, if any (remembered as served to this thread)."""
        ride = self._rides.get(driver_id)
        if ride is not None:
            self._served.drivers = (*getattr(self._served, "drivers", ()), driver_id)
        return ride

    def idle(self, driver_id: str) -> DriverStatus | None:
        """The idle driver kept, if any (remembered as served to this thread: its next
        commit checks he is still online and free, see :meth:`served_idle`)."""
        status = self._idle.get(driver_id)
        if status is not None:
            served: list[str] | None = getattr(self._served, "idle", None)
            if served is None:
                self._served.idle = [driver_id]
            else:
                served.append(driver_id)
        return status

    def keep_idle(self, status: DriverStatus) -> None:
        """Keep a driver just read, if idle (online, on no order), as read: see
        :meth:`committed` for what drops him."""
        if self._idle_size and status.online and status.order_id is None:
            with self._lock:
                self._put_idle(status)

    def served_idle(self) -> list[str]:
        """The idle drivers served to this thread since its last commit: the commit checks
        each is still online and holds no order."""
        return list(getattr(self._served, "idle", None) or ())

    def done(self, order_id: str) -> Order | None:
        """The order of an ended ride kept, if any (remembered as served to this thread)."""
        order = self._done.get(order_id)
        if order is not None:
            self._served.orders = (*getattr(self._served, "orders", ()), order_id)
        return order

    def forget_served(self) -> bool:
        """Drop the rides and orders served to this thread since the last call; whether
        there were any."""
        served: tuple[str, ...] = getattr(self._served, "drivers", ())
        orders: tuple[str, ...] = getattr(self._served, "orders", ())
        idle: list[str] = getattr(self._served, "idle", None) or []
        self._served.drivers = self._served.orders = ()
        self._served.idle = None
        with self._lock:
            for driver_id in served:
                self._drop(driver_id)
            for order_id in orders:
                self._done.pop(order_id, None)
            for driver_id in idle:
                self._idle.pop(driver_id, None)
        return bool(served or orders or idle)

    def keep(self, status: DriverStatus, order: Order, progress: RideProgress) -> None:
        """Keep a ride just read (only a driver on his order)."""
        if self._size:
            with self._lock:
                self._put(status, order, progress)

    def read(self, status: DriverStatus) -> None:
        """A driver read without a ride to keep (an offer he is about to accept): should
        this thread's next commit put him on his order, his ride is kept from then on.

        Only the thread's last such read is remembered: a command that read a driver
        and stored nothing leaves no older status for a later commit to keep.
        """
        self._read.statuses = (
            {status.driver_id: status} if self._size and status.order_id is not None else {}
        )

    def committed(self, changes: ChangeSet, stored: dict[str, Order]) -> None:
        """Follow a change set this process stored (``stored``: its orders as stored).

        What was served to this thread is then no longer in question.  A ride
        it starts (a driver read by this thread, now on his order: ``accept``)
        is kept from the status read, with the writes of the change set: the
        first fix after accepting is then one round trip, like the others (a
        ride that moved meanwhile is caught by its next commit, as any ride
        kept).
        """
        self._served.drivers = self._served.orders = ()
        self._served.idle = None
        read: dict[str, DriverStatus] = getattr(self._read, "statuses", {})
        self._read.statuses = {}
        if read:
            self._start(read, changes, stored)
        if self._size and stored:
            self._keep_done(stored)
        if self._idle:
            self._follow_idle(changes, stored)
        if not self._rides:
            return
        with self._lock:
            for reservation in (*changes.reserve, *changes.release):
                self._drop(reservation.driver_id)
            for order_id in changes.discard_progress:
                self._drop(self._drivers.get(order_id))
            for saved in changes.progress:
                ride = self._of_order(saved.progress.order_id)
                if ride is not None:
                    progress = evolve(saved.progress, version=saved.expected_version + 1)
                    self._put(ride[0], ride[1], progress)
            for order in stored.values():
                ride = self._of_order(order.id)
                if ride is not None:
                    self._put(ride[0], order, ride[2])
            for write in changes.drivers:
                ride = self._rides.get(write.driver_id)
                if ride is not None:
                    status = apply_driver_write(ride[0], write)
                    if status is None:
                        self._drop(write.driver_id)
                    else:
                        self._put(status, ride[1], ride[2])

    def _follow_idle(self, changes: ChangeSet, stored: dict[str, Order]) -> None:
        """Drop the kept idle drivers this change set may have taken or put offline (their
        next batch reads them again).

        A fix or a heartbeat leaves him idle, and is not applied: only
        whether he is online and free decides his next fix, and the commit
        checks exactly that, so the cache answers his status as read, not
        moved (a new status built per fix would cost the worker a good part
        of the read it saves)."""
        idle = self._idle
        with self._lock:
            for reservation in (*changes.reserve, *changes.release):
                idle.pop(reservation.driver_id, None)
            for order in stored.values():
                if order.driver_id is not None:
                    idle.pop(order.driver_id, None)
            for write in changes.drivers:
                if type(write) not in _KEEP_IDLE:
                    idle.pop(write.driver_id, None)

    def _put_idle(self, status: DriverStatus) -> None:
        idle = self._idle
        idle.pop(status.driver_id, None)  # the most recent last, the oldest evicted first
        idle[status.driver_id] = status
        if len(idle) > self._idle_size:
            del idle[next(iter(idle))]

    def _start(
        self, read: dict[str, DriverStatus], changes: ChangeSet, stored: dict[str, Order]
    ) -> None:
        moved = {r.driver_id for r in (*changes.reserve, *changes.release)}
        progress = {saved.progress.order_id: saved for saved in changes.progress}
        for order in stored.values():
            driver_id = order.driver_id
            status = read.get(driver_id) if driver_id is not None else None
            if (
                status is None
                or driver_id in moved
                or driver_id in self._rides
                or status.order_id != order.id
                or order.state not in DRIVING_STATES
                or order.id in changes.discard_progress
            ):
                continue
            after: DriverStatus | None = status
            for write in changes.drivers:
                if after is not None and write.driver_id == driver_id:
                    after = apply_driver_write(after, write)
            if after is None:
                continue
            saved = progress.get(order.id)
            kept = (
                RideProgress(order.id)
                if saved is None
                else evolve(saved.progress, version=saved.expected_version + 1)
            )
            with self._lock:
                self._put(after, order, kept)

    def _keep_done(self, stored: dict[str, Order]) -> None:
        with self._lock:
            for order in stored.values():
                self._done.pop(order.id, None)  # the most recent last, the oldest evicted first
                if order.phase == RideState.DONE:
                    self._done[order.id] = order
                    if len(self._done) > self._size:
                        del self._done[next(iter(self._done))]

    def clear(self) -> None:
        """Forget every ride and order."""
        self._served.drivers = self._served.orders = ()
        self._served.idle = None
        self._read.statuses = {}
        with self._lock:
            self._rides.clear()
            self._drivers.clear()
            self._done.clear()
            self._idle.clear()

    def _of_order(self, order_id: str) -> _Ride | None:
        driver_id = self._drivers.get(order_id)
        return None if driver_id is None else self._rides.get(driver_id)

    def _put(self, status: DriverStatus, order: Order, progress: RideProgress) -> None:
        driver_id = status.driver_id
        if order.driver_id != driver_id or order.state not in DRIVING_STATES:
            self._drop(driver_id)
            return
        self._rides.pop(driver_id, None)  # the most recent last, the oldest evicted first
        self._rides[driver_id] = (status, order, progress)
        self._drivers[order.id] = driver_id
        if len(self._rides) > self._size:
            self._drop(next(iter(self._rides)))

    def _drop(self, driver_id: str | None) -> None:
        ride = self._rides.pop(driver_id, None) if driver_id is not None else None
        if ride is not None:
            self._drivers.pop(ride[1].id, None)


class RedisRideReader:
    """The :class:`~vtc_dispatch.ports.RideReader` in Redis: one script, one round trip.

    A ride kept in :attr:`cache` is answered without any (see the module's
    documentation).
    """

    def __init__(
        self,
        client: RedisClient,
        settings: RedisSettings,
        *,
        drivers: RedisDriverRegistry,
        orders: RedisOrderRepository,
    ) -> None:
        self._p = settings.prefix
        self._drivers = drivers
        self._orders = orders
        self._ride_of = client.register_script(_RIDE_OF)
        self._rides_of = client.register_script(_RIDES_OF)
        self.cache = RideCache(settings.ride_cache, settings.idle_cache)

    def ride_of(self, driver_id: str) -> tuple[DriverStatus, Order | None, RideProgress | None]:
        """See :class:`~vtc_dispatch.ports.RideReader`."""
        kept = self.cache.get(driver_id)
        if kept is not None:
            return kept
        status, order, progress = self._read(driver_id)
        if order is not None and progress is not None:
            self.cache.keep(status, order, progress)
        else:
            self.cache.read(status)
        return status, order, progress

    def rides_of(self, driver_ids: Sequence[str]) -> list[Ride | NotFound]:
        """See :class:`~vtc_dispatch.ports.RideReader`: the rides and idle drivers kept
        answered from :attr:`cache`, all the others read by one script (one round trip).

        An idle driver answered from the cache is checked by this thread's
        next commit: still online, holding no order (see
        :meth:`RideCache.served_idle`); a batch of fixes writes each of its
        drivers in that commit."""
        cache = self.cache
        rides: list[Ride | NotFound | None] = []
        missing: list[int] = []
        for i, driver_id in enumerate(driver_ids):
            kept = cache.get(driver_id)
            if kept is None:
                status = cache.idle(driver_id)
                if status is None:
                    missing.append(i)
                    rides.append(None)
                else:
                    rides.append((status, None, None))
            else:
                rides.append(kept)
        if missing:
            ids = [driver_ids[i] for i in missing]
            with guarded(f"reading {len(ids)} drivers and their rides"):
                found = cast(
                    list[list[object]],
                    self._rides_of(
                        keys=[f"{self._p}:d:{driver_id}" for driver_id in ids],
                        args=[self._p, *ids],
                    ),
                )
            for i, driver_id, one in zip(missing, ids, found, strict=True):
                try:
                    ride = self._decoded(driver_id, one)
                except NotFound as exc:
                    rides[i] = exc
                    continue
                rides[i] = ride
                status, order, progress = ride
                if order is not None and progress is not None:
                    cache.keep(status, order, progress)
                elif order is None:
                    cache.keep_idle(status)
        return [ride for ride in rides if ride is not None]

    def order(self, order_id: str) -> Order:
        """See :class:`~vtc_dispatch.ports.RideReader`: an order of a ride that ended done
        kept in :attr:`cache`, else read."""
        kept = self.cache.done(order_id)
        return self._orders.get(order_id) if kept is None else kept

    def refresh(self) -> bool:
        """See :class:`~vtc_dispatch.ports.RideReader`."""
        return self.cache.forget_served()

    def _read(self, driver_id: str) -> tuple[DriverStatus, Order | None, RideProgress | None]:
        with guarded(f"reading driver {driver_id!r} and his ride"):
            found = cast(
                list[object],
                self._ride_of(keys=[f"{self._p}:d:{driver_id}"], args=[self._p, driver_id]),
            )
        return self._decoded(driver_id, found)

    def _decoded(
        self, driver_id: str, found: list[object]
    ) -> tuple[DriverStatus, Order | None, RideProgress | None]:
        """A ride from its script's answer (:class:`NotFound` for a driver never seen)."""
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
