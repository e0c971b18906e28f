"""Scenario files: the city, fleet, demand, behaviours and dispatch configuration of a run.

A scenario is a YAML, TOML or JSON file (or a mapping) checked by pydantic;
any problem raises :class:`InvalidScenario` naming the field path and the
bad value.  ``dispatch.pricing`` names a built-in operator configuration
(``douala``: :data:`vtc_dispatch.pricing.douala.DOUALA_CONFIG`, ``dakar``:
:data:`vtc_dispatch.pricing.dakar.DAKAR_CONFIG`), a file relative to the
scenario, or holds the pricing mapping itself; the
``pool`` and ``service`` sections are those of
:func:`vtc_dispatch.config.load_config`.  A loaded scenario is
self-contained: files it names are read in, so its JSON dump
(:meth:`Scenario.model_dump`) rebuilds it anywhere (the event log keeps it).

>>> scenario = load_scenario("douala")
>>> scenario.name, scenario.fleet[0].vehicle_type, len(scenario.demand.hourly_profile)
('douala', 'taxi_jaune', 24)
>>> load_scenario({**scenario.model_dump(mode="json"), "duration_h": -1})
Traceback (most recent call last):
...
vtc_dispatch.sim.scenario.InvalidScenario: scenario: duration_h: Input should be greater than 0 ...
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import datetime, time
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vtc_dispatch.config import DispatchConfig, load_config
from vtc_dispatch.errors import DispatchError, PricingUnavailable, shown
from vtc_dispatch.geo.sphere import LatLng, destination_point
from vtc_dispatch.kinds import KINDS, OrderKind
from vtc_dispatch.loading import describe_error, read_config_file
from vtc_dispatch.pricing.dakar import DAKAR_CONFIG
from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch.pricing.engine import Pricer

__all__ = [
    "BUILTIN_SCENARIOS",
    "AcceptModel",
    "Bidding",
    "City",
    "Customers",
    "Demand",
    "Dispatch",
    "Drivers",
    "FleetGroup",
    "Hotspot",
    "InvalidScenario",
    "Merchants",
    "Receipt",
    "Scenario",
    "Shift",
    "Span",
    "Tracking",
    "allocate",
    "bidding_types",
    "load_scenario",
    "local_midnight",
    "scenario_kind",
]

BUILTIN_SCENARIOS: tuple[str, ...] = ("douala", "dakar-freight", "dakar-delivery")
"""Scenarios shipped with the package, loadable by name: rides in Douala, freight loads
and restaurant deliveries in Dakar."""

BUILTIN_PRICING: dict[str, Mapping[str, Any]] = {"douala": DOUALA_CONFIG, "dakar": DAKAR_CONFIG}
"""Operator configurations ``dispatch.pricing`` may name."""


class InvalidScenario(DispatchError, ValueError):
    """A scenario that cannot be simulated; the message names the field and the value."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Probability = Annotated[float, Field(ge=0, le=1)]
Point = tuple[Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]]
"""``[lat, lng]`` in degrees."""


class Span(_Model):
    """A random duration or amount: triangular between ``low`` and ``high``, most often ``mode``.

    Written ``[low, mode, high]`` or as a single number (always that value).

    >>> Span.model_validate([2, 6, 30]).mode, Span.model_validate(45).high
    (6.0, 45.0)
    """

    low: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    mode: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    high: Annotated[float, Field(ge=0, allow_inf_nan=False)]

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: object) -> object:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"low": data, "mode": data, "high": data}
        if isinstance(data, list | tuple):
            if len(data) != 3:
                raise ValueError(f"a span is [low, mode, high], got {shown(list(data))}")
            return dict(zip(("low", "mode", "high"), data, strict=True))
        return data

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"a span needs low <= mode <= high, got [{self.low}, {self.mode}, {self.high}]"
            )
        return self


class City(_Model):
    """Where requests and drivers are: a disc around ``center``; how vehicles move."""

    center: Point
    radius_km: Annotated[float, Field(gt=0, le=100)]
    speed_kmh: Annotated[float, Field(gt=0, le=200)] | None = None
    """Driving speed; ``None``: the pricing city's ``average_speed_kmh``."""
    detour_factor: Annotated[float, Field(ge=1, le=5)] | None = None
    """Road over straight-line distance; ``None``: the pricing city's."""

    @property
    def center_point(self) -> LatLng:
        """The centre as a :class:`LatLng`."""
        return LatLng(*self.center)


