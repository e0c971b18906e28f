"""Redis suite: whole rides on 1, 2 and 4 worker processes sharing one local Redis.

``ride_cycle`` (impl ``vtc_dispatch_redis/<n>workers``) is 1e6 / the
aggregate rides per second: each worker orders rides and plays their
drivers (accept, arrive, start, complete) through the service on the
Redis ports (examples/redis_workers.py), all starting at once; wire
messages go to the streams from a background thread (``stream_background``).
``vtc_dispatch/memory`` runs the same commands in one process on the
in-memory ports: the core's own share of a ride.  ``query`` (nearest
available driver within 3 km) and ``update`` (a driver's new position)
go through the adapter against the raw GEOSEARCH / GEOADD of redis-py on
the same data.  ``ride_steps`` and its steps (``search``, ``create_order``,
``accept_to_start``, ``track_20_points``, ``complete_and_rate``) are the
ride of ``bench service``, on the Redis ports in this process, one ride
at a time, over the rides served (``rides`` of ``attempts``: a pickup with
no driver around is not counted).  ``fix_long_ride`` is the CPU of one GPS
fix along a ride of 600 points (20 minutes at one fix every 2 s), with its
first and last hundred fixes apart (``first_100_us``, ``last_100_us``): a
fix should not cost more as the ride goes on.  Every row has
``round_trips``: Redis requests written per operation (a command, a
script or a pipeline is one), counted with
:func:`vtc_dispatch_redis.roundtrips.count_round_trips`; for the worker
rows it is every request of the workers (offers, expiry polls, re-reads)
divided by the rides.  Memory in Redis per driver and per finished order
is MEMORY USAGE of their keys.
"""

from __future__ import annotations

import importlib
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from bench.common import (
    Options,
    Row,
    SuiteReport,
    add_ratios,
    douala_point,
    drive_s,
    progress,
    unheard_phones,
)
from vtc_dispatch.errors import StorageUnavailable
from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg
from vtc_dispatch.geo.sphere import EARTH_RADIUS_KM
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Actor
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService

try:
    import redis

    from vtc_dispatch_redis import RedisSettings, RedisStorage
    from vtc_dispatch_redis.drivers import REDIS_EARTH_RADIUS_KM
    from vtc_dispatch_redis.roundtrips import count_round_trips
except ImportError as exc:  # the suite reports itself skipped
    MISSING: str | None = f"the redis extra is not installed: {exc}"
else:
    MISSING = None

OURS_REDIS = "vtc_dispatch_redis"
REDIS_URL = os.environ.get("VTC_REDIS_URL") or "redis://127.0.0.1:6379/0"
_EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example() -> Any:
    if str(_EXAMPLES) not in sys.path:
        sys.path.insert(0, str(_EXAMPLES))
    return importlib.import_module("redis_workers")


TRACK_POINTS = 20


def bench_storage() -> tuple[RedisSettings, RedisStorage] | str:
    """A prefix of its own on the local Redis and its storage, or why Redis cannot be used."""
    # Messages go to the streams from a background thread, in batches (stream_background).
    settings = RedisSettings(
        url=REDIS_URL, prefix=f"vtc-bench:{{{uuid.uuid4().hex[:8]}}}", stream_background=True
    )
    try:
        storage = RedisStorage(settings)
        storage.ping()
    except StorageUnavailable as exc:
        return f"no Redis at {REDIS_URL}: {exc}"
    return settings, storage


def _ride_cycle(example: Any, settings: Any, workers: int, rides: int) -> tuple[float, float]:
    """Aggregate rides per second of ``workers`` processes doing ``rides`` in all; round trips
    per ride."""
    start_at = time.time() + 2.0 + 0.5 * workers  # after the processes have imported
    processes, results = example.start_workers(
        settings,
        workers,
        rides,
        answers=(1.0, 0.0, 0.0),
        cancel_share=0.0,
        start_at=start_at,
        customers=f"w{workers}",
        round_trips=True,
    )
    done = trips = 0
    for _ in processes:
        ended = results.get(timeout=600)[1]
        done += ended.get("done", 0)
        trips += ended.get("round_trips", 0)
    elapsed = time.time() - start_at
    for process in processes:
        process.join()
    if done != rides:
        raise RuntimeError(f"{done} rides of {rides} ended DONE")
    return rides / elapsed, trips / rides


