"""The JSON form of a quote and of an order, as its customer, its driver or an operator sees it.

One form per concept, used unchanged by every edge: the REST API, the
websocket ``state`` message, an operator screen.  The search screen's form
is :class:`~vtc_dispatch.wire.DriversAvailableMessage` (built by
:func:`~vtc_dispatch.wire.drivers_available`).  Conventions are the wire's
(:mod:`vtc_dispatch.wire`): positions ``{"lat": .., "lng": ..}``, amounts,
distances and durations of a fare as decimal strings, times ISO 8601 with
an offset (``Z`` for UTC).

What each viewer sees (:func:`order_view`):

- the customer: the order, its quote, the first live offer (who is being
  asked, until when), every bid still in the running, the final fare, the
  price history, the cancellation, the ratings and the lifecycle;
- a driver: the same, but only his own offer and his own bid;
- an operator (or the system): all of that plus the dispatch internals
  (:class:`OperatorOrderView`): every live offer, the drivers already
  tried, the version, the wallet hold, the agreed price.

>>> from datetime import UTC, datetime
>>> from vtc_dispatch.memory import ManualClock
>>> from vtc_dispatch.order import Actor
>>> from vtc_dispatch.pricing import douala_config
>>> from vtc_dispatch.service import DispatchService
>>> from vtc_dispatch.geo import LatLng
>>> service = DispatchService(pricing=douala_config(),
...     clock=ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC)))
>>> service.driver_online("d-1", "taxi_jaune", LatLng(4.0520, 9.7045))
>>> order = service.create_order("c-1", LatLng(4.0511, 9.7043), LatLng(4.08, 9.76),
...     "taxi_jaune", "CASH")
>>> seen = order_json(order, Actor.customer("c-1"))
>>> seen["state"], seen["quote"]["minimum"], seen["created_at"]
('searching', '1750', '2026-11-21T09:00:00Z')
>>> seen["offer"]
{'driver_id': 'd-1', 'expires_at': '2026-11-21T09:00:30Z'}
>>> "tried" in seen, "tried" in order_json(order, Actor.operator("op-1"))
(False, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, AwareDatetime, ConfigDict, Field

from vtc_dispatch._wire_fields import (
    Amount,
    Code,
    Currency,
    Id,
    Km,
    PaymentMethod,
    WholeSeconds,
    WireBreakdownLine,
    WireModel,
    WirePoint,
    to_metre,
)
from vtc_dispatch.dashboards import (
    CustomerDashboard,
    DriverDashboard,
    MethodTotal,
    Period,
    RatingFigure,
)
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import (
    Actor,
    DriverCard,
    DriverStatus,
    Order,
    PositionAnswer,
    ProofOfDelivery,
    RideProgress,
)
from vtc_dispatch.payments import label as payment_label
from vtc_dispatch.pricing.money import in_currency, lines_in_currency
from vtc_dispatch.pricing.quote import BreakdownLine, FareQuote, FinalFare
from vtc_dispatch.tracking import Track

__all__ = [
    "BidView",
    "BidsView",
    "CancellationView",
    "CustomerDashboardView",
    "DashboardPeriodView",
    "DriverCardView",
    "DriverDashboardView",
    "DriverStatusView",
    "DriverView",
    "DriversNearView",
    "FinalFareView",
    "HistoryView",
    "LineStringView",
    "LiveOfferView",
    "MapDriverDetails",
    "MapDriverView",
    "MapOrderDetails",
    "MapOrderView",
    "MapSnapshotMessage",
    "MapUpdateMessage",
    "MethodTotalView",
    "NearbyDriverView",
    "OfferView",
    "OperatorOrderView",
    "OrderView",
    "PaymentMethodView",
    "PaymentMethodsView",
    "PaymentReceiptView",
    "PingView",
    "PingsView",
    "PositionAnswerView",
    "PriceChangeView",
    "ProofView",
    "QuoteView",
    "RatingFigureView",
    "RatingView",
    "RideTrackView",
    "RouteFeatureView",
    "RouteView",
    "TrackPointView",
    "VehicleTypeCountView",
    "VehicleTypesView",
    "bids_view",
    "dashboard_view",
    "driver_view",
    "drivers_near_view",
    "map_driver_view",
    "map_order_view",
    "order_json",
    "order_pings",
    "order_view",
    "route_geojson",
]

Quantity = Amount
"""A non-negative decimal quantity of a fare (km, minutes) as text, like an amount."""


def _lines(lines: tuple[BreakdownLine, ...], currency: str) -> tuple[WireBreakdownLine, ...]:
    """The lines in the currency's units, summing to the amount they make."""
    amounts = lines_in_currency([x.amount for x in lines], currency)
    return tuple(
        WireBreakdownLine(code=x.code, label=x.label, amount=a)
        for x, a in zip(lines, amounts, strict=True)
    )