class Hotspot(_Model):
    """A place where many trips start or end: a disc of ``radius_km`` around ``center``."""

    name: str = Field(min_length=1)
    center: Point
    radius_km: Annotated[float, Field(gt=0, le=20)] = 1.0
    pickup_weight: Annotated[float, Field(ge=0)] = 1.0
    dropoff_weight: Annotated[float, Field(ge=0)] = 1.0
    hourly: tuple[Annotated[float, Field(ge=0)], ...] | None = None
    """24 multipliers of both weights, one per hour of the local day (``None``: 1)."""

    @field_validator("hourly")
    @classmethod
    def _day(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and len(value) != 24:
            raise ValueError(f"hourly needs 24 values (one per hour), got {len(value)}")
        return value


class Demand(_Model):
    """Customers request by a Poisson process whose rate follows ``hourly_profile``.

    The expected number of requests over a whole day is
    ``requests_per_day``; hour ``h`` of the local day gets the share
    ``hourly_profile[h] / sum(hourly_profile)`` of it.  Pickups and
    drop-offs are drawn from the hotspots (by weight) and from the whole
    city disc (``background_weight``).
    """

    requests_per_day: Annotated[float, Field(ge=0, le=10_000_000)]
    hourly_profile: tuple[Annotated[float, Field(ge=0)], ...]
    hotspots: tuple[Hotspot, ...] = ()
    background_weight: Annotated[float, Field(ge=0)] = 1.0
    min_trip_km: Annotated[float, Field(ge=0, le=100)] = 1.0

    @field_validator("hourly_profile")
    @classmethod
    def _day(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != 24:
            raise ValueError(f"hourly_profile needs 24 values (one per hour), got {len(value)}")
        if not sum(value) > 0:
            raise ValueError("hourly_profile must have at least one hour above 0")
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> Demand:
        for hour, share in enumerate(self.hourly_profile):
            if share <= 0:
                continue
            for kind in ("pickup", "dropoff"):
                spots = sum(
                    getattr(h, f"{kind}_weight") * (1.0 if h.hourly is None else h.hourly[hour])
                    for h in self.hotspots
                )
                if self.background_weight + spots <= 0:
                    raise ValueError(
                        f"no {kind} place at hour {hour}: background_weight is 0 and so is"
                        f" every hotspot's {kind}_weight then"
                    )
        return self


class Shift(_Model):
    """A work shift: ``share`` of a fleet group starts at ``start`` (local) for ``hours``."""

    start: time
    hours: Annotated[float, Field(gt=0, le=24)]
    share: Annotated[float, Field(gt=0, le=1)]
    jitter_min: Annotated[float, Field(ge=0, le=180)] = 30.0
    """Each driver starts and ends up to this many minutes off the shift's times."""


class FleetGroup(_Model):
    """``drivers`` drivers of one vehicle type, split among shifts by share."""

    vehicle_type: str = Field(min_length=1)
    drivers: Annotated[int, Field(ge=0, le=1_000_000)]
    shifts: tuple[Shift, ...] = Field(min_length=1)

    @field_validator("shifts")
    @classmethod
    def _shares(cls, value: tuple[Shift, ...]) -> tuple[Shift, ...]:
        total = sum(s.share for s in value)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"shift shares must add up to 1, got {total:g}")
        return value


class Customers(_Model):
    """How customers choose and how long they wait."""

    vehicle_preference: dict[str, Annotated[float, Field(ge=0)]]
    """Weight of each vehicle type, among those the search shows (0: never)."""
    payment_methods: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {"CASH": 1.0}
    )
    patience_s: Span = Span(low=60, mode=300, high=900)
    """From the order until the driver arrives; then the customer cancels."""
    boarding_s: Span = Span(low=20, mode=90, high=420)
    """From the driver's arrival until the trip starts."""
    retry_probability: Probability = 0.3
    """After NO_DRIVER, the chance the customer searches again (patience allowing)."""
    retry_delay_s: Span = Span(low=10, mode=30, high=120)

    @field_validator("vehicle_preference", "payment_methods")
    @classmethod
    def _some_weight(cls, value: dict[str, float]) -> dict[str, float]:
        if not any(w > 0 for w in value.values()):
            raise ValueError(f"at least one weight must be above 0, got {shown(value)}")
        return value

    @field_validator("payment_methods")
    @classmethod
    def _no_wallet(cls, value: dict[str, float]) -> dict[str, float]:
        if value.get("WALLET", 0) > 0:
            raise ValueError("WALLET is not simulated (customers have no balances); use others")
        return value


