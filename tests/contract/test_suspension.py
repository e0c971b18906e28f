"""An operator's suspension, the same on every store (memory, Redis, Django).

A suspended driver is neither counted nor offered, whatever his rating,
and only an operator lifts it: his ratings decide his rating block alone.
His live offer goes to the next driver without counting as his refusal;
a ride he drives goes on.  Every step runs through
:class:`~vtc_dispatch.service.DispatchService` over the stores under
contract (the fixture of ``test_presence``).
"""

from __future__ import annotations

import pytest
from samples import AKWA, DEIDO
from test_presence import NEAR, STORES, World

from vtc_dispatch.errors import Forbidden, InvalidArgument, NotFound
from vtc_dispatch.events import DriverSuspensionChanged, OfferRejected, OfferWithdrawn
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import destination_point
from vtc_dispatch.order import Actor

OPS = Actor.operator("ops-1")
FAR = destination_point(AKWA, 0, 1.5)


@pytest.fixture(params=sorted(STORES))
def world(request: pytest.FixtureRequest) -> World:
    return World(STORES[request.param]())


def _counted(world: World) -> int:
    return sum(line.count for line in world.service.search(AKWA, DEIDO))


def _ride(world: World, driver_id: str, customer_id: str) -> str:
    """A ride from AKWA to DEIDO driven by ``driver_id`` (the only driver offered)."""
    service = world.service
    order = service.create_order(customer_id, AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to == driver_id
    service.accept(driver_id, order.id)
    service.update_position(driver_id, AKWA)
    service.arrived(driver_id, order.id)
    service.start_trip(driver_id, order.id)
    world.later(600)
    service.update_position(driver_id, DEIDO)
    service.complete_trip(driver_id, order.id)
    return order.id


def test_a_suspended_driver_is_not_counted_nor_offered_until_lifted(world: World) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    service.suspend_driver(OPS, "amadou", reason="complaints")
    status = service.drivers.get("amadou")
    assert (status.suspended, status.blocked, status.available) == (True, False, False)
    assert _counted(world) == 0
    assert service.count_available(AKWA) == {}
    assert service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH").offered_to is None
    # Fixes and presence keep him online and heard from, still out of search.
    service.update_position("amadou", AKWA)
    assert service.drivers.get("amadou").suspended
    assert _counted(world) == 0
    service.suspend_driver(OPS, "amadou", suspended=False)
    assert service.drivers.get("amadou").available
    assert _counted(world) == 1
    told = [e for e in world.events if isinstance(e, DriverSuspensionChanged)]
    assert [(e.suspended, e.by, e.reason) for e in told] == [
        (True, "ops-1", "complaints"),
        (False, "ops-1", None),
    ]
    assert world.types("driver", "amadou") == ["suspension", "suspension"]


def test_good_ratings_never_lift_a_suspension(world: World) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    order_id = _ride(world, "amadou", "chantal")
    service.suspend_driver(OPS, "amadou")
    service.rate(Actor.customer("chantal"), order_id, 5)
    rated = service.drivers.get("amadou")
    assert (rated.rating_count, rated.blocked, rated.suspended) == (1, False, True)
    assert _counted(world) == 0
    service.suspend_driver(OPS, "amadou", suspended=False)
    assert _counted(world) == 1


def test_a_suspended_drivers_live_offer_goes_to_the_next_driver_not_as_a_refusal(
    world: World,
) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    service.driver_online("brice", "taxi_jaune", FAR)
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to == "amadou"
    refused_before = service.stats.get("amadou").refused
    service.suspend_driver(OPS, "amadou")
    assert service.orders.get(order.id).offered_to == "brice"
    assert service.drivers.get("amadou").order_id is None
    assert service.stats.get("amadou").refused == refused_before
    withdrawn = [e for e in world.events if isinstance(e, OfferWithdrawn)]
    assert [(e.driver_id, e.reason) for e in withdrawn] == [("amadou", "suspended")]
    assert not [e for e in world.events if isinstance(e, OfferRejected)]
    assert world.types("driver", "amadou")[-2:] == ["offer_withdrawn", "suspension"]


def test_a_ride_goes_on_when_its_driver_is_suspended(world: World) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("amadou", order.id)
    service.suspend_driver(OPS, "amadou")
    assert service.orders.get(order.id).state == RideState.ACCEPTED
    service.update_position("amadou", AKWA)
    service.arrived("amadou", order.id)
    service.start_trip("amadou", order.id)
    world.later(600)
    service.update_position("amadou", DEIDO)
    assert service.complete_trip("amadou", order.id).state == RideState.DONE
    after = service.drivers.get("amadou")
    assert (after.order_id, after.online, after.available) == (None, True, False)
    assert _counted(world) == 0


def test_only_an_operator_suspends_and_bad_input_is_named(world: World) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    for who in (Actor.customer("chantal"), Actor.driver("amadou")):
        with pytest.raises(Forbidden):
            service.suspend_driver(who, "amadou")
    with pytest.raises(NotFound, match="nobody"):
        service.suspend_driver(OPS, "nobody")
    with pytest.raises(InvalidArgument) as bad:
        service.suspend_driver(OPS, "amadou", suspended="yes")  # type: ignore[arg-type]
    assert bad.value.argument == "suspended"
    with pytest.raises(InvalidArgument) as blank:
        service.suspend_driver(OPS, "amadou", reason="  ")
    assert blank.value.argument == "reason"
    # Nothing refused was written or told.
    assert not service.drivers.get("amadou").suspended
    assert not [e for e in world.events if isinstance(e, DriverSuspensionChanged)]
