"""The pricing engine: quotes, final fares, promotions and cancellation fees.

Precedence, in the order the breakdown lists its lines:

1. **Fixed-price route** (pickup in the route's ``from_zone`` and drop-off in
   its ``to_zone``, or the reverse when ``both_ways``; the first matching
   route in configuration order wins): its fare replaces steps 2 to 7.
2. **Meter**: base fare, distance beyond ``included_km`` (flat rate or
   progressive sections), duration at the per-minute rate.
3. **Vehicle type multiplier** on the meter.
4. **Night window** (local time of the city at the quoted instant):
   multiplier of the running total, or a fixed add-on.
5. **Targeted zones**, in zone-id order, each when the trip touches it as
   its ``applies_to`` says: multiplier of the running total, or fixed.
6. **Demand multiplier** (surge), capped at ``surge.max_multiplier``.
7. **Minimum and maximum fare** of the tariff.
8. **Booking fee**, then **supplements** (then, at the end of a trip,
   **waiting**).
9. **Rounding** to the city's step, once, as its own line.

Every multiplier line holds the amount it adds, so the lines sum exactly
to the total.  Amounts stay exact Decimals until step 9.

>>> from datetime import datetime, timezone
>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch.pricing.douala import douala_config
>>> pricer = Pricer(douala_config())
>>> at = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
>>> q = pricer.quote(LatLng(4.0511, 9.7043), LatLng(4.0300, 9.6950), "taxi_jaune", at)
>>> q.display
'between 1 000 and 1 250 XAF'
>>> for line in q.breakdown:
...     print(f"{line.code:<15} {line.amount:>10}  {line.label}")
base_fare              300  Base fare
distance           499.800  Distance 3.332 km
time                 90.90  Duration 9.09 min
zone:bonapriso   133.60500  Bonapriso (VIP) x1.15
booking_fee            100  Booking fee
rounding         -24.30500  Rounding
>>> sum(line.amount for line in q.breakdown) == q.estimate == 1100
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Literal
from zoneinfo import ZoneInfo

import attrs

from vtc_dispatch.errors import InvalidMoney, OutOfServiceArea, PricingUnavailable, shown
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.geo.zones import ZoneMap
from vtc_dispatch.pricing.config import (
    FixedRoute,
    PricingConfig,
    Promotion,
    RoundingRule,
    Tariff,
)
from vtc_dispatch.pricing.money import RoundingMode, round_to_step
from vtc_dispatch.pricing.quote import (
    BreakdownLine,
    CancellationFee,
    FareQuote,
    FinalFare,
    PriceChange,
    format_amount,
)
from vtc_dispatch.routing import RouteEstimate, RouteEstimator, StraightLineEstimator

__all__ = ["Pricer"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_KM = 3  # decimals of a distance: metres
_MINUTE = 2  # decimals of a duration: hundredths of a minute
_Lines = list[BreakdownLine] | None


def _decimal(value: float, places: int) -> Decimal:
    """A measured float as an exact Decimal with ``places`` decimals (metres, 1/100 min)."""
    return Decimal(f"{value:.{places}f}")


def _check_aware(at: datetime, name: str = "at") -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidMoney(f"{name} must be a datetime with a time zone, got {shown(at)}")


def _check_measure(name: str, value: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value >= 0)
    ):
        raise InvalidMoney(f"{name} must be a finite number >= 0, got {shown(value)}")


@attrs.frozen
class _Adjustment:
    """A step of the meter after distance and time: multiply by ``factor``, or add ``amount``."""

    code: str
    label: str
    factor: Decimal | None
    amount: Decimal


@attrs.frozen
class _Meter:
    """A tariff compiled for speed: distance sections with the included km taken out."""

    tariff: Tariff
    sections: tuple[tuple[Decimal, Decimal | None, Decimal], ...]
    """``(from_km, to_km or None, per_km)``, starting after ``included_km``."""
    vehicle: _Adjustment | None
    """The vehicle type's multiplier, when it is not 1."""

    def distance_amount(self, distance_km: Decimal) -> Decimal:
        amount = _ZERO
        for start, end, rate in self.sections:
            if end is not None and distance_km > end:
                amount += (end - start) * rate
            elif distance_km > start:
                amount += (distance_km - start) * rate
        return amount


