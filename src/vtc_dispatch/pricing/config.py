"""Pricing configuration: countries, cities, vehicle types, tariffs, zones, fixed routes.

Loaded from a mapping, or a JSON, YAML or TOML file, with
:func:`load_pricing_config`.  Everything is checked at load time; an error
is an :class:`~vtc_dispatch.errors.InvalidPricingConfig` naming the field
path and the value, for instance ``tariffs[1].per_km: must be >= 0, got -5``.

Amounts are decimal strings (or integers) in the currency of the city's
country; polygons are GeoJSON geometries in (longitude, latitude) order.

>>> config = load_pricing_config({
...     "countries": {"CM": {"currency": "XAF", "timezone": "Africa/Douala",
...                          "rounding": {"step": "50"}}},
...     "cities": {"douala": {"country": "CM", "area": {"type": "Polygon",
...         "coordinates": [[[9.5, 3.9], [9.9, 3.9], [9.9, 4.2], [9.5, 4.2], [9.5, 3.9]]]}}},
...     "vehicle_types": {"taxi_jaune": {"label": "Taxi Jaune", "seats": 4}},
...     "tariffs": [{"city": "douala", "vehicle_type": "taxi_jaune", "base_fare": "300",
...                  "per_km": "-5"}],
... })
Traceback (most recent call last):
...
vtc_dispatch.errors.InvalidPricingConfig: tariffs[0].per_km: Input should be greater ... (got '-5')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from vtc_dispatch.errors import InvalidPricingConfig, shown
from vtc_dispatch.loading import describe_error, read_config_file
from vtc_dispatch.pricing.money import CURRENCY_MINOR_UNITS, RoundingMode

__all__ = [
    "CancellationPolicy",
    "City",
    "Country",
    "DistanceSection",
    "FinalFarePolicy",
    "FixedRoute",
    "GeoJSONArea",
    "NightWindow",
    "PricingConfig",
    "Promotion",
    "RoundingRule",
    "Supplement",
    "Surcharge",
    "SurgePolicy",
    "TargetedZone",
    "Tariff",
    "VehicleType",
    "WaitingCharge",
    "load_pricing_config",
]

Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
"""A non-negative amount of money in the city's currency."""
Factor = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
"""A strictly positive multiplier."""
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoundingRule(_Model):
    """Fares are rounded to a multiple of ``step`` (XAF: 50, so they end in 0 or 50)."""

    step: Factor
    mode: RoundingMode = RoundingMode.NEAREST


