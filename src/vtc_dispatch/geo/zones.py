"""Named zones (districts, airports, surge areas) and which of them cover a point.

A :class:`ZoneMap` holds named shapely polygons and answers
:meth:`ZoneMap.zones_at` with an R-tree of their bounding boxes; shapely
then decides on the few candidates.  The R-tree is ``rtree.index.Index``
rather than shapely's ``STRtree`` because an STRtree is immutable and
zones can be added and removed at any time.  Below 32 zones a plain scan of
the bounding boxes is used instead: it is faster than one call into the
R-tree library.

Coordinates inside polygons are ``(x, y) = (longitude, latitude)`` in
degrees, as in GeoJSON; everywhere else the library speaks
:class:`~vtc_dispatch.geo.sphere.LatLng`.  Polygons are taken in plain
longitude/latitude coordinates with no antimeridian handling: a zone that
crosses it must be split into a MultiPolygon with one part on each side
(a point exactly on the antimeridian is tested at both -180 and +180).
A point on the border of a zone counts as inside it.

>>> from shapely.geometry import box
>>> from vtc_dispatch.geo.sphere import LatLng
>>> zones = ZoneMap()
>>> zones.add("akwa", box(9.69, 4.04, 9.71, 4.06))  # box(min_lng, min_lat, max_lng, max_lat)
>>> zones.add("bonanjo", box(9.68, 4.03, 9.70, 4.05), {"surcharge": 1.2})
>>> [zone.name for zone in zones.zones_at(LatLng(4.045, 9.695))]
['akwa', 'bonanjo']
>>> zones.zones_at(LatLng(3.0, 9.0))
[]
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

import attrs
import numpy as np
import shapely
from rtree.index import Index
from shapely.errors import ShapelyError
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.validation import explain_validity

from vtc_dispatch.errors import InvalidZone, shown
from vtc_dispatch.geo.sphere import LatLng

__all__ = ["Zone", "ZoneMap"]

_GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
# Up to this many zones a scan of bounding boxes beats the R-tree's call
# overhead (measured: 20 zones scan in 2 us, the R-tree call alone is 5 us).
_SCAN_BELOW = 32
# shapely.intersects_xy is a thin Python wrapper around this ufunc; calling
# the ufunc itself halves the cost of a point test (1.1 us instead of 2.1).
_intersects_xy = getattr(shapely.lib, "intersects_xy", shapely.intersects_xy)


def _freeze(value: object) -> object:
    """A read-only copy: mappings become mapping proxies, lists and tuples tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    return value


