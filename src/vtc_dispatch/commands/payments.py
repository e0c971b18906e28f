"""The payment of an ended order: cash confirmed, marked paid, mobile money started and settled.

See :mod:`vtc_dispatch.payments`.  Each decision writes the order alone:
the money itself moved outside the service (a driver's hand, a provider).
"""

from __future__ import annotations

from decimal import Decimal

from vtc_dispatch._records import evolve
from vtc_dispatch.changes import ChangeSet, OrderWrite
from vtc_dispatch.commands.context import Context, Decision
from vtc_dispatch.errors import AlreadyDone, Forbidden, InvalidArgument, InvalidTransition, shown
from vtc_dispatch.order import Actor, Order, PaymentStatus
from vtc_dispatch.payments import MOBILE_MONEY, PaymentOutcome

__all__ = ["Payments"]

_OWED = (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.PARTIALLY_PAID)
"""An ended order still owing money (a failed mobile payment may be paid another way)."""


def _paid(order: Order, amount: Decimal) -> Decision:
    due = order.amount_due
    status = PaymentStatus.PAID if due is None or amount >= due else PaymentStatus.PARTIALLY_PAID
    done = evolve(order, payment_status=status, amount_paid=amount)
    return Decision(done, ChangeSet(orders=(OrderWrite(done, order.version),)))


def _owing(order: Order, command: str, allowed: tuple[PaymentStatus, ...]) -> Decimal:
    """What ``order`` owes; refused when it was paid, or is not in an ``allowed`` status."""
    if order.payment_status == PaymentStatus.PAID:
        raise AlreadyDone(f"order {shown(order.id)} is paid already")
    due = order.amount_due
    if due is None or order.payment_status not in allowed:
        raise InvalidTransition(
            order.id, command, order.state, f"its payment is {order.payment_status.value}"
        )
    return due


_RETRIABLE = (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.PROCESSING)
"""A mobile payment may be asked for again: the provider could not be reached, or failed."""


class Payments:
    """The payment commands (see the module's documentation)."""

    def __init__(self, context: Context) -> None:
        self.ctx = context

    def confirm_cash(self, driver_id: str, order_id: str) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.confirm_cash`."""
        order = self.ctx.orders.get(order_id)
        if order.driver_id != driver_id:
            raise Forbidden(
                f"driver {shown(driver_id)} is not the driver of order {shown(order_id)}"
            )
        if order.payment_method == "WALLET":
            raise InvalidTransition(order_id, "confirm_cash", order.state, "it is paid by wallet")
        return _paid(order, _owing(order, "confirm_cash", _OWED))

    def mark_paid(self, actor: Actor, order_id: str) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.mark_paid`."""
        if not actor.oversees:
            raise Forbidden(f"only an operator marks an order paid, not a {actor.role}")
        order = self.ctx.orders.get(order_id)
        owed = (*_OWED, PaymentStatus.PROCESSING)
        return _paid(order, _owing(order, "mark_paid", owed))

    def started(self, customer_id: str, order_id: str) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.payment_started`."""
        order = self.ctx.owned(Actor.customer(customer_id), order_id)
        if order.payment_method not in MOBILE_MONEY:
            raise InvalidTransition(
                order_id,
                "pay",
                order.state,
                f"its payment method {order.payment_method} is not mobile money",
            )
        _owing(
            order, "pay", (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.PROCESSING)
        )
        started = evolve(order, payment_status=PaymentStatus.PROCESSING)
        return Decision(started, ChangeSet(orders=(OrderWrite(started, order.version),)))

    def result(self, method: str, outcome: PaymentOutcome) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.payment_result`."""
        order = self.ctx.orders.get(outcome.order_id)
        if order.payment_method != method:
            raise InvalidArgument(
                f"order {shown(order.id)} is paid by {order.payment_method}, not {shown(method)}"
            )
        if outcome.currency != order.quote.currency:
            raise InvalidArgument(
                f"callback currency must be {order.quote.currency}, got {shown(outcome.currency)}"
            )
        if order.payment_status == PaymentStatus.PAID or order.amount_due is None:
            # A late or repeated callback changes nothing once paid (nor before the end).
            return Decision(order)
        if outcome.paid:
            return _paid(order, outcome.amount)
        if order.payment_status != PaymentStatus.PROCESSING:
            return Decision(order)
        failed = evolve(order, payment_status=PaymentStatus.FAILED)
        return Decision(failed, ChangeSet(orders=(OrderWrite(failed, order.version),)))