class Country(_Model):
    """Defaults shared by the cities of a country."""

    currency: str
    timezone: str
    rounding: RoundingRule | None = None
    """Default: one minor unit of the currency, to the nearest."""

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in CURRENCY_MINOR_UNITS:
            raise ValueError(f"unknown ISO 4217 currency {shown(value)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _check_timezone(value)

    def rounding_rule(self) -> RoundingRule:
        """The configured rounding, or one minor unit to the nearest."""
        if self.rounding is not None:
            return self.rounding
        return RoundingRule(step=Decimal(1).scaleb(-CURRENCY_MINOR_UNITS[self.currency]))


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {shown(value)}") from None
    return value


class GeoJSONArea(_Model):
    """A GeoJSON Polygon or MultiPolygon, checked with shapely when loaded."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]
    _geometry: BaseGeometry = PrivateAttr()

    @model_validator(mode="after")
    def _valid_polygon(self) -> GeoJSONArea:
        try:
            geometry = shape({"type": self.type, "coordinates": self.coordinates})
        except Exception as exc:  # shapely raises several kinds for bad coordinates
            raise ValueError(f"not a usable {self.type}: {exc}") from None
        if geometry.is_empty:
            raise ValueError(f"empty {self.type}")
        if not geometry.is_valid:
            raise ValueError(f"invalid {self.type}: {explain_validity(geometry)}")
        min_x, min_y, max_x, max_y = geometry.bounds
        if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
            raise ValueError(f"coordinates out of range (lng, lat bounds {geometry.bounds})")
        self._geometry = geometry
        return self

    @property
    def geometry(self) -> BaseGeometry:
        """The shapely geometry, (x=lng, y=lat)."""
        return self._geometry


class City(_Model):
    """A city: its area, its country, and what it overrides of the country."""

    country: str
    area: GeoJSONArea
    timezone: str | None = None
    rounding: RoundingRule | None = None
    average_speed_kmh: Annotated[float, Field(gt=0, le=200)] = 25.0
    """Door-to-door average speed, for trip durations."""
    detour_factor: Annotated[float, Field(ge=1, le=5)] = 1.3
    """Road distance over straight-line distance, for the default route estimate."""
    route_spread: Annotated[float, Field(ge=0, lt=1)] = 0.15
    """Relative uncertainty of the route estimate: low and high are +/- this."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)


class VehicleType(_Model):
    """A kind of vehicle a customer can choose (``taxi_jaune``, ``confort``...)."""

    label: str = Field(min_length=1)
    seats: Annotated[int, Field(ge=1, le=100)] = 4
    multiplier: Factor = Decimal(1)
    """Applied to the metered fare of every tariff of this type."""
    kind: Literal["ride", "freight", "delivery"] = "ride"
    """What its orders are: rides, freight loads (bidding, proof of delivery) or
    deliveries (merchant's states, then a rider); see :mod:`vtc_dispatch.kinds`."""


class DistanceSection(_Model):
    """A per-km rate for the part of the trip between ``from_km`` and ``to_km``."""

    from_km: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    to_km: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)] | None = None
    """``None``: to the end of the trip."""
    per_km: Amount

    @model_validator(mode="after")
    def _ordered(self) -> DistanceSection:
        if self.to_km is not None and self.to_km <= self.from_km:
            raise ValueError(f"to_km ({self.to_km}) must be above from_km ({self.from_km})")
        return self


class NightWindow(_Model):
    """Local-time window (may wrap midnight) with a multiplier or a fixed add-on."""

    start: time
    end: time
    multiplier: Factor | None = None
    fixed: Amount | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> NightWindow:
        if self.start == self.end:
            raise ValueError(f"start and end are both {self.start}: the window is empty")
        if (self.multiplier is None) == (self.fixed is None):
            raise ValueError("give exactly one of multiplier or fixed")
        return self

    def contains(self, local: time) -> bool:
        """Whether a local wall-clock time is in ``[start, end)``.

        >>> w = NightWindow(start=time(22), end=time(6), multiplier=Decimal("1.2"))
        >>> w.contains(time(23, 30)), w.contains(time(5, 59)), w.contains(time(6))
        (True, True, False)
        """
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class WaitingCharge(_Model):
    """Waiting at pickup: free minutes, then a rate per minute."""

    free_minutes: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal(0)
    per_minute: Amount


class Supplement(_Model):
    """A named extra (luggage, extra stop...) a customer or driver can add."""

    label: str = Field(min_length=1)
    amount: Amount


class Tariff(_Model):
    """The meter of one vehicle type in one city."""

    city: str
    vehicle_type: str
    base_fare: Amount
    included_km: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal(0)
    per_km: Amount | None = None
    """Flat rate per km beyond ``included_km``; or use ``sections``."""
    sections: tuple[DistanceSection, ...] = ()
    """Progressive rates by distance travelled (sorted, no overlap, no gap)."""
    per_minute: Amount = Decimal(0)
    minimum_fare: Amount = Decimal(0)
    maximum_fare: Amount | None = None
    booking_fee: Amount = Decimal(0)
    night: NightWindow | None = None
    waiting: WaitingCharge | None = None
    supplements: dict[Code, Supplement] = Field(default_factory=dict)
    cancellation_fee: Amount = Decimal(0)
    """Charged when the customer cancels after the free period following acceptance."""
    no_show_fee: Amount = Decimal(0)
    """Charged when the driver waited at pickup and the customer never came."""

    @model_validator(mode="after")
    def _consistent(self) -> Tariff:
        if (self.per_km is None) == (not self.sections):
            raise ValueError("give exactly one of per_km or sections")
        if self.maximum_fare is not None and self.minimum_fare > self.maximum_fare:
            raise ValueError(
                f"minimum_fare ({self.minimum_fare}) is above maximum_fare ({self.maximum_fare})"
            )
        previous: DistanceSection | None = None
        for i, section in enumerate(self.sections):
            if previous is None:
                if section.from_km != 0:
                    raise ValueError(f"sections[0] must start at 0 km, got {section.from_km}")
            elif previous.to_km is None or section.from_km < previous.to_km:
                raise ValueError(
                    f"sections[{i}] (from {section.from_km} km) overlaps sections[{i - 1}]"
                    f" (to {previous.to_km if previous.to_km is not None else 'the end'})"
                )
            elif section.from_km > previous.to_km:
                raise ValueError(
                    f"gap between sections[{i - 1}] (to {previous.to_km} km)"
                    f" and sections[{i}] (from {section.from_km} km)"
                )
            previous = section
        if previous is not None and previous.to_km is not None:
            raise ValueError("the last section must be open-ended (no to_km)")
        return self


