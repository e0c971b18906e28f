"""A ready Douala configuration (XAF): the worked example of the docs and the demo.

Two vehicle types (``taxi_jaune``, ``confort``), a targeted VIP zone
(Bonapriso, +15 %), an airport fixed price (Akwa <-> airport) and a
launch promotion.  Coordinates are approximate; operators load their own
file with :func:`~vtc_dispatch.pricing.config.load_pricing_config`.

>>> config = douala_config()
>>> sorted(config.vehicle_types), sorted(config.zones)
(['confort', 'taxi_jaune'], ['airport', 'akwa', 'bonapriso'])
"""

from __future__ import annotations

from typing import Any

from vtc_dispatch.pricing.config import PricingConfig, load_pricing_config

__all__ = ["DOUALA_CONFIG", "douala_config"]


def _box(min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> dict[str, Any]:
    ring = [[min_lng, min_lat], [max_lng, min_lat], [max_lng, max_lat], [min_lng, max_lat]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


DOUALA_CONFIG: dict[str, Any] = {
    "countries": {
        "CM": {
            "currency": "XAF",
            "timezone": "Africa/Douala",
            "rounding": {"step": "50", "mode": "nearest"},
        }
    },
    "cities": {
        "douala": {
            "country": "CM",
            "area": _box(9.55, 3.90, 9.90, 4.20),
            "average_speed_kmh": 22,
            "detour_factor": 1.3,
            "route_spread": 0.15,
        }
    },
    "vehicle_types": {
        "taxi_jaune": {"label": "Taxi Jaune", "seats": 4},
        "confort": {"label": "Confort", "seats": 4},
    },
    "tariffs": [
        {
            "city": "douala",
            "vehicle_type": "taxi_jaune",
            "base_fare": "300",
            "per_km": "150",
            "per_minute": "10",
            "minimum_fare": "500",
            "booking_fee": "100",
            "night": {"start": "22:00", "end": "06:00", "multiplier": "1.2"},
            "waiting": {"free_minutes": "5", "per_minute": "25"},
            "supplements": {"luggage": {"label": "Luggage", "amount": "200"}},
            "cancellation_fee": "300",
            "no_show_fee": "500",
        },
        {
            "city": "douala",
            "vehicle_type": "confort",
            "base_fare": "500",
            "sections": [
                {"from_km": "0", "to_km": "10", "per_km": "300"},
                {"from_km": "10", "per_km": "250"},
            ],
            "per_minute": "20",
            "minimum_fare": "1500",
            "booking_fee": "200",
            "night": {"start": "22:00", "end": "06:00", "fixed": "500"},
            "waiting": {"free_minutes": "5", "per_minute": "50"},
            "supplements": {
                "luggage": {"label": "Luggage", "amount": "300"},
                "extra_stop": {"label": "Extra stop", "amount": "500"},
            },
            "cancellation_fee": "500",
            "no_show_fee": "1000",
        },
    ],
    "zones": {
        "bonapriso": {
            "label": "Bonapriso (VIP)",
            "area": _box(9.680, 4.015, 9.700, 4.035),
            "surcharge": {"multiplier": "1.15"},
            "applies_to": "either",
        },
        "akwa": {"label": "Akwa", "area": _box(9.695, 4.040, 9.715, 4.065)},
        "airport": {"label": "Douala airport", "area": _box(9.705, 3.995, 9.735, 4.020)},
    },
    "fixed_routes": {
        "akwa_airport": {
            "label": "Akwa - airport",
            "from_zone": "akwa",
            "to_zone": "airport",
            "both_ways": True,
            "fares": {"taxi_jaune": "3000", "confort": "6000"},
        }
    },
    "surge": {"max_multiplier": "1.8"},
    "about_threshold": "0.10",
    "promotions": {
        "launch": {
            "label": "Launch offer -10 %",
            "kind": "percent",
            "value": "10",
            "valid_from": "2026-01-01T00:00:00+01:00",
            "valid_until": "2027-01-01T00:00:00+01:00",
            "code": "BIENVENUE",
            "max_discount": "1000",
        }
    },
}
"""The Douala configuration as plain data, as it would sit in a JSON or YAML file."""


def douala_config() -> PricingConfig:
    """The Douala configuration, loaded and checked."""
    return load_pricing_config(DOUALA_CONFIG)
