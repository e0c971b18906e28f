"""The discrete-event engine: a heap of timed events driving the real :class:`DispatchService`.

Simulated time is an integer count of microseconds from the scenario's
start; the service reads it through a :class:`~vtc_dispatch.memory.ManualClock`
set before each event (no wall time anywhere).  The events are:

* shifts starting and ending (``driver_online`` / ``driver_offline``; a
  driver on a ride goes off once it is over);
* requests, one Poisson arrival at a time: ``search``, a vehicle type
  among those shown, ``create_order``; the customer's patience runs from
  there until the driver arrives, then they ``cancel``;
* the pool's deadlines: after each command that may create one, the
  engine asks ``orders.next_deadline()`` and puts an event at that instant
  that calls ``expire_due`` (the simulation clock is the scheduler);
* drivers' answers, scheduled when the service sends an offer
  (:class:`~vtc_dispatch.events.OfferSent`) and dropped when the offer is
  withdrawn or expires first;
* positions of drivers on a ride only, one every ``tracking.interval_s``
  on the way to the pickup and on the trip (a zigzag around the straight
  line whose length is the road distance), then ``arrived``,
  ``start_trip`` after boarding, ``complete_trip``;
* the phones, every ``drivers.report_every_s`` while the service checks
  presence: each driver waiting for an offer pings, and ``expire_due``
  runs (the scheduler of the presence deadlines).  A phone may die
  (``drivers.phone_deaths_per_hour``): from then on it answers no offer
  and sends nothing, the driver cannot go offline himself, and it is the
  service that takes him out of search, then offline (reason ``silent``);
  his next shift starts with the phone charged.

Freight loads and deliveries (:mod:`vtc_dispatch.kinds`) go through the
kind's own commands.  A shipper's load is made and posted at once
(``create_order``, ``post_load``); invited carriers bid or decline
(``submit_bid``, ``reject``) and the shipper looks at the bids from time
to time (``get_order``) until he takes one (``accept_bid``); his patience
runs until a carrier is assigned.  A delivery is ordered from a
restaurant, which confirms, prepares and marks it ready
(``merchant_update``); its patience (the merchant's, who then cancels)
runs from then until a rider is assigned.  At the pickup the load or
parcel is taken (``start_trip``, ``depart``); at the destination the
driver hands over and proves the delivery (``deliver``, with the
receiver's code read by the customer from ``get_order``); a shipper
confirms receipt (``confirm_delivery``) or disputes it (``dispute``,
then an operator's ``resolve_dispute``) and rates the carrier (``rate``).

Drivers and customers react to the service's domain events (through
:meth:`~vtc_dispatch.service.DispatchService.subscribe`), the facts the
wire messages of a real app are made from; the service runs with a
:class:`~vtc_dispatch.memory.NullNotifier`, so it builds no message.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import IO, Any

from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.errors import InvalidTransition, PricingUnavailable
from vtc_dispatch.errors import OfferExpired as OfferOver
from vtc_dispatch.errors import OfferWithdrawn as OfferTaken
from vtc_dispatch.events import (
    BidSubmitted,
    DriverAssigned,
    DriverLocated,
    DriverWentOffline,
    Event,
    NoDriverFound,
    OfferExpired,
    OfferSent,
    OfferWithdrawn,
    OrderCancelled,
    TripCompleted,
)
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo.sphere import LatLng, destination_point, haversine_km
from vtc_dispatch.kinds import KINDS, OrderKind
from vtc_dispatch.memory import ManualClock, NullNotifier
from vtc_dispatch.order import Actor, ProofOfDelivery
from vtc_dispatch.ports import RouteEstimator, StraightLineEstimator
from vtc_dispatch.pricing.money import round_to_step
from vtc_dispatch.sim.behaviour import (
    ACCEPT,
    NO_ANSWER,
    Decider,
    ModelDecider,
    OrderPlan,
    RequestPlan,
)
from vtc_dispatch.sim.eventlog import (
    FORMAT,
    LogWriter,
    RecordingDecider,
    ReplayDecider,
    ReplayMismatch,
)
from vtc_dispatch.sim.kpis import (
    Observations,
    SimResult,
    Timing,
    compute_goods_kpis,
    compute_kpis,
)
from vtc_dispatch.sim.scenario import Scenario, bidding_types, scenario_kind

__all__ = ["Simulation"]

_US = 1_000_000
_HOUR_US = 3600 * _US
_KM_PER_DEG = 111.195

# Event kinds, in the heap as (time_us, seq, kind, subject, payload).
_FIX, _ANSWER, _DEADLINE, _REQUEST, _PATIENCE, _BOARD, _RETRY, _WITHDRAW = range(8)
_SHIFT_START, _SHIFT_END, _PHONES, _PHONE_DIES = 8, 9, 10, 11
_REVIEW, _MERCHANT, _HANDED_OVER, _RECEIPT, _RESOLVE = 12, 13, 14, 15, 16

_BID = 3
"""A carrier's answer to an invitation: his bid (the others are the offers' answers)."""
_OPERATOR = "ops"
"""The operator who settles disputes."""

_APPROACH, _TRIP = 1, 2


class _Request:
    """A customer's request, from the search to its one terminal outcome."""

    __slots__ = (
        "arrived_us",
        "assigned_us",
        "boarding_s",
        "customer_id",
        "done_us",
        "driver",
        "eta_s",
        "fare",
        "fee",
        "goods",
        "order_id",
        "ordered_us",
        "outcome",
        "patience_from_us",
        "plan",
        "t_us",
        "vehicle_type",
    )

    def __init__(self, plan: RequestPlan) -> None:
        self.plan = plan
        self.t_us = plan.t_us
        self.customer_id = plan.customer_id
        self.boarding_s = plan.boarding_s
        self.order_id: str | None = None
        self.vehicle_type: str | None = None
        self.ordered_us: int | None = None
        self.assigned_us: int | None = None
        self.arrived_us: int | None = None
        self.done_us: int | None = None
        self.eta_s: float | None = None
        self.driver: _Driver | None = None
        self.outcome: str | None = None
        self.fare: Decimal | None = None
        self.fee: Decimal | None = None
        self.patience_from_us = 0
        """When the customer's (a delivery: the merchant's) patience started."""
        self.goods: _Goods | None = None
        """A freight load's or a delivery's own steps (``None``: a ride)."""