class QuoteView(WireModel):
    """A fare quote: the estimate, the range shown, the planned route and the rules applied.

    >>> from datetime import datetime, timezone
    >>> from vtc_dispatch.geo import LatLng
    >>> from vtc_dispatch.pricing import Pricer, douala_config
    >>> quote = Pricer(douala_config()).quote(LatLng(4.0511, 9.7043), LatLng(4.08, 9.76),
    ...     "taxi_jaune", datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc))
    >>> QuoteView.from_quote(quote).model_dump(mode="json")["display"]
    'between 1 750 and 2 250 XAF'
    """

    vehicle_type: Code
    city: Code
    currency: Currency
    estimate: Amount
    minimum: Amount
    maximum: Amount
    display: str
    distance_km: Quantity
    duration_min: Quantity
    fixed_route: str | None
    """The fixed-price route's code, when the trip follows one."""
    rules_applied: tuple[str, ...]
    breakdown: tuple[WireBreakdownLine, ...]

    @classmethod
    def from_quote(cls, quote: FareQuote) -> QuoteView:
        """The view of ``quote``."""
        return cls(
            vehicle_type=quote.vehicle_type,
            city=quote.city,
            currency=quote.currency,
            estimate=in_currency(quote.estimate, quote.currency),
            minimum=in_currency(quote.minimum, quote.currency),
            maximum=in_currency(quote.maximum, quote.currency),
            display=quote.display,
            distance_km=quote.distance_km,
            duration_min=quote.duration_min,
            fixed_route=quote.fixed_route,
            rules_applied=quote.rules_applied,
            breakdown=_lines(quote.breakdown, quote.currency),
        )


class OfferView(WireModel):
    """The driver being asked, and until when he may answer."""

    driver_id: Id
    expires_at: AwareDatetime


class LiveOfferView(OfferView):
    """A live offer as an operator sees it (``shown`` is false while a batch is staggered)."""

    distance_km: Km
    sent_at: AwareDatetime
    shown: bool


class BidView(WireModel):
    """A carrier's price for the job (bidding mode), valid until ``valid_until`` (``None``:
    while the bidding lasts)."""

    driver_id: Id
    amount: Amount
    at: AwareDatetime
    valid_until: AwareDatetime | None = None


class ProofView(WireModel):
    """The proof of delivery: where and when it was taken, the receiver's code, and the
    reference of a photo or signature (:class:`~vtc_dispatch.order.ProofOfDelivery`)."""

    position: WirePoint
    at: AwareDatetime
    code: str | None
    reference: str | None


class FinalFareView(WireModel):
    """The fare charged at the end of the trip; ``reason`` says how it was set."""

    amount: Amount
    currency: Currency
    reason: str
    distance_km: Quantity
    duration_min: Quantity
    breakdown: tuple[WireBreakdownLine, ...]

    @classmethod
    def from_fare(cls, fare: FinalFare) -> FinalFareView:
        """The view of ``fare``."""
        return cls(
            amount=in_currency(fare.amount, fare.currency),
            currency=fare.currency,
            reason=fare.reason,
            distance_km=fare.distance_km,
            duration_min=fare.duration_min,
            breakdown=_lines(fare.breakdown, fare.currency),
        )


class PriceChangeView(WireModel):
    """One step of the price history: ``from`` (``None`` for the quote) to ``to``, and why."""

    model_config = ConfigDict(serialize_by_alias=True)

    from_: Amount | None = Field(
        serialization_alias="from", validation_alias=AliasChoices("from", "from_")
    )
    to: Amount
    reason: str
    at: AwareDatetime


class CancellationView(WireModel):
    """Who cancelled (a role), why, and the fee charged."""

    by: Code
    reason: str
    fee: Amount


class RatingView(WireModel):
    """Stars (1-5) given by one side (a role), with the comment."""

    by: Code
    stars: Annotated[int, Field(ge=1, le=5)]
    comment: str | None


class HistoryView(WireModel):
    """One step of the lifecycle: the event, the state it led to, the actor's role, when."""

    event: str
    state: str
    actor: str
    at: AwareDatetime


class DriverCardView(WireModel):
    """Who is coming: the driver's name, phone, vehicle, plate and rating (``None`` when
    the host does not say; see :class:`~vtc_dispatch.order.DriverCard`)."""

    driver_id: Id
    name: str | None
    phone: str | None
    vehicle: str | None
    """Make, model, colour."""
    plate: str | None
    rating: Annotated[float, Field(ge=1, le=5)] | None
    """His customers' average stars, ``None`` before the first rating."""

    @classmethod
    def from_card(cls, card: DriverCard) -> DriverCardView:
        """The view of ``card``."""
        return cls(
            driver_id=card.driver_id,
            name=card.name,
            phone=card.phone,
            vehicle=card.vehicle,
            plate=card.plate,
            rating=card.rating,
        )


class DriverView(DriverCardView):
    """A driver as his own app, his customer or an operator sees him: who he is, where,
    and whether his phone is heard from.

    ``position`` dates from ``position_at``; ``seen_at`` is when his phone
    was last heard from.  ``presence`` is ``present``, ``silent`` (nothing
    heard for the presence timeout: his position is stale) or
    ``unreachable`` (his connection closed).  ``offline_reason`` is
    ``silent`` when the service put him offline.
    """

    online: bool
    presence: str
    offline_reason: str | None
    position: WirePoint
    position_at: AwareDatetime
    seen_at: AwareDatetime


