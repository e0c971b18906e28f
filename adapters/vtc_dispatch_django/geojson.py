"""Areas typed in the admin: GeoJSON polygons checked with shapely, with a readable error;
a zone must lie in or near a city (which catches latitude and longitude swapped).

>>> validate_area({"type": "Polygon", "coordinates": [[[9.7, 4.0], [9.8, 4.0], [9.7, 4.1],
...     [9.8, 4.1], [9.7, 4.0]]]})
Traceback (most recent call last):
...
ValueError: invalid Polygon: Self-intersection[9.75 4.05]
>>> validate_area("a square")
Traceback (most recent call last):
...
ValueError: an area must be a GeoJSON object such as {"type": "Polygon", ...}, got 'a square'

A zone drawn with its points as (lat, lng) instead of GeoJSON's (lng, lat)
lands hundreds of kilometres away; :func:`check_near_city` names the
problem:

>>> douala = {"type": "Polygon", "coordinates": [[[9.55, 3.9], [9.9, 3.9], [9.9, 4.2],
...     [9.55, 4.2], [9.55, 3.9]]]}
>>> swapped = {"type": "Polygon", "coordinates": [[[4.015, 9.68], [4.015, 9.70], [4.035, 9.70],
...     [4.035, 9.68], [4.015, 9.68]]]}
>>> check_near_city(validate_area(swapped), {"douala": validate_area(douala)})
Traceback (most recent call last):
...
ValueError: the area lies outside every city: its point lng 4.015, lat 9.7 is 864 km
from douala, the nearest; latitude and longitude look swapped (swapped back, the area lies
in douala)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from vtc_dispatch.geo import LatLng, haversine_km
from vtc_dispatch.pricing.config import GeoJSONArea

__all__ = ["ZONE_MARGIN_KM", "check_near_city", "validate_area"]

ZONE_MARGIN_KM = 20.0
"""How far outside a city's area a zone may reach (an airport, a toll gate beyond the limits)."""


def validate_area(value: Any) -> GeoJSONArea:
    """The area, checked (valid, non-empty polygon within lng/lat bounds), or ValueError."""
    if not isinstance(value, dict):
        raise ValueError(
            f'an area must be a GeoJSON object such as {{"type": "Polygon", ...}}, got {value!r}'[
                :300
            ]
        )
    try:
        return GeoJSONArea.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        text = str(first["msg"]).removeprefix("Value error, ")
        raise ValueError(f"{where}: {text}" if where else text) from None


def _points(geometry: BaseGeometry) -> Iterator[tuple[float, float]]:
    """The (lng, lat) of every ring point of a Polygon or MultiPolygon."""
    for polygon in getattr(geometry, "geoms", [geometry]):
        yield from polygon.exterior.coords


def _km_outside(geometry: BaseGeometry, city: BaseGeometry) -> tuple[float, tuple[float, float]]:
    """How far the point of ``geometry`` farthest outside ``city`` is from it, and that point."""
    worst, where = 0.0, next(_points(geometry))
    for lng, lat in _points(geometry):
        point = Point(lng, lat)
        if city.covers(point):
            continue
        near = nearest_points(city, point)[0]
        km = haversine_km(LatLng(lat, lng), LatLng(near.y, near.x))
        if km > worst:
            worst, where = km, (lng, lat)
    return worst, where


def _closest(
    geometry: BaseGeometry, cities: Mapping[str, GeoJSONArea]
) -> tuple[str, float, tuple[float, float]]:
    return min(
        ((code, *_km_outside(geometry, area.geometry)) for code, area in cities.items()),
        key=lambda found: found[1],
    )


def check_near_city(
    area: GeoJSONArea, cities: Mapping[str, GeoJSONArea], *, margin_km: float = ZONE_MARGIN_KM
) -> str:
    """The code of the city ``area`` lies in (within ``margin_km`` of its limits).

    ValueError otherwise, naming the nearest city, how far the area is and
    its first point outside; when the area with each point's latitude and
    longitude swapped would lie in a city, the message says so.  With no
    city configured there is nothing to compare with: ``""``.
    """
    if not cities:
        return ""
    code, km, (lng, lat) = _closest(area.geometry, cities)
    if km <= margin_km:
        return code
    message = (
        f"the area lies outside every city: its point lng {lng:g}, lat {lat:g} is"
        f" {km:.0f} km from {code}, the nearest"
    )
    swapped = shape({"type": area.type, "coordinates": _swap(area.coordinates)})
    back, back_km, _ = _closest(swapped, cities)
    if back_km <= margin_km:
        message += f"; latitude and longitude look swapped (swapped back, the area lies in {back})"
    else:
        message += f"; a zone must lie within {margin_km:g} km of a city's area"
    raise ValueError(message)


def _swap(coordinates: Any) -> Any:
    """GeoJSON coordinates with each point's two numbers exchanged."""
    if coordinates and isinstance(coordinates[0], int | float):
        return [coordinates[1], coordinates[0], *coordinates[2:]]
    return [_swap(part) for part in coordinates]
