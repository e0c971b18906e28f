"""Ports: the small interfaces through which the core reaches the outside world.

Each is a :class:`typing.Protocol`; its docstring says what an
implementation MUST and SHOULD do.  The in-memory defaults live beside the
code that uses them; adapters implement the same protocols.

>>> from vtc_dispatch.geo import LatLng
>>> estimate = StraightLineEstimator().estimate(LatLng(4.05, 9.70), LatLng(4.05, 9.80))
>>> round(estimate.distance_km, 2), round(estimate.duration_min, 1)
(14.42, 34.6)
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from vtc_dispatch.errors import InvalidArgument, NotFound, shown
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.routing import RouteEstimate, RouteEstimator, StraightLineEstimator

if TYPE_CHECKING:
    from pydantic import BaseModel

    from vtc_dispatch.changes import ChangeSet, Command, CommandRecord
    from vtc_dispatch.order import DriverCard, DriverStatus, Order, RideProgress
    from vtc_dispatch.payments import PaymentOutcome, PaymentRequest, PaymentStarted
    from vtc_dispatch.pool.stats import DriverStats, Outcome
    from vtc_dispatch.pricing.quote import FareQuote
    from vtc_dispatch.wire import Recipient

    Ride: TypeAlias = tuple[DriverStatus, Order | None, RideProgress | None]
    """A driver's status, the order it names and his ride's progress (see RideReader)."""

__all__ = [
    "Clock",
    "CommandLog",
    "DriverProfiles",
    "DriverRegistry",
    "Notifier",
    "OrderHistory",
    "OrderRepository",
    "PaymentProvider",
    "PortsRideReader",
    "ProgressStore",
    "QuoteBook",
    "RatingStore",
    "RideReader",
    "RouteEstimate",
    "RouteEstimator",
    "StatsStore",
    "StraightLineEstimator",
    "UnitOfWork",
    "Wallet",
    "check_limit",
    "check_page",
]


class Clock(Protocol):
    """The current time.

    MUST return an aware datetime (UTC recommended) that never goes
    backwards between two calls of one process.
    """

    def now(self) -> datetime:
        """The current instant."""
        ...


class OrderRepository(Protocol):
    """Where orders live.

    Orders are immutable records with a ``version``.  An implementation
    MUST make :meth:`save` atomic: it stores the order with
    ``version = expected_version + 1`` only if the stored version is still
    ``expected_version``, and otherwise raises
    :class:`~vtc_dispatch.errors.ConcurrencyConflict` and stores nothing.
    Backend failures MUST surface as
    :class:`~vtc_dispatch.errors.StorageUnavailable`, with nothing
    half-written.
    """

    def get(self, order_id: str) -> Order:
        """The stored order; :class:`~vtc_dispatch.errors.NotFound` if unknown."""
        ...

    def add(self, order: Order) -> Order:
        """Store a new order at version 1 and return it; ConcurrencyConflict if the id exists."""
        ...

    def save(self, order: Order, expected_version: int) -> Order:
        """Store ``order`` as the next version of ``expected_version`` and return it."""
        ...

    def find(
        self,
        role: str,
        party_id: str,
        *,
        active: bool | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> list[Order]:
        """Orders of a customer or driver (``role``), newest first.

        The arguments are checked by :func:`check_page` (InvalidArgument).

        ``active`` filters on :attr:`Order.is_active` (``None``: all).
        """
        ...

    def count(self, role: str, party_id: str) -> int:
        """How many orders :meth:`find` lists for a customer or driver (``role``), all of
        them (a page's total).  A role other than ``customer`` or ``driver`` is an
        :class:`~vtc_dispatch.errors.InvalidArgument`."""
        ...

    def with_live_offer(self, due_by: datetime) -> list[Order]:
        """Orders whose :attr:`Order.next_deadline` (an offer to show or to expire) is due."""
        ...

    def next_deadline(self) -> datetime | None:
        """The earliest :attr:`Order.next_deadline` of all orders, ``None`` if none."""
        ...

    def active_orders(self, *, limit: int = 1000) -> list[Order]:
        """Every order in an active state (:attr:`Order.is_active`), newest first, at most
        ``limit`` (checked by :func:`check_limit`): an operator's map of what is going on.

        An implementation SHOULD answer in proportion to the active orders, not to all
        the orders ever stored.
        """
        ...


def check_limit(limit: object) -> int:
    """The ``limit`` of a listing (:meth:`OrderRepository.active_orders`,
    :meth:`DriverRegistry.online_drivers`, a page), checked the same way by every store.

    >>> check_limit(20)
    20
    >>> check_limit(-1)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: limit must be an integer >= 0, got -1
    """
    return _count("limit", limit)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(f"{name} must be an integer >= 0, got {shown(value)}")
    return value


@runtime_checkable
class OrderHistory(Protocol):
    """Orders by when they were made: what the operator's reports read
    (:mod:`vtc_dispatch.reports`).

    Implemented beside :class:`OrderRepository` by the in-memory and the
    Django repositories.  :meth:`created_between` MUST yield every stored
    order (its current version) created in ``[start, end)``, oldest first
    (ties in any fixed order), and nothing else; it SHOULD read them in
    chunks rather than all at once.  Instants without a time zone are an
    :class:`~vtc_dispatch.errors.InvalidArgument`, raised at the call;
    backend failures surface as :class:`~vtc_dispatch.errors.StorageUnavailable`.
    """

    def created_between(self, start: datetime, end: datetime) -> Iterator[Order]:
        """The orders with ``start <= created_at < end``, oldest first."""
        ...


def check_page(role: str, offset: int, limit: int) -> None:
    """The arguments of :meth:`OrderRepository.find`, checked the same way by every repository.

    >>> check_page("customer", 0, 20)
    >>> check_page("operator", 0, 20)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: role must be 'customer' or 'driver', got 'operator'
    """
    if role not in ("customer", "driver"):
        raise InvalidArgument(f"role must be 'customer' or 'driver', got {shown(role)}")
    _count("offset", offset)
    _count("limit", limit)


class ProgressStore(Protocol):
    """The live progress of rides (tracks, notification marks), one record per order.

    Written at every GPS fix, so an implementation SHOULD make :meth:`save`
    cheap; it MUST be atomic with the same optimistic rule as
    :meth:`OrderRepository.save`, raising
    :class:`~vtc_dispatch.errors.ConcurrencyConflict` on a stale version.
    """

    def get(self, order_id: str) -> RideProgress:
        """The stored progress, or a new empty one (version 0) if none."""
        ...

    def save(self, progress: RideProgress, expected_version: int) -> RideProgress:
        """Store ``progress`` as the next version of ``expected_version`` and return it."""
        ...

    def discard(self, order_id: str) -> None:
        """Forget the progress of a ride that ended."""
        ...


class DriverRegistry(Protocol):
    """Drivers' state, vehicle type and position; the available ones are indexed.

    An implementation MUST keep exactly the available drivers
    (:attr:`DriverStatus.available`) in its spatial index, so that
    :meth:`nearest_available` and :meth:`count_available` never return a
    driver who is offline, on an order, blocked or not present.  Given
    ``seen_since``, they MUST also leave out every driver last heard from
    (:attr:`DriverStatus.seen_at`) before it, even one still marked present:
    the service marks silent drivers in batches, and no offer may reach a
    phone that went quiet in between.  An implementation SHOULD keep the
    online drivers ordered by ``seen_at`` so that :meth:`heard_before` and
    these filters cost in proportion to the drivers they concern, not to all.
    """

    def get(self, driver_id: str) -> DriverStatus:
        """The driver's status; :class:`~vtc_dispatch.errors.NotFound` if never seen."""
        ...

    def put(self, status: DriverStatus) -> None:
        """Store the status, indexing the driver iff it is available."""
        ...

    def nearest_available(
        self,
        point: LatLng,
        k: int,
        max_km: float,
        vehicle_types: Collection[str] | None = None,
        exclude: Collection[str] = (),
        *,
        seen_since: datetime | None = None,
    ) -> list[tuple[str, float]]:
        """Available drivers by distance, as :meth:`DriverIndex.nearest` (heard from since
        ``seen_since`` when given)."""
        ...

    def count_available(
        self,
        point: LatLng,
        max_km: float,
        *,
        cap: int | None = None,
        seen_since: datetime | None = None,
    ) -> dict[str, int]:
        """Available drivers within ``max_km``, per vehicle type (types with none left out).

        With ``cap``, each count MUST be ``min(exact count, cap)``; an
        implementation SHOULD use the cap to stop counting early.  With
        ``seen_since``, drivers last heard from before it are not counted.
        """
        ...

    def heard_before(
        self, before: datetime, *, present: bool, limit: int = 500
    ) -> list[DriverStatus]:
        """Online drivers last heard from before ``before``, the longest silent first, at most
        ``limit``: those still present (``present=True``: to be marked silent), or those
        already not present and holding no order (``present=False``: to be put offline)."""
        ...

    def online_drivers(self, *, limit: int = 10_000) -> list[DriverStatus]:
        """Every online driver, present or not, the most recently heard from first, at most
        ``limit`` (checked by :func:`~vtc_dispatch.ports.check_limit`): an operator's map
        of the fleet.  It SHOULD cost in proportion to the online drivers, not to every
        driver ever seen."""
        ...

    def reserve(self, driver_id: str, order_id: str) -> bool:
        """Give ``order_id`` to the driver if it is available; tell whether it was.

        MUST be atomic: of several workers reserving one driver at once,
        exactly one succeeds.  A reserved driver is no longer available.
        """
        ...

    def release(self, driver_id: str, order_id: str) -> None:
        """Free the driver if it is held by ``order_id`` (and only then), atomically."""
        ...


class DriverProfiles(Protocol):
    """Who the drivers are (name, phone, vehicle, plate): the host's data, for customers.

    Read when a driver accepts an order (the ``driver_assigned`` message)
    and when an order is shown, so an implementation SHOULD answer in one
    quick read.  It MUST return ``None`` for a driver it does not know
    (the customer then sees the driver's id and rating only).
    """

    def card(self, driver_id: str) -> DriverCard | None:
        """The driver's card (its ``rating`` is ignored: the service sets it)."""
        ...


class StatsStore(Protocol):
    """What each driver did with the offers made (ranking, operators' screens).

    :class:`~vtc_dispatch.pool.StatsBook` is the in-memory one.  An
    implementation shared by several workers MUST count every
    :meth:`record` exactly once.  It MUST keep every recorded outcome but
    ``offered`` with its time in the driver's activity for at least
    :data:`~vtc_dispatch.pool.stats.ACTIVITY_KEPT` (the dashboards' periods)
    and MAY forget it after.
    """

    def record(self, driver_id: str, outcome: Outcome, at: datetime) -> None:
        """Count one outcome of an offer, or note that the driver went ``online`` or
        ``offline`` (activity only); ValueError for an unknown outcome
        (:func:`~vtc_dispatch.pool.stats.check_outcome`)."""
        ...

    def get(self, driver_id: str) -> DriverStats:
        """The driver's statistics (all zero for a driver never offered anything)."""
        ...

    def activity(
        self, driver_id: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, str]]:
        """The driver's recorded outcomes but ``offered``, at instants in ``[since, until)``,
        oldest first, as ``(at, outcome)``."""
        ...


