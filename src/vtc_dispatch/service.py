"""The dispatch service: the one command API of a ride, from search to ratings.

This is the composition root: every collaborator is a keyword-only argument
and ``None`` means the in-memory default (:mod:`vtc_dispatch.memory`);
nothing is built at import time.  Each command reads what it needs,
*decides* in pure code (:mod:`vtc_dispatch.commands`, the pool's decisions
in :mod:`vtc_dispatch.pool.decide`), and commits one change set through the
unit of work (:class:`~vtc_dispatch.ports.UnitOfWork`); the domain events
are published after the commit, as wire messages (:mod:`vtc_dispatch.wire`).
A commit that finds the state moved underneath it
(:class:`~vtc_dispatch.errors.ConcurrencyConflict`) makes the command read
and decide again, a few times.

Every mutating command takes a keyword ``command_id``: a command replayed
with the same id returns the first answer and changes nothing (a client
retrying after a lost reply); the same id with other arguments is refused.

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
...                              "taxi_jaune", "CASH", command_id="tap-1")
>>> order.state, order.offered_to
('searching', 'amadou')
>>> service.create_order("chantal", LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250),
...                      "taxi_jaune", "CASH", command_id="tap-1") == order
True
>>> service.accept("amadou", order.id).state
'accepted'
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from vtc_dispatch.commands.context import Context, Decision
from vtc_dispatch.commands.dispatching import Dispatching, step_changes
from vtc_dispatch.commands.drivers import SILENT, Drivers, DriverState
from vtc_dispatch.commands.kinds import MERCHANT_EVENTS, KindSteps
from vtc_dispatch.commands.payments import Payments
from vtc_dispatch.commands.runner import CommandRunner
from vtc_dispatch.commands.search import search
from vtc_dispatch.commands.trip import Trip
from vtc_dispatch.dashboards import (
    CustomerDashboard,
    DriverDashboard,
    RatingFigure,
    customer_dashboard,
    driver_dashboard,
    orders_since,
    period_of,
)
from vtc_dispatch.errors import (
    ConcurrencyConflict,
    DispatchError,
    Forbidden,
    InvalidArgument,
    InvalidRating,
    NotFound,
    shown,
)
from vtc_dispatch.events import DriverMoved, Event
from vtc_dispatch.fsm import RideState, Role
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.memory import (
    InMemoryCommandLog,
    InMemoryDriverProfiles,
    InMemoryDriverRegistry,
    InMemoryOrderRepository,
    InMemoryProgressStore,
    InMemoryQuoteBook,
    InMemoryRatingStore,
    InMemoryWallet,
    NullNotifier,
    RecordingNotifier,
    SystemClock,
)
from vtc_dispatch.order import (
    Actor,
    DriverCard,
    DriverStatus,
    Fix,
    Order,
    PositionAnswer,
    ProofOfDelivery,
    RideProgress,
)
from vtc_dispatch.payments import PaymentOutcome, check_outcome
from vtc_dispatch.pool import PoolConfig, Ranker, StatsBook
from vtc_dispatch.pool.decide import Step
from vtc_dispatch.ports import (
    Clock,
    CommandLog,
    DriverProfiles,
    DriverRegistry,
    Notifier,
    OrderRepository,
    PortsRideReader,
    ProgressStore,
    QuoteBook,
    RatingStore,
    RideReader,
    RouteEstimator,
    StatsStore,
    UnitOfWork,
    Wallet,
)
from vtc_dispatch.presentation import order_pings, route_geojson
from vtc_dispatch.pricing.config import PricingConfig
from vtc_dispatch.pricing.engine import Pricer
from vtc_dispatch.settings import Availability, ServiceSettings
from vtc_dispatch.unit_of_work import StoresUnitOfWork
from vtc_dispatch.validation import (
    check_accuracy,
    check_actor,
    check_amount,
    check_callable,
    check_codes,
    check_command_id,
    check_duration,
    check_id,
    check_instant,
    check_now,
    check_optional_id,
    check_page,
    check_point,
    check_proof_input,
    check_radius,
    check_rating,
    check_text,
    refused,
)

if TYPE_CHECKING:
    from vtc_dispatch.ports import Ride

__all__ = [
    "Availability",
    "DispatchService",
    "DriverState",
    "InvalidRating",
    "PositionAnswer",
    "ServiceSettings",
]

_SWEEP = 500
"""Drivers moved per presence step of one ``expire_due`` (the rest at the next call)."""
_DUPLICATE = PositionAnswer(False, "duplicate")
_DRIVING_PHASES = frozenset({RideState.ACCEPTED, RideState.ARRIVED, RideState.IN_PROGRESS})


class DispatchService:
    """Every command of a ride: drivers online, search, order, offers, trip, ratings.

    Thread-safe: commands decide without a lock and commit through the unit
    of work (the in-memory one holds its stores' lock for the commit).
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
        commands: CommandLog | None = None,
        quotes: QuoteBook | None = None,
        unit_of_work: UnitOfWork | None = None,
        rides: RideReader | None = None,
        profiles: DriverProfiles | None = None,
    ) -> None:
        self.pricer = _pricer(pricing, route_estimator)
        settings = ServiceSettings() if settings is None else settings
        self.orders: OrderRepository = InMemoryOrderRepository() if orders is None else orders
        self.drivers: DriverRegistry = InMemoryDriverRegistry() if drivers is None else drivers
        self.notifier: Notifier = RecordingNotifier() if notifier is None else notifier
        clock = SystemClock() if clock is None else clock
        self.wallet: Wallet = InMemoryWallet() if wallet is None else wallet
        self.progress: ProgressStore = InMemoryProgressStore() if progress is None else progress
        pool = PoolConfig() if pool is None else pool
        self.stats: StatsStore = StatsBook() if stats is None else stats
        self.ratings: RatingStore = InMemoryRatingStore() if ratings is None else ratings
        self.profiles: DriverProfiles = InMemoryDriverProfiles() if profiles is None else profiles
        self.uow: UnitOfWork = unit_of_work or self._stores_unit_of_work(commands)
        context = Context(
            pricer=self.pricer,
            settings=settings,
            pool=pool,
            orders=self.orders,
            drivers=self.drivers,
            progress=self.progress,
            wallet=self.wallet,
            stats=self.stats,
            ratings=self.ratings,
            quotes=InMemoryQuoteBook(clock) if quotes is None else quotes,
            clock=clock,
            rides=rides or PortsRideReader(self.drivers, self.orders, self.progress),
            profiles=self.profiles,
            ranker=ranker,
        )
        if new_order_id is not None:
            context.new_order_id = new_order_id
        self._ctx = context
        self._dispatching = Dispatching(context)
        self._trip = Trip(context, self._dispatching)
        self._drivers = Drivers(context, self._dispatching)
        self._kinds = KindSteps(context, self._dispatching, self._trip)
        self._payments = Payments(context)
        self._runner = CommandRunner(
            context, self.uow, self.notifier, wired=not isinstance(self.notifier, NullNotifier)
        )
        self._run = self._runner.run
        self._order = self._runner.run_order

    def _stores_unit_of_work(self, commands: CommandLog | None) -> StoresUnitOfWork:
        return StoresUnitOfWork(
            orders=self.orders,
            drivers=self.drivers,
            progress=self.progress,
            wallet=self.wallet,
            stats=self.stats,
            ratings=self.ratings,
            commands=InMemoryCommandLog() if commands is None else commands,
            # In-memory orders carry the lock of every commit over them (shared by services).
            lock=getattr(self.orders, "commit_lock", None),
        )

    @property
    def settings(self) -> ServiceSettings:
        """How the service behaves (may be replaced between commands)."""
        return self._ctx.settings

    @settings.setter
    def settings(self, settings: ServiceSettings) -> None:
        if not isinstance(settings, ServiceSettings):
            raise refused("settings", "a ServiceSettings", settings)
        self._ctx.settings = settings

    @property
    def pool(self) -> PoolConfig:
        """The pool settings per city and vehicle type (may be replaced between commands)."""
        return self._ctx.pool

    @pool.setter
    def pool(self, pool: PoolConfig) -> None:
        if not isinstance(pool, PoolConfig):
            raise refused("pool", "a PoolConfig", pool)
        self._ctx.pool = pool

    @property
    def clock(self) -> Clock:
        """The time of the commands (may be replaced between commands)."""
        return self._ctx.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        if not callable(getattr(clock, "now", None)):
            raise refused("clock", "a Clock (an object with now())", clock)
        self._ctx.clock = clock

    def _id_max(self) -> int:
        """The longest id the commands accept (the settings may change between commands)."""
        return self._ctx.settings.limits.id_max_chars

    def _party_and_order(self, party_id: str, argument: str, order_id: str) -> None:
        """A driver's or customer's id and an order's id checked (the offers' and trip's
        commands: two direct calls cost less than :meth:`_ids`)."""
        id_max = self._ctx.settings.limits.id_max_chars
        check_id(party_id, argument, id_max)
        check_id(order_id, "order_id", id_max)

    def _ids(self, *named: tuple[object, str]) -> None:
        """Each ``(value, argument)`` checked as an id."""
        id_max = self._ctx.settings.limits.id_max_chars
        for value, argument in named:
            check_id(value, argument, id_max)

    # -- running a command ---------------------------------------------------

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with every domain event, after the state is saved."""
        self._runner.listeners.append(check_callable(listener, "listener"))

    # -- drivers -------------------------------------------------------------

    def driver_online(
        self, driver_id: str, vehicle_type: str, position: LatLng, *, command_id: str | None = None
    ) -> None:
        """A driver goes ON: available for offers of ``vehicle_type``."""
        self._ids((driver_id, "driver_id"), (vehicle_type, "vehicle_type"))
        check_point(position, "position")
        self._run(
            command_id,
            lambda: _fingerprint("driver_online", driver_id, vehicle_type, position),
            lambda now: self._drivers.online(driver_id, vehicle_type, position, now),
        )

    def driver_offline(self, driver_id: str, *, command_id: str | None = None) -> None:
        """A driver goes OFF.  A live offer counts as refused; an assigned ride must end first."""
        check_id(driver_id, "driver_id", self._id_max())
        self._run(
            command_id,
            lambda: _fingerprint("driver_offline", driver_id),
            lambda now: self._drivers.offline(driver_id, now),
        )

    def suspend_driver(
        self,
        actor: Actor,
        driver_id: str,
        *,
        suspended: bool = True,
        reason: str | None = None,
        command_id: str | None = None,
    ) -> None:
        """An operator suspends a driver (``suspended``) or lifts his suspension.

        A suspended driver gets no offer, whatever his rating; his ratings
        never lift it.  A live offer is taken back (``offer_withdrawn``, reason
        ``suspended``, not counted as his refusal) and goes to the next
        driver; a ride he drives goes on.  He is told (``suspension``).
        ``reason``, when given, is a non-blank text of at most the settings'
        ``limits.text_max_chars``.
        """
        check_actor(actor, self._id_max())
        check_id(driver_id, "driver_id", self._id_max())
        if not isinstance(suspended, bool):
            raise InvalidArgument(
                f"suspended must be true or false, got {shown(suspended)}", argument="suspended"
            )
        if reason is not None:
            check_text(reason, "reason", self._ctx.settings.limits.text_max_chars)
        self._run(
            command_id,
            lambda: _fingerprint("suspend_driver", actor, driver_id, suspended, reason),
            lambda now: self._drivers.suspend(actor, driver_id, suspended, now, reason),
        )

    def update_position(
        self,
        driver_id: str,
        position: LatLng,
        at: datetime | None = None,
        *,
        accuracy_m: float | None = None,
        command_id: str | None = None,
    ) -> PositionAnswer:
        """A driver's new position; recorded on the track of the ride in course.

        ``at`` is when the phone measured it (default: now), ``accuracy_m``
        the radius the phone gives for it.  Every fix renews the driver's
        presence, and is answered: accepted (he is there now) or refused
        with the reason (:class:`~vtc_dispatch.order.PositionAnswer`).  A
        fix less accurate than the settings' ``accuracy_max_m`` does not
        move him; on a ride, implausible points (too fast, stale, out of
        order) are kept on the track but flagged and do not move him
        either, until a few consistent ones resynchronise the track.  A fix
        from a driver who is offline is refused (``offline``).  A fix sent
        again with the same ``command_id`` is answered ``duplicate``.
        """
        check_id(driver_id, "driver_id", self._ctx.settings.limits.id_max_chars)
        check_point(position, "position")
        if at is not None:
            check_instant(at, "at")
        if accuracy_m is not None:
            check_accuracy(accuracy_m)

        def decide(now: datetime) -> tuple[Decision, tuple[Order | None, PositionAnswer]]:
            decision, order, answer = self._trip.position(
                driver_id, position, now if at is None else at, accuracy_m, now
            )
            return decision, (order, answer)

        if command_id is None:
            order, answer = self._runner.run_answered(decide)
        else:
            decided: list[tuple[Order | None, PositionAnswer]] = []

            def keyed(now: datetime) -> Decision:
                decision, answered = decide(now)
                decided[:] = [answered]
                return decision

            self._run(
                command_id,
                lambda: _fingerprint("update_position", driver_id, position, at, accuracy_m),
                keyed,
            )
            if not decided:  # a replay: the first answer told what became of the fix
                return _DUPLICATE
            order, answer = decided[0]
        if answer.accepted and self._runner.listeners:  # no wire form: only listeners want it
            now = self.clock.now()
            event = DriverMoved(
                driver_id, position, now if at is None else at, None if order is None else order.id
            )
            for listener in self._runner.listeners:
                listener(event)
        return answer

    def update_positions(self, fixes: Sequence[Fix]) -> list[PositionAnswer]:
        """Many drivers' fixes at once: what a server heard in a fraction of a second.

        Each fix is answered as :meth:`update_position` answers it, in the
        batch's order, but the drivers and their rides are read together
        and the whole batch is stored in one write (one round trip on
        Redis).  A fix that is not a :class:`~vtc_dispatch.order.Fix`, has a
        bad value, or comes from a driver never seen is refused alone, its
        answer saying why (reason ``invalid`` or ``unknown_driver``, and the
        ``error``); the others are applied.  An empty batch does nothing; a
        batch longer than the settings' ``limits.fixes_per_batch_max`` is
        refused whole (:class:`~vtc_dispatch.errors.InvalidArgument`).  Fixes
        of one driver are applied in the batch's order.

        >>> from vtc_dispatch.order import Fix
        >>> from vtc_dispatch.pricing import douala_config
        >>> service = DispatchService(pricing=douala_config())
        >>> service.driver_online("amadou", "taxi_jaune", LatLng(4.05, 9.70))
        >>> answers = service.update_positions([
        ...     Fix("amadou", LatLng(4.051, 9.70)), Fix("nobody", LatLng(4.05, 9.70)),
        ...     Fix("amadou", LatLng(4.06, 9.70), accuracy_m=-1.0)])
        >>> [(a.accepted, a.reason) for a in answers]
        [(True, None), (False, 'unknown_driver'), (False, 'invalid')]
        >>> service.drivers.get("amadou").position
        LatLng(4.051, 9.7)
        """
        limits = self._ctx.settings.limits
        if not isinstance(fixes, Sequence) or isinstance(fixes, str | bytes):
            raise refused("fixes", "a sequence of Fix", fixes)
        if len(fixes) > limits.fixes_per_batch_max:
            raise InvalidArgument(
                f"fixes: a batch holds at most {limits.fixes_per_batch_max} fixes"
                f" (limits.fixes_per_batch_max), got {len(fixes)}",
                argument="fixes",
            )
        answers: list[PositionAnswer | None] = [None] * len(fixes)
        pending: list[tuple[int, Fix]] = []
        for i, fix in enumerate(fixes):
            try:
                _check_fix(fix, limits.id_max_chars)
            except DispatchError as exc:
                answers[i] = PositionAnswer(False, "invalid", error=str(exc))
            else:
                pending.append((i, fix))
        while pending:
            # A driver's second fix waits for the round after his first is stored.
            round_: list[tuple[int, Fix]] = []
            later: list[tuple[int, Fix]] = []
            in_round: set[str] = set()
            for item in pending:
                driver_id = item[1].driver_id
                (later if driver_id in in_round else round_).append(item)
                in_round.add(driver_id)
            self._positions_round(round_, answers, again=True)
            pending = later
        done = [a for a in answers if a is not None]
        assert len(done) == len(fixes)
        return done

    def _positions_round(
        self,
        items: Sequence[tuple[int, Fix]],
        answers: list[PositionAnswer | None],
        *,
        again: bool,
    ) -> None:
        """One fix per driver, read together and stored as one change set.

        A commit that loses a race reads and decides the round once more
        (``again``), whole: a reader that kept idle drivers finds then the
        one taken meanwhile; on a second loss each fix goes alone."""
        rides = self._ctx.rides.rides_of([fix.driver_id for _, fix in items])
        found: list[tuple[int, Fix]] = []
        fixes: list[tuple[Fix, Ride]] = []
        for (i, fix), ride in zip(items, rides, strict=True):
            if isinstance(ride, NotFound):
                answers[i] = PositionAnswer(False, "unknown_driver", error=str(ride))
            else:
                found.append((i, fix))
                fixes.append((fix, ride))
        orders: list[Order | None] = []
        went_alone: list[bool] = []

        def decide(now: datetime) -> Decision:
            decision, said, orders[:] = self._trip.positions(fixes, now)
            for (i, _), answer in zip(found, said, strict=True):
                answers[i] = answer
            return decision

        def alone() -> None:
            went_alone.append(True)
            if again:
                self._positions_round(items, answers, again=False)
                return
            for i, fix in found:
                try:
                    answers[i] = self.update_position(
                        fix.driver_id, fix.position, fix.at, accuracy_m=fix.accuracy_m
                    )
                except NotFound as exc:  # gone since it was read
                    answers[i] = PositionAnswer(False, "unknown_driver", error=str(exc))

        self._runner.run_batch(decide, alone)
        listeners = self._runner.listeners
        if went_alone or not listeners:  # update_position told the listeners itself
            return
        now = self.clock.now()
        for (i, fix), order in zip(found, orders, strict=True):
            answer = answers[i]
            if answer is not None and answer.accepted:
                at = now if fix.at is None else fix.at
                event = DriverMoved(
                    fix.driver_id, fix.position, at, None if order is None else order.id
                )
                for listener in listeners:
                    listener(event)

    def ping(self, driver_id: str) -> DriverStatus:
        """The driver's phone is there (a light heartbeat between fixes): his presence is
        renewed.  Returns his status (online or not, and why not)."""
        check_id(driver_id, "driver_id", self._id_max())
        heard: list[DriverStatus] = []

        def decide(now: datetime) -> Decision:
            decision, status = self._drivers.heard(driver_id, now)
            heard[:] = [status]
            return decision

        self._run(None, lambda: _fingerprint("ping", driver_id), decide)
        return heard[0]

    def driver_unreachable(self, driver_id: str, *, heard_until: datetime | None = None) -> None:
        """The driver's connection closed: he gets no offer until he is heard from again.

        ``heard_until`` is when that connection last heard from him: a driver
        heard from since (on another connection, over REST) stays present.
        A driver never seen, or offline, is left as he is.
        """
        check_id(driver_id, "driver_id", self._id_max())
        if heard_until is not None:
            check_instant(heard_until, "heard_until")

        def decide(_: datetime) -> Decision:
            try:
                return self._drivers.unreachable(driver_id, heard_until)
            except NotFound:
                return Decision(None)

        # A conflict: he kept being heard from, and stays present as he should.
        with contextlib.suppress(ConcurrencyConflict):
            self._run(None, lambda: _fingerprint("driver_unreachable", driver_id), decide)

    def driver_state(self, driver_id: str) -> DriverState:
        """Where a driver stands: his status, his live offer (as it would be sent now, with
        the time left), the order of that offer or the one he drives."""
        check_id(driver_id, "driver_id", self._id_max())
        return self._drivers.state(driver_id, self.clock.now())

    def driver_card(self, driver_id: str) -> DriverCard:
        """Who the driver is, as his customer sees him: the host's data (name, phone,
        vehicle, plate) and the rating his customers gave him."""
        check_id(driver_id, "driver_id", self._id_max())
        return self._ctx.card(driver_id)

    def ride_progress(self, actor: Actor, order_id: str) -> RideProgress:
        """The live tracks of a ride (for its customer, driver, an operator)."""
        self._actor_and_order(actor, order_id)
        return self.progress.get(self._ctx.owned(actor, order_id).id)

    def _actor_and_order(self, actor: Actor, order_id: str) -> None:
        id_max = self._id_max()
        check_actor(actor, id_max)
        check_id(order_id, "order_id", id_max)

    # -- the customer's search -----------------------------------------------

    def search(self, pickup: LatLng, dropoff: LatLng) -> list[Availability]:
        """Vehicle types with available drivers within the search radius, with prices.

        Each line gives the number of drivers, the nearest one's distance
        and ETA, and the fare quote; types with no driver (or no tariff
        here) are left out; the lines come in the configured order of the
        vehicle types.  A pickup or drop-off outside every priced city is
        :class:`~vtc_dispatch.errors.OutOfServiceArea`.
        """
        return search(self._ctx, check_point(pickup, "pickup"), check_point(dropoff, "dropoff"))

    def count_available(self, at: LatLng) -> dict[str, int]:
        """Available drivers within the search radius of ``at``, per vehicle type (types with
        none left out), those silent for the presence timeout not counted."""
        check_point(at, "at")
        ctx = self._ctx
        return ctx.drivers.count_available(
            at, ctx.settings.search_radius_km, seen_since=ctx.heard_since(ctx.clock.now())
        )

    def payment_methods(self, at: LatLng) -> tuple[str, ...]:
        """Payment methods enabled where ``at`` is (its city's country)."""
        return self._ctx.payment_methods(check_point(at, "at"))

    # -- ordering and offers ---------------------------------------------------

    def create_order(
        self,
        customer_id: str,
        pickup: LatLng,
        dropoff: LatLng,
        vehicle_type: str,
        payment_method: str,
        *,
        supplements: Sequence[str] = (),
        merchant_id: str | None = None,
        goods_amount: Decimal | None = None,
        command_id: str | None = None,
    ) -> Order:
        """Order a ride: quote it, take the payment method, and start the search.

        The vehicle type's kind (:mod:`vtc_dispatch.kinds`) decides the
        order's lifecycle: a ride searches at once; a freight load is a
        draft until its shipper posts it (:meth:`post_load`); a delivery
        (``merchant_id`` required, ``goods_amount`` the merchant's price of
        the goods, carried and not priced) waits for its merchant
        (:meth:`merchant_update`).  Freight and delivery orders get a
        receiver's code (``delivery_code``) for the proof of delivery.

        The quote is the one ``search`` showed for this trip and type when
        it is at most ``quote_valid_s`` old (and no supplement is asked),
        else a new one.  WALLET holds the estimate on the customer's wallet
        (refused when the balance is short).  A customer has at most one
        active order; one no driver took (NO_DRIVER) is cancelled by the
        system, without a fee, in the same commit as the new order
        (:meth:`search_again` keeps it instead).  A drop-off outside every priced city is
        :class:`~vtc_dispatch.errors.OutOfServiceArea`.
        """
        limits = self._ctx.settings.limits
        self._ids(
            (customer_id, "customer_id"),
            (vehicle_type, "vehicle_type"),
            (payment_method, "payment_method"),
        )
        check_point(pickup, "pickup")
        check_point(dropoff, "dropoff")
        supplements = check_codes(
            supplements, "supplements", limits.id_max_chars, limits.supplements_max
        )
        check_optional_id(merchant_id, "merchant_id", limits.id_max_chars)
        if goods_amount is not None:
            check_amount(goods_amount, "goods_amount")
        args = (customer_id, pickup, dropoff, vehicle_type, payment_method, supplements)

        def decide(now: datetime) -> Decision:
            replaced = self._dispatching.replaced_order(customer_id, vehicle_type)
            created = self._dispatching.create_order(
                *args, now, merchant_id=merchant_id, goods_amount=goods_amount
            )
            if replaced is None:
                return created
            closed = self._trip.close_unserved(replaced, now)
            return Decision(created.result, closed.changes.merge(created.changes))

        extra = () if (merchant_id, goods_amount) == (None, None) else (merchant_id, goods_amount)
        return self._order(command_id, lambda: _fingerprint("create_order", *args, *extra), decide)

    def search_again(
        self, customer_id: str, order_id: str, *, command_id: str | None = None
    ) -> Order:
        """After NO_DRIVER, the customer tries again (drivers who refused are skipped)."""
        self._party_and_order(customer_id, "customer_id", order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("search_again", customer_id, order_id),
            lambda now: self._dispatching.search_again(customer_id, order_id, now),
        )

    def accept(self, driver_id: str, order_id: str, *, command_id: str | None = None) -> Order:
        """A driver accepts a live offer: the order is ACCEPTED, the other offers withdrawn.

        The driver who already holds the order gets it back (a retried accept).
        """
        self._party_and_order(driver_id, "driver_id", order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("accept", driver_id, order_id),
            lambda now: self._dispatching.accept(driver_id, order_id, now),
        )

    def reject(self, driver_id: str, order_id: str, *, command_id: str | None = None) -> Order:
        """A driver refuses a live offer; in sequential mode the next driver gets it."""
        self._party_and_order(driver_id, "driver_id", order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("reject", driver_id, order_id),
            lambda now: self._dispatching.reject(driver_id, order_id, now),
        )

    def submit_bid(
        self,
        driver_id: str,
        order_id: str,
        amount: Decimal,
        *,
        valid_for_s: float | None = None,
        command_id: str | None = None,
    ) -> Order:
        """An invited carrier bids (bidding mode); a new bid replaces the carrier's last one.

        Only carriers the pool invited bid (the others are refused, as an
        answer to no offer).  With ``valid_for_s`` the customer may take the
        bid for that long only; without, while the bidding lasts.
        """
        self._party_and_order(driver_id, "driver_id", order_id)
        if valid_for_s is not None:
            check_duration(valid_for_s, "valid_for_s")

        def decide(now: datetime) -> Decision:
            until = None if valid_for_s is None else now + timedelta(seconds=valid_for_s)
            return self._dispatching.submit_bid(driver_id, order_id, amount, now, until)

        extra = () if valid_for_s is None else (valid_for_s,)
        return self._order(
            command_id,
            lambda: _fingerprint("submit_bid", driver_id, order_id, amount, *extra),
            decide,
        )

    def accept_bid(
        self, customer_id: str, order_id: str, driver_id: str, *, command_id: str | None = None
    ) -> Order:
        """The customer takes a carrier's bid: that carrier gets the job at that price."""
        self._ids((customer_id, "customer_id"), (order_id, "order_id"), (driver_id, "driver_id"))
        return self._order(
            command_id,
            lambda: _fingerprint("accept_bid", customer_id, order_id, driver_id),
            lambda now: self._dispatching.accept_bid(customer_id, order_id, driver_id, now),
        )

    def expire_due(self, now: datetime | None = None, *, command_id: str | None = None) -> int:
        """Show staggered offers that are due, pass expired ones to the next drivers, and run
        the matching windows that are due (matching mode: their orders matched together).

        Idempotent and safe from several workers: a deadline is handled
        once; an order another worker keeps changing is left to the next
        call.  Each order of a window is committed on its own, so a race
        lost on one leaves the others matched.  Returns how many offers
        were shown or expired (a window's offers count as shown).  With a
        ``command_id``, each order's step is recorded under it: a replay
        (a scheduler retrying after a lost reply) handles only the orders
        the first call did not reach.  A ``now`` further than the settings'
        ``limits.clock_skew_s`` from the clock is refused.
        """
        clock_now = self.clock.now()
        at = (
            clock_now
            if now is None
            else check_now(now, clock_now, self._ctx.settings.limits.clock_skew_s)
        )
        if command_id is not None:
            check_command_id(command_id)
        handled = 0
        windows: dict[tuple[str, str], list[Order]] = {}
        for due in self.orders.with_live_offer(at):
            if due.waits_for_window(at):
                windows.setdefault((due.quote.city, due.vehicle_type), []).append(due)
                continue
            handled += self._handle_due(
                due.id, command_id, partial(self._dispatching.expire, due.id, at)
            )
        for window in windows.values():
            steps = self._dispatching.match_window(window, at)
            for before, step in zip(window, steps, strict=True):
                handled += self._handle_due(
                    before.id, command_id, self._window_step(before, step, at)
                )
        self._presence_due(at, command_id)
        return handled

    def _presence_due(self, at: datetime, command_id: str | None) -> None:
        """Drivers not heard from: silent after the presence timeout, offline later."""
        heard_since = self._ctx.heard_since(at)
        if heard_since is not None:
            for status in self.drivers.heard_before(heard_since, present=True, limit=_SWEEP):
                self._presence_step(command_id, "silent", status, at)
        offline_after_s = self._ctx.settings.offline_after_s
        if offline_after_s is not None:
            cutoff = at - timedelta(seconds=offline_after_s)
            for status in self.drivers.heard_before(cutoff, present=False, limit=_SWEEP):
                self._presence_step(command_id, "offline", status, at)

    def _presence_step(
        self, command_id: str | None, kind: str, status: DriverStatus, at: datetime
    ) -> None:
        driver_id = status.driver_id

        def decide(_: datetime) -> Decision:
            if kind == "silent":
                return self._drivers.silenced(status, at)
            return self._drivers.offline(driver_id, at, reason=SILENT, seen_at=status.seen_at)

        step_id = None if command_id is None else f"{command_id}/{kind}/{driver_id}"
        fingerprint = _fingerprint(f"presence {kind}", driver_id, status.seen_at)
        # Heard from meanwhile, or on a ride: left to the next call.
        with contextlib.suppress(ConcurrencyConflict, Forbidden):
            self._run(step_id, lambda: fingerprint, decide)

    def _window_step(
        self, before: Order, step: Step, at: datetime
    ) -> Callable[[], tuple[Decision, int]]:
        """The decision of one order of a window: the window's step, then (after a lost race)
        the order decided again alone."""
        decided = [step]

        def decide() -> tuple[Decision, int]:
            if decided:
                first = decided.pop()
                return Decision(first.order, step_changes(first, before)), first.handled
            return self._dispatching.match_again(before.id, at)

        return decide

    def _handle_due(
        self,
        order_id: str,
        command_id: str | None,
        decide: Callable[[], tuple[Decision, int]],
    ) -> int:
        """One due order's step committed (under ``command_id/order_id``); how many offers it
        showed or expired, 0 when other workers kept changing the order."""
        counted = 0

        def run(_: datetime) -> Decision:
            nonlocal counted
            decision, counted = decide()
            return decision

        step_id = None if command_id is None else f"{command_id}/{order_id}"
        try:
            self._run(step_id, lambda: _fingerprint("expire_due", order_id), run)
        except ConcurrencyConflict:
            return 0
        return counted

    # -- the trip --------------------------------------------------------------

    def arrived(
        self,
        driver_id: str,
        order_id: str,
        *,
        operator_id: str | None = None,
        command_id: str | None = None,
    ) -> Order:
        """The driver is at the pickup (within ``arrive_radius_km``, unless an operator says so)."""
        self._party_and_order(driver_id, "driver_id", order_id)
        check_optional_id(operator_id, "operator_id", self._id_max())
        return self._order(
            command_id,
            lambda: _fingerprint("arrived", driver_id, order_id, operator_id),
            lambda now: self._trip.arrived(driver_id, order_id, operator_id, now),
        )

    def start_trip(self, driver_id: str, order_id: str, *, command_id: str | None = None) -> Order:
        """The customer is on board: the trip (and its track) starts."""
        self._party_and_order(driver_id, "driver_id", order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("start_trip", driver_id, order_id),
            lambda now: self._trip.start(driver_id, order_id, now),
        )

    def complete_trip(
        self,
        driver_id: str,
        order_id: str,
        *,
        supplements: Sequence[str] = (),
        command_id: str | None = None,
    ) -> Order:
        """The trip ends: final fare from the recorded track, payment, driver free again.

        Distance is the length of the trip's plausible positions; duration
        runs from the start; waiting is the time between arrival and start;
        the route counts as changed when a position left the corridor or
        the trip ended outside it.  A wallet order's hold is captured in
        the same commit.
        """
        limits = self._ctx.settings.limits
        self._party_and_order(driver_id, "driver_id", order_id)
        supplements = check_codes(
            supplements, "supplements", limits.id_max_chars, limits.supplements_max
        )
        return self._order(
            command_id,
            lambda: _fingerprint("complete_trip", driver_id, order_id, supplements),
            lambda now: self._trip.complete(driver_id, order_id, supplements, now),
        )

    def settle_payment(self, order_id: str, *, command_id: str | None = None) -> Order:
        """Finish the wallet step of an order left ``SETTLING``.

        Stores without a unit of work of their own save an ended order
        before its wallet hold is captured (or released); when the wallet
        fails in between (``StorageUnavailable``), the order stays
        ``SETTLING`` with its hold, and this command (from a worker or an
        operator) does the rest.  Any other order is returned unchanged.
        """
        check_id(order_id, "order_id", self._id_max())
        return self._order(
            command_id,
            lambda: _fingerprint("settle_payment", order_id),
            lambda _: self._trip.settle(order_id),
        )

    def confirm_cash(
        self, driver_id: str, order_id: str, *, command_id: str | None = None
    ) -> Order:
        """The driver of an ended order says he was paid its amount due in cash: ``paid``.

        Refused (409) when the order is paid already (``AlreadyDone``), owes
        nothing yet, or is paid by wallet.  A failed mobile-money payment may
        end in cash.
        """
        self._party_and_order(driver_id, "driver_id", order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("confirm_cash", driver_id, order_id),
            lambda _: self._payments.confirm_cash(driver_id, order_id),
        )

    def mark_paid(self, actor: Actor, order_id: str, *, command_id: str | None = None) -> Order:
        """An operator marks an ended order paid (its amount due), whatever its method:
        the money came another way.  Refused to anyone but an overseer (``Forbidden``)
        and for an order paid already (``AlreadyDone``)."""
        self._actor_and_order(actor, order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("mark_paid", actor, order_id),
            lambda _: self._payments.mark_paid(actor, order_id),
        )

    def payment_started(
        self, customer_id: str, order_id: str, *, command_id: str | None = None
    ) -> Order:
        """The customer's mobile-money provider was asked for the amount due: ``processing``
        until its callback (:meth:`payment_result`).  The order's method must be mobile
        money (:data:`vtc_dispatch.payments.MOBILE_MONEY`) and its payment pending, failed, or
        processing (the provider could not be reached: the customer tries again)."""
        self._party_and_order(customer_id, "customer_id", order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("payment_started", customer_id, order_id),
            lambda _: self._payments.started(customer_id, order_id),
        )

    def payment_result(
        self, method: str, outcome: PaymentOutcome, *, command_id: str | None = None
    ) -> Order:
        """A provider's callback for an order paid by ``method``: ``paid`` (``partially_paid``
        when short) or ``failed``.  A callback for an order paid already, or a failure
        after a success, changes nothing; one in another currency is refused."""
        method, outcome = check_outcome(method, outcome, self._id_max())
        return self._order(
            command_id,
            lambda: _fingerprint("payment_result", method, outcome),
            lambda _: self._payments.result(method, outcome),
        )

    def cancel(
        self, actor: Actor, order_id: str, reason: str, *, command_id: str | None = None
    ) -> Order:
        """Cancel, by an actor the state allows (see :data:`vtc_dispatch.fsm.RIDE`).

        Live offers are withdrawn, the driver is freed, and the
        cancellation fee of the pricing policy is charged (from the wallet
        hold, or left pending).  The reason is a non-blank text of at most
        the settings' ``limits.text_max_chars``.
        """
        self._actor_and_order(actor, order_id)
        check_text(reason, "reason", self._ctx.settings.limits.text_max_chars)
        return self._order(
            command_id,
            lambda: _fingerprint("cancel", actor, order_id, reason),
            lambda now: self._trip.cancel(actor, order_id, reason, now),
        )

    # -- freight and delivery ---------------------------------------------------

    def post_load(self, actor: Actor, order_id: str, *, command_id: str | None = None) -> Order:
        """The shipper (or an operator) posts a freight draft: it goes to the market
        (``posted``) and the pool invites carriers to bid (``bidding``)."""
        self._actor_and_order(actor, order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("post_load", actor, order_id),
            lambda now: self._kinds.post(actor, order_id, now),
        )

    def merchant_update(
        self, actor: Actor, order_id: str, event: str, *, command_id: str | None = None
    ) -> Order:
        """A delivery's merchant (or an operator) reports its state: ``confirm``,
        ``prepare`` or ``mark_ready``; once ready, a rider is searched for."""
        self._actor_and_order(actor, order_id)
        if event not in MERCHANT_EVENTS:
            raise refused("event", f"one of {', '.join(MERCHANT_EVENTS)}", event)
        return self._order(
            command_id,
            lambda: _fingerprint("merchant_update", actor, order_id, event),
            lambda now: self._kinds.merchant(actor, order_id, event, now),
        )

    def depart(self, driver_id: str, order_id: str, *, command_id: str | None = None) -> Order:
        """The goods are on board (freight ``picked_up``, delivery ``picked_up``): the driver
        leaves the pickup (``in_transit``, ``on_the_way``)."""
        self._party_and_order(driver_id, "driver_id", order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("depart", driver_id, order_id),
            lambda now: self._kinds.depart(driver_id, order_id, now),
        )

    def deliver(
        self,
        driver_id: str,
        order_id: str,
        proof: ProofOfDelivery,
        *,
        command_id: str | None = None,
    ) -> Order:
        """The assigned driver delivers, with a proof (freight, delivery): the order ends as
        a trip does (final fare, payment, driver free) with the proof kept.

        The proof must be taken within the settings' ``proof_radius_km`` of
        the destination, after the pickup, carry the receiver's code
        (``delivery_code``) and, for freight, a photo or signature reference
        (:func:`vtc_dispatch.commands.kinds.check_proof`); otherwise
        :class:`~vtc_dispatch.errors.InvalidTransition` says why.
        """
        self._party_and_order(driver_id, "driver_id", order_id)
        proof = check_proof_input(proof, self._ctx.settings.limits.text_max_chars)
        return self._order(
            command_id,
            lambda: _fingerprint("deliver", driver_id, order_id, proof),
            lambda now: self._kinds.deliver(driver_id, order_id, proof, now),
        )

    def confirm_delivery(
        self, actor: Actor, order_id: str, *, command_id: str | None = None
    ) -> Order:
        """The shipper confirms receipt of a delivered load (``completed``)."""
        self._actor_and_order(actor, order_id)
        return self._order(
            command_id,
            lambda: _fingerprint("confirm_delivery", actor, order_id),
            lambda now: self._kinds.receipt(actor, order_id, "confirm", None, now),
        )

    def dispute(
        self, actor: Actor, order_id: str, reason: str, *, command_id: str | None = None
    ) -> Order:
        """The shipper contests a delivered load (``disputed``); only after its delivery."""
        self._actor_and_order(actor, order_id)
        check_text(reason, "reason", self._ctx.settings.limits.text_max_chars)
        return self._order(
            command_id,
            lambda: _fingerprint("dispute", actor, order_id, reason),
            lambda now: self._kinds.receipt(actor, order_id, "dispute", reason, now),
        )

    def resolve_dispute(
        self, operator_id: str, order_id: str, reason: str, *, command_id: str | None = None
    ) -> Order:
        """An operator settles a dispute (``resolved``)."""
        self._ids((operator_id, "operator_id"), (order_id, "order_id"))
        check_text(reason, "reason", self._ctx.settings.limits.text_max_chars)
        actor = Actor.operator(operator_id)
        return self._order(
            command_id,
            lambda: _fingerprint("resolve_dispute", operator_id, order_id, reason),
            lambda now: self._kinds.receipt(actor, order_id, "resolve", reason, now),
        )

    def route(self, actor: Actor, order_id: str) -> dict[str, Any]:
        """The order's planned and actual routes as GeoJSON
        (:func:`vtc_dispatch.presentation.route_geojson`), for whoever may see the order."""
        return route_geojson(*self._tracked(actor, order_id))

    def pings(self, actor: Actor, order_id: str) -> dict[str, Any]:
        """Every GPS position recorded on the order, the set-aside ones flagged
        (:func:`vtc_dispatch.presentation.order_pings`), for whoever may see the order."""
        return order_pings(*self._tracked(actor, order_id))

    def _tracked(self, actor: Actor, order_id: str) -> tuple[Order, RideProgress | None]:
        """The order, if ``actor`` may see it, and its live progress while a driver is on it."""
        self._actor_and_order(actor, order_id)
        order = self._ctx.owned(actor, order_id)
        progress = self.progress.get(order.id) if order.phase in _DRIVING_PHASES else None
        return order, progress

    def drivers_near(
        self, at: LatLng, radius_km: float, vehicle_types: Sequence[str], *, limit: int = 50
    ) -> list[tuple[DriverStatus, float]]:
        """Available drivers (carriers, riders) of ``vehicle_types`` within ``radius_km`` of
        ``at``, nearest first, with their distance in km; silent ones left out."""
        check_point(at, "at")
        check_radius(radius_km)
        types = check_codes(vehicle_types, "vehicle_types", self._id_max(), 100)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 500:
            raise refused("limit", "an integer from 1 to 500", limit)
        ctx = self._ctx
        found = ctx.drivers.nearest_available(
            at, limit, radius_km, tuple(types), seen_since=ctx.heard_since(ctx.clock.now())
        )
        return [(ctx.drivers.get(driver_id), km) for driver_id, km in found]

    def rate(
        self,
        actor: Actor,
        order_id: str,
        stars: int,
        comment: str | None = None,
        *,
        command_id: str | None = None,
    ) -> Order:
        """Rate the other side of a finished ride, once per side, 1 to 5 stars.

        The comment is at most the settings' ``limits.text_max_chars`` long.
        """
        self._actor_and_order(actor, order_id)
        check_rating(stars, comment, self._ctx.settings.limits.text_max_chars)
        return self._order(
            command_id,
            lambda: _fingerprint("rate", actor, order_id, stars, comment),
            lambda now: self._trip.rate(actor, order_id, stars, comment, now),
        )

    # -- queries ---------------------------------------------------------------

    def customer_rating(self, customer_id: str) -> float | None:
        """Average stars drivers gave this customer (``None`` before the first)."""
        check_id(customer_id, "customer_id", self._id_max())
        total, count = self.ratings.totals(customer_id)
        return total / count if count else None

    def get_order(self, actor: Actor, order_id: str) -> Order:
        """An order, for its customer, its driver (or a driver it is offered to), an
        operator or the system."""
        self._actor_and_order(actor, order_id)
        return self._ctx.owned(actor, order_id, offered=True)

    def current_order(self, actor: Actor) -> Order | None:
        """The active order of a driver or customer, if any (an overseer has none)."""
        self._party(actor)
        found = self.orders.find(actor.role, actor.id, active=True, limit=1)
        return found[0] if found else None

    def history(self, actor: Actor, *, page: int = 1, page_size: int = 20) -> list[Order]:
        """A driver's or customer's orders, newest first, by pages of 1 to 100."""
        self._party(actor)
        page, page_size = check_page(page, page_size)
        return self.orders.find(
            actor.role, actor.id, offset=(page - 1) * page_size, limit=page_size
        )

    def dashboard(
        self, actor: Actor, period: str | tuple[date | None, date | None] = "7d"
    ) -> DriverDashboard | CustomerDashboard:
        """A driver's or a customer's figures over ``period`` (:mod:`vtc_dispatch.dashboards`).

        ``period`` is ``today``, ``7d``, ``30d`` or ``(from_day, to_day)`` (``None``: today
        for ``to_day``, ``to_day`` for ``from_day``), whole days in
        the local time of the party's city (his last order's; a driver's position's
        before his first order); :class:`~vtc_dispatch.errors.InvalidPeriod` otherwise.
        Only customers and drivers have one (Forbidden for the others).

        >>> from datetime import UTC, datetime
        >>> from vtc_dispatch.memory import ManualClock
        >>> from vtc_dispatch.order import Actor
        >>> from vtc_dispatch.pricing import douala_config
        >>> service = DispatchService(pricing=douala_config(),
        ...     clock=ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC)))
        >>> board = service.dashboard(Actor.customer("chantal"), "today")
        >>> board.period.timezone, board.period.start.isoformat(), board.orders_placed
        ('Africa/Douala', '2026-11-21T00:00:00+01:00', 0)
        """
        self._party(actor)
        if actor.role not in (Role.CUSTOMER, Role.DRIVER):
            raise Forbidden(
                f"{actor.role} {shown(actor.id)} has no dashboard: only customers and drivers do"
            )
        now = self.clock.now()
        status = None
        if actor.role == Role.DRIVER:
            with contextlib.suppress(NotFound):
                status = self.drivers.get(actor.id)
        last = self.orders.find(actor.role, actor.id, limit=1)
        span = period_of(period, now, self._zone_of(last[0] if last else None, status))
        orders = orders_since(
            lambda offset, limit: self.orders.find(
                actor.role, actor.id, offset=offset, limit=limit
            ),
            span.start,
        )
        if actor.role == Role.CUSTOMER:
            total, count = self.ratings.totals(actor.id)
            return customer_dashboard(
                actor.id, span, orders=orders, overall_rating=RatingFigure(count, total)
            )
        return driver_dashboard(
            actor.id,
            span,
            orders=orders,
            activity=self.stats.activity(actor.id, span.start, max(span.end, now)),
            now=now,
            online=status is not None and status.online,
            overall_rating=RatingFigure()
            if status is None
            else RatingFigure(status.rating_count, status.rating_sum),
        )

    def _zone_of(self, order: Order | None, status: DriverStatus | None) -> tzinfo:
        """The time zone of the order's city, else of the city where the driver is, else of
        the first city configured."""
        cities = self.pricer.config.cities
        city = next(iter(cities))
        if order is not None:
            city = order.quote.city
        elif status is not None:
            with contextlib.suppress(DispatchError):
                city = self.pricer.city_at(status.position)
        zone = self.pricer.local_time(city, self.clock.now()).tzinfo
        assert zone is not None
        return zone

    def _party(self, actor: Actor) -> None:
        """``actor`` checked, and refused when it is an overseer: they have no orders."""
        check_actor(actor, self._id_max())
        if actor.oversees:
            raise Forbidden(
                f"{actor.role} {shown(actor.id)} has no orders of its own:"
                " only customers and drivers do"
            )


def _pricer(pricing: PricingConfig | Pricer, route_estimator: RouteEstimator | None) -> Pricer:
    if not isinstance(pricing, Pricer):
        return Pricer(pricing, route_estimator=route_estimator)
    if route_estimator is not None:
        raise ValueError("give the route_estimator to the Pricer that is passed in")
    return pricing


def _check_fix(fix: object, id_max: int) -> None:
    """A fix of a batch checked as :meth:`DispatchService.update_position` checks its arguments."""
    if not isinstance(fix, Fix):
        raise refused("fix", "a Fix", fix)
    check_id(fix.driver_id, "driver_id", id_max)
    check_point(fix.position, "position")
    if fix.at is not None:
        check_instant(fix.at, "at")
    if fix.accuracy_m is not None:
        check_accuracy(fix.accuracy_m)


def _fingerprint(name: str, *args: Any) -> str:
    return f"{name}{args!r}"