class AcceptModel(_Model):
    """The chance a driver accepts an offer, by a logistic model.

    ``logit(p) = logit(base) + per_km * km_to_pickup
    + per_fare * (fare_mid / reference_fare - 1)``, where ``fare_mid`` is
    the middle of the offer's fare range.
    """

    base: Annotated[float, Field(gt=0, lt=1)] = 0.8
    """Acceptance of an offer at 0 km paying the reference fare."""
    per_km: Annotated[float, Field(allow_inf_nan=False)] = -0.3
    per_fare: Annotated[float, Field(allow_inf_nan=False)] = 1.0
    reference_fare: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)] = Decimal(1500)

    def probability(self, km: float, fare_mid: float) -> float:
        """The acceptance probability of one offer.

        >>> round(AcceptModel().probability(0.0, 1500.0), 3)
        0.8
        >>> AcceptModel().probability(5.0, 1500.0) < AcceptModel().probability(1.0, 1500.0)
        True
        """
        z = (
            math.log(self.base / (1.0 - self.base))
            + self.per_km * km
            + self.per_fare * (fare_mid / float(self.reference_fare) - 1.0)
        )
        if z < -500.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))


class Drivers(_Model):
    """How drivers answer offers."""

    no_answer: Probability = 0.05
    """Chance an offer is never answered (it expires)."""
    answer_delay_s: Span = Span(low=2, mode=6, high=25)
    """Time to answer; an answer slower than the offer's timeout never arrives."""
    accept: AcceptModel = AcceptModel()
    withdraw_after_accept: Probability = 0.02
    """Chance a driver who accepted cancels on the way to the pickup."""
    withdraw_after_s: Span = Span(low=30, mode=90, high=300)
    report_every_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """How often the phone of a driver waiting for an offer is heard from (a ping); on a
    ride his fixes are.  Not sent when the service checks no presence."""
    phone_deaths_per_hour: Annotated[float, Field(ge=0, le=10)] = 0.0
    """How often, per hour online, a driver's phone dies (battery, the app killed) for the
    rest of his shift: it answers no offer and goes quiet, and only the service's presence
    can take him out of search (``phones`` KPIs)."""


class Tracking(_Model):
    """Positions sent by a driver on a ride (to the pickup, then on the trip)."""

    interval_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """Time between two positions; at least one midway point is sent per leg."""


class Bidding(_Model):
    """Carriers' bids and the shipper's choice, for orders the pool puts up for bids.

    Used where the pool's mode is ``bidding`` (freight's default).  An
    invited carrier answers after ``drivers.answer_delay_s``: with
    ``drivers.no_answer`` never, else he bids with the chance
    ``drivers.accept`` gives for the load's distance and price (the middle
    of its fare range), and otherwise declines.  His bid is that price times
    a draw of ``amount``, rounded to the country's step, valid for a draw
    of ``valid_for_s``.  The shipper looks at the bids ``review_s`` after
    posting, then every ``review_every_s`` until one is taken: he takes the
    live bid of least ``amount x (1 + rating_weight x (5 - stars) / 4)``,
    ``stars`` being the carrier's rating (``unrated_stars`` before his first).
    """

    amount: Span = Span(low=0.85, mode=0.97, high=1.15)
    """The bid over the middle of the load's fare range."""
    valid_for_s: Span = Span(low=300, mode=900, high=1800)
    review_s: Span = Span(low=120, mode=400, high=800)
    review_every_s: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    rating_weight: Annotated[float, Field(ge=0, le=10)] = 0.1
    unrated_stars: Annotated[float, Field(ge=1, le=5)] = 4.0


