"""Drivers in Redis: one hash per driver, the available ones in a GEO set per vehicle type.

Keys (``P`` is the prefix):

* ``P:d:<id>`` hash: ``vt`` vehicle type, ``lat``/``lng`` (exact, as
  Python writes floats), ``on`` online, ``at`` last update, ``o`` order
  held (offered or assigned), ``ru`` until when a reservation not yet
  confirmed by its order holds (Redis time, ms; 0 once confirmed), ``b``
  blocked (by his ratings), ``su`` suspended (by an operator; absent in
  hashes written before suspensions), ``rs``/``rc`` rating sum and count, ``sn`` when his phone was
  last heard from (``at`` in hashes written before presence), ``pr``
  presence (empty: present, ``s`` silent, ``u`` unreachable), ``or`` why
  the service put him offline;
* ``P:lease`` sorted set: driver -> ``ru`` of the unconfirmed reservations;
* ``P:g:<vehicle type>`` GEO set of the *available* drivers of that type;
* ``P:vts`` set of the vehicle types seen;
* ``P:hp`` and ``P:ha`` sorted sets of the online drivers, present and not,
  scored by when they were last heard from (microseconds since the
  epoch): the sweep of silent drivers reads their oldest end, and a
  search leaves out the present ones older than its cut-off (those not
  yet marked silent).

Redis measures GEO distances on its own sphere (radius 6 372 797.56 m,
against 6 371 008.8 m here) from positions rounded to a 52-bit geohash
(well under a metre).  So GEOSEARCH only proposes candidates within a
slightly larger radius; the exact positions then decide with
:func:`~vtc_dispatch.geo.haversine_km`, as the in-memory registry does.
Counting spares most of that work: drivers whose Redis distance is surely
inside (by more than the error) are counted in the script, and only those
near the edge are measured here.  ``docs/redis.md`` has the measurement.

Positions must lie within Redis's GEO latitudes (+-85.05112878 degrees):
others are refused with :class:`~vtc_dispatch.errors.InvalidCoordinates`.

Every script declares in KEYS the keys Python can name (Redis Cluster
routes on them, and holds back a script whose declared keys are being
moved to another node).  A driver's GEO set is named by the type stored
in his hash: it is declared by the type this process last read or wrote
for him (:meth:`RedisDriverRegistry.keys_of`).  Only the stored data
names the drivers a search finds and the reservations it gives up, and
the GEO sets of every type when no type is asked (a count always): with a
hash tag in the prefix they are in the slot of the declared keys
(``docs/redis.md``, "Redis Cluster").
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple, cast

from vtc_dispatch.codec import datetime_from_data, datetime_to_data
from vtc_dispatch.errors import ConcurrencyConflict, InvalidCoordinates, NotFound
from vtc_dispatch.geo import LatLng, haversine_km
from vtc_dispatch.geo.index import check_count_cap, check_k, check_radius
from vtc_dispatch.geo.sphere import EARTH_RADIUS_KM
from vtc_dispatch.order import DriverStatus, Presence
from vtc_dispatch.ports import check_limit
from vtc_dispatch.validation import check_instant
from vtc_dispatch_redis.connection import RedisClient, RedisSettings, guarded, to_us

__all__ = [
    "GEO_MAX_LAT",
    "PRESENCE_CODES",
    "REDIS_EARTH_RADIUS_KM",
    "RedisDriverRegistry",
    "check_geo",
    "presence_code",
]

GEO_MAX_LAT = 85.05112878
"""Highest absolute latitude Redis accepts in a GEO set."""
REDIS_EARTH_RADIUS_KM = 6372.797560856
"""The sphere of Redis's GEO commands."""
_SCALE = REDIS_EARTH_RADIUS_KM / EARTH_RADIUS_KM
_EDGE_KM = 0.002
"""Bound on how far a geohash-rounded position may lie from the exact one (measured < 0.5 m)."""
_SLACK = 8
"""Candidates asked beyond k: ranks may swap between drivers less than a metre apart."""