def _thaw(value: object) -> object:
    """The inverse of :func:`_freeze`: plain dicts and lists, ready for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(item) for item in value]
    return value


def _freeze_properties(value: Mapping[str, object] | None) -> Mapping[str, object]:
    """Converter of :attr:`Zone.properties`: a deep read-only copy, ``{}`` for None."""
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise InvalidZone(f"zone properties must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise InvalidZone(f"zone property names must be strings, got {shown(key)}")
    frozen = _freeze(value)
    assert isinstance(frozen, MappingProxyType)
    return frozen


def _polygon_problem(polygon: object) -> str | None:
    """Why ``polygon`` cannot be a zone, or None if it can."""
    if not isinstance(polygon, Polygon | MultiPolygon):
        return f"polygon must be a shapely Polygon or MultiPolygon, got {type(polygon).__name__}"
    if polygon.is_empty:
        return "polygon is empty"
    coords = shapely.get_coordinates(polygon)
    for axis, label, limit in ((1, "latitude", 90.0), (0, "longitude", 180.0)):
        values = coords[:, axis]
        # Negated so that NaN fails the test and is reported.
        bad = ~((values >= -limit) & (values <= limit))
        if bad.any():
            value = float(values[np.argmax(bad)])
            return f"{label} {shown(value)} is not within [{-limit:g}, {limit:g}]"
    if not polygon.is_valid:
        return f"polygon is not valid: {explain_validity(polygon)}"
    return None


@attrs.frozen(repr=False)
class Zone:
    """A named zone: a valid shapely Polygon or MultiPolygon and read-only properties.

    The polygon's coordinates are ``(longitude, latitude)`` in degrees, within
    [-180, 180] and [-90, 90].  A bad name or polygon is refused with
    :class:`~vtc_dispatch.errors.InvalidZone` naming the zone and the reason
    (for an invalid polygon, shapely's ``explain_validity``).  ``properties``
    (the GeoJSON feature properties) are deep-copied into read-only mappings
    and tuples.  The polygon is prepared in place by shapely
    (``shapely.prepare``) so that repeated point tests are fast.

    >>> from shapely.geometry import box
    >>> zone = Zone("akwa", box(9.69, 4.04, 9.71, 4.06), {"surcharge": 1.2})
    >>> zone.name, zone.properties["surcharge"]
    ('akwa', 1.2)
    >>> zone.properties["surcharge"] = 2.0
    Traceback (most recent call last):
    ...
    TypeError: 'mappingproxy' object does not support item assignment
    >>> Zone("bowtie", Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]))
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidZone: zone 'bowtie': polygon is not valid: Self-intersection[0.5 0.5]
    """

    name: str
    polygon: Polygon | MultiPolygon
    properties: Mapping[str, object] = attrs.field(
        default=None, converter=_freeze_properties, hash=False
    )

    def __attrs_post_init__(self) -> None:
        name: object = self.name
        if not isinstance(name, str) or not name.strip():
            raise InvalidZone(f"zone name must be a non-empty string, got {shown(name)}")
        problem = _polygon_problem(self.polygon)
        if problem is not None:
            raise InvalidZone(f"zone {shown(name)}: {problem}")
        shapely.prepare(self.polygon)

    def __repr__(self) -> str:
        if self.properties:
            return f"Zone({self.name!r}, {self.polygon!r}, {dict(self.properties)!r})"
        return f"Zone({self.name!r}, {self.polygon!r})"


class ZoneMap:
    """A mutable set of uniquely named :class:`Zone` objects with a point lookup.

    Iteration and :meth:`names` are sorted by name.

    >>> from shapely.geometry import box
    >>> zones = ZoneMap()
    >>> zones.add("akwa", box(9.69, 4.04, 9.71, 4.06))
    >>> len(zones), "akwa" in zones, "deido" in zones
    (1, True, False)
    >>> [zone.name for zone in zones]
    ['akwa']
    """

    def __init__(self) -> None:
        """An empty map.

        >>> len(ZoneMap())
        0
        """
        self._index = Index()
        # name -> (R-tree id, zone) and R-tree id -> zone.
        self._by_name: dict[str, tuple[int, Zone]] = {}
        self._by_id: dict[int, Zone] = {}
        self._next_id = 0
        # (min_x, min_y, max_x, max_y, zone): scanned instead of the R-tree
        # while the map is small, where one ctypes call costs more.
        self._boxes: list[tuple[float, float, float, float, Zone]] = []

    def add(
        self,
        name: str,
        polygon: Polygon | MultiPolygon,
        properties: Mapping[str, object] | None = None,
    ) -> None:
        """Add a zone; see :class:`Zone` for what is checked.

        A name already in the map is refused.  On any error the map is left
        unchanged.

        >>> from shapely.geometry import box
        >>> zones = ZoneMap()
        >>> zones.add("akwa", box(9.69, 4.04, 9.71, 4.06))
        >>> zones.add("akwa", box(9.0, 4.0, 9.1, 4.1))
        Traceback (most recent call last):
        ...
        vtc_dispatch.errors.InvalidZone: zone 'akwa': duplicate name, already in the map
        >>> zones.add("north", box(9.0, 89.0, 9.1, 91.0))
        Traceback (most recent call last):
        ...
        vtc_dispatch.errors.InvalidZone: zone 'north': latitude 91.0 is not within [-90, 90]
        """
        if isinstance(name, str) and name in self._by_name:
            raise InvalidZone(f"zone {shown(name)}: duplicate name, already in the map")
        zone = Zone(name, polygon, properties)
        self._insert(zone)

    def _insert(self, zone: Zone) -> None:
        """Store an already validated zone with a name not yet in the map."""
        zone_id = self._next_id
        # The R-tree first: if it failed, nothing else would have been written.
        self._index.insert(zone_id, zone.polygon.bounds)
        self._next_id += 1
        self._by_name[zone.name] = (zone_id, zone)
        self._by_id[zone_id] = zone
        self._boxes.append((*zone.polygon.bounds, zone))

    def remove(self, name: str) -> Zone:
        """Remove the zone called ``name`` and return it.

        >>> from shapely.geometry import box
        >>> zones = ZoneMap()
        >>> zones.add("akwa", box(9.69, 4.04, 9.71, 4.06))
        >>> zones.remove("akwa").name
        'akwa'
        >>> zones.remove("akwa")
        Traceback (most recent call last):
        ...
        vtc_dispatch.errors.InvalidZone: unknown zone 'akwa'
        """
        zone_id, zone = self._entry(name)
        self._index.delete(zone_id, zone.polygon.bounds)
        del self._by_name[name]
        del self._by_id[zone_id]
        self._boxes = [box for box in self._boxes if box[4] is not zone]
        return zone

    def get(self, name: str) -> Zone:
        """The zone called ``name``.

        >>> from shapely.geometry import box
        >>> zones = ZoneMap()
        >>> zones.add("akwa", box(9.69, 4.04, 9.71, 4.06), {"surcharge": 1.2})
        >>> zones.get("akwa").properties["surcharge"]
        1.2
        >>> zones.get("deido")
        Traceback (most recent call last):
        ...
        vtc_dispatch.errors.InvalidZone: unknown zone 'deido'
        """
        return self._entry(name)[1]

    def _entry(self, name: str) -> tuple[int, Zone]:
        entry = self._by_name.get(name)
        if entry is None:
            raise InvalidZone(f"unknown zone {shown(name)}")
        return entry

    def names(self) -> list[str]:
        """The zone names, sorted.

        >>> from shapely.geometry import box
        >>> zones = ZoneMap()
        >>> zones.add("deido", box(9.70, 4.05, 9.72, 4.07))
        >>> zones.add("akwa", box(9.69, 4.04, 9.71, 4.06))
        >>> zones.names()
        ['akwa', 'deido']
        """
        return sorted(self._by_name)

    def __len__(self) -> int:
        """The number of zones.

        >>> len(ZoneMap())
        0
        """
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        """Whether a zone is called ``name``.

        >>> "akwa" in ZoneMap()
        False
        """
        return name in self._by_name

    def __iter__(self) -> Iterator[Zone]:
        """The zones, sorted by name.

        >>> list(ZoneMap())
        []
        """
        by_name = self._by_name
        return iter([by_name[name][1] for name in sorted(by_name)])

    def __repr__(self) -> str:
        return f"ZoneMap({self.names()!r})"

    def zones_at(self, point: LatLng) -> list[Zone]:
        """The zones covering ``point``, sorted by name.

        A point on the border of a zone (or of one of its holes) counts as
        inside; a point strictly inside a hole does not.  The R-tree (or,
        for small maps, a scan) finds the zones whose bounding box holds the
        point and shapely decides on each of them.

        >>> from shapely.geometry import box
        >>> zones = ZoneMap()
        >>> zones.add("akwa", box(9.69, 4.04, 9.71, 4.06))
        >>> [zone.name for zone in zones.zones_at(LatLng(4.06, 9.70))]  # on the border
        ['akwa']
        >>> zones.zones_at(LatLng(4.07, 9.70))
        []
        """
        found = self._covering(point.lng, point.lat)
        if point.lng == -180.0:
            # LatLng spells the antimeridian -180; a zone may stop at +180.
            seen = {zone.name for zone in found}
            found.extend(zone for zone in self._covering(180.0, point.lat) if zone.name not in seen)
        if len(found) > 1:
            found.sort(key=_zone_name)
        return found

    def _covering(self, x: float, y: float) -> list[Zone]:
        """The zones whose polygon covers ``(x, y)``, unsorted."""
        if len(self._boxes) <= _SCAN_BELOW:
            candidates = [
                zone
                for min_x, min_y, max_x, max_y, zone in self._boxes
                if min_x <= x <= max_x and min_y <= y <= max_y
            ]
        else:
            by_id = self._by_id
            candidates = [by_id[zone_id] for zone_id in self._index.intersection((x, y, x, y))]
        # For a point, "intersects" is "covers" (the border counts), and the
        # _xy form builds no Point.
        return [zone for zone in candidates if _intersects_xy(zone.polygon, x, y)]

    @classmethod
    def from_geojson(
        cls,
        source: Mapping[str, Any] | str | os.PathLike[str],
        *,
        name_property: str = "name",
    ) -> Self:
        """Build a map from a GeoJSON FeatureCollection of Polygon/MultiPolygon features.

        ``source`` is a parsed document (a mapping), a JSON string (text
        starting with ``{``) or the path of a UTF-8 file (any other string or a
        :class:`os.PathLike`).  Each feature's name is its
        ``properties[name_property]``; all its properties are kept in
        :attr:`Zone.properties`.  Any problem raises
        :class:`~vtc_dispatch.errors.InvalidZone` naming the feature by its
        position in ``features`` (``feature #0`` is the first) and by its
        name once it has one; errors reading the file propagate as
        :class:`OSError`.

        >>> doc = '''{"type": "FeatureCollection", "features": [
        ...   {"type": "Feature", "properties": {"name": "akwa", "surcharge": 1.2},
        ...    "geometry": {"type": "Polygon",
        ...                 "coordinates": [[[9.69, 4.04], [9.71, 4.04], [9.71, 4.06],
        ...                                  [9.69, 4.04]]]}},
        ...   {"type": "Feature", "properties": {"name": "airport"},
        ...    "geometry": {"type": "Point", "coordinates": [9.72, 4.01]}}]}'''
        >>> ZoneMap.from_geojson(doc)
        Traceback (most recent call last):
        ...
        vtc_dispatch.errors.InvalidZone: feature #1: zone 'airport': geometry must be a
        Polygon or MultiPolygon, got 'Point'
        >>> zones = ZoneMap.from_geojson(doc.replace('"Point"', '"MultiPolygon"').replace(
        ...     '[9.72, 4.01]', '[[[[9.72, 4.0], [9.73, 4.0], [9.73, 4.01], [9.72, 4.0]]]]'))
        >>> zones.names()
        ['airport', 'akwa']
        """
        document = _load_json(source)
        if not isinstance(document, Mapping) or document.get("type") != "FeatureCollection":
            got = document.get("type") if isinstance(document, Mapping) else document
            raise InvalidZone(f"GeoJSON must be a FeatureCollection, got {_short(got)}")
        features = document.get("features")
        if not isinstance(features, list):
            raise InvalidZone(
                f"GeoJSON FeatureCollection needs a list of features, got {_short(features)}"
            )
        zones = cls()
        first_seen: dict[str, int] = {}
        for position, feature in enumerate(features):
            label = f"feature #{position}"
            if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
                got = feature.get("type") if isinstance(feature, Mapping) else feature
                raise InvalidZone(f"{label}: not a GeoJSON Feature, got {_short(got)}")
            properties = feature.get("properties")
            if properties is None:
                properties = {}
            if not isinstance(properties, Mapping):
                raise InvalidZone(
                    f"{label}: properties must be an object, got {_short(properties)}"
                )
            name = properties.get(name_property)
            if name is None:
                raise InvalidZone(f"{label}: no {shown(name_property)} property to name the zone")
            if not isinstance(name, str) or not name.strip():
                raise InvalidZone(
                    f"{label}: the {shown(name_property)} property must be a non-empty string, "
                    f"got {_short(name)}"
                )
            label = f"{label}: zone {shown(name)}"
            if name in first_seen:
                raise InvalidZone(
                    f"{label}: duplicate name, already used by feature #{first_seen[name]}"
                )
            geometry = feature.get("geometry")
            kind = geometry.get("type") if isinstance(geometry, Mapping) else geometry
            if kind not in _GEOMETRY_TYPES:
                raise InvalidZone(
                    f"{label}: geometry must be a Polygon or MultiPolygon, got {_short(kind)}"
                )
            try:
                polygon = shape(geometry)
            except (ValueError, TypeError, KeyError, IndexError, ShapelyError) as exc:
                raise InvalidZone(f"{label}: bad coordinates: {exc}") from exc
            try:
                zone = Zone(name, polygon, properties)
            except InvalidZone as exc:  # the message already names the zone
                raise InvalidZone(f"feature #{position}: {exc}") from exc
            first_seen[name] = position
            zones._insert(zone)
        return zones

    def to_geojson(self, *, name_property: str = "name") -> dict[str, Any]:
        """The zones as a GeoJSON FeatureCollection (plain dicts and lists), sorted by name.

        Each feature carries the zone's properties with ``name_property`` set
        to its name, so :meth:`from_geojson` reads the result back to equal
        zones.

        >>> from shapely.geometry import box
        >>> zones = ZoneMap()
        >>> zones.add("akwa", box(9.69, 4.04, 9.71, 4.06), {"surcharge": 1.2})
        >>> feature = zones.to_geojson()["features"][0]
        >>> feature["properties"], feature["geometry"]["type"]
        ({'surcharge': 1.2, 'name': 'akwa'}, 'Polygon')
        >>> ZoneMap.from_geojson(zones.to_geojson()).to_geojson() == zones.to_geojson()
        True
        """
        features: list[dict[str, Any]] = []
        for zone in self:
            properties = _thaw(zone.properties)
            assert isinstance(properties, dict)
            properties[name_property] = zone.name
            geometry = _thaw(mapping(zone.polygon))
            features.append({"type": "Feature", "properties": properties, "geometry": geometry})
        return {"type": "FeatureCollection", "features": features}


def _zone_name(zone: Zone) -> str:
    return zone.name


def _short(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _load_json(source: Mapping[str, Any] | str | os.PathLike[str]) -> object:
    """The parsed GeoJSON document behind ``source`` (see :meth:`ZoneMap.from_geojson`)."""
    if isinstance(source, str) and source.lstrip().startswith("{"):
        text, origin = source, "GeoJSON string"
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        text, origin = path.read_text(encoding="utf-8"), f"GeoJSON file {str(path)!r}"
    else:  # already parsed; from_geojson checks what it is
        return source
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidZone(f"{origin} is not valid JSON: {exc}") from exc
