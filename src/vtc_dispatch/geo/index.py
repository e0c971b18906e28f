"""The live index of online drivers: nearest drivers and counts by real distance.

Choice of structure (measured with ``python -m bench geo``; figures in the
README): per vehicle type, the Earth is cut into latitude bands
(``row_deg`` high, about 330 m by default) and each band keeps its drivers
sorted by longitude in packed arrays: ``array('d')`` of longitudes, of
unit-sphere vectors ``(x, y, z)`` and of what :func:`haversine_km` needs,
plus a list of ids.

* A move rewrites a driver's slot in place when its longitude order does
  not change, and is otherwise a delete and an ``insort`` (a short
  ``memmove`` in C), so an update costs a few microseconds where a naive
  R-tree pays a delete and an insert.
* A query takes the bounding box of the spherical cap around the pickup
  (exact, including boxes that wrap over the antimeridian or cover a pole);
  two bisections per band give the drivers inside the box as contiguous
  slices, so no empty cell is ever visited and no driver outside the
  box's longitudes is scanned.  Drivers are ranked by the dot product of
  unit vectors (monotone in great-circle distance) and only the few that
  can be among the ``k`` nearest are measured with :func:`haversine_km`.
  The first box is sized from the density the previous query saw.
* ``count_within`` counts the drivers whose whole band lies inside the
  circle at their longitude by bisection alone; only drivers near the
  circle's edge are measured.

A grid of square cells was measured first: 1.7x slower on queries (every
cell costs a lookup and a scan set-up whatever it holds) and 20x slower
on counts.  Numpy per-cell arrays were no faster for the few dozen drivers
a query looks at, and slower to update.  An R-tree (rtree, shapely)
remains the right tool for the zone polygons of
:mod:`vtc_dispatch.geo.zones`, which rarely change.

Results equal a brute-force sort by ``(haversine_km, driver_id)`` exactly:
the dot-product filter keeps a safety margin (``_MARGIN_RAD``, 6 m) far
larger than floating-point error, and every driver that can be in the
answer is measured with :func:`haversine_km` itself.

>>> from vtc_dispatch.geo import LatLng
>>> index = DriverIndex()
>>> index.upsert("d1", LatLng(4.0500, 9.7000), "taxi_jaune")
>>> index.upsert("d2", LatLng(4.0600, 9.7000), "confort")
>>> index.upsert("d3", LatLng(4.0520, 9.7010), "taxi_jaune")
>>> [(d, round(km, 3)) for d, km in index.nearest(LatLng(4.05, 9.70), k=5, max_km=3.0)]
[('d1', 0.0), ('d3', 0.249), ('d2', 1.112)]
>>> index.nearest(LatLng(4.05, 9.70), k=5, max_km=3.0, vehicle_types={"confort"})
[('d2', 1.111950...)]
>>> index.count_within(LatLng(4.05, 9.70), max_km=1.0)
{'taxi_jaune': 2}
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Iterator, Sequence

from vtc_dispatch.errors import InvalidArgument, InvalidCoordinates, UnknownDriver, shown
from vtc_dispatch.geo.sphere import EARTH_RADIUS_KM, LatLng, _haversine_parts, check_point

__all__ = [
    "DEFAULT_ROW_DEG",
    "DriverIndex",
    "check_count_cap",
    "check_k",
    "check_radius",
]

DEFAULT_ROW_DEG = 0.003
"""Default height of a latitude band in degrees (about 330 m)."""

_RAD = math.pi / 180.0
_DEG = 180.0 / math.pi
_HALF_PI = math.pi / 2.0
# Slack between the cheap dot-product test and the exact haversine_km test.
# It only widens the set that gets measured exactly, so it may be generous;
# it must stay far above the float error of a dot product of unit vectors
# (about 3e-8 rad for nearly equal points).
_MARGIN_RAD = 1e-6
# Boxes are widened by this much (degrees, about 1 cm) so that a point
# rounding onto a border is never missed.
_PAD_DEG = 1e-7
# Keys of unit vectors lie in [-1, 1] give or take rounding; excluded
# drivers get a key above every threshold.
_EXCLUDED_KEY = math.inf

_Interval = tuple[float, float]


class _Band:
    """Drivers of one vehicle type in one latitude band, sorted by longitude."""

    __slots__ = ("geo", "ids", "lngs", "xyz")

    def __init__(self) -> None:
        self.lngs = array("d")
        self.ids: list[str] = []
        # Unit vector (x, y, z) per driver, scanned by every query.
        self.xyz = array("d")
        # Latitude in radians and its cosine per driver: with the longitude,
        # what haversine_km needs, read only for the best few.
        self.geo = array("d")

    def slot_of(self, driver_id: str, lng: float) -> int:
        i = bisect_left(self.lngs, lng)
        ids = self.ids
        while ids[i] != driver_id:
            i += 1
        return i

    def move(
        self,
        driver_id: str,
        old_lng: float,
        lng: float,
        x: float,
        y: float,
        z: float,
        phi: float,
        cos_phi: float,
    ) -> None:
        """The driver stored at ``old_lng`` moves to ``lng`` (and these coordinates) within
        the band: his neighbours between his old and new slots shift over by one.

        A fix moves a driver by a few slots at most: shifting them costs less
        than taking him out of four arrays and putting him back.  Every fix of
        a driver who stays in his band comes here, hence one method.
        """
        lngs = self.lngs
        ids = self.ids
        i = bisect_left(lngs, old_lng)
        while ids[i] != driver_id:
            i += 1
        if i + 1 < len(lngs) and lngs[i + 1] < lng:
            j = bisect_right(lngs, lng, i + 1) - 1
            lngs[i:j] = lngs[i + 1 : j + 1]
            ids[i:j] = ids[i + 1 : j + 1]
            self.xyz[3 * i : 3 * j] = self.xyz[3 * i + 3 : 3 * j + 3]
            self.geo[2 * i : 2 * j] = self.geo[2 * i + 2 : 2 * j + 2]
            ids[j] = driver_id
            i = j
        elif i > 0 and lngs[i - 1] > lng:
            j = bisect_left(lngs, lng, 0, i)
            lngs[j + 1 : i + 1] = lngs[j:i]
            ids[j + 1 : i + 1] = ids[j:i]
            self.xyz[3 * j + 3 : 3 * i + 3] = self.xyz[3 * j : 3 * i]
            self.geo[2 * j + 2 : 2 * i + 2] = self.geo[2 * j : 2 * i]
            ids[j] = driver_id
            i = j
        lngs[i] = lng
        xyz = self.xyz
        k = 3 * i
        xyz[k] = x
        xyz[k + 1] = y
        xyz[k + 2] = z
        geo = self.geo
        geo[2 * i] = phi
        geo[2 * i + 1] = cos_phi


class _Entry:
    """Where a driver is stored, and its position as given."""

    __slots__ = ("band", "position", "row", "vehicle_type")

    def __init__(self, vehicle_type: str, row: int, position: LatLng, band: _Band):
        self.vehicle_type = vehicle_type
        self.row = row
        self.position = position
        # The band of (vehicle_type, row), kept so that a fix looks up neither.
        self.band = band


def _query_vector(point: LatLng) -> tuple[float, float, float]:
    """Minus the unit vector: its dot product with a driver's is ``-cos(angle)``."""
    phi = point.lat * _RAD
    lam = point.lng * _RAD
    c = math.cos(phi)
    return (-c * math.cos(lam), -c * math.sin(lam), -math.sin(phi))