HOLD_LUA = """
-- DriverStatus.available from a driver's fields: online, holding no order, not blocked
-- by his ratings, present, not suspended (fields missing from older hashes: false).
local function offerable(on, order, blocked, presence, suspended)
  return on == '1' and (order or '') == '' and blocked ~= '1' and (presence or '') == ''
    and suspended ~= '1'
end
local function free_driver(p, d)
  local k = p .. ':d:' .. d
  local s = redis.call('HMGET', k, 'on', 'b', 'vt', 'lat', 'lng', 'pr', 'su')
  redis.call('HSET', k, 'o', '', 'ru', 0)
  redis.call('ZREM', p .. ':lease', d)
  if offerable(s[1], '', s[2], s[6], s[7]) then
    redis.call('GEOADD', p .. ':g:' .. s[3], s[5], s[4], d)
  end
end
-- The online drivers by when they were last heard from, present ones apart.
local function heard(p, d, online, presence, us)
  if online and presence == '' then
    redis.call('ZADD', p .. ':hp', us, d)
    redis.call('ZREM', p .. ':ha', d)
  elseif online then
    redis.call('ZREM', p .. ':hp', d)
    redis.call('ZADD', p .. ':ha', us, d)
  else
    redis.call('ZREM', p .. ':hp', d)
    redis.call('ZREM', p .. ':ha', d)
  end
end
-- The present drivers last heard from before the cut-off (microseconds; '': none).
local function quiet(p, cutoff)
  local found = {}
  if cutoff ~= '' then
    for _, d in ipairs(redis.call('ZRANGEBYSCORE', p .. ':hp', '-inf', '(' .. cutoff)) do
      found[d] = true
    end
  end
  return found
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""
"""Lua shared with the order scripts: free a driver; Redis's clock in milliseconds."""

# KEYS driver hash, [GEO set of the type last seen], leases, GEO set of vt, types, heard
# present, heard absent; ARGV prefix, id, vt, lat, lng, online, at, blocked,
# order mode (set/keep/cas), order, expected order, ratings mode (set/delta), rs, rc,
# seen, seen (microseconds), presence, offline reason, suspended
_PUT = (
    HOLD_LUA
    + """
local p, id, vt = ARGV[1], ARGV[2], ARGV[3]
local old = redis.call('HMGET', KEYS[1], 'vt', 'o', 'rs', 'rc')
local order = ARGV[10]
if ARGV[9] == 'keep' then
  order = old[2] or ''
elseif ARGV[9] == 'cas' and (old[2] or '') ~= ARGV[11] then
  return {0, old[2] or ''}
end
local rs, rc = ARGV[13], ARGV[14]
if ARGV[12] == 'delta' then
  rs = (tonumber(old[3]) or 0) + tonumber(rs)
  rc = (tonumber(old[4]) or 0) + tonumber(rc)
end
redis.call('HSET', KEYS[1], 'vt', vt, 'lat', ARGV[4], 'lng', ARGV[5], 'on', ARGV[6],
  'at', ARGV[7], 'b', ARGV[8], 'o', order, 'rs', rs, 'rc', rc, 'sn', ARGV[15],
  'pr', ARGV[17], 'or', ARGV[18], 'su', ARGV[19])
if ARGV[9] ~= 'keep' then
  redis.call('HSET', KEYS[1], 'ru', 0)
  redis.call('ZREM', p .. ':lease', id)
end
heard(p, id, ARGV[6] == '1', ARGV[17], ARGV[16])
if old[1] and old[1] ~= vt then redis.call('ZREM', p .. ':g:' .. old[1], id) end
if offerable(ARGV[6], order, ARGV[8], ARGV[17], ARGV[19]) then
  redis.call('GEOADD', p .. ':g:' .. vt, ARGV[5], ARGV[4], id)
  redis.call('SADD', p .. ':vts', vt)
else
  redis.call('ZREM', p .. ':g:' .. vt, id)
end
return {1, order, tostring(rs), tostring(rc)}
"""
)

