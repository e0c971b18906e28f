"""The JSON wire form: one pydantic model per message, each with a literal ``type``.

Drivers send :data:`DriverInbound` messages and receive :data:`DriverOutbound`
ones; customers send :data:`CustomerInbound` and receive
:data:`CustomerOutbound`.  Any transport (WebSocket, HTTP, a push service)
sends them unchanged: ``message.model_dump_json()`` on the way out,
:func:`parse_driver_message` / :func:`parse_customer_message` on the way in.

On the wire, positions are ``{"lat": .., "lng": ..}`` in degrees
(:class:`WirePoint`); amounts are decimal strings (``"1250"``, never a
float) beside their ISO 4217 ``currency``; times are ISO 8601 with an
offset; distances are in km, durations in seconds (``eta_s``,
``timeout_s``) or minutes (``duration_min``, ``waiting_min``).

>>> msg = parse_customer_message(
...     '{"type": "search", "pickup": {"lat": 4.0511, "lng": 9.7043},'
...     ' "destination": {"lat": 4.08, "lng": 9.76}}')
>>> msg.pickup.to_latlng()
LatLng(4.0511, 9.7043)
>>> parse_driver_message({"type": "accept"})
Traceback (most recent call last):
...
vtc_dispatch.wire.InvalidMessage: accept message: order_id: Field required

:func:`to_wire` says which messages a domain event produces and who gets them:

>>> from datetime import datetime, timezone
>>> from vtc_dispatch.events import NoDriverFound
>>> [(r.role, r.id, m.model_dump_json()) for r, m in to_wire(
...     NoDriverFound("o-1", "c-1", datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)))]
[('customer', 'c-1', '{"type":"no_driver_found","order_id":"o-1","at":"2026-11-21T09:00:00Z"}')]

``python -m vtc_dispatch.wire`` prints the JSON schema of every message.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, Protocol, TypeAlias, TypeVar, get_args

import attrs
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.json_schema import JsonSchemaMode
from pydantic_core import ErrorDetails

from vtc_dispatch._wire_fields import (
    Amount,
    Code,
    Currency,
    Id,
    Km,
    Minutes,
    PaymentMethod,
    Seconds,
    WholeSeconds,
    WireBreakdownLine,
    WireModel,
    WirePoint,
    shown,
    to_metre,
)
from vtc_dispatch.errors import DispatchError
from vtc_dispatch.events import (
    BidAccepted,
    BidSubmitted,
    DriverArrived,
    DriverArriving,
    DriverAssigned,
    DriverLocated,
    DriverMoved,
    DriverSuspensionChanged,
    DriverWentOffline,
    DriverWentOnline,
    DriverWentSilent,
    DriverWithdrew,
    Event,
    NoDriverFound,
    OfferExpired,
    OfferRejected,
    OfferSent,
    OfferWithdrawn,
    OrderCancelled,
    OrderCreated,
    OrderStepped,
    PriceChanged,
    RatingGiven,
    SearchStarted,
    TripCompleted,
    TripStarted,
)
from vtc_dispatch.kinds import MerchantStatus
from vtc_dispatch.order import PositionAnswer
from vtc_dispatch.presentation import DriverCardView, DriverView, OrderView
from vtc_dispatch.pricing.money import in_currency, lines_in_currency
from vtc_dispatch.pricing.quote import FareQuote

__all__ = [
    "AcceptBidMessage",
    "AcceptMessage",
    "ArrivedMessage",
    "AvailabilityLine",
    "BidAcceptedMessage",
    "BidMessage",
    "BidReceivedMessage",
    "CancelMessage",
    "CompleteMessage",
    "CreateOrderMessage",
    "CustomerInbound",
    "CustomerOutbound",
    "DeliverMessage",
    "DepartMessage",
    "DriverArrivedMessage",
    "DriverArrivingMessage",
    "DriverAssignedMessage",
    "DriverInbound",
    "DriverLocationMessage",
    "DriverOutbound",
    "DriverSilentMessage",
    "DriverWithdrewMessage",
    "DriversAvailableMessage",
    "ErrorMessage",
    "InvalidMessage",
    "LocationMessage",
    "MerchantUpdateMessage",
    "NoDriverFoundMessage",
    "OfferMessage",
    "OfferWithdrawnMessage",
    "OkMessage",
    "OrderCancelledMessage",
    "OrderCreatedMessage",
    "OrderStatusMessage",
    "OutboundMessage",
    "PingMessage",
    "PongMessage",
    "PositionRefusedMessage",
    "Recipient",
    "RejectMessage",
    "SearchAgainMessage",
    "SearchMessage",
    "StartMessage",
    "StateMessage",
    "SuspensionMessage",
    "TripCompletedMessage",
    "TripStartedMessage",
    "VehicleTypeAvailability",
    "WentOfflineMessage",
    "WireBreakdownLine",
    "WirePoint",
    "drivers_available",
    "json_schemas",
    "main",
    "offer_message",
    "parse_customer_message",
    "parse_customer_outbound",
    "parse_driver_message",
    "parse_driver_outbound",
    "to_wire",
]


class InvalidMessage(DispatchError, ValueError):
    """A message that cannot be read: bad JSON, unknown ``type``, a missing or bad field.

    ``message_type`` is the message's ``type`` when it was recognised and
    ``field`` the path of the first bad field (``""`` for the message as a
    whole), so that a transport can answer the sender precisely.
    """

    def __init__(self, text: str, *, message_type: str | None = None, field: str = "") -> None:
        super().__init__(text)
        self.message_type = message_type
        self.field = field


# -- base of the messages ----------------------------------------------------------


def _type_is_required(schema: dict[str, Any]) -> None:
    # ``type`` has a default so that code can omit it, but every message
    # on the wire carries it.
    required = schema.setdefault("required", [])
    if isinstance(required, list) and "type" not in required:
        required.insert(0, "type")


class _Message(WireModel):
    # The server writes every field of what it sends (null when there is nothing): its
    # schemas say so; what a client sends may leave out the fields with defaults.
    model_config = ConfigDict(
        json_schema_extra=_type_is_required, json_schema_serialization_defaults_required=True
    )


# -- driver -> server ------------------------------------------------------------------


class LocationMessage(_Message):
    """Driver: my position; ``at`` when it was measured, ``order_id`` the order I serve.

    >>> msg = parse_driver_message('{"type": "location", "position": {"lat": 4.05, "lng": 9.7}}')
    >>> msg.at is None, msg.order_id is None
    (True, True)
    """

    type: Literal["location"] = "location"
    position: WirePoint
    at: AwareDatetime | None = None
    """When the device measured the position; ``None``: when the server received it."""
    order_id: Id | None = None
    accuracy_m: Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)] | None = None
    """The radius of uncertainty the device gives for the position, in metres."""


class PingMessage(_Message):
    """Driver: my phone is here (a heartbeat between fixes); answered with ``pong``."""

    type: Literal["ping"] = "ping"


class AcceptMessage(_Message):
    """Driver: I accept the offer for this order."""

    type: Literal["accept"] = "accept"
    order_id: Id


class RejectMessage(_Message):
    """Driver: I refuse the offer for this order."""

    type: Literal["reject"] = "reject"
    order_id: Id


class ArrivedMessage(_Message):
    """Driver: I am at the pickup."""

    type: Literal["arrived"] = "arrived"
    order_id: Id


class StartMessage(_Message):
    """Driver: the customer is on board, the trip starts."""

    type: Literal["start"] = "start"
    order_id: Id


class BidMessage(_Message):
    """Driver (bidding mode): I will do this job for ``amount`` (replaces my earlier bid),
    for ``valid_for_s`` seconds (``None``: while the bidding lasts)."""

    type: Literal["bid"] = "bid"
    order_id: Id
    amount: Amount
    valid_for_s: Annotated[float, Field(gt=0, le=604_800, allow_inf_nan=False)] | None = None


class DepartMessage(_Message):
    """Driver (freight, delivery): the goods are loaded, I leave the pickup."""

    type: Literal["depart"] = "depart"
    order_id: Id


class DeliverMessage(_Message):
    """Driver (freight, delivery): delivered, with the proof taken at ``position`` and ``at``.

    ``code`` is the code the receiver gave; ``reference`` names a photo or a
    signature the app uploaded to the host.
    """

    type: Literal["deliver"] = "deliver"
    order_id: Id
    position: WirePoint
    at: AwareDatetime
    code: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    reference: Annotated[str, Field(min_length=1, max_length=512)] | None = None


class CompleteMessage(_Message):
    """Driver: the trip is over; waiting minutes and supplements to charge, if any."""

    type: Literal["complete"] = "complete"
    order_id: Id
    waiting_min: Minutes | None = None
    """Minutes the driver waited; ``None``: the server works it out."""
    supplements: tuple[Code, ...] = ()
    """Supplement codes to add to the quote's (``luggage``...)."""