def driver_view(status: DriverStatus, card: DriverCard | None = None) -> DriverView:
    """The view of a driver's ``status`` (with his ``card`` when given).

    >>> from datetime import UTC, datetime
    >>> from vtc_dispatch.geo import LatLng
    >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    >>> view = driver_view(DriverStatus("d-1", "taxi_jaune", LatLng(4.05, 9.7), True, at))
    >>> view.presence, view.seen_at == at, view.name
    ('present', True, None)
    """
    card = card or DriverCard(status.driver_id, rating=status.rating)
    return DriverView(
        **DriverCardView.from_card(card).model_dump(),
        online=status.online,
        presence=str(status.presence),
        offline_reason=status.offline_reason,
        position=WirePoint.from_latlng(status.position),
        position_at=status.updated_at,
        seen_at=status.seen_at,
    )


class OrderView(WireModel):
    """An order as its customer or its driver sees it (see :func:`order_view`)."""

    id: Id
    state: str
    customer_id: Id
    driver_id: Id | None
    vehicle_type: Code
    pickup: WirePoint
    destination: WirePoint
    payment_method: PaymentMethod
    payment_status: str
    amount_paid: Amount
    created_at: AwareDatetime
    quote: QuoteView
    offer: OfferView | None
    """The live offer: the first one for the customer, his own for a driver."""
    bids: tuple[BidView, ...]
    """Bids in the running (bidding mode): all for the customer, his own for a driver."""
    final_fare: FinalFareView | None
    price_history: tuple[PriceChangeView, ...]
    cancellation: CancellationView | None
    ratings: tuple[RatingView, ...]
    history: tuple[HistoryView, ...]
    driver: DriverCardView | None = None
    """Who the assigned driver is, when the caller looked it up
    (:meth:`~vtc_dispatch.service.DispatchService.driver_card`)."""
    kind: str = "ride"
    """``ride``, ``freight`` or ``delivery``: which lifecycle ``state`` belongs to."""
    merchant_id: Id | None = None
    goods_amount: Amount | None = None
    """A delivery's goods, charged by the merchant (not priced by the tariffs)."""
    delivery_code: str | None = None
    """The code the receiver gives the driver: shown to the customer, the merchant and
    operators, never to the driver."""
    proof: ProofView | None = None


class OperatorOrderView(OrderView):
    """An order as an operator sees it: the parties' view and the dispatch internals."""

    version: Annotated[int, Field(ge=0)]
    offers: tuple[LiveOfferView, ...]
    """Every live offer, best ranked first."""
    offers_made: Annotated[int, Field(ge=0)]
    tried: tuple[Id, ...]
    """Drivers who refused, let the offer expire or withdrew (sorted)."""
    agreed_price: Amount | None
    wallet_hold: str | None
    route_changed: bool


def order_view(order: Order, viewer: Actor, *, driver: DriverCard | None = None) -> OrderView:
    """``order`` as ``viewer`` sees it; an :class:`OperatorOrderView` for an operator or the system.

    ``driver`` is the card of the order's driver, when the caller has it.
    Whether the viewer may see the order at all is the service's rule
    (the owner check of its commands), not this function's.
    """
    card = None if driver is None else DriverCardView.from_card(driver)
    if viewer.role in ("customer", "driver", "merchant"):
        return OrderView(
            **_party_fields(order, viewer.id if viewer.role == "driver" else None), driver=card
        )
    return OperatorOrderView(
        **_party_fields(order, None),
        driver=card,
        version=order.version,
        offers=tuple(
            LiveOfferView(
                driver_id=o.driver_id,
                expires_at=o.expires_at,
                distance_km=to_metre(o.distance_km),
                sent_at=o.sent_at,
                shown=o.shown,
            )
            for o in order.offers
        ),
        offers_made=order.offers_made,
        tried=tuple(sorted(order.tried)),
        agreed_price=None
        if order.agreed_price is None
        else in_currency(order.agreed_price, order.quote.currency),
        wallet_hold=order.wallet_hold,
        route_changed=order.route_changed,
    )


