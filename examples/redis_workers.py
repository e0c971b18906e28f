"""Several worker processes sharing one Redis: the same service, no double assignment.

Drivers go online around Douala; each worker process runs its own
:class:`~vtc_dispatch.service.DispatchService` on the Redis ports, orders
rides for its customers and plays their drivers, who accept, refuse or
let offers expire at random; every worker calls ``expire_due`` so that
any of them expires anyone's offers.  At the end every order has ended
(DONE, NO_DRIVER or CANCELLED) and no driver was on two rides at once.
Run it from the repository root (Redis at ``VTC_REDIS_URL`` or
127.0.0.1:6379; it uses its own key prefix and removes it):

    python examples/redis_workers.py --workers 4 --drivers 2000 --orders 5000

On a Redis Cluster, name any one node and the city's prefix, with its
hash tag (the prefix must hold no keys yet; they are removed at the end):

    python examples/redis_workers.py --url redis://10.0.0.5:7000 --cluster --prefix 'vtc:{douala}'
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import random
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.config import DispatchConfig
from vtc_dispatch.errors import DispatchError
from vtc_dispatch.fsm import RideState
from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings
from vtc_dispatch_redis import RedisSettings, RedisStorage, retry_conflicts
from vtc_dispatch_redis.roundtrips import count_round_trips

DOUALA = LatLng(4.0511, 9.7043)
ENDED = frozenset({RideState.DONE, RideState.NO_DRIVER, RideState.CANCELLED})


def pool(answer_s: float) -> PoolConfig:
    """Sequential offers with a short answer time, so that timeouts happen in the run."""
    return PoolConfig.model_validate(
        {"default": {"max_waiting_time_s": answer_s, "max_offers": 6, "search_timeout_s": 60}}
    )


def service_for(settings: RedisSettings, answer_s: float) -> DispatchService:
    """One worker's service: every port in Redis under ``settings.prefix``."""
    storage = RedisStorage(settings)
    # These drivers answer offers but their phones send no fix: with presence
    # on, every one not on a ride would fall silent a minute into the run, and
    # how many rides end done would depend on how fast the machine runs.
    return build_service(
        DispatchConfig(
            pricing=douala_config(),
            pool=pool(answer_s),
            service=ServiceSettings(presence_timeout_s=None),
        ),
        storage.ports(),
    )


def around(rng: random.Random, km: float) -> LatLng:
    """A random point within ``km`` of the centre of Douala."""
    return destination_point(DOUALA, rng.uniform(0, 360), km * rng.random() ** 0.5)


def put_drivers_online(settings: RedisSettings, n_drivers: int, seed: int) -> None:
    """``n_drivers`` Taxi Jaune drivers online within 6 km of Douala."""
    service = service_for(settings, 1.0)
    rng = random.Random(seed)
    for i in range(n_drivers):
        service.driver_online(f"drv-{i}", "taxi_jaune", around(rng, 6.0))


def work(
    settings: RedisSettings,
    worker: int,
    n_orders: int,
    *,
    seed: int = 1,
    in_flight: int = 16,
    answers: tuple[float, float, float] = (0.75, 0.15, 0.10),
    cancel_share: float = 0.03,
    answer_s: float = 0.4,
    start_at: float | None = None,
    customers: str = "c",
    take_over: bool = False,
    round_trips: bool = False,
) -> Counter[str]:
    """Order ``n_orders`` rides for customers ``<customers>-<worker>-<n>``; play them to the end.

    ``answers`` are the shares of offers accepted, refused and left to
    expire.  With ``take_over``, the orders of these customers still
    active (left by a worker that died) are taken over first.
    ``start_at`` (``time.time()``) makes several workers start together.
    Returns the final states counted (with ``round_trips``, also the Redis
    round trips made from the start on).
    """
    service = service_for(settings, answer_s)
    rng = random.Random(seed * 1000 + worker)
    ended: Counter[str] = Counter()
    # Order id -> the order as this worker last saw it (None: read it again).
    live: dict[str, Order | None] = {}
    ignored: set[tuple[str, str]] = set()
    wake: dict[str, datetime] = {}
    created = 0
    next_expiry = 0.0
    if take_over:
        for n in range(n_orders):
            customer = Actor.customer(f"{customers}-{worker}-{n}")
            found = service.current_order(customer)
            if found is not None:
                live[found.id] = None
            if found is not None or service.history(customer):
                created = n + 1
    ended["taken_over"] = len(live)
    if start_at is not None:
        time.sleep(max(0.0, start_at - time.time()))
    counting = ExitStack()
    trips = counting.enter_context(count_round_trips()) if round_trips else None
    while created < n_orders or live:
        while created < n_orders and len(live) < in_flight:
            order = service.create_order(
                f"{customers}-{worker}-{created}",
                around(rng, 5.0),
                around(rng, 5.0),
                "taxi_jaune",
                "CASH",
            )
            live[order.id] = order
            created += 1
        if time.monotonic() >= next_expiry:  # every worker looks, a few times per answer time
            retry_conflicts(service.expire_due)
            next_expiry = time.monotonic() + answer_s / 4
        now = datetime.now(UTC)
        for order_id, last_seen in list(live.items()):
            if wake.get(order_id, now) > now:
                continue  # its driver lets the offer expire: nothing to do before
            try:
                if last_seen is None or order_id in wake:
                    wake.pop(order_id, None)
                    last_seen = service.orders.get(order_id)  # noqa: PLW2901
                order = step(service, last_seen, rng, ignored, answers, cancel_share)
            except DispatchError:
                live[order_id] = None  # changed by another worker meanwhile: read it again
                continue
            if order.state in ENDED:
                ended[order.state] += 1
                del live[order_id]
                continue
            # Searching without an offer: between two saves of another worker.
            live[order_id] = order if order.offered_to or order.driver_id else None
            if (order.id, order.offered_to) in ignored and order.offer_expires_at is not None:
                wake[order_id] = order.offer_expires_at
        if live:
            time.sleep(0.001)
    counting.close()
    if trips is not None:
        ended["round_trips"] = trips.n
    return ended


