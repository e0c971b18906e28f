"""Orders and ride progress read back from the Redis codec equal what was stored.

Orders are built by the service itself (in memory) along random rides:
quotes with their breakdown, lifecycles, offers, tracks, final fares,
wallet payments, cancellations and ratings all go through the codec.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import InMemoryWallet, ManualClock
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch_redis.codec import decode_order, decode_progress, encode_order, encode_progress

DOUALA = LatLng(4.0511, 9.7043)
near = st.builds(
    lambda bearing, km: destination_point(DOUALA, bearing, km),
    st.floats(0, 360, allow_nan=False),
    st.floats(0, 8, allow_nan=False),
)


def roundtrip(order: Order) -> None:
    back = decode_order(encode_order(order), version=order.version)
    assert back == order
    assert back.quote.breakdown == order.quote.breakdown
    assert back.lifecycle.machine is order.lifecycle.machine


@settings(max_examples=40, deadline=None)
@given(
    pickup=near,
    dropoff=near,
    vehicle=st.sampled_from(["taxi_jaune", "confort"]),
    wallet_paid=st.booleans(),
    ending=st.sampled_from(["done", "cancel_searching", "cancel_accepted", "expire"]),
    fixes=st.lists(st.tuples(st.floats(0, 360), st.floats(0, 0.5)), max_size=8),
    stars=st.integers(1, 5),
)
def test_orders_along_a_ride_read_back_equal(
    pickup: LatLng,
    dropoff: LatLng,
    vehicle: str,
    wallet_paid: bool,
    ending: str,
    fixes: list[tuple[float, float]],
    stars: int,
) -> None:
    clock = ManualClock(datetime(2026, 11, 21, 20, 0, tzinfo=UTC))
    wallet = InMemoryWallet()
    wallet.credit("cust", Decimal("100000"), "XAF")
    service = DispatchService(pricing=douala_config(), clock=clock, wallet=wallet)
    service.driver_online("d1", vehicle, destination_point(pickup, 45, 0.3))
    service.driver_online("d2", vehicle, destination_point(pickup, 90, 0.6))
    order = service.create_order(
        "cust", pickup, dropoff, vehicle, "WALLET" if wallet_paid else "CASH"
    )
    roundtrip(order)
    if ending == "cancel_searching":
        roundtrip(service.cancel(Actor.customer("cust"), order.id, "changed my mind"))
        return
    if ending == "expire":
        clock.advance(timedelta(seconds=31))
        service.expire_due()
        roundtrip(service.orders.get(order.id))
        return
    driver = order.offered_to
    assert driver is not None
    roundtrip(service.accept(driver, order.id))
    for bearing, km in fixes:
        clock.advance(timedelta(seconds=10))
        position = service.drivers.get(driver).position
        service.update_position(driver, destination_point(position, bearing, km))
        progress = service.progress.get(order.id)
        assert decode_progress(encode_progress(progress), version=progress.version) == progress
    if ending == "cancel_accepted":
        roundtrip(service.cancel(Actor.customer("cust"), order.id, "too slow"))
        return
    roundtrip(service.arrived(driver, order.id, operator_id="op"))
    clock.advance(timedelta(minutes=2))
    roundtrip(service.start_trip(driver, order.id))
    for bearing, km in fixes:
        clock.advance(timedelta(seconds=10))
        position = service.drivers.get(driver).position
        service.update_position(driver, destination_point(position, bearing, km))
    done = service.complete_trip(driver, order.id, supplements=())
    roundtrip(done)
    roundtrip(service.rate(Actor.customer("cust"), order.id, stars, "merci"))
    rated = service.rate(Actor.driver(driver), order.id, stars)
    roundtrip(rated)
    assert attrs.evolve(rated, version=0) != attrs.evolve(done, version=0)
