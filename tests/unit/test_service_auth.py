"""Who may do what: drivers act only on their own offers and rides, customers on their orders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from places import AKWA, DEIDO
from worlds import World

from vtc_dispatch.errors import Forbidden, InvalidArgument, NotFound
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import destination_point
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.pricing import PricingConfig, douala_config
from vtc_dispatch.service import DispatchService


@pytest.fixture
def service(pricing: PricingConfig, clock: ManualClock) -> DispatchService:
    s = DispatchService(pricing=pricing, clock=clock)
    s.driver_online("mine", "taxi_jaune", destination_point(AKWA, 0, 0.05))
    s.driver_online("other", "taxi_jaune", destination_point(AKWA, 90, 3.0))
    return s


def accepted(service: DispatchService) -> Order:
    order = service.create_order("alice", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to == "mine"
    return service.accept("mine", order.id)


def test_only_the_offered_driver_accepts_or_rejects(service: DispatchService) -> None:
    order = service.create_order("alice", AKWA, DEIDO, "taxi_jaune", "CASH")
    for command in (service.accept, service.reject):
        with pytest.raises(Forbidden, match="driver 'other' holds no offer"):
            command("other", order.id)
    assert service.orders.get(order.id).offered_to == "mine"


@pytest.mark.parametrize("command", ["arrived", "start_trip", "complete_trip"])
def test_another_driver_cannot_move_the_ride(service: DispatchService, command: str) -> None:
    order = accepted(service)
    before = service.orders.get(order.id)
    with pytest.raises(Forbidden, match="driver 'other' is not the driver of order"):
        getattr(service, command)("other", order.id)
    assert service.orders.get(order.id) == before


def test_customers_act_only_on_their_own_orders(service: DispatchService) -> None:
    order = accepted(service)
    with pytest.raises(Forbidden, match="customer 'mallory' does not own order"):
        service.cancel(Actor.customer("mallory"), order.id, "mine now")
    with pytest.raises(Forbidden, match="does not own"):
        service.get_order(Actor.customer("mallory"), order.id)
    with pytest.raises(Forbidden, match="does not own"):
        service.search_again("mallory", order.id)
    service.arrived("mine", order.id)
    service.start_trip("mine", order.id)
    done = service.complete_trip("mine", order.id)
    with pytest.raises(Forbidden, match="customer 'mallory' does not own"):
        service.rate(Actor.customer("mallory"), done.id, 1)
    with pytest.raises(Forbidden, match="driver 'other' is not the driver"):
        service.rate(Actor.driver("other"), done.id, 1)
    with pytest.raises(Forbidden, match="only the customer and the driver rate"):
        service.rate(Actor.operator("ops"), done.id, 1)
    assert service.orders.get(done.id).state == RideState.DONE
    assert service.orders.get(done.id).ratings == ()


def test_a_driver_cancels_only_a_ride_it_drives(service: DispatchService) -> None:
    order = accepted(service)
    with pytest.raises(Forbidden, match="driver 'other' is not the driver"):
        service.cancel(Actor.driver("other"), order.id, "no")
    requeued = service.cancel(Actor.driver("mine"), order.id, "flat tyre")
    assert requeued.state == RideState.SEARCHING
    assert requeued.driver_id is None
    assert requeued.offered_to == "other"


def test_a_route_estimator_beside_a_ready_pricer_is_refused() -> None:
    from vtc_dispatch.ports import StraightLineEstimator
    from vtc_dispatch.pricing import Pricer

    with pytest.raises(ValueError, match="give the route_estimator to the Pricer"):
        DispatchService(pricing=Pricer(douala_config()), route_estimator=StraightLineEstimator())


# -- every command, every role ----------------------------------------------------------

ACTORS = {
    "owner": lambda w, state: Actor.customer(w.customers[state]),
    "other customer": lambda w, state: Actor.customer("c-free"),
    "driver": lambda w, state: Actor.driver(w.drivers[state]),
    "other driver": lambda w, state: Actor.driver("d-free"),
    "operator": lambda w, state: Actor.operator("ops-1"),
    "system": lambda w, state: Actor("system", "scheduler"),
}

# (command, state of its order) -> the actors it serves; the others are Forbidden.
ACTOR_COMMANDS: dict[tuple[str, str], tuple[Callable[..., object], set[str]]] = {
    ("get_order", "accepted"): (
        lambda s, a, o: s.get_order(a, o),
        {"owner", "driver", "operator", "system"},
    ),
    ("ride_progress", "in_progress"): (
        lambda s, a, o: s.ride_progress(a, o),
        {"owner", "driver", "operator", "system"},
    ),
    ("cancel", "accepted"): (
        lambda s, a, o: s.cancel(a, o, "changed plans"),
        {"owner", "driver", "operator"},  # the ride's machine: not the system once accepted
    ),
    ("cancel", "searching"): (
        lambda s, a, o: s.cancel(a, o, "changed plans"),
        {"owner", "operator", "system"},  # no driver holds it yet
    ),
    ("rate", "done"): (lambda s, a, o: s.rate(a, o, 4), {"owner", "driver"}),
    ("current_order", "accepted"): (
        lambda s, a, o: s.current_order(a),
        {"owner", "other customer", "driver", "other driver"},
    ),
    ("history", "done"): (
        lambda s, a, o: s.history(a),
        {"owner", "other customer", "driver", "other driver"},
    ),
}


@pytest.mark.parametrize("actor", sorted(ACTORS))
@pytest.mark.parametrize("command", sorted(ACTOR_COMMANDS), ids="-".join)
def test_each_actor_command_serves_exactly_the_parties_and_overseers_it_names(
    command: tuple[str, str], actor: str
) -> None:
    world = World()
    call, allowed = ACTOR_COMMANDS[command]
    state = command[1]
    who = ACTORS[actor](world, state)
    order_id = world.orders[state]
    if actor in allowed:
        call(world.service, who, order_id)
        return
    before = world.snapshot()
    with pytest.raises(Forbidden):
        call(world.service, who, order_id)
    assert world.snapshot() == before


def test_parties_see_only_their_own_orders() -> None:
    world = World()
    assert world.service.current_order(Actor.customer("c-free")) is None
    assert world.service.history(Actor.driver("d-free")) == []
    accepted = world.service.current_order(Actor.driver("d-accepted"))
    assert accepted is not None
    assert accepted.id == world.orders["accepted"]
    assert [o.id for o in world.service.history(Actor.customer("c-done"))] == [world.orders["done"]]


@pytest.mark.parametrize("role", ["hacker", "", "Customer", "DRIVER", "carrier", "shipper"])
def test_an_actor_with_an_unknown_role_cannot_be_built(role: str) -> None:
    with pytest.raises(InvalidArgument, match="role must be one of"):
        Actor(role, "c-accepted")


@pytest.mark.parametrize("role", ["hacker", "", "Customer", "carrier"])
@pytest.mark.parametrize("command", sorted(ACTOR_COMMANDS), ids="-".join)
def test_an_actor_whose_role_was_forged_after_building_is_refused_everything(
    command: tuple[str, str], role: str
) -> None:
    # What a path around the constructor (unpickling, object.__setattr__) could make:
    # no role but the ones named is ever read as a party or an overseer.
    world = World()
    call, _ = ACTOR_COMMANDS[command]
    state = command[1]
    forged = Actor.customer(world.customers[state])
    object.__setattr__(forged, "role", role)
    before = world.snapshot()
    with pytest.raises((Forbidden, InvalidArgument)):
        call(world.service, forged, world.orders[state])
    assert world.snapshot() == before


# Commands that name their driver or customer by id: only that party is served.
PARTY_COMMANDS: dict[str, tuple[str, Callable[..., object]]] = {
    "accept": ("searching", lambda s, who, o: s.accept(who, o)),
    "reject": ("searching", lambda s, who, o: s.reject(who, o)),
    "submit_bid": ("searching", lambda s, who, o: s.submit_bid(who, o, Decimal(900))),
    "arrived": ("accepted", lambda s, who, o: s.arrived(who, o)),
    "start_trip": ("accepted", lambda s, who, o: s.start_trip(who, o)),
    "complete_trip": ("in_progress", lambda s, who, o: s.complete_trip(who, o)),
    "search_again": ("searching", lambda s, who, o: s.search_again(who, o)),
    "accept_bid": ("searching", lambda s, who, o: s.accept_bid(who, o, "d-searching")),
}


@pytest.mark.parametrize("who", ["d-free", "c-free", "ops-1", "c-done", "d-done"])
@pytest.mark.parametrize("command", sorted(PARTY_COMMANDS))
def test_a_command_for_someone_else_s_order_is_refused(command: str, who: str) -> None:
    world = World()
    state, call = PARTY_COMMANDS[command]
    before = world.snapshot()
    # A driver command names a driver: an id no driver has is not found, any other is forbidden.
    with pytest.raises((Forbidden, NotFound)) as raised:
        call(world.service, who, world.orders[state])
    if who.startswith("d-") or command in ("search_again", "accept_bid"):
        assert isinstance(raised.value, Forbidden)
    assert world.snapshot() == before
