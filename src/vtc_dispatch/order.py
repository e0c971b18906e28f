"""The records the service keeps: orders, drivers, ratings (attrs frozen, replaced on change).

An :class:`Order` is immutable: every command builds the next version with
:func:`attrs.evolve`, and the repository stores it only if nobody saved
another version in between (optimistic concurrency, ``version``).

Orders and ride progress are stored by :mod:`vtc_dispatch.codec`: a new
field takes a default here and one line in the codec's table of added
fields, and records stored before it read with that default (see the
codec's docstring and ``docs/storage.md``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import attrs

from vtc_dispatch._records import evolve
from vtc_dispatch.errors import InvalidArgument, shown
from vtc_dispatch.fsm import Lifecycle, RideState, Role
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.kinds import (
    ACTIVE_STATES,
    DRIVING_STATES,
    KINDS,
    KindSpec,
    OrderKind,
    kind_of_machine,
)
from vtc_dispatch.pricing.quote import FareQuote, FinalFare, PriceChange
from vtc_dispatch.tracking import Track

__all__ = [
    "ACTIVE_STATES",
    "ACTOR_ROLES",
    "DRIVING_STATES",
    "FIX_ACCEPTED",
    "OVERSEERS",
    "Actor",
    "Bid",
    "Cancellation",
    "DriverCard",
    "DriverStatus",
    "Fix",
    "LiveOffer",
    "Order",
    "OrderKind",
    "PaymentStatus",
    "PositionAnswer",
    "Presence",
    "ProofOfDelivery",
    "Rating",
    "RideProgress",
]

ACTOR_ROLES = frozenset(Role(role) for spec in KINDS.values() for role in spec.machine.roles)
"""The roles an :class:`Actor` may have: those of the kinds' machines (customer,
driver, merchant, operator, system)."""
OVERSEERS = frozenset({Role.OPERATOR, Role.SYSTEM})
"""The roles with an operator's powers: they see every order and its live
track, and cancel any order in the states :data:`~vtc_dispatch.fsm.RIDE`
lets them.  They place no order, drive none and rate none."""


def _actor_role(role: str) -> Role:
    # Exact values only: "Customer" or "" must not pass for anyone, least of all an operator.
    if isinstance(role, str) and role in ACTOR_ROLES:
        return Role(role)
    raise InvalidArgument(
        f"role must be one of {', '.join(sorted(ACTOR_ROLES))}, got {shown(role)}",
        argument="role",
    )


@attrs.frozen
class Actor:
    """Who does something: a role (:data:`ACTOR_ROLES`) and an id.

    The role is a :class:`~vtc_dispatch.fsm.Role`; its text is accepted and
    converted, any other value refused.

    >>> Actor("customer", "chantal").role is Role.CUSTOMER
    True
    >>> Actor("Customer", "chantal")
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: role must be one of customer, driver, merchant, operator, system, got 'Customer'
    """  # noqa: E501

    # Shown as its text, as before it was an enum: command fingerprints quote actors.
    role: Role = attrs.field(converter=_actor_role, repr=lambda role: repr(role.value))
    id: str

    @property
    def oversees(self) -> bool:
        """Whether the actor has an operator's powers (:data:`OVERSEERS`).

        >>> Actor.operator("ops-1").oversees, Actor.customer("chantal").oversees
        (True, False)
        """
        return self.role in OVERSEERS

    @classmethod
    def customer(cls, customer_id: str) -> Actor:
        return cls(Role.CUSTOMER, customer_id)

    @classmethod
    def driver(cls, driver_id: str) -> Actor:
        return cls(Role.DRIVER, driver_id)

    @classmethod
    def operator(cls, operator_id: str) -> Actor:
        return cls(Role.OPERATOR, operator_id)

    @classmethod
    def merchant(cls, merchant_id: str) -> Actor:
        return cls(Role.MERCHANT, merchant_id)


class PaymentStatus(StrEnum):
    """Where the money of an order stands."""

    NONE = "none"
    """Nothing to pay yet (before the end of the trip, no wallet hold)."""
    HELD = "held"
    """The estimate is held on the customer's wallet."""
    PENDING = "pending"
    """To be collected (cash, mobile money) by the host."""
    PROCESSING = "processing"
    """A mobile-money provider asked the customer to pay; its callback is awaited."""
    FAILED = "failed"
    """The mobile-money payment failed (refused, timed out): still to be collected."""
    PAID = "paid"
    """Captured from the wallet."""
    PARTIALLY_PAID = "partially_paid"
    """The wallet did not cover everything; the rest is pending."""
    RELEASED = "released"
    """The hold was released (cancelled order, nothing due)."""
    SETTLING = "settling"
    """The order is over and saved; the wallet hold is being captured or
    released (see :meth:`~vtc_dispatch.service.DispatchService.settle_payment`)."""


