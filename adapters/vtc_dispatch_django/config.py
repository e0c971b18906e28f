"""The operator's configuration in the database, as the core's checked configuration.

:func:`load_from_db` reads the admin's tables into a
:class:`~vtc_dispatch.config.DispatchConfig` (any mistake raises
:class:`~vtc_dispatch.errors.InvalidPricingConfig` naming the field);
:func:`import_config` writes a pricing file's content into the tables
(``seed_demo`` loads the Douala configuration this way).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from vtc_dispatch.config import DispatchConfig, load_config
from vtc_dispatch.errors import InvalidPricingConfig
from vtc_dispatch_django.audit import changed_by
from vtc_dispatch_django.models import (
    City,
    Country,
    DispatchSettings,
    FixedPriceRoute,
    PaymentMethod,
    Tariff,
    VehicleType,
    Zone,
)

__all__ = ["config_as_dict", "general_settings", "import_config", "load_from_db"]

_EXTRA_SECTIONS = ("surge", "about_threshold", "final_fare", "cancellation", "promotions")


def _text(value: Decimal) -> str:
    """A stored amount as the configuration writes it (``300.0000`` -> ``"300"``)."""
    return format(value.normalize(), "f")


def general_settings() -> DispatchSettings:
    """The one row of general settings (created with the defaults when missing)."""
    row, _ = DispatchSettings.objects.get_or_create(pk=1)
    return row


def config_as_dict() -> dict[str, Any]:
    """The tables as the content of an operator's configuration file."""
    general = general_settings()
    countries: dict[str, Any] = {}
    for country in Country.objects.all():
        entry: dict[str, Any] = {"currency": country.currency, "timezone": country.timezone}
        if country.rounding_step is not None:
            entry["rounding"] = {
                "step": _text(country.rounding_step),
                "mode": country.rounding_mode,
            }
        countries[country.code] = entry
    tariffs = []
    for t in Tariff.objects.order_by("city_id", "vehicle_type_id"):
        tariff: dict[str, Any] = {
            "city": t.city_id,
            "vehicle_type": t.vehicle_type_id,
            "base_fare": _text(t.base_fare),
            "per_minute": _text(t.per_minute),
            "minimum_fare": _text(t.minimum_fare),
            "booking_fee": _text(t.booking_fee),
            "cancellation_fee": _text(t.cancellation_fee),
            "no_show_fee": _text(t.no_show_fee),
            **(t.rules or {}),
        }
        if t.per_km is not None:
            tariff["per_km"] = _text(t.per_km)
        tariffs.append(tariff)
    zones: dict[str, Any] = {}
    for z in Zone.objects.all():
        zone: dict[str, Any] = {"label": z.label, "area": z.area, "applies_to": z.applies_to}
        surcharge = {
            key: _text(value)
            for key, value in (("multiplier", z.surcharge_multiplier), ("fixed", z.surcharge_fixed))
            if value is not None
        }
        if surcharge:
            zone["surcharge"] = surcharge
        zones[z.code] = zone
    methods: dict[str, list[str]] = {}
    for m in PaymentMethod.objects.filter(enabled=True).order_by("country_id", "id"):
        methods.setdefault(m.country_id, []).append(m.code)
    pool = dict(general.pool or {})
    pool["default"] = {
        **pool.get("default", {}),
        "max_waiting_time_s": general.max_waiting_time_s,
        "radius_max_km": general.radius_max_km,
    }
    return {
        "countries": countries,
        "cities": {
            c.code: {
                "country": c.country_id,
                "area": c.area,
                "average_speed_kmh": c.average_speed_kmh,
                "detour_factor": c.detour_factor,
                "route_spread": c.route_spread,
            }
            for c in City.objects.all()
        },
        "vehicle_types": {
            v.code: {"label": v.label, "seats": v.seats, "kind": v.kind}
            for v in VehicleType.objects.all()
        },
        "tariffs": tariffs,
        "zones": zones,
        "fixed_routes": {
            r.code: {
                "label": r.label,
                "from_zone": r.from_zone_id,
                "to_zone": r.to_zone_id,
                "both_ways": r.both_ways,
                "fares": r.fares,
            }
            for r in FixedPriceRoute.objects.all()
        },
        **(general.pricing_extra or {}),
        "pool": pool,
        "service": {
            "search_radius_km": general.search_radius_km,
            "rating_threshold": general.rating_threshold,
            "rating_min_count": general.rating_min_count,
            **({"payment_methods": methods} if methods else {}),
        },
    }


