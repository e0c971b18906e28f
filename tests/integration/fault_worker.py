"""One worker process of the fault-injection test: plays its customers' rides to the end.

``python fault_worker.py '<json>'`` with ``url``, ``prefix``, ``worker``,
``customers`` (how many: ``c-<worker>-<n>``), ``seed``, ``answer_s``,
``until`` (``time.time()`` at which to stop), ``socket_timeout_s``,
``in_flight`` (orders played at once) and ``skew_s`` (its clock's error).
The worker orders one ride per customer (even ``n`` pay by WALLET), plays
the driver offered each order (accept, refuse, let expire; the customer
sometimes cancels), then the arrival, the trip, and both ratings; it
calls ``expire_due`` eight times per answer time.  Some drivers accept
at the last moment, when other workers expire the offer.  Every command carries
a ``command_id`` named by what it does (``<order>:accept:<driver>``...),
and a command that raised ``StorageUnavailable``, ``TransportUnavailable``
or ``ConcurrencyConflict`` is sent again with the same id.  Killed and
started again, it picks its customers' orders up from Redis, and its
decisions, drawn from the seed and the order, are the same.  It prints
one JSON line at the end: counts of what it did and the commands whose
signature has no ``command_id``.

The clock is the system clock (offers expire by real time, which every
process, a restarted one too, shares without a coordinator), shifted by
``skew_s``: machines' clocks differ by tens to hundreds of milliseconds,
and a worker whose clock is ahead expires offers that a driver on a
worker behind it still accepts.
"""

from __future__ import annotations

import inspect
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from vtc_dispatch.errors import (
    ConcurrencyConflict,
    DispatchError,
    StorageUnavailable,
    TransportUnavailable,
)
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch_redis import RedisSettings, RedisStorage

DOUALA = LatLng(4.0511, 9.7043)
ENDED = frozenset({RideState.DONE, RideState.CANCELLED, RideState.NO_DRIVER})
RETRIED = (StorageUnavailable, TransportUnavailable, ConcurrencyConflict)
ATTEMPTS = 30
LAST_MOMENT_S = 0.04
LEG_S = (0.3, 1.5)


def around(rng: random.Random, km: float) -> LatLng:
    """A random point within ``km`` of the centre of Douala."""
    return destination_point(DOUALA, rng.uniform(0, 360), km * rng.random() ** 0.5)


class SkewedClock:
    """The system clock shifted by a fixed number of seconds."""

    def __init__(self, skew_s: float) -> None:
        self._skew = timedelta(seconds=skew_s)

    def now(self) -> datetime:
        """The shifted time (aware, UTC)."""
        return datetime.now(UTC) + self._skew