def step(
    service: DispatchService,
    order: Order,
    rng: random.Random,
    ignored: set[tuple[str, str]],
    answers: tuple[float, float, float],
    cancel_share: float,
) -> Order:
    """Move one order on by what its customer or driver does now (``order`` as last seen)."""
    order_id = order.id
    if order.state == RideState.SEARCHING and order.offered_to is not None:
        driver = order.offered_to
        if (order_id, driver) in ignored:
            return order  # waiting for the offer to expire
        if rng.random() < cancel_share:
            return service.cancel(Actor.customer(order.customer_id), order_id, "too long")
        roll = rng.random()
        if roll < answers[0]:
            return service.accept(driver, order_id)
        if roll < answers[0] + answers[1]:
            return service.reject(driver, order_id)
        ignored.add((order_id, driver))
        return order
    if order.driver_id is not None and order.state == RideState.ACCEPTED:
        return service.arrived(order.driver_id, order_id, operator_id="sim")
    if order.driver_id is not None and order.state == RideState.ARRIVED:
        return service.start_trip(order.driver_id, order_id)
    if order.driver_id is not None and order.state == RideState.IN_PROGRESS:
        return service.complete_trip(order.driver_id, order_id)
    return order


def _work_in_process(args: tuple[dict[str, Any], int, int, dict[str, Any]], out: Any) -> None:
    settings, worker, n_orders, options = args
    out.put((worker, dict(work(RedisSettings(**settings), worker, n_orders, **options))))


def start_workers(
    settings: RedisSettings, workers: int, n_orders: int, **options: Any
) -> tuple[list[Any], Any]:
    """Start ``workers`` processes sharing ``n_orders``; results come on the queue returned."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    share = [n_orders // workers + (1 if w < n_orders % workers else 0) for w in range(workers)]
    processes = [
        context.Process(
            target=_work_in_process,
            args=((settings.model_dump(), w, share[w], options), results),
            daemon=True,
        )
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    return processes, results


def check(settings: RedisSettings, workers: int, n_orders: int) -> list[str]:
    """What went wrong, read back from Redis: unfinished orders, drivers on two rides at once."""
    storage = RedisStorage(settings)
    problems: list[str] = []
    rides: dict[str, list[tuple[datetime, datetime, str]]] = {}
    share = [n_orders // workers + (1 if w < n_orders % workers else 0) for w in range(workers)]
    seen = 0
    for w in range(workers):
        for n in range(share[w]):
            orders = storage.orders.find("customer", f"c-{w}-{n}")
            if len(orders) != 1:
                problems.append(f"customer c-{w}-{n} has {len(orders)} orders")
                continue
            seen += 1
            order = orders[0]
            states = [h.target for h in order.lifecycle.history]
            if order.state not in ENDED:
                problems.append(f"order {order.id} is still {order.state}")
            if states.count(RideState.DONE) + states.count(RideState.CANCELLED) > 1:
                problems.append(f"order {order.id} ended twice: {states}")
            accepted = order.lifecycle.time_in(RideState.ACCEPTED)
            if order.driver_id is not None and accepted is not None:
                end = order.lifecycle.changed_at
                rides.setdefault(order.driver_id, []).append((accepted, end, order.id))
    for driver, spans in rides.items():
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end:
                problems.append(f"driver {driver} was on {first} and {second} at once")
    # A search gives up the reservations of workers that died before confirming them.
    storage.drivers.nearest_available(DOUALA, 1, 1.0)
    for key in storage.client.scan_iter(match=settings.key("d", "*"), count=1000):
        held: Any = storage.client.hget(key, "o")
        if held:
            problems.append(f"driver {key} is still held by {held}")
    if storage.orders.next_deadline() is not None:
        problems.append("live offers remain after every order ended")
    if seen != n_orders:
        problems.append(f"{seen} orders found, {n_orders} made")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run the workers against Redis and print what happened."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--drivers", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument(
        "--url", default=os.environ.get("VTC_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--cluster", action="store_true", help="a Redis Cluster: --url names any one node"
    )
    parser.add_argument(
        "--prefix",
        help="key prefix, unused so far (default: a new one); on a cluster one hash tag,"
        " as in 'vtc:{douala}'",
    )
    args = parser.parse_args(argv)
    settings = RedisSettings(
        url=args.url,
        prefix=args.prefix or f"vtc-example:{{{uuid.uuid4().hex[:8]}}}",
        **({"cluster": True} if args.cluster else {}),
    )
    if next(RedisStorage(settings).keys(), None) is not None:
        parser.error(f"prefix {settings.prefix!r} already holds keys: choose an unused one")
    try:
        put_drivers_online(settings, args.drivers, seed=1)
        started = time.perf_counter()
        processes, results = start_workers(settings, args.workers, args.orders)
        ended: Counter[str] = Counter()
        for _ in processes:
            ended.update(results.get(timeout=600)[1])
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join()
        print(f"{args.orders} orders on {args.workers} workers in {elapsed:.1f} s: {dict(ended)}")
        problems = check(settings, args.workers, args.orders)
        print("no problem found" if not problems else "\n".join(problems))
        return 1 if problems else 0
    finally:
        RedisStorage(settings).clear()


if __name__ == "__main__":
    raise SystemExit(main())