# KEYS driver hash, [GEO set of the type last seen], leases; ARGV prefix, id, order, lease (ms)
_RESERVE = (
    HOLD_LUA
    + """
local s = redis.call('HMGET', KEYS[1], 'on', 'o', 'b', 'vt', 'pr', 'su')
if not offerable(s[1], s[2], s[3], s[5], s[6]) then return 0 end
local until_ms = now_ms() + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'o', ARGV[3], 'ru', until_ms)
redis.call('ZADD', ARGV[1] .. ':lease', until_ms, ARGV[2])
redis.call('ZREM', ARGV[1] .. ':g:' .. s[4], ARGV[2])
return 1
"""
)

# KEYS driver hash, [GEO set of the type last seen], leases; ARGV prefix, id, order
_RELEASE = (
    HOLD_LUA
    + """
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[3] then return 0 end
free_driver(ARGV[1], ARGV[2])
return 1
"""
)

# KEYS the types set, leases, heard present, GEO sets of the types asked; ARGV prefix, lng,
# lat, radius km, count, heard cut-off (us, '' for none), n types, types..., excluded...
_NEAREST = (
    HOLD_LUA
    + """
local p = ARGV[1]
-- Reservations never confirmed by an order (their worker died) are given up.
local now = now_ms()
for _, d in ipairs(redis.call('ZRANGEBYSCORE', p .. ':lease', '-inf', now, 'LIMIT', 0, 20)) do
  local ru = tonumber(redis.call('HGET', p .. ':d:' .. d, 'ru') or '0')
  if ru > 0 and ru <= now then
    free_driver(p, d)
  else
    redis.call('ZREM', p .. ':lease', d)
  end
end
local n = tonumber(ARGV[7])
local types = {}
if n == 0 then
  types = redis.call('SMEMBERS', KEYS[1])
else
  for i = 1, n do types[i] = ARGV[7 + i] end
end
local skip = quiet(p, ARGV[6])
local more = 0
for _ in pairs(skip) do more = more + 1 end
for i = 8 + n, #ARGV do skip[ARGV[i]] = true end
local out = {}
local radius, wanted = tonumber(ARGV[4]), tonumber(ARGV[5]) + more
for _, vt in ipairs(types) do
  -- GEOSEARCH sorts every member within the radius: in a dense city, look
  -- close first and widen only when too few are found.
  local r = math.min(radius, 0.5)
  local found
  while true do
    found = redis.call('GEOSEARCH', p .. ':g:' .. vt, 'FROMLONLAT', ARGV[2], ARGV[3],
      'BYRADIUS', r, 'km', 'ASC', 'COUNT', wanted)
    if #found >= wanted or r >= radius then break end
    r = math.min(radius, r * 4)
  end
  for _, id in ipairs(found) do
    if not skip[id] then
      local pos = redis.call('HMGET', p .. ':d:' .. id, 'lat', 'lng')
      table.insert(out, id)
      table.insert(out, pos[1])
      table.insert(out, pos[2])
    end
  end
end
return out
"""
)