def _neg_cos(angle_rad: float) -> float:
    """``-cos(angle)``, the ranking key; below every key under 0, above all near pi."""
    if angle_rad < 0.0:
        return -2.0
    if angle_rad >= math.pi - 1e-3:
        # Near the antipode the cosine flattens and stops separating angles.
        return 2.0
    return -math.cos(angle_rad)


def _surely_within(angle_rad: float) -> float:
    """A key under which a driver is surely within ``angle_rad`` (margin taken off).

    Unlike :func:`_neg_cos`, it never saturates near the antipode, where keys
    stop separating angles: there it stays below, and the drivers beyond it
    are measured exactly.
    """
    return _neg_cos(min(angle_rad - _MARGIN_RAD, math.pi - 2e-3))


def _angle_of(neg_cos: float) -> float:
    return math.acos(max(-1.0, min(1.0, -neg_cos)))


def _intervals(lng: float, half_width_deg: float) -> list[_Interval]:
    """Longitudes within ``half_width_deg`` of ``lng`` as non-wrapping intervals."""
    if half_width_deg >= 180.0:
        return [(-180.0, 180.0)]
    lo = lng - half_width_deg
    hi = lng + half_width_deg
    if lo < -180.0:
        return [(-180.0, hi), (lo + 360.0, 180.0)]
    if hi >= 180.0:
        return [(lo, 180.0), (-180.0, hi - 360.0)]
    return [(lo, hi)]


