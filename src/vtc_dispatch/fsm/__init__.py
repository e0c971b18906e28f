"""Order lifecycles: a small declared state machine and the ride, freight and delivery presets.

A :class:`StateMachine` is a validated table of :class:`Transition` lines; a
:class:`Lifecycle` is where one order is in it, and :meth:`Lifecycle.fire`
returns the next one (the old one never changes).

>>> from datetime import UTC, datetime, timedelta
>>> from vtc_dispatch.fsm import RIDE, RideEvent, Role
>>> t0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
>>> ride = RIDE.start("order-1", t0)
>>> ride = ride.fire(RideEvent.SEARCH, actor=Role.CUSTOMER, at=t0)
>>> ride = ride.fire(RideEvent.ACCEPT, actor=Role.DRIVER, at=t0 + timedelta(seconds=30))
>>> ride.state, [entry.event for entry in ride.history]
('accepted', ['search', 'accept'])
>>> ride.can_fire(RideEvent.START, Role.DRIVER), ride.allowed_events(Role.DRIVER)
(False, ['arrive', 'cancel'])
"""

from vtc_dispatch.fsm.machine import Guard, HistoryEntry, Lifecycle, StateMachine, Transition
from vtc_dispatch.fsm.presets import (
    DELIVERY,
    FREIGHT,
    RIDE,
    DeliveryEvent,
    DeliveryState,
    FreightEvent,
    FreightState,
    RideEvent,
    RideState,
    Role,
    has_proof_of_delivery,
)

__all__ = [
    "DELIVERY",
    "FREIGHT",
    "RIDE",
    "DeliveryEvent",
    "DeliveryState",
    "FreightEvent",
    "FreightState",
    "Guard",
    "HistoryEntry",
    "Lifecycle",
    "RideEvent",
    "RideState",
    "Role",
    "StateMachine",
    "Transition",
    "has_proof_of_delivery",
]
