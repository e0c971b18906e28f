"""Orders in Redis: one hash per order, compare-and-set saves in Lua, deadlines in a sorted set.

Keys (``P`` is the prefix):

* ``P:o:<id>`` hash: ``v`` version, ``d`` the order (:mod:`.codec` JSON),
  ``n`` creation sequence, ``c`` customer, ``r`` driver, ``h`` the drivers
  it holds (live offers, and ``=`` with the assigned driver until the ride
  ends);
* ``P:oseq`` counter giving each new order its sequence;
* ``P:oc:<customer>`` / ``P:od:<driver>`` sorted sets of order ids by
  sequence (history, newest first), ``P:ac:<customer>`` / ``P:ad:<driver>``
  the active ones only; ``P:ao`` every active order (an operator's map;
  an order stored by a version before it is listed once saved again);
* ``P:dl`` sorted set: order id -> next deadline (microseconds since the
  epoch) of orders with live offers; ``P:cl`` sorted set: order id -> until
  when a worker holds it, ``P:cw`` hash: order id -> which worker (see
  :meth:`RedisOrderRepository.with_live_offer`).

Every write is one script, so a save changes the order, its indexes and
its deadline together or not at all; it refuses (ConcurrencyConflict,
nothing written) to make the order hold a driver whom another order holds
or nobody reserved, confirms the reservations of the drivers the order
holds and frees those it no longer holds (see
:class:`~vtc_dispatch_redis.drivers.RedisDriverRegistry`).  The same Lua
(:data:`ORDER_LUA`) writes the orders of a whole command's commit
(:class:`~vtc_dispatch_redis.unit_of_work.RedisUnitOfWork`).

Each script declares in KEYS every key Python can name (Redis Cluster
routes on them), :func:`order_keys` for a write.  What the stored data
alone names is not declared: a save reaches the indexes of the order's
previous driver and the drivers it stops holding, named by the order as
stored (declared when this process holds that version decoded, which it
does after reading or writing it), and the GEO set of a driver it frees,
named by his stored type (declared by the type last seen, see
:meth:`~vtc_dispatch_redis.drivers.RedisDriverRegistry.keys_of`); a find
or a claim reads the orders its index lists.  With a hash tag in the
prefix those keys are in the slot of the declared ones.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any, cast

import attrs

from vtc_dispatch.errors import ConcurrencyConflict, NotFound
from vtc_dispatch.kinds import DRIVING_STATES
from vtc_dispatch.order import Order
from vtc_dispatch.ports import check_limit, check_page
from vtc_dispatch_redis.codec import decode_order, encode_order, json_id
from vtc_dispatch_redis.connection import RedisClient, RedisSettings, from_us, guarded, to_us
from vtc_dispatch_redis.drivers import HOLD_LUA, RedisDriverRegistry

__all__ = ["ORDER_LUA", "RedisOrderRepository", "order_fields", "order_keys"]

"""States in which the assigned driver stays held by the order."""

ORDER_LUA = (
    HOLD_LUA
    + """
-- Held entries: a driver id for a live offer, '=' and the id for the assigned driver.
local function taken(p, id, old, new)
  local before = {}
  for e in string.gmatch(old, '[^\\31]+') do before[e] = true end
  for e in string.gmatch(new, '[^\\31]+') do
    if not before[e] then
      local d = string.gsub(e, '^=', '')
      local o = redis.call('HGET', p .. ':d:' .. d, 'o')
      if o and o ~= id then return {d, o} end
    end
  end
  return nil
end
local function hold(p, id, old, new)
  local keep = {}
  for e in string.gmatch(new, '[^\\31]+') do
    local d = string.gsub(e, '^=', '')
    keep[d] = true
    local k = p .. ':d:' .. d
    if redis.call('HGET', k, 'o') == id then
      redis.call('HSET', k, 'ru', 0)
      redis.call('ZREM', p .. ':lease', d)
    end
  end
  for e in string.gmatch(old, '[^\\31]+') do
    local d = string.gsub(e, '^=', '')
    if not keep[d] and redis.call('HGET', p .. ':d:' .. d, 'o') == id then
      free_driver(p, d)
    end
  end
end
local function index(p, id, n, customer, old_driver, driver, active)
  if active == '1' then
    redis.call('ZADD', p .. ':ac:' .. customer, n, id)
    redis.call('ZADD', p .. ':ao', n, id)
  else
    redis.call('ZREM', p .. ':ac:' .. customer, id)
    redis.call('ZREM', p .. ':ao', id)
  end
  if old_driver ~= driver and old_driver ~= '' then
    redis.call('ZREM', p .. ':od:' .. old_driver, id)
    redis.call('ZREM', p .. ':ad:' .. old_driver, id)
  end
  if driver ~= '' then
    redis.call('ZADD', p .. ':od:' .. driver, n, id)
    if active == '1' then
      redis.call('ZADD', p .. ':ad:' .. driver, n, id)
    else
      redis.call('ZREM', p .. ':ad:' .. driver, id)
    end
  end