# -- server -> driver ------------------------------------------------------------------


class OfferMessage(_Message):
    """Server: an order for you; answer with ``accept`` or ``reject`` within ``timeout_s``."""

    type: Literal["offer"] = "offer"
    order_id: Id
    pickup: WirePoint
    destination: WirePoint
    vehicle_type: Code
    fare_min: Amount
    fare_max: Amount
    currency: Currency
    distance_to_pickup_km: Km
    timeout_s: Seconds
    expires_at: AwareDatetime
    """The answer must arrive before this instant (the server's clock decides)."""
    at: AwareDatetime


class OfferWithdrawnMessage(_Message):
    """Server: the offer is no longer yours (``expired``, ``order_cancelled``...)."""

    type: Literal["offer_withdrawn"] = "offer_withdrawn"
    order_id: Id
    reason: str
    at: AwareDatetime


class OrderCancelledMessage(_Message):
    """Server (to the customer and the assigned driver): the order is cancelled.

    ``cancelled_by`` is a role (``customer``, ``driver``, ``operator``,
    ``system``); ``fee`` is what the cancellation costs, ``"0"`` when free.
    """

    type: Literal["order_cancelled"] = "order_cancelled"
    order_id: Id
    cancelled_by: Code
    reason: str
    fee: Amount
    currency: Currency
    at: AwareDatetime