@attrs.frozen
class Rating:
    """Stars (1-5) given by one side of a finished order about the other."""

    by: Actor
    about_id: str
    stars: int
    comment: str | None
    at: datetime


@attrs.frozen
class Cancellation:
    """Who cancelled, why, and what it cost."""

    by: Actor
    reason: str
    fee: Decimal
    at: datetime


@attrs.frozen
class Bid:
    """A carrier's price for the job (bidding mode), valid until ``valid_until`` when given."""

    driver_id: str
    amount: Decimal
    at: datetime
    valid_until: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        """Whether the customer may still take this bid at ``now``."""
        return self.valid_until is None or now < self.valid_until


@attrs.frozen
class ProofOfDelivery:
    """What the driver shows at the destination: where and when, and what proves it.

    ``reference`` names a photo or a signature the host stored (this
    library keeps the reference, never the image); ``code`` is the code
    the receiver gave; ``position`` and ``at`` are where and when the proof
    was taken (checked to be near the destination).

    >>> from datetime import UTC, datetime
    >>> ProofOfDelivery(LatLng(14.69, -17.44), datetime(2026, 3, 1, tzinfo=UTC),
    ...                 code="482913").reference is None
    True
    """

    position: LatLng
    at: datetime
    code: str | None = None
    reference: str | None = None


@attrs.frozen
class LiveOffer:
    """The order offered to one driver, waiting for the answer.

    In batch mode with a stagger, an offer may be made (the driver is
    reserved) before it is shown: ``shown`` turns true at ``sent_at``.
    """

    driver_id: str
    distance_km: float
    sent_at: datetime
    expires_at: datetime
    shown: bool = True