# KEYS the types set, heard present; ARGV prefix, lng, lat, outer radius km, inner radius
# (Redis km), heard cut-off (us, '' for none), cap ('0': none)
_COUNT = (
    HOLD_LUA
    + """
local p = ARGV[1]
local inner = tonumber(ARGV[5])
local cap = tonumber(ARGV[7])
local skip = quiet(p, ARGV[6])
local more = 0
for _ in pairs(skip) do more = more + 1 end
local out = {}
for _, vt in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  -- With a cap, take any drivers within the radius, only as many as could
  -- reach the cap (ANY stops the scan there: a dense city is not walked
  -- whole); take more only while the cap is not sure to be reached.
  local wanted = 0
  if cap > 0 then wanted = cap + more end
  local sure, seen, edge
  while true do
    local found
    if wanted > 0 then
      found = redis.call('GEOSEARCH', p .. ':g:' .. vt, 'FROMLONLAT', ARGV[2], ARGV[3],
        'BYRADIUS', ARGV[4], 'km', 'WITHDIST', 'COUNT', wanted, 'ANY')
    else
      found = redis.call('GEOSEARCH', p .. ':g:' .. vt, 'FROMLONLAT', ARGV[2], ARGV[3],
        'BYRADIUS', ARGV[4], 'km', 'WITHDIST')
    end
    sure, seen, edge = 0, 0, {}
    for _, hit in ipairs(found) do
      if not skip[hit[1]] then
        seen = seen + 1
        if tonumber(hit[2]) <= inner then
          sure = sure + 1
        else
          table.insert(edge, hit[1])
        end
      end
    end
    if wanted == 0 or #found < wanted or sure >= cap then break end
    wanted = wanted * 4
  end
  if seen > 0 then
    local positions = {}
    if sure < cap or cap == 0 then
      for _, id in ipairs(edge) do
        local pos = redis.call('HMGET', p .. ':d:' .. id, 'lat', 'lng')
        table.insert(positions, pos[1])
        table.insert(positions, pos[2])
      end
    end
    table.insert(out, vt)
    table.insert(out, sure)
    table.insert(out, positions)
  end
end
return out
"""
)

# KEYS[1] the sorted set of the present (hp) or absent (ha) drivers; ARGV prefix, before
# (us, excluded), limit, '1' for the drivers holding no order only
_HEARD = """
local out = {}
local limit = tonumber(ARGV[3])
local ids
if ARGV[4] == '1' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, limit)
end
for _, d in ipairs(ids) do
  if #out >= 2 * limit then break end
  local h = redis.call('HGETALL', ARGV[1] .. ':d:' .. d)
  local free = true
  if ARGV[4] == '1' then
    for i = 1, #h, 2 do
      if h[i] == 'o' and h[i + 1] ~= '' then free = false end
    end
  end
  if #h > 0 and free then
    table.insert(out, d)
    table.insert(out, h)
  end
end
return out
"""

# KEYS present, absent (the online drivers by when they were heard from); ARGV prefix, limit
_ONLINE = """
local out = {}
local limit = tonumber(ARGV[2])
for k = 1, 2 do
  for _, d in ipairs(redis.call('ZREVRANGE', KEYS[k], 0, limit - 1)) do
    local h = redis.call('HGETALL', ARGV[1] .. ':d:' .. d)
    if #h > 0 then
      table.insert(out, d)
      table.insert(out, h)
    end
  end
end
return out
"""


PRESENCE_CODES: dict[str, Presence] = {
    "": Presence.PRESENT,
    "s": Presence.SILENT,
    "u": Presence.UNREACHABLE,
}
"""A driver hash's ``pr`` field and what it stands for."""
_CODES = {presence: code for code, presence in PRESENCE_CODES.items()}


def presence_code(presence: Presence) -> str:
    """The ``pr`` field of a presence.

    >>> presence_code(Presence.SILENT), presence_code(Presence.PRESENT)
    ('s', '')
    """
    return _CODES[presence]


def _cutoff(seen_since: datetime | None) -> str:
    """The heard cut-off the scripts take: microseconds, or ``''`` for none."""
    return "" if seen_since is None else str(to_us(check_instant(seen_since, "seen_since")))


class _Seen(NamedTuple):
    order_id: str | None
    rating_sum: int
    rating_count: int


def _time(stored: str) -> datetime:
    return datetime_from_data(int(stored) if stored.isdigit() else stored)


def _check_radius(max_km: float) -> float:
    # Any two points are within half a great circle: "anywhere" is that far for GEOSEARCH.
    return min(check_radius(max_km), math.pi * EARTH_RADIUS_KM)