class _Goods:
    """What a freight load or a delivery goes through besides a ride's steps."""

    __slots__ = (
        "agreed",
        "at_dropoff_us",
        "bids",
        "confirmed_us",
        "delivered_us",
        "departure_eta",
        "estimate",
        "fixes",
        "food_us",
        "located",
        "located_on_the_way",
        "picked_us",
        "plan",
        "prep_us",
        "proof_m",
        "ready_us",
    )

    def __init__(self, plan: OrderPlan) -> None:
        self.plan = plan
        self.estimate: Decimal | None = None
        """The quote's estimate: the price the load was posted at."""
        self.bids = 0
        self.agreed: Decimal | None = None
        """The order's agreed price, as the service answered ``accept_bid``."""
        self.confirmed_us: int | None = None
        self.prep_us: int | None = None
        self.food_us: int | None = None
        """When the food is really ready (the merchant may mark it ready before)."""
        self.ready_us: int | None = None
        self.picked_us: int | None = None
        self.at_dropoff_us: int | None = None
        self.delivered_us: int | None = None
        self.proof_m: float | None = None
        self.fixes = 0
        self.located = 0
        """Positions the service pushed to the customer (``DriverLocated``)."""
        self.located_on_the_way = 0
        """Those of them from the pickup to the destination."""
        self.departure_eta: tuple[int, float] | None = None
        """When the first position after the pickup was pushed, and the ETA it carried."""


