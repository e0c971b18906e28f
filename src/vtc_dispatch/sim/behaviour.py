"""Every random choice of a simulation: demand, shifts, customers' and drivers' decisions.

The engine asks a :class:`Decider` whenever the outside world decides
something: when the next customer requests and where to, which vehicle
type they take, how a driver answers an offer (or bids on a load), how a
freight or delivery order goes at its merchant and at its destination.
:class:`ModelDecider` draws from the scenario's models with a seeded
:class:`random.Random` per stream (demand, fleet, customers, drivers,
merchants, orders), so two scenarios differing only in their dispatch
settings see the same demand and the same fleet.
:mod:`vtc_dispatch.sim.eventlog` records these decisions and replays them.

>>> from vtc_dispatch.sim.scenario import load_scenario
>>> decider = ModelDecider(load_scenario("douala"), seed=7)
>>> first = decider.next_request()
>>> first.customer_id, 0 < first.t_us < 3_600_000_000
('c1', True)
"""

from __future__ import annotations

import bisect
import math
import random
from collections import deque
from datetime import timedelta
from typing import NamedTuple, Protocol

from vtc_dispatch.geo.sphere import LatLng, haversine_km
from vtc_dispatch.sim.scenario import Hotspot, Scenario, Span, allocate, local_midnight

__all__ = [
    "ACCEPT",
    "BATCH",
    "NO_ANSWER",
    "REJECT",
    "BidPlan",
    "Decider",
    "ModelDecider",
    "OrderPlan",
    "RequestPlan",
    "ShiftPlan",
    "disc_point",
]

NO_ANSWER = 0
ACCEPT = 1
REJECT = 2

_KM_PER_DEG = 111.195
_US = 1_000_000
_DRAWS = 20
BATCH = 256
"""Requests drawn ahead at a time."""
"""Attempts to draw a drop-off at least ``min_trip_km`` from the pickup."""


class ShiftPlan(NamedTuple):
    """One driver online from ``start_us`` to ``end_us`` (microseconds from the start)."""

    driver_id: str
    vehicle_type: str
    start_us: int
    end_us: int
    home: LatLng


class RequestPlan(NamedTuple):
    """A customer's request: when, where from and to, and how they will behave."""

    t_us: int
    customer_id: str
    pickup: LatLng
    dropoff: LatLng
    payment_method: str
    patience_s: float
    boarding_s: float
    merchant_id: str | None = None
    """The restaurant a delivery is ordered from (its pickup); ``None`` for the other kinds."""


class BidPlan(NamedTuple):
    """How an invited carrier answers: :data:`ACCEPT` is a bid of ``factor`` times the middle
    of the load's fare range, valid ``valid_for_s``; :data:`REJECT` declines."""

    action: int
    delay_s: float
    factor: float
    valid_for_s: float


class OrderPlan(NamedTuple):
    """How one freight or delivery order goes outside the dispatch (see the scenario's
    ``bidding``, ``merchants`` and ``receipt``); fields of the other kind are 0 or false."""

    review_s: float
    confirm_s: float
    start_s: float
    prep_s: float
    ready_early_s: float
    goods_amount: float
    refuse: bool
    unload_s: float
    proof_offset_m: float
    proof_bearing_deg: float
    receipt_s: float
    dispute: bool
    resolve_s: float
    stars: int


class Decider(Protocol):
    """Answers the engine's questions; the same answers give the same run."""

    def shifts(self) -> list[ShiftPlan]:
        """Every shift of the run, in the order drivers are created."""
        ...

    def next_request(self) -> RequestPlan | None:
        """The next request, ``None`` once the scenario's duration is over."""
        ...

    def choose(self, t_us: int, customer_id: str, shown: list[str]) -> str | None:
        """The vehicle type the customer orders among those shown, ``None``: none suits."""
        ...

    def answer(
        self, t_us: int, driver_id: str, order_id: str, km: float, fare_mid: float
    ) -> tuple[int, float]:
        """How a driver answers an offer: (:data:`ACCEPT`/:data:`REJECT`/:data:`NO_ANSWER`,
        delay in seconds)."""
        ...

    def retry(self, t_us: int, customer_id: str) -> float | None:
        """After NO_DRIVER: seconds before searching again, ``None``: gives up."""
        ...

    def withdraw(self, t_us: int, driver_id: str, order_id: str) -> float | None:
        """After accepting: seconds before the driver cancels, ``None``: goes to the pickup."""
        ...

    def bid(self, t_us: int, driver_id: str, order_id: str, km: float, fare_mid: float) -> BidPlan:
        """How an invited carrier answers an invitation to bid."""
        ...

    def order_plan(self, t_us: int, customer_id: str) -> OrderPlan:
        """How a freight or delivery order just made will go (one call per order)."""
        ...


