"""ZoneMap.zones_at answers exactly like testing every polygon with shapely's covers."""

from __future__ import annotations

from typing import Any

import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, box

from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.geo.zones import Zone, ZoneMap

# Douala, 4.05 N 9.70 E.  Coordinates are drawn on a grid of 1/400 degree
# (about 280 m) so that points land exactly on box edges and on vertices
# often; the same integer always gives the same float.
LAT0, LNG0 = 4.05, 9.70
STEP = 1 / 400
SPAN = 40  # grid steps each side of the centre: +-0.1 degree


def grid_lat(k: int) -> float:
    return LAT0 + k * STEP


def grid_lng(k: int) -> float:
    return LNG0 + k * STEP


grid = st.integers(-SPAN, SPAN)
free = st.floats(-(SPAN + 4) * STEP, (SPAN + 4) * STEP, allow_nan=False)


@st.composite
def boxes(draw: st.DrawFn) -> Any:
    i0, i1 = sorted(draw(st.lists(grid, min_size=2, max_size=2, unique=True)))
    j0, j1 = sorted(draw(st.lists(grid, min_size=2, max_size=2, unique=True)))
    return box(grid_lng(i0), grid_lat(j0), grid_lng(i1), grid_lat(j1))


@st.composite
def hulls(draw: st.DrawFn) -> Any:
    """The convex hull of random points, on the grid or anywhere near Douala."""
    coordinate = st.one_of(
        st.tuples(grid, grid).map(lambda ij: (grid_lng(ij[0]), grid_lat(ij[1]))),
        st.tuples(free, free).map(lambda xy: (LNG0 + xy[0], LAT0 + xy[1])),
    )
    corners = draw(st.lists(coordinate, min_size=3, max_size=12))
    hull = shapely.MultiPoint(corners).convex_hull
    # Collinear or repeated points give a line or a point, not a zone.
    if hull.geom_type != "Polygon" or not hull.area > 0:
        return draw(boxes())
    return hull


@st.composite
def multi_boxes(draw: st.DrawFn) -> Any:
    """Two or three boxes in distinct columns of the grid: a valid MultiPolygon."""
    count = draw(st.integers(2, 3))
    columns = sorted(draw(st.lists(grid, min_size=2 * count, max_size=2 * count, unique=True)))
    parts = []
    for n in range(count):
        j0, j1 = sorted(draw(st.lists(grid, min_size=2, max_size=2, unique=True)))
        # Distinct sorted columns: the parts never overlap nor touch.
        i0, i1 = columns[2 * n], columns[2 * n + 1]
        parts.append(box(grid_lng(i0), grid_lat(j0), grid_lng(i1), grid_lat(j1)))
    return MultiPolygon(parts)


polygons = st.one_of(boxes(), hulls(), multi_boxes())


@st.composite
def zone_lists(draw: st.DrawFn, min_size: int = 0, max_size: int = 10) -> list[tuple[str, Any]]:
    shapes = draw(st.lists(polygons, min_size=min_size, max_size=max_size))
    names = draw(
        st.lists(
            st.text("abcdefghij-_ABC", min_size=1, max_size=6),
            min_size=len(shapes),
            max_size=len(shapes),
            unique=True,
        )
    )
    return list(zip(names, shapes, strict=True))


@st.composite
def probes(draw: st.DrawFn, zones: list[tuple[str, Any]]) -> LatLng:
    """A point on the grid, anywhere near Douala, or a vertex of one of the zones."""
    choices = [
        st.tuples(grid, grid).map(lambda ij: LatLng(grid_lat(ij[1]), grid_lng(ij[0]))),
        st.tuples(free, free).map(lambda xy: LatLng(LAT0 + xy[1], LNG0 + xy[0])),
    ]
    vertices = [
        (float(x), float(y)) for _, polygon in zones for x, y in shapely.get_coordinates(polygon)
    ]
    if vertices:
        choices.append(st.sampled_from(vertices).map(lambda xy: LatLng(xy[1], xy[0])))
    point: LatLng = draw(st.one_of(choices))
    return point


def build(zones: list[tuple[str, Any]]) -> ZoneMap:
    zone_map = ZoneMap()
    for name, polygon in zones:
        zone_map.add(name, polygon)
    return zone_map


def brute_force(zone_map: ZoneMap, point: LatLng) -> list[Zone]:
    spot = Point(point.lng, point.lat)
    # Iteration is sorted by name already; sort again so as not to rely on it.
    return sorted((zone for zone in zone_map if zone.polygon.covers(spot)), key=lambda z: z.name)


@given(
    data=st.data(),
    # Small maps are scanned, large ones (over 32 zones) go through the R-tree.
    zones=st.one_of(zone_lists(), zone_lists(min_size=33, max_size=45)),
)
def test_zones_at_equals_brute_force(data: st.DataObject, zones: list[tuple[str, Any]]) -> None:
    zone_map = build(zones)
    assert zone_map.names() == sorted(name for name, _ in zones)
    for _ in range(10):
        point = data.draw(probes(zones))
        expected = brute_force(zone_map, point)
        found = zone_map.zones_at(point)
        assert [zone.name for zone in found] == [zone.name for zone in expected]
        assert all(found_zone is zone_map.get(found_zone.name) for found_zone in found)


@given(data=st.data(), zones=zone_lists(max_size=8), extra=polygons)
def test_add_then_remove_leaves_lookups_as_before(
    data: st.DataObject, zones: list[tuple[str, Any]], extra: Any
) -> None:
    zone_map = build(zones)
    points = [data.draw(probes([*zones, ("extra", extra)])) for _ in range(8)]
    before = [zone_map.zones_at(point) for point in points]
    extra_name = "~extra"  # never drawn by zone_lists
    zone_map.add(extra_name, extra)
    spots = [Point(point.lng, point.lat) for point in points]
    during = [[zone.name for zone in zone_map.zones_at(point)] for point in points]
    assert during == [
        sorted([zone.name for zone in found] + ([extra_name] if extra.covers(spot) else []))
        for found, spot in zip(before, spots, strict=True)
    ]
    zone_map.remove(extra_name)
    assert [zone_map.zones_at(point) for point in points] == before
    assert zone_map.names() == sorted(name for name, _ in zones)


@given(data=st.data(), zones=zone_lists(max_size=6))
def test_geojson_round_trip_keeps_every_lookup(
    data: st.DataObject, zones: list[tuple[str, Any]]
) -> None:
    zone_map = build(zones)
    again = ZoneMap.from_geojson(zone_map.to_geojson())
    assert again.to_geojson() == zone_map.to_geojson()
    for _ in range(5):
        point = data.draw(probes(zones))
        assert [z.name for z in again.zones_at(point)] == [z.name for z in zone_map.zones_at(point)]