class _Leg:
    """A drive from ``a`` to ``b`` in ``n`` fixes, zigzagging to the road distance."""

    __slots__ = ("a", "b", "dlat", "dlng", "kind", "n", "plat", "plng", "step_us")

    def __init__(
        self,
        a: LatLng,
        b: LatLng,
        duration_us: int,
        route_km: float,
        interval_us: int,
        kind: int,
        max_swing_km: float,
    ) -> None:
        self.a = a
        self.b = b
        self.kind = kind
        self.dlat = b.lat - a.lat
        self.dlng = b.lng - a.lng
        ky = _KM_PER_DEG
        kx = _KM_PER_DEG * math.cos(math.radians(a.lat))
        dy, dx = self.dlat * ky, self.dlng * kx
        straight = math.hypot(dx, dy)
        if straight < 0.05:
            self.n = 1
            self.plat = self.plng = 0.0
        else:
            detour = max(1.0, route_km / straight)
            swing = straight * math.sqrt(detour * detour - 1.0) / 2.0
            # A trip needs a midway fix for its track to have the road's length,
            # and enough of them for the zigzag to stay within the corridor.
            least = max(2, math.ceil(swing / max_swing_km)) if kind == _TRIP else 1
            self.n = max(least, math.ceil(duration_us / interval_us))
            # Each segment between fixes goes (straight / n) along the line and
            # swings 2 * amp across it: amp makes it detour times longer.
            amp = swing / self.n
            self.plat = dx / straight * amp / ky
            self.plng = -dy / straight * amp / kx
        self.step_us = max(1, duration_us // self.n)

    def point(self, i: int) -> LatLng:
        """The position at fix ``i`` (1 to ``n``; ``n`` is ``b`` exactly)."""
        if i >= self.n:
            return self.b
        f = i / self.n
        side = 1.0 if i % 2 else -1.0
        a = self.a
        return LatLng(
            a.lat + f * self.dlat + side * self.plat, a.lng + f * self.dlng + side * self.plng
        )


class _Driver:
    """A simulated driver: the phone's view of offers and rides, and the driver's hours."""

    __slots__ = (
        "busy_since",
        "busy_us",
        "died_us",
        "dies_when_free",
        "earnings",
        "fix",
        "going_off",
        "id",
        "leg",
        "offer",
        "offer_seq",
        "online",
        "online_since",
        "online_us",
        "request",
        "rides",
        "shift_end_us",
        "token",
        "trip_since",
        "trip_us",
        "vehicle_type",
    )

    def __init__(self, driver_id: str, vehicle_type: str) -> None:
        self.id = driver_id
        self.vehicle_type = vehicle_type
        self.online = False
        self.going_off = False
        self.shift_end_us = 0
        self.offer: str | None = None
        self.offer_seq = 0
        self.request: _Request | None = None
        self.token = 0
        self.leg: _Leg | None = None
        self.fix = 0
        self.online_since = 0
        self.online_us = 0
        self.busy_since = 0
        self.busy_us = 0
        self.trip_since = 0
        self.trip_us = 0
        self.earnings = Decimal(0)
        self.rides = 0
        self.died_us: int | None = None
        """When his phone died (``None``: it works)."""
        self.dies_when_free = False


class _Listener:
    """The service's subscriber: each domain event goes to the simulated people it concerns.

    The events are the facts the wire messages are made from (an app would
    receive ``offer`` for :class:`OfferSent`...); the service runs with a
    :class:`~vtc_dispatch.memory.NullNotifier`, so it builds no message.
    Time spent here is the simulation's, not the service's.
    """

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._routes: dict[type, Callable[[Any], None]] = {
            OfferSent: self._offer,
            OfferWithdrawn: self._withdrawn,
            OfferExpired: self._withdrawn,
            DriverAssigned: self._assigned,
            NoDriverFound: self._no_driver,
            OrderCancelled: self._cancelled,
            TripCompleted: self._completed,
            DriverWentOffline: self._put_offline,
        }

    def follow_goods(self) -> None:
        """Also hear the bids and the positions pushed to customers (freight, deliveries)."""
        self._routes[BidSubmitted] = self._bid
        self._routes[DriverLocated] = self._located

    def __call__(self, event: Event) -> None:
        route = self._routes.get(type(event))
        if route is None:
            return
        t0 = time.perf_counter()
        route(event)
        self._sim._in_handlers += time.perf_counter() - t0

    def _request(self, customer_id: str, order_id: str) -> _Request:
        request = self._sim._customers[customer_id]
        if request.order_id is None:  # the answer to create_order is on its way
            request.order_id = order_id
        return request

    def _offer(self, event: OfferSent) -> None:
        self._sim._on_offer(self._sim._drivers[event.driver_id], event)

    def _withdrawn(self, event: OfferWithdrawn | OfferExpired) -> None:
        self._sim._on_offer_withdrawn(self._sim._drivers[event.driver_id], event)

    def _assigned(self, event: DriverAssigned) -> None:
        self._sim._on_driver_assigned(self._request(event.customer_id, event.order_id), event)

    def _no_driver(self, event: NoDriverFound) -> None:
        self._sim._on_no_driver(self._request(event.customer_id, event.order_id), event)

    def _cancelled(self, event: OrderCancelled) -> None:
        sim = self._sim
        if event.driver_id is not None:
            sim._on_driver_order_cancelled(sim._drivers[event.driver_id], event)
        sim._on_order_cancelled(self._request(event.customer_id, event.order_id), event)

    def _bid(self, event: BidSubmitted) -> None:
        goods = self._request(event.customer_id, event.order_id).goods
        assert goods is not None
        goods.bids += 1

    def _located(self, event: DriverLocated) -> None:
        self._sim._on_located(self._request(event.customer_id, event.order_id), event)

    def _put_offline(self, event: DriverWentOffline) -> None:
        if event.reason is not None:
            self._sim._on_put_offline(self._sim._drivers[event.driver_id])

    def _completed(self, event: TripCompleted) -> None:
        sim = self._sim
        sim._on_driver_trip_completed(sim._drivers[event.driver_id], event)
        sim._on_trip_completed(self._request(event.customer_id, event.order_id), event)


class Simulation:
    """One run of a scenario against a fresh :class:`DispatchService`.

    The service's stores are in memory unless ``stores`` gives others
    (:func:`~vtc_dispatch.bootstrap.build_service`): a host fills its own
    stores with a few days of history that way (``order_prefix`` starts the
    ids of the orders, so that runs never collide).

    >>> from vtc_dispatch.sim.scenario import load_scenario
    >>> small = load_scenario("douala").scaled(requests_per_day=200, drivers=20)
    >>> result = Simulation(small, seed=3).run()
    >>> k = result.kpis
    >>> k["requests"] == sum(k["outcomes"].values())
    True
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        decider: Decider | None = None,
        event_log: IO[str] | None = None,
        route_estimator: RouteEstimator | None = None,
        progress: Callable[[float], None] | None = None,
        stores: Mapping[str, Any] | None = None,
        order_prefix: str = "o",
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        config = scenario.dispatch_config()
        self.clock = ManualClock(scenario.start)
        self._listener = _Listener(self)
        counter = iter(range(1, 1 << 62))
        self.service = build_service(
            config,
            stores,
            clock=self.clock,
            notifier=NullNotifier(),
            new_order_id=lambda: f"{order_prefix}{next(counter)}",
        )
        self._replay = decider if isinstance(decider, ReplayDecider) else None
        self._writer: LogWriter | None = None
        model: Decider = ModelDecider(scenario, self.seed) if decider is None else decider
        if event_log is not None:
            self._writer = LogWriter(event_log)
            self._writer.write(
                {
                    "k": "header",
                    "format": FORMAT,
                    "seed": self.seed,
                    "scenario": scenario.model_dump(mode="json"),
                }
            )
            model = RecordingDecider(model, self._writer)
        self.decider = model
        self.service.subscribe(self._listener)
        pricer = self.service.pricer
        city_id = pricer.city_at(scenario.city.center_point)
        city = pricer.config.cities[city_id]
        if route_estimator is None:
            if scenario.city.speed_kmh is None and scenario.city.detour_factor is None:
                route_estimator = pricer.route_estimator(city_id)
            else:
                route_estimator = StraightLineEstimator(
                    detour_factor=scenario.city.detour_factor or city.detour_factor,
                    spread=0.0,
                    speed_kmh=scenario.city.speed_kmh or city.average_speed_kmh,
                )
        self._route = route_estimator
        country = pricer.config.countries[city.country]
        self._currency = country.currency
        self._kind = scenario_kind(scenario, config)
        self._spec = KINDS[self._kind]
        self._bidding = bidding_types(scenario, config)
        # A bid is a price the shipper could be quoted: a multiple of the country's step.
        self._bid_rounding = country.rounding_rule()
        # Goods are ordered without a search: the customer picks among the types he takes.
        self._types = list(scenario.customers.vehicle_preference)
        bidding = scenario.bidding
        self._review_every_us = round(bidding.review_every_s * _US)
        if self._kind is not OrderKind.RIDE:
            self._listener.follow_goods()
        self._interval_us = round(scenario.tracking.interval_s * _US)
        # Phones report only to a service that checks presence.
        self._phones_us = (
            None
            if config.service.presence_timeout_s is None
            else round(scenario.drivers.report_every_s * _US)
        )
        self._deaths_per_us = scenario.drivers.phone_deaths_per_hour / _HOUR_US
        self._phone_rng = random.Random(f"{self.seed}:phones")
        # Half the corridor: a trip's positions never make the fare follow the real trip.
        self._max_swing_km = config.service.corridor_km / 2.0
        self._horizon_us = round(scenario.duration_h * _HOUR_US)
        self._progress = progress
        self._heap: list[tuple[int, int, int, Any, Any]] = []
        self._seq = 0
        self._now_us = 0
        self._deadlines: set[int] = set()
        self._drivers: dict[str, _Driver] = {}
        self._customers: dict[str, _Request] = {}
        self._requests: list[_Request] = []
        self._live = 0
        self._demand_done = False
        self._in_service = 0.0
        self._in_handlers = 0.0
        self._service_calls = 0
        self._obs = Observations(hours=math.ceil(scenario.duration_h) + 1)
        self._ran = False

    # -- the heap ------------------------------------------------------------

    def _push(self, t_us: int, kind: int, subject: Any, payload: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t_us, self._seq, kind, subject, payload))

    def _watch_deadlines(self) -> None:
        """Put an event at the pool's next deadline unless one comes before it."""
        deadline = self._call(self.service.orders.next_deadline)
        if deadline is None:
            return
        t_us = max(self._now_us, (deadline - self.scenario.start) // _ONE_US)
        pending = self._deadlines
        if not pending or t_us < min(pending):
            pending.add(t_us)
            self._push(t_us, _DEADLINE, None)

    # -- the run ---------------------------------------------------------------

    def run(self) -> SimResult:
        """Run to the end: requests stop at the scenario's duration, rides in course finish."""
        if self._ran:
            raise RuntimeError("a Simulation runs once; build another one")
        self._ran = True
        wall = time.perf_counter()
        for plan in self.decider.shifts():
            driver = self._drivers.get(plan.driver_id)
            if driver is None:
                driver = self._drivers[plan.driver_id] = _Driver(plan.driver_id, plan.vehicle_type)
            self._push(plan.start_us, _SHIFT_START, driver, plan)
        self._next_request()
        if self._phones_us is not None:
            self._push(self._phones_us, _PHONES, None)
        heap = self._heap
        pop = heapq.heappop
        clock = self.clock
        start = self.scenario.start
        obs = self._obs
        progress = self._progress
        horizon = max(1, self._horizon_us)
        events = 0
        handlers: list[Callable[[Any, Any], None]] = [
            self._fix,
            self._answer,
            self._deadline,
            self._request,
            self._patience,
            self._board,
            self._retry,
            self._withdraw,
            self._shift_start,
            self._shift_end,
            self._phones,
            self._phone_dies,
            self._review,
            self._merchant,
            self._handed_over,
            self._receipt,
            self._resolve,
        ]
        horizon_us = self._horizon_us
        while heap:
            t_us, _, kind, subject, payload = pop(heap)
            if t_us > horizon_us and self._demand_done and self._live == 0:
                break  # what is left are shifts and stale deadlines after the end
            if t_us != self._now_us:
                self._now_us = t_us
                clock.set(start + timedelta(microseconds=t_us))
            handlers[kind](subject, payload)
            events += 1
            if progress is not None and not events % 4096:
                progress(min(1.0, t_us / horizon))
        end_us = max(self._horizon_us, self._now_us)
        obs.integrate(end_us)
        for driver in self._drivers.values():
            if driver.online:
                driver.online_us += end_us - driver.online_since
        if progress is not None:
            progress(1.0)
        wall = time.perf_counter() - wall
        in_service = self._in_service - self._in_handlers
        compute = compute_kpis if self._kind is OrderKind.RIDE else compute_goods_kpis
        kpis, hourly = compute(
            self.scenario, self._requests, list(self._drivers.values()), obs, end_us, self._currency
        )
        result = SimResult(
            scenario=self.scenario.name,
            seed=self.seed,
            kpis=kpis,
            hourly=hourly,
            timing=Timing(
                wall_s=wall,
                service_s=in_service,
                sim_s=wall - in_service,
                events=events,
                service_calls=self._service_calls,
            ),
            pickups=[(r.plan.pickup, r.outcome or "") for r in self._requests],
            drivers=[self.service.drivers.get(d).position for d in self._drivers if self._seen(d)],
            waits_s=[
                (r.arrived_us - r.t_us) / _US for r in self._requests if r.arrived_us is not None
            ],
        )
        if self._writer is not None:
            self._writer.write({"k": "kpis", "kpis": kpis})
        if self._replay is not None:
            recorded = self._replay.recorded_kpis()
            if recorded != kpis:
                differ = sorted(
                    k for k in set(recorded) | set(kpis) if recorded.get(k) != kpis.get(k)
                )
                raise ReplayMismatch(
                    f"the replay's KPIs differ from the log's in: {', '.join(differ)}"
                )
        return result

    def _seen(self, driver_id: str) -> bool:
        try:
            self.service.drivers.get(driver_id)
        except LookupError:
            return False
        return True

    # -- timing of the service ---------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self._in_service += time.perf_counter() - t0
            self._service_calls += 1

    # -- shifts ----------------------------------------------------------------

    def _shift_start(self, driver: _Driver, plan: Any) -> None:
        driver.shift_end_us = max(driver.shift_end_us, plan.end_us)
        self._push(plan.end_us, _SHIFT_END, driver, plan.end_us)
        driver.going_off = False
        driver.died_us = None  # charged for the new shift
        driver.dies_when_free = False
        if self._deaths_per_us > 0:
            dies_us = self._now_us + round(self._phone_rng.expovariate(self._deaths_per_us))
            if dies_us < plan.end_us:
                self._push(dies_us, _PHONE_DIES, driver, plan.end_us)
        if driver.online:
            return
        self._call(self.service.driver_online, driver.id, driver.vehicle_type, plan.home)
        driver.online = True
        driver.online_since = self._now_us
        self._obs.count(self._now_us, online=1)

    def _shift_end(self, driver: _Driver, end_us: int) -> None:
        if end_us != driver.shift_end_us or not driver.online:
            return  # a later shift took over
        if driver.died_us is not None:
            return  # his phone is dead: only the service can put him offline
        if driver.request is not None:
            driver.going_off = True
            return
        self._go_offline(driver)

    def _go_offline(self, driver: _Driver) -> None:
        driver.offer = None
        driver.going_off = False
        self._call(self.service.driver_offline, driver.id)
        driver.online = False
        driver.online_us += self._now_us - driver.online_since
        self._obs.count(self._now_us, online=-1)
        self._watch_deadlines()

    # -- requests ----------------------------------------------------------------

    def _next_request(self) -> None:
        plan = self.decider.next_request()
        if plan is None:
            self._demand_done = True
        else:
            self._push(plan.t_us, _REQUEST, plan)

    def _request(self, plan: RequestPlan, _: Any) -> None:
        self._next_request()
        request = _Request(plan)
        self._requests.append(request)
        self._customers[plan.customer_id] = request
        self._live += 1
        self._obs.requested(self._now_us)
        if self._kind is not OrderKind.RIDE:
            self._order_goods(request)
            return
        try:
            lines = self._call(self.service.search, plan.pickup, plan.dropoff)
        except PricingUnavailable:
            self._finish(request, "unpriced")
            return
        if not lines:
            self._finish(request, "no_supply")
            return
        choice = self.decider.choose(
            self._now_us, plan.customer_id, [line.vehicle_type for line in lines]
        )
        if choice is None:
            self._finish(request, "no_supply")
            return
        request.vehicle_type = choice
        request.ordered_us = request.patience_from_us = self._now_us
        self._push(self._now_us + round(plan.patience_s * _US), _PATIENCE, request)
        order = self._call(
            self.service.create_order,
            plan.customer_id,
            plan.pickup,
            plan.dropoff,
            choice,
            plan.payment_method,
        )
        request.order_id = order.id
        self._watch_deadlines()

    def _order_goods(self, request: _Request) -> None:
        """A shipper posts a load, or a customer orders from a restaurant: no search first."""
        plan = request.plan
        choice = self.decider.choose(self._now_us, plan.customer_id, self._types)
        if choice is None:
            self._finish(request, "no_supply")
            return
        request.vehicle_type = choice
        request.ordered_us = request.patience_from_us = self._now_us
        goods = request.goods = _Goods(self.decider.order_plan(self._now_us, plan.customer_id))
        delivery = self._kind is OrderKind.DELIVERY
        try:
            order = self._call(
                lambda: self.service.create_order(
                    plan.customer_id,
                    plan.pickup,
                    plan.dropoff,
                    choice,
                    plan.payment_method,
                    merchant_id=plan.merchant_id,
                    goods_amount=Decimal(round(goods.plan.goods_amount)) if delivery else None,
                )
            )
        except PricingUnavailable:
            self._finish(request, "unpriced")
            return
        request.order_id = order.id
        goods.estimate = order.quote.estimate
        if delivery:
            self._push(self._at(goods.plan.confirm_s), _MERCHANT, request, "confirm")
            return
        self._push(self._at(plan.patience_s), _PATIENCE, request)
        self._bids_from_now(request)
        self._call(self.service.post_load, Actor.customer(plan.customer_id), order.id)
        self._watch_deadlines()

    def _at(self, after_s: float) -> int:
        """The simulated time ``after_s`` seconds from now."""
        return self._now_us + round(after_s * _US)

    def _waiter(self, request: _Request) -> Actor:
        """Who waits for the driver and cancels when it takes too long."""
        if request.plan.merchant_id is not None:
            return Actor.merchant(request.plan.merchant_id)
        return Actor.customer(request.customer_id)

    def _patience(self, request: _Request, _: Any) -> None:
        if request.outcome is not None or request.arrived_us is not None:
            return
        if request.goods is not None and request.driver is not None:
            return  # a load's or a parcel's wait ends with its driver assigned
        if request.driver is None and request.order_id is not None:
            order = self.service.orders.get(request.order_id)
            if order.phase == RideState.NO_DRIVER:
                self._finish(request, "no_driver")  # was to search again: gives up
                return
        assert request.order_id is not None
        try:
            self._call(
                self.service.cancel, self._waiter(request), request.order_id, "waited too long"
            )
        except InvalidTransition:
            return
        self._watch_deadlines()

    def _merchant(self, request: _Request, step: str) -> None:
        """The restaurant's next step: confirm (or refuse), prepare, mark ready."""
        goods = request.goods
        assert goods is not None
        assert request.order_id is not None
        merchant = self._waiter(request)
        plan = goods.plan
        if step == "confirm" and plan.refuse:
            self._call(self.service.cancel, merchant, request.order_id, "cannot prepare it")
            return
        if step == "mark_ready":
            goods.ready_us = request.patience_from_us = self._now_us
            self._push(self._at(request.plan.patience_s), _PATIENCE, request)
            self._bids_from_now(request)
        self._call(self.service.merchant_update, merchant, request.order_id, step)
        if step == "confirm":
            goods.confirmed_us = self._now_us
            self._push(self._at(plan.start_s), _MERCHANT, request, "prepare")
        elif step == "prepare":
            goods.prep_us = self._now_us
            goods.food_us = self._at(plan.prep_s)
            ready_us = max(self._now_us, goods.food_us - round(plan.ready_early_s * _US))
            self._push(ready_us, _MERCHANT, request, "mark_ready")
        else:
            self._watch_deadlines()

    def _bids_from_now(self, request: _Request) -> None:
        """Where the order is put up for bids, its customer will look at them."""
        if request.vehicle_type in self._bidding:
            assert request.goods is not None
            self._push(self._at(request.goods.plan.review_s), _REVIEW, request)

    def _review(self, request: _Request, _: Any) -> None:
        """The shipper looks at the bids: he takes the best live one, or looks again later."""
        if request.outcome is not None or request.driver is not None:
            return
        assert request.order_id is not None
        shipper = Actor.customer(request.customer_id)
        order = self._call(self.service.get_order, shipper, request.order_id)
        now = self.clock.now()
        live = [b for b in order.bids if b.valid_at(now)]
        if order.phase != RideState.SEARCHING or not live:
            self._push(self._now_us + self._review_every_us, _REVIEW, request)
            return
        bidding = self.scenario.bidding

        def cost(amount: Decimal, driver_id: str) -> float:
            stars = self._call(self.service.driver_card, driver_id).rating
            stars = bidding.unrated_stars if stars is None else stars
            return float(amount) * (1.0 + bidding.rating_weight * (5.0 - stars) / 4.0)

        best = min(live, key=lambda b: (cost(b.amount, b.driver_id), b.at, b.driver_id))
        goods = request.goods
        assert goods is not None
        taken = self._call(
            self.service.accept_bid, request.customer_id, request.order_id, best.driver_id
        )
        goods.agreed = taken.agreed_price
        self._watch_deadlines()

    def _retry(self, request: _Request, _: Any) -> None:
        if request.outcome is not None:
            return
        assert request.order_id is not None
        self._call(self.service.search_again, request.customer_id, request.order_id)
        self._watch_deadlines()

    def _finish(self, request: _Request, outcome: str) -> None:
        request.outcome = outcome
        request.done_us = self._now_us
        self._live -= 1
        self._obs.finished(request.t_us, outcome)
        log = self._writer or self._replay
        if log is not None:
            log.outcome(self._now_us, request.customer_id, request.order_id, outcome)

    # -- the pool's deadlines and the drivers' answers ----------------------------

    def _deadline(self, _: Any, __: Any) -> None:
        self._deadlines.discard(self._now_us)
        deadline = self._call(self.service.orders.next_deadline)
        if deadline is not None and deadline <= self.clock.now():
            self._call(self.service.expire_due, self.clock.now())
        self._watch_deadlines()

    def _on_offer(self, driver: _Driver, message: Any) -> None:
        self._obs.offers += 1
        driver.offer = message.order_id
        driver.offer_seq += 1
        if driver.died_us is not None:
            self._obs.offers_to_dead_phones += 1
            return  # nobody reads it: it expires
        fare_mid = float(message.fare_min + message.fare_max) / 2.0
        if message.vehicle_type in self._bidding:
            self._on_invitation(driver, message, fare_mid)
            return
        action, delay_s = self.decider.answer(
            self._now_us, driver.id, message.order_id, message.distance_to_pickup_km, fare_mid
        )
        if action != NO_ANSWER:
            self._push(
                self._now_us + round(delay_s * _US),
                _ANSWER,
                driver,
                (message.order_id, driver.offer_seq, action),
            )

    def _on_invitation(self, driver: _Driver, message: OfferSent, fare_mid: float) -> None:
        """An invitation to bid: the carrier bids, declines or lets it run out."""
        plan = self.decider.bid(
            self._now_us, driver.id, message.order_id, message.distance_to_pickup_km, fare_mid
        )
        if plan.action == NO_ANSWER:
            return
        answer: tuple[Any, ...] = (message.order_id, driver.offer_seq, plan.action)
        if plan.action == ACCEPT:
            rule = self._bid_rounding
            middle = (message.fare_min + message.fare_max) / 2
            amount = max(
                rule.step, round_to_step(middle * Decimal(plan.factor), rule.step, rule.mode)
            )
            answer = (message.order_id, driver.offer_seq, _BID, amount, plan.valid_for_s)
        self._push(self._at(plan.delay_s), _ANSWER, driver, answer)

    def _on_offer_withdrawn(self, driver: _Driver, message: Any) -> None:
        if isinstance(message, OfferExpired):
            self._obs.offers_expired += 1
        if driver.offer == message.order_id:
            driver.offer = None

    def _answer(self, driver: _Driver, payload: tuple[Any, ...]) -> None:
        order_id, seq, action = payload[:3]
        if driver.offer != order_id or driver.offer_seq != seq:
            return  # the offer was withdrawn, expired or the driver went off
        if action == _BID:
            self._submit_bid(driver, order_id, payload[3], payload[4])
            return
        driver.offer = None
        try:
            if action == ACCEPT:
                self._obs.accepts += 1
                self._call(self.service.accept, driver.id, order_id)
            else:
                self._obs.rejects += 1
                self._call(self.service.reject, driver.id, order_id)
        except (OfferOver, OfferTaken):
            self._obs.answers_too_late += 1
        self._watch_deadlines()

    def _submit_bid(
        self, driver: _Driver, order_id: str, amount: Decimal, valid_for_s: float
    ) -> None:
        """The carrier bids; he keeps his invitation until the shipper decides or it ends."""
        try:
            self._call(
                lambda: self.service.submit_bid(
                    driver.id, order_id, amount, valid_for_s=valid_for_s
                )
            )
        except (OfferOver, OfferTaken):
            self._obs.answers_too_late += 1

    def _on_no_driver(self, request: _Request, message: Any) -> None:
        delay_s = self.decider.retry(self._now_us, request.customer_id)
        patience_end = request.patience_from_us + round(request.plan.patience_s * _US)
        if delay_s is not None:
            at = self._now_us + round(delay_s * _US)
            if at < patience_end:
                self._obs.retries += 1
                self._push(at, _RETRY, request)
                return
        self._finish(request, "no_driver")

    # -- rides ---------------------------------------------------------------------

    def _on_driver_assigned(self, request: _Request, message: Any) -> None:
        driver = self._drivers[message.driver_id]
        if request.assigned_us is None:
            request.assigned_us = self._now_us
            request.eta_s = message.eta_s
        request.driver = driver
        driver.request = request
        driver.offer = None
        driver.token += 1
        driver.busy_since = self._now_us
        self._obs.count(self._now_us, busy=1)
        self._drive(driver, message.driver_position, request.plan.pickup, _APPROACH)
        assert request.order_id is not None
        after_s = self.decider.withdraw(self._now_us, driver.id, request.order_id)
        if after_s is not None:
            self._push(self._now_us + round(after_s * _US), _WITHDRAW, driver, driver.token)

    def _drive(self, driver: _Driver, a: LatLng, b: LatLng, kind: int) -> None:
        estimate = self._route.estimate(a, b)
        duration_us = round(estimate.duration_min * 60.0 * _US)
        leg = _Leg(
            a, b, duration_us, estimate.distance_km, self._interval_us, kind, self._max_swing_km
        )
        driver.leg = leg
        driver.fix = 0
        request = driver.request
        if request is not None and request.goods is not None:
            request.goods.fixes += leg.n
        self._push(self._now_us + leg.step_us, _FIX, driver, driver.token)

    def _fix(self, driver: _Driver, token: int) -> None:
        if token != driver.token:
            return  # the ride was cancelled
        leg = driver.leg
        assert leg is not None
        driver.fix += 1
        i = driver.fix
        service = self.service
        self._call(service.update_position, driver.id, leg.point(i))
        if i < leg.n:
            self._push(self._now_us + leg.step_us, _FIX, driver, token)
            return
        request = driver.request
        assert request is not None
        assert request.order_id is not None
        if leg.kind == _APPROACH:
            self._call(service.arrived, driver.id, request.order_id)
            request.arrived_us = self._now_us
            self._obs.waited(request.t_us, self._now_us - request.t_us)
            ready_us = self._now_us
            goods = request.goods
            if goods is not None and goods.food_us is not None:
                ready_us = max(ready_us, goods.food_us)  # the rider waits for the food
            self._push(ready_us + round(request.boarding_s * _US), _BOARD, driver, token)
        elif request.goods is not None:
            request.goods.at_dropoff_us = self._now_us
            self._push(self._at(request.goods.plan.unload_s), _HANDED_OVER, driver, token)
        else:
            self._call(service.complete_trip, driver.id, request.order_id)
            driver.trip_us += self._now_us - driver.trip_since
            self._end_ride(driver)

    def _board(self, driver: _Driver, token: int) -> None:
        if token != driver.token:
            return
        request = driver.request
        assert request is not None
        assert request.order_id is not None
        self._call(self.service.start_trip, driver.id, request.order_id)
        if request.goods is not None:
            self._call(self.service.depart, driver.id, request.order_id)
            request.goods.picked_us = self._now_us
        driver.trip_since = self._now_us
        self._drive(driver, request.plan.pickup, request.plan.dropoff, _TRIP)

    def _handed_over(self, driver: _Driver, token: int) -> None:
        """At the destination, handed over: the driver proves the delivery."""
        if token != driver.token:
            return
        request = driver.request
        assert request is not None
        goods = request.goods
        assert goods is not None
        assert request.order_id is not None
        # The receiver reads the code in his app and tells the driver.
        customer = Actor.customer(request.customer_id)
        code = self._call(self.service.get_order, customer, request.order_id).delivery_code
        plan = goods.plan
        dropoff = request.plan.dropoff
        where = destination_point(dropoff, plan.proof_bearing_deg, plan.proof_offset_m / 1000.0)
        reference = f"pod/{request.order_id}.jpg" if "reference" in self._spec.proof else None
        proof = ProofOfDelivery(where, self.clock.now(), code=code, reference=reference)
        goods.proof_m = haversine_km(where, dropoff) * 1000.0
        self._call(self.service.deliver, driver.id, request.order_id, proof)
        driver.trip_us += self._now_us - driver.trip_since
        self._end_ride(driver)

    def _receipt(self, request: _Request, _: Any) -> None:
        """The shipper confirms receipt of the load, or disputes it."""
        goods = request.goods
        assert goods is not None
        assert request.order_id is not None
        shipper = Actor.customer(request.customer_id)
        if goods.plan.dispute:
            self._call(self.service.dispute, shipper, request.order_id, "goods short or damaged")
            self._push(self._at(goods.plan.resolve_s), _RESOLVE, request)
            return
        self._call(self.service.confirm_delivery, shipper, request.order_id)
        self._rated(request, "completed")

    def _resolve(self, request: _Request, _: Any) -> None:
        """An operator settles the dispute."""
        assert request.order_id is not None
        self._call(self.service.resolve_dispute, _OPERATOR, request.order_id, "settled")
        self._rated(request, "resolved")

    def _rated(self, request: _Request, outcome: str) -> None:
        """The load's end: the shipper rates the carrier."""
        goods = request.goods
        assert goods is not None
        assert request.order_id is not None
        shipper = Actor.customer(request.customer_id)
        self._call(self.service.rate, shipper, request.order_id, goods.plan.stars)
        self._finish(request, outcome)

    def _end_ride(self, driver: _Driver) -> None:
        driver.request = None
        driver.leg = None
        driver.token += 1
        driver.busy_us += self._now_us - driver.busy_since
        self._obs.count(self._now_us, busy=-1)
        if driver.dies_when_free:
            self._kill_phone(driver)
        elif self._phones_us is not None and driver.online and driver.died_us is None:
            self._call(self.service.ping, driver.id)  # the app reports as the ride ends
        if driver.going_off:
            # Not from inside an event handler: the service is still publishing.
            self._push(self._now_us, _SHIFT_END, driver, driver.shift_end_us)

    def _withdraw(self, driver: _Driver, token: int) -> None:
        request = driver.request
        if token != driver.token or request is None or request.arrived_us is not None:
            return
        assert request.order_id is not None
        self._obs.withdrawals += 1
        request.driver = None
        self._call(
            self.service.cancel, Actor.driver(driver.id), request.order_id, "driver withdrew"
        )
        if driver.request is request:  # requeued: no OrderCancelled came
            self._end_ride(driver)
            if request.vehicle_type in self._bidding:  # the shipper looks at the new bids
                self._push(self._now_us + self._review_every_us, _REVIEW, request)
        self._watch_deadlines()

    def _on_driver_order_cancelled(self, driver: _Driver, message: Any) -> None:
        request = driver.request
        if request is not None and request.order_id == message.order_id:
            self._end_ride(driver)

    def _on_driver_trip_completed(self, driver: _Driver, message: Any) -> None:
        driver.earnings += message.fare.amount
        driver.rides += 1

    def _on_order_cancelled(self, request: _Request, message: Any) -> None:
        request.fee = message.fee
        request.driver = None
        self._finish(request, f"cancelled_by_{message.cancelled_by}")

    def _on_trip_completed(self, request: _Request, message: Any) -> None:
        request.fare = message.fare.amount
        goods = request.goods
        if goods is None:
            self._finish(request, "done")
        elif self._kind is OrderKind.DELIVERY:
            goods.delivered_us = self._now_us
            self._finish(request, "delivered")
        else:
            goods.delivered_us = self._now_us
            self._push(self._at(goods.plan.receipt_s), _RECEIPT, request)

    def _on_located(self, request: _Request, message: DriverLocated) -> None:
        goods = request.goods
        assert goods is not None
        goods.located += 1
        if goods.picked_us is None:
            return
        goods.located_on_the_way += 1
        if goods.departure_eta is None and message.eta_s is not None:
            goods.departure_eta = (self._now_us, message.eta_s)

    # -- phones ------------------------------------------------------------------------

    def _phones(self, _: Any, __: Any) -> None:
        """Every waiting driver's phone pings; the presence deadlines are handled.

        With freight and deliveries a driver on his order pings too: loading,
        waiting for the food or unloading lasts longer than the service's
        presence timeout, and he is not silent then.
        """
        assert self._phones_us is not None
        ping = self.service.ping
        goods = self._kind is not OrderKind.RIDE
        for driver in self._drivers.values():
            if driver.online and (driver.request is None or goods) and driver.died_us is None:
                self._call(ping, driver.id)
        if self._deaths_per_us > 0:
            self._call(self.service.expire_due, self.clock.now())
            self._watch_deadlines()
        if not (self._demand_done and self._live == 0 and self._now_us > self._horizon_us):
            self._push(self._now_us + self._phones_us, _PHONES, None)

    def _phone_dies(self, driver: _Driver, shift_end_us: int) -> None:
        if shift_end_us != driver.shift_end_us or not driver.online:
            return  # a later shift, or already off
        if driver.request is not None:
            driver.dies_when_free = True  # on a ride the phone holds out until it is over
            return
        self._kill_phone(driver)

    def _kill_phone(self, driver: _Driver) -> None:
        driver.dies_when_free = False
        driver.died_us = self._now_us
        self._obs.phones_died += 1

    def _on_put_offline(self, driver: _Driver) -> None:
        """The service put the driver offline (his phone was silent)."""
        if not driver.online:
            return
        self._obs.put_offline_silent += 1
        if driver.died_us is not None:
            self._obs.dead_online_s.append((self._now_us - driver.died_us) / _US)
        driver.offer = None
        driver.online = False
        driver.online_us += self._now_us - driver.online_since
        self._obs.count(self._now_us, online=-1)


_ONE_US = timedelta(microseconds=1)