def _ride_service(storage: Any) -> tuple[ManualClock, DispatchService]:
    """A service on the Redis ports and its manual clock (phones never go silent)."""
    clock = ManualClock(datetime.now(UTC))
    service = DispatchService(
        pricing=douala_config(), settings=unheard_phones(), clock=clock, **storage.ports()
    )
    return clock, service


def _to_the_trip(service: DispatchService, clock: ManualClock, order: Any) -> str:
    """The offered driver accepts, drives to the pickup, arrives and starts: his id."""
    driver: str = order.offered_to
    service.accept(driver, order.id)
    clock.advance(timedelta(seconds=drive_s(order.offers[0].distance_km)))
    service.update_position(driver, order.pickup)
    service.arrived(driver, order.id)
    service.start_trip(driver, order.id)
    return driver


def _route(pickup: LatLng, dropoff: LatLng, n: int) -> list[LatLng]:
    """``n`` points evenly spaced from ``pickup`` to ``dropoff``, the drop-off last."""
    km, bearing = haversine_km(pickup, dropoff), initial_bearing_deg(pickup, dropoff)
    return [destination_point(pickup, bearing, km * j / n) for j in range(1, n + 1)]


def _ride_steps(storage: Any, rides: int, seed: int) -> list[Row]:
    """The ride of ``bench service`` on the Redis ports: time and round trips of each step."""
    rng = random.Random(seed)
    clock, service = _ride_service(storage)
    spent: dict[str, float] = defaultdict(float)
    trips: dict[str, int] = defaultdict(int)
    # A ride's steps, added to the totals once it is served: a pickup where no
    # driver was found is no ride, and its search would count against the others.
    ride_spent: dict[str, float] = {}
    ride_trips: dict[str, int] = {}
    perf = time.perf_counter
    done = 0
    with count_round_trips() as counter:

        def step(name: str, t: float, n: int) -> None:
            ride_spent[name] = perf() - t
            ride_trips[name] = counter.n - n

        for i in range(rides):
            ride_spent.clear()
            ride_trips.clear()
            pickup, dropoff = douala_point(rng), douala_point(rng)
            t, n = perf(), counter.n
            lines = service.search(pickup, dropoff)
            step("search", t, n)
            if not lines:
                continue
            t, n = perf(), counter.n
            order = service.create_order(f"rs{i}", pickup, dropoff, lines[0].vehicle_type, "CASH")
            step("create_order", t, n)
            if order.offered_to is None:
                continue
            t, n = perf(), counter.n
            driver = _to_the_trip(service, clock, order)
            step("accept_to_start", t, n)
            route = _route(pickup, dropoff, TRACK_POINTS)
            t, n = perf(), counter.n
            for point in route:
                clock.advance(timedelta(seconds=20))
                service.update_position(driver, point)
            step("track_20_points", t, n)
            t, n = perf(), counter.n
            service.complete_trip(driver, order.id)
            service.rate(Actor.customer(f"rs{i}"), order.id, 5)
            service.rate(Actor.driver(driver), order.id, 5)
            step("complete_and_rate", t, n)
            done += 1
            for name, seconds in ride_spent.items():
                spent[name] += seconds
                trips[name] += ride_trips[name]
    if not done:
        return [Row(OURS_REDIS, "ride_steps", skipped="no ride could be served")]
    rows = [
        Row(
            OURS_REDIS,
            "ride_steps",
            sum(spent.values()) / done * 1e6,
            extra={
                "rides": done,
                "attempts": rides,
                "round_trips": round(sum(trips.values()) / done, 2),
            },
        )
    ]
    rows += [
        Row(
            OURS_REDIS,
            name,
            spent[name] / done * 1e6,
            extra={"round_trips": round(trips[name] / done, 2)},
        )
        for name in spent
    ]
    return rows


LONG_RIDE_POINTS = 600
"""A 20-minute ride at one fix every 2 s."""