def disc_point(rng: random.Random, center: LatLng, radius_km: float) -> LatLng:
    """A point uniform over the disc (local flat approximation, fine at city scale)."""
    r = radius_km * math.sqrt(rng.random())
    theta = 2.0 * math.pi * rng.random()
    dlat = r * math.sin(theta) / _KM_PER_DEG
    dlng = r * math.cos(theta) / (_KM_PER_DEG * math.cos(math.radians(center.lat)))
    return LatLng(center.lat + dlat, center.lng + dlng)


def _span(rng: random.Random, span: Span) -> float:
    # One draw even for a fixed value: changing a span never shifts the
    # stream, so the other draws of a scenario stay the same.
    return rng.triangular(span.low, span.high, span.mode)


class _Places:
    """Where trips start or end, per local hour: hotspots and the city disc, by weight."""

    def __init__(self, scenario: Scenario, *, pickups: bool) -> None:
        city = scenario.city
        demand = scenario.demand
        self.discs: list[tuple[LatLng, float]] = [(city.center_point, city.radius_km)]
        self.discs += [(LatLng(*h.center), h.radius_km) for h in demand.hotspots]
        self.cumulative: list[list[float]] = []
        for hour in range(24):
            weights = [demand.background_weight]
            weights += [self._weight(h, hour, pickups) for h in demand.hotspots]
            running, total = [], 0.0
            for w in weights:
                total += w
                running.append(total)
            self.cumulative.append(running)

    @staticmethod
    def _weight(hotspot: Hotspot, hour: int, pickups: bool) -> float:
        base = hotspot.pickup_weight if pickups else hotspot.dropoff_weight
        return base * (1.0 if hotspot.hourly is None else hotspot.hourly[hour])

    def draw(self, rng: random.Random, hour: int) -> LatLng:
        """A point at ``hour``; anywhere in the city in an hour where every weight is 0.

        The scenario's checks make that happen only outside the demand's
        hours, to drivers starting a shift.
        """
        running = self.cumulative[hour]
        pick = 0
        if running[-1] > 0.0:
            pick = min(bisect.bisect_right(running, rng.random() * running[-1]), len(running) - 1)
        center, radius = self.discs[pick]
        return disc_point(rng, center, radius)


