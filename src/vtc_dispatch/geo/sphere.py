"""Points on the Earth and great-circle math on a sphere of mean radius.

Coordinates are always ``LatLng(lat, lng)`` in degrees, distances in
kilometres, bearings in degrees clockwise from true north.

Accuracy against the WGS84 ellipsoid
------------------------------------
Every distance here treats the Earth as a sphere of radius
:data:`EARTH_RADIUS_KM` (the IUGG mean radius).  Against the exact WGS84
geodesic (geographiclib), measured on 200 000 random pairs for this
docstring and re-checked by ``tests/unit/test_geo_accuracy.py``:

* the relative error of :func:`haversine_km` was at most **0.561 %**
  (largest for north-south trips near the equator, where the meridian is
  flatter than the sphere); the tests hold it to :data:`SPHERE_REL_ERROR`
  (0.57 %);
* trips under 100 km within 25 degrees of the equator (Douala, Dakar,
  Kinshasa) are no better in the worst case (0.561 %, i.e. 56 m on a
  10 km ride, for a due north-south trip) and about 0.1 % for east-west
  trips.

That is well under the uncertainty of a road route, which is why pricing
and dispatch use the sphere; use an ellipsoidal library where survey
accuracy matters.

>>> douala = LatLng(4.0511, 9.7679)
>>> yaounde = LatLng(3.8480, 11.5021)
>>> round(haversine_km(douala, yaounde), 1)
193.7
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import attrs

from vtc_dispatch.errors import InvalidCoordinates, shown

__all__ = [
    "EARTH_RADIUS_KM",
    "EQUIRECTANGULAR_MAX_KM",
    "EQUIRECTANGULAR_MAX_LAT",
    "EQUIRECTANGULAR_REL_ERROR",
    "SPHERE_REL_ERROR",
    "LatLng",
    "check_point",
    "destination_point",
    "equirectangular_km",
    "haversine_km",
    "initial_bearing_deg",
    "path_length_km",
]

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG R1) in kilometres."""

SPHERE_REL_ERROR = 0.0057
"""Bound on the relative error of :func:`haversine_km` against WGS84 geodesics."""

EQUIRECTANGULAR_MAX_KM = 50.0
"""Distance up to which :data:`EQUIRECTANGULAR_REL_ERROR` is guaranteed."""

EQUIRECTANGULAR_MAX_LAT = 70.0
"""Highest absolute latitude (degrees) for which the bound is guaranteed."""

EQUIRECTANGULAR_REL_ERROR = 5e-5
"""Bound on ``|equirectangular_km / haversine_km - 1|`` within the limits above."""

_RAD = math.pi / 180.0


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidCoordinates(f"{name} must be a number of degrees, got {shown(value)}")
    return float(value)


def check_point(value: object, argument: str = "point") -> LatLng:
    """``value`` if it is a :class:`LatLng` (which checked its numbers), else
    InvalidCoordinates naming ``argument``.

    >>> check_point((4.05, 9.70), "pickup")
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCoordinates: pickup must be a LatLng, got (4.05, 9.7)
    """
    if isinstance(value, LatLng):
        return value
    raise InvalidCoordinates(f"{argument} must be a LatLng, got {shown(value)}")


@attrs.frozen(repr=False)
class LatLng:
    """A point on the Earth: latitude and longitude in degrees (WGS84).

    ``lat`` must lie in [-90, 90] and ``lng`` in [-180, 180]; NaN and
    infinities are refused with :class:`~vtc_dispatch.errors.InvalidCoordinates`
    naming the bad value.  Longitude 180 is stored as -180 so that each
    meridian has one spelling.

    >>> LatLng(4.05, 9.7)
    LatLng(4.05, 9.7)
    >>> LatLng(0, 180).lng
    -180.0
    >>> LatLng(91, 0)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCoordinates: latitude must be within [-90, 90], got 91
    """

    lat: float
    lng: float

    def __attrs_post_init__(self) -> None:
        given_lat, given_lng = lat, lng = self.lat, self.lng
        if type(lat) is not float:
            lat = _check_number("latitude", lat)
            object.__setattr__(self, "lat", lat)
        if type(lng) is not float:
            lng = _check_number("longitude", lng)
            object.__setattr__(self, "lng", lng)
        # Written so that NaN fails every comparison and lands in the error.
        if not -90.0 <= lat <= 90.0:
            raise InvalidCoordinates(f"latitude must be within [-90, 90], got {shown(given_lat)}")
        if not -180.0 <= lng < 180.0:
            if lng != 180.0:
                raise InvalidCoordinates(
                    f"longitude must be within [-180, 180], got {shown(given_lng)}"
                )
            object.__setattr__(self, "lng", -180.0)

    def __repr__(self) -> str:
        return f"LatLng({self.lat!r}, {self.lng!r})"


def haversine_km(a: LatLng, b: LatLng) -> float:
    """Great-circle distance in kilometres between two points.

    Symmetric, zero for equal points, never above ``pi * EARTH_RADIUS_KM``.
    See the module docstring for the error against WGS84 (at most 0.57 %).

    >>> haversine_km(LatLng(0, 0), LatLng(0, 1))  # one degree on the equator
    111.19508...
    """
    phi1 = a.lat * _RAD
    phi2 = b.lat * _RAD
    return _haversine_parts(phi1, math.cos(phi1), a.lng, phi2, math.cos(phi2), b.lng)