@attrs.frozen
class Order:
    """One order (a ride, a freight load, a delivery), from the quote to the ratings.

    Its kind is its lifecycle's machine (:attr:`kind`); the shared commands
    read its :attr:`phase`.
    """

    id: str
    customer_id: str
    vehicle_type: str
    pickup: LatLng
    dropoff: LatLng
    payment_method: str
    quote: FareQuote
    lifecycle: Lifecycle
    created_at: datetime
    version: int = 0
    driver_id: str | None = None
    offers: tuple[LiveOffer, ...] = ()
    """The live offers, best ranked first (one in sequential mode)."""
    offers_made: int = 0
    bids: tuple[Bid, ...] = ()
    """Bids of the invited carriers still in the running (bidding mode)."""
    agreed_price: Decimal | None = None
    """The accepted bid: the price of the ride, instead of the meter."""
    tried: frozenset[str] = frozenset()
    """Drivers who refused, let the offer expire or withdrew: not offered again."""
    approach: Track = attrs.field(factory=Track)
    """The driver's positions on the way to the pickup, once the ride is over."""
    trip: Track = attrs.field(factory=Track)
    """The trip's positions (the final fare's distance), once the ride is over."""
    route_changed: bool = False
    """The trip left the corridor around the planned line, or ended outside it."""
    final_fare: FinalFare | None = None
    price_history: tuple[PriceChange, ...] = ()
    payment_status: PaymentStatus = PaymentStatus.NONE
    wallet_hold: str | None = None
    amount_paid: Decimal = Decimal(0)
    cancellation: Cancellation | None = None
    ratings: tuple[Rating, ...] = ()
    window_at: datetime | None = None
    """In matching mode, when the order, searching without an offer, joins the next
    matching window (:mod:`vtc_dispatch.pool.matching`)."""
    merchant_id: str | None = None
    """A delivery's merchant (the shop or restaurant the parcel comes from)."""
    goods_amount: Decimal | None = None
    """What the merchant charges for the goods, in the quote's currency: carried with the
    order (the rider may collect it), never priced by the tariffs."""
    delivery_code: str | None = None
    """The code the receiver gives the driver at the destination (freight, delivery)."""
    proof: ProofOfDelivery | None = None
    """The proof of delivery the driver showed (freight, delivery)."""

    @property
    def kind(self) -> OrderKind:
        """Ride, freight or delivery: the kind of the lifecycle's machine."""
        return kind_of_machine(self.lifecycle.machine.name)

    @property
    def spec(self) -> KindSpec:
        """The kind's definition (:data:`vtc_dispatch.kinds.KINDS`)."""
        return KINDS[self.kind]

    @property
    def phase(self) -> RideState:
        """The ride's state the order's state plays (:mod:`vtc_dispatch.kinds`)."""
        return self.spec.phase(self.lifecycle.state)

    def time_in_phase(self, phase: RideState) -> datetime | None:
        """When the order last entered ``phase`` (by the kind's first state of it)."""
        state = self.spec.first_in(phase)
        return None if state is None else self.lifecycle.time_in(state)

    @property
    def offered_to(self) -> str | None:
        """The driver of the first live offer (the only one in sequential mode)."""
        return self.offers[0].driver_id if self.offers else None

    @property
    def offer_expires_at(self) -> datetime | None:
        """When the first live offer expires."""
        return self.offers[0].expires_at if self.offers else None

    def offer_to(self, driver_id: str) -> LiveOffer | None:
        """The live offer made to ``driver_id``, if any."""
        return next((o for o in self.offers if o.driver_id == driver_id), None)

    @property
    def next_deadline(self) -> datetime | None:
        """When an offer must next be shown or expired, or the order matched in its window;
        ``None`` without either."""
        due = min((o.expires_at if o.shown else o.sent_at for o in self.offers), default=None)
        window = self.window_at
        if window is None or self.phase != RideState.SEARCHING:
            return due
        return window if due is None or window < due else due

    def waits_for_window(self, now: datetime) -> bool:
        """Searching, without an offer, and its matching window is due by ``now``."""
        window = self.window_at
        return (
            window is not None
            and window <= now
            and not self.offers
            and self.phase == RideState.SEARCHING
        )

    @property
    def state(self) -> str:
        """The current state of the order in its kind's machine (see :mod:`vtc_dispatch.fsm`)."""
        return self.lifecycle.state

    @property
    def is_active(self) -> bool:
        """Whether the order still occupies its customer and driver."""
        return self.lifecycle.state in ACTIVE_STATES

    @property
    def amount_due(self) -> Decimal | None:
        """What the ended order owes: its cancellation fee or final fare (``None`` before)."""
        if self.cancellation is not None:
            return self.cancellation.fee
        return None if self.final_fare is None else self.final_fare.amount

    def settled(self, paid: Decimal | None) -> Order:
        """This ended order once its wallet hold is captured (``paid``) or released (``None``)."""
        if paid is None:
            return evolve(self, payment_status=PaymentStatus.RELEASED, wallet_hold=None)
        due = self.amount_due
        status = PaymentStatus.PAID if due is None or paid == due else PaymentStatus.PARTIALLY_PAID
        return evolve(self, payment_status=status, wallet_hold=None, amount_paid=paid)


@attrs.frozen
class RideProgress:
    """The live part of a ride, written at every GPS fix: kept apart from the order.

    Positions come every few seconds; keeping them out of :class:`Order`
    means a fix never rewrites (nor conflicts with) the order itself.  The
    service copies the tracks into the order when the ride ends.
    """

    order_id: str
    approach: Track = attrs.field(factory=Track)
    """The assigned driver's positions on the way to the pickup."""
    trip: Track = attrs.field(factory=Track)
    """Positions while the trip is in progress."""
    route_changed: bool = False
    """A trip position left the corridor around the planned line."""
    last_location_sent_at: datetime | None = None
    """When the customer was last sent the driver's position (throttling)."""
    arriving_sent: bool = False
    version: int = 0


class Presence(StrEnum):
    """Whether a driver's phone is heard from (see :class:`DriverStatus`).

    >>> [p.value for p in Presence]
    ['present', 'silent', 'unreachable']
    """

    PRESENT = "present"
    """A fix, a ping or a connection within the presence timeout."""
    SILENT = "silent"
    """Nothing heard for the presence timeout (a phone that died or left the app)."""
    UNREACHABLE = "unreachable"
    """His connection closed (a transport tells), and nothing heard since."""


