"""The spherical model's error against WGS84, as stated in vtc_dispatch.geo.sphere."""

from __future__ import annotations

import math
import random

from geographiclib.geodesic import Geodesic
from places import DOUALA

from vtc_dispatch.geo.sphere import SPHERE_REL_ERROR, LatLng, destination_point, haversine_km


def _geodesic_km(a: LatLng, b: LatLng) -> float:
    return float(Geodesic.WGS84.Inverse(a.lat, a.lng, b.lat, b.lng)["s12"]) / 1000.0


def test_haversine_error_against_wgs84_is_within_the_documented_bound() -> None:
    rng = random.Random(20261121)
    worst = 0.0
    for _ in range(5_000):
        a = LatLng(math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180))
        b = LatLng(math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180))
        exact = _geodesic_km(a, b)
        if exact > 1.0:
            worst = max(worst, abs(haversine_km(a, b) / exact - 1.0))
    assert worst <= SPHERE_REL_ERROR
    # The bound is not loose: the documented worst case is approached.
    assert worst > 0.004


def test_city_trips_near_the_equator() -> None:
    north = destination_point(DOUALA, 0.0, 10.0)
    east = destination_point(DOUALA, 90.0, 10.0)
    err_north = haversine_km(DOUALA, north) / _geodesic_km(DOUALA, north) - 1.0
    err_east = haversine_km(DOUALA, east) / _geodesic_km(DOUALA, east) - 1.0
    # North-south overstates by about 0.56 %, east-west understates by about 0.1 %.
    assert 0.0050 < err_north <= SPHERE_REL_ERROR
    assert -0.0015 < err_east < -0.0005
