"""A ready Dakar configuration (XOF): freight loads with bidding and restaurant deliveries.

Three vehicle types: two freight ones (``camion_10t``, ``camionnette_3t``,
kind ``freight``: their orders are loads carriers bid on) and a delivery
motorbike (``moto_livraison``, kind ``delivery``: the merchant's states, then
a rider), priced by the same tariffs as rides.  Coordinates are approximate;
operators load their own file with
:func:`~vtc_dispatch.pricing.config.load_pricing_config`.

>>> config = dakar_config()
>>> {code: vt.kind for code, vt in config.vehicle_types.items()}
{'camion_10t': 'freight', 'camionnette_3t': 'freight', 'moto_livraison': 'delivery'}
>>> config.countries["SN"].currency
'XOF'

Payment methods are the service's settings: Senegal's (Wave, Orange Money,
Free Money, cash, wallet) are among their defaults.
"""

from __future__ import annotations

from typing import Any

from vtc_dispatch.pricing.config import PricingConfig, load_pricing_config

__all__ = ["DAKAR_CONFIG", "dakar_config"]


def _box(min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> dict[str, Any]:
    ring = [[min_lng, min_lat], [max_lng, min_lat], [max_lng, max_lat], [min_lng, max_lat]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


DAKAR_CONFIG: dict[str, Any] = {
    "countries": {
        "SN": {
            "currency": "XOF",
            "timezone": "Africa/Dakar",
            "rounding": {"step": "25", "mode": "nearest"},
        }
    },
    "cities": {
        # The Dakar region, from the Plateau to Diamniadio and the port's road to Thies.
        "dakar": {
            "country": "SN",
            "area": _box(-17.55, 14.60, -16.95, 14.90),
            "average_speed_kmh": 20,
            "detour_factor": 1.35,
            "route_spread": 0.2,
        }
    },
    "vehicle_types": {
        "camion_10t": {"label": "Camion 10 t", "seats": 2, "kind": "freight"},
        "camionnette_3t": {"label": "Camionnette 3 t", "seats": 2, "kind": "freight"},
        "moto_livraison": {"label": "Moto livraison", "seats": 1, "kind": "delivery"},
    },
    "tariffs": [
        {
            "city": "dakar",
            "vehicle_type": "camion_10t",
            "base_fare": "25000",
            "per_km": "900",
            "minimum_fare": "35000",
            "waiting": {"free_minutes": "60", "per_minute": "100"},
            "cancellation_fee": "10000",
        },
        {
            "city": "dakar",
            "vehicle_type": "camionnette_3t",
            "base_fare": "10000",
            "per_km": "500",
            "minimum_fare": "15000",
            "waiting": {"free_minutes": "30", "per_minute": "50"},
            "cancellation_fee": "5000",
        },
        {
            "city": "dakar",
            "vehicle_type": "moto_livraison",
            "base_fare": "500",
            "per_km": "150",
            "minimum_fare": "1000",
            "booking_fee": "100",
            "cancellation_fee": "500",
        },
    ],
    "zones": {
        "port": {
            "label": "Port autonome",
            "area": _box(-17.44, 14.67, -17.41, 14.70),
            "surcharge": {"fixed": "5000"},
            "applies_to": "either",
        },
    },
}
"""The Dakar configuration as plain data, as it would sit in a JSON or YAML file."""


def dakar_config() -> PricingConfig:
    """The Dakar configuration, loaded and checked."""
    return load_pricing_config(DAKAR_CONFIG)