class RatingStore(Protocol):
    """Stars given to customers by drivers, summed per customer.

    An implementation MUST add atomically (two ratings at once both count).
    """

    def add(self, party_id: str, stars: int) -> None:
        """Count one rating of ``stars`` for ``party_id``."""
        ...

    def totals(self, party_id: str) -> tuple[int, int]:
        """The sum of stars and the number of ratings, ``(0, 0)`` before the first."""
        ...


class Notifier(Protocol):
    """Delivers wire messages to a driver, a customer or an order's watchers.

    An implementation SHOULD NOT block the caller for long (queue and
    return) and MUST NOT raise for a recipient who is not connected: the
    message is for whoever listens.  A transport failure MAY raise
    :class:`~vtc_dispatch.errors.DispatchError` subclasses; the service
    has already saved its state by then.
    """

    def send(self, recipient: Recipient, message: BaseModel) -> None:
        """Deliver one message."""
        ...


class Wallet(Protocol):
    """The customer's in-app wallet.

    Amounts are Decimals in ``currency``.  :meth:`hold` MUST refuse with
    :class:`~vtc_dispatch.errors.PaymentRefused` when the free balance is
    short, and MUST be atomic with respect to other holds.

    Every method that moves money takes ``op_id``: a call with an op id
    MUST move money at most once, recording the op id with the move
    atomically; the same call again (same op id, same arguments) MUST
    return the first call's result and move nothing, also when the first
    call's reply was lost; the same op id with other arguments MUST raise
    :class:`~vtc_dispatch.errors.IdempotencyConflict`.  A refused call
    records nothing.  :mod:`vtc_dispatch.wallet_ops` has the shared rules.
    """

    def credit(
        self, customer_id: str, amount: Decimal, currency: str, *, op_id: str | None = None
    ) -> None:
        """Top up a wallet by ``amount`` > 0 (the host's payment flow calls this)."""
        ...

    def balance(self, customer_id: str, currency: str) -> Decimal:
        """Free balance (not held)."""
        ...

    def hold(
        self,
        customer_id: str,
        amount: Decimal,
        currency: str,
        reference: str,
        *,
        op_id: str | None = None,
    ) -> str:
        """Reserve ``amount``; returns a hold id (:func:`~vtc_dispatch.wallet_ops.hold_id_for`
        of ``op_id`` when one is given)."""
        ...

    def capture(self, hold_id: str, amount: Decimal, *, op_id: str | None = None) -> Decimal:
        """Take ``amount`` from the hold (and from the free balance beyond it).

        Releases whatever is left of the hold; returns what was taken,
        which is less than ``amount`` when the balance did not cover it.
        """
        ...

    def release(self, hold_id: str, *, op_id: str | None = None) -> None:
        """Give the held amount back to the free balance."""
        ...