class Merchants(_Model):
    """The restaurants of a delivery scenario: where they are and how they prepare.

    ``count`` restaurants are placed at the start like pickups at the
    busiest hour of ``demand.hourly_profile`` (``m1``, ``m2``...); each
    order goes to one of them, uniformly, and to a drop-off within
    ``delivery_radius_km`` of it (at least ``demand.min_trip_km``).  The
    merchant confirms after ``confirm_s`` (or refuses the order, with
    ``refuse``: he cancels it), starts preparing ``start_s`` later, and the
    food is ready ``prep_s`` after that; he marks the order ready (and the
    service searches for a rider) ``ready_early_s`` before the food is, never
    before he started.  The rider takes the parcel ``customers.boarding_s``
    after both he and the food are there.
    """

    count: Annotated[int, Field(ge=1, le=100_000)]
    delivery_radius_km: Annotated[float, Field(gt=0, le=50)] = 4.0
    confirm_s: Span = Span(low=10, mode=45, high=180)
    start_s: Span = Span(low=0, mode=30, high=180)
    prep_s: Span = Span(low=300, mode=900, high=1800)
    ready_early_s: Span = Span(low=0, mode=60, high=300)
    goods_amount: Span = Span(low=2000, mode=6000, high=25000)
    """The order's amount, in the currency's units: carried with the order, not priced."""
    refuse: Probability = 0.02


class Receipt(_Model):
    """What happens at the destination of a load or a parcel, and after it.

    The driver reaches the destination, hands over for ``unload_s`` and
    takes the proof of delivery ``proof_offset_m`` from the destination
    (a random bearing), with the receiver's code and, for freight, a photo
    reference.  A shipper confirms receipt ``confirm_s`` later, or, with
    ``dispute``, disputes the load; an operator resolves a dispute
    ``resolve_s`` after it opened.  The shipper rates the carrier with
    ``stars`` (rounded), at most 2 after a dispute.
    """

    unload_s: Span = Span(low=30, mode=120, high=600)
    proof_offset_m: Span = Span(low=0, mode=20, high=120)
    confirm_s: Span = Span(low=60, mode=900, high=7200)
    dispute: Probability = 0.03
    resolve_s: Span = Span(low=1800, mode=7200, high=28_800)
    stars: Span = Span(low=2, mode=5, high=5)

    @field_validator("stars")
    @classmethod
    def _stars(cls, value: Span) -> Span:
        if not 1 <= value.low <= value.high <= 5:
            raise ValueError(
                f"stars are from 1 to 5, got [{value.low}, {value.mode}, {value.high}]"
            )
        return value


class Dispatch(_Model):
    """The operator configuration under test."""

    pricing: str | dict[str, Any]
    """A built-in name (``douala``, ``dakar``), a file relative to the scenario, or the
    mapping."""
    pool: dict[str, Any] | None = None
    service: dict[str, Any] | None = None


class Scenario(_Model):
    """One simulated run: everything but the seed's randomness."""

    name: str = Field(min_length=1)
    description: str = ""
    start: AwareDatetime
    duration_h: Annotated[float, Field(gt=0, le=24 * 14)] = 24.0
    """Requests arrive during this time; rides in course then run to their end."""
    seed: int = 1
    city: City
    dispatch: Dispatch
    fleet: tuple[FleetGroup, ...] = Field(min_length=1)
    demand: Demand
    customers: Customers
    drivers: Drivers = Drivers()
    tracking: Tracking = Tracking()
    bidding: Bidding = Bidding()
    """Where the pool's mode is ``bidding`` (freight's default)."""
    merchants: Merchants | None = None
    """The restaurants; a delivery scenario needs them, the others have none."""
    receipt: Receipt = Receipt()
    """Freight and delivery: the proof at the destination; freight: the shipper's receipt."""

    def dispatch_config(self) -> DispatchConfig:
        """The pricing, pool and service configuration, checked."""
        pricing = self.dispatch.pricing
        data: dict[str, Any] = dict(
            BUILTIN_PRICING[pricing] if isinstance(pricing, str) else pricing
        )
        for name in ("pool", "service"):
            section = getattr(self.dispatch, name)
            if section is not None:
                data[name] = section
        try:
            return load_config(data)
        except DispatchError as exc:
            raise InvalidScenario(f"scenario {self.name}: dispatch.{exc}") from None

    @property
    def total_drivers(self) -> int:
        """Drivers of every fleet group."""
        return sum(group.drivers for group in self.fleet)

    def scaled(
        self, *, requests_per_day: float | None = None, drivers: int | None = None
    ) -> Scenario:
        """The same scenario with another demand volume and/or fleet size (shares kept).

        >>> s = load_scenario("douala").scaled(requests_per_day=100, drivers=10)
        >>> s.demand.requests_per_day, s.total_drivers
        (100.0, 10)
        """
        data = self.model_dump()
        if requests_per_day is not None:
            data["demand"]["requests_per_day"] = requests_per_day
        if drivers is not None:
            total = self.total_drivers or 1
            counts = allocate(drivers, [g.drivers / total for g in self.fleet])
            for group, count in zip(data["fleet"], counts, strict=True):
                group["drivers"] = count
        return load_scenario(data)