def _party_fields(order: Order, driver_id: str | None) -> dict[str, Any]:
    # ``driver_id``: the driver looking, who sees only his own offer and bid.
    offer = order.offers[0] if order.offers else None
    if driver_id is not None:
        offer = order.offer_to(driver_id)
    fare = order.final_fare
    cancel = order.cancellation
    currency = order.quote.currency

    def money(amount: Decimal) -> Decimal:
        return in_currency(amount, currency)

    return {
        "id": order.id,
        "state": order.state,
        "customer_id": order.customer_id,
        "driver_id": order.driver_id,
        "vehicle_type": order.vehicle_type,
        "pickup": WirePoint.from_latlng(order.pickup),
        "destination": WirePoint.from_latlng(order.dropoff),
        "payment_method": order.payment_method,
        "payment_status": str(order.payment_status),
        "amount_paid": money(order.amount_paid),
        "created_at": order.created_at,
        "quote": QuoteView.from_quote(order.quote),
        "offer": None
        if offer is None
        else OfferView(driver_id=offer.driver_id, expires_at=offer.expires_at),
        "bids": _bids(order, driver_id),
        "final_fare": None if fare is None else FinalFareView.from_fare(fare),
        "price_history": tuple(
            PriceChangeView(
                from_=None if c.from_amount is None else money(c.from_amount),
                to=money(c.to_amount),
                reason=c.reason,
                at=c.at,
            )
            for c in order.price_history
        ),
        "cancellation": None
        if cancel is None
        else CancellationView(by=cancel.by.role, reason=cancel.reason, fee=money(cancel.fee)),
        "ratings": tuple(
            RatingView(by=r.by.role, stars=r.stars, comment=r.comment) for r in order.ratings
        ),
        "history": tuple(
            HistoryView(event=h.event, state=h.target, actor=h.actor, at=h.at)
            for h in order.lifecycle.history
        ),
        "kind": str(order.kind),
        "merchant_id": order.merchant_id,
        "goods_amount": order.goods_amount,
        # The driver proves the delivery with the code: he must get it from the receiver.
        "delivery_code": None if driver_id is not None else order.delivery_code,
        "proof": None if order.proof is None else _proof_view(order.proof),
    }


def _bids(order: Order, driver_id: str | None) -> tuple[BidView, ...]:
    """The bids in the running: all of them, or only ``driver_id``'s (a carrier looking)."""
    currency = order.quote.currency
    return tuple(
        BidView(
            driver_id=b.driver_id,
            amount=in_currency(b.amount, currency),
            at=b.at,
            valid_until=b.valid_until,
        )
        for b in order.bids
        if driver_id is None or b.driver_id == driver_id
    )


class BidsView(WireModel):
    """The bids on an order in the running (bidding mode), in its quote's currency: all of
    them for the customer (the shipper) and operators, his own for a carrier."""

    order_id: Id
    state: str
    currency: Currency
    bids: tuple[BidView, ...]


def bids_view(order: Order, viewer: Actor) -> BidsView:
    """The bids on ``order`` as ``viewer`` sees them (whether he may see the order is the
    service's rule).

    >>> from datetime import UTC, datetime
    >>> from vtc_dispatch.geo import LatLng
    >>> from vtc_dispatch.memory import ManualClock
    >>> from vtc_dispatch.pricing import dakar_config
    >>> from vtc_dispatch.service import DispatchService
    >>> service = DispatchService(pricing=dakar_config(),
    ...     clock=ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)))
    >>> for carrier, lat in (("k1", 14.671), ("k2", 14.672)):
    ...     service.driver_online(carrier, "camion_10t", LatLng(lat, -17.439))
    >>> draft = service.create_order("s-1", LatLng(14.67, -17.44), LatLng(14.69, -17.45),
    ...     "camion_10t", "WAVE")
    >>> load = service.post_load(Actor.customer("s-1"), draft.id)
    >>> for carrier, amount in (("k1", 61000), ("k2", 58000)):
    ...     load = service.submit_bid(carrier, load.id, Decimal(amount))
    >>> [(b.driver_id, str(b.amount)) for b in bids_view(load, Actor.customer("s-1")).bids]
    [('k1', '61000'), ('k2', '58000')]
    >>> [b.driver_id for b in bids_view(load, Actor.driver("k2")).bids]
    ['k2']
    """
    return BidsView(
        order_id=order.id,
        state=order.state,
        currency=order.quote.currency,
        bids=_bids(order, viewer.id if viewer.role == "driver" else None),
    )


def _proof_view(proof: ProofOfDelivery) -> ProofView:
    return ProofView(
        position=WirePoint.from_latlng(proof.position),
        at=proof.at,
        code=proof.code,
        reference=proof.reference,
    )


def order_json(order: Order, viewer: Actor, *, driver: DriverCard | None = None) -> dict[str, Any]:
    """:func:`order_view` as JSON data (what ``json.dumps`` writes as is)."""
    return order_view(order, viewer, driver=driver).model_dump(mode="json")


class LineStringView(WireModel):
    """A GeoJSON LineString: ``coordinates`` are ``[lng, lat]`` pairs, as GeoJSON wants."""

    type: Literal["LineString"] = "LineString"
    coordinates: tuple[tuple[float, float], ...]


class RouteLegView(WireModel):
    """Which route a feature is (``planned``, ``approach``, ``actual``) and the times of
    its positions (``null`` for the planned line's ends)."""

    route: Literal["planned", "approach", "actual"]
    times: tuple[AwareDatetime | None, ...]


class RouteFeatureView(WireModel):
    """One route as a GeoJSON Feature; ``geometry`` is ``null`` for fewer than two positions."""

    type: Literal["Feature"] = "Feature"
    properties: RouteLegView
    geometry: LineStringView | None


