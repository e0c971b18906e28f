"""Presence, the same on every store: the service over memory, Redis and Django stores.

A driver whose phone goes quiet drops out of search after the presence
timeout and goes offline (reason ``silent``) after ``offline_after_s``;
one on a ride stays online, his customer told his position is stale; a
closed connection makes him unreachable at once; a fix or a ping brings
him back.  Every step runs through :class:`DispatchService` with the
stores under contract, so each adapter's commit, registry and sweep are
held to the in-memory behaviour.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis_support
from samples import AKWA, DEIDO

from vtc_dispatch.changes import ChangeSet, DriverAbsent, DriverOffline
from vtc_dispatch.errors import ConcurrencyConflict
from vtc_dispatch.events import DriverWentOffline, DriverWentSilent, Event
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import destination_point
from vtc_dispatch.memory import InMemoryStores, ManualClock, RecordingNotifier
from vtc_dispatch.order import Fix, Presence
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
NEAR = destination_point(AKWA, 45.0, 0.3)


def _memory() -> dict[str, Any]:
    stores = InMemoryStores()
    return {**stores.ports(), "unit_of_work": stores.unit_of_work()}


def _redis() -> dict[str, Any]:
    ports = redis_support.fresh_storage().ports()
    del ports["notifier"]
    return ports


def _django() -> dict[str, Any]:
    from vtc_dispatch_django.runtime import default_stores, with_unit_of_work

    return with_unit_of_work(default_stores())


STORES: dict[str, Callable[[], dict[str, Any]]] = {
    "memory": _memory,
    "redis": _redis,
    "django": _django,
}


class World:
    """A service over the stores under contract, a manual clock, and what it published."""

    def __init__(self, ports: dict[str, Any]) -> None:
        self.clock = ManualClock(T0)
        self.notifier = RecordingNotifier()
        self.events: list[Event] = []
        ids = itertools.count(1)
        self.service = DispatchService(
            pricing=douala_config(),
            settings=ServiceSettings(presence_timeout_s=60, offline_after_s=300),
            clock=self.clock,
            notifier=self.notifier,
            new_order_id=lambda: f"ord-{next(ids)}",
            **ports,
        )
        self.service.subscribe(self.events.append)

    def later(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    def types(self, role: str, party: str) -> list[str]:
        return [m.type for m in self.notifier.messages_for(role, party)]  # type: ignore[attr-defined]


@pytest.fixture(params=sorted(STORES))
def world(request: pytest.FixtureRequest) -> World:
    return World(STORES[request.param]())


def test_a_silent_driver_leaves_search_then_goes_offline_and_is_told(world: World) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    world.later(59)
    assert [line.count for line in service.search(AKWA, DEIDO)] == [1]
    world.later(2)  # 61 s without a fix: not counted, not offered, before any sweep
    assert service.search(AKWA, DEIDO) == []
    assert service.count_available(AKWA) == {}
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to is None
    assert service.drivers.get("amadou").presence is Presence.PRESENT
    service.expire_due()
    silent = service.drivers.get("amadou")
    assert (silent.presence, silent.online, silent.seen_at) == (Presence.SILENT, True, T0)
    world.later(240)  # 301 s after he was last heard from
    service.expire_due()
    off = service.drivers.get("amadou")
    assert (off.online, off.offline_reason) == (False, "silent")
    assert [e for e in world.events if isinstance(e, DriverWentOffline)] == [
        DriverWentOffline("amadou", T0 + timedelta(seconds=301), "silent")
    ]
    assert world.types("driver", "amadou") == ["went_offline"]
    service.expire_due()  # done once
    assert world.types("driver", "amadou") == ["went_offline"]
    # When he comes back, his fix says why he is off; online again, he is found.
    answer = service.update_position("amadou", NEAR)
    assert (answer.accepted, answer.reason, answer.offline_reason) == (False, "offline", "silent")
    assert service.ping("amadou").offline_reason == "silent"
    service.driver_online("amadou", "taxi_jaune", NEAR)
    back = service.drivers.get("amadou")
    assert (back.online, back.presence, back.offline_reason) == (True, Presence.PRESENT, None)
    assert [line.count for line in service.search(AKWA, DEIDO)] == [1]


def test_a_fix_or_a_ping_keeps_a_driver_present(world: World) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    for _ in range(10):
        world.later(50)
        service.ping("amadou")
        service.expire_due()
    world.later(50)
    assert service.update_position("amadou", destination_point(NEAR, 0, 0.2)).accepted
    world.later(50)
    service.expire_due()
    assert service.drivers.get("amadou").presence is Presence.PRESENT
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to == "amadou"


def test_a_batch_of_fixes_brings_silent_and_unreachable_drivers_back(world: World) -> None:
    """Each driver of the batch is present again, listed once among the online drivers,
    no longer among the absent; an offline one is answered so and listed nowhere."""
    service = world.service
    places = {d: destination_point(AKWA, 90.0 * k, 0.4) for k, d in enumerate("abcd")}
    for driver, place in places.items():
        service.driver_online(driver, "taxi_jaune", place)
    world.later(61)
    service.expire_due()  # a, b, c, d silent
    service.driver_unreachable("b")
    service.driver_offline("d")
    world.later(5)
    answers = service.update_positions(
        [Fix(d, destination_point(p, 0, 0.01)) for d, p in places.items()]
    )
    assert [(a.accepted, a.reason) for a in answers] == [(True, None)] * 3 + [(False, "offline")]
    drivers = service.drivers
    assert sorted(s.driver_id for s in drivers.online_drivers()) == ["a", "b", "c"]
    assert {drivers.get(d).presence for d in "abc"} == {Presence.PRESENT}
    assert drivers.heard_before(world.clock.now(), present=False) == []
    assert [line.count for line in service.search(AKWA, DEIDO)] == [3]


def test_a_driver_on_a_ride_is_never_put_offline_by_silence(world: World) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("amadou", order.id)
    world.later(61)
    service.expire_due()
    on_ride = service.drivers.get("amadou")
    assert (on_ride.presence, on_ride.online) == (Presence.SILENT, True)
    assert world.types("customer", "chantal")[-1] == "driver_silent"
    [silent] = [e for e in world.events if isinstance(e, DriverWentSilent)]
    assert (silent.order_id, silent.customer_id, silent.seen_at) == (order.id, "chantal", T0)
    world.later(600)
    service.expire_due()
    assert service.drivers.get("amadou").online
    assert service.orders.get(order.id).state == RideState.ACCEPTED
    # His next fix brings him back; the customer sees him move again.
    assert service.update_position("amadou", AKWA).accepted
    assert service.drivers.get("amadou").presence is Presence.PRESENT


def test_a_closed_connection_makes_a_driver_unreachable_at_once(world: World) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    service.driver_online("brice", "taxi_jaune", destination_point(AKWA, 0, 1.5))
    heard = world.clock.now()
    world.later(5)
    service.driver_unreachable("amadou", heard_until=heard)
    assert service.drivers.get("amadou").presence is Presence.UNREACHABLE
    assert service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH").offered_to == "brice"
    # A connection closing after he was heard from on another one changes nothing.
    service.ping("brice")
    service.driver_unreachable("brice", heard_until=heard)
    assert service.drivers.get("brice").presence is Presence.PRESENT


@pytest.mark.parametrize("kind", ["silent", "offline"])
def test_a_presence_write_decided_before_a_fix_is_refused(world: World, kind: str) -> None:
    service = world.service
    service.driver_online("amadou", "taxi_jaune", NEAR)
    seen_at = service.drivers.get("amadou").seen_at
    world.later(30)
    service.update_position("amadou", NEAR)  # heard from after the decision read him
    write = (
        DriverAbsent("amadou", Presence.SILENT, seen_at)
        if kind == "silent"
        else DriverOffline("amadou", world.clock.now(), "silent", seen_at)
    )
    with pytest.raises(ConcurrencyConflict):
        service.uow.commit(ChangeSet(drivers=(write,)))
    after = service.drivers.get("amadou")
    assert (after.online, after.presence) == (True, Presence.PRESENT)
