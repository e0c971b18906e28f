"""The live index of online drivers: nearest drivers and counts by real distance.

Choice of structure (measured with ``python -m bench geo``, see the README):
drivers are bucketed in a fixed latitude/longitude grid, one dictionary of
cells per vehicle type.  A cell keeps its driver ids in a list and their
unit-sphere vectors ``(x, y, z)`` packed in one ``array('d')``: a move
inside the cell rewrites three doubles in place, a move to another cell is
a swap-remove and an append, so an update costs a couple of microseconds
where a naive R-tree pays a delete and an insert.  A query visits the cells
of a growing bounding box of the spherical cap around the pickup (exact
bounds, including boxes that wrap over the antimeridian or cover a pole),
ranks the drivers found by the dot product of unit vectors (monotone in the
great-circle distance; the packed arrays keep this scan cache-friendly,
which measured twice as fast as a dictionary of tuples per cell) and
computes :func:`haversine_km` only for the few that can be among the ``k``
nearest.  Pure Python was kept over numpy per-cell arrays, which measured
no faster for the few dozen drivers a query looks at and slower to update.
An R-tree (rtree, shapely) remains the right tool for the zone polygons of
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
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Sequence

from vtc_dispatch.errors import InvalidCoordinates, UnknownDriver
from vtc_dispatch.geo.sphere import EARTH_RADIUS_KM, LatLng, _haversine_parts

__all__ = ["DEFAULT_CELL_DEG", "DriverIndex"]

DEFAULT_CELL_DEG = 0.003
"""Default grid cell size in degrees (about 330 m at the equator)."""

_RAD = math.pi / 180.0
_DEG = 180.0 / math.pi
_HALF_PI = math.pi / 2.0
# Slack between the cheap dot-product test and the exact haversine_km test.
# It only widens the set that gets measured exactly, so it may be generous;
# it must stay far above the float error of a dot product of unit vectors
# (about 3e-8 rad for nearly equal points).
_MARGIN_RAD = 1e-6
# Bounding boxes are widened by this much (degrees, about 1 cm) so that a
# point rounding onto a cell border is never missed.
_PAD_DEG = 1e-7


class _Cell:
    """Drivers of one vehicle type in one grid cell, packed for scanning."""

    __slots__ = ("geo", "ids", "xyz")

    def __init__(self) -> None:
        self.ids: list[str] = []
        # Unit vector (x, y, z) per driver, scanned by every query.
        self.xyz = array("d")
        # Latitude in radians, its cosine and longitude in degrees per
        # driver: what haversine_km needs, read only for the best few.
        self.geo = array("d")


class _Entry:
    """Where a driver is stored, and its position as given."""

    __slots__ = ("cell", "key", "position", "slot", "vehicle_type")

    def __init__(self, vehicle_type: str, key: int, cell: _Cell, slot: int, position: LatLng):
        self.vehicle_type = vehicle_type
        self.key = key
        self.cell = cell
        self.slot = slot
        self.position = position


def _query_vector(point: LatLng) -> tuple[float, float, float]:
    """Minus the unit vector: its dot product with a driver's is ``-cos(angle)``."""
    phi = point.lat * _RAD
    lam = point.lng * _RAD
    c = math.cos(phi)
    return (-c * math.cos(lam), -c * math.sin(lam), -math.sin(phi))


# Keys of unit vectors lie in [-1, 1] give or take rounding; excluded drivers
# get a key above every threshold.
_EXCLUDED_KEY = math.inf


def _neg_cos(angle_rad: float) -> float:
    """``-cos(angle)``, the ranking key; below every key under 0, above all near pi."""
    if angle_rad < 0.0:
        return -2.0
    if angle_rad >= math.pi - 1e-3:
        # Near the antipode the cosine flattens and stops separating angles.
        return 2.0
    return -math.cos(angle_rad)


def _angle_of(neg_cos: float) -> float:
    return math.acos(max(-1.0, min(1.0, -neg_cos)))


def _scan(cells: list[_Cell], qx: float, qy: float, qz: float) -> list[float]:
    """Ranking keys of the drivers of ``cells``, cell after cell in slot order."""
    return [
        x * qx + y * qy + z * qz
        for cell in cells
        for x, y, z in zip(*[iter(cell.xyz)] * 3, strict=True)
    ]


def _distance_km(phi1: float, cos_phi1: float, lng1: float, cell: _Cell, slot: int) -> float:
    """:func:`haversine_km` from a point (latitude in radians, its cosine,
    longitude in degrees) to the driver of ``cell`` at ``slot``."""
    geo = cell.geo
    i = 3 * slot
    return _haversine_parts(phi1, cos_phi1, lng1, geo[i], geo[i + 1], geo[i + 2])


def _check_radius(max_km: float) -> float:
    if isinstance(max_km, bool) or not isinstance(max_km, int | float) or not max_km >= 0.0:
        raise InvalidCoordinates(f"max_km must be a number >= 0, got {max_km!r}")
    return float(max_km)


