"""One command, one Lua script: a whole change set committed atomically in Redis.

:class:`RedisUnitOfWork` encodes a :class:`~vtc_dispatch.changes.ChangeSet`
(orders through :mod:`.codec`, events as the stream entries of
:mod:`vtc_dispatch.wire`) into one plan and runs one script on it.  The
script first checks every expectation, writing nothing:

* the command id is not recorded yet;
* new orders do not exist, written orders are at their expected version,
  and an order holds no driver that it does not hold already or reserve in
  this change set;
* ride progress is at its expected version, and every ride the decision
  read (:class:`~vtc_dispatch.changes.RideRead`) is still at the order and
  progress versions it read;
* every driver to reserve is online, free, present, neither blocked nor
  suspended; every idle driver the reader answered from its cache
  (:meth:`RideCache.served_idle <vtc_dispatch_redis.rides.RideCache.served_idle>`)
  is still online and holds no order; and
  every driver a presence write expects (silent, unreachable, put
  offline for silence) is online and last heard from when it expects;
* every wallet hold is covered by the free balance, every capture or
  release finds its hold, and no operation id was used for another
  operation.

The first that fails is answered (ConcurrencyConflict, PaymentRefused,
NotFound or IdempotencyConflict naming it) and nothing is written.
Otherwise it writes, in this order: holds, reservations, orders with their
indexes (the Lua of :mod:`.orders`), drivers freed, driver writes (the
rules of :func:`~vtc_dispatch.unit_of_work.apply_driver_write`), progress,
captures and releases with the settled order version, statistics,
ratings, the command's record, and the messages appended to the streams:
they go out exactly once, with the commit.

A capture takes what the wallet holds, up to the amount due, which only the
script knows.  Python sends the settled order's text for a full payment and
a second text with a marker where ``amount_paid`` goes for a partial one;
the script puts the taken amount there.  Decoding and re-encoding the order
with cjson instead would rewrite every float of it (cjson keeps 14 digits)
and reorder its fields.

Every key Python can name before the call is declared in KEYS (Redis
Cluster routes on them, and holds back a script whose declared keys are
in the middle of a slot move).  Three kinds of keys are named only by the
stored data, which the script reads as it runs:

* the indexes of an order's previous driver and the hashes of the drivers
  an order stops holding, named by the order as stored: declared when the
  repository holds that version decoded (:meth:`RedisOrderRepository.stored_at
  <vtc_dispatch_redis.orders.RedisOrderRepository.stored_at>`), which it
  does when this process read or wrote it last;
* a driver's GEO set, named by the type stored in his hash: declared by
  the type this process last saw him with (``drivers``), and by the
  vehicle type of every order written;
* the wallet a capture or release takes from, named by the hold: declared
  as the wallet of the order's customer, on whom the order's hold is made.

With the prefix's hash tag all of them are in the declared keys' slot.

>>> from vtc_dispatch_redis import RedisStorage
>>> storage = RedisStorage.from_url("redis://127.0.0.1:6379/0", prefix="vtc-doc:{uow}")
>>> from datetime import UTC, datetime
>>> from vtc_dispatch.changes import ChangeSet, DriverOnline, Reservation
>>> from vtc_dispatch.geo import LatLng
>>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
>>> online = DriverOnline("amadou", "taxi_jaune", LatLng(4.05, 9.7), at)
>>> storage.unit_of_work.commit(ChangeSet(drivers=(online,)))
{}
>>> storage.drivers.get("amadou").available
True
>>> storage.unit_of_work.commit(ChangeSet(reserve=(Reservation("binta", "o-1"),)))
Traceback (most recent call last):
...
vtc_dispatch.errors.ConcurrencyConflict: driver 'binta' is not available for order 'o-1'
>>> storage.clear()
4
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import attrs

from vtc_dispatch.changes import (
    ChangeSet,
    Command,
    DriverAbsent,
    DriverOffline,
    DriverOnline,
    DriverPositioned,
    DriverSeen,
    DriverSuspension,
    DriverWrite,
    WalletCapture,
    WalletHold,
    WalletRelease,
)
from vtc_dispatch.codec import datetime_to_data
from vtc_dispatch.errors import ConcurrencyConflict, NotFound, PaymentRefused
from vtc_dispatch.order import Order
from vtc_dispatch.pool.stats import ACTIVITY_KEPT, check_outcome
from vtc_dispatch.wallet_ops import (
    amount_text,
    check_amount,
    check_same,
    describe_capture,
    describe_hold,
    describe_release,
    hold_id_for,
)
from vtc_dispatch.wire import to_wire
from vtc_dispatch_redis.codec import ProgressEncoder, encode_order
from vtc_dispatch_redis.connection import RedisClient, RedisSettings, guarded, to_us
from vtc_dispatch_redis.drivers import RedisDriverRegistry, check_geo, presence_code
from vtc_dispatch_redis.orders import ORDER_LUA, RedisOrderRepository, order_fields
from vtc_dispatch_redis.records import RedisCommandLog
from vtc_dispatch_redis.rides import RideCache
from vtc_dispatch_redis.stats import STATS_LUA, stat_keys
from vtc_dispatch_redis.streams import stream_name
from vtc_dispatch_redis.wallet import WALLET_LUA

__all__ = ["RedisUnitOfWork"]

_PAID_MARK = Decimal(-1)
"""The amount put in the partial-payment text where the script writes what it took."""

_COMMIT = (
    ORDER_LUA
    + WALLET_LUA
    + STATS_LUA
    + r"""
