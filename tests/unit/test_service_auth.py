"""Who may do what: drivers act only on their own offers and rides, customers on their orders."""

from __future__ import annotations

import pytest
from places import AKWA, DEIDO

from vtc_dispatch.errors import Forbidden
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
