"""Wire messages carry positions, amounts, ids and times through JSON exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from strategies import points

from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.wire import (
    DriversAvailableMessage,
    LocationMessage,
    OfferMessage,
    VehicleTypeAvailability,
    WirePoint,
    parse_customer_outbound,
    parse_driver_message,
    parse_driver_outbound,
)

ids = st.text(min_size=1, max_size=200)
codes = st.text("abcdefghijklmnopqrstuvwxyz0123456789_.:-", min_size=1, max_size=64)
currencies = st.sampled_from(["XAF", "XOF", "EUR", "USD", "CDF", "TND"])
amounts = st.one_of(
    st.decimals(min_value=0, max_value=10**12, places=0),
    st.decimals(min_value=0, max_value=10**9, places=2),
    st.decimals(min_value=0, allow_nan=False, allow_infinity=False),  # any exponent
)
km = st.floats(0, 20_016, allow_nan=False)
seconds = st.floats(0, 86_400, allow_nan=False)
times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-9, minutes=-30))]
    ),
)


def wire(point: LatLng) -> WirePoint:
    return WirePoint.from_latlng(point)


@given(points, points, ids, codes, amounts, amounts, currencies, km, seconds, times, times)
def test_offer_round_trips_exactly(
    pickup: LatLng,
    destination: LatLng,
    order_id: str,
    vehicle_type: str,
    low: Decimal,
    high: Decimal,
    currency: str,
    distance_km: float,
    timeout_s: float,
    expires_at: datetime,
    at: datetime,
) -> None:
    offer = OfferMessage(
        order_id=order_id,
        pickup=wire(pickup),
        destination=wire(destination),
        vehicle_type=vehicle_type,
        fare_min=low,
        fare_max=high,
        currency=currency,
        distance_to_pickup_km=distance_km,
        timeout_s=timeout_s,
        expires_at=expires_at,
        at=at,
    )
    back = parse_driver_outbound(offer.model_dump_json())
    assert isinstance(back, OfferMessage)
    assert back == offer
    assert back.pickup.to_latlng() == pickup
    assert back.destination.to_latlng() == destination
    assert (back.fare_min, back.fare_max) == (low, high)
    assert (back.distance_to_pickup_km, back.timeout_s) == (distance_km, timeout_s)
    assert back.expires_at == expires_at


@given(points, st.none() | times, st.none() | ids)
def test_location_round_trips_exactly(
    position: LatLng, at: datetime | None, order_id: str | None
) -> None:
    message = LocationMessage(position=wire(position), at=at, order_id=order_id)
    back = parse_driver_message(message.model_dump_json())
    assert isinstance(back, LocationMessage)
    assert back == message
    assert back.position.to_latlng() == position
    assert (back.at, back.order_id) == (at, order_id)


availability = st.builds(
    VehicleTypeAvailability,
    vehicle_type=codes,
    label=st.text(max_size=40),
    count=st.integers(0, 10_000),
    nearest_km=km,
    eta_s=st.integers(0, 86_400),
    fare_min=amounts,
    fare_max=amounts,
    fare_estimate=amounts,
    currency=currencies,
    display=st.text(max_size=60),
)


@given(st.lists(availability, max_size=5).map(tuple))
def test_drivers_available_round_trips_exactly(
    lines: tuple[VehicleTypeAvailability, ...],
) -> None:
    message = DriversAvailableMessage(vehicle_types=lines)
    back = parse_customer_outbound(message.model_dump_json())
    assert isinstance(back, DriversAvailableMessage)
    assert back == message
    for sent, got in zip(lines, back.vehicle_types, strict=True):
        assert (got.fare_min, got.fare_max, got.fare_estimate) == (
            sent.fare_min,
            sent.fare_max,
            sent.fare_estimate,
        )
        assert got.nearest_km == sent.nearest_km
