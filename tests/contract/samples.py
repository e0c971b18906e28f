"""Sample data for the contract tests: real orders as the service builds them."""

from __future__ import annotations

from datetime import UTC, datetime

from vtc_dispatch.fsm import RIDE, RideEvent
from vtc_dispatch.geo import LatLng
from vtc_dispatch.order import Order
from vtc_dispatch.pricing import Pricer, douala_config

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
AKWA = LatLng(4.0511, 9.7043)
DEIDO = LatLng(4.0650, 9.7250)

_PRICER = Pricer(douala_config())


def new_order(order_id: str, customer_id: str = "c1", *, searching: bool = True) -> Order:
    """A real order as the service would build it."""
    lifecycle = RIDE.start(order_id, T0)
    if searching:
        lifecycle = lifecycle.fire(RideEvent.SEARCH, actor="customer", at=T0)
    return Order(
        id=order_id,
        customer_id=customer_id,
        vehicle_type="taxi_jaune",
        pickup=AKWA,
        dropoff=DEIDO,
        payment_method="CASH",
        quote=_PRICER.quote(AKWA, DEIDO, "taxi_jaune", T0),
        lifecycle=lifecycle,
        created_at=T0,
    )
