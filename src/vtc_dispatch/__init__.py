"""vtc-dispatch: framework-free dispatch for ride-hailing and on-demand transport.

The core never imports an adapter's dependency (redis, django, channels,
celery); adapters live in their own import packages.

>>> import vtc_dispatch
>>> vtc_dispatch.LatLng(4.05, 9.70)
LatLng(4.05, 9.7)
"""

from vtc_dispatch.errors import DispatchError, InvalidCoordinates, InvalidZone, UnknownDriver
from vtc_dispatch.geo import DriverIndex, LatLng, haversine_km
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.service import DispatchService, ServiceSettings

__all__ = [
    "Actor",
    "DispatchError",
    "DispatchService",
    "DriverIndex",
    "InvalidCoordinates",
    "InvalidZone",
    "LatLng",
    "Order",
    "ServiceSettings",
    "UnknownDriver",
    "haversine_km",
]

__version__ = "0.1.0"
