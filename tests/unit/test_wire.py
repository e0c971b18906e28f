"""The wire messages: JSON round trips, string amounts, precise errors, events to messages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, get_args

import pytest
from places import AKWA, DEIDO, T0, WAT
from pydantic import BaseModel

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
    InvalidEvent,
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
from vtc_dispatch.geo import LatLng
from vtc_dispatch.kinds import MerchantStatus
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Actor, DriverCard, DriverStatus, Presence
from vtc_dispatch.presentation import (
    DriverCardView,
    DriverView,
    OrderView,
    driver_view,
    order_view,
)
from vtc_dispatch.pricing import FareQuote, FinalFare, PriceChange, Pricer, douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch.wire import (
    AcceptBidMessage,
    AcceptMessage,
    ArrivedMessage,
    BidAcceptedMessage,
    BidMessage,
    BidReceivedMessage,
    CancelMessage,
    CompleteMessage,
    CreateOrderMessage,
    DeliverMessage,
    DepartMessage,
    DriverArrivedMessage,
    DriverArrivingMessage,
    DriverAssignedMessage,
    DriverLocationMessage,
    DriversAvailableMessage,
    DriverSilentMessage,
    DriverWithdrewMessage,
    ErrorMessage,
    InvalidMessage,
    LocationMessage,
    MerchantUpdateMessage,
    NoDriverFoundMessage,
    OfferMessage,
    OfferWithdrawnMessage,
    OkMessage,
    OrderCancelledMessage,
    OrderCreatedMessage,
    OrderStatusMessage,
    PingMessage,
    PongMessage,
    PositionRefusedMessage,
    Recipient,
    RejectMessage,
    SearchAgainMessage,
    SearchMessage,
    StartMessage,
    StateMessage,
    SuspensionMessage,
    TripCompletedMessage,
    TripStartedMessage,
    VehicleTypeAvailability,
    WentOfflineMessage,
    WireBreakdownLine,
    WirePoint,
    json_schemas,
    parse_customer_message,
    parse_customer_outbound,
    parse_driver_message,
    parse_driver_outbound,
    to_wire,
)

DRIVER_AT = LatLng(4.0450, 9.7000)
LATER = T0 + timedelta(minutes=25)

DESIGN_TYPES = {
    # driver receives / sends
    "offer", "offer_withdrawn", "order_cancelled",
    "location", "accept", "reject", "arrived", "start", "complete",
    # customer sends / receives
    "search", "create_order", "cancel",
    "drivers_available", "driver_assigned", "driver_location", "driver_arriving",
    "driver_arrived", "trip_started", "trip_completed", "no_driver_found",
    # beyond DESIGN: the driver who accepted cancelled, the search goes on
    "driver_withdrew",
    # beyond DESIGN: bidding mode (freight, seed 001)
    "bid", "accept_bid", "bid_received",
    # beyond DESIGN: freight and delivery steps (issue 19)
    "depart", "deliver", "order_status", "bid_accepted", "merchant_update",
    # both sides, first on a connection
    "state",
    # the protocol around the phone: acknowledgements, presence, refused fixes (issue 14)
    "ok", "error", "order_created", "position_refused", "ping", "pong", "went_offline",
    "driver_silent", "search_again",
    # an operator's suspension, told to the driver (issue 16)
    "suspension",
}  # fmt: skip


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    return Pricer(douala_config())


@pytest.fixture(scope="module")
def quote(pricer: Pricer) -> FareQuote:
    return pricer.quote(AKWA, DEIDO, "taxi_jaune", T0)


@pytest.fixture(scope="module")
def fare(pricer: Pricer, quote: FareQuote) -> FinalFare:
    # A long detour: the meter runs again, so the breakdown has several lines.
    return pricer.final_fare(quote, distance_km=14.2, duration_min=41.0, at=LATER, waiting_min=9.0)


def point(p: LatLng) -> WirePoint:
    return WirePoint.from_latlng(p)


# -- round trips ----------------------------------------------------------------------


def driver_inbound() -> list[BaseModel]:
    return [
        LocationMessage(position=point(DRIVER_AT)),
        LocationMessage(position=point(DRIVER_AT), at=T0, order_id="o-1"),
        LocationMessage(position=point(DRIVER_AT), accuracy_m=12.5),
        PingMessage(),
        AcceptMessage(order_id="o-1"),
        RejectMessage(order_id="o-1"),
        ArrivedMessage(order_id="o-1"),
        StartMessage(order_id="o-1"),
        CompleteMessage(order_id="o-1"),
        CompleteMessage(order_id="o-1", waiting_min=7.5, supplements=("luggage",)),
        BidMessage(order_id="o-1", amount=Decimal("45000")),
        BidMessage(order_id="o-1", amount=Decimal("45000"), valid_for_s=3600),
        DepartMessage(order_id="o-1"),
        DeliverMessage(order_id="o-1", position=point(DEIDO), at=T0, code="482913"),
        DeliverMessage(
            order_id="o-1", position=point(DEIDO), at=T0, code="482913", reference="pod/17.jpg"
        ),
    ]


def customer_inbound() -> list[BaseModel]:
    return [
        SearchMessage(pickup=point(AKWA), destination=point(DEIDO)),
        CreateOrderMessage(
            pickup=point(AKWA), destination=point(DEIDO), vehicle_type="confort",
            payment_method="MOMO", supplements=("luggage", "extra_stop"),
        ),
        CreateOrderMessage(
            pickup=point(AKWA), destination=point(DEIDO), vehicle_type="taxi_jaune",
            payment_method="CASH",
        ),
        CancelMessage(order_id="o-1", reason="driver too far"),
        SearchAgainMessage(order_id="o-1"),
        AcceptBidMessage(order_id="o-1", driver_id="d-7"),
        CreateOrderMessage(
            pickup=point(AKWA), destination=point(DEIDO), vehicle_type="moto_livraison",
            payment_method="CASH", merchant_id="resto-1", goods_amount=Decimal("7500"),
        ),
        MerchantUpdateMessage(order_id="o-1", status=MerchantStatus.PREPARING),
    ]  # fmt: skip


def cancelled() -> OrderCancelledMessage:
    return OrderCancelledMessage(
        order_id="o-1", cancelled_by="customer", reason="changed my mind",
        fee=Decimal("300"), currency="XAF", at=T0,
    )  # fmt: skip


def completed() -> TripCompletedMessage:
    return TripCompletedMessage(
        order_id="o-1", amount=Decimal("8.50"), currency="EUR", reason="recomputed",
        breakdown=(
            WireBreakdownLine(code="base_fare", label="Base fare", amount=Decimal("8.55")),
            WireBreakdownLine(code="rounding", label="Rounding", amount=Decimal("-0.05")),
        ),
        distance_km=12.345, duration_min=31.5, at=T0,
    )  # fmt: skip


def an_order_view() -> OrderView:
    """A searching order as its customer sees it (an offer out, a quote with a breakdown)."""
    service = DispatchService(pricing=douala_config(), clock=ManualClock(T0))
    service.driver_online("d-7", "taxi_jaune", DRIVER_AT)
    order = service.create_order("c-1", AKWA, DEIDO, "taxi_jaune", "CASH")
    return order_view(order, Actor.customer("c-1"))


def driver_outbound() -> list[BaseModel]:
    return [
        OfferMessage(
            order_id="o-1", pickup=point(AKWA), destination=point(DEIDO),
            vehicle_type="taxi_jaune", fare_min=Decimal("1750"), fare_max=Decimal("2250"),
            currency="XAF", distance_to_pickup_km=0.71, timeout_s=30.0,
            expires_at=T0 + timedelta(seconds=30), at=T0,
        ),
        OfferWithdrawnMessage(order_id="o-1", reason="expired", at=T0.astimezone(WAT)),
        cancelled(),
        completed(),
        StateMessage(order=None),
        StateMessage(
            order=None,
            offer=OfferMessage(
                order_id="o-1", pickup=point(AKWA), destination=point(DEIDO),
                vehicle_type="taxi_jaune", fare_min=Decimal("1750"), fare_max=Decimal("2250"),
                currency="XAF", distance_to_pickup_km=0.71, timeout_s=12.5,
                expires_at=T0 + timedelta(seconds=30), at=T0 + timedelta(seconds=17.5),
            ),
            driver=a_driver_view(),
        ),
        OkMessage(id="7", order_id="o-1", state="accepted"),
        OkMessage(id=None),
        ErrorMessage(id="8", error="OfferExpired", detail="the offer expired", field=None),
        PositionRefusedMessage(id="9", reason="jump"),
        PositionRefusedMessage(reason="offline", offline_reason="silent"),
        PongMessage(id="10", at=T0, online=True),
        WentOfflineMessage(reason="silent", at=T0),
        SuspensionMessage(suspended=True, reason="complaints", at=T0),
        BidAcceptedMessage(order_id="o-1", amount=Decimal(45000), currency="XOF", at=T0),
    ]  # fmt: skip


def customer_outbound() -> list[BaseModel]:
    return [
        DriversAvailableMessage(vehicle_types=()),
        DriversAvailableMessage(
            vehicle_types=(
                VehicleTypeAvailability(
                    vehicle_type="confort", label="Confort", count=4, nearest_km=1.25,
                    eta_s=240, fare_min=Decimal("3450"), fare_max=Decimal("4350"),
                    fare_estimate=Decimal("3900"), currency="XAF",
                    display="between 3 450 and 4 350 XAF",
                ),
            )
        ),
        DriverAssignedMessage(
            order_id="o-1", driver_id="d-7", vehicle_type="confort",
            position=point(DRIVER_AT), eta_s=180, at=T0,
        ),
        DriverLocationMessage(
            order_id="o-1", driver_id="d-7", position=point(DRIVER_AT), eta_s=None, at=T0
        ),
        DriverLocationMessage(
            order_id="o-1", driver_id="d-7", position=point(DRIVER_AT), eta_s=95, at=T0
        ),
        DriverArrivingMessage(order_id="o-1", distance_km=0.3, eta_s=50, at=T0),
        DriverArrivedMessage(order_id="o-1", at=T0),
        TripStartedMessage(order_id="o-1", at=T0),
        completed(),
        NoDriverFoundMessage(order_id="o-1", at=T0),
        DriverWithdrewMessage(order_id="o-1", reason="flat tyre", at=T0),
        BidReceivedMessage(
            order_id="o-1", driver_id="d-7", amount=Decimal(45000), currency="XOF",
            distance_km=3.2, at=T0,
        ),
        BidReceivedMessage(
            order_id="o-1", driver_id="d-7", amount=Decimal(45000), currency="XOF",
            distance_km=3.2, at=T0, valid_until=LATER,
        ),
        OrderStatusMessage(
            order_id="o-1", kind="delivery", event="deliver", state="delivered", at=T0
        ),
        cancelled(),
        StateMessage(order=an_order_view()),
        StateMessage(order=an_order_view(), driver=a_driver_view()),
        OrderCreatedMessage(id="1", order_id="o-1", state="searching"),
        OkMessage(id="2", order_id="o-1", state="cancelled"),
        ErrorMessage(error="InvalidMessage", detail="search message: pickup: Field required",
                     field="pickup"),
        DriverSilentMessage(order_id="o-1", driver_id="d-7", seen_at=T0, at=LATER),
        DriverAssignedMessage(
            order_id="o-1", driver_id="d-7", vehicle_type="confort",
            position=point(DRIVER_AT), eta_s=180, at=T0,
            driver=DriverCardView(driver_id="d-7", name="Amadou B.", phone="+237 6 99 00 00 00",
                                  vehicle="Toyota Corolla, yellow", plate="LT 123 AB",
                                  rating=4.8),
        ),
    ]  # fmt: skip


def a_driver_view() -> DriverView:
    """A silent driver on a ride, with his card."""
    status = DriverStatus(
        "d-7",
        "confort",
        DRIVER_AT,
        True,
        T0,
        order_id="o-1",
        rating_sum=48,
        rating_count=10,
        seen_at=T0,
        presence=Presence.SILENT,
    )
    return driver_view(status, DriverCard("d-7", name="Amadou B.", plate="LT 123 AB", rating=4.8))


Parser = Callable[[str | bytes | dict[str, Any]], BaseModel]
DIRECTIONS: list[tuple[str, Callable[[], list[BaseModel]], Parser]] = [
    ("driver inbound", driver_inbound, parse_driver_message),
    ("customer inbound", customer_inbound, parse_customer_message),
    ("driver outbound", driver_outbound, parse_driver_outbound),
    ("customer outbound", customer_outbound, parse_customer_outbound),
]
SAMPLES = [
    pytest.param(message, parse, id=f"{name}:{getattr(message, 'type', '?')}:{i}")
    for name, build, parse in DIRECTIONS
    for i, message in enumerate(build())
]


@pytest.mark.parametrize(("message", "parse"), SAMPLES)
def test_every_message_round_trips_through_json(message: BaseModel, parse: Parser) -> None:
    text = message.model_dump_json()
    assert parse(text) == message
    assert parse(text.encode()) == message
    assert parse(json.loads(text)) == message
    assert json.loads(text)["type"] == type(message).model_fields["type"].default


def test_samples_cover_every_message_type() -> None:
    seen = {getattr(m, "type", None) for _, build, _ in DIRECTIONS for m in build()}
    assert seen == DESIGN_TYPES


def test_amounts_are_strings_in_json(quote: FareQuote, fare: FinalFare) -> None:
    offer = json.loads(driver_outbound()[0].model_dump_json())
    assert (offer["fare_min"], offer["fare_max"], offer["currency"]) == ("1750", "2250", "XAF")
    assert json.loads(cancelled().model_dump_json())["fee"] == "300"
    available = json.loads(customer_outbound()[1].model_dump_json())["vehicle_types"][0]
    assert [available[k] for k in ("fare_min", "fare_max", "fare_estimate")] == [
        "3450",
        "4350",
        "3900",
    ]
    (_, completed), _ = to_wire(TripCompleted("o-1", "d-7", "c-1", fare, LATER))
    data = json.loads(completed.model_dump_json())
    assert isinstance(data["amount"], str)
    assert Decimal(data["amount"]) == fare.amount
    assert all(isinstance(line["amount"], str) for line in data["breakdown"])
    assert sum(Decimal(line["amount"]) for line in data["breakdown"]) == fare.amount


def test_amounts_are_written_in_fixed_point_and_signed_lines_keep_their_sign() -> None:
    line = WireBreakdownLine(code="promo", label="Promotion", amount=Decimal("-1.5E+2"))
    assert json.loads(line.model_dump_json())["amount"] == "-150"
    zero = OrderCancelledMessage(
        order_id="o-1", cancelled_by="driver", reason="", fee=Decimal("-0"), currency="XAF",
        at=T0,
    )  # fmt: skip
    assert json.loads(zero.model_dump_json())["fee"] == "0"
    assert zero.model_dump()["fee"] == Decimal(0)  # Python mode keeps the Decimal


def test_an_amount_is_never_read_from_a_float() -> None:
    data = json.loads(driver_outbound()[0].model_dump_json())
    data["fare_max"] = 2250.5
    with pytest.raises(InvalidMessage) as caught:
        parse_driver_outbound(data)
    assert str(caught.value) == (
        "offer message: fare_max: an amount is a decimal string such as '1250' or '8.50',"
        " got 2250.5"
    )
    data["fare_max"] = 2250  # a JSON integer is exact
    offer = parse_driver_outbound(data)
    assert isinstance(offer, OfferMessage)
    assert offer.fare_max == Decimal(2250)


# -- errors ----------------------------------------------------------------------------


def create_order(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "create_order",
        "pickup": {"lat": 4.0511, "lng": 9.7043},
        "destination": {"lat": 4.08, "lng": 9.76},
        "vehicle_type": "taxi_jaune",
        "payment_method": "OM",
    }
    data.update(changes)
    return data


def test_a_bad_latitude_names_the_message_the_field_and_the_value() -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_customer_message(json.dumps(create_order(pickup={"lat": 91, "lng": 9.7})))
    error = caught.value
    assert str(error) == (
        "create_order message: pickup.lat: Input should be less than or equal to 90 (got 91)"
    )
    assert (error.message_type, error.field) == ("create_order", "pickup.lat")
    assert isinstance(error, DispatchError)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ({"lat": 4.05, "lng": -180.5}, "position.lng: Input should be greater than or equal"),
        ({"lat": "4.05", "lng": 9.7}, "position.lat: Input should be a valid number (got '4.05')"),
        ({"lat": True, "lng": 9.7}, "position.lat: Input should be a valid number (got True)"),
        ({"lat": 4.05}, "position.lng: Field required"),
        ({"lat": 4.05, "lng": 9.7, "alt": 3}, "position.alt: Extra inputs are not permitted"),
    ],
)
def test_positions_are_checked(position: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidMessage, match=rf"^location message: {re.escape(expected)}"):
        parse_driver_message({"type": "location", "position": position})


def test_an_unknown_type_lists_the_types_this_side_may_send() -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_driver_message('{"type": "teleport", "order_id": "o-1"}')
    assert str(caught.value) == (
        "driver message: type: expected one of 'location', 'ping', 'accept', 'reject',"
        " 'arrived', 'start', 'complete', 'bid', 'depart', 'deliver', got 'teleport'"
    )
    assert (caught.value.message_type, caught.value.field) == (None, "type")


def test_a_message_of_the_other_side_is_an_unknown_type() -> None:
    with pytest.raises(InvalidMessage, match=r"^customer message: type: .* got 'accept'$"):
        parse_customer_message({"type": "accept", "order_id": "o-1"})
    with pytest.raises(InvalidMessage, match=r"^driver message: type: .* got 'search'$"):
        parse_driver_message({"type": "search"})


def test_missing_order_id_and_missing_type() -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_driver_message('{"type": "accept"}')
    assert str(caught.value) == "accept message: order_id: Field required"
    assert (caught.value.message_type, caught.value.field) == ("accept", "order_id")
    with pytest.raises(InvalidMessage, match=r"^customer message: type: Field required$"):
        parse_customer_message({"order_id": "o-1", "reason": "late"})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("{not json", r"^driver message: Invalid JSON: "),
        ("[1, 2]", r"^driver message: expected a JSON object, got list$"),
        (b"\xff\xfe", r"^driver message: Invalid JSON"),
        (42, r"^driver message: expected JSON text or a mapping, got int$"),
        ({"type": "accept", "order_id": ""}, r"^accept message: order_id: String should have"),
        ({"type": "accept", "order_id": 17}, r"^accept message: order_id: .* \(got 17\)$"),
        (
            {"type": "reject", "order_id": "o-1", "why": "far"},
            r"^reject message: why: Extra inputs are not permitted \(got 'far'\)$",
        ),
        (
            {"type": "location", "position": {"lat": 4, "lng": 9}, "at": "2026-11-21T09:00:00"},
            r"^location message: at: Input should have timezone info",
        ),
        (
            {"type": "complete", "order_id": "o-1", "waiting_min": -1},
            r"^complete message: waiting_min: .* \(got -1\)$",
        ),
        (
            {"type": "complete", "order_id": "o-1", "supplements": ["ok", "not ok"]},
            r"^complete message: supplements\[1\]: String should match pattern",
        ),
    ],
)
def test_bad_driver_messages(data: Any, expected: str) -> None:
    with pytest.raises(InvalidMessage, match=expected):
        parse_driver_message(data)


def test_several_problems_are_counted() -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_customer_message(create_order(vehicle_type="", payment_method="", pickup=None))
    assert str(caught.value).endswith("(and 2 more problems)")


def test_a_huge_bad_value_is_cut_short_in_the_message() -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_customer_message(create_order(payment_method="X" * 10_000 + "!"))
    assert len(str(caught.value)) < 200
    assert str(caught.value).endswith("...)")


@pytest.mark.parametrize("method", ["CASH", "OM", "MOMO", "WALLET", "CARD", "PAYPAL_2"])
def test_payment_methods_are_upper_case_codes(method: str) -> None:
    order = parse_customer_message(create_order(payment_method=method))
    assert isinstance(order, CreateOrderMessage)
    assert order.payment_method == method


@pytest.mark.parametrize("method", ["", "cash", "Om", "2PAY", "MO MO"])
def test_other_payment_methods_are_refused(method: str) -> None:
    with pytest.raises(InvalidMessage, match=r"^create_order message: payment_method: "):
        parse_customer_message(create_order(payment_method=method))


def test_cancel_needs_a_reason() -> None:
    with pytest.raises(InvalidMessage, match=r"^cancel message: reason: Field required$"):
        parse_customer_message({"type": "cancel", "order_id": "o-1"})


def test_wire_point_converts_to_and_from_latlng() -> None:
    assert WirePoint(lat=4.0511, lng=9.7043).to_latlng() == AKWA
    assert WirePoint(lat=-90, lng=180).to_latlng() == LatLng(-90.0, -180.0)
    assert WirePoint.from_latlng(AKWA).model_dump() == {"lat": 4.0511, "lng": 9.7043}


# -- events --------------------------------------------------------------------------


def test_events_refuse_naive_times_and_stars_out_of_range() -> None:
    with pytest.raises(InvalidEvent, match=r"^DriverWentOffline\.at must be a datetime with"):
        DriverWentOffline("d-7", datetime(2026, 11, 21, 9, 0))
    with pytest.raises(InvalidEvent, match=r"^RatingGiven\.stars must be an integer .* got 0$"):
        RatingGiven("o-1", "driver", "d-7", "c-1", 0, None, T0)
    with pytest.raises(InvalidEvent, match=r"got True$"):
        RatingGiven("o-1", "driver", "d-7", "c-1", True, None, T0)
    with pytest.raises(InvalidEvent, match=r"^OfferSent\.expires_at must be"):
        OfferSent(
            "o-1", "d-7", AKWA, DEIDO, "confort", Decimal(1), Decimal(2), "XAF", 1.0, 30.0,
            datetime(2026, 11, 21, 9, 0, 30), T0,
        )  # fmt: skip


def test_a_price_change_is_dated_by_its_change() -> None:
    change = PriceChange(None, Decimal("2000"), "quote", T0)
    assert PriceChanged("o-1", change).at == T0


def all_events(quote: FareQuote, fare: FinalFare) -> dict[type, Event]:
    events: list[Event] = [
        DriverWentOnline("d-7", "taxi_jaune", DRIVER_AT, T0),
        DriverWentOffline("d-7", T0, "silent"),
        DriverWentSilent("d-7", T0, LATER, "o-1", "c-1"),
        DriverSuspensionChanged("d-7", True, "ops-1", T0, "complaints"),
        DriverMoved("d-7", DRIVER_AT, T0, "o-1"),
        OrderCreated("o-1", "c-1", "taxi_jaune", AKWA, DEIDO, "OM", quote, T0),
        SearchStarted("o-1", T0),
        OfferSent(
            "o-1", "d-7", AKWA, DEIDO, "taxi_jaune", quote.minimum, quote.maximum,
            quote.currency, 0.71, 30.0, T0 + timedelta(seconds=30), T0,
        ),
        OfferWithdrawn("o-1", "d-7", "order_cancelled", T0),
        OfferRejected("o-1", "d-7", T0),
        OfferExpired("o-1", "d-7", T0),
        NoDriverFound("o-1", "c-1", T0),
        DriverWithdrew("o-1", "d-7", "c-1", "flat tyre", T0),
        BidSubmitted("o-1", "d-7", "c-1", Decimal("45000"), "XOF", 3.2, T0),
        BidAccepted("o-1", "d-7", "c-1", Decimal("45000"), "XOF", T0),
        DriverAssigned("o-1", "d-7", "c-1", "taxi_jaune", DRIVER_AT, 179.2, T0),
        DriverLocated("o-1", "d-7", "c-1", DRIVER_AT, 61.0, T0),
        DriverArriving("o-1", "d-7", "c-1", 0.25, 40.5, T0),
        DriverArrived("o-1", "d-7", "c-1", T0),
        TripStarted("o-1", "d-7", "c-1", T0),
        TripCompleted("o-1", "d-7", "c-1", fare, LATER),
        OrderCancelled("o-1", "c-1", "d-7", "customer", "changed my mind", Decimal(300), "XAF", T0),
        RatingGiven("o-1", "customer", "c-1", "d-7", 5, "clean car", LATER),
        PriceChanged("o-1", fare.changes[-1]),
        OrderStepped("o-1", "delivery", "deliver", "delivered", "c-1", "d-7", "m-1", T0),
    ]  # fmt: skip
    return {type(event): event for event in events}


CUSTOMER = Recipient("customer", "c-1")
DRIVER = Recipient("driver", "d-7")
EXPECTED: dict[type, list[tuple[Recipient, str]]] = {
    DriverWentOnline: [],
    DriverWentOffline: [(DRIVER, "went_offline")],
    DriverSuspensionChanged: [(DRIVER, "suspension")],
    DriverWentSilent: [
        (CUSTOMER, "driver_silent"),
        (Recipient("watchers", "o-1"), "driver_silent"),
    ],
    DriverMoved: [],
    OrderCreated: [],
    SearchStarted: [],
    OfferSent: [(DRIVER, "offer")],
    OfferWithdrawn: [(DRIVER, "offer_withdrawn")],
    OfferRejected: [],
    OfferExpired: [(DRIVER, "offer_withdrawn")],
    NoDriverFound: [(CUSTOMER, "no_driver_found")],
    DriverWithdrew: [(CUSTOMER, "driver_withdrew")],
    BidSubmitted: [(CUSTOMER, "bid_received")],
    BidAccepted: [(DRIVER, "bid_accepted")],
    DriverAssigned: [(CUSTOMER, "driver_assigned")],
    DriverLocated: [(CUSTOMER, "driver_location")],
    DriverArriving: [(CUSTOMER, "driver_arriving")],
    DriverArrived: [(CUSTOMER, "driver_arrived")],
    TripStarted: [(CUSTOMER, "trip_started")],
    TripCompleted: [(CUSTOMER, "trip_completed"), (DRIVER, "trip_completed")],
    OrderCancelled: [(CUSTOMER, "order_cancelled"), (DRIVER, "order_cancelled")],
    RatingGiven: [],
    PriceChanged: [],
    OrderStepped: [
        (CUSTOMER, "order_status"),
        (Recipient("watchers", "o-1"), "order_status"),
        (DRIVER, "order_status"),
    ],
}


def test_every_event_kind_is_mapped(quote: FareQuote, fare: FinalFare) -> None:
    events = all_events(quote, fare)
    assert set(events) == set(get_args(Event)) == set(EXPECTED)
    for kind, event in events.items():
        got = [(r, type(m).model_fields["type"].default) for r, m in to_wire(event)]
        assert got == EXPECTED[kind], kind.__name__


def test_every_outbound_message_reaches_its_side_intact(quote: FareQuote, fare: FinalFare) -> None:
    for event in all_events(quote, fare).values():
        for recipient, message in to_wire(event):
            parse = parse_driver_outbound if recipient.role == "driver" else parse_customer_outbound
            assert parse(message.model_dump_json()) == message


def test_offer_carries_the_quoted_range(quote: FareQuote, fare: FinalFare) -> None:
    [(recipient, offer)] = to_wire(all_events(quote, fare)[OfferSent])
    assert recipient == DRIVER
    assert isinstance(offer, OfferMessage)
    assert (offer.fare_min, offer.fare_max) == (quote.minimum, quote.maximum)
    assert offer.pickup.to_latlng() == AKWA
    assert offer.destination.to_latlng() == DEIDO
    assert (offer.timeout_s, offer.expires_at) == (30.0, T0 + timedelta(seconds=30))
    assert offer.distance_to_pickup_km == 0.71


def test_etas_are_whole_seconds_rounded_up(quote: FareQuote, fare: FinalFare) -> None:
    events = all_events(quote, fare)
    [(_, assigned)] = to_wire(events[DriverAssigned])
    [(_, located)] = to_wire(events[DriverLocated])
    [(_, arriving)] = to_wire(events[DriverArriving])
    assert isinstance(assigned, DriverAssignedMessage)
    assert isinstance(located, DriverLocationMessage)
    assert isinstance(arriving, DriverArrivingMessage)
    assert (assigned.eta_s, located.eta_s, arriving.eta_s) == (180, 61, 41)
    assert assigned.position.to_latlng() == DRIVER_AT
    [(_, unknown)] = to_wire(DriverLocated("o-1", "d-7", "c-1", DRIVER_AT, None, T0))
    assert isinstance(unknown, DriverLocationMessage)
    assert unknown.eta_s is None


def test_trip_completed_carries_the_final_fare(quote: FareQuote, fare: FinalFare) -> None:
    [(_, to_customer), (_, to_driver)] = to_wire(all_events(quote, fare)[TripCompleted])
    assert to_customer is to_driver
    assert isinstance(to_customer, TripCompletedMessage)
    assert (to_customer.amount, to_customer.currency, to_customer.reason) == (
        fare.amount,
        fare.currency,
        fare.reason,
    )
    assert [(b.code, b.label, b.amount) for b in to_customer.breakdown] == [
        (line.code, line.label, line.amount) for line in fare.breakdown
    ]
    assert Decimal(repr(to_customer.distance_km)) == fare.distance_km
    assert Decimal(repr(to_customer.duration_min)) == fare.duration_min
    assert to_customer.at == LATER


def test_offer_expiry_and_withdrawal_tell_the_driver_why() -> None:
    [(_, expired)] = to_wire(OfferExpired("o-1", "d-7", T0))
    [(_, withdrawn)] = to_wire(OfferWithdrawn("o-1", "d-7", "order_cancelled", T0))
    assert isinstance(expired, OfferWithdrawnMessage)
    assert isinstance(withdrawn, OfferWithdrawnMessage)
    assert (expired.reason, withdrawn.reason) == ("expired", "order_cancelled")


def test_a_taken_bid_tells_the_carrier_its_amount_in_the_currency() -> None:
    [(recipient, taken)] = to_wire(BidAccepted("o-1", "d-7", "c-1", Decimal("45000.00"), "XOF", T0))
    assert recipient == DRIVER
    assert json.loads(taken.model_dump_json()) == {
        "type": "bid_accepted", "order_id": "o-1", "amount": "45000", "currency": "XOF",
        "at": "2026-11-21T08:00:00Z",
    }  # fmt: skip


def test_a_merchant_reports_one_of_its_three_states_only() -> None:
    for status in ("waiting", "delivered", "READY", 1):
        with pytest.raises(InvalidMessage, match=r"^merchant_update message: status: Input"):
            parse_customer_message({"type": "merchant_update", "order_id": "o-1", "status": status})


def test_a_cancellation_before_assignment_goes_to_the_customer_only() -> None:
    event = OrderCancelled("o-1", "c-1", None, "system", "no payment", Decimal(0), "XAF", T0)
    [(recipient, message)] = to_wire(event)
    assert recipient == CUSTOMER
    assert isinstance(message, OrderCancelledMessage)
    assert json.loads(message.model_dump_json())["fee"] == "0"
    assert message.cancelled_by == "system"


def test_drivers_available_line_from_a_quote(quote: FareQuote) -> None:
    line = VehicleTypeAvailability.from_quote(
        quote, label="Taxi Jaune", count=2, nearest_km=0.8, eta_s=120.0
    )
    assert (line.fare_min, line.fare_max, line.fare_estimate) == (
        quote.minimum,
        quote.maximum,
        quote.estimate,
    )
    assert (line.eta_s, line.display, line.currency) == (120, quote.display, "XAF")


# -- schemas -------------------------------------------------------------------------


def test_json_schemas_describe_every_message() -> None:
    schemas = json_schemas()
    assert set(schemas) == DESIGN_TYPES
    for message_type, schema in schemas.items():
        assert schema["properties"]["type"]["const"] == message_type
        assert schema["required"][0] == "type"
        assert schema["additionalProperties"] is False
    assert schemas["offer"]["properties"]["fare_min"]["type"] == "string"
    lat = schemas["search"]["$defs"]["WirePoint"]["properties"]["lat"]
    assert (lat["minimum"], lat["maximum"]) == (-90, 90)
    assert "order_id" not in schemas["location"]["required"]


def test_the_module_prints_the_schemas_as_one_json_document() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vtc_dispatch.wire"], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == json.loads(json.dumps(json_schemas()))