end
local function deadline(p, id, at)
  if at ~= '' then
    redis.call('ZADD', p .. ':dl', at, id)
  else
    redis.call('ZREM', p .. ':dl', id)
  end
  redis.call('ZREM', p .. ':cl', id)
  redis.call('HDEL', p .. ':cw', id)
end
"""
)
"""Lua shared with the commit script: the held drivers, the party indexes, the deadline."""

# KEYS[1] order hash, then the other keys of order_keys; ARGV prefix, id, data, active,
# customer, driver, deadline, held drivers
_ADD = (
    ORDER_LUA
    + """
local p, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local clash = taken(p, id, '', ARGV[8])
if clash then return clash end
local n = redis.call('INCR', p .. ':oseq')
redis.call('HSET', KEYS[1], 'v', 1, 'd', ARGV[3], 'n', n, 'c', ARGV[5], 'r', ARGV[6],
  'h', ARGV[8])
hold(p, id, '', ARGV[8])
redis.call('ZADD', p .. ':oc:' .. ARGV[5], n, id)
index(p, id, n, ARGV[5], '', ARGV[6], ARGV[4])
deadline(p, id, ARGV[7])
return 1
"""
)

# KEYS[1] order hash, then the other keys of order_keys; ARGV prefix, id, expected version,
# data, active, driver, deadline, held drivers
_SAVE = (
    ORDER_LUA
    + """
local p, id = ARGV[1], ARGV[2]
local cur = redis.call('HMGET', KEYS[1], 'v', 'n', 'c', 'r', 'h')
if not cur[1] then return -1 end
if cur[1] ~= ARGV[3] then return -2 - tonumber(cur[1]) end
local clash = taken(p, id, cur[5] or '', ARGV[8])
if clash then return clash end
local v = tonumber(cur[1]) + 1
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[4], 'r', ARGV[6], 'h', ARGV[8])
hold(p, id, cur[5] or '', ARGV[8])
index(p, id, cur[2], cur[3], cur[4], ARGV[6], ARGV[5])
deadline(p, id, ARGV[7])
return v
"""
)

# KEYS the index, the matching active index; ARGV prefix, offset, limit, filter ('all',
# 'active' or 'ended').
_FIND = """
local p, offset, limit, mode = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local ids
if mode == 'all' then
  ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + limit - 1)
else
  ids = {}
  local skipped = 0
  for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
    if #ids >= limit then break end
    if not redis.call('ZSCORE', KEYS[2], id) then
      if skipped < offset then skipped = skipped + 1 else table.insert(ids, id) end
    end
  end
end
local out = {}
for _, id in ipairs(ids) do
  local r = redis.call('HMGET', p .. ':o:' .. id, 'v', 'd')
  if r[1] then
    table.insert(out, r[1])
    table.insert(out, r[2])
  end