def _cap_half_width_deg(lat_rad: float, q_lat_rad: float, angle_rad: float) -> float:
    """Half-width in longitude of the cap at one latitude; -1 when it misses it.

    Solves ``cos(angle) = sin(lat) sin(q) + cos(lat) cos(q) cos(dlng)``.
    """
    denominator = math.cos(lat_rad) * math.cos(q_lat_rad)
    numerator = math.cos(angle_rad) - math.sin(lat_rad) * math.sin(q_lat_rad)
    if denominator <= 1e-15:
        # At a pole every longitude is the same point.
        return 180.0 if numerator <= 0.0 else -1.0
    c = numerator / denominator
    if c >= 1.0:
        return 0.0 if c == 1.0 else -1.0
    if c <= -1.0:
        return 180.0
    return math.acos(c) * _DEG


def _scan(segments: list[tuple[_Band, int, int]], qx: float, qy: float, qz: float) -> list[float]:
    """Ranking keys of the drivers of each ``(band, lo, hi)`` slice, in order."""
    return [
        x * qx + y * qy + z * qz
        for band, lo, hi in segments
        for x, y, z in zip(*[iter(band.xyz[3 * lo : 3 * hi])] * 3, strict=True)
    ]


def _distance_km(phi1: float, cos_phi1: float, lng1: float, band: _Band, slot: int) -> float:
    """:func:`haversine_km` from a point (latitude in radians, its cosine,
    longitude in degrees) to the driver of ``band`` at ``slot``."""
    geo = band.geo
    return _haversine_parts(phi1, cos_phi1, lng1, geo[2 * slot], geo[2 * slot + 1], band.lngs[slot])


