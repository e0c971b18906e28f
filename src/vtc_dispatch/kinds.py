"""What an order is: a ride, a freight load or a delivery, and what each state means to the pool.

The kind of an order is the state machine of its lifecycle
(:data:`~vtc_dispatch.fsm.RIDE`, :data:`~vtc_dispatch.fsm.FREIGHT`,
:data:`~vtc_dispatch.fsm.DELIVERY`); the operator chooses it per vehicle
type (:attr:`~vtc_dispatch.pricing.config.VehicleType.kind`).  The commands
the kinds share (search, offers, accept, arrive, start, cancel, rate,
positions) are written once, against the *phase* of a state: the ride's
state it plays.  A freight load that is ``bidding`` is searching, one that
is ``pickup_pending`` has its carrier at the pickup, a delivery
``on_the_way`` is in progress.

>>> from vtc_dispatch.fsm import RideState
>>> KINDS[OrderKind.FREIGHT].phase("pickup_pending") == RideState.ARRIVED
True
>>> kind_of_machine("delivery") is OrderKind.DELIVERY
True
>>> sorted(DRIVING_STATES)[:4]
['accepted', 'arrived', 'assigned', 'at_pickup']
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

import attrs

from vtc_dispatch.errors import InvalidArgument, shown
from vtc_dispatch.fsm import (
    DELIVERY,
    FREIGHT,
    RIDE,
    DeliveryState,
    FreightState,
    RideState,
    StateMachine,
)

__all__ = [
    "ACTIVE_STATES",
    "DRIVING_STATES",
    "KINDS",
    "MERCHANT_STEPS",
    "KindSpec",
    "MerchantStatus",
    "OrderKind",
    "kind_of_machine",
]


class OrderKind(StrEnum):
    """The three businesses on one engine.

    >>> [k.value for k in OrderKind]
    ['ride', 'freight', 'delivery']
    """

    RIDE = "ride"
    FREIGHT = "freight"
    DELIVERY = "delivery"


@attrs.frozen
class KindSpec:
    """One kind: its machine, each state's phase, the pool's default mode, its proof.

    ``opening`` are the events that take a new order from the machine's
    initial state to where it is created (a ride searches at once, a load
    is a draft until posted, a delivery waits for its merchant).
    ``proof`` is what a proof of delivery must hold (``code``: the code the
    receiver gives; ``reference``: a photo or signature reference); a ride
    has none.
    """

    kind: OrderKind
    machine: StateMachine
    phases: Mapping[str, RideState]
    default_mode: str
    opening: tuple[str, ...] = ()
    proof: frozenset[str] = frozenset()

    def phase(self, state: str) -> RideState:
        """The ride's state that ``state`` plays."""
        return self.phases[state]

    def first_in(self, phase: RideState) -> str | None:
        """The state by which an order enters ``phase`` (``None``: the kind has none)."""
        return next((s for s, p in self.phases.items() if p == phase), None)

    @property
    def takes_proof(self) -> bool:
        """Whether the order ends with a proof of delivery (freight, delivery)."""
        return bool(self.proof)


_S = RideState
_F = FreightState


def _table(table: Mapping[str, RideState]) -> Mapping[str, RideState]:
    # Plain texts as keys: the states a lifecycle holds are plain texts.
    return MappingProxyType({str(state): phase for state, phase in table.items()})


_D = DeliveryState

KINDS: Mapping[OrderKind, KindSpec] = MappingProxyType(
    {
        OrderKind.RIDE: KindSpec(
            OrderKind.RIDE,
            RIDE,
            _table({s.value: s for s in RideState}),
            "sequential",
            opening=("search",),
        ),
        OrderKind.FREIGHT: KindSpec(
            OrderKind.FREIGHT,
            FREIGHT,
            _table(
                {
                    _F.DRAFT: _S.DRAFT,
                    # Posted without a carrier bidding: the shipper searches again.
                    _F.POSTED: _S.NO_DRIVER,
                    _F.BIDDING: _S.SEARCHING,
                    _F.ASSIGNED: _S.ACCEPTED,
                    _F.PICKUP_PENDING: _S.ARRIVED,
                    _F.PICKED_UP: _S.IN_PROGRESS,
                    _F.IN_TRANSIT: _S.IN_PROGRESS,
                    # Delivered: the carrier is free; the shipper's receipt follows.
                    _F.DELIVERED: _S.DONE,
                    _F.COMPLETED: _S.DONE,
                    _F.DISPUTED: _S.DONE,
                    _F.RESOLVED: _S.DONE,
                    _F.CANCELLED: _S.CANCELLED,
                }
            ),
            "bidding",
            proof=frozenset({"code", "reference"}),
        ),
        OrderKind.DELIVERY: KindSpec(
            OrderKind.DELIVERY,
            DELIVERY,
            _table(
                {
                    _D.WAITING: _S.DRAFT,
                    _D.CONFIRMED: _S.DRAFT,
                    _D.PREPARING: _S.DRAFT,
                    _D.READY: _S.DRAFT,
                    _D.OFFERED: _S.SEARCHING,
                    _D.NO_DRIVER: _S.NO_DRIVER,
                    _D.ACCEPTED: _S.ACCEPTED,
                    _D.AT_PICKUP: _S.ARRIVED,
                    _D.PICKED_UP: _S.IN_PROGRESS,
                    _D.ON_THE_WAY: _S.IN_PROGRESS,
                    _D.DELIVERED: _S.DONE,
                    _D.CANCELLED: _S.CANCELLED,
                }
            ),
            "sequential",
            proof=frozenset({"code"}),
        ),
    }
)
"""Every kind by name."""


class MerchantStatus(StrEnum):
    """What a delivery's merchant reports before a rider is searched for: the order is
    confirmed, being prepared, ready to be picked up (the states of the same names).

    >>> source = DeliveryState.WAITING
    >>> for status in MerchantStatus:
    ...     source = DELIVERY.transition_for(source, MERCHANT_STEPS[status], "merchant").target
    ...     print(status.value, source)
    confirmed confirmed
    preparing preparing
    ready ready
    """

    CONFIRMED = "confirmed"
    PREPARING = "preparing"
    READY = "ready"


MERCHANT_STEPS: Mapping[MerchantStatus, str] = MappingProxyType(
    {
        MerchantStatus.CONFIRMED: "confirm",
        MerchantStatus.PREPARING: "prepare",
        MerchantStatus.READY: "mark_ready",
    }
)
"""The event of the delivery's machine that each merchant's status fires (clients speak
of states, the machine of events)."""

_BY_MACHINE = {spec.machine.name: spec.kind for spec in KINDS.values()}


def kind_of_machine(name: str) -> OrderKind:
    """The kind whose lifecycle is the machine called ``name``."""
    kind = _BY_MACHINE.get(name)
    if kind is None:
        raise InvalidArgument(f"no order kind has the machine {shown(name)}", argument="kind")
    return kind


def _states_in(*phases: RideState) -> frozenset[str]:
    # A state name shared by two kinds plays the same phase in both (a test holds it).
    return frozenset(
        str(state) for spec in KINDS.values() for state, p in spec.phases.items() if p in phases
    )


DRIVING_STATES = _states_in(_S.ACCEPTED, _S.ARRIVED, _S.IN_PROGRESS)
"""The states, of every kind, in which the order's driver is on it (coming, waiting, driving)."""

ACTIVE_STATES = _states_in(
    _S.DRAFT, _S.SEARCHING, _S.ACCEPTED, _S.ARRIVED, _S.IN_PROGRESS, _S.NO_DRIVER
)
"""States, of every kind, in which an order still occupies its customer and driver."""