local plan = cjson.decode(ARGV[1])
local p = plan.p
local function dkey(d) return p .. ':d:' .. d end
local function okey(id) return p .. ':o:' .. id end

-- 1. Every expectation, before any write.
if plan.cmd and redis.call('EXISTS', p .. ':cmd:' .. plan.cmd.id) == 1 then
  return {'command', plan.cmd.id}
end
local owner = {}
for _, r in ipairs(plan.reserve) do
  local s = redis.call('HMGET', dkey(r[1]), 'on', 'o', 'b', 'pr', 'su')
  if owner[r[1]] or not offerable(s[1], s[2], s[3], s[4], s[5]) then
    return {'driver', r[1], r[2]}
  end
  owner[r[1]] = r[2]
end
-- What the check reads of a driver, the fixes below use (plan.keep: nothing written
-- before them changes a driver's hash, no reservation, release nor order).
local read = {}
for _, d in ipairs(plan.idle) do
  local s = redis.call('HMGET', dkey(d), 'vt', 'on', 'o', 'b', 'pr', 'su')
  if s[2] ~= '1' or (s[3] or '') ~= '' then return {'busy', d} end
  if plan.keep then read[d] = s end
end
for _, w in ipairs(plan.drivers) do
  if w.exp then
    local s = redis.call('HMGET', dkey(w.id), 'on', 'sn', 'at')
    if s[1] ~= '1' or (s[2] or s[3]) ~= w.exp then return {'heard', w.id} end
  end
end
local version, held = {}, {}
local function load(id)
  if version[id] == nil then
    local cur = redis.call('HMGET', okey(id), 'v', 'h')
    version[id] = tonumber(cur[1] or '0')
    held[id] = cur[2] or ''
  end
end
for _, r in ipairs(plan.reads) do
  load(r.id)
  if version[r.id] ~= r.ov then
    return {'version', r.id, tostring(version[r.id]), tostring(r.ov)}
  end
  local v = tonumber(redis.call('HGET', p .. ':p:' .. r.id, 'v') or '0')
  if v ~= r.pv then return {'progress', r.id, tostring(v), tostring(r.pv)} end
end
for _, o in ipairs(plan.orders) do
  load(o.id)
  if version[o.id] ~= o.ev then
    if o.ev == 0 then return {'exists', o.id} end
    if version[o.id] == 0 then return {'missing', o.id} end
    return {'version', o.id, tostring(version[o.id]), tostring(o.ev)}
  end
  local before = {}
  for e in string.gmatch(held[o.id], '[^\31]+') do before[e] = true end
  for e in string.gmatch(o.h, '[^\31]+') do
    if not before[e] then
      local d = string.gsub(e, '^=', '')
      local holder = owner[d] or redis.call('HGET', dkey(d), 'o')
      if holder and holder ~= o.id then return {'taken', o.id, d, holder} end
    end
  end
  version[o.id], held[o.id] = o.ev + 1, o.h
end
local pv = {}
for _, w in ipairs(plan.progress) do
  if pv[w.id] == nil then
    pv[w.id] = tonumber(redis.call('HGET', p .. ':p:' .. w.id, 'v') or '0')
  end
  if pv[w.id] ~= w.ev then return {'progress', w.id, tostring(pv[w.id]), tostring(w.ev)} end
  pv[w.id] = w.ev + 1
end
local free, replayed = {}, {}
for i, h in ipairs(plan.holds) do
  local seen = recorded(h.op, h.what)
  if seen and seen[1] == 'mismatch' then return {'mismatch', h.opid, seen[2], h.what} end
  if seen then
    replayed[i] = true
  else
    if redis.call('EXISTS', h.hk) == 1 then return {'hold', h.hid} end
    local fk = h.w .. '\31' .. h.cur
    local f = free[fk] or redis.call('HGET', h.w, h.cur) or '0'
    if less(f, h.amt) then return {'refused', h.c, f, h.amt, h.cur} end
    free[fk] = sub(f, h.amt)
  end
end
local settled = {}
for i, s in ipairs(plan.settle) do
  local seen = recorded(s.op, s.what)
  if seen and seen[1] == 'mismatch' then return {'mismatch', s.opid, seen[2], s.what} end
  settled[i] = seen and seen[2]
  if not seen and redis.call('EXISTS', s.hk) == 0 then return {'nohold', s.hid, s.id} end
  load(s.id)
  if version[s.id] ~= s.ev then
    return {'version', s.id, tostring(version[s.id]), tostring(s.ev)}
  end
  version[s.id] = s.ev + 1
end

-- 2. The writes.
for i, h in ipairs(plan.holds) do
  if not replayed[i] then
    redis.call('HSET', h.w, h.cur, sub(redis.call('HGET', h.w, h.cur) or '0', h.amt))
    redis.call('HSET', h.hk, 'c', h.c, 'cur', h.cur, 'amt', h.amt, 'ref', h.ref)
    record(h.op, h.what, h.hid, plan.wttl)
  end
end
for _, r in ipairs(plan.reserve) do
  local vt = redis.call('HGET', dkey(r[1]), 'vt')
  redis.call('HSET', dkey(r[1]), 'o', r[2], 'ru', 0)
  redis.call('ZREM', p .. ':lease', r[1])
  redis.call('ZREM', p .. ':g:' .. vt, r[1])
end
for _, o in ipairs(plan.orders) do
  if o.ev == 0 then
    local n = redis.call('INCR', p .. ':oseq')
    redis.call('HSET', okey(o.id), 'v', 1, 'd', o.d, 'n', n, 'c', o.c, 'r', o.r, 'h', o.h)
    hold(p, o.id, '', o.h)
    redis.call('ZADD', p .. ':oc:' .. o.c, n, o.id)
    index(p, o.id, n, o.c, '', o.r, o.a)
  else
    local cur = redis.call('HMGET', okey(o.id), 'n', 'c', 'r', 'h')
    redis.call('HSET', okey(o.id), 'v', o.ev + 1, 'd', o.d, 'r', o.r, 'h', o.h)
    hold(p, o.id, cur[4] or '', o.h)
    index(p, o.id, cur[1], cur[2], cur[3], o.r, o.a)
  end
  deadline(p, o.id, o.dl)
end
for _, r in ipairs(plan.release) do
  if redis.call('HGET', dkey(r[1]), 'o') == r[2] then free_driver(p, r[1]) end
end
-- The driver is in his type's GEO set exactly when he is available.
local function place(d, old_vt)
  local s = redis.call('HMGET', dkey(d), 'on', 'o', 'b', 'vt', 'lat', 'lng', 'pr', 'su')
  if old_vt and old_vt ~= s[4] then redis.call('ZREM', p .. ':g:' .. old_vt, d) end
  if offerable(s[1], s[2], s[3], s[7], s[8]) then
    redis.call('GEOADD', p .. ':g:' .. s[4], s[6], s[5], d)
  else
    redis.call('ZREM', p .. ':g:' .. s[4], d)
  end
end
for _, w in ipairs(plan.drivers) do
  local k = dkey(w.id)
  local old = redis.call('HMGET', k, 'vt', 'rs', 'rc', 'on')
  if w.k == 'on' then
    redis.call('HSET', k, 'vt', w.vt, 'lat', w.lat, 'lng', w.lng, 'on', '1', 'at', w.at,
      'sn', w.at, 'pr', '', 'or', '')
    if not old[1] then
      redis.call('HSET', k, 'o', '', 'ru', 0, 'b', '0', 'rs', 0, 'rc', 0)
    end
    redis.call('SADD', p .. ':vts', w.vt)
    heard(p, w.id, true, '', w.us)
    place(w.id, old[1])
  elseif old[1] then
    if w.k == 'off' then
      redis.call('HSET', k, 'on', '0', 'at', w.at, 'or', w.r)
      heard(p, w.id, false, '', 0)
    elseif w.k == 'pos' then
      redis.call('HSET', k, 'lat', w.lat, 'lng', w.lng, 'at', w.at, 'sn', w.at, 'pr', '')
      heard(p, w.id, old[4] == '1', '', w.us)
    elseif w.k == 'seen' then
      redis.call('HSET', k, 'sn', w.at, 'pr', '')
      heard(p, w.id, old[4] == '1', '', w.us)
    elseif w.k == 'absent' then
      redis.call('HSET', k, 'pr', w.pr)
      heard(p, w.id, old[4] == '1', w.pr, w.us)
    elseif w.k == 'susp' then
      redis.call('HSET', k, 'su', w.su)
    else
      local total, count = tonumber(old[2]) + w.stars, tonumber(old[3]) + 1
      local blocked = count >= w.min and total / count < tonumber(w.thr)
      redis.call('HSET', k, 'rs', total, 'rc', count, 'b', blocked and '1' or '0')
    end
    place(w.id, nil)
  end
end
-- The fixes of drivers this change set writes nothing else about: four arguments each
-- (id, lat, lng, time: see _Plan._drivers), the writes of 'pos' above with fewer calls.
-- A driver is in P:ha only while online with a presence stored (every writer of 'pr'
-- keeps them together): a present one is not removed from it again.
local hp, ha, geo = p .. ':hp', p .. ':ha', {}
local heard_now, geo_types, geo_keys = {}, {}, {}
for i = plan.fix[1], plan.fix[1] + 4 * plan.fix[2] - 1, 4 do
  local d = ARGV[i]
  local k = dkey(d)
  local s = read[d]
  if s then
    read[d] = nil
  else
    s = redis.call('HMGET', k, 'vt', 'on', 'o', 'b', 'pr', 'su')
  end
  if s[1] then
    local at, us = ARGV[i + 3], ARGV[i + 3]
    local bar = string.find(at, '|', 1, true)
    if bar then us, at = string.sub(at, 1, bar - 1), string.sub(at, bar + 1) end
    if (s[5] or '') == '' then
      redis.call('HSET', k, 'lat', ARGV[i + 1], 'lng', ARGV[i + 2], 'at', at, 'sn', at)
    else
      redis.call('HSET', k, 'lat', ARGV[i + 1], 'lng', ARGV[i + 2], 'at', at, 'sn', at, 'pr', '')
    end
    if s[2] == '1' then
      heard_now[#heard_now + 1] = us
      heard_now[#heard_now + 1] = d
      if (s[5] or '') ~= '' then redis.call('ZREM', ha, d) end
    else
      redis.call('ZREM', hp, d)
      redis.call('ZREM', ha, d)
    end
    local g = geo_keys[s[1]]
    if not g then
      g = p .. ':g:' .. s[1]
      geo_keys[s[1]] = g
    end
    if offerable(s[2], s[3], s[4], '', s[6]) then
      local members = geo[g]
      if not members then
        members = {}
        geo[g] = members
        geo_types[#geo_types + 1] = g
      end
      members[#members + 1] = ARGV[i + 2]
      members[#members + 1] = ARGV[i + 1]
      members[#members + 1] = d
    else
      redis.call('ZREM', g, d)
    end
  end
end
-- Many members per call, in chunks that Lua's stack holds.
for j = 1, #heard_now, 1000 do
  redis.call('ZADD', hp, unpack(heard_now, j, math.min(j + 999, #heard_now)))
end
for _, g in ipairs(geo_types) do
  local members = geo[g]
  for j = 1, #members, 1500 do
    redis.call('GEOADD', g, unpack(members, j, math.min(j + 1499, #members)))
  end
end
for _, w in ipairs(plan.progress) do
  redis.call('HSET', p .. ':p:' .. w.id, 'v', w.ev + 1, 'd', ARGV[w.d])
end
for _, id in ipairs(plan.discard) do redis.call('DEL', p .. ':p:' .. id) end
local paid = {}
for i, s in ipairs(plan.settle) do
  local taken = settled[i]
  if not taken then
    local h = redis.call('HMGET', s.hk, 'c', 'cur', 'amt')
    local wallet = p .. ':w:' .. h[1]
    local available = add(h[3], redis.call('HGET', wallet, h[2]))
    taken = '0'
    if s.amt ~= '' then
      taken = s.amt
      if less(available, taken) then taken = available end
    end
    redis.call('DEL', s.hk)
    redis.call('HSET', wallet, h[2], sub(available, taken))
    if s.amt == '' then taken = '' end
    record(s.op, s.what, taken, plan.wttl)
  end
  local text = s.full
  if s.amt ~= '' and less(taken, s.amt) then
    local i, j = string.find(s.part, s.mark, 1, true)
    text = string.sub(s.part, 1, i - 1) .. '"amount_paid":"' .. taken .. '"'
      .. string.sub(s.part, j + 1)
  end
  redis.call('HSET', okey(s.id), 'v', s.ev + 1, 'd', text)
  table.insert(paid, s.id)
  table.insert(paid, taken)
end
for _, st in ipairs(plan.stats) do
  record_stat(p .. ':st:' .. st.d, p .. ':sr:' .. st.d, p .. ':sa:' .. st.d, st.o, st.at, st.hz,
    st.kp)
end
for _, r in ipairs(plan.ratings) do
  redis.call('HINCRBY', p .. ':rt:' .. r[1], 's', r[2])
  redis.call('HINCRBY', p .. ':rt:' .. r[1], 'n', 1)
end
if plan.cmd then
  local k = p .. ':cmd:' .. plan.cmd.id
  redis.call('HSET', k, 'f', plan.cmd.f, 'r', plan.cmd.r)
  if plan.cmd.r ~= '' then
    local o = redis.call('HMGET', okey(plan.cmd.r), 'v', 'd')
    if o[1] then redis.call('HSET', k, 'v', o[1], 'd', o[2]) end
  end
  redis.call('PEXPIRE', k, plan.cmd.ttl)
end
for _, m in ipairs(plan.msgs) do
  redis.call('XADD', m[1], 'MAXLEN', '~', plan.maxlen, '*', 'to', m[2], 'type', m[3],
    'json', m[4])
end
return {'ok', paid}
"""
)


class RedisUnitOfWork:
    """The :class:`~vtc_dispatch.ports.UnitOfWork` in Redis: one script per commit.

    See the module's documentation.  ``drivers`` is the registry of the
    same prefix: the GEO sets of the drivers a commit writes are declared
    by the types it last saw.  ``rides`` is the ride cache of the
    reader of the same prefix: each commit updates it, and a refused or
    failed one empties it.  ``orders`` is the repository of the
    same prefix: the orders a commit stores go into its decoded cache, so
    the next read of them skips decoding.
    """

    def __init__(
        self,
        client: RedisClient,
        settings: RedisSettings,
        *,
        orders: RedisOrderRepository,
        commands: RedisCommandLog,
        stats_window: timedelta = timedelta(days=7),
        rides: RideCache | None = None,
        drivers: RedisDriverRegistry | None = None,
    ) -> None:
        self._client = client
        self._drivers = drivers
        self._settings = settings
        self._p = settings.prefix
        self._orders = orders
        self.commands = commands
        self._window = stats_window
        self._rides = RideCache(0) if rides is None else rides
        # Two tracks per ride kept (approach and trip).
        self._progress = ProgressEncoder(2 * settings.ride_cache)
        self._commit = client.register_script(_COMMIT)
        self._streams = {
            role: stream_name(settings, role) for role in ("driver", "customer", "watchers")
        }

    def commit(self, changes: ChangeSet, *, command: Command | None = None) -> dict[str, Order]:
        """See :class:`~vtc_dispatch.ports.UnitOfWork` and the module's documentation."""
        plan = _Plan(self, changes, command)
        try:
            with guarded(plan.describe()):
                reply = self._commit(keys=sorted(plan.keys), args=[plan.text(), *plan.texts])
            status = reply[0]
            if status != "ok":
                _refuse(status, reply[1:])
        except BaseException:
            self._rides.clear()  # what was kept may be what made the commit fail
            raise
        stored = plan.stored(cast(list[str], reply[1]), self._orders)
        self._rides.committed(changes, stored)
        for order_id in changes.discard_progress:
            self._progress.forget(order_id)
        return stored


@attrs.define
class _Settle:
    order: Order
    """The order as stored before the capture or release (its SETTLING version)."""
    op: WalletCapture | WalletRelease


class _Plan:
    """A change set as the commit script reads it, and the keys it declares."""

    def __init__(self, uow: RedisUnitOfWork, changes: ChangeSet, command: Command | None) -> None:
        self.keys: set[str] = set()
        self._last_types: Mapping[str, str] = (
            {} if uow._drivers is None else uow._drivers.last_types
        )
        self._geo_types: set[str] = set()
        # The progress texts go as arguments of their own (ARGV[2], ...): inside the plan's
        # JSON they would be escaped whole, then decoded whole by Redis, at every fix of a
        # ride whose track grows.
        self.texts: list[str | float | int] = [
            uow._progress.encode(w.progress) for w in changes.progress
        ]
        self._p = p = uow._p
        self._uow = uow
        self._window = uow._window
        self._changes = changes
        self._command = command
        holds = [op for op in changes.wallet if isinstance(op, WalletHold)]
        self._new = list(changes.new_orders)
        latest: dict[str, Order] = {}
        orders: list[dict[str, Any]] = []
        for order, expected in [(o, 0) for o in self._new] + [
            (w.order, w.expected_version) for w in changes.orders
        ]:
            latest[order.id] = attrs.evolve(order, version=expected + 1)
            orders.append(self._order(order, expected))
        self._settles = [
            _Settle(latest.get(op.order_id) or uow._orders.get(op.order_id), op)
            for op in changes.wallet
            if isinstance(op, WalletCapture | WalletRelease)
        ]
        self._plan: dict[str, Any] = {
            "p": p,
            "orders": orders,
            "reserve": [[r.driver_id, r.order_id] for r in changes.reserve],
            "release": [[r.driver_id, r.order_id] for r in changes.release],
            "drivers": [],
            "idle": uow._rides.served_idle(),
            "keep": not (changes.reserve or changes.release or self._new or changes.orders),
            "progress": [
                {"id": w.progress.order_id, "ev": w.expected_version, "d": i + 2}
                for i, w in enumerate(changes.progress)
            ],
            "discard": list(changes.discard_progress),
            "reads": [
                {"id": r.order_id, "ov": r.order_version, "pv": r.progress_version}
                for r in changes.reads
            ],
            "holds": [self._hold(op) for op in holds],
            "settle": [self._settle(s) for s in self._settles],
            "stats": [self._stat(s.driver_id, s.outcome, s.at) for s in changes.stats],
            "ratings": [[r.party_id, r.stars] for r in changes.ratings],
            "msgs": self._messages(uow),
            "maxlen": uow._settings.stream_maxlen,
            "wttl": round(uow._settings.wallet_op_ttl_s * 1000),
        }
        self._drivers(changes.drivers)
        for driver_id in (
            *(r.driver_id for r in (*changes.reserve, *changes.release)),
            *self._plan["idle"],
        ):
            self._driver_keys(driver_id)
        self.keys.update(f"{p}:rt:{rating.party_id}" for rating in changes.ratings)
        self.keys.update(f"{p}:p:{i}" for i in changes.discard_progress)
        self.keys.update(f"{p}:p:{w.progress.order_id}" for w in changes.progress)
        self.keys.update(f"{p}:{kind}:{r.order_id}" for r in changes.reads for kind in "op")
        if changes.reserve or changes.release:
            self.keys.add(f"{p}:lease")
        if command is not None:
            key = uow.commands.key(command.command_id)
            self.keys.add(key)
            if command.result_id:
                self.keys.add(f"{p}:o:{command.result_id}")
            self._plan["cmd"] = {
                "id": command.command_id,
                "f": command.fingerprint,
                "r": command.result_id or "",
                "ttl": max(1, round(uow._settings.command_ttl_s * 1000)),
            }

    def describe(self) -> str:
        ids = sorted({o["id"] for o in self._plan["orders"]} | {s.order.id for s in self._settles})
        return f"committing a change set (orders {', '.join(ids) or 'none'})"

    def text(self) -> str:
        # Raw UTF-8, not \u escapes: cjson then hands every string over byte for byte.
        return json.dumps(self._plan, ensure_ascii=False, separators=(",", ":"))

    def _drivers(self, writes: tuple[DriverWrite, ...]) -> None:
        """The driver writes: in the plan, but a fix of a driver written nowhere else in
        the change set as four arguments of the script (most commits of a city are
        batches of fixes: the script reads arguments faster than JSON, and redis-py
        packs each argument in Python, so the fewer the better).

        The four: the driver's id, latitude, longitude, and his time in
        microseconds, followed by ``|`` and the time as stored when it is
        not those microseconds (a time outside UTC)."""
        if not writes:
            self._plan["fix"] = [2, 0]
            return
        p = self._p
        keys = self.keys
        keys.update((f"{p}:hp", f"{p}:ha"))
        once = None if len(writes) == 1 else Counter(w.driver_id for w in writes)
        general = self._plan["drivers"]
        args = self.texts
        self._plan["fix"] = [2 + len(args), 0]
        last_types = self._last_types
        types = self._geo_types
        fixes = 0
        for write in writes:
            driver_id = write.driver_id
            if type(write) is DriverPositioned and (once is None or once[driver_id] == 1):
                position = write.position
                check_geo(position)
                stored = datetime_to_data(write.at)
                if type(stored) is not int:
                    stored = f"{to_us(write.at)}|{stored}"
                args += (driver_id, position.lat, position.lng, stored)
                keys.add(f"{p}:d:{driver_id}")  # _driver_keys, inlined: every fix
                vt = last_types.get(driver_id)
                if vt is not None and vt not in types:
                    types.add(vt)
                    keys.add(f"{p}:g:{vt}")
                fixes += 1
            else:
                general.append(self._driver(write))
        self._plan["fix"][1] = fixes

    def _driver_keys(self, driver_id: str) -> None:
        """The driver's hash and the GEO set of the type this process last saw him with
        (the keys of ``RedisDriverRegistry.keys_of``)."""
        self.keys.add(f"{self._p}:d:{driver_id}")
        vt = self._last_types.get(driver_id)
        if vt is not None and vt not in self._geo_types:
            self._geo_types.add(vt)
            self.keys.add(f"{self._p}:g:{vt}")

    def _order(self, order: Order, expected: int) -> dict[str, Any]:
        data, active, driver, deadline, held = order_fields(order)
        orders = self._uow._orders
        before = orders.stored_at(order.id, expected) if expected else None
        self.keys.update(orders.keys_for(order, before))
        return {
            "id": order.id,
            "ev": expected,
            "d": data,
            "a": active,
            "c": order.customer_id,
            "r": driver,
            "dl": deadline,
            "h": held,
        }

    def _driver(self, write: DriverWrite) -> dict[str, Any]:
        p = self._p
        self._driver_keys(write.driver_id)
        if isinstance(write, DriverOnline | DriverPositioned):
            check_geo(write.position)
            position = {"lat": repr(write.position.lat), "lng": repr(write.position.lng)}
            at, us = _times(write.at)
            if isinstance(write, DriverPositioned):
                return {"k": "pos", "id": write.driver_id, "at": at, "us": us, **position}
            self.keys.update((f"{p}:g:{write.vehicle_type}", f"{p}:vts"))
            vt = write.vehicle_type
            return {"k": "on", "id": write.driver_id, "vt": vt, "at": at, "us": us, **position}
        if isinstance(write, DriverSeen):
            at, us = _times(write.at)
            return {"k": "seen", "id": write.driver_id, "at": at, "us": us}
        if isinstance(write, DriverAbsent):
            seen, us = _times(write.seen_at)
            code = presence_code(write.presence)
            return {"k": "absent", "id": write.driver_id, "pr": code, "us": us, "exp": seen}
        if isinstance(write, DriverOffline):
            off = {
                "k": "off",
                "id": write.driver_id,
                "at": str(datetime_to_data(write.at)),
                "r": write.reason or "",
            }
            if write.seen_at is not None:
                off["exp"] = _times(write.seen_at)[0]
            return off
        if isinstance(write, DriverSuspension):
            return {"k": "susp", "id": write.driver_id, "su": "1" if write.suspended else "0"}
        return {
            "k": "rated",
            "id": write.driver_id,
            "stars": write.stars,
            "min": write.min_count,
            "thr": repr(float(write.threshold)),
        }

    def _hold(self, op: WalletHold) -> dict[str, Any]:
        amount = check_amount(op.amount, "a hold", positive=False)
        hold_id = hold_id_for(op.op_id)
        entry = {
            "opid": op.op_id,
            "op": f"{self._p}:wop:{op.op_id}",
            "w": f"{self._p}:w:{op.customer_id}",
            "hk": f"{self._p}:wh:{hold_id}",
            "hid": hold_id,
            "cur": op.currency,
            "amt": amount_text(amount),
            "c": op.customer_id,
            "ref": op.reference,
            "what": describe_hold(op.customer_id, amount, op.currency, op.reference),
        }
        self.keys.update((entry["op"], entry["w"], entry["hk"]))
        return entry

    def _settle(self, settle: _Settle) -> dict[str, Any]:
        op, order = settle.op, settle.order
        p = self._p
        entry: dict[str, Any] = {
            "opid": op.op_id,
            "op": f"{p}:wop:{op.op_id}",
            "hk": f"{p}:wh:{op.hold_id}",
            "hid": op.hold_id,
            "id": order.id,
            "ev": order.version,
        }
        if isinstance(op, WalletCapture):
            amount = check_amount(op.amount, "a capture", positive=False)
            partial = encode_order(order.settled(_PAID_MARK))
            mark = f'"amount_paid":"{_PAID_MARK}"'
            if partial.count(mark) != 1:
                raise ValueError(f"order {order.id!r}: cannot place amount_paid in its text")
            entry |= {
                "amt": amount_text(amount),
                "what": describe_capture(op.hold_id, amount),
                "full": encode_order(order.settled(amount)),
                "part": partial,
                "mark": mark,
            }
        else:
            entry |= {
                "amt": "",
                "what": describe_release(op.hold_id),
                "full": encode_order(order.settled(None)),
            }
        self.keys.update(
            (entry["op"], entry["hk"], f"{p}:o:{order.id}", f"{p}:w:{order.customer_id}")
        )
        return entry

    def _stat(self, driver_id: str, outcome: str, at: datetime) -> dict[str, Any]:
        check_outcome(outcome)
        self.keys.update(stat_keys(self._p, driver_id))
        return {
            "d": driver_id,
            "o": outcome,
            "at": str(to_us(at)),
            "hz": str(to_us(at - self._window)),
            "kp": str(to_us(at - ACTIVITY_KEPT)),
        }

    def _messages(self, uow: RedisUnitOfWork) -> list[list[str]]:
        out: list[list[str]] = []
        for event in self._changes.events:
            for recipient, message in to_wire(event):
                stream = uow._streams[recipient.role]
                self.keys.add(stream)
                kind = str(getattr(message, "type", type(message).__name__))
                out.append([stream, recipient.id, kind, message.model_dump_json()])
        return out

    def stored(self, paid: list[str], orders: RedisOrderRepository) -> dict[str, Order]:
        """The orders as the script stored them, given what each capture took."""
        stored: dict[str, Order] = {}
        for order in self._new:
            stored[order.id] = attrs.evolve(order, version=1)
        for write in self._changes.orders:
            stored[write.order.id] = attrs.evolve(write.order, version=write.expected_version + 1)
        taken = dict(zip(paid[::2], paid[1::2], strict=True))
        for settle in self._settles:
            order = settle.order
            amount = taken[order.id]
            settled = order.settled(None if amount == "" else Decimal(amount))
            stored[order.id] = attrs.evolve(settled, version=order.version + 1)
        for order in stored.values():
            orders.cache(order)
        return stored


def _times(moment: datetime) -> tuple[str, int]:
    """A time as a driver hash holds it, and as a score of the heard sets (microseconds)."""
    stored = datetime_to_data(moment)
    return str(stored), stored if type(stored) is int else to_us(moment)


def _refuse(status: str, args: Iterable[str]) -> None:
    """Raise the error of the expectation the script found broken (nothing was written)."""
    a = list(args)
    if status == "command":
        raise ConcurrencyConflict(f"command {a[0]!r} was already run")
    if status == "exists":
        raise ConcurrencyConflict(f"order {a[0]!r} already exists")
    if status == "missing":
        raise NotFound(f"no order {a[0]!r}")
    if status == "version":
        raise ConcurrencyConflict(
            f"order {a[0]!r} is at version {a[1]}, not {a[2]}: reload and retry"
        )
    if status == "progress":
        raise ConcurrencyConflict(
            f"progress of order {a[0]!r} is at version {a[1]}, not {a[2]}: reload and retry"
        )
    if status == "driver":
        raise ConcurrencyConflict(f"driver {a[0]!r} is not available for order {a[1]!r}")
    if status == "busy":
        raise ConcurrencyConflict(
            f"driver {a[0]!r} was given an order or went offline since this process kept"
            " him idle: reload and retry"
        )
    if status == "heard":
        raise ConcurrencyConflict(
            f"driver {a[0]!r} was heard from since, or went offline: reload and retry"
        )
    if status == "taken":
        raise ConcurrencyConflict(
            f"order {a[0]!r} cannot hold driver {a[1]!r}:"
            f" {'nobody reserved them' if a[2] == '' else f'order {a[2]!r} holds them'}"
        )
    if status == "refused":
        raise PaymentRefused(
            f"wallet of {a[0]!r} holds {Decimal(a[1])} {a[3]}, {Decimal(a[2])} needed"
        )
    if status == "mismatch":
        check_same(a[0], a[1], a[2])
    if status == "hold":
        raise ConcurrencyConflict(f"wallet hold {a[0]!r} already exists")
    if status == "nohold":
        raise NotFound(f"no wallet hold {a[0]!r} (order {a[1]!r})")
    raise AssertionError(f"the commit script answered {status!r} {a!r}")
