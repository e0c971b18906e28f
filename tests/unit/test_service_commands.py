"""Commands with a command_id: a replay answers as the first time and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from places import AKWA, DEIDO, T0

from vtc_dispatch.errors import IdempotencyConflict, InvalidCommandId
from vtc_dispatch.geo import destination_point
from vtc_dispatch.memory import InMemoryStores, ManualClock, RecordingNotifier
from vtc_dispatch.order import Actor, PaymentStatus
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService


def _service(
    stores: InMemoryStores, clock: ManualClock, notifier: RecordingNotifier
) -> DispatchService:
    return DispatchService(
        pricing=douala_config(), clock=clock, notifier=notifier, **stores.ports()
    )


@pytest.fixture
def stores() -> InMemoryStores:
    return InMemoryStores()


def test_a_replayed_create_order_returns_the_first_order_and_sends_nothing_again(
    stores: InMemoryStores,
) -> None:
    notifier = RecordingNotifier()
    service = _service(stores, ManualClock(T0), notifier)
    service.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0, 0.3))
    stores.wallet.credit("chantal", Decimal(5000), "XAF")
    first = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET", command_id="tap-1")
    sent = len(notifier.sent)
    balance = stores.wallet.balance("chantal", "XAF")
    again = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET", command_id="tap-1")
    assert again == first
    assert len(notifier.sent) == sent
    assert stores.wallet.balance("chantal", "XAF") == balance  # held once
    assert [o.id for o in stores.orders.find("customer", "chantal")] == [first.id]


def test_a_replay_on_another_service_over_the_same_stores_is_answered_from_the_record(
    stores: InMemoryStores,
) -> None:
    clock = ManualClock(T0)
    a = _service(stores, clock, RecordingNotifier())
    b = _service(stores, clock, RecordingNotifier())
    a.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0, 0.3))
    order = a.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    accepted = a.accept("amadou", order.id, command_id="accept-1")
    clock.advance(timedelta(seconds=5))
    assert b.accept("amadou", order.id, command_id="accept-1") == accepted


def test_the_same_command_id_for_another_command_is_refused_and_changes_nothing(
    stores: InMemoryStores,
) -> None:
    service = _service(stores, ManualClock(T0), RecordingNotifier())
    service.driver_online("amadou", "taxi_jaune", AKWA, command_id="k")
    with pytest.raises(IdempotencyConflict, match="'k' was used for driver_online"):
        service.driver_online("binta", "taxi_jaune", AKWA, command_id="k")
    with pytest.raises(IdempotencyConflict):
        service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH", command_id="k")
    assert stores.orders.find("customer", "chantal") == []
    assert stores.drivers.nearest_available(AKWA, 5, 1.0) == [("amadou", 0.0)]


@pytest.mark.parametrize("bad", ["", "x" * 201, 7, b"tap-1"])
def test_a_malformed_command_id_is_refused(stores: InMemoryStores, bad: object) -> None:
    service = _service(stores, ManualClock(T0), RecordingNotifier())
    with pytest.raises(InvalidCommandId, match="command_id must be a text"):
        service.driver_online("amadou", "taxi_jaune", AKWA, command_id=bad)  # type: ignore[arg-type]


def test_an_accept_retried_by_the_winner_returns_the_order(stores: InMemoryStores) -> None:
    notifier = RecordingNotifier()
    service = _service(stores, ManualClock(T0), notifier)
    service.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0, 0.3))
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    accepted = service.accept("amadou", order.id)
    sent = len(notifier.sent)
    assert service.accept("amadou", order.id) == accepted
    assert len(notifier.sent) == sent


def test_a_whole_wallet_ride_replayed_step_by_step_moves_money_once(
    stores: InMemoryStores,
) -> None:
    clock = ManualClock(T0)
    service = _service(stores, clock, RecordingNotifier())
    stores.wallet.credit("chantal", Decimal(5000), "XAF")
    service.driver_online("amadou", "taxi_jaune", AKWA)
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET", command_id="c1")
    assert service.accept("amadou", order.id, command_id="a1") == service.accept(
        "amadou", order.id, command_id="a1"
    )
    assert service.arrived("amadou", order.id, command_id="a2") == service.arrived(
        "amadou", order.id, command_id="a2"
    )
    assert service.start_trip("amadou", order.id, command_id="a3") == service.start_trip(
        "amadou", order.id, command_id="a3"
    )
    clock.advance(timedelta(minutes=6))
    service.update_position("amadou", DEIDO, command_id="p1")
    service.update_position("amadou", DEIDO, command_id="p1")
    done = service.complete_trip("amadou", order.id, command_id="done")
    assert service.complete_trip("amadou", order.id, command_id="done") == done
    rated = service.rate(Actor.customer("chantal"), order.id, 4, command_id="r1")
    assert service.rate(Actor.customer("chantal"), order.id, 4, command_id="r1") == rated
    assert done.final_fare is not None
    assert (done.payment_status, done.amount_paid) == (PaymentStatus.PAID, done.final_fare.amount)
    assert stores.wallet.balance("chantal", "XAF") == 5000 - done.final_fare.amount
    assert stores.drivers.get("amadou").rating_count == 1


def test_expire_due_replayed_with_its_command_id_handles_each_order_once(
    stores: InMemoryStores,
) -> None:
    clock = ManualClock(T0)
    notifier = RecordingNotifier()
    service = _service(stores, clock, notifier)
    for name, km in (("amadou", 0.3), ("binta", 0.6)):
        service.driver_online(name, "taxi_jaune", destination_point(AKWA, 0, km))
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    clock.advance(timedelta(seconds=31))
    assert service.expire_due(command_id="tick-1") == 1
    moved = stores.orders.get(order.id)
    sent = len(notifier.sent)
    assert moved.offered_to == "binta"
    clock.advance(timedelta(seconds=31))  # binta's offer is due too, but this is the replay
    assert service.expire_due(command_id="tick-1") == 0
    assert stores.orders.get(order.id) == moved
    assert len(notifier.sent) == sent
    assert service.expire_due(command_id="tick-2") == 1
