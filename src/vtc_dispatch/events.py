"""Domain events: the facts the service records and publishes, in the past tense.

Every event is an attrs frozen value.  ``at`` is when the fact happened, a
:class:`~datetime.datetime` with a time zone (a naive one raises
:class:`InvalidEvent`); amounts are :class:`~decimal.Decimal` with their
ISO 4217 ``currency``; positions are :class:`~vtc_dispatch.geo.sphere.LatLng`
in degrees; distances are in km and durations in seconds (``eta_s``,
``timeout_s``).  :data:`Event` is the union of them all, so a ``match`` over
it can be checked for exhaustiveness.

:func:`vtc_dispatch.wire.to_wire` turns an event into the messages that
drivers and customers receive.

>>> from datetime import datetime, timezone
>>> from vtc_dispatch.geo import LatLng
>>> at = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
>>> moved = DriverMoved("d-7", LatLng(4.05, 9.7), at)
>>> moved.order_id is None, moved.at.isoformat()
(True, '2026-11-21T09:00:00+00:00')
>>> NoDriverFound("o-1", "c-1", datetime(2026, 11, 21, 9, 0))
Traceback (most recent call last):
...
vtc_dispatch.events.InvalidEvent: NoDriverFound.at must be a datetime with a time zone, got ...
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias

import attrs

from vtc_dispatch.errors import DispatchError, shown
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import DriverCard
from vtc_dispatch.pricing.quote import FareQuote, FinalFare, PriceChange

__all__ = [
    "BidAccepted",
    "BidSubmitted",
    "DriverArrived",
    "DriverArriving",
    "DriverAssigned",
    "DriverLocated",
    "DriverMoved",
    "DriverSuspensionChanged",
    "DriverWentOffline",
    "DriverWentOnline",
    "DriverWentSilent",
    "DriverWithdrew",
    "Event",
    "InvalidEvent",
    "NoDriverFound",
    "OfferExpired",
    "OfferRejected",
    "OfferSent",
    "OfferWithdrawn",
    "OrderCancelled",
    "OrderCreated",
    "OrderStepped",
    "PriceChanged",
    "RatingGiven",
    "SearchStarted",
    "TripCompleted",
    "TripStarted",
]


class InvalidEvent(DispatchError, ValueError):
    """An event built with an unusable value (a naive time, stars outside 1-5).

    It signals a bug in the code emitting the event, never bad client input.
    """


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidEvent(
            f"{type(instance).__name__}.{attribute.name} must be a datetime with a time zone,"
            f" got {shown(value)}"
        )


def _stars(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidEvent(
            f"{type(instance).__name__}.{attribute.name} must be an integer from 1 to 5,"
            f" got {shown(value)}"
        )


# -- drivers -------------------------------------------------------------------


@attrs.frozen
class DriverWentOnline:
    """A driver became available for offers, with a vehicle type and a position."""

    driver_id: str
    vehicle_type: str
    position: LatLng
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class DriverWentOffline:
    """A driver stopped taking offers; ``reason`` when the service put him offline
    (``"silent"``: his phone was not heard from)."""

    driver_id: str
    at: datetime = attrs.field(validator=_aware)
    reason: str | None = None


@attrs.frozen
class DriverSuspensionChanged:
    """An operator (``by``) suspended the driver, or lifted his suspension, for ``reason``."""

    driver_id: str
    suspended: bool
    by: str
    at: datetime = attrs.field(validator=_aware)
    reason: str | None = None


@attrs.frozen
class DriverWentSilent:
    """The driver's phone was not heard from since ``seen_at``: he is out of search.

    ``order_id`` and ``customer_id`` name the ride he is on, if any: its
    customer then sees a position as old as ``seen_at``.
    """

    driver_id: str
    seen_at: datetime = attrs.field(validator=_aware)
    at: datetime = attrs.field(validator=_aware)
    order_id: str | None = None
    customer_id: str | None = None


@attrs.frozen
class DriverMoved:
    """A driver reported a position; ``order_id`` is the order they serve, if any.

    Internal: what the customer sees is :class:`DriverLocated`, sent at the
    pace the service chooses.
    """

    driver_id: str
    position: LatLng
    at: datetime = attrs.field(validator=_aware)
    order_id: str | None = None


# -- orders and the driver pool --------------------------------------------------


@attrs.frozen
class OrderCreated:
    """A customer ordered a vehicle type with a payment method, on the given quote."""

    order_id: str
    customer_id: str
    vehicle_type: str
    pickup: LatLng
    dropoff: LatLng
    payment_method: str
    quote: FareQuote
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class SearchStarted:
    """Offers for the order started going out to drivers."""

    order_id: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class OfferSent:
    """One driver was offered the order; they have ``timeout_s`` seconds, until ``expires_at``.

    ``fare_min``/``fare_max`` is the quoted range in ``currency``;
    ``distance_to_pickup_km`` is the great-circle distance from the driver
    to the pickup when the offer went out.
    """

    order_id: str
    driver_id: str
    pickup: LatLng
    dropoff: LatLng
    vehicle_type: str
    fare_min: Decimal
    fare_max: Decimal
    currency: str
    distance_to_pickup_km: float
    timeout_s: float
    expires_at: datetime = attrs.field(validator=_aware)
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class OfferWithdrawn:
    """A live offer was taken back before the driver answered (e.g. ``order_cancelled``)."""

    order_id: str
    driver_id: str
    reason: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class OfferRejected:
    """The driver refused the offer; the pool moves on to the next driver."""

    order_id: str
    driver_id: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class OfferExpired:
    """The driver did not answer within the offer's time; the pool moves on."""

    order_id: str
    driver_id: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class NoDriverFound:
    """The pool ran out of drivers: the order is ``NO_DRIVER``, the customer may search again."""

    order_id: str
    customer_id: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class BidSubmitted:
    """A carrier offered to do the job for ``amount`` (bidding mode)."""

    order_id: str
    driver_id: str
    customer_id: str
    amount: Decimal
    currency: str
    distance_km: float
    at: datetime = attrs.field(validator=_aware)
    valid_until: datetime | None = None
    """Until when the customer may take the bid (``None``: while the bidding lasts)."""