class RideReader(Protocol):
    """Reads a driver and the ride he is on together: what every GPS fix needs.

    An implementation MUST answer as the three ports would (the driver's
    status, the order that holds him if any, and that order's progress when
    he is its assigned driver), and SHOULD read them in one round trip: a
    fix comes every few seconds from every online driver.

    It MAY answer a ride in course as it last read or wrote it: the
    commands that read a ride state the versions they read
    (:class:`~vtc_dispatch.changes.RideRead`) and the commit refuses them
    when the ride moved.  A command refused by its own decision (an
    arrival from a state that has changed since) never reaches the commit,
    so the runner then asks :meth:`refresh` and, when it says so, decides
    once more on fresh reads.
    """

    def ride_of(self, driver_id: str) -> tuple[DriverStatus, Order | None, RideProgress | None]:
        """The status, the order it names (``None``: none) and the progress of the
        driver's own ride (``None`` unless he is that order's driver);
        :class:`~vtc_dispatch.errors.NotFound` for a driver never seen."""
        ...

    def rides_of(self, driver_ids: Sequence[str]) -> list[Ride | NotFound]:
        """:meth:`ride_of` of each driver, in order (a driver never seen: the
        :class:`~vtc_dispatch.errors.NotFound` at his place); SHOULD read them all
        in one round trip (a batch of fixes).

        It MAY also answer an idle driver (online, on no order) as it read
        him earlier, position and times included, if this thread's next
        commit then refuses (:class:`~vtc_dispatch.errors.ConcurrencyConflict`)
        should he have been taken or put offline since: a fix of an idle
        driver is decided on nothing else, and a batch of fixes writes each
        of its drivers."""
        ...

    def order(self, order_id: str) -> Order:
        """The order as :meth:`OrderRepository.get` answers it, or as this process last
        stored it when it kept it (a ride that ended, for its ratings): only for a command
        that writes the order from the version it read, which its commit checks."""
        ...

    def refresh(self) -> bool:
        """Forget the rides and orders this thread was answered from memory since the last
        call; whether there were any (``False`` for a reader that always reads)."""
        ...


