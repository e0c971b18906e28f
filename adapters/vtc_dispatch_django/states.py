"""Where a driver or a customer stands: the ``state`` message, and ``GET driver/current/``.

One form for both edges: the websocket consumers send it first on a
connection, the REST view answers it (without its ``type``).
"""

from __future__ import annotations

from vtc_dispatch.errors import NotFound
from vtc_dispatch.order import Actor, DriverCard, Order
from vtc_dispatch.presentation import driver_view, order_view
from vtc_dispatch.service import DispatchService
from vtc_dispatch.wire import StateMessage, offer_message

__all__ = ["customer_state", "driver_state"]


def driver_state(service: DispatchService, driver_id: str) -> StateMessage:
    """A driver's ``state``: his live offer, the order of it or the one he drives, himself."""
    me = Actor.driver(driver_id)
    state = service.driver_state(driver_id)
    order, status = state.order, state.status
    card = None if status is None else service.driver_card(driver_id)
    return StateMessage(
        order=None if order is None else order_view(order, me, driver=_card_of(order, card)),
        offer=None if state.offer is None else offer_message(state.offer),
        driver=None if status is None else driver_view(status, card),
    )


def _card_of(order: Order, card: DriverCard | None) -> DriverCard | None:
    """The driver's card in his order's form once he has it (as its REST form shows it)."""
    return card if order.driver_id is not None else None


def customer_state(service: DispatchService, customer_id: str) -> StateMessage:
    """A customer's ``state``: his active order and, once one accepted, his driver."""
    me = Actor.customer(customer_id)
    order = service.current_order(me)
    if order is None:
        return StateMessage(order=None)
    if order.driver_id is None:
        return StateMessage(order=order_view(order, me))
    card = service.driver_card(order.driver_id)
    try:
        status = service.drivers.get(order.driver_id)
    except NotFound:
        return StateMessage(order=order_view(order, me, driver=card))
    return StateMessage(order=order_view(order, me, driver=card), driver=driver_view(status, card))
