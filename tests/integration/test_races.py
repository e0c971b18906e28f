"""Two workers sharing one set of stores: a command slipped inside another leaves them consistent.

Worker A and worker B are two :class:`DispatchService` instances over the
same stores (memory: the same objects; Redis: two clients on one prefix;
Django: two database connections, B's on a thread of its own), each with
its own :class:`ManualClock`.  :class:`interleave.Interleave` runs B's
command right after A loaded the order, so A then writes from a version
that B has just changed.  Whatever the interleaving, a driver who accepted
stays reserved for his order and is offered nothing else, and an order is
never ACCEPTED while its driver is free.  Commands that raise
``ConcurrencyConflict`` are run again, as a worker does; the stores are
checked after every attempt, since other workers see them in between.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs
import pytest
import redis_support
from interleave import Interleave, Worker
from samples import AKWA, DEIDO

from vtc_dispatch.errors import ConcurrencyConflict, DispatchError
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import (
    InMemoryDriverRegistry,
    InMemoryOrderRepository,
    InMemoryProgressStore,
    InMemoryRatingStore,
    InMemoryWallet,
    ManualClock,
    RecordingNotifier,
)
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.pool import StatsBook
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService

T = TypeVar("T")

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
# The accepting driver waits at the pickup; the second one is farther but
# within the first search radius, so a sound pool always has someone else.
NEAR = destination_point(AKWA, 90.0, 0.2)
FAR = destination_point(AKWA, 270.0, 1.5)
ON_ORDER = frozenset({RideState.ACCEPTED, RideState.ARRIVED, RideState.IN_PROGRESS})
_STORES = ("orders", "drivers", "progress", "wallet", "stats", "ratings")


@attrs.define
class Pair:
    """Worker A (hooked, on the test's thread) and worker B (its own thread), one set of stores."""

    a: DispatchService
    b: DispatchService
    clock_a: ManualClock
    clock_b: ManualClock
    hook: Interleave
    worker_b: Worker

    def in_b(self, command: Callable[[], T]) -> T:
        return self.worker_b.run(command)


def _memory_ports() -> Callable[[], dict[str, Any]]:
    shared: dict[str, Any] = {
        "orders": InMemoryOrderRepository(),
        "drivers": InMemoryDriverRegistry(),
        "progress": InMemoryProgressStore(),
        "wallet": InMemoryWallet(),
        "stats": StatsBook(),
        "ratings": InMemoryRatingStore(),
    }
    return lambda: dict(shared)


def _redis_ports() -> Callable[[], dict[str, Any]]:
    first = redis_support.fresh_storage()  # skips (or fails) without Redis
    from vtc_dispatch_redis import RedisStorage

    def ports() -> dict[str, Any]:
        # Each worker its own client (its own connection), on the same prefix.
        found = RedisStorage(first.settings).ports()
        return {name: found[name] for name in _STORES}

    return ports


def _django_ports() -> Callable[[], dict[str, Any]]:
    from vtc_dispatch_django import repositories as r

    return lambda: {
        "orders": r.DjangoOrderRepository(),
        "drivers": r.DjangoDriverRegistry(),
        "progress": r.DjangoProgressStore(),
        "wallet": r.DjangoWallet(),
        "stats": r.DjangoStatsStore(),
        "ratings": r.DjangoRatingStore(),
    }


def _close_django_connection() -> None:
    from django.db import connection

    connection.close()


@pytest.fixture(
    params=[
        "memory",
        "redis",
        pytest.param("django", marks=pytest.mark.django_db(transaction=True)),
    ]
)
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    on_close: Callable[[], object] | None = None
    if request.param == "memory":
        ports = _memory_ports()
    elif request.param == "redis":
        ports = _redis_ports()
    else:
        # Committed rows (transaction=True): B's connection sees what A wrote.
        ports, on_close = _django_ports(), _close_django_connection
    hook = Interleave()
    clock_a, clock_b = ManualClock(START), ManualClock(START)
    stores_a = {name: hook.wrap(store) for name, store in ports().items()}
    stores_b = ports()
    a = DispatchService(
        pricing=douala_config(), clock=clock_a, notifier=RecordingNotifier(), **stores_a
    )
    b = DispatchService(
        pricing=douala_config(), clock=clock_b, notifier=RecordingNotifier(), **stores_b
    )
    worker_b = Worker("B", on_close=on_close)
    try:
        yield Pair(a, b, clock_a, clock_b, hook, worker_b)
    finally:
        worker_b.close()
        redis_support.clean_up()
        if request.param == "django":
            gc.collect()


def inconsistencies(service: DispatchService, order_ids: list[str]) -> list[str]:
    """Orders and driver reservations that disagree, read through the public stores."""
    problems = []
    for order_id in order_ids:
        order = service.orders.get(order_id)
        holders = {o.driver_id for o in order.offers}
        if order.state in ON_ORDER and order.driver_id is not None:
            holders.add(order.driver_id)
        for driver_id in sorted(holders):
            held = service.drivers.get(driver_id).order_id
            if held != order.id:
                role = "its driver" if driver_id == order.driver_id else "offered it"
                problems.append(
                    f"order {order.id} is {order.state} and {driver_id} ({role}) is reserved"
                    f" for {held!r} in the registry, not for it"
                )
    return problems


def retrying(
    service: DispatchService, order_ids: list[str], what: str, command: Callable[[], T]
) -> T:
    """Run ``command`` until it does not conflict; the stores must be consistent after each try."""
    for attempt in range(1, 9):
        try:
            return command()
        except ConcurrencyConflict as exc:
            problems = inconsistencies(service, order_ids)
            if problems:
                raise AssertionError(
                    f"after {what} (attempt {attempt}) raised ConcurrencyConflict ({exc}),"
                    f" the stores are inconsistent: {problems}"
                ) from exc
    raise AssertionError(f"{what} still conflicts after 8 attempts")


def set_up(pair: Pair) -> Order:
    """Amadou (near) and Brice (far) online; Chantal orders; the offer goes to Amadou."""
    pair.a.driver_online("amadou", "taxi_jaune", NEAR)
    pair.a.driver_online("brice", "taxi_jaune", FAR)
    order = pair.a.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to == "amadou", f"the nearest driver should get the offer: {order}"
    return order


def second_order_not_given_to(pair: Pair, order: Order, driver_id: str) -> list[str]:
    """A new order at the driver's door goes to someone else while he is on ``order``."""
    problems = inconsistencies(pair.b, [order.id])
    stored = pair.b.orders.get(order.id)
    if stored.state not in ON_ORDER:
        return problems
    here: LatLng = pair.b.drivers.get(driver_id).position
    other = pair.in_b(lambda: pair.b.create_order("paul", here, DEIDO, "taxi_jaune", "CASH"))
    if other.offered_to == driver_id or driver_id in {o.driver_id for o in other.offers}:
        problems.append(
            f"{driver_id} is on order {order.id} ({stored.state}) and was offered order"
            f" {other.id} too"
        )
    return problems


def test_an_accept_inside_an_expiry_keeps_the_driver_on_his_order(pair: Pair) -> None:
    order = set_up(pair)
    expires_at = order.offer_expires_at
    assert expires_at is not None
    # A's clock has reached the deadline; B's is a millisecond behind (two
    # machines' clocks are never equal), so the driver's accept is in time.
    pair.clock_a.set(expires_at)
    pair.clock_b.set(expires_at - timedelta(milliseconds=1))
    accepted: list[Order] = []
    pair.hook.arm(
        order.id, lambda: accepted.append(pair.in_b(lambda: pair.b.accept("amadou", order.id)))
    )
    ids = [order.id]
    retrying(pair.a, ids, "A's expire_due", pair.a.expire_due)
    assert pair.hook.ran, "A's expire_due never loaded the order with orders.get: move the hook"
    assert [o.state for o in accepted] == [RideState.ACCEPTED], accepted
    problems = []
    stored = pair.b.orders.get(order.id)
    if stored.state != RideState.ACCEPTED or stored.driver_id != "amadou":
        problems.append(
            f"the accept B answered was lost: order is {stored.state}, {stored.driver_id}"
        )
    held = pair.b.drivers.get("amadou").order_id
    if held != order.id:
        problems.append(f"amadou accepted {order.id} but the registry reserves him for {held!r}")
    pair.clock_b.set(expires_at)
    problems += second_order_not_given_to(pair, order, "amadou")
    assert not problems, problems


@pytest.mark.parametrize("first", ["cancel", "accept"])
def test_a_cancel_and_an_accept_interleaved_end_consistent(pair: Pair, first: str) -> None:
    order = set_up(pair)
    pair.clock_a.advance(timedelta(seconds=5))
    pair.clock_b.advance(timedelta(seconds=5))

    def cancel(service: DispatchService) -> Callable[[], Order]:
        return lambda: service.cancel(Actor.customer("chantal"), order.id, "changed my mind")

    def accept(service: DispatchService) -> Callable[[], Order]:
        return lambda: service.accept("amadou", order.id)

    a_command, b_command = (cancel, accept) if first == "cancel" else (accept, cancel)
    ids = [order.id]
    outcome_b: list[object] = []

    def run_b() -> None:
        try:
            outcome_b.append(
                pair.in_b(
                    lambda: retrying(pair.b, ids, f"B's {b_command.__name__}", b_command(pair.b))
                )
            )
        except DispatchError as exc:  # a domain refusal is a fine answer for B
            outcome_b.append(exc)

    pair.hook.arm(order.id, run_b)
    try:
        retrying(pair.a, ids, f"A's {a_command.__name__}", a_command(pair.a))
    except DispatchError as exc:  # e.g. the offer was withdrawn: A's answer, not a failure
        outcome_a: object = exc
    else:
        outcome_a = "ok"
    assert pair.hook.ran, f"A's {a_command.__name__} never loaded the order: move the hook"
    stored = pair.b.orders.get(order.id)
    held = pair.b.drivers.get("amadou").order_id
    assert (stored.state, held) in {
        (RideState.CANCELLED, None),
        (RideState.ACCEPTED, order.id),
    }, (
        f"A {a_command.__name__} ({outcome_a!r}) and B {b_command.__name__} ({outcome_b!r})"
        f" left order {order.id} {stored.state} with amadou reserved for {held!r}"
    )
    problems = second_order_not_given_to(pair, order, "amadou")
    assert not problems, problems
