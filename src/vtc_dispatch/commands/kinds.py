"""The steps of freight loads and deliveries that rides do not have.

A load is posted from its draft; a delivery's merchant confirms, prepares
and readies it; the driver leaves the pickup (``depart``) and proves the
delivery; the shipper confirms receipt or disputes it, and an operator
resolves a dispute.  The steps the kinds share (offers, accept, arrive,
start, cancel, rate, positions) are the ride's commands.
"""

from __future__ import annotations

from datetime import datetime

from vtc_dispatch._records import evolve
from vtc_dispatch.changes import ChangeSet, OrderWrite, RideRead
from vtc_dispatch.commands.context import Context, Decision
from vtc_dispatch.commands.dispatching import Dispatching
from vtc_dispatch.commands.trip import Trip
from vtc_dispatch.errors import Forbidden, InvalidTransition, shown
from vtc_dispatch.events import OrderStepped
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo.sphere import haversine_km
from vtc_dispatch.kinds import MERCHANT_STEPS, OrderKind
from vtc_dispatch.order import Actor, Order, ProofOfDelivery

__all__ = ["KindSteps", "check_proof"]

MERCHANT_EVENTS = tuple(MERCHANT_STEPS.values())
"""What a delivery's merchant reports before a rider is searched for."""
RECEIPT_EVENTS = ("confirm", "dispute", "resolve")
"""What follows a freight delivery: the shipper's receipt or dispute, an operator's resolution."""


def stepped(order: Order, event: str, now: datetime) -> OrderStepped:
    """The event of ``order`` having taken its kind's own ``event``."""
    return OrderStepped(
        order.id,
        str(order.kind),
        event,
        order.state,
        order.customer_id,
        order.driver_id,
        order.merchant_id,
        now,
    )


def check_proof(order: Order, proof: ProofOfDelivery, radius_km: float, now: datetime) -> None:
    """Refuse ``proof`` (:class:`InvalidTransition` saying why) unless it proves the delivery.

    It must be taken within ``radius_km`` of the destination, after the
    pickup and not after ``now``, carry the receiver's code when the kind
    asks for one (and the order has one), and a photo or signature
    reference when the kind asks for one.
    """
    spec = order.spec
    event, state = "deliver", order.state

    def refuse(detail: str) -> InvalidTransition:
        return InvalidTransition(order.id, event, state, detail)

    if not spec.takes_proof:
        raise refuse(f"a {order.kind} ends with complete_trip, not a proof of delivery")
    km = haversine_km(proof.position, order.dropoff)
    if km > radius_km:
        raise refuse(
            f"the proof was taken {km * 1000:.0f} m from the destination; a proof counts"
            f" within {radius_km * 1000:.0f} m"
        )
    if proof.at > now:
        raise refuse(f"the proof is dated {proof.at.isoformat()}, after now ({now.isoformat()})")
    picked_up = order.time_in_phase(RideState.IN_PROGRESS)
    if picked_up is not None and proof.at < picked_up:
        raise refuse(
            f"the proof is dated {proof.at.isoformat()}, before the pickup"
            f" ({picked_up.isoformat()})"
        )
    code = order.delivery_code
    if "code" in spec.proof and code is not None and proof.code != code:
        raise refuse(f"the receiver's code {shown(proof.code)} is not the order's")
    if "reference" in spec.proof and not proof.reference:
        raise refuse(f"a {order.kind} proof needs the reference of a photo or a signature")


class KindSteps:
    """The freight and delivery commands (see the module's documentation)."""

    def __init__(self, context: Context, dispatching: Dispatching, trip: Trip) -> None:
        self.ctx = context
        self.dispatching = dispatching
        self.trip = trip

    def _write(
        self,
        order: Order,
        lifecycle_event: str,
        actor: Actor,
        now: datetime,
        reason: str | None = None,
    ) -> Decision:
        lifecycle = order.lifecycle.fire(
            lifecycle_event, actor=actor.role, at=now, reason=reason, actor_id=actor.id
        )
        moved = evolve(order, lifecycle=lifecycle)
        return Decision(
            moved,
            ChangeSet(
                orders=(OrderWrite(moved, order.version),),
                events=(stepped(moved, lifecycle_event, now),),
            ),
        )

    def post(self, actor: Actor, order_id: str, now: datetime) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.post_load`."""
        order = self.ctx.owned(actor, order_id)
        lifecycle = order.lifecycle.fire("post", actor=actor.role, at=now, actor_id=actor.id)
        posted = evolve(order, lifecycle=lifecycle)
        searching = self.dispatching.search_from(posted, "search", "system", now)
        changes = searching.changes
        return Decision(
            searching.result,
            evolve(changes, events=(stepped(posted, "post", now), *changes.events)),
        )

    def merchant(self, actor: Actor, order_id: str, event: str, now: datetime) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.merchant_update`."""
        order = self.ctx.owned(actor, order_id)
        if order.kind is not OrderKind.DELIVERY:
            raise InvalidTransition(order_id, event, order.state, f"a {order.kind} has no merchant")
        if event != "mark_ready":
            return self._write(order, event, actor, now)
        lifecycle = order.lifecycle.fire(event, actor=actor.role, at=now, actor_id=actor.id)
        ready = evolve(order, lifecycle=lifecycle)
        searching = self.dispatching.search_from(ready, "search", "system", now)
        changes = searching.changes
        return Decision(
            searching.result,
            evolve(changes, events=(stepped(ready, event, now), *changes.events)),
        )

    def depart(self, driver_id: str, order_id: str, now: datetime) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.depart`."""
        _, order, progress = self.ctx.assigned_ride(driver_id, order_id)
        decision = self._write(order, "depart", Actor.driver(driver_id), now)
        read = RideRead(order.id, order.version, progress.version)
        return Decision(decision.result, evolve(decision.changes, reads=(read,)))

    def deliver(
        self, driver_id: str, order_id: str, proof: ProofOfDelivery, now: datetime
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.deliver`."""
        _, order, _ = self.ctx.assigned_ride(driver_id, order_id)
        check_proof(order, proof, self.ctx.settings.proof_radius_km, now)
        done = self.trip.complete(driver_id, order_id, (), now, proof=proof)
        assert done.result is not None
        changes = done.changes
        return Decision(
            done.result,
            evolve(changes, events=(stepped(done.result, "deliver", now), *changes.events)),
        )

    def receipt(
        self, actor: Actor, order_id: str, event: str, reason: str | None, now: datetime
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.confirm_delivery`, ``dispute`` and
        ``resolve_dispute``."""
        if actor.role == "driver":
            raise Forbidden(f"driver {shown(actor.id)} cannot {event} a delivery he made")
        order = self.ctx.owned(actor, order_id)
        if order.kind is not OrderKind.FREIGHT:
            raise InvalidTransition(
                order_id, event, order.state, f"a {order.kind} ends at its delivery"
            )
        return self._write(order, event, actor, now, reason)
