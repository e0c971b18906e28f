"""The dispatch service: the one command API of a ride, from search to ratings.

This is the composition root: every collaborator is a keyword-only argument
and ``None`` means the in-memory default (:mod:`vtc_dispatch.memory`);
nothing is built at import time.  Commands load an order, compute its next
version, save it (optimistic concurrency) and then tell the parties, as
domain events turned into wire messages (:mod:`vtc_dispatch.wire`).

Offers follow the pool settings of the order's city and vehicle type
(:class:`~vtc_dispatch.pool.PoolSettings`): the best-ranked available driver
within the current radius gets the offer and is reserved; a refusal or no
answer within ``max_waiting_time_s`` passes it to the next one, ranked
again at that moment; the radius widens by steps when nobody is left; the
search ends with NO_DRIVER at the maximum radius, after ``max_offers`` or
after ``search_timeout_s``.

>>> from datetime import datetime, timezone
>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch.memory import ManualClock
>>> from vtc_dispatch.pricing import douala_config
>>> clock = ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc))
>>> service = DispatchService(pricing=douala_config(), clock=clock)
>>> service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
>>> [(a.vehicle_type, a.count, a.quote.display)
...  for a in service.search(LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250))]
[('taxi_jaune', 1, 'between 950 and 1 150 XAF')]
>>> order = service.create_order("chantal", LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250),
...                              "taxi_jaune", "CASH")
>>> order.state, order.offered_to
('searching', 'amadou')
>>> service.accept("amadou", order.id).state
'accepted'
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

import attrs
from pydantic import BaseModel, ConfigDict, Field

from vtc_dispatch._records import evolve
from vtc_dispatch.errors import (
    ConcurrencyConflict,
    DispatchError,
    Forbidden,
    InvalidCoordinates,
    InvalidMoney,
    InvalidTransition,
    NotFound,
    OfferExpired,
    OfferWithdrawn,
    PaymentRefused,
)
from vtc_dispatch.events import (
    BidSubmitted,
    DriverArrived,
    DriverArriving,
    DriverAssigned,
    DriverLocated,
    DriverMoved,
    DriverWentOffline,
    DriverWentOnline,
    DriverWithdrew,
    Event,
    NoDriverFound,
    OfferRejected,
    OfferSent,
    OrderCancelled,
    OrderCreated,
    PriceChanged,
    RatingGiven,
    SearchStarted,
    TripCompleted,
    TripStarted,
)
from vtc_dispatch.events import (
    OfferExpired as OfferExpiredEvent,
)
from vtc_dispatch.events import (
    OfferWithdrawn as OfferWithdrawnEvent,
)
from vtc_dispatch.fsm import RIDE, RideEvent, RideState
from vtc_dispatch.geo.sphere import LatLng, haversine_km
from vtc_dispatch.memory import (
    InMemoryDriverRegistry,
    InMemoryOrderRepository,
    InMemoryProgressStore,
    InMemoryRatingStore,
    InMemoryWallet,
    NullNotifier,
    RecordingNotifier,
    SystemClock,
)
from vtc_dispatch.order import (
    Actor,
    Bid,
    Cancellation,
    DriverStatus,
    LiveOffer,
    Order,
    PaymentStatus,
    Rating,
    RideProgress,
)
from vtc_dispatch.pool import (
    Candidate,
    DistanceRanker,
    EtaRanker,
    PoolConfig,
    PoolSettings,
    Ranker,
    ScoredRanker,
    StatsBook,
)
from vtc_dispatch.ports import (
    Clock,
    DriverRegistry,
    Notifier,
    OrderRepository,
    ProgressStore,
    RatingStore,
    RouteEstimator,
    StatsStore,
    Wallet,
)
from vtc_dispatch.pricing.config import PricingConfig
from vtc_dispatch.pricing.engine import Pricer
from vtc_dispatch.pricing.quote import BreakdownLine, FareQuote, FinalFare, PriceChange
from vtc_dispatch.tracking import Track, TrackPolicy, cross_track_km, eta_s, location_due
from vtc_dispatch.wire import to_wire

__all__ = ["Availability", "DispatchService", "InvalidRating", "ServiceSettings"]

DEFAULT_PAYMENT_METHODS: tuple[str, ...] = ("CASH", "OM", "MOMO", "WALLET")


class InvalidRating(DispatchError, ValueError):
    """Stars outside 1-5, or a comment that is not text."""


class ServiceSettings(BaseModel):
    """How the service behaves; every field has the default a VTC operator starts with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    search_radius_km: Annotated[float, Field(gt=0, le=100)] = 5.0
    """Drivers shown by ``search`` are within this distance (offers follow the pool's radii)."""
    quote_valid_s: Annotated[float, Field(ge=0, le=3600)] = 120.0
    """An order placed this soon after a ``search``, for the same trip and type
    (and no supplement), keeps the quote the customer was shown; ``0`` always
    prices the order again."""
    search_count_cap: Annotated[int, Field(ge=1)] | None = 50
    """``search`` counts drivers up to this number and says "or more" beyond
    (``Availability.count_capped``); ``None`` counts them all, which costs a
    scan of every driver in the radius."""
    arrive_radius_km: Annotated[float, Field(gt=0, le=5)] = 0.1
    """A driver may declare arrival only this close to the pickup."""
    arriving_km: Annotated[float, Field(gt=0, le=10)] = 0.5
    """The customer is told the driver is arriving within this distance."""
    location_interval_s: Annotated[float, Field(ge=0, le=600)] = 5.0
    """At most one ``driver_location`` per interval to the customer."""
    rating_threshold: Annotated[float, Field(ge=1, le=5)] = 3.0
    rating_min_count: Annotated[int, Field(ge=1)] = 5
    """A driver under ``rating_threshold`` after this many ratings is not offered orders."""
    max_speed_kmh: Annotated[float, Field(gt=0)] = 200.0
    max_delay_s: Annotated[float, Field(gt=0)] = 120.0
    corridor_km: Annotated[float, Field(gt=0)] = 1.0
    """Half-width of the corridor around the pickup-drop-off line; leaving it
    (or ending the trip outside it) makes the final fare follow the real trip."""
    payment_methods: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {"*": DEFAULT_PAYMENT_METHODS}
    )
    """Enabled payment methods per country code; ``"*"`` for every other country."""

    def track_policy(self) -> TrackPolicy:
        """The plausibility rules of recorded positions."""
        return TrackPolicy(
            max_speed_kmh=self.max_speed_kmh,
            max_delay_s=self.max_delay_s,
            corridor_km=self.corridor_km,
        )

    def methods_for(self, country: str) -> tuple[str, ...]:
        """Payment methods enabled in ``country``."""
        return self.payment_methods.get(country, self.payment_methods.get("*", ()))


