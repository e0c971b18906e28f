"""The live index of online drivers: nearest drivers and counts by real distance.

Choice of structure (measured with ``python -m bench geo``, see the README):
drivers are bucketed in a fixed latitude/longitude grid (one dictionary of
cells per vehicle type, each cell a dictionary of driver id -> unit-sphere
``(x, y, z)``).  A move is a couple of dictionary writes, and only when the
driver leaves its cell, which is why an update costs about a microsecond
where a naive R-tree pays a delete and an insert.  A query visits the cells
of a growing bounding box of the spherical cap around the pickup (exact
bounds, including boxes that wrap over the antimeridian or cover a pole),
ranks the drivers found by squared chord length (cheap, monotone in the
great-circle distance) and computes :func:`haversine_km` only for the few
that can be among the ``k`` nearest.  An R-tree (rtree, shapely) remains the
right tool for the zone polygons of :mod:`vtc_dispatch.geo.zones`, which
rarely change.

Results equal a brute-force sort by ``(haversine_km, driver_id)`` exactly:
the chord filter keeps a safety margin (:data:`_MARGIN_RAD`, 0.6 m) far
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
from collections.abc import Collection, Iterable, Iterator

from vtc_dispatch.errors import InvalidCoordinates, UnknownDriver
from vtc_dispatch.geo.sphere import EARTH_RADIUS_KM, LatLng, haversine_km

__all__ = ["DEFAULT_CELL_DEG", "DriverIndex"]

DEFAULT_CELL_DEG = 0.005
"""Default grid cell size in degrees (about 550 m at the equator)."""

_RAD = math.pi / 180.0
_DEG = 180.0 / math.pi
_HALF_PI = math.pi / 2.0
# Slack between the cheap chord test and the exact haversine_km test.  It
# only widens the set that gets measured exactly, so it is safe to be large;
# it must stay far above float error (about 1e-15 rad away from antipodes).
_MARGIN_RAD = 1e-7
# Bounding boxes are widened by this much (degrees, about 1 cm) so that a
# point rounding onto a cell border is never missed.
_PAD_DEG = 1e-7

_XYZ = tuple[float, float, float]
_Cell = dict[str, _XYZ]
# vehicle type, cell key, position as given, unit vector
_Record = tuple[str, int, LatLng, _XYZ]


def _unit_vector(point: LatLng) -> _XYZ:
    phi = point.lat * _RAD
    lam = point.lng * _RAD
    c = math.cos(phi)
    return (c * math.cos(lam), c * math.sin(lam), math.sin(phi))


def _chord2(angle_rad: float) -> float:
    """Squared chord length of a central angle; -1 below 0, +inf from pi on."""
    if angle_rad < 0.0:
        return -1.0
    if angle_rad >= math.pi - 1e-3:
        # Near the antipode the chord saturates and stops separating angles.
        return math.inf
    s = math.sin(angle_rad * 0.5)
    return 4.0 * s * s


def _check_radius(max_km: float) -> float:
    if isinstance(max_km, bool) or not isinstance(max_km, int | float) or not max_km >= 0.0:
        raise InvalidCoordinates(f"max_km must be a number >= 0, got {max_km!r}")
    return float(max_km)


class DriverIndex:
    """Positions and vehicle types of online drivers, queryable by distance.

    Driver ids are strings; ties in distance are broken by id.  Not
    thread-safe: the service that owns an index serialises access to it.

    ``cell_deg`` is the grid cell size in degrees; the default suits city
    densities from a few hundred to a few hundred thousand drivers.
    """

    __slots__ = ("_cell_deg", "_drivers", "_grids", "_inv", "_ncols", "_nrows")

    def __init__(self, *, cell_deg: float = DEFAULT_CELL_DEG) -> None:
        if not (isinstance(cell_deg, int | float) and 1e-4 <= cell_deg <= 10.0):
            raise InvalidCoordinates(f"cell_deg must be within [0.0001, 10], got {cell_deg!r}")
        self._cell_deg = float(cell_deg)
        self._inv = 1.0 / self._cell_deg
        self._nrows = math.ceil(180.0 * self._inv)
        self._ncols = math.ceil(360.0 * self._inv)
        self._drivers: dict[str, _Record] = {}
        self._grids: dict[str, dict[int, _Cell]] = {}

    # -- maintenance -------------------------------------------------------

    def _key(self, point: LatLng) -> int:
        row = int((point.lat + 90.0) * self._inv)
        if row >= self._nrows:
            row = self._nrows - 1
        col = int((point.lng + 180.0) * self._inv)
        if col >= self._ncols:
            col = self._ncols - 1
        return row * self._ncols + col

    def upsert(self, driver_id: str, position: LatLng, vehicle_type: str) -> None:
        """Add a driver or move it (and change its vehicle type if needed).

        >>> index = DriverIndex()
        >>> index.upsert("d1", LatLng(4.05, 9.70), "confort")
        >>> index.upsert("d1", LatLng(4.06, 9.70), "confort")
        >>> index.position("d1")
        LatLng(4.06, 9.7)
        """
        if type(position) is not LatLng:
            raise InvalidCoordinates(f"position must be a LatLng, got {position!r}")
        if not (type(vehicle_type) is str and vehicle_type):
            raise ValueError(f"vehicle_type must be a non-empty string, got {vehicle_type!r}")
        if type(driver_id) is not str:
            raise TypeError(f"driver_id must be a string, got {driver_id!r}")
        key = self._key(position)
        xyz = _unit_vector(position)
        old = self._drivers.get(driver_id)
        if old is not None:
            if old[0] == vehicle_type and old[1] == key:
                self._grids[vehicle_type][key][driver_id] = xyz
                self._drivers[driver_id] = (vehicle_type, key, position, xyz)
                return
            self._unlink(driver_id, old)
        grid = self._grids.get(vehicle_type)
        if grid is None:
            grid = self._grids[vehicle_type] = {}
        cell = grid.get(key)
        if cell is None:
            cell = grid[key] = {}
        cell[driver_id] = xyz
        self._drivers[driver_id] = (vehicle_type, key, position, xyz)

    def _unlink(self, driver_id: str, record: _Record) -> None:
        grid = self._grids[record[0]]
        cell = grid[record[1]]
        del cell[driver_id]
        if not cell:
            del grid[record[1]]
            if not grid:
                del self._grids[record[0]]

    def remove(self, driver_id: str) -> None:
        """Take a driver out of the index; :class:`UnknownDriver` if absent.

        >>> index = DriverIndex()
        >>> index.remove("ghost")
        Traceback (most recent call last):
        ...
        vtc_dispatch.errors.UnknownDriver: driver 'ghost' is not in the index
        """
        record = self._drivers.pop(driver_id, None)
        if record is None:
            raise UnknownDriver(f"driver {driver_id!r} is not in the index")
        self._unlink(driver_id, record)

    def discard(self, driver_id: str) -> bool:
        """Remove a driver if present; tell whether it was there."""
        if driver_id not in self._drivers:
            return False
        self.remove(driver_id)
        return True

    # -- lookups -----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._drivers)

    def __contains__(self, driver_id: object) -> bool:
        return driver_id in self._drivers

    def __iter__(self) -> Iterator[str]:
        return iter(self._drivers)

    def position(self, driver_id: str) -> LatLng:
        """Last known position of a driver; :class:`UnknownDriver` if absent."""
        try:
            return self._drivers[driver_id][2]
        except KeyError:
            raise UnknownDriver(f"driver {driver_id!r} is not in the index") from None

    def vehicle_type(self, driver_id: str) -> str:
        """Vehicle type a driver was indexed with; :class:`UnknownDriver` if absent."""
        try:
            return self._drivers[driver_id][0]
        except KeyError:
            raise UnknownDriver(f"driver {driver_id!r} is not in the index") from None

    # -- geometry of the search ------------------------------------------

    def _cells_of_cap(self, point: LatLng, angle_rad: float) -> Iterator[int]:
        """Keys of every grid cell that may hold a point within ``angle_rad``."""
        half_lat = angle_rad * _DEG + _PAD_DEG
        lat_lo = point.lat - half_lat
        lat_hi = point.lat + half_lat
        inv = self._inv
        ncols = self._ncols
        if lat_hi >= 90.0 or lat_lo <= -90.0 or angle_rad >= _HALF_PI:
            # The cap holds a pole: every longitude.
            col_lo, col_hi = 0, ncols - 1
        else:
            ratio = math.sin(angle_rad) / math.cos(point.lat * _RAD)
            if ratio >= 1.0:
                col_lo, col_hi = 0, ncols - 1
            else:
                half_lng = math.asin(ratio) * _DEG + _PAD_DEG
                col_lo = math.floor((point.lng - half_lng + 180.0) * inv)
                col_hi = math.floor((point.lng + half_lng + 180.0) * inv)
                if col_hi - col_lo + 1 >= ncols:
                    col_lo, col_hi = 0, ncols - 1
        row_lo = max(0, math.floor((lat_lo + 90.0) * inv))
        row_hi = min(self._nrows - 1, math.floor((lat_hi + 90.0) * inv))
        cols = [c % ncols for c in range(col_lo, col_hi + 1)]
        for row in range(row_lo, row_hi + 1):
            base = row * ncols
            for col in cols:
                yield base + col

    def _grids_for(self, vehicle_types: Iterable[str] | None) -> list[dict[int, _Cell]]:
        if vehicle_types is None:
            return list(self._grids.values())
        if isinstance(vehicle_types, str):
            raise TypeError(
                f"vehicle_types must be a collection of codes, not the string {vehicle_types!r}"
            )
        return [g for vt in vehicle_types if (g := self._grids.get(vt)) is not None]

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
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"k must be an integer >= 0, got {k!r}")
        max_km = _check_radius(max_km)
        grids = self._grids_for(vehicle_types)
        if k == 0 or not grids:
            return []
        excluded = exclude if isinstance(exclude, set | frozenset) else frozenset(exclude)
        qx, qy, qz = _unit_vector(point)
        max_angle = max_km / EARTH_RADIUS_KM
        # The first box is about one cell around the point, then it doubles.
        cell_angle = self._cell_deg * _RAD
        angle = min(cell_angle, max_angle)
        seen: set[int] = set()
        found: list[tuple[float, str]] = []
        while True:
            for key in self._cells_of_cap(point, angle):
                if key in seen:
                    continue
                seen.add(key)
                for grid in grids:
                    cell = grid.get(key)
                    if cell is None:
                        continue
                    found += [
                        (
                            (x - qx) * (x - qx) + (y - qy) * (y - qy) + (z - qz) * (z - qz),
                            did,
                        )
                        for did, (x, y, z) in cell.items()
                        if did not in excluded
                    ]
            if angle >= max_angle:
                break
            sure = _chord2(angle - _MARGIN_RAD)
            if sum(1 for c in found if c[0] <= sure) >= k:
                break
            angle = min(angle * 2.0, max_angle)
        return self._rank_exact(point, found, k, max_km, max_angle)

    def _rank_exact(
        self,
        point: LatLng,
        found: list[tuple[float, str]],
        k: int,
        max_km: float,
        max_angle: float,
    ) -> list[tuple[str, float]]:
        limit = _chord2(max_angle + _MARGIN_RAD)
        pool = sorted(c for c in found if c[0] <= limit)
        if len(pool) > k:
            kth = pool[k - 1][0]
            kth_angle = 2.0 * math.asin(min(1.0, math.sqrt(kth) * 0.5))
            cut = _chord2(kth_angle + _MARGIN_RAD)
            pool = [c for c in pool if c[0] <= cut]
        drivers = self._drivers
        exact = []
        for _, did in pool:
            d = haversine_km(point, drivers[did][2])
            if d <= max_km:
                exact.append((d, did))
        exact.sort()
        return [(did, d) for d, did in exact[:k]]

    def count_within(self, point: LatLng, max_km: float) -> dict[str, int]:
        """Number of drivers within ``max_km`` of ``point``, per vehicle type.

        Types with no driver in range are left out.  Cells entirely inside
        or outside the circle are counted without looking at each driver.

        >>> index = DriverIndex()
        >>> index.upsert("d1", LatLng(4.05, 9.70), "confort")
        >>> index.count_within(LatLng(4.05, 9.70), 0.0)
        {'confort': 1}
        """
        max_km = _check_radius(max_km)
        if not self._drivers:
            return {}
        max_angle = max_km / EARTH_RADIUS_KM
        qx, qy, qz = _unit_vector(point)
        sure_in = _chord2(max_angle - _MARGIN_RAD)
        sure_out = _chord2(max_angle + _MARGIN_RAD)
        # Any point of a cell is within this angle of the cell's centre (half
        # the latitude span plus at most half the longitude span).
        half_cell = self._cell_deg * _RAD
        cell_deg = self._cell_deg
        ncols = self._ncols
        drivers = self._drivers
        grids = list(self._grids.items())
        counts = dict.fromkeys(self._grids, 0)
        for key in self._cells_of_cap(point, max_angle):
            cells = [(vt, cell) for vt, grid in grids if (cell := grid.get(key)) is not None]
            if not cells:
                continue
            row, col = divmod(key, ncols)
            centre = LatLng(
                min(90.0, (row + 0.5) * cell_deg - 90.0),
                ((col + 0.5) * cell_deg) % 360.0 - 180.0,
            )
            cx, cy, cz = _unit_vector(centre)
            c2 = (cx - qx) ** 2 + (cy - qy) ** 2 + (cz - qz) ** 2
            centre_angle = 2.0 * math.asin(min(1.0, math.sqrt(c2) * 0.5))
            if _chord2(centre_angle + half_cell) <= sure_in:
                for vt, cell in cells:
                    counts[vt] += len(cell)
                continue
            if _chord2(centre_angle - half_cell) > sure_out:
                continue
            for vt, cell in cells:
                n = 0
                for did, (x, y, z) in cell.items():
                    c = (x - qx) * (x - qx) + (y - qy) * (y - qy) + (z - qz) * (z - qz)
                    if c <= sure_in or (
                        c <= sure_out and haversine_km(point, drivers[did][2]) <= max_km
                    ):
                        n += 1
                counts[vt] += n
        return {vt: n for vt, n in counts.items() if n}
