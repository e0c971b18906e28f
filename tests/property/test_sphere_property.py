"""Properties of the great-circle helpers."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from strategies import anywhere, points

from vtc_dispatch.geo.sphere import (
    EARTH_RADIUS_KM,
    EQUIRECTANGULAR_MAX_KM,
    EQUIRECTANGULAR_MAX_LAT,
    EQUIRECTANGULAR_REL_ERROR,
    LatLng,
    destination_point,
    equirectangular_km,
    haversine_km,
    initial_bearing_deg,
)


@given(points, points)
def test_haversine_symmetric_bounded_and_zero_only_on_equal_points(a: LatLng, b: LatLng) -> None:
    d = haversine_km(a, b)
    assert d == haversine_km(b, a)
    assert 0.0 <= d <= math.pi * EARTH_RADIUS_KM
    assert haversine_km(a, a) == 0.0
    if d == 0.0:
        # Zero means the same place, down to float resolution (1e-9 degrees is 0.1 mm).
        assert abs(a.lat - b.lat) < 1e-9
        assert abs(a.lat) > 90.0 - 1e-9 or abs((a.lng - b.lng + 180.0) % 360.0 - 180.0) < 1e-9


@given(points, points, points)
def test_triangle_inequality(a: LatLng, b: LatLng, c: LatLng) -> None:
    assert haversine_km(a, c) <= haversine_km(a, b) + haversine_km(b, c) + 1e-9


@given(
    st.builds(
        LatLng,
        st.floats(-EQUIRECTANGULAR_MAX_LAT, EQUIRECTANGULAR_MAX_LAT),
        st.floats(-180.0, 180.0),
    ),
    st.floats(0.0, 360.0),
    st.floats(1e-4, EQUIRECTANGULAR_MAX_KM),
)
def test_equirectangular_within_its_stated_bound(a: LatLng, bearing: float, km: float) -> None:
    b = destination_point(a, bearing, km)
    if abs(b.lat) > EQUIRECTANGULAR_MAX_LAT:
        return
    exact = haversine_km(a, b)
    assert abs(equirectangular_km(a, b) / exact - 1.0) <= EQUIRECTANGULAR_REL_ERROR


@given(anywhere, st.floats(0.0, 359.999), st.floats(0.001, 5_000.0))
def test_destination_point_travels_the_distance(a: LatLng, bearing: float, km: float) -> None:
    b = destination_point(a, bearing, km)
    assert math.isclose(haversine_km(a, b), km, rel_tol=1e-9, abs_tol=1e-6)
    assert 0.0 <= initial_bearing_deg(a, b) < 360.0