def check_geo(position: LatLng) -> None:
    """InvalidCoordinates for a position beyond Redis's GEO latitudes.

    >>> check_geo(LatLng(89.0, 0.0))
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCoordinates: Redis GEO sets hold latitudes within ..., got 89.0
    """
    if abs(position.lat) > GEO_MAX_LAT:
        raise InvalidCoordinates(
            f"Redis GEO sets hold latitudes within +-{GEO_MAX_LAT}, got {position.lat}"
        )


class RedisDriverRegistry:
    """The :class:`~vtc_dispatch.ports.DriverRegistry` in Redis, shared by every worker.

    :meth:`reserve` and :meth:`release` are scripts, so of several workers
    reserving one driver exactly one wins.  A reservation is confirmed
    when the :class:`~vtc_dispatch_redis.orders.RedisOrderRepository` of
    the same prefix saves the order with an offer to that driver (or with
    the driver assigned); one not confirmed within
    ``settings.reservation_lease_s`` (its worker died between the two) is
    given up by the next search.  Likewise a save of an order that no
    longer names a driver it held frees that driver in the same script.  :meth:`put` writes what the
    caller changed since *its* last :meth:`get` of that driver: the service
    reads a driver, changes a field (position, online) and writes it back,
    while another worker may reserve or release that driver in between.
    So a put keeps the stored order unless the caller changed the order
    itself (then it must still be the one read, else
    :class:`~vtc_dispatch.errors.ConcurrencyConflict`), and adds the
    caller's new ratings to the stored ones.  A put of a driver this
    process never read writes the status as it is.
    """

    def __init__(self, client: RedisClient, settings: RedisSettings) -> None:
        self._client = client
        self._p = settings.prefix
        self._lease_ms = round(settings.reservation_lease_s * 1000)
        self._lease = f"{self._p}:lease"
        self._put = client.register_script(_PUT)
        self._reserve = client.register_script(_RESERVE)
        self._release = client.register_script(_RELEASE)
        self._nearest = client.register_script(_NEAREST)
        self._count = client.register_script(_COUNT)
        self._heard = client.register_script(_HEARD)
        self._online = client.register_script(_ONLINE)
        self._seen: dict[str, _Seen] = {}
        self._types: dict[str, str] = {}
        self._types_view = MappingProxyType(self._types)
        self._lock = threading.Lock()

    def _key(self, driver_id: str) -> str:
        return f"{self._p}:d:{driver_id}"

    def keys_of(self, driver_id: str) -> list[str]:
        """The driver's hash, and the GEO set of the type this process last read or wrote
        for him (if any): the keys a script on him touches that Python can name (leases
        aside)."""
        vt = self._types.get(driver_id)
        own = f"{self._p}:d:{driver_id}"
        return [own] if vt is None else [own, f"{self._p}:g:{vt}"]

    @property
    def last_types(self) -> Mapping[str, str]:
        """The vehicle type this process last read or wrote for each driver (the GEO set
        a script on him touches, see :meth:`keys_of`); read-only."""
        return self._types_view

    def get(self, driver_id: str) -> DriverStatus:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with guarded(f"reading driver {driver_id!r}"):
            h = cast(dict[str, str], self._client.hgetall(self._key(driver_id)))
        return self.status_from_hash(driver_id, h)

    def status_from_hash(self, driver_id: str, h: dict[str, str]) -> DriverStatus:
        """The status stored in the driver's hash ``h`` (NotFound when empty)."""
        if not h:
            raise NotFound(f"no driver {driver_id!r}")
        updated_at = _time(h["at"])
        seen = h.get("sn")
        # Positional: every fix of a batch reads its driver's hash.
        status = DriverStatus(
            driver_id,
            h["vt"],
            LatLng(float(h["lat"]), float(h["lng"])),
            h["on"] == "1",
            updated_at,
            h["o"] or None,
            h["b"] == "1",
            int(h["rs"]),
            int(h["rc"]),
            updated_at if seen is None or seen == h["at"] else _time(seen),
            PRESENCE_CODES[h.get("pr", "")],
            h.get("or") or None,
            h.get("su") == "1",
        )
        with self._lock:
            self._seen[driver_id] = _Seen(status.order_id, status.rating_sum, status.rating_count)
        self._types[driver_id] = status.vehicle_type
        return status

    def put(self, status: DriverStatus) -> None:
        """See :class:`~vtc_dispatch.ports.DriverRegistry` and the class docstring."""
        check_geo(status.position)
        driver_id = status.driver_id
        with self._lock:
            seen = self._seen.get(driver_id)
        order = status.order_id or ""
        if seen is None:
            order_mode, expected = "set", ""
            ratings_mode, rs, rc = "set", status.rating_sum, status.rating_count
        else:
            order_mode = "keep" if status.order_id == seen.order_id else "cas"
            expected = seen.order_id or ""
            ratings_mode = "delta"
            rs = status.rating_sum - seen.rating_sum
            rc = status.rating_count - seen.rating_count
        at = datetime_to_data(status.updated_at)
        heard_at = status.seen_at
        with guarded(f"storing driver {driver_id!r}"):
            done, stored, *totals = self._put(
                keys=[
                    *self.keys_of(driver_id),
                    self._lease,
                    f"{self._p}:g:{status.vehicle_type}",
                    f"{self._p}:vts",
                    f"{self._p}:hp",
                    f"{self._p}:ha",
                ],
                args=[
                    self._p,
                    driver_id,
                    status.vehicle_type,
                    repr(status.position.lat),
                    repr(status.position.lng),
                    "1" if status.online else "0",
                    str(at),
                    "1" if status.blocked else "0",
                    order_mode,
                    order,
                    expected,
                    ratings_mode,
                    rs,
                    rc,
                    str(datetime_to_data(heard_at)),
                    to_us(heard_at),
                    presence_code(status.presence),
                    status.offline_reason or "",
                    "1" if status.suspended else "0",
                ],
            )
        if not done:
            with self._lock:
                self._seen.pop(driver_id, None)
            raise ConcurrencyConflict(
                f"driver {driver_id!r} now holds order {stored or None!r},"
                f" not {seen.order_id if seen else None!r}: reload and retry"
            )
        with self._lock:
            self._seen[driver_id] = _Seen(stored or None, int(totals[0]), int(totals[1]))
        self._types[driver_id] = status.vehicle_type

    def _remember_order(self, driver_id: str, order_id: str | None) -> None:
        with self._lock:
            seen = self._seen.get(driver_id)
            if seen is not None:
                self._seen[driver_id] = seen._replace(order_id=order_id)

    def reserve(self, driver_id: str, order_id: str) -> bool:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with guarded(f"reserving driver {driver_id!r}"):
            won = bool(
                self._reserve(
                    keys=[*self.keys_of(driver_id), self._lease],
                    args=[self._p, driver_id, order_id, self._lease_ms],
                )
            )
        if won:
            self._remember_order(driver_id, order_id)
        return won

    def release(self, driver_id: str, order_id: str) -> None:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        with guarded(f"releasing driver {driver_id!r}"):
            freed = self._release(
                keys=[*self.keys_of(driver_id), self._lease], args=[self._p, driver_id, order_id]
            )
        if freed:
            self._remember_order(driver_id, None)

    def nearest_available(
        self,
        point: LatLng,
        k: int,
        max_km: float,
        vehicle_types: Collection[str] | None = None,
        exclude: Collection[str] = (),
        *,
        seen_since: datetime | None = None,
    ) -> list[tuple[str, float]]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry`."""
        check_k(k)
        max_km = _check_radius(max_km)
        check_geo(point)
        cutoff = _cutoff(seen_since)
        types = [] if vehicle_types is None else list(vehicle_types)
        if k == 0 or (vehicle_types is not None and not types):
            return []
        excluded = list(exclude)
        search_km = (max_km + _EDGE_KM) * _SCALE
        with guarded("searching the nearest drivers"):
            flat = self._nearest(
                keys=[
                    f"{self._p}:vts",
                    self._lease,
                    f"{self._p}:hp",
                    *(f"{self._p}:g:{t}" for t in types),
                ],
                args=[
                    self._p,
                    point.lng,
                    point.lat,
                    repr(search_km),
                    k + len(excluded) + _SLACK,
                    cutoff,
                    len(types),
                    *types,
                    *excluded,
                ],
            )
        found = []
        for i in range(0, len(flat), 3):
            if flat[i + 1] is None:
                continue  # the driver's hash went away: nothing to offer
            km = haversine_km(point, LatLng(float(flat[i + 1]), float(flat[i + 2])))
            if km <= max_km:
                found.append((flat[i], km))
        found.sort(key=lambda pair: (pair[1], pair[0]))
        return found[:k]

    def count_available(
        self,
        point: LatLng,
        max_km: float,
        *,
        cap: int | None = None,
        seen_since: datetime | None = None,
    ) -> dict[str, int]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry` (the cap is applied to exact counts)."""
        max_km = _check_radius(max_km)
        check_count_cap(cap)
        check_geo(point)
        cutoff = _cutoff(seen_since)
        outer = (max_km + _EDGE_KM) * _SCALE
        # Redis rounds WITHDIST to 0.1 m, well within the margin; below it nothing is sure.
        inner = (max_km - _EDGE_KM) * _SCALE if max_km > _EDGE_KM else -1.0
        with guarded("counting the available drivers"):
            flat = self._count(
                keys=[f"{self._p}:vts", f"{self._p}:hp"],
                args=[
                    self._p,
                    point.lng,
                    point.lat,
                    repr(outer),
                    repr(inner),
                    cutoff,
                    0 if cap is None else cap,
                ],
            )
        counts: dict[str, int] = {}
        for i in range(0, len(flat), 3):
            edge = flat[i + 2]
            count = int(flat[i + 1]) + sum(
                1
                for j in range(0, len(edge), 2)
                if edge[j] is not None
                and haversine_km(point, LatLng(float(edge[j]), float(edge[j + 1]))) <= max_km
            )
            if count:
                counts[flat[i]] = count if cap is None else min(count, cap)
        return counts

    def heard_before(
        self, before: datetime, *, present: bool, limit: int = 500
    ) -> list[DriverStatus]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry` (one script)."""
        cutoff = to_us(check_instant(before, "before"))
        which = "hp" if present else "ha"
        with guarded("finding the drivers not heard from"):
            flat = self._heard(
                keys=[f"{self._p}:{which}"],
                args=[self._p, cutoff, limit, "0" if present else "1"],
            )
        return self._statuses(flat)

    def online_drivers(self, *, limit: int = 10_000) -> list[DriverStatus]:
        """See :class:`~vtc_dispatch.ports.DriverRegistry` (one script: the most recently
        heard from of the present and of the absent, merged here)."""
        if check_limit(limit) == 0:
            return []
        with guarded("listing the online drivers"):
            flat = self._online(keys=[f"{self._p}:hp", f"{self._p}:ha"], args=[self._p, limit])
        online = self._statuses(flat)
        online.sort(key=lambda status: status.seen_at, reverse=True)
        return online[:limit]

    def _statuses(self, flat: list[Any]) -> list[DriverStatus]:
        """The statuses of a script's reply: driver ids, each followed by his hash's fields."""
        return [
            self.status_from_hash(
                flat[i], dict(zip(flat[i + 1][::2], flat[i + 1][1::2], strict=True))
            )
            for i in range(0, len(flat), 2)
        ]
