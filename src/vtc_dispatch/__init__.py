"""vtc-dispatch: framework-free dispatch for ride-hailing and on-demand transport.

The core never imports an adapter's dependency (redis, django, channels,
celery); adapters live in their own import packages.

>>> import vtc_dispatch
>>> vtc_dispatch.LatLng(4.05, 9.70)
LatLng(4.05, 9.7)
>>> vtc_dispatch.DispatchService.__module__
'vtc_dispatch.service'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vtc_dispatch.errors import DispatchError, InvalidCoordinates, InvalidZone, UnknownDriver, shown
from vtc_dispatch.geo import DriverIndex, LatLng, haversine_km

if TYPE_CHECKING:
    from vtc_dispatch.order import Actor, Order
    from vtc_dispatch.service import DispatchService, ServiceSettings

# The order and the service pull in pricing's pydantic configuration and the
# whole composition root; importing them only when first asked for keeps
# `import vtc_dispatch.geo` (which runs this file first) as light as geometry.
_LAZY = {
    "Actor": "vtc_dispatch.order",
    "Order": "vtc_dispatch.order",
    "DispatchService": "vtc_dispatch.service",
    "ServiceSettings": "vtc_dispatch.service",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vtc_dispatch' has no attribute {shown(name)}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