class DriverIndex:
    """Positions and vehicle types of online drivers, queryable by distance.

    Driver ids are strings; ties in distance are broken by id.  Not
    thread-safe: the owner of an index serialises access to it.

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
        self._drivers: dict[str, _Entry] = {}
        self._grids: dict[str, dict[int, _Cell]] = {}

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
            raise InvalidCoordinates(f"position must be a LatLng, got {position!r}")
        if not (type(vehicle_type) is str and vehicle_type):
            raise ValueError(f"vehicle_type must be a non-empty string, got {vehicle_type!r}")
        if type(driver_id) is not str:
            raise TypeError(f"driver_id must be a string, got {driver_id!r}")
        row = int((position.lat + 90.0) * self._inv)
        if row >= self._nrows:
            row = self._nrows - 1
        col = int((position.lng + 180.0) * self._inv)
        if col >= self._ncols:
            col = self._ncols - 1
        key = row * self._ncols + col
        phi = position.lat * _RAD
        lam = position.lng * _RAD
        cos_phi = math.cos(phi)
        x = cos_phi * math.cos(lam)
        y = cos_phi * math.sin(lam)
        z = math.sin(phi)
        entry = self._drivers.get(driver_id)
        if entry is not None:
            if entry.key == key and entry.vehicle_type == vehicle_type:
                xyz = entry.cell.xyz
                i = 3 * entry.slot
                xyz[i] = x
                xyz[i + 1] = y
                xyz[i + 2] = z
                geo = entry.cell.geo
                geo[i] = phi
                geo[i + 1] = cos_phi
                geo[i + 2] = position.lng
                entry.position = position
                return
            self._unlink(entry)
        grid = self._grids.get(vehicle_type)
        if grid is None:
            grid = self._grids[vehicle_type] = {}
        cell = grid.get(key)
        if cell is None:
            cell = grid[key] = _Cell()
        slot = len(cell.ids)
        cell.ids.append(driver_id)
        cell.xyz.extend((x, y, z))
        cell.geo.extend((phi, cos_phi, position.lng))
        if entry is None:
            self._drivers[driver_id] = _Entry(vehicle_type, key, cell, slot, position)
        else:
            entry.vehicle_type = vehicle_type
            entry.key = key
            entry.cell = cell
            entry.slot = slot
            entry.position = position

    def _unlink(self, entry: _Entry) -> None:
        """Take an entry out of its cell (the last driver of the cell fills the hole)."""
        cell = entry.cell
        ids = cell.ids
        xyz = cell.xyz
        last = len(ids) - 1
        slot = entry.slot
        if slot != last:
            moved = ids[last]
            ids[slot] = moved
            xyz[3 * slot : 3 * slot + 3] = xyz[3 * last : 3 * last + 3]
            cell.geo[3 * slot : 3 * slot + 3] = cell.geo[3 * last : 3 * last + 3]
            self._drivers[moved].slot = slot
        ids.pop()
        del xyz[3 * last :]
        del cell.geo[3 * last :]
        if not ids:
            grid = self._grids[entry.vehicle_type]
            del grid[entry.key]
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
        entry = self._drivers.pop(driver_id, None)
        if entry is None:
            raise UnknownDriver(f"driver {driver_id!r} is not in the index")
        self._unlink(entry)

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

    def _entry(self, driver_id: str) -> _Entry:
        try:
            return self._drivers[driver_id]
        except KeyError:
            raise UnknownDriver(f"driver {driver_id!r} is not in the index") from None

    def position(self, driver_id: str) -> LatLng:
        """Last known position of a driver; :class:`UnknownDriver` if absent."""
        return self._entry(driver_id).position

    def vehicle_type(self, driver_id: str) -> str:
        """Vehicle type a driver was indexed with; :class:`UnknownDriver` if absent."""
        return self._entry(driver_id).vehicle_type

    # -- geometry of the search ------------------------------------------

    def _cells_of_cap(
        self, point: LatLng, angle_rad: float, grids: list[dict[int, _Cell]]
    ) -> list[int]:
        """Keys of the grid cells that may hold a point within ``angle_rad``.

        The box's cells are listed when they are fewer than the occupied
        cells of ``grids``; otherwise the occupied cells inside the box are,
        so a continent-wide radius costs no more than a scan of the drivers.
        """
        half_lat = angle_rad * _DEG + _PAD_DEG
        lat_lo = point.lat - half_lat
        lat_hi = point.lat + half_lat
        inv = self._inv
        ncols = self._ncols
        cols: Sequence[int]
        if lat_hi >= 90.0 or lat_lo <= -90.0 or angle_rad >= _HALF_PI:
            # The cap holds a pole: every longitude.
            cols = range(ncols)
        else:
            ratio = math.sin(angle_rad) / math.cos(point.lat * _RAD)
            if ratio >= 1.0:
                cols = range(ncols)
            else:
                half_lng = math.asin(ratio) * _DEG + _PAD_DEG
                col_lo = math.floor((point.lng - half_lng + 180.0) * inv)
                col_hi = math.floor((point.lng + half_lng + 180.0) * inv)
                if col_hi - col_lo + 1 >= ncols:
                    cols = range(ncols)
                elif col_lo >= 0 and col_hi < ncols:
                    cols = range(col_lo, col_hi + 1)
                else:
                    # The box wraps over the antimeridian.
                    cols = [c % ncols for c in range(col_lo, col_hi + 1)]
        row_lo = max(0, math.floor((lat_lo + 90.0) * inv))
        row_hi = min(self._nrows - 1, math.floor((lat_hi + 90.0) * inv))
        box = (row_hi - row_lo + 1) * len(cols)
        if box > 64 and box > sum(len(grid) for grid in grids):
            key_lo = row_lo * ncols
            key_hi = (row_hi + 1) * ncols
            wanted = cols if type(cols) is range else frozenset(cols)
            return list(
                {
                    key
                    for grid in grids
                    for key in grid
                    if key_lo <= key < key_hi and key % ncols in wanted
                }
            )
        return [row * ncols + col for row in range(row_lo, row_hi + 1) for col in cols]

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
        excluded = frozenset(exclude) if exclude else None
        qx, qy, qz = _query_vector(point)
        max_angle = min(max_km / EARTH_RADIUS_KM, math.pi)
        angle = min(self._cell_deg * _RAD, max_angle)
        seen: set[int] | None = None
        # Ranking keys of the drivers scanned, the cells they came from in
        # scan order and where each cell's drivers start in `found`.
        found: list[float] = []
        cells: list[_Cell] = []
        starts: list[int] = []
        while True:
            keys = self._cells_of_cap(point, angle, grids)
            if seen is None:
                seen = set(keys)
            else:
                keys = [key for key in keys if key not in seen]
                seen.update(keys)
            new_cells = [cell for grid in grids for key in keys if (cell := grid.get(key))]
            first = len(found)
            for cell in new_cells:
                starts.append(first)
                first += len(cell.ids)
            found += _scan(new_cells, qx, qy, qz)
            if excluded:
                # Excluded drivers keep their place (slots must line up) but
                # rank after every threshold.
                for n in range(len(cells), len(cells) + len(new_cells)):
                    for slot, did in enumerate(new_cells[n - len(cells)].ids):
                        if did in excluded:
                            found[starts[n] + slot] = _EXCLUDED_KEY
            cells += new_cells
            ranked = sorted(found)
            if angle >= max_angle:
                break
            if bisect_right(ranked, _neg_cos(angle - _MARGIN_RAD)) >= k:
                break
            angle = min(self._next_angle(angle, len(ranked), k), max_angle)
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
        for i in [i for i, key in enumerate(found) if key <= cut]:
            n = bisect_right(starts, i) - 1
            cell = cells[n]
            slot = i - starts[n]
            d = _distance_km(phi1, cos_phi1, lng1, cell, slot)
            if d <= max_km:
                exact.append((d, cell.ids[slot]))
        exact.sort()
        return [(did, d) for d, did in exact[:k]]

    @staticmethod
    def _next_angle(angle: float, n_found: int, k: int) -> float:
        """Radius of the next box: enough for ``k`` drivers at the density seen."""
        if n_found == 0:
            return angle * 3.0
        # The box scanned so far is about (2 * angle) squared.
        needed = angle * math.sqrt(4.0 * k / (math.pi * n_found)) * 1.2
        return min(max(needed, angle * 1.25), angle * 4.0)

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
        max_angle = min(max_km / EARTH_RADIUS_KM, math.pi)
        qx, qy, qz = _query_vector(point)
        sure_in = _neg_cos(max_angle - _MARGIN_RAD)
        sure_out = _neg_cos(max_angle + _MARGIN_RAD)
        # Every point of a cell is within this angle of the cell's centre:
        # half the latitude span plus at most half the longitude span.
        half_cell = self._cell_deg * _RAD
        cell_deg = self._cell_deg
        ncols = self._ncols
        phi1 = point.lat * _RAD
        cos_phi1 = math.cos(phi1)
        lng1 = point.lng
        grids = list(self._grids.items())
        counts = dict.fromkeys(self._grids, 0)
        for key in self._cells_of_cap(point, max_angle, list(self._grids.values())):
            cells = [(vt, cell) for vt, grid in grids if (cell := grid.get(key)) is not None]
            if not cells:
                continue
            row, col = divmod(key, ncols)
            cx, cy, cz = _query_vector(
                LatLng(
                    min(90.0, (row + 0.5) * cell_deg - 90.0),
                    ((col + 0.5) * cell_deg) % 360.0 - 180.0,
                )
            )
            centre_angle = _angle_of(-(cx * qx + cy * qy + cz * qz))
            if _neg_cos(centre_angle + half_cell) <= sure_in:
                for vt, cell in cells:
                    counts[vt] += len(cell.ids)
            elif _neg_cos(centre_angle - half_cell) <= sure_out:
                for vt, cell in cells:
                    n = 0
                    for slot, c in enumerate(_scan([cell], qx, qy, qz)):
                        if c <= sure_in:
                            n += 1
                        elif c <= sure_out:
                            d = _distance_km(phi1, cos_phi1, lng1, cell, slot)
                            n += d <= max_km
                    counts[vt] += n
        return {vt: n for vt, n in counts.items() if n}
