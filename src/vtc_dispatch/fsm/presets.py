"""Three ready lifecycles: the ride (``RIDE``), freight with bidding (``FREIGHT``), delivery.

Each table below is the machine's definition, line for line (a test keeps
them equal). Several lines may share an event when their sources differ:
who may cancel depends on how far the order got. Terminal states are marked
with ``*``.

RIDE, the ride of seed 000; ``draft`` is initial; ``done*``, ``cancelled*``::

    event        | from                        | to          | roles
    -------------+-----------------------------+-------------+---------------------------
    search       | draft                       | searching   | customer, system
    accept       | searching                   | accepted    | driver
    no_driver    | searching                   | no_driver   | system
    search_again | no_driver                   | searching   | customer
    requeue      | accepted                    | searching   | system
    arrive       | accepted                    | arrived     | driver, operator
    start        | arrived                     | in_progress | driver
    complete     | in_progress                 | done        | driver, operator
    cancel       | draft, no_driver, searching | cancelled   | customer, operator, system
    cancel       | accepted, arrived           | cancelled   | customer, driver, operator
    cancel       | in_progress                 | cancelled   | operator

``requeue`` is the pool searching again after the assigned driver withdrew.

FREIGHT, freight brokerage of seed 001; ``draft`` is initial; ``closed*``, ``cancelled*``::

    event            | from                 | to         | roles
    -----------------+----------------------+------------+---------------------------
    publish          | draft                | open       | operator, shipper
    accept_bid       | open                 | assigned   | operator, shipper
    expire           | open                 | expired    | system
    reopen           | expired              | open       | operator, shipper
    release          | assigned             | open       | carrier, operator
    arrive_at_pickup | assigned             | at_pickup  | carrier
    pick_up          | at_pickup            | in_transit | carrier
    deliver          | in_transit           | delivered  | carrier, operator
    dispute          | delivered            | disputed   | carrier, shipper
    close            | delivered            | closed     | operator, shipper, system
    resolve          | disputed             | closed     | operator
    cancel           | draft, expired, open | cancelled  | operator, shipper, system
    cancel           | assigned, at_pickup  | cancelled  | carrier, operator, shipper

Carriers bid while the load is ``open``; ``accept_bid`` is the shipper
taking one. ``expire`` is the bidding deadline passing with no bid taken;
``release`` is the carrier giving the load back to the market. ``deliver``
has the guard :func:`has_proof_of_delivery`: it needs a proof in the
context. ``close`` follows payment or the shipper's confirmation.

DELIVERY, delivery with live tracking of seeds 002 and 004; ``pending`` is
initial; ``delivered*``, ``cancelled*``, ``returned*``::

    event      | from               | to         | roles
    -----------+--------------------+------------+-------------------------------------
    confirm    | pending            | confirmed  | merchant, operator, system
    prepare    | confirmed          | preparing  | merchant
    mark_ready | preparing          | ready      | merchant
    pick_up    | ready              | picked_up  | rider
    depart     | picked_up          | in_transit | rider
    deliver    | in_transit         | delivered  | operator, rider
    fail       | in_transit         | failed     | operator, rider
    retry      | failed             | in_transit | operator, rider
    return     | failed             | returned   | operator, rider
    cancel     | confirmed, pending | cancelled  | customer, merchant, operator, system
    cancel     | preparing, ready   | cancelled  | merchant, operator

``fail`` is a delivery attempt that did not happen (nobody there, wrong
address); the parcel goes out again (``retry``) or back to the merchant.
``deliver`` has the guard :func:`has_proof_of_delivery`, as for freight.

>>> from datetime import UTC, datetime
>>> t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
>>> load = FREIGHT.start("fr-1", t0)
>>> for event, actor in [("publish", Role.SHIPPER), ("accept_bid", Role.SHIPPER),
...                      ("arrive_at_pickup", Role.CARRIER), ("pick_up", Role.CARRIER)]:
...     load = load.fire(event, actor=actor, at=t0)
>>> load.can_fire(FreightEvent.DELIVER, Role.CARRIER, {"proof_of_delivery": None})
False
>>> load.fire("deliver", actor="carrier", at=t0, context={"proof_of_delivery": "pod.jpg"}).state
'delivered'
>>> sorted(DELIVERY.terminal)
['cancelled', 'delivered', 'returned']
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from vtc_dispatch.fsm.machine import StateMachine, Transition

__all__ = [
    "DELIVERY",
    "FREIGHT",
    "RIDE",
    "DeliveryEvent",
    "DeliveryState",
    "FreightEvent",
    "FreightState",
    "RideEvent",
    "RideState",
    "Role",
    "has_proof_of_delivery",
]


class Role(StrEnum):
    """Who fires an event, in every preset; the values are what the machines store.

    >>> Role.DRIVER == "driver", sorted(FREIGHT.roles)
    (True, ['carrier', 'operator', 'shipper', 'system'])
    """

    CUSTOMER = "customer"
    DRIVER = "driver"
    OPERATOR = "operator"
    SYSTEM = "system"
    """The library itself or a scheduler: pool outcomes, deadlines, payments."""
    SHIPPER = "shipper"
    CARRIER = "carrier"
    MERCHANT = "merchant"
    RIDER = "rider"
    """Whoever carries a delivery (courier on a motorbike, bicycle, on foot)."""


class RideState(StrEnum):
    """The states of :data:`RIDE`.

    >>> RideState.NO_DRIVER.value, RideState.DONE in RIDE.terminal
    ('no_driver', True)
    """

    DRAFT = "draft"
    SEARCHING = "searching"
    ACCEPTED = "accepted"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"
    NO_DRIVER = "no_driver"


class RideEvent(StrEnum):
    """The events of :data:`RIDE`.

    >>> RIDE.events(RideState.SEARCHING) == sorted([RideEvent.ACCEPT, RideEvent.CANCEL,
    ...                                              RideEvent.NO_DRIVER])
    True
    """

    SEARCH = "search"
    ACCEPT = "accept"
    NO_DRIVER = "no_driver"
    SEARCH_AGAIN = "search_again"
    REQUEUE = "requeue"
    ARRIVE = "arrive"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"


class FreightState(StrEnum):
    """The states of :data:`FREIGHT`.

    >>> FreightState.OPEN.value, FreightState.EXPIRED in FREIGHT.terminal
    ('open', False)
    """

    DRAFT = "draft"
    OPEN = "open"
    ASSIGNED = "assigned"
    AT_PICKUP = "at_pickup"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    DISPUTED = "disputed"
    CLOSED = "closed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class FreightEvent(StrEnum):
    """The events of :data:`FREIGHT`.

    >>> FREIGHT.events(FreightState.EXPIRED)
    ['cancel', 'reopen']
    """

    PUBLISH = "publish"
    ACCEPT_BID = "accept_bid"
    EXPIRE = "expire"
    REOPEN = "reopen"
    RELEASE = "release"
    ARRIVE_AT_PICKUP = "arrive_at_pickup"
    PICK_UP = "pick_up"
    DELIVER = "deliver"
    DISPUTE = "dispute"
    CLOSE = "close"
    RESOLVE = "resolve"
    CANCEL = "cancel"


class DeliveryState(StrEnum):
    """The states of :data:`DELIVERY`.

    >>> DELIVERY.initial == DeliveryState.PENDING
    True
    """

    PENDING = "pending"
    CONFIRMED = "confirmed"
    PREPARING = "preparing"
    READY = "ready"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class DeliveryEvent(StrEnum):
    """The events of :data:`DELIVERY`.

    >>> DELIVERY.events(DeliveryState.FAILED)
    ['retry', 'return']
    """

    CONFIRM = "confirm"
    PREPARE = "prepare"
    MARK_READY = "mark_ready"
    PICK_UP = "pick_up"
    DEPART = "depart"
    DELIVER = "deliver"
    FAIL = "fail"
    RETRY = "retry"
    RETURN = "return"
    CANCEL = "cancel"


def has_proof_of_delivery(context: object) -> bool:
    """Whether the context carries a proof of delivery (photo, signature, code).

    Reads the ``proof_of_delivery`` key of a mapping or attribute of an
    object; any truthy value counts. A missing context has no proof.

    >>> has_proof_of_delivery({"proof_of_delivery": "photo-17.jpg"})
    True
    >>> has_proof_of_delivery({"proof_of_delivery": ""}), has_proof_of_delivery(None)
    (False, False)
    """
    if isinstance(context, Mapping):
        return bool(context.get("proof_of_delivery"))
    return bool(getattr(context, "proof_of_delivery", None))


_R, _RS, _RE = Role, RideState, RideEvent

RIDE = StateMachine(
    "ride",
    states=RideState,
    initial=RideState.DRAFT,
    terminal=[RideState.DONE, RideState.CANCELLED],
    transitions=[
        Transition(_RE.SEARCH, [_RS.DRAFT], _RS.SEARCHING, [_R.CUSTOMER, _R.SYSTEM]),
        Transition(_RE.ACCEPT, [_RS.SEARCHING], _RS.ACCEPTED, [_R.DRIVER]),
        Transition(_RE.NO_DRIVER, [_RS.SEARCHING], _RS.NO_DRIVER, [_R.SYSTEM]),
        Transition(_RE.SEARCH_AGAIN, [_RS.NO_DRIVER], _RS.SEARCHING, [_R.CUSTOMER]),
        Transition(_RE.REQUEUE, [_RS.ACCEPTED], _RS.SEARCHING, [_R.SYSTEM]),
        Transition(_RE.ARRIVE, [_RS.ACCEPTED], _RS.ARRIVED, [_R.DRIVER, _R.OPERATOR]),
        Transition(_RE.START, [_RS.ARRIVED], _RS.IN_PROGRESS, [_R.DRIVER]),
        Transition(_RE.COMPLETE, [_RS.IN_PROGRESS], _RS.DONE, [_R.DRIVER, _R.OPERATOR]),
        Transition(
            _RE.CANCEL,
            [_RS.DRAFT, _RS.SEARCHING, _RS.NO_DRIVER],
            _RS.CANCELLED,
            [_R.CUSTOMER, _R.OPERATOR, _R.SYSTEM],
        ),
        Transition(
            _RE.CANCEL,
            [_RS.ACCEPTED, _RS.ARRIVED],
            _RS.CANCELLED,
            [_R.CUSTOMER, _R.DRIVER, _R.OPERATOR],
        ),
        Transition(_RE.CANCEL, [_RS.IN_PROGRESS], _RS.CANCELLED, [_R.OPERATOR]),
    ],
)

_FS, _FE = FreightState, FreightEvent

FREIGHT = StateMachine(
    "freight",
    states=FreightState,
    initial=FreightState.DRAFT,
    terminal=[FreightState.CLOSED, FreightState.CANCELLED],
    transitions=[
        Transition(_FE.PUBLISH, [_FS.DRAFT], _FS.OPEN, [_R.SHIPPER, _R.OPERATOR]),
        Transition(_FE.ACCEPT_BID, [_FS.OPEN], _FS.ASSIGNED, [_R.SHIPPER, _R.OPERATOR]),
        Transition(_FE.EXPIRE, [_FS.OPEN], _FS.EXPIRED, [_R.SYSTEM]),
        Transition(_FE.REOPEN, [_FS.EXPIRED], _FS.OPEN, [_R.SHIPPER, _R.OPERATOR]),
        Transition(_FE.RELEASE, [_FS.ASSIGNED], _FS.OPEN, [_R.CARRIER, _R.OPERATOR]),
        Transition(_FE.ARRIVE_AT_PICKUP, [_FS.ASSIGNED], _FS.AT_PICKUP, [_R.CARRIER]),
        Transition(_FE.PICK_UP, [_FS.AT_PICKUP], _FS.IN_TRANSIT, [_R.CARRIER]),
        Transition(
            _FE.DELIVER,
            [_FS.IN_TRANSIT],
            _FS.DELIVERED,
            [_R.CARRIER, _R.OPERATOR],
            guard=has_proof_of_delivery,
        ),
        Transition(_FE.DISPUTE, [_FS.DELIVERED], _FS.DISPUTED, [_R.SHIPPER, _R.CARRIER]),
        Transition(_FE.CLOSE, [_FS.DELIVERED], _FS.CLOSED, [_R.SHIPPER, _R.OPERATOR, _R.SYSTEM]),
        Transition(_FE.RESOLVE, [_FS.DISPUTED], _FS.CLOSED, [_R.OPERATOR]),
        Transition(
            _FE.CANCEL,
            [_FS.DRAFT, _FS.OPEN, _FS.EXPIRED],
            _FS.CANCELLED,
            [_R.SHIPPER, _R.OPERATOR, _R.SYSTEM],
        ),
        Transition(
            _FE.CANCEL,
            [_FS.ASSIGNED, _FS.AT_PICKUP],
            _FS.CANCELLED,
            [_R.SHIPPER, _R.CARRIER, _R.OPERATOR],
        ),
    ],
)

_DS, _DE = DeliveryState, DeliveryEvent

DELIVERY = StateMachine(
    "delivery",
    states=DeliveryState,
    initial=DeliveryState.PENDING,
    terminal=[DeliveryState.DELIVERED, DeliveryState.CANCELLED, DeliveryState.RETURNED],
    transitions=[
        Transition(
            _DE.CONFIRM, [_DS.PENDING], _DS.CONFIRMED, [_R.MERCHANT, _R.OPERATOR, _R.SYSTEM]
        ),
        Transition(_DE.PREPARE, [_DS.CONFIRMED], _DS.PREPARING, [_R.MERCHANT]),
        Transition(_DE.MARK_READY, [_DS.PREPARING], _DS.READY, [_R.MERCHANT]),
        Transition(_DE.PICK_UP, [_DS.READY], _DS.PICKED_UP, [_R.RIDER]),
        Transition(_DE.DEPART, [_DS.PICKED_UP], _DS.IN_TRANSIT, [_R.RIDER]),
        Transition(
            _DE.DELIVER,
            [_DS.IN_TRANSIT],
            _DS.DELIVERED,
            [_R.RIDER, _R.OPERATOR],
            guard=has_proof_of_delivery,
        ),
        Transition(_DE.FAIL, [_DS.IN_TRANSIT], _DS.FAILED, [_R.RIDER, _R.OPERATOR]),
        Transition(_DE.RETRY, [_DS.FAILED], _DS.IN_TRANSIT, [_R.RIDER, _R.OPERATOR]),
        Transition(_DE.RETURN, [_DS.FAILED], _DS.RETURNED, [_R.RIDER, _R.OPERATOR]),
        Transition(
            _DE.CANCEL,
            [_DS.PENDING, _DS.CONFIRMED],
            _DS.CANCELLED,
            [_R.CUSTOMER, _R.MERCHANT, _R.OPERATOR, _R.SYSTEM],
        ),
        Transition(
            _DE.CANCEL, [_DS.PREPARING, _DS.READY], _DS.CANCELLED, [_R.MERCHANT, _R.OPERATOR]
        ),
    ],
)
