"""LatLng validation and the great-circle helpers."""

from __future__ import annotations

import math
import re

import pytest
from places import DOUALA

from vtc_dispatch.errors import InvalidCoordinates
from vtc_dispatch.geo.sphere import (
    EARTH_RADIUS_KM,
    LatLng,
    destination_point,
    equirectangular_km,
    haversine_km,
    initial_bearing_deg,
    path_length_km,
)


@pytest.mark.parametrize(
    ("lat", "lng", "named"),
    [
        (math.nan, 0.0, "latitude"),
        (0.0, math.nan, "longitude"),
        (math.inf, 0.0, "latitude"),
        (0.0, -math.inf, "longitude"),
        (90.0001, 0.0, "latitude"),
        (-91, 0.0, "latitude"),
        (0.0, 180.5, "longitude"),
        (0.0, -180.0001, "longitude"),
    ],
)
def test_bad_coordinates_are_refused_naming_the_value(lat: float, lng: float, named: str) -> None:
    bad = lat if named == "latitude" else lng
    with pytest.raises(InvalidCoordinates, match=rf"{named} .* got {re.escape(repr(bad))}"):
        LatLng(lat, lng)


@pytest.mark.parametrize("value", ["4.05", None, True, [4.05]])
def test_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(InvalidCoordinates, match="latitude must be a number"):
        LatLng(value, 0.0)  # type: ignore[arg-type]


def test_longitude_180_is_normalised_and_ints_become_floats() -> None:
    p = LatLng(1, 180)
    assert p == LatLng(1.0, -180.0)
    assert type(p.lat) is float
    assert type(p.lng) is float
    assert LatLng(90, -180).lat == 90.0


def test_latlng_is_frozen_and_hashable() -> None:
    p = LatLng(4.05, 9.7)
    with pytest.raises(AttributeError):
        p.lat = 5.0  # type: ignore[misc]
    assert {p, LatLng(4.05, 9.7)} == {p}


def test_haversine_known_values() -> None:
    assert haversine_km(LatLng(0, 0), LatLng(0, 1)) == pytest.approx(111.19508, abs=1e-5)
    assert haversine_km(LatLng(90, 0), LatLng(-90, 0)) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    # Across the antimeridian the short way round is taken.
    assert haversine_km(LatLng(0, 179.5), LatLng(0, -179.5)) == pytest.approx(111.19508, 1e-6)


def test_bearings() -> None:
    assert initial_bearing_deg(LatLng(0, 0), LatLng(1, 0)) == 0.0
    assert initial_bearing_deg(LatLng(0, 0), LatLng(0, -1)) == 270.0
    assert initial_bearing_deg(LatLng(4, 9), LatLng(4, 9)) == 0.0
    assert initial_bearing_deg(LatLng(0, 179.5), LatLng(0, -179.5)) == pytest.approx(90.0)


def test_destination_point_round_trip_and_antimeridian() -> None:
    start = DOUALA
    for bearing in (0.0, 45.0, 133.0, 270.0, 359.0):
        end = destination_point(start, bearing, 12.5)
        assert haversine_km(start, end) == pytest.approx(12.5, abs=1e-9)
        turn = (initial_bearing_deg(start, end) - bearing + 180.0) % 360.0 - 180.0
        assert turn == pytest.approx(0.0, abs=1e-6)
    east = destination_point(LatLng(0, 179.9), 90.0, 50.0)
    assert -180.0 <= east.lng < -179.0


@pytest.mark.parametrize(("bearing", "distance"), [(math.nan, 1.0), (0.0, math.inf), (0.0, -0.5)])
def test_destination_point_rejects_bad_input(bearing: float, distance: float) -> None:
    with pytest.raises(InvalidCoordinates, match="got"):
        destination_point(LatLng(0, 0), bearing, distance)


def test_path_length_sums_segments() -> None:
    pts = [LatLng(4.05, 9.70), LatLng(4.06, 9.70), LatLng(4.06, 9.71)]
    expected = haversine_km(pts[0], pts[1]) + haversine_km(pts[1], pts[2])
    assert path_length_km(pts) == expected
    assert path_length_km(iter(pts)) == expected
    assert path_length_km([pts[0]]) == 0.0


def test_equirectangular_handles_the_antimeridian() -> None:
    a, b = LatLng(10, 179.99), LatLng(10, -179.99)
    assert equirectangular_km(a, b) == pytest.approx(haversine_km(a, b), rel=1e-6)