class RouteOrderView(WireModel):
    """The order a route collection is of: its id, kind and state."""

    order_id: Id
    kind: str
    state: str


class RouteView(WireModel):
    """An order's planned and actual routes as a GeoJSON FeatureCollection (see
    :func:`route_geojson`)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    properties: RouteOrderView
    features: tuple[RouteFeatureView, ...]


def _tracks(order: Order, progress: RideProgress | None) -> tuple[Track, Track]:
    """The approach and the trip: ``progress``'s while the order runs, the order's after."""
    if progress is None:
        return order.approach, order.trip
    return progress.approach, progress.trip


def route_geojson(order: Order, progress: RideProgress | None = None) -> dict[str, Any]:
    """The order's planned and actual routes as a GeoJSON FeatureCollection (:class:`RouteView`).

    ``planned`` is the line from the pickup to the destination; ``approach``
    and ``actual`` are the driver's accepted positions on the way to the
    pickup and from it (from ``progress`` while the order runs, from the
    order once it ended).  Coordinates are ``[lng, lat]``, as GeoJSON wants;
    each line's ``times`` are the positions' times (ISO 8601); a line of
    fewer than two positions has no geometry (``null``).

    >>> from datetime import UTC, datetime
    >>> from vtc_dispatch.fsm import FREIGHT
    >>> from vtc_dispatch.geo import LatLng
    >>> from vtc_dispatch.pricing import Pricer, douala_config
    >>> t0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    >>> a, b = LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250)
    >>> quote = Pricer(douala_config()).quote(a, b, "taxi_jaune", t0)
    >>> load = Order("o1", "s", "taxi_jaune", a, b, "CASH", quote, FREIGHT.start("o1", t0), t0)
    >>> routes = route_geojson(load)
    >>> [f["properties"]["route"] for f in routes["features"]]
    ['planned', 'approach', 'actual']
    >>> routes["features"][0]["geometry"]["coordinates"]
    [[9.7043, 4.0511], [9.725, 4.065]]
    """
    approach, trip = _tracks(order, progress)
    planned = _line("planned", [(order.pickup, None), (order.dropoff, None)])
    view = RouteView(
        properties=RouteOrderView(order_id=order.id, kind=str(order.kind), state=order.state),
        features=(
            planned,
            _line("approach", [(p.position, p.at) for p in approach.points if p.accepted]),
            _line("actual", [(p.position, p.at) for p in trip.points if p.accepted]),
        ),
    )
    return view.model_dump(mode="json")


def _line(
    route: Literal["planned", "approach", "actual"], points: list[tuple[LatLng, datetime | None]]
) -> RouteFeatureView:
    return RouteFeatureView(
        properties=RouteLegView(route=route, times=tuple(at for _, at in points)),
        # A LineString needs two positions: fewer (no fix yet) is a feature without geometry.
        geometry=None
        if len(points) < 2
        else LineStringView(coordinates=tuple((p.lng, p.lat) for p, _ in points)),
    )


class PingView(WireModel):
    """One GPS position the driver sent on an order: on his way to the pickup (``approach``)
    or from it (``trip``), when it was measured, and ``flag``, why it was set aside
    (``jump``, ``stale``, ``out_of_order``, ``duplicate``, ``future``, ``inaccurate``;
    ``null`` for a position taken)."""

    leg: Literal["approach", "trip"]
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lng: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    at: AwareDatetime
    flag: str | None


class PingsView(WireModel):
    """The GPS positions of an order's driver, in the order they were recorded (see
    :func:`order_pings`)."""

    order_id: Id
    pings: tuple[PingView, ...]


def order_pings(order: Order, progress: RideProgress | None = None) -> dict[str, Any]:
    """Every GPS position recorded on the order (:class:`PingsView`), the set-aside ones
    with their flag: the approach's, then the trip's (from ``progress`` while the order
    runs, from the order once it ended).

    >>> from datetime import UTC, datetime
    >>> from vtc_dispatch.fsm import FREIGHT
    >>> from vtc_dispatch.geo import LatLng
    >>> from vtc_dispatch.pricing import Pricer, douala_config
    >>> from vtc_dispatch.tracking import Flag, TrackPoint
    >>> t0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    >>> a, b = LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250)
    >>> quote = Pricer(douala_config()).quote(a, b, "taxi_jaune", t0)
    >>> load = Order("o1", "s", "taxi_jaune", a, b, "CASH", quote, FREIGHT.start("o1", t0), t0,
    ...     trip=Track((TrackPoint(a, t0), TrackPoint(b, t0, Flag.JUMP))))
    >>> [(p["leg"], p["flag"]) for p in order_pings(load)["pings"]]
    [('trip', None), ('trip', 'jump')]
    """
    approach, trip = _tracks(order, progress)
    legs: tuple[tuple[Literal["approach", "trip"], Track], ...] = (
        ("approach", approach),
        ("trip", trip),
    )
    view = PingsView(
        order_id=order.id,
        pings=tuple(
            PingView(
                leg=leg,
                lat=p.position.lat,
                lng=p.position.lng,
                at=p.at,
                flag=None if p.flag is None else str(p.flag),
            )
            for leg, track in legs
            for p in track.points
        ),
    )
    return view.model_dump(mode="json")


class NearbyDriverView(WireModel):
    """An available driver (a carrier, a rider) near a place: where he is, how far, when
    his phone was last heard from, and his customers' average stars."""

    driver_id: Id
    vehicle_type: Code
    position: WirePoint
    distance_km: Km
    seen_at: AwareDatetime
    rating: Annotated[float, Field(ge=1, le=5)] | None


