"""Drivers going ON and OFF, and their presence: heard from, silent, unreachable, put offline."""

from __future__ import annotations

from datetime import datetime

import attrs

from vtc_dispatch._records import evolve
from vtc_dispatch.changes import (
    ChangeSet,
    DriverAbsent,
    DriverOffline,
    DriverOnline,
    DriverSeen,
    DriverSuspension,
    Reservation,
    StatIncrement,
)
from vtc_dispatch.commands.context import Context, Decision
from vtc_dispatch.commands.dispatching import Dispatching, step_changes
from vtc_dispatch.errors import Forbidden, NotFound, shown
from vtc_dispatch.events import (
    DriverSuspensionChanged,
    DriverWentOffline,
    DriverWentOnline,
    DriverWentSilent,
    OfferSent,
)
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import DRIVING_STATES, Actor, DriverStatus, Order, Presence
from vtc_dispatch.pool import decide as pool

__all__ = ["SILENT", "DriverState", "Drivers"]

SILENT = "silent"
"""The reason of a driver put offline because his phone was not heard from."""


@attrs.frozen
class DriverState:
    """Where a driver stands, for an app that (re)connects: what it must show.

    ``status`` is ``None`` for a driver never seen online.  ``offer`` is his
    live offer as it would be sent now (``timeout_s`` is the time left);
    ``order`` the order of that offer, or the one he drives.
    """

    status: DriverStatus | None
    offer: OfferSent | None = None
    order: Order | None = None


class Drivers:
    """Drivers' presence (see the module's documentation)."""

    def __init__(self, context: Context, dispatching: Dispatching) -> None:
        self.ctx = context
        self.dispatching = dispatching

    def online(
        self, driver_id: str, vehicle_type: str, position: LatLng, now: datetime
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.driver_online`.

        A driver who was offline (or never seen) starts a period online in his
        activity (:meth:`~vtc_dispatch.ports.StatsStore.activity`).
        """
        self.ctx.vehicle_type(vehicle_type)
        try:
            was_online = self.ctx.drivers.get(driver_id).online
        except NotFound:
            was_online = False
        return Decision(
            None,
            ChangeSet(
                drivers=(DriverOnline(driver_id, vehicle_type, position, now),),
                stats=() if was_online else (StatIncrement(driver_id, "online", now),),
                events=(DriverWentOnline(driver_id, vehicle_type, position, now),),
            ),
        )

    def offline(
        self,
        driver_id: str,
        now: datetime,
        *,
        reason: str | None = None,
        seen_at: datetime | None = None,
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.driver_offline`.

        With ``seen_at`` (the presence sweep), only a driver still online and
        last heard from then goes off; an order he drives keeps him on.  A
        driver who was online ends a period online in his activity.
        """
        status = self.ctx.drivers.get(driver_id)
        if seen_at is not None and (not status.online or status.seen_at != seen_at):
            return Decision(None)  # heard from since, or off already: nothing to do
        off = ChangeSet(
            drivers=(DriverOffline(driver_id, now, reason, seen_at),),
            # A silent driver's time online ends when he was last heard from.
            stats=(StatIncrement(driver_id, "offline", seen_at or now),) if status.online else (),
            events=(DriverWentOffline(driver_id, now, reason),),
        )
        if status.order_id is None:
            return Decision(None, off)
        order = self.ctx.orders.get(status.order_id)
        if order.offer_to(driver_id) is not None:
            dropped = pool.drop_offer(order, driver_id, now, expired=False)
            step = self.dispatching.go_on(dropped, now)
            return Decision(None, step_changes(step, order).merge(off))
        if order.driver_id == driver_id and order.state in DRIVING_STATES:
            raise Forbidden(
                f"driver {shown(driver_id)} is on order {shown(order.id)} ({order.state}):"
                " complete or cancel it before going offline"
            )
        # The order no longer holds him (it ended): nothing waits for that reservation.
        return Decision(None, off.merge(ChangeSet(release=(Reservation(driver_id, order.id),))))

    def suspend(
        self, actor: Actor, driver_id: str, suspended: bool, now: datetime, reason: str | None
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.suspend_driver`."""
        if not actor.oversees:
            raise Forbidden(
                f"only an operator suspends drivers or lifts a suspension,"
                f" not {actor.role} {shown(actor.id)}"
            )
        status = self.ctx.drivers.get(driver_id)
        told = ChangeSet(
            drivers=(DriverSuspension(driver_id, suspended),),
            events=(DriverSuspensionChanged(driver_id, suspended, actor.id, now, reason),),
        )
        if suspended and status.order_id is not None:
            order = self.ctx.orders.get(status.order_id)
            if order.offer_to(driver_id) is not None:
                # His live offer goes to the next driver; a ride he drives goes on.
                taken = pool.withdraw_offer(order, driver_id, now, "suspended")
                step = self.dispatching.go_on(taken, now)
                return Decision(None, step_changes(step, order).merge(told))
        return Decision(None, told)

    def heard(self, driver_id: str, now: datetime) -> tuple[Decision, DriverStatus]:
        """A ping or a connection: he is present; his status as it then is."""
        status = self.ctx.drivers.get(driver_id)
        seen = DriverSeen(driver_id, now)
        return Decision.of_drivers((seen,)), evolve(status, seen_at=now, presence=Presence.PRESENT)

    def unreachable(self, driver_id: str, heard_until: datetime | None) -> Decision:
        """His connection closed: not present, unless heard from after ``heard_until``
        (on another connection, over REST)."""
        status = self.ctx.drivers.get(driver_id)
        if (
            not status.online
            or status.presence is not Presence.PRESENT
            or (heard_until is not None and status.seen_at > heard_until)
        ):
            return Decision(None)
        absent = DriverAbsent(driver_id, Presence.UNREACHABLE, status.seen_at)
        return Decision.of_drivers((absent,))

    def silenced(self, status: DriverStatus, now: datetime) -> Decision:
        """A present driver not heard from for the presence timeout: silent now.

        On a ride, his customer is told that the position shown is stale.
        """
        driver_id = status.driver_id
        absent = DriverAbsent(driver_id, Presence.SILENT, status.seen_at)
        order = None
        if status.order_id is not None:
            held = self.ctx.orders.get(status.order_id)
            if held.driver_id == driver_id and held.state in DRIVING_STATES:
                order = held
        event = DriverWentSilent(
            driver_id,
            status.seen_at,
            now,
            None if order is None else order.id,
            None if order is None else order.customer_id,
        )
        return Decision(None, ChangeSet(drivers=(absent,), events=(event,)))

    def state(self, driver_id: str, now: datetime) -> DriverState:
        """See :meth:`vtc_dispatch.service.DispatchService.driver_state`."""
        ctx = self.ctx
        try:
            status = ctx.drivers.get(driver_id)
        except NotFound:
            return DriverState(None)
        if status.order_id is not None:
            held = ctx.orders.get(status.order_id)
            live = held.offer_to(driver_id)
            if live is not None and live.shown and now < live.expires_at:
                return DriverState(status, pool.offer_sent(held, live, now), held)
            if held.driver_id == driver_id and held.is_active:
                return DriverState(status, None, held)
        found = ctx.orders.find("driver", driver_id, active=True, limit=1)
        return DriverState(status, None, found[0] if found else None)