class Surcharge(_Model):
    """A zone's surcharge: a multiplier of the metered fare or a fixed amount."""

    multiplier: Factor | None = None
    fixed: Amount | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Surcharge:
        if (self.multiplier is None) == (self.fixed is None):
            raise ValueError("give exactly one of multiplier or fixed")
        return self


class TargetedZone(_Model):
    """A targeted (VIP) zone: an area, and a surcharge when the trip touches it.

    A zone without surcharge still serves as an end of fixed-price routes.
    """

    label: str = Field(min_length=1)
    area: GeoJSONArea
    surcharge: Surcharge | None = None
    applies_to: Literal["pickup", "dropoff", "either", "both"] = "either"
    """Which end of the trip must be inside the zone for the surcharge."""


class FixedRoute(_Model):
    """A fixed fare from one zone to another (airport runs), per vehicle type."""

    label: str = Field(min_length=1)
    from_zone: str
    to_zone: str
    both_ways: bool = False
    fares: dict[str, Amount] = Field(min_length=1)


class SurgePolicy(_Model):
    """The demand multiplier given to a quote is capped at ``max_multiplier``."""

    max_multiplier: Annotated[Decimal, Field(ge=1, le=10, allow_inf_nan=False)] = Decimal(2)


class FinalFarePolicy(_Model):
    """How the final fare follows from the quote and the recorded trip.

    The quoted estimate is charged when the trip matched the plan: route
    not changed, actual distance and duration within the quoted range
    widened by the tolerances.  Otherwise the fare is recomputed from the
    actual trip, capped at ``cap_above_max`` above the quoted maximum.
    """

    distance_tolerance: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.10")
    duration_tolerance: Annotated[Decimal, Field(ge=0, le=5)] = Decimal("0.50")
    cap_above_max: Annotated[Decimal, Field(ge=0, le=5)] = Decimal("0.20")


class CancellationPolicy(_Model):
    """When a cancellation costs the tariff's ``cancellation_fee`` or ``no_show_fee``."""

    free_minutes_after_accept: Annotated[Decimal, Field(ge=0)] = Decimal(2)
    no_show_after_minutes: Annotated[Decimal, Field(ge=0)] = Decimal(5)
    """Minutes the driver must have waited at pickup before a no-show fee."""


class Promotion(_Model):
    """A discount: a percentage or a fixed amount, within dates, for whom it targets."""

    label: str = Field(min_length=1)
    kind: Literal["percent", "fixed"]
    value: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
    valid_from: datetime
    valid_until: datetime
    vehicle_types: frozenset[str] | None = None
    """``None``: every type."""
    segments: frozenset[str] | None = None
    """Customer segments it is for; ``None``: everyone."""
    code: str | None = None
    """When set, the customer must enter this code."""
    max_discount: Amount | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> Promotion:
        for name in ("valid_from", "valid_until"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} must carry a time zone")
        if self.valid_until <= self.valid_from:
            raise ValueError(
                f"valid_until ({self.valid_until}) is not after valid_from ({self.valid_from})"
            )
        if self.kind == "percent" and self.value > 100:
            raise ValueError(f"a percentage above 100 makes no sense, got {self.value}")
        return self