class DriversNearView(WireModel):
    """The available drivers within a radius, nearest first."""

    drivers: tuple[NearbyDriverView, ...]


def drivers_near_view(found: Iterable[tuple[DriverStatus, float]]) -> DriversNearView:
    """The view of :meth:`~vtc_dispatch.service.DispatchService.drivers_near`'s answer."""
    return DriversNearView(
        drivers=tuple(
            NearbyDriverView(
                driver_id=status.driver_id,
                vehicle_type=status.vehicle_type,
                position=WirePoint.from_latlng(status.position),
                distance_km=to_metre(km),
                seen_at=status.seen_at,
                rating=status.rating,
            )
            for status, km in found
        )
    )


class DriverStatusView(WireModel):
    """A driver's switch as his app sees it after going online or offline: whether he is
    online, with which vehicle type, and the order he drives (``None`` without one)."""

    driver_id: Id
    online: bool
    vehicle_type: Code
    order_id: Id | None

    @classmethod
    def from_status(cls, status: DriverStatus) -> DriverStatusView:
        """The view of ``status``."""
        return cls(
            driver_id=status.driver_id,
            online=status.online,
            vehicle_type=status.vehicle_type,
            order_id=status.order_id,
        )


class PositionAnswerView(WireModel):
    """What became of a GPS fix (:class:`~vtc_dispatch.order.PositionAnswer`): ``accepted``,
    or refused with its ``reason`` (``jump``, ``stale``, ``out_of_order``, ``duplicate``,
    ``future``, ``inaccurate``, ``offline``); ``resync``: the fix resynchronised the
    track; ``offline_reason``: why the service put the driver offline; ``error``: in a
    batch, what was wrong with a fix refused as ``invalid`` or ``unknown_driver``."""

    accepted: bool
    reason: str | None
    resync: bool
    offline_reason: str | None
    error: str | None

    @classmethod
    def from_answer(cls, answer: PositionAnswer) -> PositionAnswerView:
        """The view of ``answer``."""
        return cls(
            accepted=answer.accepted,
            reason=answer.reason,
            resync=answer.resync,
            offline_reason=answer.offline_reason,
            error=answer.error,
        )


class TrackPointView(WireModel):
    """One accepted position of a ride's track, with when it was measured."""

    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lng: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    at: AwareDatetime


class RideTrackView(WireModel):
    """An order as its customer follows it: the order, its driver while the ride is live
    (where he is, ``position_at``, and whether his phone is heard from), and the track's
    accepted positions (the trip's once it started, else the driver's approach)."""

    order: OrderView
    driver: DriverView | None
    track: tuple[TrackPointView, ...]

    @classmethod
    def of(
        cls,
        order: OrderView,
        driver: DriverView | None,
        track: Track,
    ) -> RideTrackView:
        """The view of ``order`` as seen, its ``driver`` and ``track``."""
        return cls(
            order=order,
            driver=driver,
            track=tuple(
                TrackPointView(lat=p.position.lat, lng=p.position.lng, at=p.at)
                for p in track.points
                if p.accepted
            ),
        )


class PaymentMethodView(WireModel):
    """A payment method: its ``code`` (``CASH``, ``OM``...) and the label a customer reads."""

    code: PaymentMethod
    label: str


class PaymentMethodsView(WireModel):
    """The payment methods enabled at a place, in the operator's order.

    >>> PaymentMethodsView.of(["CASH", "OM"]).model_dump()["payment_methods"][1]
    {'code': 'OM', 'label': 'Orange Money'}
    """

    payment_methods: tuple[PaymentMethodView, ...]

    @classmethod
    def of(cls, codes: Iterable[str]) -> PaymentMethodsView:
        """The view of the methods ``codes`` (labels from :func:`~vtc_dispatch.payments.label`)."""
        return cls(
            payment_methods=tuple(PaymentMethodView(code=c, label=payment_label(c)) for c in codes)
        )


class VehicleTypeCountView(WireModel):
    """A vehicle type with its label and how many drivers of it are available nearby."""

    vehicle_type: Code
    label: str
    count: Annotated[int, Field(ge=0)]


class VehicleTypesView(WireModel):
    """The vehicle types with available drivers near a place, by code."""

    vehicle_types: tuple[VehicleTypeCountView, ...]


class PaymentReceiptView(WireModel):
    """The answer to a payment provider's callback: the order's payment status after it."""

    order_id: Id
    payment_status: str