class PortsRideReader:
    """A :class:`RideReader` over the three ports, one read each (the default)."""

    def __init__(
        self, drivers: DriverRegistry, orders: OrderRepository, progress: ProgressStore
    ) -> None:
        self.drivers, self.orders, self.progress = drivers, orders, progress

    def ride_of(self, driver_id: str) -> tuple[DriverStatus, Order | None, RideProgress | None]:
        """See :class:`RideReader`."""
        status = self.drivers.get(driver_id)
        if status.order_id is None:
            return status, None, None
        order = self.orders.get(status.order_id)
        if order.driver_id != driver_id:
            return status, order, None
        return status, order, self.progress.get(order.id)

    def rides_of(self, driver_ids: Sequence[str]) -> list[Ride | NotFound]:
        """See :class:`RideReader`."""
        rides: list[Ride | NotFound] = []
        for driver_id in driver_ids:
            try:
                rides.append(self.ride_of(driver_id))
            except NotFound as exc:
                rides.append(exc)
        return rides

    def order(self, order_id: str) -> Order:
        """See :class:`RideReader`."""
        return self.orders.get(order_id)

    def refresh(self) -> bool:
        """See :class:`RideReader`: this reader always reads."""
        return False


class CommandLog(Protocol):
    """What the commands that carried a ``command_id`` did, for their replays.

    An implementation MUST keep a record at least as long as a client may
    retry (minutes; a day is a safe default) and MAY forget it after.
    """

    def get(self, command_id: str) -> CommandRecord | None:
        """The record of ``command_id``, ``None`` if unknown (or forgotten)."""
        ...

    def put(self, record: CommandRecord) -> None:
        """Keep ``record`` (called by the unit of work, inside its commit)."""
        ...