# -- customer -> server ----------------------------------------------------------------


class SearchMessage(_Message):
    """Customer: which vehicle types can take me to ``destination``, and for how much?

    The answer is a ``drivers_available`` message.
    """

    type: Literal["search"] = "search"
    pickup: WirePoint
    destination: WirePoint


class CreateOrderMessage(_Message):
    """Customer: order this vehicle type, paying with this method.

    A delivery (a vehicle type of kind ``delivery``) names its merchant
    (``merchant_id``) and may carry what the merchant charges for the goods
    (``goods_amount``, in the quote's currency: carried, not priced).
    """

    type: Literal["create_order"] = "create_order"
    pickup: WirePoint
    destination: WirePoint
    vehicle_type: Code
    payment_method: PaymentMethod
    supplements: tuple[Code, ...] = ()
    merchant_id: Id | None = None
    goods_amount: Amount | None = None


class CancelMessage(_Message):
    """Customer: cancel my order, for this reason."""

    type: Literal["cancel"] = "cancel"
    order_id: Id
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class SearchAgainMessage(_Message):
    """Customer: no driver took my order (``no_driver_found``); look again."""

    type: Literal["search_again"] = "search_again"
    order_id: Id


class AcceptBidMessage(_Message):
    """Customer (bidding mode): I take this carrier's bid."""

    type: Literal["accept_bid"] = "accept_bid"
    order_id: Id
    driver_id: Id


class MerchantUpdateMessage(_Message):
    """Merchant of a delivery (on the customer's connection: a merchant is no driver): the
    order is ``confirmed``, ``preparing`` or ``ready``; once ready, a rider is searched for.

    >>> parse_customer_message({"type": "merchant_update", "order_id": "o-1",
    ...                         "status": "ready"}).status is MerchantStatus.READY
    True
    """

    type: Literal["merchant_update"] = "merchant_update"
    order_id: Id
    status: MerchantStatus


# -- server -> customer ----------------------------------------------------------------


class VehicleTypeAvailability(WireModel):
    """One line of the search screen: a vehicle type with drivers nearby, and its price.

    ``fare_estimate`` is the expected fare, ``display`` the text shown
    (``between 1 750 and 2 250 XAF`` or ``about 6 200 XAF``).
    """

    vehicle_type: Code
    label: str
    count: Annotated[int, Field(ge=0)]
    count_capped: bool = False
    """``count`` is a floor: there are more drivers (the screen shows "50+")."""
    nearest_km: Km
    eta_s: WholeSeconds
    fare_min: Amount
    fare_max: Amount
    fare_estimate: Amount
    currency: Currency
    display: str

    @classmethod
    def from_quote(
        cls,
        quote: FareQuote,
        *,
        label: str,
        count: int,
        nearest_km: float,
        eta_s: float,
        count_capped: bool = False,
    ) -> VehicleTypeAvailability:
        """The line for ``quote``'s vehicle type.

        ``eta_s`` is rounded up to whole seconds and ``nearest_km`` to the
        metre: finer figures only add noise to a screen.

        >>> from datetime import datetime, timezone
        >>> from vtc_dispatch.geo import LatLng
        >>> from vtc_dispatch.pricing import Pricer, douala_config
        >>> quote = Pricer(douala_config()).quote(
        ...     LatLng(4.0511, 9.7043), LatLng(4.08, 9.76), "taxi_jaune",
        ...     datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc))
        >>> line = VehicleTypeAvailability.from_quote(
        ...     quote, label="Taxi Jaune", count=2, nearest_km=0.81234, eta_s=130.2)
        >>> line.eta_s, line.nearest_km, line.model_dump(mode="json")["fare_min"], line.display
        (131, 0.812, '1750', 'between 1 750 and 2 250 XAF')
        """
        return cls(
            vehicle_type=quote.vehicle_type,
            label=label,
            count=count,
            count_capped=count_capped,
            nearest_km=to_metre(nearest_km),
            eta_s=math.ceil(eta_s),
            fare_min=in_currency(quote.minimum, quote.currency),
            fare_max=in_currency(quote.maximum, quote.currency),
            fare_estimate=in_currency(quote.estimate, quote.currency),
            currency=quote.currency,
            display=quote.display,
        )


class DriversAvailableMessage(_Message):
    """Server: the answer to ``search``, one entry per vehicle type that has drivers."""

    type: Literal["drivers_available"] = "drivers_available"
    vehicle_types: tuple[VehicleTypeAvailability, ...]


