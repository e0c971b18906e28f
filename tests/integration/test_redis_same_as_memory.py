"""Any sequence of service commands gives the same orders and messages on Redis as in memory."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis_support
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from samples import AKWA, DEIDO

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.geo import destination_point
from vtc_dispatch.memory import InMemoryStores, ManualClock, RecordingNotifier
from vtc_dispatch.order import Actor, Fix
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService

DRIVERS = ("amadou", "brice", "carine")
CUSTOMERS = ("chantal", "paul")
PLACES = [destination_point(AKWA, bearing, 0.4) for bearing in (0.0, 120.0, 240.0)] + [DEIDO]

steps = st.one_of(
    st.tuples(st.just("online"), st.sampled_from(DRIVERS), st.integers(0, len(PLACES) - 1)),
    st.tuples(st.just("offline"), st.sampled_from(DRIVERS)),
    st.tuples(st.just("move"), st.sampled_from(DRIVERS), st.integers(0, len(PLACES) - 1)),
    st.tuples(st.just("order"), st.sampled_from(CUSTOMERS), st.sampled_from(["CASH", "WALLET"])),
    st.tuples(
        st.sampled_from(["accept", "reject", "arrived", "start", "complete"]),
        st.sampled_from(DRIVERS),
    ),
    st.tuples(st.just("cancel"), st.sampled_from(CUSTOMERS)),
    st.tuples(st.just("rate"), st.sampled_from(CUSTOMERS), st.integers(1, 5)),
    st.tuples(st.just("wait"), st.integers(1, 40)),
)


# A batch of fixes: each (driver, place), a driver possibly twice.
batch = st.tuples(
    st.just("batch"),
    st.lists(
        st.tuples(st.sampled_from(DRIVERS), st.integers(0, len(PLACES) - 1)),
        min_size=1,
        max_size=5,
    ),
)


class World:
    """One service per worker on the same data, and what they did: the answers (or
    errors) of each step."""

    def __init__(self, *ports: dict[str, Any]) -> None:
        self.clock = ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
        self.notifier = RecordingNotifier()
        ids = itertools.count(1)
        self.workers = [
            DispatchService(
                pricing=douala_config(),
                clock=self.clock,
                notifier=self.notifier,
                new_order_id=lambda: f"ord-{next(ids)}",
                **each,
            )
            for each in ports
        ]
        self.service = self.workers[0]
        self.answers: list[object] = []

    def latest(self, customer: str) -> str | None:
        found = self.service.history(Actor.customer(customer), page_size=1)
        return found[0].id if found else None

    def offered(self, driver: str) -> str | None:
        for customer in CUSTOMERS:
            order_id = self.latest(customer)
            if order_id is not None:
                order = self.service.orders.get(order_id)
                if driver in (order.offered_to, order.driver_id):
                    return order_id
        return None

    def run(self, step: tuple[Any, ...], worker: int = 0) -> None:
        s, kind = self.workers[worker % len(self.workers)], step[0]
        try:
            answer: object = None
            if kind == "batch":
                answer = s.update_positions([Fix(d, PLACES[i]) for d, i in step[1]])
            elif kind == "online":
                s.driver_online(step[1], "taxi_jaune", PLACES[step[2]])
            elif kind == "offline":
                s.driver_offline(step[1])
            elif kind == "move":
                s.update_position(step[1], PLACES[step[2]])
            elif kind == "order":
                answer = s.create_order(step[1], AKWA, DEIDO, "taxi_jaune", step[2])
            elif kind == "cancel":
                answer = s.cancel(Actor.customer(step[1]), self.latest(step[1]) or "none", "oops")
            elif kind == "rate":
                answer = s.rate(Actor.customer(step[1]), self.latest(step[1]) or "none", step[2])
            elif kind == "wait":
                self.clock.advance(timedelta(seconds=step[1]))
                answer = s.expire_due()
            else:
                order_id = self.offered(step[1]) or "none"
                if kind == "arrived":
                    answer = s.arrived(step[1], order_id, operator_id="ops")
                else:
                    answer = getattr(
                        s, {"start": "start_trip", "complete": "complete_trip"}.get(kind, kind)
                    )(step[1], order_id)
        except DispatchError as exc:
            answer = (type(exc).__name__, str(exc))
        self.answers.append(answer)

    def outcome(self) -> dict[str, Any]:
        orders = [o for c in CUSTOMERS for o in self.service.history(Actor.customer(c))]
        return {
            "answers": self.answers,
            "orders": orders,
            # The tracks: a fix decided on a stale view of its driver would miss his ride's.
            "progress": [self.service.progress.get(o.id) for o in orders],
            "drivers": [self.service.drivers.get(d) for d in DRIVERS if self._known(d)],
            "balances": [self.service.wallet.balance(c, "XAF") for c in CUSTOMERS],
            "messages": [(r, m.model_dump_json()) for r, m in self.notifier.sent],
        }

    def _known(self, driver: str) -> bool:
        try:
            self.service.drivers.get(driver)
        except DispatchError:
            return False
        return True


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(steps, min_size=1, max_size=30))
def test_a_sequence_of_commands_gives_the_same_orders_and_messages(
    sequence: list[tuple[Any, ...]],
) -> None:
    stores = InMemoryStores()
    memory = World(
        {
            "orders": stores.orders,
            "drivers": stores.drivers,
            "progress": stores.progress,
            "wallet": stores.wallet,
            "stats": stores.stats,
            "ratings": stores.ratings,
            "commands": stores.commands,
            "quotes": stores.quotes,
            "unit_of_work": stores.unit_of_work(),
        }
    )
    storage = redis_support.fresh_storage()
    try:
        ports = storage.ports()
        del ports["notifier"]  # recorded on both sides; the streams get the same (below)
        on_redis = World(ports)
        for customer in CUSTOMERS:
            stores.wallet.credit(customer, Decimal(3000), "XAF")
            storage.wallet.credit(customer, Decimal(3000), "XAF")
        start = [("online", driver, i) for i, driver in enumerate(DRIVERS)]
        for step in start + sequence:
            memory.run(step)
            on_redis.run(step)
        assert on_redis.outcome() == memory.outcome()
        client: Any = storage.client
        appended = sum(
            len(client.xrange(storage.settings.key("s", role)))
            for role in ("driver", "customer", "watchers")
        )
        assert appended == len(memory.notifier.sent)
    finally:
        redis_support.clean_up()


def _memory_ports(stores: InMemoryStores) -> dict[str, Any]:
    return {**stores.ports(), "unit_of_work": stores.unit_of_work()}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(st.integers(0, 1), st.one_of(steps, batch)), min_size=1, max_size=30))
# The races the caches must see, rare among random steps: drivers kept idle by the first
# worker, then given a ride (or put offline) by the second, then moved by the first.
@example(
    [
        (0, ("batch", [("amadou", 0), ("brice", 1), ("carine", 2)])),
        (1, ("order", "chantal", "CASH")),
        *[(1, ("accept", driver)) for driver in DRIVERS],
        (0, ("wait", 5)),
        (0, ("batch", [(driver, 3) for driver in DRIVERS])),
        (1, ("offline", "carine")),
        (0, ("batch", [("carine", 0), ("brice", 0), ("carine", 1)])),
    ]
)
def test_two_workers_that_keep_rides_and_idle_drivers_do_what_one_store_does(
    sequence: list[tuple[int, tuple[Any, ...]]],
) -> None:
    """Each step on either of two Redis workers of one prefix, each keeping the rides and
    idle drivers it last read (its decisions checked at commit): the same answers,
    orders, drivers and messages as in memory, where there is nothing to keep."""
    stores = InMemoryStores()
    memory = World(_memory_ports(stores))
    first = redis_support.fresh_storage()
    second = redis_support.fresh_storage(prefix=first.settings.prefix)
    try:
        worker_ports = []
        for storage in (first, second):
            ports = storage.ports()
            del ports["notifier"]  # recorded on both sides
            worker_ports.append(ports)
        on_redis = World(*worker_ports)
        for customer in CUSTOMERS:
            stores.wallet.credit(customer, Decimal(3000), "XAF")
            first.wallet.credit(customer, Decimal(3000), "XAF")
        start = [(0, ("online", driver, i)) for i, driver in enumerate(DRIVERS)]
        for worker, step in start + sequence:
            memory.run(step)
            on_redis.run(step, worker)
            # Each step checked at once: what one worker kept must not hide what the
            # other changed (the first difference, not one ten steps later).
            assert on_redis.answers[-1] == memory.answers[-1], step
        assert on_redis.outcome() == memory.outcome()
    finally:
        redis_support.clean_up()