class PricingConfig(_Model):
    """The whole pricing configuration of an operator.

    Precedence when several rules apply is documented in
    :mod:`vtc_dispatch.pricing.engine`.
    """

    countries: dict[Code, Country] = Field(min_length=1)
    cities: dict[Code, City] = Field(min_length=1)
    vehicle_types: dict[Code, VehicleType] = Field(min_length=1)
    tariffs: tuple[Tariff, ...] = Field(min_length=1)
    zones: dict[Code, TargetedZone] = Field(default_factory=dict)
    fixed_routes: dict[Code, FixedRoute] = Field(default_factory=dict)
    surge: SurgePolicy = SurgePolicy()
    about_threshold: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.10")
    """A range narrower than this share of the estimate is shown as "about X"."""
    final_fare: FinalFarePolicy = FinalFarePolicy()
    cancellation: CancellationPolicy = CancellationPolicy()
    promotions: dict[Code, Promotion] = Field(default_factory=dict)

    def time_zones(self) -> dict[str, ZoneInfo]:
        """Each city's clock: its own time zone, else its country's.

        >>> from vtc_dispatch.pricing import douala_config
        >>> douala_config().time_zones()
        {'douala': zoneinfo.ZoneInfo(key='Africa/Douala')}
        """
        return {
            city_id: ZoneInfo(city.timezone or self.countries[city.country].timezone)
            for city_id, city in self.cities.items()
        }

    @model_validator(mode="after")
    def _references(self) -> PricingConfig:
        for city_id, city in self.cities.items():
            if city.country not in self.countries:
                raise _ref_error(f"cities.{city_id}.country", "country", city.country)
        seen: set[tuple[str, str]] = set()
        for i, tariff in enumerate(self.tariffs):
            if tariff.city not in self.cities:
                raise _ref_error(f"tariffs[{i}].city", "city", tariff.city)
            if tariff.vehicle_type not in self.vehicle_types:
                raise _ref_error(f"tariffs[{i}].vehicle_type", "vehicle type", tariff.vehicle_type)
            pair = (tariff.city, tariff.vehicle_type)
            if pair in seen:
                raise ValueError(f"tariffs[{i}]: a second tariff for {pair[0]}/{pair[1]}")
            seen.add(pair)
        for route_id, route in self.fixed_routes.items():
            for end in ("from_zone", "to_zone"):
                if getattr(route, end) not in self.zones:
                    raise _ref_error(f"fixed_routes.{route_id}.{end}", "zone", getattr(route, end))
            for vt in route.fares:
                if vt not in self.vehicle_types:
                    raise _ref_error(f"fixed_routes.{route_id}.fares", "vehicle type", vt)
        for promo_id, promo in self.promotions.items():
            for vt in promo.vehicle_types or ():
                if vt not in self.vehicle_types:
                    raise _ref_error(f"promotions.{promo_id}.vehicle_types", "vehicle type", vt)
        return self


def _ref_error(path: str, what: str, value: str) -> ValueError:
    return ValueError(f"{path}: unknown {what} {shown(value)}")


def load_pricing_config(source: Mapping[str, Any] | str | os.PathLike[str]) -> PricingConfig:
    """Load and check a pricing configuration from a mapping or a file.

    Files are read by their suffix: ``.json``, ``.yaml``/``.yml`` or
    ``.toml``.  Any problem raises
    :class:`~vtc_dispatch.errors.InvalidPricingConfig` naming the field.
    """
    if isinstance(source, Mapping):
        data: object = source
    else:
        data = read_config_file(Path(source))
    if not isinstance(data, Mapping):
        raise InvalidPricingConfig(
            f"a pricing configuration is a mapping, got {type(data).__name__}"
        )
    try:
        return PricingConfig.model_validate(data)
    except ValidationError as exc:
        raise InvalidPricingConfig(describe_error(exc)) from None