class Player:
    """The worker: its service, its customers' orders, and what it counted."""

    def __init__(self, args: dict[str, Any]) -> None:
        settings = RedisSettings(
            url=args["url"],
            prefix=args["prefix"],
            socket_timeout_s=args["socket_timeout_s"],
            connect_timeout_s=args["socket_timeout_s"],
        )
        answer_s = args["answer_s"]
        pool = PoolConfig.model_validate(
            {
                "default": {
                    "max_waiting_time_s": answer_s,
                    "max_offers": 6,
                    "search_timeout_s": 30,
                }
            }
        )
        self.storage = self._retry("connecting", lambda: RedisStorage(settings))
        self.clock = SkewedClock(args["skew_s"])
        self.service = DispatchService(
            pricing=douala_config(), pool=pool, clock=self.clock, **self.storage.ports()
        )
        self.args = args
        self.answer_s = answer_s
        self.seed = args["seed"]
        self.counts: Counter[str] = Counter()
        self.without_id: set[str] = set()
        # Order -> when (time.monotonic()) to look at it again.
        self.wake: dict[str, float] = {}

    def _retry(self, what: str, command: Callable[[], Any]) -> Any:
        for attempt in range(ATTEMPTS):
            try:
                return command()
            except RETRIED:
                if attempt == ATTEMPTS - 1:
                    raise
                time.sleep(0.01 + 0.01 * attempt)
        raise AssertionError(f"unreachable: {what}")

    def send(self, name: str, command_id: str, *args: Any, **kwargs: Any) -> Any:
        """Run a service command with its ``command_id``, again with the same id after a fault."""
        method = getattr(self.service, name)
        if "command_id" in inspect.signature(method).parameters:
            kwargs["command_id"] = command_id
        else:
            self.without_id.add(name)
        self.counts[name] += 1
        for attempt in range(ATTEMPTS):
            try:
                return method(*args, **kwargs)
            except RETRIED as exc:
                self.counts[f"retried:{type(exc).__name__}"] += 1
                if attempt == ATTEMPTS - 1:
                    raise
                time.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")

    def decide(self, *key: object) -> random.Random:
        """The same draws for the same decision, in any process."""
        return random.Random(":".join(map(str, (self.seed, *key))))

    def resume(self, customers: list[str]) -> tuple[dict[str, Order | None], set[str]]:
        """Orders of these customers to play on, and the customers who ordered already."""
        live: dict[str, Order | None] = {}
        ordered: set[str] = set()
        for customer in customers:
            found = self._retry("history", partial(self.service.history, Actor.customer(customer)))
            if found:
                ordered.add(customer)
                for order in found:
                    if order.state not in ENDED or self._to_rate(order):
                        live[order.id] = None
        self.counts["resumed"] = len(live)
        return live, ordered

    @staticmethod
    def _to_rate(order: Order) -> bool:
        return order.state == RideState.DONE and len(order.ratings) < 2

    def step(self, order: Order) -> Order | None:
        """Move one order on; ``None`` when it needs reading again later."""
        oid = order.id
        customer = Actor.customer(order.customer_id)
        if order.state == RideState.SEARCHING:
            driver = order.offered_to
            if driver is None:
                return None
            draw = self.decide(oid, driver).random()
            if draw < 0.05:
                return self.send("cancel", f"{oid}:cancel", customer, oid, "too long")  # type: ignore[no-any-return]
            if draw < 0.50:
                return self.send("accept", f"{oid}:accept:{driver}", driver, oid)  # type: ignore[no-any-return]
            if draw < 0.80:
                # He answers at the last moment: his accept meets the expiry
                # another worker is running at the deadline.
                expires = order.offer_expires_at
                left_s = 0.0 if expires is None else (expires - self.clock.now()).total_seconds()
                if left_s > LAST_MOMENT_S:
                    self.wake[oid] = time.monotonic() + left_s - LAST_MOMENT_S
                    return None
                return self.send("accept", f"{oid}:accept:{driver}", driver, oid)  # type: ignore[no-any-return]
            if draw < 0.90:
                return self.send("reject", f"{oid}:reject:{driver}", driver, oid)  # type: ignore[no-any-return]
            return None  # he lets it expire
        driver = order.driver_id
        # The drive to the pickup and the trip take a while: a driver given
        # two orders is on both long enough for the side process to see it.
        for state, leg in ((RideState.ACCEPTED, "approach"), (RideState.IN_PROGRESS, "trip")):
            since = order.lifecycle.time_in(state)
            if order.state == state and since is not None:
                left_s = (
                    self.decide(oid, leg).uniform(*LEG_S)
                    - (self.clock.now() - since).total_seconds()
                )
                if left_s > 0:
                    self.wake[oid] = time.monotonic() + left_s
                    return None
        if order.state == RideState.ACCEPTED and driver is not None:
            if self.decide(oid, "cancel-accepted").random() < 0.04:
                return self.send("cancel", f"{oid}:cancel", customer, oid, "changed my mind")  # type: ignore[no-any-return]
            return self.send("arrived", f"{oid}:arrived", driver, oid, operator_id="sim")  # type: ignore[no-any-return]
        if order.state == RideState.ARRIVED and driver is not None:
            return self.send("start_trip", f"{oid}:start", driver, oid)  # type: ignore[no-any-return]
        if order.state == RideState.IN_PROGRESS and driver is not None:
            return self.send("complete_trip", f"{oid}:complete", driver, oid)  # type: ignore[no-any-return]
        if self._to_rate(order) and driver is not None:
            rated = {r.by.role for r in order.ratings}
            stars = self.decide(oid, "stars").randint(3, 5)
            if "customer" not in rated:
                return self.send("rate", f"{oid}:rate:customer", customer, oid, stars)  # type: ignore[no-any-return]
            return self.send("rate", f"{oid}:rate:driver", Actor.driver(driver), oid, stars)  # type: ignore[no-any-return]
        return order

    def play(self) -> None:
        """Order and play every customer's ride until all ended or time is up."""
        worker, until = self.args["worker"], self.args["until"]
        customers = [f"c-{worker}-{n}" for n in range(self.args["customers"])]
        live, ordered = self.resume(customers)
        waiting = [c for c in customers if c not in ordered]
        rng = random.Random(f"{self.seed}:{worker}:places")
        places = {c: (around(rng, 5.0), around(rng, 5.0)) for c in customers}
        next_expiry = 0.0
        expiries = 0
        # Orders waiting for something (an offer to expire, another worker):
        # not read again before this time.
        later = self.wake
        while (waiting or live) and time.time() < until:
            while waiting and len(live) < self.args["in_flight"]:
                customer = waiting.pop(0)
                n = int(customer.rsplit("-", 1)[1])
                pickup, dropoff = places[customer]
                method = "WALLET" if n % 2 == 0 else "CASH"
                try:
                    order = self.send(
                        "create_order",
                        f"create:{customer}",
                        customer,
                        pickup,
                        dropoff,
                        "taxi_jaune",
                        method,
                    )
                except DispatchError as exc:
                    self.counts[f"create refused: {type(exc).__name__}"] += 1
                    # A create whose reply was lost may have made the order: play it.
                    mine = self._retry(
                        "current order",
                        partial(self.service.current_order, Actor.customer(customer)),
                    )
                    if mine is not None:
                        live[mine.id] = mine
                    continue
                live[order.id] = order
            if time.monotonic() >= next_expiry:
                expiries += 1
                try:
                    self.send("expire_due", f"expire:{worker}:{expiries}:{time.time_ns()}")
                except DispatchError as exc:
                    self.counts[f"expire_due failed: {type(exc).__name__}"] += 1
                next_expiry = time.monotonic() + self.answer_s / 8
            now = time.monotonic()
            for oid, seen in list(live.items()):
                if later.get(oid, 0.0) > now:
                    continue
                try:
                    current = seen or self.service.orders.get(oid)
                    moved = self.step(current)
                except DispatchError as exc:
                    self.counts[f"refused:{type(exc).__name__}"] += 1
                    live[oid] = None
                    later[oid] = now + 0.01
                    continue
                if moved is not None and moved.state in ENDED and not self._to_rate(moved):
                    self.counts[f"ended:{moved.state}"] += 1
                    del live[oid]
                elif moved is None or moved is current:
                    live[oid] = None
                    if later.get(oid, 0.0) <= now:  # unless step chose when
                        later[oid] = now + self.answer_s / 4
                else:
                    live[oid] = moved
            time.sleep(0.002)
        self.counts["left_live"] = len(live) + len(waiting)


def main() -> None:
    """Run the worker described by the JSON argument; print its counts as one JSON line."""
    player = Player(json.loads(sys.argv[1]))
    player.play()
    print(json.dumps({"counts": player.counts, "without_command_id": sorted(player.without_id)}))


if __name__ == "__main__":
    main()
