"""Areas typed in the admin: GeoJSON polygons checked with shapely, with a readable error.

>>> validate_area({"type": "Polygon", "coordinates": [[[9.7, 4.0], [9.8, 4.0], [9.7, 4.1],
...     [9.8, 4.1], [9.7, 4.0]]]})
Traceback (most recent call last):
...
ValueError: invalid Polygon: Self-intersection[9.75 4.05]
>>> validate_area("a square")
Traceback (most recent call last):
...
ValueError: an area must be a GeoJSON object such as {"type": "Polygon", ...}, got 'a square'
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from vtc_dispatch.pricing.config import GeoJSONArea

__all__ = ["validate_area"]


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
