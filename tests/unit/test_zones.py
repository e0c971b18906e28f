"""ZoneMap: adding, looking up and removing zones, GeoJSON in and out, every refusal."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from vtc_dispatch.errors import DispatchError, InvalidZone
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.geo.zones import Zone, ZoneMap

# Around Douala; polygons are (lng, lat).
AKWA = box(9.69, 4.04, 9.71, 4.06)
BONANJO = box(9.68, 4.03, 9.70, 4.05)
# A square with a square hole in the middle.
RING = Polygon(
    [(9.60, 4.00), (9.64, 4.00), (9.64, 4.04), (9.60, 4.04)],
    holes=[[(9.61, 4.01), (9.63, 4.01), (9.63, 4.03), (9.61, 4.03)]],
)
BOWTIE = Polygon([(9.0, 4.0), (9.1, 4.1), (9.1, 4.0), (9.0, 4.1)])


def names_at(zones: ZoneMap, lat: float, lng: float) -> list[str]:
    return [zone.name for zone in zones.zones_at(LatLng(lat, lng))]


def polygon_feature(name: str | None, ring: list[Any], **extra: Any) -> dict[str, Any]:
    properties: dict[str, Any] = dict(extra)
    if name is not None:
        properties["name"] = name
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def square(lng: float, lat: float, side: float = 0.01) -> list[list[float]]:
    return [
        [lng, lat],
        [lng + side, lat],
        [lng + side, lat + side],
        [lng, lat + side],
        [lng, lat],
    ]


def collection(*features: object) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture
def zones() -> ZoneMap:
    zone_map = ZoneMap()
    zone_map.add("akwa", AKWA, {"surcharge": 1.2})
    zone_map.add("ring", RING)
    return zone_map


# --- add, get, remove and the container protocol -------------------------------------------


def test_empty_map() -> None:
    zone_map = ZoneMap()
    assert len(zone_map) == 0
    assert list(zone_map) == []
    assert zone_map.names() == []
    assert zone_map.zones_at(LatLng(4.05, 9.70)) == []


def test_add_then_get_contains_iter_and_names(zones: ZoneMap) -> None:
    zones.add("bonanjo", BONANJO)
    assert len(zones) == 3
    assert "bonanjo" in zones
    assert "deido" not in zones
    assert 42 not in zones
    assert zones.names() == ["akwa", "bonanjo", "ring"]
    assert [zone.name for zone in zones] == ["akwa", "bonanjo", "ring"]
    akwa = zones.get("akwa")
    assert akwa.name == "akwa"
    assert akwa.polygon.equals(AKWA)
    assert dict(akwa.properties) == {"surcharge": 1.2}
    assert zones.get("bonanjo").properties == {}


def test_remove_returns_the_zone_and_forgets_it(zones: ZoneMap) -> None:
    removed = zones.remove("akwa")
    assert removed.name == "akwa"
    assert "akwa" not in zones
    assert len(zones) == 1
    assert names_at(zones, 4.05, 9.70) == []
    with pytest.raises(InvalidZone, match="unknown zone 'akwa'"):
        zones.get("akwa")
    # The name is free again, with another shape.
    zones.add("akwa", box(9.0, 4.0, 9.1, 4.1))
    assert names_at(zones, 4.05, 9.05) == ["akwa"]
    assert names_at(zones, 4.05, 9.70) == []


def test_remove_and_get_unknown_name_the_zone(zones: ZoneMap) -> None:
    with pytest.raises(InvalidZone, match="unknown zone 'deido'"):
        zones.remove("deido")
    with pytest.raises(InvalidZone, match="unknown zone 'deido'"):
        zones.get("deido")
    assert zones.names() == ["akwa", "ring"]


def test_invalid_zone_is_a_dispatch_and_value_error() -> None:
    with pytest.raises(DispatchError):
        ZoneMap().get("x")
    with pytest.raises(ValueError, match="unknown zone"):
        ZoneMap().get("x")


# --- zones_at -------------------------------------------------------------------------------


def test_point_inside_and_outside(zones: ZoneMap) -> None:
    assert names_at(zones, 4.05, 9.70) == ["akwa"]
    assert names_at(zones, 4.07, 9.70) == []
    assert names_at(zones, 3.0, 11.0) == []
    # Inside the bounding box of the ring's hole region but outside every polygon.
    assert names_at(zones, 4.05, 9.65) == []


@pytest.mark.parametrize(
    ("lat", "lng"),
    [
        (4.06, 9.70),  # top edge
        (4.04, 9.70),  # bottom edge
        (4.05, 9.69),  # left edge
        (4.05, 9.71),  # right edge
        (4.04, 9.69),  # corner
        (4.06, 9.71),  # opposite corner
    ],
)
def test_point_on_the_border_counts_as_inside(zones: ZoneMap, lat: float, lng: float) -> None:
    assert names_at(zones, lat, lng) == ["akwa"]


def test_polygon_with_a_hole(zones: ZoneMap) -> None:
    assert names_at(zones, 4.005, 9.605) == ["ring"]  # in the ring itself
    assert names_at(zones, 4.02, 9.62) == []  # in the hole
    assert names_at(zones, 4.01, 9.62) == ["ring"]  # on the edge of the hole
    assert names_at(zones, 4.03, 9.63) == ["ring"]  # on a corner of the hole
    assert names_at(zones, 4.00, 9.60) == ["ring"]  # outer corner


def test_multipolygon_covers_each_part_but_not_the_gap_between() -> None:
    zone_map = ZoneMap()
    parts = MultiPolygon([box(9.60, 4.00, 9.61, 4.01), box(9.70, 4.00, 9.71, 4.01)])
    zone_map.add("split", parts)
    assert names_at(zone_map, 4.005, 9.605) == ["split"]
    assert names_at(zone_map, 4.005, 9.705) == ["split"]
    assert names_at(zone_map, 4.01, 9.71) == ["split"]  # corner of the second part
    assert names_at(zone_map, 4.005, 9.65) == []  # between the parts, inside the bounds


def test_overlapping_zones_are_all_returned_sorted_by_name() -> None:
    zone_map = ZoneMap()
    # Added in reverse order so that sorting is what puts them in order.
    zone_map.add("zz-airport", box(9.60, 3.90, 9.80, 4.10))
    zone_map.add("bonanjo", BONANJO)
    zone_map.add("akwa", AKWA)
    found = zone_map.zones_at(LatLng(4.045, 9.695))
    assert [zone.name for zone in found] == ["akwa", "bonanjo", "zz-airport"]
    assert all(isinstance(zone, Zone) for zone in found)
    assert names_at(zone_map, 4.055, 9.705) == ["akwa", "zz-airport"]
    assert names_at(zone_map, 4.035, 9.685) == ["bonanjo", "zz-airport"]
    # On the shared border of akwa and bonanjo: both.
    assert names_at(zone_map, 4.045, 9.69) == ["akwa", "bonanjo", "zz-airport"]


def test_zone_split_at_the_antimeridian() -> None:
    zone_map = ZoneMap()
    fiji = MultiPolygon([box(177.0, -19.0, 180.0, -16.0), box(-180.0, -19.0, -179.0, -16.0)])
    zone_map.add("fiji", fiji)
    zone_map.add("east-of-180", box(179.0, 10.0, 180.0, 11.0))
    assert names_at(zone_map, -17.0, 178.0) == ["fiji"]
    assert names_at(zone_map, -17.0, -179.5) == ["fiji"]
    assert names_at(zone_map, -17.0, 180.0) == ["fiji"]
    assert names_at(zone_map, -17.0, 0.0) == []
    # LatLng stores longitude 180 as -180; the zone stopping at +180 still covers it.
    assert names_at(zone_map, 10.5, 180.0) == ["east-of-180"]
    assert names_at(zone_map, 10.5, -180.0) == ["east-of-180"]
    assert names_at(zone_map, 10.5, -179.99) == []


def test_many_zones_each_found_only_at_home() -> None:
    zone_map = ZoneMap()
    for i in range(20):
        for j in range(20):
            zone_map.add(
                f"z{i:02d}-{j:02d}",
                box(9.0 + i * 0.01, 4.0 + j * 0.01, 9.0 + (i + 1) * 0.01, 4.0 + (j + 1) * 0.01),
            )
    assert names_at(zone_map, 4.055, 9.035) == ["z03-05"]
    # A shared corner of four cells.
    assert names_at(zone_map, 4.0 + 5 * 0.01, 9.0 + 3 * 0.01) == [
        "z02-04",
        "z02-05",
        "z03-04",
        "z03-05",
    ]


# --- Zone values and properties -------------------------------------------------------------


def test_properties_are_a_read_only_deep_copy() -> None:
    given: dict[str, object] = {"surcharge": 1.2, "tags": ["port", "night"], "meta": {"a": 1}}
    zone_map = ZoneMap()
    zone_map.add("akwa", AKWA, given)
    given["surcharge"] = 9.9
    tags = given["tags"]
    assert isinstance(tags, list)
    tags.append("changed")
    properties = zone_map.get("akwa").properties
    assert properties["surcharge"] == 1.2
    assert properties["tags"] == ("port", "night")
    with pytest.raises(TypeError):
        properties["surcharge"] = 2.0  # type: ignore[index]
    meta = properties["meta"]
    with pytest.raises(TypeError):
        meta["a"] = 2  # type: ignore[index]


def test_zones_compare_by_value_and_hash() -> None:
    first = Zone("akwa", box(9.69, 4.04, 9.71, 4.06), {"surcharge": 1.2})
    second = Zone("akwa", box(9.69, 4.04, 9.71, 4.06), {"surcharge": 1.2})
    assert first == second
    assert hash(first) == hash(second)
    assert first != Zone("akwa", box(9.69, 4.04, 9.71, 4.06), {"surcharge": 1.5})
    assert first != Zone("deido", box(9.69, 4.04, 9.71, 4.06), {"surcharge": 1.2})
    assert repr(first).startswith("Zone('akwa', <POLYGON ((")


# --- refusals by add ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "polygon", "message"),
    [
        ("", AKWA, "zone name must be a non-empty string, got ''"),
        ("   ", AKWA, "zone name must be a non-empty string, got '   '"),
        (7, AKWA, "zone name must be a non-empty string, got 7"),
        (None, AKWA, "zone name must be a non-empty string, got None"),
        (
            "pt",
            Point(9.7, 4.05),
            "zone 'pt': polygon must be a shapely Polygon or MultiPolygon, got Point",
        ),
        (
            "line",
            LineString([(9.7, 4.0), (9.8, 4.1)]),
            "zone 'line': polygon must be a shapely Polygon or MultiPolygon, got LineString",
        ),
        (
            "wkt",
            "POLYGON ((0 0, 1 0, 1 1, 0 0))",
            "zone 'wkt': polygon must be a shapely Polygon or MultiPolygon, got str",
        ),
        ("empty", Polygon(), "zone 'empty': polygon is empty"),
        ("empty-multi", MultiPolygon(), "zone 'empty-multi': polygon is empty"),
        ("north", box(9.0, 89.5, 9.1, 90.5), "zone 'north': latitude 90.5 is not within [-90, 90]"),
        (
            "south",
            box(9.0, -91.0, 9.1, -89.0),
            "zone 'south': latitude -91.0 is not within [-90, 90]",
        ),
        (
            "east",
            box(179.5, 0.0, 180.25, 1.0),
            "zone 'east': longitude 180.25 is not within [-180, 180]",
        ),
        (
            "west",
            box(-181.0, 0.0, -179.0, 1.0),
            "zone 'west': longitude -181.0 is not within [-180, 180]",
        ),
        ("bowtie", BOWTIE, "zone 'bowtie': polygon is not valid: Self-intersection["),
        (
            "bad-hole",
            Polygon(
                [(9.0, 4.0), (9.1, 4.0), (9.1, 4.1), (9.0, 4.1)],
                holes=[[(9.05, 4.05), (9.2, 4.05), (9.2, 4.06)]],
            ),
            "zone 'bad-hole': polygon is not valid: ",
        ),
    ],
)
def test_add_refuses_naming_the_zone_and_the_reason(
    zones: ZoneMap, name: Any, polygon: Any, message: str
) -> None:
    before = zones.names()
    with pytest.raises(InvalidZone, match=re.escape(message)):
        zones.add(name, polygon)
    assert zones.names() == before


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize(
    ("corners", "message"),
    [
        ([(9.0, 4.0), (9.1, math.nan), (9.1, 4.1)], "latitude nan is not within [-90, 90]"),
        ([(9.0, 4.0), (math.inf, 4.0), (9.1, 4.1)], "longitude inf is not within [-180, 180]"),
        ([(9.0, -math.inf), (9.1, 4.0), (9.1, 4.1)], "latitude -inf is not within [-90, 90]"),
    ],
)
def test_add_refuses_non_finite_coordinates(
    zones: ZoneMap, corners: list[tuple[float, float]], message: str
) -> None:
    polygon = Polygon(corners)
    with pytest.raises(InvalidZone, match=re.escape(f"zone 'odd': {message}")):
        zones.add("odd", polygon)
    assert "odd" not in zones


def test_add_refuses_a_duplicate_name(zones: ZoneMap) -> None:
    with pytest.raises(InvalidZone, match="zone 'akwa': duplicate name, already in the map"):
        zones.add("akwa", box(9.0, 4.0, 9.1, 4.1))
    # The original akwa is untouched.
    assert zones.get("akwa").polygon.equals(AKWA)
    assert names_at(zones, 4.05, 9.05) == []
    assert names_at(zones, 4.05, 9.70) == ["akwa"]


def test_add_refuses_properties_that_are_not_a_mapping(zones: ZoneMap) -> None:
    with pytest.raises(InvalidZone, match="zone properties must be a mapping, got list"):
        zones.add("deido", box(9.0, 4.0, 9.1, 4.1), ["surcharge"])  # type: ignore[arg-type]
    with pytest.raises(InvalidZone, match="zone property names must be strings, got 1"):
        zones.add("deido", box(9.0, 4.0, 9.1, 4.1), {1: "x"})  # type: ignore[dict-item]
    assert "deido" not in zones


def test_failed_add_leaves_lookups_unchanged(zones: ZoneMap) -> None:
    probes = [LatLng(4.05, 9.70), LatLng(4.05, 9.05), LatLng(4.005, 9.605), LatLng(4.02, 9.62)]
    before = [zones.zones_at(probe) for probe in probes]
    listed = list(zones)
    for name, polygon in [
        ("akwa", box(9.0, 4.0, 9.1, 4.1)),
        ("bowtie", BOWTIE),
        ("north", box(9.0, 89.5, 9.1, 90.5)),
    ]:
        with pytest.raises(InvalidZone):
            zones.add(name, polygon)
    assert [zones.zones_at(probe) for probe in probes] == before
    assert list(zones) == listed
    assert len(zones) == 2
    assert "bowtie" not in zones


# --- GeoJSON --------------------------------------------------------------------------------


DOC = collection(
    polygon_feature("akwa", square(9.69, 4.04, 0.02), surcharge=1.2),
    polygon_feature("bonanjo", square(9.68, 4.03, 0.02), tags=["port"], meta={"level": 2}),
    {
        "type": "Feature",
        "properties": {"name": "split", "kind": "multi"},
        "geometry": {
            "type": "MultiPolygon",
            "coordinates": [[square(9.60, 4.00)], [square(9.70, 4.00)]],
        },
    },
)


def check_doc_zones(zone_map: ZoneMap) -> None:
    assert zone_map.names() == ["akwa", "bonanjo", "split"]
    assert names_at(zone_map, 4.045, 9.695) == ["akwa", "bonanjo"]
    assert names_at(zone_map, 4.005, 9.705) == ["split"]
    assert names_at(zone_map, 4.005, 9.65) == []
    assert zone_map.get("akwa").properties == {"name": "akwa", "surcharge": 1.2}
    assert zone_map.get("bonanjo").properties["meta"] == {"level": 2}
    assert isinstance(zone_map.get("split").polygon, MultiPolygon)


def test_from_geojson_dict() -> None:
    check_doc_zones(ZoneMap.from_geojson(DOC))


def test_from_geojson_string() -> None:
    check_doc_zones(ZoneMap.from_geojson(json.dumps(DOC, indent=2)))
    check_doc_zones(ZoneMap.from_geojson("\n  " + json.dumps(DOC)))


def test_from_geojson_file(tmp_path: Path) -> None:
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(DOC), encoding="utf-8")
    check_doc_zones(ZoneMap.from_geojson(path))
    check_doc_zones(ZoneMap.from_geojson(str(path)))


def test_from_geojson_missing_file_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ZoneMap.from_geojson(tmp_path / "absent.geojson")


def test_from_geojson_custom_name_property() -> None:
    doc = collection(polygon_feature(None, square(9.69, 4.04), quartier="Akwa"))
    zone_map = ZoneMap.from_geojson(doc, name_property="quartier")
    assert zone_map.names() == ["Akwa"]
    with pytest.raises(InvalidZone, match="feature #0: no 'name' property"):
        ZoneMap.from_geojson(doc)
    assert zone_map.to_geojson(name_property="quartier") == doc


def test_from_geojson_empty_collection() -> None:
    zone_map = ZoneMap.from_geojson(collection())
    assert len(zone_map) == 0
    assert zone_map.to_geojson() == collection()


def test_to_geojson_round_trips() -> None:
    zone_map = ZoneMap.from_geojson(DOC)
    out = zone_map.to_geojson()
    # Sorted by name, plain lists and dicts: equal to the (already sorted) input.
    assert out == DOC
    assert json.loads(json.dumps(out)) == out
    again = ZoneMap.from_geojson(out)
    assert list(again) == list(zone_map)


def test_to_geojson_adds_the_name_to_the_properties() -> None:
    zone_map = ZoneMap()
    zone_map.add("ring", RING, {"surcharge": 1.5})
    zone_map.add("akwa", AKWA)
    out = zone_map.to_geojson()
    assert [feature["properties"] for feature in out["features"]] == [
        {"name": "akwa"},
        {"surcharge": 1.5, "name": "ring"},
    ]
    again = ZoneMap.from_geojson(json.dumps(out))
    assert again.names() == ["akwa", "ring"]
    assert again.get("ring").polygon.equals(RING)
    assert len(again.get("ring").polygon.interiors) == 1
    assert names_at(again, 4.02, 9.62) == []


def test_to_geojson_is_a_fresh_mutable_copy(zones: ZoneMap) -> None:
    out = zones.to_geojson()
    out["features"][0]["properties"]["surcharge"] = 99
    assert zones.get("akwa").properties["surcharge"] == 1.2


GOOD = polygon_feature("akwa", square(9.69, 4.04))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"type": "Feature", "properties": {}, "geometry": None},
            "GeoJSON must be a FeatureCollection, got 'Feature'",
        ),
        ([GOOD], "GeoJSON must be a FeatureCollection, got [{"),
        ({"features": [GOOD]}, "GeoJSON must be a FeatureCollection, got None"),
        (
            {"type": "FeatureCollection"},
            "GeoJSON FeatureCollection needs a list of features, got None",
        ),
        (
            {"type": "FeatureCollection", "features": {"a": GOOD}},
            "GeoJSON FeatureCollection needs a list of features, got {",
        ),
        (collection(GOOD, "akwa"), "feature #1: not a GeoJSON Feature, got 'akwa'"),
        (
            collection(GOOD, {**GOOD, "type": "Polygon"}),
            "feature #1: not a GeoJSON Feature, got 'Polygon'",
        ),
        (
            collection(GOOD, polygon_feature(None, square(9.0, 4.0))),
            "feature #1: no 'name' property to name the zone",
        ),
        (
            collection(GOOD, {**GOOD, "properties": None}),
            "feature #1: no 'name' property to name the zone",
        ),
        (
            collection(GOOD, {**GOOD, "properties": ["akwa"]}),
            "feature #1: properties must be an object, got ['akwa']",
        ),
        (
            collection(polygon_feature("", square(9.0, 4.0))),
            "feature #0: the 'name' property must be a non-empty string, got ''",
        ),
        (
            collection({**GOOD, "properties": {"name": 12}}),
            "feature #0: the 'name' property must be a non-empty string, got 12",
        ),
        (
            collection(
                GOOD,
                {
                    **GOOD,
                    "properties": {"name": "gare"},
                    "geometry": {"type": "Point", "coordinates": [9.7, 4.0]},
                },
            ),
            "feature #1: zone 'gare': geometry must be a Polygon or MultiPolygon, got 'Point'",
        ),
        (
            collection({**GOOD, "properties": {"name": "gare"}, "geometry": None}),
            "feature #0: zone 'gare': geometry must be a Polygon or MultiPolygon, got None",
        ),
        (
            collection(
                {
                    **GOOD,
                    "properties": {"name": "gare"},
                    "geometry": {"type": "LineString", "coordinates": [[9.7, 4.0], [9.8, 4.1]]},
                }
            ),
            "feature #0: zone 'gare': geometry must be a Polygon or MultiPolygon, got 'LineString'",
        ),
        (
            collection(polygon_feature("short", [[9.0, 4.0], [9.1, 4.0]])),
            "feature #0: zone 'short': bad coordinates: A linearring requires at least 4",
        ),
        (
            collection(polygon_feature("flat", [[9.0, 4.0], [9.1, 4.0], [9.0, 4.0]])),
            "feature #0: zone 'flat': polygon is not valid: Too few points in geometry component",
        ),
        (
            collection(polygon_feature("scalar", [9.0, 4.0])),
            "feature #0: zone 'scalar': bad coordinates: ",
        ),
        (
            collection(polygon_feature("text", [[9.0, 4.0], [9.1, "x"], [9.1, 4.1], [9.0, 4.0]])),
            "feature #0: zone 'text': bad coordinates: ",
        ),
        (
            collection(
                {**GOOD, "properties": {"name": "nocoords"}, "geometry": {"type": "Polygon"}}
            ),
            "feature #0: zone 'nocoords': bad coordinates: ",
        ),
        (collection(polygon_feature("empty", [])), "feature #0: zone 'empty': polygon is empty"),
        (
            collection(GOOD, polygon_feature("north", square(9.0, 89.5, 0.75))),
            "feature #1: zone 'north': latitude 90.25 is not within [-90, 90]",
        ),
        (
            collection(polygon_feature("east", square(179.5, 0.0, 0.75))),
            "feature #0: zone 'east': longitude 180.25 is not within [-180, 180]",
        ),
        (
            collection(
                GOOD,
                polygon_feature(
                    "bowtie", [[9.0, 4.0], [9.1, 4.1], [9.1, 4.0], [9.0, 4.1], [9.0, 4.0]]
                ),
            ),
            "feature #1: zone 'bowtie': polygon is not valid: Self-intersection[9.05 4.05]",
        ),
        (
            collection(GOOD, polygon_feature("deido", square(9.0, 4.0)), GOOD),
            "feature #2: zone 'akwa': duplicate name, already used by feature #0",
        ),
    ],
)
def test_from_geojson_refuses_naming_the_feature_and_the_reason(
    document: Any, message: str
) -> None:
    with pytest.raises(InvalidZone, match=re.escape(message)):
        ZoneMap.from_geojson(document)


def test_from_geojson_refuses_bad_json_string_and_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidZone, match="GeoJSON string is not valid JSON: "):
        ZoneMap.from_geojson('{"type": "FeatureCollection", "features": [')
    path = tmp_path / "broken.geojson"
    path.write_text("not json at all", encoding="utf-8")
    with pytest.raises(InvalidZone, match=r"GeoJSON file '.*broken\.geojson' is not valid JSON"):
        ZoneMap.from_geojson(path)


def test_from_geojson_error_in_a_string_source_names_the_feature() -> None:
    text = json.dumps(
        collection(
            GOOD,
            polygon_feature("bowtie", [[9.0, 4.0], [9.1, 4.1], [9.1, 4.0], [9.0, 4.1], [9.0, 4.0]]),
        )
    )
    with pytest.raises(InvalidZone, match=r"feature #1: zone 'bowtie': .*Self-intersection\["):
        ZoneMap.from_geojson(text)