@attrs.frozen
class DriverCard:
    """Who a driver is, as his customer sees him: the host's data and his rating.

    ``vehicle`` describes the car (make, model, colour), ``plate`` its
    registration; ``rating`` is the average of his customers' stars
    (``None`` before the first).  The host gives what it knows
    (:class:`~vtc_dispatch.ports.DriverProfiles`); the rest is ``None``.

    >>> DriverCard("amadou", name="Amadou B.", plate="LT 123 AB").vehicle is None
    True
    """

    driver_id: str
    name: str | None = None
    phone: str | None = None
    vehicle: str | None = None
    plate: str | None = None
    rating: float | None = None


@attrs.frozen
class PositionAnswer:
    """What became of a GPS fix: accepted (the driver is there now), or refused and why.

    ``reason`` is a :class:`~vtc_dispatch.tracking.Flag` value (``jump``,
    ``stale``, ``out_of_order``, ``duplicate``, ``future``, ``inaccurate``)
    or ``offline`` (go online first; ``offline_reason`` says why he is off
    when the service put him there).  ``resync``: this fix resynchronised
    the ride's track to the last few (see :mod:`vtc_dispatch.tracking`).

    In a batch (:meth:`~vtc_dispatch.service.DispatchService.update_positions`)
    a fix refused before anything was read has the reason ``invalid`` (a
    bad value) or ``unknown_driver``, and ``error`` says what was wrong with
    the value, as the error a single fix would raise.

    >>> PositionAnswer(False, "jump")
    PositionAnswer(accepted=False, reason='jump', resync=False, offline_reason=None, error=None)
    """

    accepted: bool
    reason: str | None = None
    resync: bool = False
    offline_reason: str | None = None
    error: str | None = None


@attrs.frozen
class Fix:
    """One GPS fix of a batch: ``driver_id`` was at ``position`` at ``at`` (default: when
    the batch is run), within ``accuracy_m`` metres if the phone says so.

    >>> Fix("amadou", LatLng(4.05, 9.7))
    Fix(driver_id='amadou', position=LatLng(4.05, 9.7), at=None, accuracy_m=None)
    """

    driver_id: str
    position: LatLng
    at: datetime | None = None
    accuracy_m: float | None = None


FIX_ACCEPTED = PositionAnswer(True)
"""The answer to a fix that moved the driver."""


def _seen_when_updated(status: DriverStatus) -> datetime:
    return status.updated_at


@attrs.frozen
class DriverStatus:
    """A driver as the registry knows it.

    ``updated_at`` is when his position or state last changed, ``seen_at``
    when his phone was last heard from (a fix, refused or not, a ping, a
    connection).  A driver is offered orders only while he is
    :attr:`Presence.PRESENT`; the service moves a silent one out of search
    (:attr:`Presence.SILENT`) and later offline, with ``offline_reason``
    ``"silent"``.

    >>> from datetime import UTC, datetime
    >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    >>> status = DriverStatus("amadou", "taxi_jaune", LatLng(4.05, 9.7), True, at)
    >>> status.seen_at == at, status.available
    (True, True)
    >>> DriverStatus("amadou", "taxi_jaune", LatLng(4.05, 9.7), True, at,
    ...              presence=Presence.SILENT).available
    False
    """

    driver_id: str
    vehicle_type: str
    position: LatLng
    online: bool
    updated_at: datetime
    order_id: str | None = None
    """The order the driver is offered or assigned, if any."""
    blocked: bool = False
    """Under the rating threshold: no longer offered orders."""
    rating_sum: int = 0
    rating_count: int = 0
    seen_at: datetime = attrs.field(default=attrs.Factory(_seen_when_updated, takes_self=True))
    """When his phone was last heard from (default: ``updated_at``)."""
    presence: Presence = Presence.PRESENT
    offline_reason: str | None = None
    """Why he went offline when the service put him there (``"silent"``); ``None`` when he
    went offline himself, or is online."""
    suspended: bool = False
    """An operator suspended him: no offers until an operator lifts it.  Apart from
    :attr:`blocked`, which his ratings decide, so that a good rating never lifts an
    operator's decision."""

    @property
    def available(self) -> bool:
        """Online, heard from, not on an order, neither blocked nor suspended: may
        receive an offer."""
        return (
            self.online
            and self.order_id is None
            and not self.blocked
            and not self.suspended
            and self.presence is Presence.PRESENT
        )

    @property
    def rating(self) -> float | None:
        """Average stars received, ``None`` before the first rating."""
        return self.rating_sum / self.rating_count if self.rating_count else None