class ModelDecider:
    """Draws every decision from the scenario's models, reproducibly for a seed."""

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        seed = scenario.seed if seed is None else seed
        self.scenario = scenario
        self.seed = seed
        self._demand = random.Random(f"{seed}:demand")
        self._fleet = random.Random(f"{seed}:fleet")
        self._customers = random.Random(f"{seed}:customers")
        self._drivers = random.Random(f"{seed}:drivers")
        self._pickups = _Places(scenario, pickups=True)
        self._dropoffs = _Places(scenario, pickups=False)
        demand = scenario.demand
        total = sum(demand.hourly_profile)
        self._rate_per_s = [
            demand.requests_per_day * w / total / 3600.0 for w in demand.hourly_profile
        ]
        start = scenario.start
        # Seconds of the local day at the start: hours of the profile are local hours.
        self._day_offset_s = (start - local_midnight(start)).total_seconds()
        self._horizon_s = scenario.duration_h * 3600.0
        self._t_s = 0.0
        self._n = 0
        self._ahead: deque[RequestPlan] = deque()
        self._demand_over = False
        methods = [(m, w) for m, w in scenario.customers.payment_methods.items() if w > 0]
        self._methods = [m for m, _ in methods]
        self._method_weights = _cumulate([w for _, w in methods])
        self._accept = scenario.drivers.accept
        self._base_logit = math.log(self._accept.base / (1.0 - self._accept.base))
        self._reference = float(self._accept.reference_fare)
        self._orders = random.Random(f"{seed}:orders")
        self.merchants: list[LatLng] = []
        """Where restaurant ``m{i + 1}`` is (delivery scenarios)."""
        if scenario.merchants is not None:
            rng = random.Random(f"{seed}:merchants")
            profile = demand.hourly_profile
            busiest = max(range(24), key=profile.__getitem__)
            self.merchants = [
                self._pickups.draw(rng, busiest) for _ in range(scenario.merchants.count)
            ]

    def hour_of_day(self, t_s: float) -> int:
        """The local hour (0-23) at ``t_s`` seconds from the start."""
        return int((t_s + self._day_offset_s) // 3600.0) % 24

    # -- fleet -------------------------------------------------------------

    def shifts(self) -> list[ShiftPlan]:
        """See :class:`Decider`: each driver works its group's shift every day of the run."""
        scenario = self.scenario
        rng = self._fleet
        midnight = local_midnight(scenario.start)
        horizon_us = round(self._horizon_s * _US)
        days = math.ceil((self._horizon_s + self._day_offset_s) / 86_400.0)
        plans: list[ShiftPlan] = []
        n = 0
        for group in scenario.fleet:
            for shift, count in zip(
                group.shifts, allocate(group.drivers, [s.share for s in group.shifts]), strict=True
            ):
                for _ in range(count):
                    n += 1
                    driver_id = f"d{n}"
                    for day in range(-1, days):
                        nominal = midnight + timedelta(
                            days=day, hours=shift.start.hour, minutes=shift.start.minute
                        )
                        jitter = shift.jitter_min * 60.0
                        begin_s = (nominal - scenario.start).total_seconds() + rng.uniform(
                            -jitter, jitter
                        )
                        end_s = begin_s + shift.hours * 3600.0 + rng.uniform(-jitter, jitter)
                        begin_us = max(0, round(begin_s * _US))
                        end_us = round(end_s * _US)
                        home = self._pickups.draw(rng, self.hour_of_day(max(0.0, begin_s)))
                        if end_us <= begin_us or end_us <= 0 or begin_us >= horizon_us:
                            continue
                        plans.append(
                            ShiftPlan(driver_id, group.vehicle_type, begin_us, end_us, home)
                        )
        return plans

    # -- customers ---------------------------------------------------------

    def next_request(self) -> RequestPlan | None:
        """See :class:`Decider`: a Poisson process, piecewise constant by local hour.

        Requests are drawn ahead by batches (:data:`BATCH`): the same
        sequence, drawn in a tight loop, costs a fraction of drawing them
        one by one between the service's calls.
        """
        if not self._ahead:
            if self._demand_over:
                return None
            for _ in range(BATCH):
                plan = self._draw_request()
                if plan is None:
                    self._demand_over = True
                    break
                self._ahead.append(plan)
            if not self._ahead:
                return None
        return self._ahead.popleft()

    def _draw_request(self) -> RequestPlan | None:
        rng = self._demand
        t = self._t_s
        while t < self._horizon_s:
            local = t + self._day_offset_s
            hour_end = (local // 3600.0 + 1.0) * 3600.0 - self._day_offset_s
            end = min(hour_end, self._horizon_s)
            rate = self._rate_per_s[int(local // 3600.0) % 24]
            if rate > 0.0:
                candidate = t + rng.expovariate(rate)
                if candidate < end:
                    self._t_s = candidate
                    return self._request(candidate)
            # No arrival before the hour ends: memorylessness lets us restart there.
            t = end
        self._t_s = t
        return None

    def _request(self, t_s: float) -> RequestPlan:
        rng = self._demand
        hour = self.hour_of_day(t_s)
        merchant_id = None
        if self.merchants:
            # A restaurant delivers around it: the drop-off is drawn near the pickup.
            index = rng.randrange(len(self.merchants))
            merchant_id = f"m{index + 1}"
            pickup = self.merchants[index]
            assert self.scenario.merchants is not None
            radius_km = self.scenario.merchants.delivery_radius_km

            def dropoff_near() -> LatLng:
                return disc_point(rng, pickup, radius_km)

            draw_dropoff = dropoff_near
        else:
            pickup = self._pickups.draw(rng, hour)

            def dropoff_anywhere() -> LatLng:
                return self._dropoffs.draw(rng, hour)

            draw_dropoff = dropoff_anywhere
        minimum = self.scenario.demand.min_trip_km
        dropoff = draw_dropoff()
        for _ in range(_DRAWS):
            if haversine_km(pickup, dropoff) >= minimum:
                break
            dropoff = draw_dropoff()
        self._n += 1
        customers = self.scenario.customers
        # From the demand's stream too: the same seed gives the same customers
        # whatever the dispatch settings (their choices and retries are another stream).
        crng = rng
        method = self._methods[
            bisect.bisect_right(self._method_weights, crng.random() * self._method_weights[-1])
        ]
        return RequestPlan(
            round(t_s * _US),
            f"c{self._n}",
            pickup,
            dropoff,
            method,
            _span(crng, customers.patience_s),
            _span(crng, customers.boarding_s),
            merchant_id,
        )

    def choose(self, t_us: int, customer_id: str, shown: list[str]) -> str | None:
        """See :class:`Decider`: by the preference weights of the types shown."""
        preference = self.scenario.customers.vehicle_preference
        weights = [preference.get(vt, 0.0) for vt in shown]
        total = sum(weights)
        if total <= 0.0:
            return None
        x = self._customers.random() * total
        for vehicle_type, weight in zip(shown, weights, strict=True):
            x -= weight
            if x < 0.0 and weight > 0.0:
                return vehicle_type
        return next(vt for vt, w in zip(shown, weights, strict=True) if w > 0.0)

    def retry(self, t_us: int, customer_id: str) -> float | None:
        """See :class:`Decider`."""
        customers = self.scenario.customers
        if self._customers.random() >= customers.retry_probability:
            return None
        return _span(self._customers, customers.retry_delay_s)

    # -- drivers -----------------------------------------------------------

    def answer(
        self, t_us: int, driver_id: str, order_id: str, km: float, fare_mid: float
    ) -> tuple[int, float]:
        """See :class:`Decider`: no answer, else accept with the logistic model."""
        rng = self._drivers
        behaviour = self.scenario.drivers
        if rng.random() < behaviour.no_answer:
            return NO_ANSWER, 0.0
        delay = _span(rng, behaviour.answer_delay_s)
        accept = self._accept
        z = (
            self._base_logit
            + accept.per_km * km
            + accept.per_fare * (fare_mid / self._reference - 1.0)
        )
        p = 0.0 if z < -500.0 else 1.0 / (1.0 + math.exp(-z))
        return (ACCEPT if rng.random() < p else REJECT), delay

    def bid(self, t_us: int, driver_id: str, order_id: str, km: float, fare_mid: float) -> BidPlan:
        """See :class:`Decider`: he bids when the accept model says the load is worth it."""
        action, delay = self.answer(t_us, driver_id, order_id, km, fare_mid)
        if action != ACCEPT:
            return BidPlan(action, delay, 0.0, 0.0)
        bidding = self.scenario.bidding
        factor = _span(self._drivers, bidding.amount)
        return BidPlan(action, delay, factor, _span(self._drivers, bidding.valid_for_s))

    def order_plan(self, t_us: int, customer_id: str) -> OrderPlan:
        """See :class:`Decider`: from a stream of its own, one draw of each field an order."""
        rng = self._orders
        scenario = self.scenario
        merchants = scenario.merchants
        receipt = scenario.receipt
        review_s = _span(rng, scenario.bidding.review_s)
        if merchants is None:
            kitchen = (0.0, 0.0, 0.0, 0.0, 0.0)
            refuse = False
        else:
            kitchen = (
                _span(rng, merchants.confirm_s),
                _span(rng, merchants.start_s),
                _span(rng, merchants.prep_s),
                _span(rng, merchants.ready_early_s),
                round(_span(rng, merchants.goods_amount)),
            )
            refuse = rng.random() < merchants.refuse
        unload_s = _span(rng, receipt.unload_s)
        offset_m = _span(rng, receipt.proof_offset_m)
        bearing = rng.uniform(0.0, 360.0)
        receipt_s = _span(rng, receipt.confirm_s)
        # A delivery ends at its proof: only a freight shipper has a receipt to dispute.
        dispute = merchants is None and rng.random() < receipt.dispute
        resolve_s = _span(rng, receipt.resolve_s)
        stars = round(_span(rng, receipt.stars))
        return OrderPlan(
            review_s,
            *kitchen,
            refuse,
            unload_s,
            offset_m,
            bearing,
            receipt_s,
            dispute,
            resolve_s,
            min(stars, 2) if dispute else stars,
        )

    def withdraw(self, t_us: int, driver_id: str, order_id: str) -> float | None:
        """See :class:`Decider`."""
        behaviour = self.scenario.drivers
        if self._drivers.random() >= behaviour.withdraw_after_accept:
            return None
        return _span(self._drivers, behaviour.withdraw_after_s)


def _cumulate(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out