@attrs.frozen
class _Trip:
    """What every vehicle type's fare shares for one pickup, drop-off and instant."""

    city_id: str
    currency: str
    rounding: RoundingRule
    clock: time
    """Local wall-clock time in the city at the quoted instant."""
    fixed_routes: tuple[tuple[str, FixedRoute], ...]
    """Fixed-price routes joining pickup and drop-off, in configuration order."""
    shared: tuple[_Adjustment, ...]
    """Zone surcharges then the capped demand multiplier (steps 5 and 6)."""
    surge: Decimal
    route: RouteEstimate
    # The route in exact units (km to the metre, minutes to the hundredth):
    # expected, low and high.
    distance_km: Decimal
    duration_min: Decimal
    distance_low_km: Decimal
    duration_low_min: Decimal
    distance_high_km: Decimal
    duration_high_min: Decimal


class Pricer:
    """Prices trips from a :class:`~vtc_dispatch.pricing.config.PricingConfig`.

    ``route_estimator`` defaults to a :class:`~vtc_dispatch.ports.StraightLineEstimator`
    per city, with the city's detour factor, spread and average speed.
    """

    def __init__(
        self, config: PricingConfig, *, route_estimator: RouteEstimator | None = None
    ) -> None:
        self._config = config
        self._cities = ZoneMap()
        for city_id, city in config.cities.items():
            self._cities.add(city_id, city.area.geometry)
        self._zones = ZoneMap()
        for zone_id, zone in config.zones.items():
            self._zones.add(zone_id, zone.area.geometry)
        self._meters = {(t.city, t.vehicle_type): self._compile(t) for t in config.tariffs}
        self._clocks: dict[str, ZoneInfo] = config.time_zones()
        self._roundings: dict[str, RoundingRule] = {
            city_id: city.rounding or config.countries[city.country].rounding_rule()
            for city_id, city in config.cities.items()
        }
        # Fixed routes by the zone a trip must start in, in configuration order.
        self._routes_from: dict[str, list[tuple[int, str, FixedRoute, str]]] = {}
        for order, (route_id, route) in enumerate(config.fixed_routes.items()):
            ends = [(route.from_zone, route.to_zone)]
            if route.both_ways:
                ends.append((route.to_zone, route.from_zone))
            for start, end in ends:
                self._routes_from.setdefault(start, []).append((order, route_id, route, end))
        self._estimators: dict[str, RouteEstimator] = {
            city_id: route_estimator
            or StraightLineEstimator(city.detour_factor, city.route_spread, city.average_speed_kmh)
            for city_id, city in config.cities.items()
        }

    def _compile(self, tariff: Tariff) -> _Meter:
        sections: tuple[tuple[Decimal, Decimal | None, Decimal], ...]
        if tariff.per_km is not None:
            sections = ((tariff.included_km, None, tariff.per_km),)
        else:
            sections = tuple(
                (max(s.from_km, tariff.included_km), s.to_km, s.per_km)
                for s in tariff.sections
                if s.to_km is None or s.to_km > tariff.included_km
            )
        vt = self._config.vehicle_types[tariff.vehicle_type]
        vehicle = (
            None
            if vt.multiplier == _ONE
            else _Adjustment("vehicle_type", vt.label, vt.multiplier, _ZERO)
        )
        return _Meter(tariff, sections, vehicle)

    def route_estimator(self, city_id: str) -> RouteEstimator:
        """The route estimator used for trips in ``city_id``."""
        try:
            return self._estimators[city_id]
        except KeyError:
            raise PricingUnavailable(f"unknown city {shown(city_id)}") from None

    def local_time(self, city_id: str, at: datetime) -> datetime:
        """``at`` on the clocks of ``city_id`` (its time zone, else its country's).

        >>> from vtc_dispatch.pricing import douala_config
        >>> from datetime import UTC
        >>> at = datetime(2026, 11, 21, 17, 30, tzinfo=UTC)
        >>> Pricer(douala_config()).local_time("douala", at).hour
        18
        """
        try:
            return at.astimezone(self._clocks[city_id])
        except KeyError:
            raise PricingUnavailable(f"unknown city {shown(city_id)}") from None

    @property
    def config(self) -> PricingConfig:
        """The configuration this pricer was built from."""
        return self._config

    # -- the shared part of a trip ---------------------------------------

    def city_at(self, point: LatLng, argument: str = "point") -> str:
        """Id of the city whose area holds ``point`` (first by id when several).

        A point in no configured city is
        :class:`~vtc_dispatch.errors.OutOfServiceArea` naming ``argument``.

        >>> from vtc_dispatch.pricing.douala import douala_config
        >>> Pricer(douala_config()).city_at(LatLng(4.05, 9.70))
        'douala'
        >>> Pricer(douala_config()).city_at(LatLng(48.85, 2.35), "dropoff")
        Traceback (most recent call last):
        ...
        vtc_dispatch.errors.OutOfServiceArea: dropoff LatLng(48.85, 2.35) is outside every priced city
        """  # noqa: E501
        found = self._cities.zones_at(point)
        if not found:
            raise OutOfServiceArea(point, argument)
        return found[0].name

    def _trip(
        self, pickup: LatLng, dropoff: LatLng, at: datetime, demand_multiplier: Decimal
    ) -> _Trip:
        _check_aware(at)
        if not isinstance(demand_multiplier, Decimal) or not demand_multiplier >= _ONE:
            raise InvalidMoney(
                f"demand_multiplier must be a Decimal >= 1, got {shown(demand_multiplier)}"
            )
        city_id = self.city_at(pickup, "pickup")
        # The trip may end in another priced city, never outside them all.
        self.city_at(dropoff, "dropoff")
        city = self._config.cities[city_id]
        country = self._config.countries[city.country]
        pickup_zones = frozenset(z.name for z in self._zones.zones_at(pickup))
        dropoff_zones = frozenset(z.name for z in self._zones.zones_at(dropoff))
        shared = []
        for zone_id in sorted(pickup_zones | dropoff_zones):
            zone = self._config.zones[zone_id]
            surcharge = zone.surcharge
            if surcharge is None:
                continue
            at_pickup = zone_id in pickup_zones
            at_dropoff = zone_id in dropoff_zones
            applies = {
                "pickup": at_pickup,
                "dropoff": at_dropoff,
                "either": True,
                "both": at_pickup and at_dropoff,
            }[zone.applies_to]
            if applies:
                shared.append(
                    _Adjustment(
                        f"zone:{zone_id}",
                        zone.label,
                        surcharge.multiplier,
                        surcharge.fixed or _ZERO,
                    )
                )
        surge = min(demand_multiplier, self._config.surge.max_multiplier)
        if surge != _ONE:
            shared.append(_Adjustment("surge", "High demand", surge, _ZERO))
        fixed_routes = tuple(
            (route_id, route)
            for _, route_id, route, end in sorted(
                (
                    candidate
                    for zone_id in pickup_zones
                    for candidate in self._routes_from.get(zone_id, ())
                ),
                key=itemgetter(0),
            )
            if end in dropoff_zones
        )
        route = self._estimators[city_id].estimate(pickup, dropoff)
        return _Trip(
            city_id=city_id,
            currency=country.currency,
            rounding=self._roundings[city_id],
            clock=at.astimezone(self._clocks[city_id]).time(),
            fixed_routes=fixed_routes,
            shared=tuple(shared),
            surge=surge,
            route=route,
            distance_km=_decimal(route.distance_km, _KM),
            duration_min=_decimal(route.duration_min, _MINUTE),
            distance_low_km=_decimal(route.distance_low_km, _KM),
            duration_low_min=_decimal(route.duration_low_min, _MINUTE),
            distance_high_km=_decimal(route.distance_high_km, _KM),
            duration_high_min=_decimal(route.duration_high_min, _MINUTE),
        )

    @staticmethod
    def _fixed_route(trip: _Trip, vehicle_type: str) -> tuple[str, FixedRoute] | None:
        for route_id, route in trip.fixed_routes:
            if vehicle_type in route.fares:
                return route_id, route
        return None

    def _meter(self, city_id: str, vehicle_type: str) -> _Meter:
        meter = self._meters.get((city_id, vehicle_type))
        if meter is None:
            if vehicle_type not in self._config.vehicle_types:
                raise PricingUnavailable(f"unknown vehicle type {shown(vehicle_type)}")
            raise PricingUnavailable(f"no tariff for {shown(vehicle_type)} in {shown(city_id)}")
        return meter

    # -- the meter -------------------------------------------------------

    @staticmethod
    def _adjustments(meter: _Meter, trip: _Trip) -> list[_Adjustment]:
        """Steps 3 to 6 of the precedence that apply to this tariff and trip."""
        out = [] if meter.vehicle is None else [meter.vehicle]
        night = meter.tariff.night
        if night is not None and night.contains(trip.clock):
            out.append(_Adjustment("night", "Night", night.multiplier, night.fixed or _ZERO))
        out += trip.shared
        return out

    def _metered(
        self,
        meter: _Meter,
        adjustments: list[_Adjustment],
        distance_km: Decimal,
        duration_min: Decimal,
        lines: list[BreakdownLine],
        rules: list[str],
    ) -> Decimal:
        """Steps 2 to 7 of the precedence, line by line."""
        tariff = meter.tariff
        distance = meter.distance_amount(distance_km)
        time_amount = duration_min * tariff.per_minute
        total = tariff.base_fare + distance + time_amount
        lines.append(BreakdownLine("base_fare", "Base fare", tariff.base_fare))
        lines.append(BreakdownLine("distance", f"Distance {distance_km} km", distance))
        if tariff.per_minute:
            lines.append(BreakdownLine("time", f"Duration {duration_min} min", time_amount))
        for adjustment in adjustments:
            rules.append(adjustment.code)
            if adjustment.factor is None:
                added = adjustment.amount
                label = adjustment.label
            else:
                added = total * (adjustment.factor - _ONE)
                label = f"{adjustment.label} x{adjustment.factor}"
            lines.append(BreakdownLine(adjustment.code, label, added))
            total += added
        clamped = self._clamp(tariff, total)
        if clamped != total:
            code = "minimum_fare" if clamped > total else "maximum_fare"
            rules.append(code)
            lines.append(BreakdownLine(code, code.replace("_", " ").capitalize(), clamped - total))
        return clamped

    @staticmethod
    def _affine(adjustments: list[_Adjustment]) -> tuple[Decimal, Decimal]:
        slope, intercept = _ONE, _ZERO
        for adjustment in adjustments:
            if adjustment.factor is None:
                intercept += adjustment.amount
            else:
                slope *= adjustment.factor
                intercept *= adjustment.factor
        return slope, intercept

    @staticmethod
    def _clamp(tariff: Tariff, total: Decimal) -> Decimal:
        if total < tariff.minimum_fare:
            return tariff.minimum_fare
        if tariff.maximum_fare is not None and total > tariff.maximum_fare:
            return tariff.maximum_fare
        return total

    def _extras(self, tariff: Tariff, supplements: Iterable[str], lines: _Lines) -> Decimal:
        """Booking fee and supplements (step 8)."""
        if lines is not None and tariff.booking_fee:
            lines.append(BreakdownLine("booking_fee", "Booking fee", tariff.booking_fee))
        return tariff.booking_fee + self._supplements(tariff, supplements, lines)

    @staticmethod
    def _supplements(tariff: Tariff, codes: Iterable[str], lines: _Lines) -> Decimal:
        """The named supplements, each as its own line when asked."""
        total = _ZERO
        for code in codes:
            supplement = tariff.supplements[code]
            total += supplement.amount
            if lines is not None:
                lines.append(
                    BreakdownLine(f"supplement:{code}", supplement.label, supplement.amount)
                )
        return total

    @staticmethod
    def _rounded(total: Decimal, rule: RoundingRule, lines: _Lines) -> Decimal:
        rounded = round_to_step(total, rule.step, rule.mode)
        if lines is not None and rounded != total:
            lines.append(BreakdownLine("rounding", "Rounding", rounded - total))
        return rounded

    # -- quotes ----------------------------------------------------------

    def quote(
        self,
        pickup: LatLng,
        dropoff: LatLng,
        vehicle_type: str,
        at: datetime,
        *,
        demand_multiplier: Decimal = _ONE,
        supplements: Sequence[str] = (),
    ) -> FareQuote:
        """The fare range of one vehicle type for a trip starting at ``at``.

        Raises :class:`~vtc_dispatch.errors.OutOfServiceArea` (a
        :class:`~vtc_dispatch.errors.PricingUnavailable`) when the pickup or
        the drop-off is in no configured city,
        :class:`~vtc_dispatch.errors.PricingUnavailable` when the type has no
        tariff there, and :class:`~vtc_dispatch.errors.InvalidMoney` for a naive ``at``,
        a demand multiplier below 1 or an unknown supplement.
        """
        trip = self._trip(pickup, dropoff, at, demand_multiplier)
        return self._quote(trip, pickup, dropoff, vehicle_type, at, tuple(supplements))

    def quote_all(
        self,
        pickup: LatLng,
        dropoff: LatLng,
        at: datetime,
        vehicle_types: Iterable[str] | None = None,
        *,
        demand_multiplier: Decimal = _ONE,
    ) -> dict[str, FareQuote]:
        """Quotes of several vehicle types at once (the customer's search screen).

        ``vehicle_types`` defaults to every configured type; types without
        a tariff in the pickup's city are left out.  The quotes come in the
        configuration's vehicle-type order whatever order ``vehicle_types``
        has (a Redis set's order is not one), so every store shows the same
        screen.  The city, zones, local time and route are worked out once
        for all types.
        """
        trip = self._trip(pickup, dropoff, at, demand_multiplier)
        configured = self._config.vehicle_types
        wanted = configured if vehicle_types is None else frozenset(vehicle_types)
        return {
            vt: self._quote(trip, pickup, dropoff, vt, at, ())
            for vt in configured
            if vt in wanted and (trip.city_id, vt) in self._meters
        }

    def _quote(
        self,
        trip: _Trip,
        pickup: LatLng,
        dropoff: LatLng,
        vehicle_type: str,
        at: datetime,
        supplements: tuple[str, ...],
    ) -> FareQuote:
        meter = self._meter(trip.city_id, vehicle_type)
        tariff = meter.tariff
        if supplements:
            self._check_supplements(tariff, trip.city_id, vehicle_type, supplements)
            extras = self._extras(tariff, supplements, None)
        else:
            extras = tariff.booking_fee
        rules = [f"tariff:{trip.city_id}/{vehicle_type}"]
        fixed = self._fixed_route(trip, vehicle_type) if trip.fixed_routes else None
        adjustments: list[_Adjustment] = []
        if fixed is not None:
            rules.append(f"fixed_route:{fixed[0]}")
            estimate = low = high = self._rounded(
                fixed[1].fares[vehicle_type] + extras, trip.rounding, None
            )
        else:
            adjustments = self._adjustments(meter, trip)
            rules += [adjustment.code for adjustment in adjustments]
            # Steps 3 to 6 compose to one affine map of the meter; Decimal
            # products of these few short factors are exact, so each total
            # equals what _metered adds up line by line (the breakdown).
            slope, intercept = self._affine(adjustments)
            meter_of = meter.distance_amount
            base = tariff.base_fare
            per_minute = tariff.per_minute
            expected, shortest, longest = (
                slope * (base + meter_of(km) + minutes * per_minute) + intercept
                for km, minutes in (
                    (trip.distance_km, trip.duration_min),
                    (trip.distance_low_km, trip.duration_low_min),
                    (trip.distance_high_km, trip.duration_high_min),
                )
            )
            step, mode = trip.rounding.step, trip.rounding.mode
            clamp = self._clamp
            estimate = round_to_step(clamp(tariff, expected) + extras, step, mode)
            low = round_to_step(clamp(tariff, shortest) + extras, step, mode)
            high = round_to_step(clamp(tariff, longest) + extras, step, mode)
            if expected < tariff.minimum_fare:
                rules.append("minimum_fare")
            elif tariff.maximum_fare is not None and expected > tariff.maximum_fare:
                rules.append("maximum_fare")
        return FareQuote(
            vehicle_type=vehicle_type,
            city=trip.city_id,
            currency=trip.currency,
            estimate=estimate,
            minimum=low,
            maximum=high,
            display=self._display(estimate, low, high, trip.currency),
            rules_applied=tuple(rules),
            route=trip.route,
            distance_km=trip.distance_km,
            duration_min=trip.duration_min,
            pickup=pickup,
            dropoff=dropoff,
            at=at,
            demand_multiplier=trip.surge,
            supplements=supplements,
            fixed_route=None if fixed is None else fixed[0],
            explain=functools.partial(
                self._explain, meter, fixed, adjustments, trip, supplements, estimate
            ),
        )

    def _explain(
        self,
        meter: _Meter,
        fixed: tuple[str, FixedRoute] | None,
        adjustments: list[_Adjustment],
        trip: _Trip,
        supplements: tuple[str, ...],
        estimate: Decimal,
    ) -> tuple[BreakdownLine, ...]:
        """The lines of a quote's estimate, step by step (see the module docstring)."""
        lines: list[BreakdownLine] = []
        if fixed is not None:
            route_id, route = fixed
            fare = route.fares[meter.tariff.vehicle_type]
            lines.append(BreakdownLine(f"fixed_route:{route_id}", route.label, fare))
            total = fare
        else:
            total = self._metered(
                meter, adjustments, trip.distance_km, trip.duration_min, lines, []
            )
        total += self._extras(meter.tariff, supplements, lines)
        if self._rounded(total, trip.rounding, lines) != estimate:
            raise AssertionError(f"breakdown total {total} does not round to {estimate}")
        return tuple(lines)

    def _display(self, estimate: Decimal, low: Decimal, high: Decimal, currency: str) -> str:
        if high - low <= self._config.about_threshold * estimate:
            return f"about {format_amount(estimate, currency)}"
        low_text = format_amount(low, currency, with_currency=False)
        return f"between {low_text} and {format_amount(high, currency)}"

    # -- after the trip ----------------------------------------------------

    def final_fare(
        self,
        quote: FareQuote,
        *,
        distance_km: float,
        duration_min: float,
        at: datetime,
        waiting_min: float = 0.0,
        supplements: Sequence[str] = (),
        route_changed: bool = False,
    ) -> FinalFare:
        """The fare charged for a finished trip, by the policy of :class:`FinalFarePolicy`.

        * A fixed-price route is charged its fixed fare unless the route
          changed (reason ``fixed_route``).
        * The quoted estimate is charged when the route did not change and
          the actual distance lies within the quoted range widened by
          ``distance_tolerance`` and the duration under the quoted high
          widened by ``duration_tolerance`` (``as_quoted``).
        * Otherwise the meter runs again on the actual distance and
          duration, with the quote's zones, local time and demand multiplier
          (``recomputed``), capped at ``cap_above_max`` above the quoted
          maximum (``recomputed_capped``).
        * Waiting beyond the free minutes and the supplements given here
          (on top of the quote's) are added; the minimum fare holds; the
          total is rounded once.

        ``at`` is when the trip ended, recorded in the price history.
        """
        _check_aware(at)
        _check_measure("distance_km", distance_km)
        _check_measure("duration_min", duration_min)
        _check_measure("waiting_min", waiting_min)
        trip = self._trip(quote.pickup, quote.dropoff, quote.at, quote.demand_multiplier)
        meter = self._meter(quote.city, quote.vehicle_type)
        tariff = meter.tariff
        extra = tuple(supplements)
        self._check_supplements(tariff, quote.city, quote.vehicle_type, extra)
        policy = self._config.final_fare
        distance = _decimal(float(distance_km), _KM)
        duration = _decimal(float(duration_min), _MINUTE)
        lines: list[BreakdownLine] = []
        rules = [f"tariff:{quote.city}/{quote.vehicle_type}"]
        route = quote.route
        if quote.fixed_route is not None and not route_changed:
            reason = "fixed_route"
            rules.append(f"fixed_route:{quote.fixed_route}")
            fixed = self._config.fixed_routes[quote.fixed_route]
            fare = fixed.fares[quote.vehicle_type]
            lines.append(BreakdownLine(f"fixed_route:{quote.fixed_route}", fixed.label, fare))
            total = fare + self._extras(tariff, quote.supplements, lines)
        else:
            low = Decimal(repr(route.distance_low_km)) * (_ONE - policy.distance_tolerance)
            high = Decimal(repr(route.distance_high_km)) * (_ONE + policy.distance_tolerance)
            slowest = Decimal(repr(route.duration_high_min)) * (_ONE + policy.duration_tolerance)
            matched = (
                quote.fixed_route is None
                and not route_changed
                and low <= distance <= high
                and duration <= slowest
            )
            adjustments = self._adjustments(meter, trip)
            if matched:
                reason = "as_quoted"
                metered = self._metered(
                    meter, adjustments, quote.distance_km, quote.duration_min, lines, rules
                )
            else:
                reason = "recomputed"
                metered = self._metered(meter, adjustments, distance, duration, lines, rules)
            total = metered + self._extras(tariff, quote.supplements, lines)
            cap = quote.maximum * (_ONE + policy.cap_above_max)
            if not matched and total > cap:
                reason = "recomputed_capped"
                rules.append("cap")
                lines.append(BreakdownLine("cap", "Capped above the quote", cap - total))
                total = cap
        waiting = tariff.waiting
        if waiting is not None:
            billable = _decimal(float(waiting_min), _MINUTE) - waiting.free_minutes
            if billable > 0:
                rules.append("waiting")
                charge = billable * waiting.per_minute
                lines.append(BreakdownLine("waiting", f"Waiting {billable} min", charge))
                total += charge
        total += self._supplements(tariff, extra, lines)
        amount = self._rounded(total, trip.rounding, lines)
        changes = [PriceChange(None, quote.estimate, "quoted", quote.at)]
        if amount != quote.estimate:
            why = [reason]
            if "waiting" in rules:
                why.append("waiting")
            if extra:
                why.append("supplements")
            changes.append(PriceChange(quote.estimate, amount, ", ".join(why), at))
        return FinalFare(
            amount=amount,
            currency=quote.currency,
            vehicle_type=quote.vehicle_type,
            city=quote.city,
            reason=reason,
            breakdown=tuple(lines),
            rules_applied=tuple(rules),
            distance_km=distance,
            duration_min=duration,
            changes=tuple(changes),
        )

    @staticmethod
    def _check_supplements(
        tariff: Tariff, city_id: str, vehicle_type: str, codes: tuple[str, ...]
    ) -> None:
        for code in codes:
            if code not in tariff.supplements:
                raise InvalidMoney(
                    f"unknown supplement {shown(code)} for {city_id}/{vehicle_type}"
                    f" (known: {sorted(tariff.supplements)})"
                )

    # -- promotions and cancellation -------------------------------------

    def promotions_for(
        self,
        vehicle_type: str,
        at: datetime,
        *,
        segment: str | None = None,
        code: str | None = None,
    ) -> list[tuple[str, Promotion]]:
        """Promotions valid at ``at`` for this type, customer segment and entered code."""
        _check_aware(at)
        return [
            (promo_id, promo)
            for promo_id, promo in self._config.promotions.items()
            if promo.valid_from <= at < promo.valid_until
            and (promo.vehicle_types is None or vehicle_type in promo.vehicle_types)
            and (promo.segments is None or segment in promo.segments)
            and (
                promo.code is None
                or (code is not None and code.casefold() == promo.code.casefold())
            )
        ]

    def apply_promotion(
        self,
        fare: FinalFare,
        at: datetime,
        *,
        segment: str | None = None,
        code: str | None = None,
    ) -> FinalFare:
        """The fare with the best applicable promotion as its own line.

        Promotions do not stack: the one giving the largest discount wins
        (ties: the first by id).  The discount is rounded down to the
        city's step, so the customer pays a round amount, and never takes
        the fare below zero.  Without an applicable promotion the fare is
        returned unchanged.
        """
        candidates = []
        for promo_id, promo in sorted(
            self.promotions_for(fare.vehicle_type, at, segment=segment, code=code)
        ):
            raw = fare.amount * promo.value / 100 if promo.kind == "percent" else promo.value
            if promo.max_discount is not None:
                raw = min(raw, promo.max_discount)
            rule = self._roundings[fare.city]
            discount = min(round_to_step(raw, rule.step, RoundingMode.DOWN), fare.amount)
            candidates.append((-discount, promo_id, promo))
        if not candidates:
            return fare
        negative, promo_id, promo = min(candidates, key=lambda c: (c[0], c[1]))
        if not negative:
            return fare
        amount = fare.amount + negative
        return attrs.evolve(
            fare,
            amount=amount,
            reason=f"promotion:{promo_id}",
            breakdown=(
                *fare.breakdown,
                BreakdownLine(f"promotion:{promo_id}", promo.label, negative),
            ),
            rules_applied=(*fare.rules_applied, f"promotion:{promo_id}"),
            changes=(*fare.changes, PriceChange(fare.amount, amount, f"promotion:{promo_id}", at)),
        )

    def cancellation_fee(
        self,
        quote: FareQuote,
        *,
        cancelled_by: Literal["customer", "driver", "operator"],
        cancelled_at: datetime,
        accepted_at: datetime | None = None,
        arrived_at: datetime | None = None,
    ) -> CancellationFee:
        """What a cancellation costs the customer, by :class:`CancellationPolicy`.

        Nothing when the driver or the operator cancels, before a driver
        accepted, or within the free minutes after acceptance; the
        tariff's ``no_show_fee`` once the driver has waited at pickup for
        ``no_show_after_minutes``; its ``cancellation_fee`` otherwise.
        """
        _check_aware(cancelled_at, "cancelled_at")
        for name, moment in (("accepted_at", accepted_at), ("arrived_at", arrived_at)):
            if moment is not None:
                _check_aware(moment, name)
                if moment > cancelled_at:
                    raise InvalidMoney(f"{name} ({moment}) is after cancelled_at ({cancelled_at})")
        tariff = self._meter(quote.city, quote.vehicle_type).tariff
        policy = self._config.cancellation
        rule = self._roundings[quote.city]

        def fee(amount: Decimal, reason: str) -> CancellationFee:
            return CancellationFee(
                round_to_step(amount, rule.step, rule.mode), quote.currency, reason
            )

        if cancelled_by != "customer":
            return fee(_ZERO, f"cancelled by the {cancelled_by}")
        if accepted_at is None:
            return fee(_ZERO, "before a driver accepted")
        if arrived_at is not None and cancelled_at - arrived_at >= timedelta(
            minutes=float(policy.no_show_after_minutes)
        ):
            return fee(tariff.no_show_fee, "no-show")
        if cancelled_at - accepted_at <= timedelta(minutes=float(policy.free_minutes_after_accept)):
            return fee(_ZERO, "within the free minutes after acceptance")
        return fee(tariff.cancellation_fee, "after the free minutes")