class AvailabilityLine(Protocol):
    """What :func:`drivers_available` reads of a search line.

    :class:`vtc_dispatch.service.Availability` has these attributes.
    """

    @property
    def vehicle_type(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def count_capped(self) -> bool: ...
    @property
    def nearest_km(self) -> float: ...
    @property
    def eta_s(self) -> float: ...
    @property
    def quote(self) -> FareQuote: ...


def drivers_available(lines: Iterable[AvailabilityLine]) -> DriversAvailableMessage:
    """The search screen: the JSON form of a search's lines, for every transport (REST too).

    >>> from datetime import UTC, datetime
    >>> from vtc_dispatch.geo import LatLng
    >>> from vtc_dispatch.memory import ManualClock
    >>> from vtc_dispatch.pricing import douala_config
    >>> from vtc_dispatch.service import DispatchService, ServiceSettings
    >>> service = DispatchService(pricing=douala_config(),
    ...     settings=ServiceSettings(search_count_cap=1),
    ...     clock=ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC)))
    >>> for i, lng in enumerate((9.7045, 9.7050)):
    ...     service.driver_online(f"d-{i}", "taxi_jaune", LatLng(4.0520, lng))
    >>> screen = drivers_available(service.search(LatLng(4.0511, 9.7043), LatLng(4.08, 9.76)))
    >>> [(x.vehicle_type, x.count, x.count_capped) for x in screen.vehicle_types]
    [('taxi_jaune', 1, True)]
    """
    return DriversAvailableMessage(
        vehicle_types=tuple(
            VehicleTypeAvailability.from_quote(
                line.quote,
                label=line.label,
                count=line.count,
                count_capped=line.count_capped,
                nearest_km=line.nearest_km,
                eta_s=line.eta_s,
            )
            for line in lines
        )
    )


class DriverAssignedMessage(_Message):
    """Server: a driver accepted your order and is ``eta_s`` seconds away."""

    type: Literal["driver_assigned"] = "driver_assigned"
    order_id: Id
    driver_id: Id
    vehicle_type: Code
    position: WirePoint
    eta_s: WholeSeconds
    at: AwareDatetime
    driver: DriverCardView | None = None
    """Who is coming: name, phone, vehicle, plate, rating."""


class DriverLocationMessage(_Message):
    """Server: where your driver is (at ``at``), and the ETA when known."""

    type: Literal["driver_location"] = "driver_location"
    order_id: Id
    driver_id: Id
    position: WirePoint
    eta_s: WholeSeconds | None
    at: AwareDatetime


class DriverArrivingMessage(_Message):
    """Server: your driver is close (``distance_km`` away, ``eta_s`` seconds)."""

    type: Literal["driver_arriving"] = "driver_arriving"
    order_id: Id
    distance_km: Km
    eta_s: WholeSeconds
    at: AwareDatetime


class DriverArrivedMessage(_Message):
    """Server: your driver is at the pickup."""

    type: Literal["driver_arrived"] = "driver_arrived"
    order_id: Id
    at: AwareDatetime


class TripStartedMessage(_Message):
    """Server: the trip started."""

    type: Literal["trip_started"] = "trip_started"
    order_id: Id
    at: AwareDatetime


class TripCompletedMessage(_Message):
    """Server (to the customer and the driver): the trip is over, here is the final fare.

    ``reason`` says how the fare was set (``as_quoted``, ``fixed_route``,
    ``recomputed``, ``recomputed_capped``, ``promotion:<id>``); the
    ``breakdown`` lines sum exactly to ``amount``.
    """

    type: Literal["trip_completed"] = "trip_completed"
    order_id: Id
    amount: Amount
    currency: Currency
    reason: str
    breakdown: tuple[WireBreakdownLine, ...]
    distance_km: Km
    duration_min: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    at: AwareDatetime


class NoDriverFoundMessage(_Message):
    """Server: no driver took the order; you may search again."""

    type: Literal["no_driver_found"] = "no_driver_found"
    order_id: Id
    at: AwareDatetime


class BidReceivedMessage(_Message):
    """Server (bidding mode): a carrier bid on your order, which you may take until
    ``valid_until`` (``null``: while the bidding lasts)."""

    type: Literal["bid_received"] = "bid_received"
    order_id: Id
    driver_id: Id
    amount: Amount
    currency: Currency
    distance_km: Km
    at: AwareDatetime
    valid_until: AwareDatetime | None = None


class BidAcceptedMessage(_Message):
    """Server (to the carrier, bidding mode): the customer took your bid; the job is yours
    at ``amount``: go to the pickup."""

    type: Literal["bid_accepted"] = "bid_accepted"
    order_id: Id
    amount: Amount
    currency: Currency
    at: AwareDatetime


class OrderStatusMessage(_Message):
    """Server (freight, delivery): the order took a step of its own kind (``event``) and is
    now in ``state``: a merchant's state, a load posted, the driver leaving the pickup,
    the delivery proven, the shipper's receipt or dispute."""

    type: Literal["order_status"] = "order_status"
    order_id: Id
    kind: Literal["ride", "freight", "delivery"]
    event: Id
    state: Id
    at: AwareDatetime


class StateMessage(_Message):
    """Server, first message of a connection: where you stand, so that a reconnecting app resumes.

    ``order`` is the customer's active order, or the driver's (the one he
    is offered, with his ``offer``, or the one he drives), as
    :func:`vtc_dispatch.presentation.order_view` shows it to him;
    ``None`` when there is none.  ``offer`` is the driver's live offer as
    the ``offer`` message would bring it now (``timeout_s``: the time
    left).  ``driver`` is the driver himself (online, presence, why he is
    offline), or the customer's driver once one accepted.
    """

    type: Literal["state"] = "state"
    order: OrderView | None
    offer: OfferMessage | None = None
    driver: DriverView | None = None


ReplyId = Annotated[str, Field(min_length=1, max_length=100)]
"""The ``id`` of the client message a reply answers."""


class OkMessage(_Message):
    """Server: the command of message ``id`` is done; the order's ``state`` after it.

    A command sent again with the same ``id`` gets the same answer and
    changes nothing.  An accepted ``location`` is answered ``ok`` with no
    order.
    """

    type: Literal["ok"] = "ok"
    id: ReplyId | None
    order_id: Id | None = None
    state: str | None = None


class ErrorMessage(_Message):
    """Server: the message ``id`` was refused: ``error`` names the error, ``detail`` says
    what was wrong (with the value), ``field`` the bad field of the message if any."""

    type: Literal["error"] = "error"
    id: ReplyId | None = None
    error: str
    detail: str
    field: str | None = None


class OrderCreatedMessage(_Message):
    """Server: the answer to ``create_order``; the search for a driver has started."""

    type: Literal["order_created"] = "order_created"
    id: ReplyId | None = None
    order_id: Id
    state: str


class PositionRefusedMessage(_Message):
    """Server: the fix of message ``id`` did not move you, and why.

    ``reason``: ``jump`` (too fast from your last position), ``stale`` (measured
    too long before it arrived), ``future`` (your clock is ahead),
    ``out_of_order``, ``duplicate``, ``inaccurate`` (``accuracy_m`` above the
    limit) or ``offline`` (go online first; ``offline_reason`` says why you
    are off when the service put you there: ``silent``).
    """

    type: Literal["position_refused"] = "position_refused"
    id: ReplyId | None = None
    reason: str
    offline_reason: str | None = None

    @classmethod
    def from_answer(cls, answer: PositionAnswer, message_id: str | None) -> PositionRefusedMessage:
        """The message of a refused fix's answer."""
        return cls(id=message_id, reason=answer.reason or "", offline_reason=answer.offline_reason)


class PongMessage(_Message):
    """Server: the answer to ``ping``: the server's time, and whether you are online
    (``offline_reason`` ``silent``: you were put offline, go online again)."""

    type: Literal["pong"] = "pong"
    id: ReplyId | None = None
    at: AwareDatetime
    online: bool
    offline_reason: str | None = None


class WentOfflineMessage(_Message):
    """Server: the service put you offline (``reason`` ``silent``: your phone was not
    heard from); go online again to take offers."""

    type: Literal["went_offline"] = "went_offline"
    reason: str
    at: AwareDatetime


class SuspensionMessage(_Message):
    """Server: an operator suspended you (no offers until lifted; a ride you drive goes
    on) or lifted your suspension (``suspended`` false), with his ``reason``."""

    type: Literal["suspension"] = "suspension"
    suspended: bool
    reason: str | None = None
    at: AwareDatetime


class DriverSilentMessage(_Message):
    """Server (to the customer): your driver's phone has not been heard from since
    ``seen_at``: the position shown is that old (``driver_location`` resumes with it)."""

    type: Literal["driver_silent"] = "driver_silent"
    order_id: Id
    driver_id: Id
    seen_at: AwareDatetime
    at: AwareDatetime


class DriverWithdrewMessage(_Message):
    """Server: your driver cancelled; another one is being looked for."""

    type: Literal["driver_withdrew"] = "driver_withdrew"
    order_id: Id
    reason: str
    at: AwareDatetime


# -- unions --------------------------------------------------------------------------

DriverInbound: TypeAlias = Annotated[
    LocationMessage | PingMessage | AcceptMessage | RejectMessage | ArrivedMessage
    | StartMessage | CompleteMessage | BidMessage | DepartMessage | DeliverMessage,
    Field(discriminator="type"),
]  # fmt: skip
"""What a driver sends."""
DriverOutbound: TypeAlias = Annotated[
    StateMessage | OfferMessage | OfferWithdrawnMessage | OrderCancelledMessage
    | TripCompletedMessage | OkMessage | ErrorMessage | PositionRefusedMessage | PongMessage
    | WentOfflineMessage | SuspensionMessage | OrderStatusMessage | BidAcceptedMessage,
    Field(discriminator="type"),
]  # fmt: skip
"""What a driver receives (``trip_completed`` too: the driver collects the final fare)."""
CustomerInbound: TypeAlias = Annotated[
    SearchMessage | CreateOrderMessage | CancelMessage | SearchAgainMessage | AcceptBidMessage
    | MerchantUpdateMessage,
    Field(discriminator="type"),
]  # fmt: skip
"""What a customer sends."""
CustomerOutbound: TypeAlias = Annotated[
    StateMessage | DriversAvailableMessage | OrderCreatedMessage | OkMessage | ErrorMessage
    | DriverAssignedMessage | DriverLocationMessage | DriverSilentMessage
    | DriverArrivingMessage | DriverArrivedMessage | TripStartedMessage | TripCompletedMessage
    | NoDriverFoundMessage | OrderCancelledMessage | DriverWithdrewMessage
    | BidReceivedMessage | OrderStatusMessage,
    Field(discriminator="type"),
]  # fmt: skip
"""What a customer receives."""
OutboundMessage: TypeAlias = (
    OfferMessage | OfferWithdrawnMessage | OrderCancelledMessage | DriversAvailableMessage
    | DriverAssignedMessage | DriverLocationMessage | DriverArrivingMessage
    | DriverArrivedMessage | TripStartedMessage | TripCompletedMessage | NoDriverFoundMessage
    | DriverWithdrewMessage | BidReceivedMessage | StateMessage | OkMessage | ErrorMessage
    | OrderCreatedMessage | PositionRefusedMessage | PongMessage | WentOfflineMessage
    | DriverSilentMessage | SuspensionMessage | OrderStatusMessage | BidAcceptedMessage
)  # fmt: skip
"""Any message the server sends (to a driver or a customer)."""

_DRIVER_INBOUND: TypeAdapter[DriverInbound] = TypeAdapter(DriverInbound)
_DRIVER_OUTBOUND: TypeAdapter[DriverOutbound] = TypeAdapter(DriverOutbound)
_CUSTOMER_INBOUND: TypeAdapter[CustomerInbound] = TypeAdapter(CustomerInbound)
_CUSTOMER_OUTBOUND: TypeAdapter[CustomerOutbound] = TypeAdapter(CustomerOutbound)

# -- parsing -------------------------------------------------------------------------

_M = TypeVar("_M")


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _invalid(error: ValidationError, who: str) -> InvalidMessage:
    errors = error.errors(include_url=False)
    first: ErrorDetails = errors[0]
    kind, loc, given = first["type"], first["loc"], first.get("input")
    if kind == "union_tag_invalid":
        ctx = first.get("ctx", {})
        tag = given.get("type") if isinstance(given, dict) else ctx.get("tag")
        return InvalidMessage(
            f"{who}: type: expected one of {ctx.get('expected_tags')}, got {shown(tag)}",
            field="type",
        )
    if kind == "union_tag_not_found":
        return InvalidMessage(f"{who}: type: Field required", field="type")
    if not loc:
        if kind == "json_invalid":
            return InvalidMessage(f"{who}: {first['msg']}")
        return InvalidMessage(f"{who}: expected a JSON object, got {type(given).__name__}")
    message_type = str(loc[0])
    field = _path(loc[1:])
    text = first["msg"].removeprefix("Value error, ")
    if kind not in {"value_error", "missing"}:
        text += f" (got {shown(given)})"
    more = len(errors) - 1
    if more:
        text += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InvalidMessage(
        f"{message_type} message: {field}: {text}", message_type=message_type, field=field
    )


def _parse(adapter: TypeAdapter[_M], data: str | bytes | Mapping[str, Any], who: str) -> _M:
    try:
        if isinstance(data, str | bytes | bytearray):
            return adapter.validate_json(data)
        if isinstance(data, Mapping):
            return adapter.validate_python(dict(data))
    except ValidationError as exc:
        raise _invalid(exc, who) from None
    raise InvalidMessage(f"{who}: expected JSON text or a mapping, got {type(data).__name__}")


def parse_driver_message(data: str | bytes | Mapping[str, Any]) -> DriverInbound:
    """Read what a driver sent (JSON text or an already decoded mapping).

    Raises :class:`InvalidMessage` naming the message type, the field path
    and the bad value.

    >>> parse_driver_message(b'{"type": "reject", "order_id": "o-1"}')
    RejectMessage(type='reject', order_id='o-1')
    >>> parse_driver_message('{"type": "location", "position": {"lat": 91, "lng": 9.7}}')
    Traceback (most recent call last):
    ...
    vtc_dispatch.wire.InvalidMessage: location message: position.lat: Input should ... 90 (got 91)
    >>> parse_driver_message({"type": "search"})
    Traceback (most recent call last):
    ...
    vtc_dispatch.wire.InvalidMessage: driver message: type: expected one of ... got 'search'
    """
    return _parse(_DRIVER_INBOUND, data, "driver message")


def parse_customer_message(data: str | bytes | Mapping[str, Any]) -> CustomerInbound:
    """Read what a customer sent (JSON text or an already decoded mapping).

    Raises :class:`InvalidMessage` naming the message type, the field path
    and the bad value.

    >>> parse_customer_message({"type": "cancel", "order_id": "o-1", "reason": "too long"})
    CancelMessage(type='cancel', order_id='o-1', reason='too long')
    >>> parse_customer_message({"type": "create_order", "vehicle_type": "confort",
    ...     "pickup": {"lat": 4.05, "lng": 9.7}, "destination": {"lat": 4.08, "lng": 9.76},
    ...     "payment_method": "cash"})
    Traceback (most recent call last):
    ...
    vtc_dispatch.wire.InvalidMessage: create_order message: payment_method: ... (got 'cash')
    """
    return _parse(_CUSTOMER_INBOUND, data, "customer message")


def parse_driver_outbound(data: str | bytes | Mapping[str, Any]) -> DriverOutbound:
    """Read a message sent to a driver (the driver's side: apps, simulations, tests).

    >>> parse_driver_outbound({"type": "offer_withdrawn", "order_id": "o-1",
    ...     "reason": "expired", "at": "2026-11-21T09:00:30Z"}).reason
    'expired'
    """
    return _parse(_DRIVER_OUTBOUND, data, "message to a driver")


def parse_customer_outbound(data: str | bytes | Mapping[str, Any]) -> CustomerOutbound:
    """Read a message sent to a customer (the customer's side: apps, simulations, tests).

    >>> parse_customer_outbound({"type": "trip_started", "order_id": "o-1",
    ...     "at": "2026-11-21T09:10:00+01:00"}).at.isoformat()
    '2026-11-21T09:10:00+01:00'
    """
    return _parse(_CUSTOMER_OUTBOUND, data, "message to a customer")


# -- events -> messages ----------------------------------------------------------------


@attrs.frozen
class Recipient:
    """Who receives a message: a ``driver`` or a ``customer`` by id, or an order's ``watchers``.

    ``watchers`` (``id`` is the order id) are whoever follows an order
    without taking part: an operator screen, a shared trip link.

    >>> Recipient("driver", "d-7")
    Recipient(role='driver', id='d-7')
    """

    role: Literal["driver", "customer", "watchers"]
    id: str


def _eta(eta_s: float) -> int:
    # Rounded up: promising a driver earlier than expected is the worse error.
    return math.ceil(eta_s)


def offer_message(event: OfferSent) -> OfferMessage:
    """The ``offer`` message of an offer shown to a driver (sent, or found in his ``state``)."""
    return OfferMessage(
        order_id=event.order_id,
        pickup=WirePoint.from_latlng(event.pickup),
        destination=WirePoint.from_latlng(event.dropoff),
        vehicle_type=event.vehicle_type,
        fare_min=in_currency(event.fare_min, event.currency),
        fare_max=in_currency(event.fare_max, event.currency),
        currency=event.currency,
        distance_to_pickup_km=to_metre(event.distance_to_pickup_km),
        timeout_s=event.timeout_s,
        expires_at=event.expires_at,
        at=event.at,
    )


def to_wire(event: Event) -> list[tuple[Recipient, OutboundMessage]]:
    """The messages an event produces, each with its recipient; ``[]`` for internal events.

    =======================  =============================================
    event                    messages
    =======================  =============================================
    OfferSent                driver: ``offer``
    OfferWithdrawn           driver: ``offer_withdrawn`` (its reason)
    OfferExpired             driver: ``offer_withdrawn`` (reason ``expired``)
    DriverAssigned           customer: ``driver_assigned``
    DriverLocated            customer: ``driver_location``
    DriverArriving           customer: ``driver_arriving``
    DriverArrived            customer: ``driver_arrived``
    TripStarted              customer: ``trip_started``
    TripCompleted            customer and driver: ``trip_completed``
    NoDriverFound            customer: ``no_driver_found``
    OrderCancelled           customer, and the driver if any: ``order_cancelled``
    DriverWentOffline        driver, when the service put him offline: ``went_offline``
    DriverWentSilent         customer and watchers of his ride: ``driver_silent``
    DriverSuspensionChanged  driver: ``suspension``
    BidSubmitted             customer: ``bid_received``
    BidAccepted              driver: ``bid_accepted``
    OrderStepped             customer, watchers and the driver if any: ``order_status``
    =======================  =============================================

    Drivers going on and off by themselves, moves, order creation, search
    start, refusals, ratings and price changes have no wire form: the
    sender of a command gets its answer from the transport (``ok``,
    ``error``, ``order_created``, ``position_refused``, ``pong``), and the
    customer follows the driver through ``DriverLocated``.
    """
    match event:
        case OfferSent():
            return [(Recipient("driver", event.driver_id), offer_message(event))]
        case OfferWithdrawn() | OfferExpired():
            reason = event.reason if isinstance(event, OfferWithdrawn) else "expired"
            withdrawn = OfferWithdrawnMessage(order_id=event.order_id, reason=reason, at=event.at)
            return [(Recipient("driver", event.driver_id), withdrawn)]
        case DriverAssigned():
            assigned = DriverAssignedMessage(
                order_id=event.order_id,
                driver_id=event.driver_id,
                vehicle_type=event.vehicle_type,
                position=WirePoint.from_latlng(event.driver_position),
                eta_s=_eta(event.eta_s),
                at=event.at,
                driver=None if event.driver is None else DriverCardView.from_card(event.driver),
            )
            return [(Recipient("customer", event.customer_id), assigned)]
        case DriverLocated():
            located = DriverLocationMessage(
                order_id=event.order_id,
                driver_id=event.driver_id,
                position=WirePoint.from_latlng(event.position),
                eta_s=None if event.eta_s is None else _eta(event.eta_s),
                at=event.at,
            )
            return [(Recipient("customer", event.customer_id), located)]
        case DriverArriving():
            arriving = DriverArrivingMessage(
                order_id=event.order_id,
                distance_km=to_metre(event.distance_km),
                eta_s=_eta(event.eta_s),
                at=event.at,
            )
            return [(Recipient("customer", event.customer_id), arriving)]
        case DriverArrived():
            arrived = DriverArrivedMessage(order_id=event.order_id, at=event.at)
            return [(Recipient("customer", event.customer_id), arrived)]
        case TripStarted():
            started = TripStartedMessage(order_id=event.order_id, at=event.at)
            return [(Recipient("customer", event.customer_id), started)]
        case TripCompleted():
            fare = event.fare
            completed = TripCompletedMessage(
                order_id=event.order_id,
                amount=in_currency(fare.amount, fare.currency),
                currency=fare.currency,
                reason=fare.reason,
                breakdown=tuple(
                    WireBreakdownLine(code=line.code, label=line.label, amount=amount)
                    for line, amount in zip(
                        fare.breakdown,
                        lines_in_currency([x.amount for x in fare.breakdown], fare.currency),
                        strict=True,
                    )
                ),
                distance_km=to_metre(float(fare.distance_km)),
                duration_min=float(fare.duration_min),
                at=event.at,
            )
            return [
                (Recipient("customer", event.customer_id), completed),
                (Recipient("driver", event.driver_id), completed),
            ]
        case BidSubmitted():
            bid = BidReceivedMessage(
                order_id=event.order_id,
                driver_id=event.driver_id,
                amount=in_currency(event.amount, event.currency),
                currency=event.currency,
                distance_km=to_metre(event.distance_km),
                at=event.at,
                valid_until=event.valid_until,
            )
            return [(Recipient("customer", event.customer_id), bid)]
        case BidAccepted():
            taken = BidAcceptedMessage(
                order_id=event.order_id,
                amount=in_currency(event.amount, event.currency),
                currency=event.currency,
                at=event.at,
            )
            return [(Recipient("driver", event.driver_id), taken)]
        case OrderStepped():
            status = OrderStatusMessage(
                order_id=event.order_id,
                kind=event.kind,  # type: ignore[arg-type]
                event=event.event,
                state=event.state,
                at=event.at,
            )
            stepped: list[tuple[Recipient, OutboundMessage]] = [
                (Recipient("customer", event.customer_id), status),
                (Recipient("watchers", event.order_id), status),
            ]
            if event.driver_id is not None:
                stepped.append((Recipient("driver", event.driver_id), status))
            return stepped
        case DriverWithdrew():
            withdrew = DriverWithdrewMessage(
                order_id=event.order_id, reason=event.reason, at=event.at
            )
            return [(Recipient("customer", event.customer_id), withdrew)]
        case NoDriverFound():
            none_found = NoDriverFoundMessage(order_id=event.order_id, at=event.at)
            return [(Recipient("customer", event.customer_id), none_found)]
        case OrderCancelled():
            cancelled = OrderCancelledMessage(
                order_id=event.order_id,
                cancelled_by=event.cancelled_by,
                reason=event.reason,
                fee=in_currency(event.fee, event.currency),
                currency=event.currency,
                at=event.at,
            )
            out: list[tuple[Recipient, OutboundMessage]] = [
                (Recipient("customer", event.customer_id), cancelled)
            ]
            if event.driver_id is not None:
                out.append((Recipient("driver", event.driver_id), cancelled))
            return out
        case DriverWentOffline():
            if event.reason is None:
                return []  # he went off himself: his command's answer told him
            off = WentOfflineMessage(reason=event.reason, at=event.at)
            return [(Recipient("driver", event.driver_id), off)]
        case DriverSuspensionChanged():
            told = SuspensionMessage(suspended=event.suspended, reason=event.reason, at=event.at)
            return [(Recipient("driver", event.driver_id), told)]
        case DriverWentSilent():
            if event.order_id is None or event.customer_id is None:
                return []
            silent = DriverSilentMessage(
                order_id=event.order_id,
                driver_id=event.driver_id,
                seen_at=event.seen_at,
                at=event.at,
            )
            return [
                (Recipient("customer", event.customer_id), silent),
                (Recipient("watchers", event.order_id), silent),
            ]
        case (
            DriverWentOnline()
            | DriverMoved()
            | OrderCreated()
            | SearchStarted()
            | OfferRejected()
            | RatingGiven()
            | PriceChanged()
        ):
            return []


# -- schemas -------------------------------------------------------------------------


def _members(union: object) -> tuple[type[BaseModel], ...]:
    return get_args(get_args(union)[0])


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON schema of every message, keyed by its ``type``.

    Inbound messages (sent by drivers and customers) are described as the
    server accepts them, outbound ones as the server writes them.

    >>> schemas = json_schemas()
    >>> schemas["offer"]["properties"]["fare_min"]["type"], schemas["offer"]["required"][0]
    ('string', 'type')
    >>> len(schemas)
    40
    """
    directions: tuple[tuple[object, JsonSchemaMode], ...] = (
        (DriverInbound, "validation"),
        (CustomerInbound, "validation"),
        (DriverOutbound, "serialization"),
        (CustomerOutbound, "serialization"),
    )
    schemas: dict[str, dict[str, Any]] = {}
    for union, mode in directions:
        for model in _members(union):
            schemas[model.model_fields["type"].default] = model.model_json_schema(mode=mode)
    return schemas


def main() -> None:
    """Print :func:`json_schemas` as one JSON document (``python -m vtc_dispatch.wire``)."""
    print(json.dumps(json_schemas(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
