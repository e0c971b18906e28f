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

FREIGHT, freight brokerage with bidding of seed 001; ``draft`` is initial;
``completed*``, ``resolved*``, ``cancelled*``::

    event        | from                          | to             | roles
    -------------+-------------------------------+----------------+---------------------------
    post         | draft                         | posted         | customer, operator
    search       | posted                        | bidding        | customer, system
    accept       | bidding                       | assigned       | driver
    no_driver    | bidding                       | posted         | system
    search_again | posted                        | bidding        | customer
    requeue      | assigned                      | bidding        | system
    arrive       | assigned                      | pickup_pending | driver, operator
    start        | pickup_pending                | picked_up      | driver
    depart       | picked_up                     | in_transit     | driver
    deliver      | in_transit                    | delivered      | driver
    confirm      | delivered                     | completed      | customer, operator, system
    dispute      | delivered                     | disputed       | customer, operator
    resolve      | disputed                      | resolved       | operator
    cancel       | bidding, draft, posted        | cancelled      | customer, operator, system
    cancel       | assigned, pickup_pending      | cancelled      | customer, driver, operator
    cancel       | in_transit, picked_up         | cancelled      | operator

The shipper is the order's customer and the carrier its driver: the
commands the three kinds share (search, accept, arrive, start, cancel)
fire the same events.  Carriers invited by the pool bid while the load is
``bidding``; ``accept`` is the shipper taking one bid (the carrier's
accept).  ``posted`` is a load on the market with no carrier bidding (the
search ended without one: the shipper searches again).  ``deliver`` has
the guard :func:`has_proof_of_delivery`; ``confirm`` is the shipper
acknowledging receipt, ``dispute`` contesting it.

DELIVERY, delivery with live tracking of seeds 002 and 004; ``waiting`` is
initial; ``delivered*``, ``cancelled*``::

    event        | from                  | to         | roles
    -------------+-----------------------+------------+-------------------------------------
    confirm      | waiting               | confirmed  | merchant, operator, system
    prepare      | confirmed             | preparing  | merchant, operator
    mark_ready   | preparing             | ready      | merchant, operator
    search       | ready                 | offered    | merchant, operator, system
    accept       | offered               | accepted   | driver
    no_driver    | offered               | no_driver  | system
    search_again | no_driver             | offered    | customer, merchant, operator
    requeue      | accepted              | offered    | system
    arrive       | accepted              | at_pickup  | driver, operator
    start        | at_pickup             | picked_up  | driver
    depart       | picked_up             | on_the_way | driver
    deliver      | on_the_way            | delivered  | driver
    cancel       | confirmed, waiting    | cancelled  | customer, merchant, operator, system
    cancel       | preparing, ready      | cancelled  | merchant, operator, system
    cancel       | no_driver, offered    | cancelled  | merchant, operator, system
    cancel       | accepted, at_pickup   | cancelled  | driver, merchant, operator
    cancel       | on_the_way, picked_up | cancelled  | operator

