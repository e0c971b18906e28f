"""Geography: points, great-circle distances, the live driver index, zones.

>>> from vtc_dispatch.geo import LatLng, haversine_km
>>> round(haversine_km(LatLng(4.05, 9.70), LatLng(4.05, 9.80)), 3)
11.092
"""

from vtc_dispatch.geo.index import DriverIndex
from vtc_dispatch.geo.sphere import (
    EARTH_RADIUS_KM,
    LatLng,
    destination_point,
    equirectangular_km,
    haversine_km,
    initial_bearing_deg,
    path_length_km,
)

__all__ = [
    "EARTH_RADIUS_KM",
    "DriverIndex",
    "LatLng",
    "destination_point",
    "equirectangular_km",
    "haversine_km",
    "initial_bearing_deg",
    "path_length_km",
]