def _haversine_parts(
    phi1: float, cos_phi1: float, lng1: float, phi2: float, cos_phi2: float, lng2: float
) -> float:
    """:func:`haversine_km` from latitudes in radians, their cosines and longitudes in degrees.

    The driver index calls this with cached cosines; the operations are the
    same as in :func:`haversine_km`, so results are identical to the bit.
    """
    s_dphi = math.sin((phi2 - phi1) * 0.5)
    s_dlam = math.sin((lng2 - lng1) * _RAD * 0.5)
    h = s_dphi * s_dphi + cos_phi1 * cos_phi2 * s_dlam * s_dlam
    if h > 1.0:  # noqa: PLR1730  (a branch is cheaper than min() on this hot path)
        h = 1.0
    # atan2 keeps full precision near antipodal points, where asin does not.
    return 2.0 * EARTH_RADIUS_KM * math.atan2(math.sqrt(h), math.sqrt(1.0 - h))


def equirectangular_km(a: LatLng, b: LatLng) -> float:
    """Fast flat-Earth approximation of :func:`haversine_km` for short trips.

    Projects both points on a plane tangent at their mean latitude.  For
    points at most :data:`EQUIRECTANGULAR_MAX_KM` (50 km) apart with both
    latitudes within :data:`EQUIRECTANGULAR_MAX_LAT` (70 degrees), the
    relative difference from :func:`haversine_km` is below
    :data:`EQUIRECTANGULAR_REL_ERROR` (0.005 %, i.e. 0.5 m on 10 km; the
    worst measured was 2.2e-5, at 50 km near 70 degrees); the error
    grows with the square of the distance and with latitude, so do not use
    it beyond those limits.  Crossing the antimeridian is handled.

    >>> a, b = LatLng(4.05, 9.70), LatLng(4.10, 9.75)
    >>> abs(equirectangular_km(a, b) / haversine_km(a, b) - 1) < EQUIRECTANGULAR_REL_ERROR
    True
    """
    dlng = b.lng - a.lng
    if dlng > 180.0:
        dlng -= 360.0
    elif dlng < -180.0:
        dlng += 360.0
    x = dlng * math.cos((a.lat + b.lat) * (0.5 * _RAD))
    y = b.lat - a.lat
    return EARTH_RADIUS_KM * _RAD * math.sqrt(x * x + y * y)


def initial_bearing_deg(a: LatLng, b: LatLng) -> float:
    """Initial bearing of the great circle from ``a`` to ``b``, in [0, 360).

    0 is north, 90 east.  Equal points give 0.

    >>> initial_bearing_deg(LatLng(0, 0), LatLng(0, 1))
    90.0
    >>> initial_bearing_deg(LatLng(0, 0), LatLng(-1, 0))
    180.0
    """
    phi1 = a.lat * _RAD
    phi2 = b.lat * _RAD
    dlam = (b.lng - a.lng) * _RAD
    y = math.sin(dlam) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlam)
    bearing = math.degrees(math.atan2(y, x)) % 360.0
    # -0.0 % 360 is 0.0 but a tiny negative angle rounds to exactly 360.0.
    return 0.0 if bearing >= 360.0 else bearing


def destination_point(origin: LatLng, bearing_deg: float, distance_km: float) -> LatLng:
    """The point reached from ``origin`` along a great circle.

    ``bearing_deg`` is the initial bearing (any finite value, taken modulo
    360); ``distance_km`` must be finite and non-negative.

    >>> p = destination_point(LatLng(4.05, 9.70), 90.0, 10.0)
    >>> round(haversine_km(LatLng(4.05, 9.70), p), 9)
    10.0
    >>> destination_point(LatLng(0, 0), 0.0, -1.0)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidCoordinates: distance_km must be finite and >= 0, got -1.0
    """
    if not (math.isfinite(distance_km) and distance_km >= 0.0):
        raise InvalidCoordinates(f"distance_km must be finite and >= 0, got {shown(distance_km)}")
    if not math.isfinite(bearing_deg):
        raise InvalidCoordinates(f"bearing_deg must be finite, got {shown(bearing_deg)}")
    delta = distance_km / EARTH_RADIUS_KM
    theta = bearing_deg * _RAD
    phi1 = origin.lat * _RAD
    lam1 = origin.lng * _RAD
    sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lam2 = lam1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * sin_phi2,
    )
    lng = (math.degrees(lam2) + 180.0) % 360.0 - 180.0
    return LatLng(max(-90.0, min(90.0, math.degrees(phi2))), lng)


def path_length_km(points: Iterable[LatLng]) -> float:
    """Length of a polyline: the sum of :func:`haversine_km` between neighbours.

    Fewer than two points give 0.

    >>> path_length_km([LatLng(0, 0), LatLng(0, 1), LatLng(0, 2)]) == 2 * haversine_km(
    ...     LatLng(0, 0), LatLng(0, 1))
    True
    >>> path_length_km([])
    0.0
    """
    total = 0.0
    previous: LatLng | None = None
    for point in points:
        if previous is not None:
            total += haversine_km(previous, point)
        previous = point
    return total
