"""Sample data for the contract tests: real orders as the service builds them."""

from __future__ import annotations

from typing import Protocol

from places import AKWA, DEIDO, T0

from vtc_dispatch.fsm import RIDE, RideEvent
from vtc_dispatch.order import Order
from vtc_dispatch.ports import OrderHistory, OrderRepository
from vtc_dispatch.pricing import Pricer, douala_config

# AKWA and DEIDO stay importable from here for the tests that still do.
__all__ = ["AKWA", "DEIDO", "StoredOrders", "new_order"]

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


class StoredOrders(OrderRepository, OrderHistory, Protocol):
    """A repository that also lists its orders by date (the reports' port)."""