def _long_ride(storage: Any, seed: int) -> list[Row]:
    """CPU per GPS fix along one ride of :data:`LONG_RIDE_POINTS` points: the first and the
    last hundred apart, to show whether a fix costs more as the ride's track grows."""
    rng = random.Random(seed)
    clock, service = _ride_service(storage)
    for _ in range(50):
        pickup, dropoff = douala_point(rng, 4.0), douala_point(rng, 4.0)
        order = service.create_order("long-ride", pickup, dropoff, "taxi_jaune", "CASH")
        if order.offered_to is not None:
            break
        service.cancel(Actor.customer("long-ride"), order.id, "no driver")
    else:
        return [Row(OURS_REDIS, "fix_long_ride", skipped="no driver was offered the ride")]
    driver = _to_the_trip(service, clock, order)
    cpu: list[float] = []
    with count_round_trips() as counter:
        for point in _route(pickup, dropoff, LONG_RIDE_POINTS):
            clock.advance(timedelta(seconds=2))
            t = time.process_time()
            service.update_position(driver, point)
            cpu.append(time.process_time() - t)
    service.complete_trip(driver, order.id)
    return [
        Row(
            OURS_REDIS,
            "fix_long_ride",
            sum(cpu) / len(cpu) * 1e6,
            extra={
                "points": LONG_RIDE_POINTS,
                "first_100_us": round(sum(cpu[:100]) / 100 * 1e6, 1),
                "last_100_us": round(sum(cpu[-100:]) / 100 * 1e6, 1),
                "round_trips": round(counter.n / LONG_RIDE_POINTS, 2),
            },
        )
    ]


def _timed(call: Any, items: list[Any]) -> tuple[float, float]:
    """Microseconds and Redis round trips per item of ``call(item)`` over ``items``."""
    with count_round_trips() as counter:
        t = time.perf_counter()
        for item in items:
            call(item)
        spent = time.perf_counter() - t
    return spent / len(items) * 1e6, counter.n / len(items)


def _geo_edge(client: Any, key: str, seed: int, n: int = 2_000) -> dict[str, float]:
    """How GEOSEARCH's circle differs from haversine's, for drivers near a 3 km edge.

    Returns how many of ``n`` drivers within +-0.5 % of the radius
    GEOSEARCH (same radius) classifies otherwise than haversine, and the
    largest gap (metres) between Redis's distance, scaled to our sphere,
    and the exact one: the rounding of positions to the geohash.
    """
    rng = random.Random(seed)
    centre = LatLng(4.0511, 9.7043)
    radius = 3.0
    points = {
        f"p{i}": destination_point(centre, rng.uniform(0, 360), radius * rng.uniform(0.995, 1.005))
        for i in range(n)
    }
    client.geoadd(key, [v for name, p in points.items() for v in (p.lng, p.lat, name)])
    inside = set(
        client.geosearch(key, longitude=centre.lng, latitude=centre.lat, radius=radius, unit="km")
    )
    exact = {name for name, p in points.items() if haversine_km(centre, p) <= radius}
    hits = client.geosearch(
        key, longitude=centre.lng, latitude=centre.lat, radius=radius * 2, unit="km", withdist=True
    )
    scale = REDIS_EARTH_RADIUS_KM / EARTH_RADIUS_KM
    worst_m = max(
        abs(float(d) / scale - haversine_km(centre, points[name])) * 1000 for name, d in hits
    )
    client.delete(key)
    return {
        "geo_edge_disagreements": len(inside ^ exact),
        "geo_edge_drivers": n,
        "geo_scaled_max_error_m": round(worst_m, 3),
    }


def _memory_rides(n_drivers: int, rides: int, seed: int) -> float:
    """Rides per second of the same commands on the in-memory ports, one process."""
    rng = random.Random(seed)
    service = DispatchService(pricing=douala_config())
    for i in range(n_drivers):
        service.driver_online(f"m{i}", "taxi_jaune", douala_point(rng))
    t = time.perf_counter()
    for i in range(rides):
        order = service.create_order(
            f"mc{i}", douala_point(rng), douala_point(rng), "taxi_jaune", "CASH"
        )
        driver = order.offered_to
        assert driver is not None
        service.accept(driver, order.id)
        service.arrived(driver, order.id, operator_id="bench")
        service.start_trip(driver, order.id)
        service.complete_trip(driver, order.id)
        assert service.get_order(Actor.operator("bench"), order.id).state == "done"
    return rides / (time.perf_counter() - t)


def _moved(status: Any, point: Any) -> Any:
    return attrs.evolve(status, position=point)