The merchant's states come first (``waiting`` to ``ready``); the rider
(the order's driver) is searched for once the parcel is ready, and the
ride-like part follows.  ``deliver`` has the guard
:func:`has_proof_of_delivery`, as for freight.

>>> from datetime import UTC, datetime
>>> t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
>>> load = FREIGHT.start("fr-1", t0)
>>> for event, actor in [("post", Role.CUSTOMER), ("search", Role.SYSTEM),
...                      ("accept", Role.DRIVER), ("arrive", Role.DRIVER),
...                      ("start", Role.DRIVER), ("depart", Role.DRIVER)]:
...     load = load.fire(event, actor=actor, at=t0)
>>> load.can_fire(FreightEvent.DELIVER, Role.DRIVER, {"proof_of_delivery": None})
False
>>> load.fire("deliver", actor="driver", at=t0, context={"proof_of_delivery": "pod.jpg"}).state
'delivered'
>>> sorted(DELIVERY.terminal)
['cancelled', 'delivered']
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

    The three kinds share their parties: a freight shipper is the order's
    customer and its carrier the driver; a delivery's rider is its driver.

    >>> Role.DRIVER == "driver", sorted(DELIVERY.roles)
    (True, ['customer', 'driver', 'merchant', 'operator', 'system'])
    """

    CUSTOMER = "customer"
    DRIVER = "driver"
    OPERATOR = "operator"
    SYSTEM = "system"
    """The library itself or a scheduler: pool outcomes, deadlines, payments."""
    MERCHANT = "merchant"
    """The shop or restaurant whose parcel a delivery carries."""


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

    >>> FreightState.BIDDING.value, FreightState.DELIVERED in FREIGHT.terminal
    ('bidding', False)
    """

    DRAFT = "draft"
    POSTED = "posted"
    BIDDING = "bidding"
    ASSIGNED = "assigned"
    PICKUP_PENDING = "pickup_pending"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    DISPUTED = "disputed"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class FreightEvent(StrEnum):
    """The events of :data:`FREIGHT`.

    >>> FREIGHT.events(FreightState.DELIVERED)
    ['confirm', 'dispute']
    """

    POST = "post"
    SEARCH = "search"
    ACCEPT = "accept"
    NO_DRIVER = "no_driver"
    SEARCH_AGAIN = "search_again"
    REQUEUE = "requeue"
    ARRIVE = "arrive"
    START = "start"
    DEPART = "depart"
    DELIVER = "deliver"
    CONFIRM = "confirm"
    DISPUTE = "dispute"
    RESOLVE = "resolve"
    CANCEL = "cancel"


class DeliveryState(StrEnum):
    """The states of :data:`DELIVERY`.

    >>> DELIVERY.initial == DeliveryState.WAITING
    True
    """

    WAITING = "waiting"
    CONFIRMED = "confirmed"
    PREPARING = "preparing"
    READY = "ready"
    OFFERED = "offered"
    NO_DRIVER = "no_driver"
    ACCEPTED = "accepted"
    AT_PICKUP = "at_pickup"
    PICKED_UP = "picked_up"
    ON_THE_WAY = "on_the_way"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class DeliveryEvent(StrEnum):
    """The events of :data:`DELIVERY`.

    >>> DELIVERY.events(DeliveryState.NO_DRIVER)
    ['cancel', 'search_again']
    """

    CONFIRM = "confirm"
    PREPARE = "prepare"
    MARK_READY = "mark_ready"
    SEARCH = "search"
    ACCEPT = "accept"
    NO_DRIVER = "no_driver"
    SEARCH_AGAIN = "search_again"
    REQUEUE = "requeue"
    ARRIVE = "arrive"
    START = "start"
    DEPART = "depart"
    DELIVER = "deliver"
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
    terminal=[FreightState.COMPLETED, FreightState.RESOLVED, FreightState.CANCELLED],
    transitions=[
        Transition(_FE.POST, [_FS.DRAFT], _FS.POSTED, [_R.CUSTOMER, _R.OPERATOR]),
        Transition(_FE.SEARCH, [_FS.POSTED], _FS.BIDDING, [_R.CUSTOMER, _R.SYSTEM]),
        Transition(_FE.ACCEPT, [_FS.BIDDING], _FS.ASSIGNED, [_R.DRIVER]),
        Transition(_FE.NO_DRIVER, [_FS.BIDDING], _FS.POSTED, [_R.SYSTEM]),
        Transition(_FE.SEARCH_AGAIN, [_FS.POSTED], _FS.BIDDING, [_R.CUSTOMER]),
        Transition(_FE.REQUEUE, [_FS.ASSIGNED], _FS.BIDDING, [_R.SYSTEM]),
        Transition(_FE.ARRIVE, [_FS.ASSIGNED], _FS.PICKUP_PENDING, [_R.DRIVER, _R.OPERATOR]),
        Transition(_FE.START, [_FS.PICKUP_PENDING], _FS.PICKED_UP, [_R.DRIVER]),
        Transition(_FE.DEPART, [_FS.PICKED_UP], _FS.IN_TRANSIT, [_R.DRIVER]),
        Transition(
            _FE.DELIVER,
            [_FS.IN_TRANSIT],
            _FS.DELIVERED,
            [_R.DRIVER],
            guard=has_proof_of_delivery,
        ),
        Transition(
            _FE.CONFIRM, [_FS.DELIVERED], _FS.COMPLETED, [_R.CUSTOMER, _R.OPERATOR, _R.SYSTEM]
        ),
        Transition(_FE.DISPUTE, [_FS.DELIVERED], _FS.DISPUTED, [_R.CUSTOMER, _R.OPERATOR]),
        Transition(_FE.RESOLVE, [_FS.DISPUTED], _FS.RESOLVED, [_R.OPERATOR]),
        Transition(
            _FE.CANCEL,
            [_FS.DRAFT, _FS.POSTED, _FS.BIDDING],
            _FS.CANCELLED,
            [_R.CUSTOMER, _R.OPERATOR, _R.SYSTEM],
        ),
        Transition(
            _FE.CANCEL,
            [_FS.ASSIGNED, _FS.PICKUP_PENDING],
            _FS.CANCELLED,
            [_R.CUSTOMER, _R.DRIVER, _R.OPERATOR],
        ),
        Transition(_FE.CANCEL, [_FS.PICKED_UP, _FS.IN_TRANSIT], _FS.CANCELLED, [_R.OPERATOR]),
    ],
)