end
return out
"""

# KEYS deadlines, claims, claimers; ARGV prefix, due (us), claimed until (us), claimer
_CLAIM = """
local p = ARGV[1]
local due = tonumber(ARGV[2])
local out = {}
local function claim(id)
  local held = redis.call('ZSCORE', p .. ':cl', id)
  if (not held) or tonumber(held) <= due or redis.call('HGET', p .. ':cw', id) == ARGV[4] then
    local r = redis.call('HMGET', p .. ':o:' .. id, 'v', 'd')
    if r[1] then
      redis.call('ZADD', p .. ':cl', ARGV[3], id)
      redis.call('HSET', p .. ':cw', id, ARGV[4])
      table.insert(out, r[1])
      table.insert(out, r[2])
    end
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])) do claim(id) end
return out
"""


_CACHED = 4096
"""Orders kept decoded per repository: orders are immutable, so (id, version) names one."""


class RedisOrderRepository:
    """The :class:`~vtc_dispatch.ports.OrderRepository` in Redis, shared by every worker.

    :meth:`with_live_offer` *claims* what it returns: each due order is
    handed to one repository (one worker) at a time and hidden from the
    others for ``settings.claim_s`` (in the time of ``due_by``), until a
    save of the order clears the claim; the claiming repository itself
    still sees it.  Several workers calling ``expire_due`` thus
    share the work instead of colliding, and the orders of a worker that
    died are handed to another one once the claim runs out.
    """

    def __init__(
        self,
        client: RedisClient,
        settings: RedisSettings,
        *,
        drivers: RedisDriverRegistry | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._p = settings.prefix
        self._drivers = drivers
        self._add = client.register_script(_ADD)
        self._save = client.register_script(_SAVE)
        self._find = client.register_script(_FIND)
        self._claim = client.register_script(_CLAIM)
        self._claim_for = timedelta(seconds=settings.claim_s)
        self._claimer = uuid.uuid4().hex
        self._decoded: OrderedDict[str, Order] = OrderedDict()
        self._cache_lock = threading.Lock()

    def cache(self, order: Order) -> None:
        """Keep ``order`` decoded, as stored at its version (the commit script stored it)."""
        self._remember(order)

    def _remember(self, order: Order) -> Order:
        with self._cache_lock:
            self._decoded[order.id] = order
            self._decoded.move_to_end(order.id)
            if len(self._decoded) > _CACHED:
                self._decoded.popitem(last=False)
        return order

    def stored_at(self, order_id: str, version: int) -> Order | None:
        """The order as stored at ``version`` if this process holds it decoded (else None)."""
        known = self._decoded.get(order_id)
        return known if known is not None and known.version == version else None

    def keys_for(self, order: Order, before: Order | None) -> set[str]:
        """:func:`order_keys` of a write of ``order``, with the drivers' GEO sets last seen."""
        return order_keys(self._p, order, before, self._drivers)

    def _decode(self, version: str, data: str) -> Order:
        """The stored order; decoding (the costly part of a read) is skipped for a known version."""
        known = self._decoded.get(json_id(data))
        if known is not None and known.version == int(version):
            return known
        return self._remember(decode_order(data, version=int(version)))

    def _decode_pairs(self, flat: list[str]) -> list[Order]:
        return [self._decode(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    def _key(self, order_id: str) -> str:
        return f"{self._p}:o:{order_id}"

    def get(self, order_id: str) -> Order:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with guarded(f"reading order {order_id!r}"):
            version, data = self._client.hmget(self._key(order_id), ["v", "d"])
        if version is None:
            raise NotFound(f"no order {order_id!r}")
        return self.order_from_stored(order_id, int(version), cast(str, data))

    def order_from_stored(self, order_id: str, version: int, data: str) -> Order:
        """The order stored as ``data`` at ``version`` (decoded once per version)."""
        known = self._decoded.get(order_id)
        if known is not None and known.version == version:
            return known
        return self._remember(decode_order(data, version=version))

    def add(self, order: Order) -> Order:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        data, active, driver, deadline, held = order_fields(order)
        args = [self._p, order.id, data, active, order.customer_id, driver, deadline, held]
        keys = self.keys_for(order, None)
        with guarded(f"adding order {order.id!r}"):
            added = self._add(keys=_first(self._key(order.id), keys), args=args)
        _refuse_taken(order, added)
        if not added:
            raise ConcurrencyConflict(f"order {order.id!r} already exists")
        return self._remember(_evolve_version(order, 1))

    def save(self, order: Order, expected_version: int) -> Order:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        data, active, driver, deadline, held = order_fields(order)
        args = [
            *(self._p, order.id, str(expected_version), data, active, driver, deadline),
            held,
        ]
        keys = self.keys_for(order, self.stored_at(order.id, expected_version))
        with guarded(f"saving order {order.id!r}"):
            reply = self._save(keys=_first(self._key(order.id), keys), args=args)
        _refuse_taken(order, reply)
        result = int(reply)
        if result == -1:
            raise NotFound(f"no order {order.id!r}")
        if result < -1:
            raise ConcurrencyConflict(
                f"order {order.id!r} is at version {-2 - result},"
                f" not {expected_version}: reload and retry"
            )
        return self._remember(_evolve_version(order, result))

    def find(
        self,
        role: str,
        party_id: str,
        *,
        active: bool | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> list[Order]:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        check_page(role, offset, limit)
        kind = "c" if role == "customer" else "d"
        if limit == 0:
            return []
        every, live = f"{self._p}:o{kind}:{party_id}", f"{self._p}:a{kind}:{party_id}"
        if active is None:
            index, mode = every, "all"
        elif active:
            index, mode = live, "all"
        else:
            index, mode = every, "ended"
        with guarded(f"finding the orders of {role} {party_id!r}"):
            flat = self._find(keys=[index, live], args=[self._p, offset, limit, mode])
        return self._decode_pairs(flat)

    def count(self, role: str, party_id: str) -> int:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        check_page(role, 0, 0)
        kind = "c" if role == "customer" else "d"
        with guarded(f"counting the orders of {role} {party_id!r}"):
            count: int = self._client.zcard(f"{self._p}:o{kind}:{party_id}")
            return count

    def active_orders(self, *, limit: int = 1000) -> list[Order]:
        """See :class:`~vtc_dispatch.ports.OrderRepository` (the index ``P:ao``, one script)."""
        if check_limit(limit) == 0:
            return []
        index = f"{self._p}:ao"
        with guarded("listing the active orders"):
            flat = self._find(keys=[index, index], args=[self._p, 0, limit, "all"])
        return self._decode_pairs(flat)

    def with_live_offer(self, due_by: datetime) -> list[Order]:
        """See :class:`~vtc_dispatch.ports.OrderRepository`; claims what it returns (above)."""
        due = to_us(due_by)
        until = to_us(due_by + self._claim_for)
        with guarded("claiming the due offers"):
            flat = self._claim(
                keys=[f"{self._p}:{part}" for part in ("dl", "cl", "cw")],
                args=[self._p, due, until, self._claimer],
            )
        return self._decode_pairs(flat)

    def next_deadline(self) -> datetime | None:
        """See :class:`~vtc_dispatch.ports.OrderRepository`."""
        with guarded("reading the next deadline"):
            first: Any = self._client.zrange(f"{self._p}:dl", 0, 0, withscores=True)
        return from_us(first[0][1]) if first else None


def order_fields(order: Order) -> tuple[str, str, str, str, str]:
    """What the order scripts store of ``order``: its text and the values of its indexes.

    The JSON text, ``1`` if active, the driver (or ``''``), the next
    deadline in microseconds (or ``''``) and the drivers it holds (live
    offers, ``=`` and the assigned driver), separated by ``\\x1f``.

    >>> from datetime import UTC, datetime
    >>> from vtc_dispatch.fsm import RIDE
    >>> from vtc_dispatch.geo import LatLng
    >>> from vtc_dispatch.pricing import Pricer, douala_config
    >>> at, here = datetime(2026, 11, 21, 8, 0, tzinfo=UTC), LatLng(4.05, 9.70)
    >>> quote = Pricer(douala_config()).quote(here, LatLng(4.06, 9.72), "taxi_jaune", at)
    >>> order = Order("o1", "c1", "taxi_jaune", here, LatLng(4.06, 9.72), "CASH", quote,
    ...               RIDE.start("o1", at), at)
    >>> order_fields(order)[1:]
    ('1', '', '', '')
    """
    deadline = order.next_deadline
    return (
        encode_order(order),
        "1" if order.is_active else "0",
        order.driver_id or "",
        "" if deadline is None else str(to_us(deadline)),
        "\x1f".join(_held(order)),
    )


def order_keys(
    prefix: str, order: Order, before: Order | None, drivers: RedisDriverRegistry | None = None
) -> set[str]:
    """The keys a write of ``order`` (:data:`ORDER_LUA`) touches that Python can name.

    The order's hash, its customer's indexes, the active orders, the deadlines and claims,
    the leases, its driver's indexes, the drivers it holds with the GEO set
    of its vehicle type; and, from ``before`` (the order as stored at the
    version the write expects, when known), its previous driver's indexes
    and the drivers it held.  With ``drivers``, the GEO set of each of
    those drivers as last seen
    (:meth:`~vtc_dispatch_redis.drivers.RedisDriverRegistry.keys_of`).
    """
    p = prefix
    keys = {
        f"{p}:o:{order.id}",
        f"{p}:oseq",
        f"{p}:oc:{order.customer_id}",
        f"{p}:ac:{order.customer_id}",
        f"{p}:ao",
        f"{p}:dl",
        f"{p}:cl",
        f"{p}:cw",
        f"{p}:lease",
        f"{p}:g:{order.vehicle_type}",
    }
    parties = {order.driver_id}
    held = {entry.removeprefix("=") for entry in _held(order)}
    if before is not None:
        parties.add(before.driver_id)
        held.update(entry.removeprefix("=") for entry in _held(before))
    for driver_id in parties:
        if driver_id is not None:
            keys.update((f"{p}:od:{driver_id}", f"{p}:ad:{driver_id}"))
    for driver_id in held:
        keys.update(drivers.keys_of(driver_id) if drivers else (f"{p}:d:{driver_id}",))
    return keys


def _held(order: Order) -> list[str]:
    """The drivers an order holds as stored: offers' drivers, ``=`` and the assigned one."""
    held = [o.driver_id for o in order.offers]
    if order.driver_id is not None and order.state in DRIVING_STATES:
        held.append("=" + order.driver_id)
    return held


def _first(key: str, others: set[str]) -> list[str]:
    """``key`` then the others: the scripts read their own key as KEYS[1]."""
    return [key, *sorted(others - {key})]


def _refuse_taken(order: Order, reply: Any) -> None:
    """A save that would give the order a driver another order holds stores nothing."""
    if isinstance(reply, list):
        driver, holder = reply
        raise ConcurrencyConflict(
            f"order {order.id!r} cannot hold driver {driver!r}:"
            f" {'nobody reserved them' if holder == '' else f'order {holder!r} holds them'}"
        )


def _evolve_version(order: Order, version: int) -> Order:
    return attrs.evolve(order, version=version)