def run(options: Options) -> SuiteReport:
    """Ride cycles on 1, 2, 4 workers; query and update against raw redis-py; memory."""
    if MISSING is not None:
        return SuiteReport("redis", {}, [Row(OURS_REDIS, "ride_cycle", skipped=MISSING)])
    n_drivers = options.n or (2_000 if options.quick else 20_000)
    rides = 120 if options.quick else 2_000
    connected = bench_storage()
    if isinstance(connected, str):
        return SuiteReport("redis", {}, [Row(OURS_REDIS, "ride_cycle", skipped=connected)])
    settings, storage = connected
    example = _example()
    rows: list[Row] = []
    memory: dict[str, int] = {}
    edge: dict[str, float] = {}
    client: Any = storage.client
    try:
        progress(f"redis: {n_drivers} drivers online")
        example.put_drivers_online(settings, n_drivers, options.seed)
        for workers in (1, 2, 4):
            progress(f"redis: {rides} rides on {workers} worker(s)")
            per_s, per_ride = _ride_cycle(example, settings, workers, rides)
            rows.append(
                Row(
                    f"{OURS_REDIS}/{workers}worker{'s' if workers > 1 else ''}",
                    "ride_cycle",
                    1e6 / per_s,
                    extra={"rides_per_s": round(per_s), "round_trips": round(per_ride, 2)},
                )
            )
        progress("redis: the rides of bench service, one at a time, round trips counted")
        rows += _ride_steps(storage, 30 if options.quick else 300, options.seed)
        progress(f"redis: one ride of {LONG_RIDE_POINTS} GPS points")
        rows += _long_ride(storage, options.seed)
        progress("redis: the same rides in memory, one process")
        per_s = _memory_rides(n_drivers, min(rides, 500), options.seed)
        rows.append(
            Row(
                "vtc_dispatch/memory",
                "ride_cycle",
                1e6 / per_s,
                extra={"rides_per_s": round(per_s), "round_trips": 0},
            )
        )

        rng = random.Random(options.seed)
        points = [douala_point(rng) for _ in range(500 if options.quick else 2_000)]
        geo_key = settings.key("g", "taxi_jaune")
        drivers = storage.drivers
        ours_query, ours_query_trips = _timed(
            lambda p: drivers.nearest_available(p, 1, 3.0, ("taxi_jaune",)), points
        )
        raw_query, raw_query_trips = _timed(
            lambda p: client.geosearch(
                geo_key,
                longitude=p.lng,
                latitude=p.lat,
                radius=3.0,
                unit="km",
                sort="ASC",
                count=1,
                withdist=True,
            ),
            points,
        )
        statuses = [drivers.get(f"drv-{i}") for i in range(len(points))]
        ours_update, ours_update_trips = _timed(
            lambda sp: drivers.put(_moved(*sp)), list(zip(statuses, points, strict=True))
        )
        raw_update, raw_update_trips = _timed(
            lambda ip: client.geoadd(geo_key, (ip[1].lng, ip[1].lat, f"drv-{ip[0]}")),
            list(enumerate(points)),
        )
        rows += [
            Row(OURS_REDIS, "query", ours_query, extra={"round_trips": ours_query_trips}),
            Row("redis", "query", raw_query, extra={"round_trips": raw_query_trips}),
            Row(OURS_REDIS, "update", ours_update, extra={"round_trips": ours_update_trips}),
            Row("redis", "update", raw_update, extra={"round_trips": raw_update_trips}),
        ]
        add_ratios(rows, OURS_REDIS)
        edge = _geo_edge(client, settings.key("g", "bench-edge"), options.seed)

        per_driver = sum(
            int(client.memory_usage(settings.key("d", f"drv-{i}"), samples=0) or 0)
            for i in range(200)
        ) / 200 + int(client.memory_usage(geo_key, samples=0) or 0) / max(
            1, int(client.zcard(geo_key))
        )
        order_keys = list(client.scan_iter(match=settings.key("o", "*"), count=1000))[:200]
        per_order = sum(int(client.memory_usage(k, samples=0) or 0) for k in order_keys) / max(
            1, len(order_keys)
        )
        customer_sets = list(client.scan_iter(match=settings.key("oc", "*"), count=1000))[:200]
        per_order += sum(int(client.memory_usage(k, samples=0) or 0) for k in customer_sets) / max(
            1, len(customer_sets)
        )
        # The driver's history holds the order too: its share of those sets.
        driver_sets = list(client.scan_iter(match=settings.key("od", "*"), count=1000))[:200]
        per_order += sum(int(client.memory_usage(k, samples=0) or 0) for k in driver_sets) / max(
            1, sum(int(client.zcard(k)) for k in driver_sets)
        )
        memory = {
            "bytes_per_driver": round(per_driver),
            "bytes_per_finished_order": round(per_order),
        }
    except redis.RedisError as exc:
        rows.append(Row(OURS_REDIS, "ride_cycle", skipped=f"Redis failed: {exc}"))
    finally:
        storage.clear()
    return SuiteReport(
        suite="redis",
        params={
            "n_drivers": n_drivers,
            "rides": rides,
            "quick": options.quick,
            "seed": options.seed,
            **memory,
            **edge,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        rows=rows,
    )