def load_from_db() -> DispatchConfig:
    """The configuration of the tables, checked by the core.

    An empty configuration (no city yet) is refused with a message saying
    what to do.
    """
    if not City.objects.exists():
        raise InvalidPricingConfig(
            "no city is configured: add countries, cities, vehicle types and tariffs in the"
            " admin (Dispatch section), or run `manage.py seed_demo`"
        )
    return load_config(config_as_dict())


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@transaction.atomic
def import_config(data: Mapping[str, Any]) -> DispatchConfig:
    """Replace the tables' configuration with ``data`` (a configuration file's content).

    ``data`` is checked first (:func:`vtc_dispatch.config.load_config`):
    nothing is written when it is refused.  Payment methods come from its
    ``service.payment_methods`` (per country), else every method is enabled.
    """
    checked = load_config(data)
    with changed_by(None, "import_config", outer_first=True):
        return _write_tables(data, checked)


def _write_tables(data: Mapping[str, Any], checked: DispatchConfig) -> DispatchConfig:
    """The tables of :func:`import_config` written from ``data`` (``checked``)."""
    for model in (FixedPriceRoute, Zone, Tariff, PaymentMethod, City, VehicleType, Country):
        model.objects.all().delete()
    for code, c in data["countries"].items():
        rounding = c.get("rounding") or {}
        Country.objects.create(
            code=code,
            name=c.get("name", code),
            currency=c["currency"],
            timezone=c.get("timezone", "UTC"),
            rounding_step=_dec(rounding.get("step")),
            rounding_mode=rounding.get("mode", "nearest"),
        )
    for code, c in data["cities"].items():
        City.objects.create(
            code=code,
            name=c.get("name", code.title()),
            country_id=c["country"],
            area=c["area"],
            average_speed_kmh=c.get("average_speed_kmh", 25.0),
            detour_factor=c.get("detour_factor", 1.3),
            route_spread=c.get("route_spread", 0.15),
        )
    for code, v in data["vehicle_types"].items():
        VehicleType.objects.create(
            code=code,
            label=v["label"],
            seats=v.get("seats", 4),
            kind=checked.pricing.vehicle_types[code].kind,
        )
    columns = ("base_fare", "per_minute", "minimum_fare", "booking_fee")
    fees = ("cancellation_fee", "no_show_fee")
    for t in data["tariffs"]:
        rest = {
            k: v
            for k, v in t.items()
            if k not in {"city", "vehicle_type", "per_km", *columns, *fees}
        }
        Tariff.objects.create(
            city_id=t["city"],
            vehicle_type_id=t["vehicle_type"],
            per_km=_dec(t.get("per_km")),
            rules=rest,
            **{k: Decimal(str(t.get(k, 0))) for k in (*columns, *fees)},
        )
    for code, z in data.get("zones", {}).items():
        surcharge = z.get("surcharge") or {}
        Zone.objects.create(
            code=code,
            label=z["label"],
            area=z["area"],
            surcharge_multiplier=_dec(surcharge.get("multiplier")),
            surcharge_fixed=_dec(surcharge.get("fixed")),
            applies_to=z.get("applies_to", "either"),
        )
    for code, r in data.get("fixed_routes", {}).items():
        FixedPriceRoute.objects.create(
            code=code,
            label=r["label"],
            from_zone_id=r["from_zone"],
            to_zone_id=r["to_zone"],
            both_ways=r.get("both_ways", False),
            fares={k: str(v) for k, v in r["fares"].items()},
        )
    for country in data["countries"]:
        for method in checked.service.methods_for(country):
            PaymentMethod.objects.create(country_id=country, code=method)
    general = general_settings()
    pool = checked.pool.default
    general.max_waiting_time_s = pool.max_waiting_time_s
    general.radius_max_km = pool.radius_max_km
    # MAX_WAITING_TIME and the widest radius have one place, their columns:
    # the pool's JSON keeps the other settings only.
    stored_pool = dict(data.get("pool", {}))
    stored_pool["default"] = {
        k: v
        for k, v in dict(stored_pool.get("default", {})).items()
        if k not in ("max_waiting_time_s", "radius_max_km")
    }
    general.pool = stored_pool
    general.search_radius_km = checked.service.search_radius_km
    general.rating_threshold = checked.service.rating_threshold
    general.rating_min_count = checked.service.rating_min_count
    general.pricing_extra = {k: data[k] for k in _EXTRA_SECTIONS if k in data}
    general.save()
    return load_from_db()