@attrs.frozen
class BidAccepted:
    """The customer took a carrier's bid: the carrier has the job at ``amount`` (the
    order's final fare); :class:`DriverAssigned` tells the customer, this the carrier."""

    order_id: str
    driver_id: str
    customer_id: str
    amount: Decimal
    currency: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class DriverWithdrew:
    """The driver who accepted cancelled: the order is searching again without them."""

    order_id: str
    driver_id: str
    customer_id: str
    reason: str
    at: datetime = attrs.field(validator=_aware)


# -- the ride ----------------------------------------------------------------------


@attrs.frozen
class DriverAssigned:
    """A driver accepted: they are at ``driver_position``, ``eta_s`` seconds from the pickup.

    ``driver`` is who he is (name, phone, vehicle, plate, rating), for the customer.
    """

    order_id: str
    driver_id: str
    customer_id: str
    vehicle_type: str
    driver_position: LatLng
    eta_s: float
    at: datetime = attrs.field(validator=_aware)
    driver: DriverCard | None = None


@attrs.frozen
class DriverLocated:
    """The assigned driver's position as sent to the customer, with the ETA when known."""

    order_id: str
    driver_id: str
    customer_id: str
    position: LatLng
    eta_s: float | None
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class DriverArriving:
    """The assigned driver came close to the pickup (``distance_km`` away, ``eta_s`` seconds)."""

    order_id: str
    driver_id: str
    customer_id: str
    distance_km: float
    eta_s: float
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class DriverArrived:
    """The driver is at the pickup and waits for the customer."""

    order_id: str
    driver_id: str
    customer_id: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class TripStarted:
    """The customer is on board; the trip's track is being recorded."""

    order_id: str
    driver_id: str
    customer_id: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class TripCompleted:
    """The trip ended with the final fare (amount, breakdown, price history)."""

    order_id: str
    driver_id: str
    customer_id: str
    fare: FinalFare
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class OrderCancelled:
    """The order was cancelled by ``cancelled_by`` (a role), for ``reason``, costing ``fee``.

    ``driver_id`` is the assigned driver, if there was one; ``cancelled_by``
    is ``customer``, ``driver``, ``operator`` or ``system``; ``fee`` is what
    the cancellation costs (``0`` when free), in ``currency``.
    """

    order_id: str
    customer_id: str
    driver_id: str | None
    cancelled_by: str
    reason: str
    fee: Decimal
    currency: str
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class RatingGiven:
    """One side of a finished order rated the other (``stars`` from 1 to 5).

    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc)
    >>> RatingGiven("o-1", "customer", "c-1", "d-7", 5, None, at).stars
    5
    >>> RatingGiven("o-1", "customer", "c-1", "d-7", 6, None, at)
    Traceback (most recent call last):
    ...
    vtc_dispatch.events.InvalidEvent: RatingGiven.stars must be an integer from 1 to 5, got 6
    """

    order_id: str
    by_role: str
    by_id: str
    about_id: str
    stars: int = attrs.field(validator=_stars)
    comment: str | None
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class OrderStepped:
    """A step of the order's own kind: a merchant's state (a delivery confirmed, being
    prepared, ready), a load posted, a driver leaving the pickup, a delivery proven, the
    shipper's receipt or dispute, an operator's resolution.

    ``event`` is the machine's event, ``state`` the state it led to.
    """

    order_id: str
    kind: str
    event: str
    state: str
    customer_id: str
    driver_id: str | None
    merchant_id: str | None
    at: datetime = attrs.field(validator=_aware)


@attrs.frozen
class PriceChanged:
    """The order's price moved (quote, final fare, promotion...): one line of its history.

    Its time is the change's: ``at`` reads ``change.at``.
    """

    order_id: str
    change: PriceChange

    @property
    def at(self) -> datetime:
        """When the price changed."""
        return self.change.at


Event: TypeAlias = (
    DriverWentOnline
    | DriverWentOffline
    | DriverWentSilent
    | DriverSuspensionChanged
    | DriverMoved
    | OrderCreated
    | SearchStarted
    | OfferSent
    | OfferWithdrawn
    | OfferRejected
    | OfferExpired
    | NoDriverFound
    | DriverWithdrew
    | BidSubmitted
    | BidAccepted
    | DriverAssigned
    | DriverLocated
    | DriverArriving
    | DriverArrived
    | TripStarted
    | TripCompleted
    | OrderCancelled
    | RatingGiven
    | PriceChanged
    | OrderStepped
)
"""Any domain event."""
