"""Any sequence of service commands gives the same orders and messages on Redis as in memory."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis_support
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from samples import AKWA, DEIDO

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.geo import destination_point
from vtc_dispatch.memory import InMemoryStores, ManualClock, RecordingNotifier
from vtc_dispatch.order import Actor
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


class World:
    """One service and what it did: the answers (or errors) of each step."""

    def __init__(self, ports: dict[str, Any]) -> None:
        self.clock = ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
        self.notifier = RecordingNotifier()
        ids = itertools.count(1)
        self.service = DispatchService(
            pricing=douala_config(),
            clock=self.clock,
            notifier=self.notifier,
            new_order_id=lambda: f"ord-{next(ids)}",
            **ports,
        )
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

    def run(self, step: tuple[Any, ...]) -> None:
        s, kind = self.service, step[0]
        try:
            answer: object = None
            if kind == "online":
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
        return {
            "answers": self.answers,
            "orders": [o for c in CUSTOMERS for o in self.service.history(Actor.customer(c))],
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