@attrs.frozen
class Availability:
    """One line of the customer's search screen: a vehicle type with drivers nearby."""

    vehicle_type: str
    label: str
    count: int
    """Available drivers within the search radius (at most the settings' cap)."""
    nearest_km: float
    eta_s: float
    quote: FareQuote
    count_capped: bool = False
    """True when there are more than ``count`` drivers (shown as "50+")."""


_FEE_ROLES: dict[str, Literal["customer", "driver", "operator"]] = {
    "customer": "customer",
    "driver": "driver",
}
"""Cancellation fee policy by role; the operator's rule applies to the system too."""

_DISTANCE_FIRST = DistanceRanker()
# Quotes kept from searches for the orders that follow them.
_SHOWN_QUOTES = 4096
# Drivers looked up per offer: the ranker chooses among them.
_CANDIDATES = 10

_ON_ORDER = frozenset({RideState.ACCEPTED, RideState.ARRIVED, RideState.IN_PROGRESS})


class DispatchService:
    """Every command of a ride: drivers online, search, order, offers, trip, ratings.

    Thread-safe: commands are serialised by one lock (the in-memory default
    is one process; the Redis adapter shares state between processes).
    """

    def __init__(
        self,
        *,
        pricing: PricingConfig | Pricer,
        settings: ServiceSettings | None = None,
        orders: OrderRepository | None = None,
        drivers: DriverRegistry | None = None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
        wallet: Wallet | None = None,
        progress: ProgressStore | None = None,
        pool: PoolConfig | None = None,
        ranker: Ranker | None = None,
        stats: StatsStore | None = None,
        ratings: RatingStore | None = None,
        route_estimator: RouteEstimator | None = None,
        new_order_id: Callable[[], str] | None = None,
    ) -> None:
        if isinstance(pricing, Pricer):
            if route_estimator is not None:
                raise ValueError("give the route_estimator to the Pricer that is passed in")
            self.pricer = pricing
        else:
            self.pricer = Pricer(pricing, route_estimator=route_estimator)
        self.settings = ServiceSettings() if settings is None else settings
        self.orders: OrderRepository = InMemoryOrderRepository() if orders is None else orders
        self.drivers: DriverRegistry = InMemoryDriverRegistry() if drivers is None else drivers
        self.notifier: Notifier = RecordingNotifier() if notifier is None else notifier
        self.clock: Clock = SystemClock() if clock is None else clock
        self.wallet: Wallet = InMemoryWallet() if wallet is None else wallet
        self.progress: ProgressStore = InMemoryProgressStore() if progress is None else progress
        self.pool = PoolConfig() if pool is None else pool
        self.stats: StatsStore = StatsBook() if stats is None else stats
        self.ratings: RatingStore = InMemoryRatingStore() if ratings is None else ratings
        self._ranker = ranker
        self._new_order_id = new_order_id or (lambda: f"ord-{uuid.uuid4().hex[:16]}")
        self._listeners: list[Callable[[Event], None]] = []
        # Average speed per city (the pricing configuration is fixed for a Pricer).
        self._speeds: dict[str, float] = {}
        # Quotes shown by search, for the order that follows (oldest first).
        self._shown: OrderedDict[tuple[LatLng, LatLng, str], FareQuote] = OrderedDict()
        self._lock = threading.RLock()

    # -- events ------------------------------------------------------------

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with every domain event, after the state is saved."""
        self._listeners.append(listener)

    def _publish(self, *events: Event) -> None:
        wired = not isinstance(self.notifier, NullNotifier)
        for event in events:
            for listener in self._listeners:
                listener(event)
            if wired:
                for recipient, message in to_wire(event):
                    self.notifier.send(recipient, message)

    # -- drivers -----------------------------------------------------------

    def driver_online(self, driver_id: str, vehicle_type: str, position: LatLng) -> None:
        """A driver goes ON: available for offers of ``vehicle_type``."""
        if vehicle_type not in self.pricer.config.vehicle_types:
            raise NotFound(f"unknown vehicle type {vehicle_type!r}")
        _check_point(position)
        now = self.clock.now()
        with self._lock:
            try:
                known = self.drivers.get(driver_id)
            except NotFound:
                status = DriverStatus(driver_id, vehicle_type, position, True, now)
            else:
                status = evolve(
                    known, vehicle_type=vehicle_type, position=position, online=True, updated_at=now
                )
            self.drivers.put(status)
        self._publish(DriverWentOnline(driver_id, vehicle_type, position, now))

    def driver_offline(self, driver_id: str) -> None:
        """A driver goes OFF.  A live offer counts as refused; an assigned ride must end first."""
        now = self.clock.now()
        with self._lock:
            status = self.drivers.get(driver_id)
            if status.order_id is not None:
                order = self.orders.get(status.order_id)
                if order.offer_to(driver_id) is not None:
                    order, events = self._drop_offer(order, driver_id, now, expired=False)
                    self._publish(*events)
                    status = self.drivers.get(driver_id)
                elif order.state in _ON_ORDER:
                    raise Forbidden(
                        f"driver {driver_id!r} is on order {order.id!r} ({order.state}):"
                        " complete or cancel it before going offline"
                    )
            self.drivers.put(evolve(status, online=False, order_id=None, updated_at=now))
        self._publish(DriverWentOffline(driver_id, now))

    def update_position(self, driver_id: str, position: LatLng, at: datetime | None = None) -> None:
        """A driver's new position; recorded on the track of the ride in course.

        ``at`` is when the phone measured it (default: now).  On a ride,
        implausible points (too fast, stale, out of order) are kept on the
        track but flagged and do not move the driver.
        """
        _check_point(position)
        now = self.clock.now()
        at = now if at is None else at
        with self._lock:
            status = self.drivers.get(driver_id)
            order = self.orders.get(status.order_id) if status.order_id else None
            events: list[Event] = []
            if order is not None and order.driver_id == driver_id and order.state in _ON_ORDER:
                accepted, events = self._record_position(order, position, at, now)
                if not accepted:
                    return
            self.drivers.put(evolve(status, position=position, updated_at=now))
        if self._listeners:  # a move has no wire form: only listeners want it
            self._publish(DriverMoved(driver_id, position, at, None if order is None else order.id))
        self._publish(*events)

    def _record_position(
        self, order: Order, position: LatLng, at: datetime, now: datetime
    ) -> tuple[bool, list[Event]]:
        """Add a fix to the ride's progress; tell the customer when it is due."""
        settings = self.settings
        events: list[Event] = []
        progress = self.progress.get(order.id)
        on_trip = order.state == RideState.IN_PROGRESS
        track, point = (progress.trip if on_trip else progress.approach).add(
            position, at, received_at=now
        )
        route_changed = progress.route_changed
        last_sent = progress.last_location_sent_at
        arriving_sent = progress.arriving_sent
        if point.accepted:
            assert order.driver_id is not None
            remaining = haversine_km(position, order.dropoff if on_trip else order.pickup)
            eta = self._eta_s(order, remaining)
            if on_trip and cross_track_km(position, order.pickup, order.dropoff) > (
                settings.corridor_km
            ):
                route_changed = True
            if location_due(last_sent, now, settings.location_interval_s):
                last_sent = now
                events.append(
                    DriverLocated(order.id, order.driver_id, order.customer_id, position, eta, now)
                )
            if (
                order.state == RideState.ACCEPTED
                and not arriving_sent
                and remaining <= settings.arriving_km
            ):
                arriving_sent = True
                events.append(
                    DriverArriving(
                        order.id, order.driver_id, order.customer_id, remaining, eta, now
                    )
                )
        self.progress.save(
            evolve(
                progress,
                trip=track if on_trip else progress.trip,
                approach=progress.approach if on_trip else track,
                route_changed=route_changed,
                last_location_sent_at=last_sent,
                arriving_sent=arriving_sent,
            ),
            progress.version,
        )
        return point.accepted, events

    def ride_progress(self, actor: Actor, order_id: str) -> RideProgress:
        """The live tracks of a ride (for its customer, driver, an operator)."""
        order = self._owned(actor, order_id)
        return self.progress.get(order.id)

    # -- the customer's search ---------------------------------------------

    def search(self, pickup: LatLng, dropoff: LatLng) -> list[Availability]:
        """Vehicle types with available drivers within the search radius, with prices.

        Each line gives the number of drivers, the nearest one's distance
        and ETA, and the fare quote; types with no driver (or no tariff
        here) are left out.
        """
        _check_point(pickup)
        _check_point(dropoff)
        now = self.clock.now()
        radius = self.settings.search_radius_km
        cap = self.settings.search_count_cap
        # One more than the cap tells "exactly cap" from "more than cap".
        counts = self.drivers.count_available(pickup, radius, cap=None if cap is None else cap + 1)
        if not counts:
            return []
        quotes = self.pricer.quote_all(pickup, dropoff, now, vehicle_types=counts)
        if self.settings.quote_valid_s > 0:
            with self._lock:
                shown = self._shown
                for vehicle_type, quote in quotes.items():
                    shown[pickup, dropoff, vehicle_type] = quote
                    shown.move_to_end((pickup, dropoff, vehicle_type))
                while len(shown) > _SHOWN_QUOTES:
                    shown.popitem(last=False)
        lines = []
        for vehicle_type, quote in quotes.items():
            nearest = self.drivers.nearest_available(pickup, 1, radius, (vehicle_type,))
            if not nearest:
                continue  # the driver left between the count and now
            km = nearest[0][1]
            lines.append(
                Availability(
                    vehicle_type=vehicle_type,
                    label=self.pricer.config.vehicle_types[vehicle_type].label,
                    count=counts[vehicle_type] if cap is None else min(counts[vehicle_type], cap),
                    nearest_km=km,
                    eta_s=eta_s(km, self._speed_kmh(quote.city)),
                    quote=quote,
                    count_capped=cap is not None and counts[vehicle_type] > cap,
                )
            )
        return lines

    def _speed_kmh(self, city_id: str) -> float:
        speed = self._speeds.get(city_id)
        if speed is None:
            speed = self._speeds[city_id] = self.pricer.config.cities[city_id].average_speed_kmh
        return speed

    def _eta_s(self, order: Order, distance_km: float) -> float:
        return eta_s(distance_km, self._speed_kmh(order.quote.city))

    # -- ordering ----------------------------------------------------------

    def payment_methods(self, at: LatLng) -> tuple[str, ...]:
        """Payment methods enabled where ``at`` is (its city's country)."""
        city = self.pricer.config.cities[self.pricer.city_at(at)]
        return self.settings.methods_for(city.country)

    def create_order(
        self,
        customer_id: str,
        pickup: LatLng,
        dropoff: LatLng,
        vehicle_type: str,
        payment_method: str,
        *,
        supplements: Sequence[str] = (),
    ) -> Order:
        """Order a ride: quote it, take the payment method, and start the search.

        The quote is the one ``search`` showed for this trip and type when
        it is at most ``quote_valid_s`` old (and no supplement is asked),
        else a new one.  WALLET holds the estimate on the customer's wallet
        (refused when the balance is short).  A customer has at most one
        active order.
        """
        _check_point(pickup)
        _check_point(dropoff)
        now = self.clock.now()
        with self._lock:
            active = self.orders.find("customer", customer_id, active=True, limit=1)
            if active:
                raise Forbidden(
                    f"customer {customer_id!r} already has an active order {active[0].id!r}"
                )
            methods = self.payment_methods(pickup)
            if payment_method not in methods:
                raise PaymentRefused(
                    f"payment method {payment_method!r} is not enabled here"
                    f" (enabled: {', '.join(methods)})"
                )
            quote = self._shown.get((pickup, dropoff, vehicle_type))
            if (
                quote is None
                or supplements
                or not 0.0 <= (now - quote.at).total_seconds() <= self.settings.quote_valid_s
            ):
                quote = self.pricer.quote(
                    pickup, dropoff, vehicle_type, now, supplements=supplements
                )
            order_id = self._new_order_id()
            hold = None
            payment = PaymentStatus.NONE
            if payment_method == "WALLET":
                hold = self.wallet.hold(customer_id, quote.estimate, quote.currency, order_id)
                payment = PaymentStatus.HELD
            lifecycle = RIDE.start(order_id, now)
            order = Order(
                id=order_id,
                customer_id=customer_id,
                vehicle_type=vehicle_type,
                pickup=pickup,
                dropoff=dropoff,
                payment_method=payment_method,
                quote=quote,
                lifecycle=lifecycle.fire(RideEvent.SEARCH, actor="customer", at=now),
                created_at=now,
                price_history=(quote_change := _first_price(quote),),
                payment_status=payment,
                wallet_hold=hold,
            )
            try:
                order = self.orders.add(order)
            except DispatchError:
                if hold is not None:
                    self.wallet.release(hold)
                raise
            events: list[Event] = [
                OrderCreated(
                    order.id, customer_id, vehicle_type, pickup, dropoff, payment_method, quote, now
                ),
                PriceChanged(order.id, quote_change),
                SearchStarted(order.id, now),
            ]
            order, offer_events = self._offer_next(order, now)
        self._publish(*events, *offer_events)
        return order

    def search_again(self, customer_id: str, order_id: str) -> Order:
        """After NO_DRIVER, the customer tries again (drivers who refused are skipped)."""
        now = self.clock.now()
        with self._lock:
            order = self._owned(Actor.customer(customer_id), order_id)
            lifecycle = order.lifecycle.fire(RideEvent.SEARCH_AGAIN, actor="customer", at=now)
            order = self.orders.save(
                evolve(order, lifecycle=lifecycle, offers_made=0), order.version
            )
            order, events = self._offer_next(order, now)
        self._publish(SearchStarted(order.id, now), *events)
        return order

    # -- offers (the stand-in pool) ----------------------------------------

    def _pool_settings(self, order: Order) -> PoolSettings:
        return self.pool.settings_for(order.quote.city, order.vehicle_type)

    def _ranker_for(self, order: Order, settings: PoolSettings) -> Ranker:
        if self._ranker is not None:
            return self._ranker
        if settings.ranking == "eta":
            return EtaRanker(self.pricer.route_estimator(order.quote.city))
        if settings.ranking == "scored":
            return ScoredRanker(self.stats)
        return _DISTANCE_FIRST

    def _offer_next(self, order: Order, now: datetime) -> tuple[Order, list[Event]]:
        """Offer ``order`` to the best available drivers not tried yet, or give up.

        Candidates are looked for within the pool's radii, widening by
        steps; they are ranked now, so drivers who moved or came online
        since the last offer are taken into account.  Sequential mode makes
        one offer, batch mode ``batch_size`` (shown ``stagger_s`` apart).
        """
        settings = self._pool_settings(order)
        started = order.lifecycle.time_in(RideState.SEARCHING)
        assert started is not None
        deadline = started + timedelta(seconds=settings.search_timeout_s)
        room = {"sequential": 1, "batch": settings.batch_size, "bidding": settings.bidders}[
            settings.mode
        ]
        if settings.max_offers is not None:
            room = min(room, settings.max_offers - order.offers_made)
        found: list[tuple[str, float]] = []
        ranker = self._ranker_for(order, settings)
        # Nearest first needs no more drivers than offers; other rankings
        # choose among a few more.
        wanted = room if ranker is _DISTANCE_FIRST else max(room, _CANDIDATES)
        if now < deadline and room > 0:
            # One query at the widest radius: the `wanted` nearest within a
            # smaller radius are exactly those of them that lie within it, so
            # the first step holding any is what widening step by step finds.
            radii = settings.radii()
            found = self.drivers.nearest_available(
                order.pickup,
                wanted,
                radii[-1],
                (order.vehicle_type,),
                exclude=order.tried,
            )
            if found:
                radius = next(r for r in radii if found[0][1] <= r)
                found = [(driver_id, km) for driver_id, km in found if km <= radius]
        if not found:
            lifecycle = order.lifecycle.fire(RideEvent.NO_DRIVER, actor="system", at=now)
            order = self.orders.save(evolve(order, lifecycle=lifecycle, offers=()), order.version)
            return order, [NoDriverFound(order.id, order.customer_id, now)]
        candidates = [
            Candidate(driver_id, km, self.drivers.get(driver_id).position)
            for driver_id, km in found
        ]
        wait = timedelta(
            seconds=settings.bidding_window_s
            if settings.mode == "bidding"
            else settings.max_waiting_time_s
        )
        offers: list[LiveOffer] = []
        for candidate, _ in ranker.rank(order.pickup, candidates, now):
            shown_at = now + timedelta(seconds=settings.stagger_s * len(offers))
            if len(offers) == room or shown_at >= deadline:
                break
            # Another worker may have taken the driver since the query.
            if self.drivers.reserve(candidate.driver_id, order.id):
                offers.append(
                    LiveOffer(
                        candidate.driver_id,
                        candidate.distance_km,
                        shown_at,
                        min(shown_at + wait, deadline),
                        shown=shown_at <= now,
                    )
                )
        if not offers:
            return self._offer_next(order, now)  # they were all taken: look again
        try:
            order = self.orders.save(
                evolve(order, offers=tuple(offers), offers_made=order.offers_made + len(offers)),
                order.version,
            )
        except DispatchError:
            for offer in offers:
                self.drivers.release(offer.driver_id, order.id)
            raise
        return order, [self._offer_sent(order, o, now) for o in offers if o.shown]

    def _offer_sent(self, order: Order, offer: LiveOffer, now: datetime) -> Event:
        self.stats.record(offer.driver_id, "offered", now)
        quote = order.quote
        return OfferSent(
            order.id,
            offer.driver_id,
            order.pickup,
            order.dropoff,
            order.vehicle_type,
            quote.minimum,
            quote.maximum,
            quote.currency,
            offer.distance_km,
            (offer.expires_at - now).total_seconds(),
            offer.expires_at,
            now,
        )

    def _release(self, driver_id: str, order_id: str) -> None:
        self.drivers.release(driver_id, order_id)

    def _drop_offer(
        self, order: Order, driver_id: str, now: datetime, *, expired: bool
    ) -> tuple[Order, list[Event]]:
        """The driver refused or let the offer expire: release; with no offer left, go on."""
        self._release(driver_id, order.id)
        self.stats.record(driver_id, "expired" if expired else "refused", now)
        dropped = evolve(
            order,
            offers=tuple(o for o in order.offers if o.driver_id != driver_id),
            bids=tuple(b for b in order.bids if b.driver_id != driver_id),
            tried=order.tried | {driver_id},
        )
        passed: Event = (
            OfferExpiredEvent(order.id, driver_id, now)
            if expired
            else OfferRejected(order.id, driver_id, now)
        )
        if dropped.offers:
            return self.orders.save(dropped, order.version), [passed]
        # The next offer is saved with the drop, in one version.
        order, events = self._offer_next(dropped, now)
        return order, [passed, *events]

    def accept(self, driver_id: str, order_id: str) -> Order:
        """A driver accepts a live offer: the order is ACCEPTED, the other offers withdrawn."""
        now = self.clock.now()
        with self._lock:
            order = self.orders.get(order_id)
            self._check_offer(order, driver_id, now)
            if self._pool_settings(order).mode == "bidding":
                raise Forbidden(f"order {order_id!r} takes bids: send a bid, the customer chooses")
            order, events = self._assign(order, driver_id, now)
        self._publish(*events)
        return order

    def _assign(
        self, order: Order, driver_id: str, now: datetime, *, price: Decimal | None = None
    ) -> tuple[Order, list[Event]]:
        """Give the order to ``driver_id``; the other offers are withdrawn."""
        lifecycle = order.lifecycle.fire(RideEvent.ACCEPT, actor="driver", at=now)
        status = self.drivers.get(driver_id)
        others = [o.driver_id for o in order.offers if o.driver_id != driver_id]
        history = order.price_history
        if price is not None:
            history += (PriceChange(order.quote.estimate, price, "bid accepted", now),)
        order = self.orders.save(
            evolve(
                order,
                lifecycle=lifecycle,
                driver_id=driver_id,
                offers=(),
                bids=(),
                agreed_price=price,
                price_history=history,
            ),
            order.version,
        )
        for other in others:
            self._release(other, order.id)
        eta = self._eta_s(order, haversine_km(status.position, order.pickup))
        self.stats.record(driver_id, "accepted", now)
        events: list[Event] = [
            OfferWithdrawnEvent(order.id, other, "taken", now) for other in others
        ]
        if price is not None:
            events.append(PriceChanged(order.id, history[-1]))
        events.append(
            DriverAssigned(
                order.id,
                driver_id,
                order.customer_id,
                order.vehicle_type,
                status.position,
                eta,
                now,
            )
        )
        return order, events

    def submit_bid(self, driver_id: str, order_id: str, amount: Decimal) -> Order:
        """An invited carrier bids (bidding mode); a new bid replaces the carrier's last one."""
        now = self.clock.now()
        with self._lock:
            order = self.orders.get(order_id)
            self._check_offer(order, driver_id, now)
            if self._pool_settings(order).mode != "bidding":
                raise Forbidden(f"order {order_id!r} takes no bids: accept or reject the offer")
            if not (isinstance(amount, Decimal) and amount.is_finite() and amount > 0):
                raise InvalidMoney(f"a bid must be a Decimal > 0, got {amount!r}")
            offer = order.offer_to(driver_id)
            assert offer is not None
            bids = (
                *(b for b in order.bids if b.driver_id != driver_id),
                Bid(driver_id, amount, now),
            )
            order = self.orders.save(evolve(order, bids=bids), order.version)
        self._publish(
            BidSubmitted(
                order.id,
                driver_id,
                order.customer_id,
                amount,
                order.quote.currency,
                offer.distance_km,
                now,
            )
        )
        return order

    def accept_bid(self, customer_id: str, order_id: str, driver_id: str) -> Order:
        """The customer takes a carrier's bid: that carrier gets the job at that price."""
        now = self.clock.now()
        with self._lock:
            order = self._owned(Actor.customer(customer_id), order_id)
            bid = next((b for b in order.bids if b.driver_id == driver_id), None)
            if bid is None:
                if order.state != RideState.SEARCHING:
                    raise InvalidTransition(order_id, "accept_bid", order.state)
                raise NotFound(f"no live bid from {driver_id!r} on order {order_id!r}")
            self._check_offer(order, driver_id, now)
            order, events = self._assign(order, driver_id, now, price=bid.amount)
        self._publish(*events)
        return order

    def reject(self, driver_id: str, order_id: str) -> Order:
        """A driver refuses a live offer; in sequential mode the next driver gets it."""
        now = self.clock.now()
        with self._lock:
            order = self.orders.get(order_id)
            self._check_offer(order, driver_id, now)
            order, events = self._drop_offer(order, driver_id, now, expired=False)
        self._publish(*events)
        return order

    def _check_offer(self, order: Order, driver_id: str, now: datetime) -> None:
        offer = order.offer_to(driver_id)
        if offer is None or not offer.shown:
            if order.driver_id is not None and order.driver_id != driver_id:
                raise OfferWithdrawn(f"order {order.id!r} went to another driver")
            if order.state == RideState.CANCELLED:
                raise OfferWithdrawn(f"order {order.id!r} was cancelled")
            if driver_id in order.tried:
                raise OfferExpired(
                    f"the offer of order {order.id!r} to driver {driver_id!r} is over"
                )
            raise Forbidden(f"driver {driver_id!r} holds no offer for order {order.id!r}")
        if now >= offer.expires_at:
            raise OfferExpired(
                f"the offer of order {order.id!r} to driver {driver_id!r} expired at"
                f" {offer.expires_at.isoformat()}"
            )

    def expire_due(self, now: datetime | None = None) -> int:
        """Show staggered offers that are due and pass expired ones to the next drivers.

        Idempotent: a deadline is handled once; returns how many offers
        were shown or expired.
        """
        now = self.clock.now() if now is None else now
        handled = 0
        with self._lock:
            for due in self.orders.with_live_offer(now):
                _, events, count = self._advance(self.orders.get(due.id), now)
                handled += count
                self._publish(*events)
        return handled

    def _advance(self, order: Order, now: datetime) -> tuple[Order, list[Event], int]:
        """Show the staggered offers that are due and drop the expired ones."""
        events: list[Event] = []
        # A staggered offer whose whole answer time went by before it could
        # be shown (the scheduler was late) is dropped unseen.
        unseen = {o.driver_id for o in order.offers if not o.shown and o.expires_at <= now}
        reveal = {o.driver_id for o in order.offers if not o.shown and o.sent_at <= now}
        reveal -= unseen
        if unseen or reveal:
            for driver_id in unseen:
                self._release(driver_id, order.id)
            order = self.orders.save(
                evolve(
                    order,
                    offers=tuple(
                        evolve(o, shown=True) if o.driver_id in reveal else o
                        for o in order.offers
                        if o.driver_id not in unseen
                    ),
                ),
                order.version,
            )
            events += [
                self._offer_sent(order, o, now) for o in order.offers if o.driver_id in reveal
            ]
        count = len(unseen) + len(reveal)
        for offer in [o for o in order.offers if o.shown and o.expires_at <= now]:
            order, dropped = self._drop_offer(order, offer.driver_id, now, expired=True)
            events += dropped
            count += 1
        if not order.offers and order.state == RideState.SEARCHING:
            order, more = self._offer_next(order, now)
            events += more
        return order, events, count

    # -- the trip ----------------------------------------------------------

    def _assigned(self, driver_id: str, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order.driver_id != driver_id:
            raise Forbidden(f"driver {driver_id!r} is not the driver of order {order_id!r}")
        return order

    def arrived(self, driver_id: str, order_id: str, *, operator_id: str | None = None) -> Order:
        """The driver is at the pickup (within ``arrive_radius_km``, unless an operator says so)."""
        now = self.clock.now()
        with self._lock:
            order = self._assigned(driver_id, order_id)
            role = "driver" if operator_id is None else "operator"
            if operator_id is None:
                km = haversine_km(self.drivers.get(driver_id).position, order.pickup)
                if km > self.settings.arrive_radius_km and order.state == RideState.ACCEPTED:
                    raise InvalidTransition(
                        order_id,
                        RideEvent.ARRIVE,
                        order.state,
                        f"the driver is {km * 1000:.0f} m from the pickup; arrival counts within"
                        f" {self.settings.arrive_radius_km * 1000:.0f} m",
                    )
            lifecycle = order.lifecycle.fire(RideEvent.ARRIVE, actor=role, at=now)
            order = self.orders.save(evolve(order, lifecycle=lifecycle), order.version)
        self._publish(DriverArrived(order.id, driver_id, order.customer_id, now))
        return order

    def start_trip(self, driver_id: str, order_id: str) -> Order:
        """The customer is on board: the trip (and its track) starts."""
        now = self.clock.now()
        with self._lock:
            order = self._assigned(driver_id, order_id)
            lifecycle = order.lifecycle.fire(RideEvent.START, actor="driver", at=now)
            position = self.drivers.get(driver_id).position
            progress = self.progress.get(order.id)
            trip, _ = Track(policy=self.settings.track_policy()).add(position, now)
            order = self.orders.save(evolve(order, lifecycle=lifecycle), order.version)
            self.progress.save(evolve(progress, trip=trip), progress.version)
        self._publish(TripStarted(order.id, driver_id, order.customer_id, now))
        return order

    def complete_trip(
        self, driver_id: str, order_id: str, *, supplements: Sequence[str] = ()
    ) -> Order:
        """The trip ends: final fare from the recorded track, payment, driver free again.

        Distance is the length of the trip's plausible positions; duration
        runs from the start; waiting is the time between arrival and start;
        the route counts as changed when a position left the corridor or
        the trip ended outside it.
        """
        now = self.clock.now()
        with self._lock:
            order = self._assigned(driver_id, order_id)
            lifecycle = order.lifecycle.fire(RideEvent.COMPLETE, actor="driver", at=now)
            position = self.drivers.get(driver_id).position
            progress = self.progress.get(order.id)
            trip = progress.trip
            if trip.last is None or trip.last.position != position:
                trip, _ = trip.add(position, now)
            started = order.lifecycle.time_in(RideState.IN_PROGRESS)
            arrived = order.lifecycle.time_in(RideState.ARRIVED)
            assert started is not None
            assert arrived is not None
            end = trip.last.position if trip.last is not None else position
            route_changed = (
                progress.route_changed
                or haversine_km(end, order.dropoff) > self.settings.corridor_km
            )
            fare = self._final_fare(
                order,
                distance_km=trip.distance_km,
                duration_min=(now - started).total_seconds() / 60.0,
                waiting_min=(started - arrived).total_seconds() / 60.0,
                supplements=supplements,
                route_changed=route_changed,
                at=now,
            )
            # The fare's history starts with the order's; only what follows is new.
            new_prices = fare.changes[len(order.price_history) :]
            # The ride is saved first, the wallet moves after: a save refused
            # (another worker's version) must not have taken the money.
            settling = order.wallet_hold is not None
            order = self.orders.save(
                evolve(
                    order,
                    lifecycle=lifecycle,
                    approach=progress.approach,
                    trip=trip,
                    route_changed=route_changed,
                    final_fare=fare,
                    price_history=order.price_history + new_prices,
                    payment_status=PaymentStatus.SETTLING if settling else PaymentStatus.PENDING,
                ),
                order.version,
            )
            self._release(driver_id, order.id)
            self.progress.discard(order.id)
            if settling:
                order = self._settle(order)
        self._publish(
            *(PriceChanged(order.id, change) for change in new_prices),
            TripCompleted(order.id, driver_id, order.customer_id, fare, now),
        )
        return order

    def _final_fare(
        self,
        order: Order,
        *,
        distance_km: float,
        duration_min: float,
        waiting_min: float,
        supplements: Sequence[str],
        route_changed: bool,
        at: datetime,
    ) -> FinalFare:
        """The pricing policy's final fare, or the accepted bid as it is."""
        if order.agreed_price is None:
            return self.pricer.final_fare(
                order.quote,
                distance_km=distance_km,
                duration_min=duration_min,
                waiting_min=waiting_min,
                supplements=supplements,
                route_changed=route_changed,
                at=at,
            )
        quote = order.quote
        return FinalFare(
            amount=order.agreed_price,
            currency=quote.currency,
            vehicle_type=quote.vehicle_type,
            city=quote.city,
            reason="agreed_bid",
            breakdown=(BreakdownLine("agreed_bid", "Agreed price", order.agreed_price),),
            rules_applied=("agreed_bid",),
            distance_km=Decimal(f"{distance_km:.3f}"),
            duration_min=Decimal(f"{duration_min:.2f}"),
            changes=order.price_history,
        )

    def settle_payment(self, order_id: str) -> Order:
        """Finish the wallet step of an order left ``SETTLING``.

        ``complete_trip`` and ``cancel`` save the order first and then
        capture (or release) its wallet hold; when the wallet fails in
        between (``StorageUnavailable``), the order stays ``SETTLING`` with
        its hold, and this command (from a worker or an operator) does the
        rest.  Any other order is returned unchanged.
        """
        with self._lock:
            order = self.orders.get(order_id)
            if order.payment_status == PaymentStatus.SETTLING and order.wallet_hold is not None:
                order = self._settle(order)
        return order

    def _settle(self, order: Order) -> Order:
        """Capture what the ended order owes from its wallet hold (release it when nothing)."""
        assert order.wallet_hold is not None
        if order.cancellation is not None:
            due = order.cancellation.fee
        else:
            assert order.final_fare is not None
            due = order.final_fare.amount
        if due:
            paid = self.wallet.capture(order.wallet_hold, due)
            payment = PaymentStatus.PAID if paid == due else PaymentStatus.PARTIALLY_PAID
        else:
            self.wallet.release(order.wallet_hold)
            payment, paid = PaymentStatus.RELEASED, order.amount_paid
        while True:
            try:
                return self.orders.save(
                    evolve(order, payment_status=payment, wallet_hold=None, amount_paid=paid),
                    order.version,
                )
            except ConcurrencyConflict:
                # Another command changed the ended order (a rating): only
                # the payment fields are ours, set them on its version.
                order = self.orders.get(order.id)

    # -- cancellation ------------------------------------------------------

    def _owned(self, actor: Actor, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if actor.role == "customer" and order.customer_id != actor.id:
            raise Forbidden(f"customer {actor.id!r} does not own order {order_id!r}")
        if actor.role == "driver" and order.driver_id != actor.id:
            raise Forbidden(f"driver {actor.id!r} is not the driver of order {order_id!r}")
        return order

    def cancel(self, actor: Actor, order_id: str, reason: str) -> Order:
        """Cancel, by an actor the state allows (see :data:`vtc_dispatch.fsm.RIDE`).

        Live offers are withdrawn, the driver is freed, and the
        cancellation fee of the pricing policy is charged (from the wallet
        hold, or left pending).
        """
        if not (isinstance(reason, str) and reason.strip()):
            raise InvalidTransition(order_id, RideEvent.CANCEL, "?", "a reason is required")
        now = self.clock.now()
        with self._lock:
            order = self._owned(actor, order_id)
            if (
                actor.role == "driver"
                and order.state == RideState.ACCEPTED
                and self._pool_settings(order).on_driver_cancel == "requeue"
            ):
                return self._requeue(order, actor.id, reason, now)
            lifecycle = order.lifecycle.fire(
                RideEvent.CANCEL, actor=actor.role, at=now, reason=reason
            )
            fee = self.pricer.cancellation_fee(
                order.quote,
                cancelled_by=_FEE_ROLES.get(actor.role, "operator"),
                cancelled_at=now,
                accepted_at=order.lifecycle.time_in(RideState.ACCEPTED),
                arrived_at=order.lifecycle.time_in(RideState.ARRIVED),
            ).amount
            settling = order.wallet_hold is not None
            payment = order.payment_status
            if settling:
                payment = PaymentStatus.SETTLING
            elif fee:
                payment = PaymentStatus.PENDING
            events: list[Event] = []
            for offer in order.offers:
                self._release(offer.driver_id, order.id)
                if offer.shown:
                    events.append(OfferWithdrawnEvent(order.id, offer.driver_id, "cancelled", now))
            if order.driver_id is not None:
                self._release(order.driver_id, order.id)
            progress = self.progress.get(order.id)
            order = self.orders.save(
                evolve(
                    order,
                    lifecycle=lifecycle,
                    offers=(),
                    bids=(),
                    approach=progress.approach,
                    trip=progress.trip,
                    cancellation=Cancellation(actor, reason, fee, now),
                    payment_status=payment,
                ),
                order.version,
            )
            self.progress.discard(order.id)
            if settling:
                order = self._settle(order)
            events.append(
                OrderCancelled(
                    order.id,
                    order.customer_id,
                    order.driver_id,
                    actor.role,
                    reason,
                    fee,
                    order.quote.currency,
                    now,
                )
            )
        self._publish(*events)
        return order

    def _requeue(self, order: Order, driver_id: str, reason: str, now: datetime) -> Order:
        """The driver who accepted withdraws: search again without them."""
        lifecycle = order.lifecycle.fire(RideEvent.REQUEUE, actor="system", at=now, reason=reason)
        self._release(driver_id, order.id)
        self.stats.record(driver_id, "cancelled_after_accept", now)
        self.progress.discard(order.id)
        order = self.orders.save(
            evolve(
                order,
                lifecycle=lifecycle,
                driver_id=None,
                tried=order.tried | {driver_id},
                offers_made=0,
            ),
            order.version,
        )
        order, events = self._offer_next(order, now)
        self._publish(
            DriverWithdrew(order.id, driver_id, order.customer_id, reason, now),
            SearchStarted(order.id, now),
            *events,
        )
        return order

    # -- ratings -----------------------------------------------------------

    def rate(self, actor: Actor, order_id: str, stars: int, comment: str | None = None) -> Order:
        """Rate the other side of a finished ride, once per side, 1 to 5 stars."""
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise InvalidRating(f"stars must be an integer from 1 to 5, got {stars!r}")
        if comment is not None and not isinstance(comment, str):
            raise InvalidRating(f"comment must be text, got {comment!r}")
        if actor.role not in ("customer", "driver"):
            raise Forbidden(f"only the customer and the driver rate a ride, not a {actor.role}")
        now = self.clock.now()
        with self._lock:
            order = self._owned(actor, order_id)
            if order.state != RideState.DONE:
                raise InvalidTransition(order_id, "rate", order.state, "only a done ride is rated")
            if any(r.by.role == actor.role for r in order.ratings):
                raise Forbidden(f"the {actor.role} already rated order {order_id!r}")
            assert order.driver_id is not None
            about = order.driver_id if actor.role == "customer" else order.customer_id
            rating = Rating(actor, about, stars, comment, now)
            order = self.orders.save(evolve(order, ratings=(*order.ratings, rating)), order.version)
            if actor.role == "customer":
                status = self.drivers.get(about)
                total, count = status.rating_sum + stars, status.rating_count + 1
                blocked = (
                    count >= self.settings.rating_min_count
                    and total / count < self.settings.rating_threshold
                )
                self.drivers.put(
                    evolve(status, rating_sum=total, rating_count=count, blocked=blocked)
                )
            else:
                self.ratings.add(about, stars)
        self._publish(RatingGiven(order_id, actor.role, actor.id, about, stars, comment, now))
        return order

    def customer_rating(self, customer_id: str) -> float | None:
        """Average stars drivers gave this customer (``None`` before the first)."""
        total, count = self.ratings.totals(customer_id)
        return total / count if count else None

    # -- queries -----------------------------------------------------------

    def get_order(self, actor: Actor, order_id: str) -> Order:
        """An order, for its customer, its driver, an operator or the system."""
        return self._owned(actor, order_id)

    def current_order(self, actor: Actor) -> Order | None:
        """The active order of a driver or customer, if any."""
        found = self.orders.find(actor.role, actor.id, active=True, limit=1)
        return found[0] if found else None

    def history(self, actor: Actor, *, page: int = 1, page_size: int = 20) -> list[Order]:
        """A driver's or customer's orders, newest first, by pages."""
        if page < 1 or not 1 <= page_size <= 100:
            raise ValueError(
                f"page must be >= 1 and page_size within 1-100, got {page}, {page_size}"
            )
        return self.orders.find(
            actor.role, actor.id, offset=(page - 1) * page_size, limit=page_size
        )


def _first_price(quote: FareQuote) -> PriceChange:
    return PriceChange(None, quote.estimate, "quoted", quote.at)


def _check_point(point: LatLng) -> None:
    if not isinstance(point, LatLng):
        raise InvalidCoordinates(f"a position must be a LatLng, got {point!r}")