_DS, _DE = DeliveryState, DeliveryEvent

DELIVERY = StateMachine(
    "delivery",
    states=DeliveryState,
    initial=DeliveryState.WAITING,
    terminal=[DeliveryState.DELIVERED, DeliveryState.CANCELLED],
    transitions=[
        Transition(
            _DE.CONFIRM, [_DS.WAITING], _DS.CONFIRMED, [_R.MERCHANT, _R.OPERATOR, _R.SYSTEM]
        ),
        Transition(_DE.PREPARE, [_DS.CONFIRMED], _DS.PREPARING, [_R.MERCHANT, _R.OPERATOR]),
        Transition(_DE.MARK_READY, [_DS.PREPARING], _DS.READY, [_R.MERCHANT, _R.OPERATOR]),
        Transition(_DE.SEARCH, [_DS.READY], _DS.OFFERED, [_R.MERCHANT, _R.OPERATOR, _R.SYSTEM]),
        Transition(_DE.ACCEPT, [_DS.OFFERED], _DS.ACCEPTED, [_R.DRIVER]),
        Transition(_DE.NO_DRIVER, [_DS.OFFERED], _DS.NO_DRIVER, [_R.SYSTEM]),
        Transition(
            _DE.SEARCH_AGAIN,
            [_DS.NO_DRIVER],
            _DS.OFFERED,
            [_R.CUSTOMER, _R.MERCHANT, _R.OPERATOR],
        ),
        Transition(_DE.REQUEUE, [_DS.ACCEPTED], _DS.OFFERED, [_R.SYSTEM]),
        Transition(_DE.ARRIVE, [_DS.ACCEPTED], _DS.AT_PICKUP, [_R.DRIVER, _R.OPERATOR]),
        Transition(_DE.START, [_DS.AT_PICKUP], _DS.PICKED_UP, [_R.DRIVER]),
        Transition(_DE.DEPART, [_DS.PICKED_UP], _DS.ON_THE_WAY, [_R.DRIVER]),
        Transition(
            _DE.DELIVER,
            [_DS.ON_THE_WAY],
            _DS.DELIVERED,
            [_R.DRIVER],
            guard=has_proof_of_delivery,
        ),
        Transition(
            _DE.CANCEL,
            [_DS.WAITING, _DS.CONFIRMED],
            _DS.CANCELLED,
            [_R.CUSTOMER, _R.MERCHANT, _R.OPERATOR, _R.SYSTEM],
        ),
        Transition(
            _DE.CANCEL,
            [_DS.PREPARING, _DS.READY],
            _DS.CANCELLED,
            [_R.MERCHANT, _R.OPERATOR, _R.SYSTEM],
        ),
        Transition(
            _DE.CANCEL,
            [_DS.OFFERED, _DS.NO_DRIVER],
            _DS.CANCELLED,
            [_R.MERCHANT, _R.OPERATOR, _R.SYSTEM],
        ),
        Transition(
            _DE.CANCEL,
            [_DS.ACCEPTED, _DS.AT_PICKUP],
            _DS.CANCELLED,
            [_R.DRIVER, _R.MERCHANT, _R.OPERATOR],
        ),
        Transition(_DE.CANCEL, [_DS.PICKED_UP, _DS.ON_THE_WAY], _DS.CANCELLED, [_R.OPERATOR]),
    ],
)