class DashboardPeriodView(WireModel):
    """A dashboard's period: whole local days ``first_day`` to ``last_day`` (both
    included), the instants ``start`` (included) to ``end`` (excluded), in ``timezone``;
    ``name``: ``today``, ``7d``, ``30d``, or ``null`` for dates."""

    name: str | None
    first_day: date
    last_day: date
    start: AwareDatetime
    end: AwareDatetime
    timezone: str

    @classmethod
    def of(cls, period: Period) -> DashboardPeriodView:
        """The view of ``period``."""
        return cls(
            name=period.name,
            first_day=period.first_day,
            last_day=period.last_day,
            start=period.start,
            end=period.end,
            timezone=period.timezone,
        )


class MethodTotalView(WireModel):
    """Money of one payment method in one currency: the rides done, their fares, the
    cancellation fees, and the total (exact sums of the amounts as shown)."""

    payment_method: PaymentMethod
    currency: Currency
    rides: Annotated[int, Field(ge=0)]
    fares: Amount
    fees: Amount
    total: Amount

    @classmethod
    def of(cls, total: MethodTotal) -> MethodTotalView:
        """The view of ``total``."""
        return cls(
            payment_method=total.payment_method,
            currency=total.currency,
            rides=total.rides,
            fares=total.fares,
            fees=total.fees,
            total=total.total,
        )


class RatingFigureView(WireModel):
    """Stars: how many, and their average to two decimals (``null`` without any)."""

    count: Annotated[int, Field(ge=0)]
    average: Annotated[float, Field(ge=1, le=5)] | None

    @classmethod
    def of(cls, figure: RatingFigure) -> RatingFigureView:
        """The view of ``figure``."""
        average = figure.average
        return cls(count=figure.count, average=None if average is None else round(average, 2))


class DriverDashboardView(WireModel):
    """A driver's figures over a period: rides done, earnings by payment method, time
    online (``online_s``, and in hours to two decimals), the offers he accepted, refused
    and let expire with his acceptance rate (three decimals, ``null`` without any), the
    rides he cancelled after accepting, the stars his customers gave in the period and
    overall (:mod:`vtc_dispatch.dashboards`)."""

    driver_id: Id
    period: DashboardPeriodView
    rides_done: Annotated[int, Field(ge=0)]
    earnings: tuple[MethodTotalView, ...]
    online_s: WholeSeconds
    hours_online: Annotated[float, Field(ge=0)]
    accepted: Annotated[int, Field(ge=0)]
    refused: Annotated[int, Field(ge=0)]
    expired: Annotated[int, Field(ge=0)]
    acceptance_rate: Annotated[float, Field(ge=0, le=1)] | None
    cancelled_after_accept: Annotated[int, Field(ge=0)]
    rating: RatingFigureView
    overall_rating: RatingFigureView

    @classmethod
    def of(cls, board: DriverDashboard) -> DriverDashboardView:
        """The view of ``board``.

        >>> from datetime import UTC
        >>> from vtc_dispatch.dashboards import period_of
        >>> now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
        >>> board = DriverDashboard("amadou", period_of("today", now, UTC), 0, (), 5400.0,
        ...     3, 1, 0, 0, RatingFigure(2, 9), RatingFigure())
        >>> view = DriverDashboardView.of(board).model_dump(mode="json")
        >>> view["hours_online"], view["acceptance_rate"], view["rating"]
        (1.5, 0.75, {'count': 2, 'average': 4.5})
        """
        rate = board.acceptance_rate
        online_s = round(board.online_s)
        return cls(
            driver_id=board.driver_id,
            period=DashboardPeriodView.of(board.period),
            rides_done=board.rides_done,
            earnings=tuple(MethodTotalView.of(t) for t in board.earnings),
            online_s=online_s,
            hours_online=round(online_s / 3600, 2),
            accepted=board.accepted,
            refused=board.refused,
            expired=board.expired,
            acceptance_rate=None if rate is None else round(rate, 3),
            cancelled_after_accept=board.cancelled_after_accept,
            rating=RatingFigureView.of(board.rating),
            overall_rating=RatingFigureView.of(board.overall_rating),
        )


class CustomerDashboardView(WireModel):
    """A customer's figures over a period: orders placed, rides done, orders cancelled,
    spending by payment method, the stars he gave and received in the period, and all he
    received (:mod:`vtc_dispatch.dashboards`)."""

    customer_id: Id
    period: DashboardPeriodView
    orders_placed: Annotated[int, Field(ge=0)]
    rides_done: Annotated[int, Field(ge=0)]
    cancelled: Annotated[int, Field(ge=0)]
    spending: tuple[MethodTotalView, ...]
    rating_given: RatingFigureView
    rating_received: RatingFigureView
    overall_rating: RatingFigureView

    @classmethod
    def of(cls, board: CustomerDashboard) -> CustomerDashboardView:
        """The view of ``board``."""
        return cls(
            customer_id=board.customer_id,
            period=DashboardPeriodView.of(board.period),
            orders_placed=board.orders_placed,
            rides_done=board.rides_done,
            cancelled=board.cancelled,
            spending=tuple(MethodTotalView.of(t) for t in board.spending),
            rating_given=RatingFigureView.of(board.rating_given),
            rating_received=RatingFigureView.of(board.rating_received),
            overall_rating=RatingFigureView.of(board.overall_rating),
        )