def _without(lo: int, hi: int, holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The slots ``[lo, hi)`` less the ``holes``, as ranges."""
    parts = [(lo, hi)]
    for h_lo, h_hi in holes:
        parts = [
            piece
            for p_lo, p_hi in parts
            for piece in ((p_lo, min(p_hi, h_lo)), (max(p_lo, h_hi), p_hi))
            if piece[0] < piece[1]
        ]
    return parts


def check_count_cap(cap: int | None) -> None:
    """Refuse a count cap that is not ``None`` or an integer >= 1 (every
    :meth:`~vtc_dispatch.ports.DriverRegistry.count_available` checks it so).

    >>> check_count_cap(0)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: cap must be an integer >= 1 or None, got 0
    """
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise InvalidArgument(
            f"cap must be an integer >= 1 or None, got {shown(cap)}", argument="cap"
        )


def check_radius(max_km: float) -> float:
    """``max_km`` as a float: a number >= 0 (``math.inf``: anywhere), else InvalidCoordinates.

    Every :class:`~vtc_dispatch.ports.DriverRegistry` checks its radii so.

    >>> check_radius(3), check_radius(float("inf"))
    (3.0, inf)
    >>> check_radius(float("nan"))
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCoordinates: max_km must be a number >= 0, got nan
    """
    if isinstance(max_km, bool) or not isinstance(max_km, int | float) or not max_km >= 0.0:
        raise InvalidCoordinates(f"max_km must be a number >= 0, got {shown(max_km)}")
    return float(max_km)


def _bad_driver_id(driver_id: object) -> InvalidArgument:
    return InvalidArgument(
        f"driver_id must be a non-empty string, got {shown(driver_id)}", argument="driver_id"
    )


def _bad_codes(argument: str, value: object) -> InvalidArgument:
    return InvalidArgument(
        f"{argument} must be a collection of strings, got {shown(value)}", argument=argument
    )


def _excluded(exclude: Collection[str]) -> frozenset[str] | None:
    """The driver ids to leave out, ``None`` for none."""
    if isinstance(exclude, frozenset):
        return exclude or None
    if isinstance(exclude, str):
        raise _bad_codes("exclude", exclude)
    try:
        return frozenset(exclude) or None
    except TypeError:  # not iterable, or an unhashable id
        raise _bad_codes("exclude", exclude) from None


def check_k(k: int) -> int:
    """``k`` (how many drivers to find): an integer >= 0, else InvalidCoordinates.

    >>> check_k(-1)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCoordinates: k must be an integer >= 0, got -1
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise InvalidCoordinates(f"k must be an integer >= 0, got {shown(k)}")
    return k


class DriverIndex:
    """Positions and vehicle types of online drivers, queryable by distance.

    Driver ids are strings; ties in distance are broken by id.  Not
    thread-safe: the owner of an index serialises access to it.

    ``row_deg`` is the height of the latitude bands in degrees; the
    default suits city densities from a few hundred to a few hundred
    thousand drivers.
    """

    __slots__ = ("_density", "_drivers", "_grids", "_inv", "_nrows", "_row_deg")

    def __init__(self, *, row_deg: float = DEFAULT_ROW_DEG) -> None:
        if not (isinstance(row_deg, int | float) and 1e-4 <= row_deg <= 10.0):
            raise InvalidCoordinates(f"row_deg must be within [0.0001, 10], got {shown(row_deg)}")
        self._row_deg = float(row_deg)
        self._inv = 1.0 / self._row_deg
        self._nrows = math.ceil(180.0 * self._inv)
        self._drivers: dict[str, _Entry] = {}
        self._grids: dict[str, dict[int, _Band]] = {}
        # Drivers per square radian around the last pickups: sizes the
        # first box of the next query (a hint, never affects results).
        self._density = 0.0

    # -- maintenance -------------------------------------------------------

    def upsert(self, driver_id: str, position: LatLng, vehicle_type: str) -> None:
        """Add a driver or move it (and change its vehicle type if needed).

        >>> index = DriverIndex()
        >>> index.upsert("d1", LatLng(4.05, 9.70), "confort")
        >>> index.upsert("d1", LatLng(4.06, 9.70), "confort")
        >>> index.position("d1")
        LatLng(4.06, 9.7)
        """
        if type(position) is not LatLng:
            raise InvalidCoordinates(f"position must be a LatLng, got {shown(position)}")
        if not (type(vehicle_type) is str and vehicle_type):
            raise InvalidArgument(
                f"vehicle_type must be a non-empty string, got {shown(vehicle_type)}",
                argument="vehicle_type",
            )
        if not (type(driver_id) is str and driver_id):
            raise _bad_driver_id(driver_id)
        lat = position.lat
        lng = position.lng
        row = int((lat + 90.0) * self._inv)
        if row >= self._nrows:
            row = self._nrows - 1
        phi = lat * _RAD
        lam = lng * _RAD
        cos_phi = math.cos(phi)
        x = cos_phi * math.cos(lam)
        y = cos_phi * math.sin(lam)
        z = math.sin(phi)
        entry = self._drivers.get(driver_id)
        if entry is not None:
            if entry.row == row and entry.vehicle_type == vehicle_type:
                entry.band.move(driver_id, entry.position.lng, lng, x, y, z, phi, cos_phi)
                entry.position = position
                return
            self._unlink(driver_id, entry)
        grid = self._grids.get(vehicle_type)
        if grid is None:
            grid = self._grids[vehicle_type] = {}
        target = grid.get(row)
        if target is None:
            target = grid[row] = _Band()
        band = target
        i = bisect_right(band.lngs, lng)
        band.lngs.insert(i, lng)
        band.ids.insert(i, driver_id)
        band.xyz[3 * i : 3 * i] = array("d", (x, y, z))
        band.geo[2 * i : 2 * i] = array("d", (phi, cos_phi))
        if entry is None:
            self._drivers[driver_id] = _Entry(vehicle_type, row, position, band)
        else:
            entry.vehicle_type = vehicle_type
            entry.row = row
            entry.position = position
            entry.band = band

    def _unlink(self, driver_id: str, entry: _Entry) -> None:
        band = entry.band
        i = band.slot_of(driver_id, entry.position.lng)
        del band.lngs[i]
        del band.ids[i]
        del band.xyz[3 * i : 3 * i + 3]
        del band.geo[2 * i : 2 * i + 2]
        if not band.ids:
            grid = self._grids[entry.vehicle_type]
            del grid[entry.row]
            if not grid:
                del self._grids[entry.vehicle_type]

    def remove(self, driver_id: str) -> None:
        """Take a driver out of the index; :class:`UnknownDriver` if absent.

        >>> index = DriverIndex()
        >>> index.remove("ghost")
        Traceback (most recent call last):
        ...
        vtc_dispatch.errors.UnknownDriver: driver 'ghost' is not in the index
        """
        try:
            entry = self._drivers.pop(driver_id, None)
        except TypeError:  # unhashable
            raise _bad_driver_id(driver_id) from None
        if entry is None:
            raise UnknownDriver(f"driver {shown(driver_id)} is not in the index")
        self._unlink(driver_id, entry)

    def discard(self, driver_id: str) -> bool:
        """Remove a driver if present; tell whether it was there."""
        if driver_id not in self:
            return False
        self.remove(driver_id)
        return True

    # -- lookups -----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._drivers)

    def __contains__(self, driver_id: object) -> bool:
        try:
            return driver_id in self._drivers
        except TypeError:  # unhashable: no driver has that id
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._drivers)

    def _entry(self, driver_id: str) -> _Entry:
        try:
            return self._drivers[driver_id]
        except KeyError:
            raise UnknownDriver(f"driver {shown(driver_id)} is not in the index") from None
        except TypeError:  # unhashable
            raise _bad_driver_id(driver_id) from None

    def position(self, driver_id: str) -> LatLng:
        """Last known position of a driver; :class:`UnknownDriver` if absent."""
        return self._entry(driver_id).position

    def vehicle_type(self, driver_id: str) -> str:
        """Vehicle type a driver was indexed with; :class:`UnknownDriver` if absent."""
        return self._entry(driver_id).vehicle_type

    # -- geometry of the search ------------------------------------------

    def _rows(self, lat_lo: float, lat_hi: float) -> range:
        inv = self._inv
        row_lo = max(0, math.floor((lat_lo + 90.0) * inv))
        row_hi = min(self._nrows - 1, math.floor((lat_hi + 90.0) * inv))
        return range(row_lo, row_hi + 1)

    def _box(self, point: LatLng, angle_rad: float) -> tuple[range, list[_Interval]]:
        """Bands and longitude intervals of the bounding box of a spherical cap."""
        half_lat = angle_rad * _DEG + _PAD_DEG
        lat_lo = point.lat - half_lat
        lat_hi = point.lat + half_lat
        if lat_hi >= 90.0 or lat_lo <= -90.0 or angle_rad >= _HALF_PI:
            # The cap holds a pole: every longitude.
            return self._rows(lat_lo, lat_hi), [(-180.0, 180.0)]
        ratio = math.sin(angle_rad) / math.cos(point.lat * _RAD)
        if ratio >= 1.0:
            return self._rows(lat_lo, lat_hi), [(-180.0, 180.0)]
        half_lng = math.asin(ratio) * _DEG + _PAD_DEG
        return self._rows(lat_lo, lat_hi), _intervals(point.lng, half_lng)

    def _grids_for(self, vehicle_types: Iterable[str] | None) -> list[dict[int, _Band]]:
        if vehicle_types is None:
            return list(self._grids.values())
        if isinstance(vehicle_types, str):
            raise _bad_codes("vehicle_types", vehicle_types)
        try:
            return [g for vt in vehicle_types if (g := self._grids.get(vt)) is not None]
        except TypeError:  # not iterable, or an unhashable code
            raise _bad_codes("vehicle_types", vehicle_types) from None

    # -- queries -----------------------------------------------------------

    def nearest(
        self,
        point: LatLng,
        k: int,
        max_km: float,
        vehicle_types: Collection[str] | None = None,
        exclude: Collection[str] = (),
    ) -> list[tuple[str, float]]:
        """The ``k`` nearest drivers within ``max_km`` of ``point``.

        Returns ``(driver_id, distance_km)`` pairs sorted by
        :func:`haversine_km`, ties broken by driver id; fewer than ``k``
        when fewer drivers qualify.  ``vehicle_types`` keeps only those
        types (``None``: all); ``exclude`` drops the given driver ids.

        >>> index = DriverIndex()
        >>> index.nearest(LatLng(0, 0), k=3, max_km=10.0)
        []
        """
        check_point(point)
        check_k(k)
        max_km = check_radius(max_km)
        grids = self._grids_for(vehicle_types)
        excluded = _excluded(exclude)
        if k == 0 or not grids:
            return []
        qx, qy, qz = _query_vector(point)
        max_angle = min(max_km / EARTH_RADIUS_KM, math.pi)
        angle = self._row_deg * _RAD
        if self._density > 0.0:
            # Enough room for about 1.5 k drivers at the density seen last.
            angle = max(angle, math.sqrt(1.5 * k / (math.pi * self._density)))
        angle = min(angle, max_angle)
        while True:
            rows, intervals = self._box(point, angle)
            segments = []
            for grid in grids:
                if len(rows) > len(grid):
                    bands = [(row, band) for row, band in grid.items() if row in rows]
                else:
                    bands = [(row, band) for row in rows if (band := grid.get(row)) is not None]
                for _, band in bands:
                    lngs = band.lngs
                    for a, b in intervals:
                        lo = bisect_left(lngs, a)
                        hi = bisect_right(lngs, b, lo)
                        if lo < hi:
                            segments.append((band, lo, hi))
            found = _scan(segments, qx, qy, qz)
            if excluded:
                self._exclude(found, segments, excluded)
            ranked = sorted(found)
            if angle >= max_angle:
                break
            inside = bisect_right(ranked, _surely_within(angle))
            if inside >= k:
                break
            # Too few: grow the box to fit k at the density just seen.
            density = max(inside, 1) / (math.pi * angle * angle)
            angle = min(max(angle * 1.5, math.sqrt(2.0 * k / (math.pi * density))), max_angle)
        if angle < max_angle and ranked:
            self._density = inside / (math.pi * angle * angle)
        # Every driver that can be in the answer has a key up to `cut`: the
        # margin covers float error, haversine_km decides.
        end = bisect_right(ranked, _neg_cos(max_angle + _MARGIN_RAD))
        if end == 0:
            return []
        cut = ranked[end - 1]
        if end > k:
            cut = min(cut, _neg_cos(_angle_of(ranked[k - 1]) + _MARGIN_RAD))
        phi1 = point.lat * _RAD
        cos_phi1 = math.cos(phi1)
        lng1 = point.lng
        exact = []
        start = 0
        for band, lo, hi in segments:
            for i in range(start, start + hi - lo):
                if found[i] <= cut:
                    slot = lo + i - start
                    d = _distance_km(phi1, cos_phi1, lng1, band, slot)
                    if d <= max_km:
                        exact.append((d, band.ids[slot]))
            start += hi - lo
        exact.sort()
        return [(did, d) for d, did in exact[:k]]

    def _exclude(
        self,
        found: list[float],
        segments: list[tuple[_Band, int, int]],
        excluded: frozenset[str],
    ) -> None:
        """Rank the ``excluded`` drivers of the scanned ``segments`` after every threshold.

        They keep their place in ``found`` (slots must line up).  Each
        excluded driver is located through its entry, so the cost follows
        the few excluded drivers, not the many scanned ones.
        """
        starts: dict[int, list[tuple[int, int, int]]] = {}
        start = 0
        for band, lo, hi in segments:
            starts.setdefault(id(band), []).append((lo, hi, start))
            start += hi - lo
        drivers = self._drivers
        for driver_id in excluded:
            entry = drivers.get(driver_id)
            if entry is None:
                continue
            band = entry.band
            pieces = starts.get(id(band))
            if pieces is None:
                continue
            slot = band.slot_of(driver_id, entry.position.lng)
            for lo, hi, offset in pieces:
                if lo <= slot < hi:
                    found[offset + slot - lo] = _EXCLUDED_KEY
                    break

    def count_within(
        self, point: LatLng, max_km: float, *, cap: int | None = None
    ) -> dict[str, int]:
        """Number of drivers within ``max_km`` of ``point``, per vehicle type.

        Types with no driver in range are left out.  In each band, the
        drivers surely inside the circle are counted by bisection; only
        those near its edge are measured.

        With ``cap``, a count stops at ``cap``: a type with ``cap`` or more
        drivers in range reports ``cap``, fewer are counted exactly.  Bands
        are visited from the circle's middle outwards and a type is done as
        soon as the drivers surely inside reach the cap, so a dense city
        costs a few bisections instead of measuring thousands of drivers.

        >>> index = DriverIndex()
        >>> index.upsert("d1", LatLng(4.05, 9.70), "confort")
        >>> index.count_within(LatLng(4.05, 9.70), 0.0)
        {'confort': 1}
        >>> for i in range(5):
        ...     index.upsert(f"t{i}", LatLng(4.05 + i / 1000, 9.70), "taxi_jaune")
        >>> index.count_within(LatLng(4.05, 9.70), 2.0, cap=3)
        {'confort': 1, 'taxi_jaune': 3}
        """
        check_point(point)
        max_km = check_radius(max_km)
        check_count_cap(cap)
        if not self._drivers:
            return {}
        max_angle = min(max_km / EARTH_RADIUS_KM, math.pi)
        q_lat = point.lat * _RAD
        lng1 = point.lng
        inner_angle = max(0.0, max_angle - _MARGIN_RAD)
        outer_angle = min(math.pi, max_angle + _MARGIN_RAD)
        # Latitude where the cap is widest, if it lies inside a band.
        peak = math.asin(max(-1.0, min(1.0, math.sin(q_lat) / math.cos(outer_angle))))
        rows: Sequence[int]
        rows, _ = self._box(point, max_angle)
        occupied = sum(len(grid) for grid in self._grids.values())
        if len(rows) > occupied:
            # A continent-wide circle: only the bands that hold drivers.
            rows = sorted({row for grid in self._grids.values() for row in grid if row in rows})
        if cap is not None:
            # Widest bands first: they hold the most drivers surely inside.
            middle = (point.lat + 90.0) * self._inv
            rows = sorted(rows, key=lambda row: abs(row + 0.5 - middle))
        row_deg = self._row_deg
        sure_counts = dict.fromkeys(self._grids, 0)
        edges: dict[str, list[tuple[_Band, int, int]]] = {vt: [] for vt in self._grids}
        open_types = dict(self._grids)
        # Half-widths of the circle (outer, inner) at each band boundary: a
        # boundary is shared by the bands on either side.
        widths: dict[int, tuple[float, float]] = {}

        def at_boundary(i: int) -> tuple[float, float]:
            found = widths.get(i)
            if found is None:
                lat = min(_HALF_PI, max(-_HALF_PI, (i * row_deg - 90.0) * _RAD))
                found = widths[i] = (
                    _cap_half_width_deg(lat, q_lat, outer_angle),
                    _cap_half_width_deg(lat, q_lat, inner_angle),
                )
            return found

        for row in rows:
            if not any(row in grid for grid in open_types.values()):
                continue
            # The longitude intervals surely inside the circle in this band,
            # and those that may be (its edges), for every type.
            south_outer, south_inner = at_boundary(row)
            north_outer, north_inner = at_boundary(row + 1)
            south = max(-_HALF_PI, (row * row_deg - 90.0) * _RAD)
            north = min(_HALF_PI, ((row + 1) * row_deg - 90.0) * _RAD)
            outer = max(
                south_outer,
                north_outer,
                _cap_half_width_deg(peak, q_lat, outer_angle) if south < peak < north else -1.0,
            )
            if outer < 0.0:
                continue
            inner = min(south_inner, north_inner)
            inside = _intervals(lng1, inner - _PAD_DEG) if inner > _PAD_DEG else []
            around = _intervals(lng1, outer + _PAD_DEG)
            for vehicle_type, grid in list(open_types.items()):
                band = grid.get(row)
                if band is None:
                    continue
                lngs = band.lngs
                sure = []
                n = 0
                for a, b in inside:
                    lo = bisect_left(lngs, a)
                    hi = bisect_right(lngs, b, lo)
                    n += hi - lo
                    sure.append((lo, hi))
                sure_counts[vehicle_type] += n
                if cap is not None and sure_counts[vehicle_type] >= cap:
                    del open_types[vehicle_type]
                    continue
                type_edges = edges[vehicle_type]
                for a, b in around:
                    lo = bisect_left(lngs, a)
                    type_edges += [
                        (band, e_lo, e_hi)
                        for e_lo, e_hi in _without(lo, bisect_right(lngs, b, lo), sure)
                    ]
            if not open_types:
                break
        counts: dict[str, int] = {}
        for vehicle_type in self._grids:
            if vehicle_type in open_types:
                n = sure_counts[vehicle_type] + self._count_edges(
                    edges[vehicle_type], point, max_km, max_angle
                )
            else:
                n = sure_counts[vehicle_type]
            if n:
                counts[vehicle_type] = n if cap is None else min(n, cap)
        return counts

    @staticmethod
    def _count_edges(
        edges: list[tuple[_Band, int, int]], point: LatLng, max_km: float, max_angle: float
    ) -> int:
        """How many drivers of the ``edges`` slices lie within ``max_km`` of ``point``."""
        qx, qy, qz = _query_vector(point)
        sure_in = _surely_within(max_angle)
        sure_out = _neg_cos(max_angle + _MARGIN_RAD)
        keys = _scan(edges, qx, qy, qz)
        ranked = sorted(keys)
        n = bisect_right(ranked, sure_in)
        if bisect_right(ranked, sure_out) > n:
            # A few drivers lie within the margin of the circle: measure them.
            q_lat = point.lat * _RAD
            cos_q = math.cos(q_lat)
            i = 0
            for band, lo, hi in edges:
                for slot in range(lo, hi):
                    if sure_in < keys[i] <= sure_out:
                        n += _distance_km(q_lat, cos_q, point.lng, band, slot) <= max_km
                    i += 1
        return n