class UnitOfWork(Protocol):
    """Stores a command's :class:`~vtc_dispatch.changes.ChangeSet` whole or not at all.

    An implementation MUST check every expectation of the change set (order
    and progress versions, drivers still available to reserve, a wallet
    still covering a hold or a capture) and, when one fails, raise
    :class:`~vtc_dispatch.errors.ConcurrencyConflict` (a short wallet for a
    hold: :class:`~vtc_dispatch.errors.PaymentRefused`) having written
    nothing.  It MUST NOT free a driver unless the order version that frees
    him is stored with it, and MUST store the record of ``command`` (when
    given) with the change set, so that a replay of the command finds it.  A backend that
    cannot tell whether the commit happened raises
    :class:`~vtc_dispatch.errors.StorageUnavailable`; the command's retry
    with the same ``command_id`` is then safe.
    """

    commands: CommandLog

    def commit(self, changes: ChangeSet, *, command: Command | None = None) -> dict[str, Order]:
        """Store ``changes``; returns the orders written, as stored (their new versions).

        A ``command`` whose id is already recorded is a conflict (another
        worker ran it meanwhile): the caller replays the record.
        """
        ...


class QuoteBook(Protocol):
    """The quotes a customer was shown at search, for the order placed right after.

    Shared by every worker (an order placed on another worker than the
    search gets the price that was shown).  An implementation MAY forget a
    quote after ``ttl_s`` seconds.
    """

    def remember(self, key: str, quote: FareQuote, ttl_s: float) -> None:
        """Keep ``quote`` under ``key`` for at least ``ttl_s`` seconds."""
        ...

    def recall(self, key: str) -> FareQuote | None:
        """The quote kept under ``key``, ``None`` if none."""
        ...


class PaymentProvider(Protocol):
    """A mobile-money operator's API (Orange Money, MTN MoMo, Wave, Free Money, M-Pesa,
    Airtel Money): asks a customer's phone for a fare, and reads the operator's callback.

    One provider per payment method (``method``: ``OM``, ``MOMO``, ``WAVE``,
    ``FREE_MONEY``, ``MPESA``, ``AIRTEL_MONEY``).  The service never calls
    it: the host calls :meth:`start` outside any transaction, records the
    start with ``DispatchService.payment_started``, and hands each callback
    to :meth:`read_callback` then ``DispatchService.payment_result``.
    :class:`vtc_dispatch.payments.FakeProvider` is the in-memory one.

    A real provider MUST: send ``request.order_id`` as the merchant's
    reference of the transaction (it comes back in the callback) and the
    amount in the currency's units; raise
    :class:`~vtc_dispatch.errors.PaymentRefused` when the operator refuses
    the request outright and :class:`~vtc_dispatch.errors.TransportUnavailable`
    when it cannot be reached (the host may retry: the operator's own
    idempotency key SHOULD be derived from the order id); in
    :meth:`read_callback`, check the callback's authenticity (the operator's
    signature, shared secret or token: each documents its own) before
    reading anything, raise :class:`~vtc_dispatch.payments.InvalidSignature`
    for a callback that fails it and :class:`~vtc_dispatch.payments.InvalidCallback`
    for one that cannot be read.
    """

    method: str

    def start(self, request: PaymentRequest) -> PaymentStarted:
        """Ask ``request.phone`` to pay ``request.amount``; the operator's reference."""
        ...

    def read_callback(self, body: bytes, signature: str | None) -> PaymentOutcome:
        """The outcome an authentic callback (``body`` as received, the ``signature``
        header) reports; :class:`~vtc_dispatch.payments.InvalidSignature` or
        :class:`~vtc_dispatch.payments.InvalidCallback` otherwise."""
        ...