def dashboard_view(
    board: DriverDashboard | CustomerDashboard,
) -> DriverDashboardView | CustomerDashboardView:
    """The JSON form of a driver's or a customer's dashboard."""
    if isinstance(board, DriverDashboard):
        return DriverDashboardView.of(board)
    return CustomerDashboardView.of(board)


# -- the operator's live map (vtc_dispatch.livemap) ------------------------------------


class MapDriverView(WireModel):
    """An online driver on the operator's live map: where he is and what he is doing.

    ``state`` is one of :class:`~vtc_dispatch.livemap.DriverMapState`
    (``available``, ``offered``, ``on_the_way``, ``on_ride``, ``silent``,
    ``blocked``); ``order_id`` the order he is offered or drives.
    """

    id: Id
    vehicle_type: Code
    state: str
    position: WirePoint
    order_id: Id | None
    seen_at: AwareDatetime
    """When his phone was last heard from."""


def map_driver_view(status: DriverStatus, state: str) -> MapDriverView:
    """The map's view of a driver's ``status`` in the map ``state`` the caller worked out.

    >>> from datetime import UTC, datetime
    >>> from vtc_dispatch.geo import LatLng
    >>> at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    >>> status = DriverStatus("d-1", "taxi_jaune", LatLng(4.05, 9.7), True, at)
    >>> map_driver_view(status, "available").model_dump_json()[:80]
    '{"id":"d-1","vehicle_type":"taxi_jaune","state":"available","position":{"lat":4.'
    """
    return MapDriverView(
        id=status.driver_id,
        vehicle_type=status.vehicle_type,
        state=state,
        position=WirePoint.from_latlng(status.position),
        order_id=status.order_id,
        seen_at=status.seen_at,
    )


class MapOrderView(WireModel):
    """An active order on the operator's live map: its pickup, destination and driver.

    ``state`` is the order's own (its kind's machine), ``phase`` the ride's
    state it plays (``draft``, ``searching``, ``accepted``, ``arrived``,
    ``in_progress``, ``no_driver``), the same for every kind.
    """

    id: Id
    kind: str
    state: str
    phase: str
    vehicle_type: Code
    customer_id: Id
    driver_id: Id | None
    pickup: WirePoint
    destination: WirePoint
    created_at: AwareDatetime


def map_order_view(order: Order) -> MapOrderView:
    """The map's view of ``order``."""
    return MapOrderView(
        id=order.id,
        kind=str(order.kind),
        state=order.state,
        phase=str(order.phase),
        vehicle_type=order.vehicle_type,
        customer_id=order.customer_id,
        driver_id=order.driver_id,
        pickup=WirePoint.from_latlng(order.pickup),
        destination=WirePoint.from_latlng(order.dropoff),
        created_at=order.created_at,
    )


class MapSnapshotMessage(WireModel):
    """The whole live map at ``at``: every online driver and every active order, read
    from the stores (the first message of the map's socket, and again now and then).

    ``truncated``: there were more drivers or orders than the host's limits, the
    most recently heard from and the newest kept.
    """

    type: Literal["map_snapshot"] = "map_snapshot"
    at: AwareDatetime
    drivers: tuple[MapDriverView, ...]
    orders: tuple[MapOrderView, ...]
    truncated: bool = False


class MapUpdateMessage(WireModel):
    """What changed on the live map during one batching window, as one message.

    ``moves``: the latest position of each driver who only moved, as
    ``[driver_id, lat, lng]`` (degrees, rounded to 6 decimals: 0.1 m): a
    compact form, as thousands of drivers move every few seconds;
    ``drivers`` and ``orders``: those whose state changed, as they now are;
    ``gone_drivers`` (offline) and ``gone_orders`` (ended): to take off the map.
    """

    type: Literal["map_update"] = "map_update"
    at: AwareDatetime
    moves: tuple[tuple[Id, float, float], ...] = ()
    drivers: tuple[MapDriverView, ...] = ()
    gone_drivers: tuple[Id, ...] = ()
    orders: tuple[MapOrderView, ...] = ()
    gone_orders: tuple[Id, ...] = ()


class MapDriverDetails(WireModel):
    """A driver clicked on the live map: who he is, what he is doing, the order he is
    offered or drives, and that order's routes so far (:func:`route_geojson`: the
    planned line, his approach and the trip), ``None`` without an order."""

    driver: DriverView
    state: str
    order: OperatorOrderView | None
    route: dict[str, Any] | None


class MapOrderDetails(WireModel):
    """An order clicked on the live map: the order as an operator sees it, its driver
    (``None`` before one accepts) and its routes so far (:func:`route_geojson`)."""

    order: OperatorOrderView
    driver: DriverView | None
    route: dict[str, Any]
