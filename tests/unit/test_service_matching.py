"""The matching mode through the service: windows run by ``expire_due``, one commit per order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from matching_day import EXPECTED, east, play_window
from places import DEIDO, T0

from vtc_dispatch.changes import ChangeSet, Command
from vtc_dispatch.memory import InMemoryStores, ManualClock
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.pool import PoolConfig, PoolSettings
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch.unit_of_work import StoresUnitOfWork

MATCHING = PoolConfig.model_validate({"default": {"mode": "matching", "window_s": 3}})
NAMES = {"d_near": "d_near", "d_far": "d_far", "a": "a", "b": "b"}


def matching_service(**ports: object) -> tuple[ManualClock, DispatchService]:
    clock = ManualClock(T0)
    service = DispatchService(pricing=douala_config(), clock=clock, pool=MATCHING, **ports)  # type: ignore[arg-type]
    return clock, service


def test_sequential_stays_the_default_mode() -> None:
    assert PoolSettings().mode == "sequential"
    _, service = matching_service()
    service.pool = PoolConfig()
    service.driver_online("d", "taxi_jaune", east(0.3))
    assert service.create_order("a", east(0.0), DEIDO, "taxi_jaune", "CASH").offered_to == "d"


def test_two_customers_in_one_window_get_the_globally_shorter_pair() -> None:
    clock, service = matching_service()
    assert play_window(service, clock, NAMES) == EXPECTED


def test_nobody_around_ends_the_search_at_the_window_and_the_deadline_goes() -> None:
    clock, service = matching_service()
    order = service.create_order("a", east(0.0), DEIDO, "taxi_jaune", "CASH")
    assert order.window_at is not None
    clock.set(order.window_at - timedelta(microseconds=1))
    assert service.expire_due() == 0  # not due yet
    clock.set(order.window_at)
    service.expire_due()
    assert service.orders.get(order.id).state == "no_driver"
    assert service.orders.next_deadline() is None


def test_a_cancelled_waiting_order_leaves_no_deadline() -> None:
    _, service = matching_service()
    order = service.create_order("a", east(0.0), DEIDO, "taxi_jaune", "CASH")
    cancelled = service.cancel(Actor.customer("a"), order.id, "changed my mind")
    assert (cancelled.window_at, cancelled.next_deadline) == (None, None)
    assert service.orders.next_deadline() is None


def offered_to_d1() -> tuple[ManualClock, DispatchService, Order]:
    """d1 and d2 online, an order matched to d1 (the nearer) in its first window."""
    clock, service = matching_service()
    service.driver_online("d1", "taxi_jaune", east(0.3))
    service.driver_online("d2", "taxi_jaune", east(0.9))
    order = service.create_order("a", east(0.0), DEIDO, "taxi_jaune", "CASH")
    assert order.window_at is not None
    clock.set(order.window_at)
    assert service.expire_due() == 1
    offered = service.orders.get(order.id)
    assert offered.offered_to == "d1"
    return clock, service, offered


def test_a_driver_going_offline_with_a_matched_offer_sends_the_order_to_the_next_window() -> None:
    clock, service, order = offered_to_d1()
    service.driver_offline("d1")
    waiting = service.orders.get(order.id)
    assert (waiting.offered_to, waiting.tried) == (None, frozenset({"d1"}))
    assert waiting.window_at == clock.now() + timedelta(seconds=3)
    clock.set(waiting.window_at)
    service.expire_due()
    assert service.orders.get(order.id).offered_to == "d2"


def test_an_unanswered_offer_goes_back_to_the_next_window_without_its_driver() -> None:
    clock, service, offered = offered_to_d1()
    assert offered.offer_expires_at == clock.now() + timedelta(seconds=30)
    clock.set(offered.offer_expires_at)
    assert service.expire_due() == 1  # the expiry; its window comes 3 s later
    back = service.orders.get(offered.id)
    assert (back.offers, back.tried) == ((), frozenset({"d1"}))
    assert back.window_at == clock.now() + timedelta(seconds=3)
    clock.set(back.window_at)
    assert service.expire_due() == 1
    assert service.orders.get(offered.id).offered_to == "d2"


def test_a_window_replayed_under_its_command_id_changes_nothing() -> None:
    clock, service = matching_service()
    service.driver_online("d1", "taxi_jaune", east(0.3))
    order = service.create_order("a", east(0.0), DEIDO, "taxi_jaune", "CASH")
    assert order.window_at is not None
    clock.set(order.window_at)
    assert service.expire_due(command_id="tick-1") == 1
    offered = service.orders.get(order.id)
    assert service.expire_due(command_id="tick-1") == 0
    assert service.orders.get(order.id) == offered


class Interfering:
    """A unit of work that lets ``before(changes)`` run once, just before the first commit
    that writes order ``order_id``: another worker acting in between."""

    def __init__(self, inner: StoresUnitOfWork, order_id: str, before: Callable[[], None]) -> None:
        self.inner = inner
        self.commands = inner.commands
        self._order_id = order_id
        self._before: Callable[[], None] | None = before

    def commit(self, changes: ChangeSet, *, command: Command | None = None) -> dict[str, Order]:
        if self._before is not None and any(w.order.id == self._order_id for w in changes.orders):
            before, self._before = self._before, None
            before()
        return self.inner.commit(changes, command=command)


def test_a_race_lost_by_one_order_of_a_window_leaves_the_others_matched() -> None:
    stores = InMemoryStores()
    ids = iter(["o1", "o2"])  # a's step is committed first (due orders come by id)
    clock, other = matching_service(**stores.ports(), new_order_id=lambda: next(ids))
    a = other.create_order("a", east(0.0), DEIDO, "taxi_jaune", "CASH")
    b = other.create_order("b", east(0.5), DEIDO, "taxi_jaune", "CASH")
    for driver, km in (("d_near", 0.3), ("d_far", -0.5), ("d_last", 2.0)):
        other.driver_online(driver, "taxi_jaune", east(km))
    # The window gives d_far to a and d_near to b; d_near goes offline before b's commit.
    uow = Interfering(stores.unit_of_work(), b.id, lambda: other.driver_offline("d_near"))
    _, service = matching_service(**stores.ports(), unit_of_work=uow)
    service.clock = clock
    assert a.window_at is not None
    clock.set(a.window_at)
    assert service.expire_due() == 2
    assert stores.orders.get(a.id).offered_to == "d_far"  # committed on its own
    # b is decided again, alone, on what is there now.
    assert stores.orders.get(b.id).offered_to == "d_last"
    assert stores.drivers.get("d_near").order_id is None


@pytest.mark.parametrize("window_s", [1.0, 3.0, 7.5])
def test_orders_placed_within_one_window_share_its_deadline(window_s: float) -> None:
    clock, service = matching_service()
    service.pool = PoolConfig.model_validate(
        {"default": {"mode": "matching", "window_s": window_s}}
    )
    placed = []
    for i in range(3):
        clock.set(T0 + timedelta(seconds=window_s * i / 3))
        placed.append(service.create_order(f"c{i}", east(0.1 * i), DEIDO, "taxi_jaune", "CASH"))
    assert {o.window_at for o in placed} == {T0 + timedelta(seconds=window_s)}


def test_the_window_follows_the_city_s_local_hour() -> None:
    clock, service = matching_service()
    service.pool = PoolConfig.model_validate(
        {
            "default": {"mode": "matching", "window_s": 3},
            "overrides": [{"city": "douala", "hours": [18], "settings": {"window_s": 30}}],
        }
    )
    # Douala is UTC+1: 16:59:58 UTC is 17:59, before the peak's windows.
    clock.set(T0.replace(hour=16, minute=59, second=58))
    service.driver_online("d", "taxi_jaune", east(0.3))
    a = service.create_order("a", east(0.0), DEIDO, "taxi_jaune", "CASH")
    assert a.window_at == T0.replace(hour=17, minute=0, second=0)
    clock.set(a.window_at)  # 18:00 in Douala: a's window runs as it was set
    service.expire_due()
    assert service.orders.get(a.id).offered_to == "d"
    clock.set(T0.replace(hour=17, minute=0, second=1))
    b = service.create_order("b", east(0.1), DEIDO, "taxi_jaune", "CASH")
    assert b.window_at == T0.replace(hour=17, minute=0, second=30)