def _check_against_config(scenario: Scenario) -> None:
    """Cross-checks with the dispatch configuration, named like field errors."""
    config = scenario.dispatch_config()
    pricing = config.pricing
    types = set(pricing.vehicle_types)
    for i, group in enumerate(scenario.fleet):
        if group.vehicle_type not in types:
            raise InvalidScenario(
                f"scenario {scenario.name}: fleet[{i}].vehicle_type: unknown vehicle type"
                f" {shown(group.vehicle_type)} (the pricing has {', '.join(sorted(types))})"
            )
    for vehicle_type in scenario.customers.vehicle_preference:
        if vehicle_type not in types:
            raise InvalidScenario(
                f"scenario {scenario.name}: customers.vehicle_preference: unknown vehicle type"
                f" {shown(vehicle_type)} (the pricing has {', '.join(sorted(types))})"
            )
    kind = scenario_kind(scenario, config)
    if kind is OrderKind.RIDE:
        for city_id in pricing.cities:
            for vehicle_type in sorted(types):
                if config.pool.settings_for(city_id, vehicle_type).mode == "bidding":
                    raise InvalidScenario(
                        f"scenario {scenario.name}: dispatch.pool: mode 'bidding' ({city_id},"
                        f" {vehicle_type}) is not simulated for rides (use 'sequential',"
                        " 'batch' or 'matching'; freight and deliveries bid)"
                    )
    if kind is OrderKind.DELIVERY and scenario.merchants is None:
        raise InvalidScenario(
            f"scenario {scenario.name}: merchants: a delivery scenario needs its restaurants"
            " (merchants.count)"
        )
    if kind is not OrderKind.DELIVERY and scenario.merchants is not None:
        raise InvalidScenario(
            f"scenario {scenario.name}: merchants: only a delivery scenario has merchants"
            f" (its vehicle types are of kind {kind})"
        )
    proof_m = config.service.proof_radius_km * 1000.0
    if kind is not OrderKind.RIDE and scenario.receipt.proof_offset_m.high > proof_m:
        raise InvalidScenario(
            f"scenario {scenario.name}: receipt.proof_offset_m: up to"
            f" {scenario.receipt.proof_offset_m.high:g} m from the destination, but a proof"
            f" counts within {proof_m:g} m (dispatch.service.proof_radius_km)"
        )
    pricer = Pricer(pricing)
    places = [("city", scenario.city.center_point, scenario.city.radius_km)]
    places += [
        (f"demand.hotspots[{i}] ({h.name})", LatLng(*h.center), h.radius_km)
        for i, h in enumerate(scenario.demand.hotspots)
    ]
    for where, center, radius_km in places:
        for bearing in (None, 0.0, 90.0, 180.0, 270.0):
            point = center if bearing is None else destination_point(center, bearing, radius_km)
            try:
                pricer.city_at(point)
            except PricingUnavailable:
                raise InvalidScenario(
                    f"scenario {scenario.name}: {where}: the disc of {radius_km:g} km around"
                    f" {center.lat:.4f}, {center.lng:.4f} leaves the pricing's cities"
                    f" ({point.lat:.4f}, {point.lng:.4f} is in none)"
                ) from None
    city = pricing.cities[pricer.city_at(scenario.city.center_point)]
    enabled = config.service.methods_for(city.country)
    for method, weight in scenario.customers.payment_methods.items():
        if weight > 0 and method not in enabled:
            raise InvalidScenario(
                f"scenario {scenario.name}: customers.payment_methods: {shown(method)} is not"
                f" enabled in {city.country} (enabled: {', '.join(enabled)})"
            )


