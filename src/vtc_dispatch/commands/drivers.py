"""Drivers going ON and OFF."""

from __future__ import annotations

from datetime import datetime

from vtc_dispatch.changes import ChangeSet, DriverOffline, DriverOnline, Reservation
from vtc_dispatch.commands.context import Context, Decision
from vtc_dispatch.commands.dispatching import Dispatching, step_changes
from vtc_dispatch.errors import Forbidden, shown
from vtc_dispatch.events import DriverWentOffline, DriverWentOnline
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import DRIVING_STATES
from vtc_dispatch.pool import decide as pool

__all__ = ["Drivers"]


class Drivers:
    """Drivers' presence (see the module's documentation)."""

    def __init__(self, context: Context, dispatching: Dispatching) -> None:
        self.ctx = context
        self.dispatching = dispatching

    def online(
        self, driver_id: str, vehicle_type: str, position: LatLng, now: datetime
    ) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.driver_online`."""
        self.ctx.vehicle_type(vehicle_type)
        return Decision(
            None,
            ChangeSet(
                drivers=(DriverOnline(driver_id, vehicle_type, position, now),),
                events=(DriverWentOnline(driver_id, vehicle_type, position, now),),
            ),
        )

    def offline(self, driver_id: str, now: datetime) -> Decision:
        """See :meth:`vtc_dispatch.service.DispatchService.driver_offline`."""
        status = self.ctx.drivers.get(driver_id)
        off = ChangeSet(
            drivers=(DriverOffline(driver_id, now),), events=(DriverWentOffline(driver_id, now),)
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