def scenario_kind(scenario: Scenario, config: DispatchConfig) -> OrderKind:
    """The kind of order the scenario simulates: that of every vehicle type it names.

    A scenario simulates one kind (rides, freight loads or deliveries);
    :class:`InvalidScenario` when its fleet and its customers' choices mix them.
    """
    named = [(f"fleet[{i}].vehicle_type", g.vehicle_type) for i, g in enumerate(scenario.fleet)]
    named += [("customers.vehicle_preference", vt) for vt in scenario.customers.vehicle_preference]
    vehicle_types = config.pricing.vehicle_types
    first_field, first = named[0]
    kind = OrderKind(vehicle_types[first].kind)
    for field, vehicle_type in named[1:]:
        other = OrderKind(vehicle_types[vehicle_type].kind)
        if other is not kind:
            raise InvalidScenario(
                f"scenario {scenario.name}: {field}: {shown(vehicle_type)} is of kind {other},"
                f" {first_field} {shown(first)} of kind {kind}: a scenario simulates one kind"
            )
    return kind


def bidding_types(scenario: Scenario, config: DispatchConfig) -> frozenset[str]:
    """The scenario's vehicle types whose orders the pool puts up for bids in its city."""
    city_id = Pricer(config.pricing).city_at(scenario.city.center_point)
    vehicle_types = config.pricing.vehicle_types
    named = {g.vehicle_type for g in scenario.fleet} | set(scenario.customers.vehicle_preference)
    out = set()
    for code in named:
        default_mode = KINDS[OrderKind(vehicle_types[code].kind)].default_mode
        if config.pool.settings_for(city_id, code, default_mode).mode == "bidding":
            out.add(code)
    return frozenset(out)


def _resolve(data: Mapping[str, Any], base: Path | None) -> dict[str, Any]:
    """Read the pricing file a scenario names, so the scenario stands alone."""
    out = dict(data)
    dispatch = out.get("dispatch")
    if isinstance(dispatch, Mapping) and isinstance(dispatch.get("pricing"), str):
        ref = dispatch["pricing"]
        if ref not in BUILTIN_PRICING:
            path = Path(ref) if base is None else base / ref
            if not path.exists():
                raise InvalidScenario(
                    f"dispatch.pricing: {shown(ref)} is neither a built-in configuration"
                    f" ({', '.join(BUILTIN_PRICING)}) nor a file"
                )
            content = read_config_file(path)
            if not isinstance(content, Mapping):
                raise InvalidScenario(f"dispatch.pricing: {path} does not hold a mapping")
            pricing = dict(content)
            resolved = {**dispatch, "pricing": pricing}
            for name in ("pool", "service"):
                if name in pricing:
                    section = pricing.pop(name)
                    resolved.setdefault(name, section)
            out["dispatch"] = resolved
    return out


def load_scenario(source: Mapping[str, Any] | str | os.PathLike[str]) -> Scenario:
    """Load and check a scenario: a built-in name, a YAML/TOML/JSON file, or a mapping."""
    base: Path | None = None
    label = "scenario"
    if isinstance(source, Mapping):
        data: object = source
    else:
        text = os.fspath(source)
        if text in BUILTIN_SCENARIOS:
            ref = resources.files("vtc_dispatch.sim").joinpath("scenarios", f"{text}.yaml")
            with resources.as_file(ref) as path:
                data = read_config_file(path)
        else:
            path = Path(text)
            if not path.exists():
                raise InvalidScenario(
                    f"no scenario {shown(text)}: not a file, nor a built-in scenario"
                    f" ({', '.join(BUILTIN_SCENARIOS)})"
                )
            try:
                data = read_config_file(path)
            except DispatchError as exc:
                raise InvalidScenario(str(exc)) from None
            base = path.parent
        label = f"scenario {text}"
    if not isinstance(data, Mapping):
        raise InvalidScenario(f"{label}: a scenario is a mapping, got {type(data).__name__}")
    try:
        scenario = Scenario.model_validate(_resolve(data, base))
    except InvalidScenario as exc:
        raise InvalidScenario(f"{label}: {exc}") from None
    except ValidationError as exc:
        raise InvalidScenario(f"{label}: {describe_error(exc)}") from None
    _check_against_config(scenario)
    return scenario


def local_midnight(moment: datetime) -> datetime:
    """Midnight (in ``moment``'s own offset) of the day of ``moment``."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def allocate(total: int, shares: list[float]) -> list[int]:
    """Split ``total`` by ``shares``, largest remainders first, so the counts add up exactly.

    >>> allocate(10, [0.45, 0.45, 0.1])
    [5, 4, 1]
    """
    exact = [total * share for share in shares]
    counts = [math.floor(x) for x in exact]
    by_rest = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in by_rest[: max(0, total - sum(counts))]:
        counts[i] += 1
    return counts
