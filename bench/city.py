"""City suite: a city's GPS stream second by second, in memory and on Redis workers.

N drivers online (``--n``, default 100 000, ``--quick`` 20 000) around
Douala send a fix every ``--interval-s`` seconds with small moves; a share
of them (``--ride-share``) is on a ride; new rides are requested at a
steady rate (``--rides-per-s``, default: the drivers on rides over a
20-minute ride, so the share stays steady: each new ride ends an old one)
and customers search (``--searches-per-ride`` per ride requested).

Rows (``us_per_op`` as in the other suites):

- ``vtc_dispatch`` (one process, in memory): ``fix_idle`` and
  ``fix_on_ride`` (one :meth:`~vtc_dispatch.service.DispatchService.update_position`),
  ``search``, and ``city_second``: the CPU time of one simulated city
  second (its fixes, rides and searches), with ``cores_needed`` (CPU
  seconds per city second) and ``fixes_per_s`` (fixes per CPU second).
- ``vtc_dispatch_redis/1worker`` and ``/2workers`` (the same city on one
  Redis, workers in separate processes, each with its share of the
  drivers, all starting together): ``fix`` (1e6 / aggregate
  ``fixes_per_s``, ``round_trips`` per fix), ``search`` (likewise) and
  ``city_second`` (wall microseconds the workers take for one city
  second's load, so above 1e6 they do not keep up; ``cores_needed`` counts
  the workers' CPU and Redis's).
- ``redis``: raw ``GEOADD`` one by one (``geoadd``) and pipelined in
  batches of 100 (``geoadd_pipelined``), with ``fixes_per_s``: the anchor.
- ``vtc_dispatch_redis/cluster1city`` and ``/cluster2cities``: ``fix`` on a
  local Redis Cluster of 3 masters (no replicas), one worker per city:
  one city on one master, then two cities on two masters at once;
  ``cluster2cities`` has ``vs_one_city`` (its ``fixes_per_s`` over
  ``cluster1city``'s).  Skipped, saying why, when no cluster can start.

A Redis worker sends the fixes of its share of the drivers, as the phones
connected to it would; a ride it starts with a driver of another worker's
share is his ride's commands here, his fixes there.

The Redis city has ``--redis-n`` drivers (default ``--n``, at most
20 000: the size of the issue's Redis goals, and each of the 10 % put on a
ride costs a search that scans the city), each cluster city ``--cluster-n``
(default: the Redis city's, at most 10 000: a fix costs the same in a
smaller city and filling one is slow); each phase of the workers lasts
``--phase-s`` seconds.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import multiprocessing
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty
from typing import Any

from bench.common import (
    JSONValue,
    Options,
    Row,
    SuiteReport,
    UsageError,
    douala_point,
    progress,
    settle_heap,
    skipped_rows,
    time_batches,
)

# Safe without the redis extra: that module reports it missing instead.
from bench.redis_dispatch import OURS_REDIS, bench_storage
from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Fix
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings

try:
    from redis.cluster import RedisCluster

    from vtc_dispatch_redis import RedisSettings, RedisStorage
    from vtc_dispatch_redis.roundtrips import count_round_trips
except ImportError as exc:  # the Redis rows report themselves skipped
    MISSING: str | None = f"the redis extra is not installed: {exc}"
else:
    MISSING = None

OURS = "vtc_dispatch"
VEHICLE = "taxi_jaune"
RIDE_S = 1200.0
"""A ride's mean length: with it, the default ride rate keeps the share on rides steady."""
MOVE_DEG = 0.0002
"""A fix moves a driver by up to this much in latitude and longitude (about 20 m)."""
TICKS = 100
"""The Redis workers run a city second's load in this many slices."""
REDIS_N_MAX = 20_000
CLUSTER_N_MAX = 10_000
WORKER_GC_THRESHOLD = 20_000
"""The first threshold of the garbage collector in a Redis worker, as docs/redis.md
advises for a worker of a GPS stream (0: Python's default)."""
_CLUSTER_HELPERS = Path(__file__).resolve().parents[1] / "tests" / "integration"


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The suite's own options."""
    group.add_argument("--interval-s", type=float, default=2.0, help="seconds between fixes (2)")
    group.add_argument(
        "--ride-share", type=float, default=0.10, help="share of drivers on a ride (0.10)"
    )
    group.add_argument(
        "--rides-per-s",
        type=float,
        default=None,
        help="rides requested per second (drivers on rides / 1200 s)",
    )
    group.add_argument(
        "--searches-per-ride", type=float, default=3.0, help="searches per ride requested (3)"
    )
    group.add_argument(
        "--redis-n", type=int, default=None, help="drivers of the Redis city (--n, <= 20 000)"
    )
    group.add_argument(
        "--cluster-n", type=int, default=None, help="drivers of each cluster city (<= 10 000)"
    )
    group.add_argument(
        "--phase-s", type=float, default=None, help="seconds per worker phase (quick 3, else 10)"
    )
    group.add_argument(
        "--batch",
        type=int,
        default=None,
        help="fixes per update_positions in the city seconds and worker phases"
        " (500; 1: one update_position each)",
    )


@dataclass(frozen=True)
class CityLoad:
    """What one city second asks of the dispatcher."""

    n_drivers: int
    interval_s: float
    ride_share: float
    rides_per_s: float
    searches_per_ride: float

    @property
    def on_ride(self) -> int:
        return round(self.n_drivers * self.ride_share)

    @property
    def fixes_per_s(self) -> float:
        return self.n_drivers / self.interval_s

    def share(self, n_drivers: int) -> CityLoad:
        """The same city with ``n_drivers``: rides scale with the fleet."""
        scale = n_drivers / self.n_drivers
        return CityLoad(
            n_drivers,
            self.interval_s,
            self.ride_share,
            self.rides_per_s * scale,
            self.searches_per_ride,
        )


class Fleet:
    """Drivers and where they are; :meth:`fixes` moves them a little, in turn."""

    def __init__(self, ids: Sequence[str], points: Sequence[LatLng], seed: int) -> None:
        self.ids = list(ids)
        self.points = list(points)
        self.index = {driver: i for i, driver in enumerate(self.ids)}
        self._next = 0
        self._rng = random.Random(seed)

    def fixes(self, n: int) -> list[tuple[str, LatLng]]:
        out: list[tuple[str, LatLng]] = []
        if not self.ids:
            return out
        jitter = self._rng.uniform
        for _ in range(n):
            i = self._next = (self._next + 1) % len(self.ids)
            p = self.points[i]
            q = LatLng(p.lat + jitter(-MOVE_DEG, MOVE_DEG), p.lng + jitter(-MOVE_DEG, MOVE_DEG))
            self.points[i] = q
            out.append((self.ids[i], q))
        return out

    def add(self, driver: str, point: LatLng) -> None:
        self.index[driver] = len(self.ids)
        self.ids.append(driver)
        self.points.append(point)

    def remove(self, driver: str) -> LatLng | None:
        """Forget ``driver`` (the last one takes its place): where it was, None if unknown."""
        i = self.index.pop(driver, None)
        if i is None:
            return None
        point = self.points[i]
        last_id, last_point = self.ids.pop(), self.points.pop()
        if i < len(self.ids):
            self.ids[i], self.points[i] = last_id, last_point
            self.index[last_id] = i
        return point

    def state(self) -> tuple[list[str], list[LatLng]]:
        return self.ids, self.points


class Rides:
    """Starts rides (a customer orders, the offered driver comes and starts) and ends the oldest."""

    def __init__(self, service: DispatchService, idle: Fleet, riding: Fleet, tag: str) -> None:
        self.service = service
        self.idle = idle
        self.riding = riding
        self.live: list[tuple[str, str]] = []
        self._tag = tag
        self._customers = 0
        self._rng = random.Random(tag)

    def start(self) -> bool:
        """One ride requested and started; False when no driver was offered it."""
        pickup, dropoff = douala_point(self._rng, 5.0), douala_point(self._rng, 5.0)
        self._customers += 1
        customer = f"c-{self._tag}-{self._customers}"
        order = self.service.create_order(customer, pickup, dropoff, VEHICLE, "CASH")
        driver = order.offered_to
        if driver is None:
            return False
        self.service.accept(driver, order.id)
        self.service.update_position(driver, pickup)
        self.service.arrived(driver, order.id, operator_id="bench")
        self.service.start_trip(driver, order.id)
        self.live.append((driver, order.id))
        # A driver of another worker's share keeps reporting to that worker (his phone's
        # connection), which the service then tells is on a ride: not moved here too.
        if self.idle.remove(driver) is not None:
            self.riding.add(driver, pickup)
        return True

    def end_oldest(self) -> None:
        if not self.live:
            return
        driver, order_id = self.live.pop(0)
        self.service.complete_trip(driver, order_id)
        point = self.riding.remove(driver)
        if point is not None:
            self.idle.add(driver, point)

    def replace_one(self) -> None:
        """A new ride, and the oldest one ends: the share on rides stays."""
        if self.start():
            self.end_oldest()


class Searches:
    def __init__(self, service: DispatchService, seed: int) -> None:
        self.service = service
        self._rng = random.Random(seed)

    def pairs(self, n: int) -> list[tuple[LatLng, LatLng]]:
        return [(douala_point(self._rng, 5.0), douala_point(self._rng, 5.0)) for _ in range(n)]

    def run(self, pairs: Sequence[tuple[LatLng, LatLng]]) -> None:
        for pickup, dropoff in pairs:
            self.service.search(pickup, dropoff)


def _positions(n: int, seed: int) -> list[LatLng]:
    rng = random.Random(seed)
    return [douala_point(rng, 8.0) for _ in range(n)]


def fill_city(service: DispatchService, load: CityLoad, seed: int, tag: str) -> Rides:
    """Put the city's drivers online and ``load.on_ride`` of them on rides."""
    ids = [f"drv-{i}" for i in range(load.n_drivers)]
    points = _positions(load.n_drivers, seed)
    for driver, point in zip(ids, points, strict=True):
        service.driver_online(driver, VEHICLE, point)
    rides = Rides(service, Fleet(ids, points, seed + 1), Fleet([], [], seed + 2), tag)
    while len(rides.live) < load.on_ride:
        if not rides.start():
            raise RuntimeError(f"no driver offered a ride with {len(rides.live)} on rides")
    return rides


class _Tick:
    """A city second's load cut in slices, fractional counts carried to the next slice."""

    def __init__(self, load: CityLoad, slices: int) -> None:
        on_ride = load.ride_share
        self._rates = (
            load.fixes_per_s * (1 - on_ride) / slices,
            load.fixes_per_s * on_ride / slices,
            load.rides_per_s / slices,
            load.rides_per_s * load.searches_per_ride / slices,
        )
        self._carry = [0.0, 0.0, 0.0, 0.0]

    def counts(self) -> tuple[int, int, int, int]:
        out = []
        for k, rate in enumerate(self._rates):
            total = self._carry[k] + rate
            whole = math.floor(total)
            self._carry[k] = total - whole
            out.append(whole)
        return out[0], out[1], out[2], out[3]


def _apply(service: DispatchService, fixes: Sequence[tuple[str, LatLng]], batch: int = 1) -> None:
    """The fixes one ``update_position`` each (``batch`` 1), or ``update_positions`` of
    ``batch`` fixes at a time, as a server that groups what it hears sends them."""
    if batch == 1:
        update = service.update_position
        for driver, point in fixes:
            update(driver, point)
        return
    grouped = [Fix(driver, point) for driver, point in fixes]
    for start in range(0, len(grouped), batch):
        service.update_positions(grouped[start : start + batch])


def city_slice(rides: Rides, searches: Searches, tick: _Tick, batch: int = 1) -> Callable[[], int]:
    """Prepares one slice of a city second; the callable returned runs it, giving its fixes."""
    idle, riding, ride_count, search_count = tick.counts()
    fixes = rides.idle.fixes(idle) + rides.riding.fixes(riding)
    pairs = searches.pairs(search_count)

    def run() -> int:
        _apply(rides.service, fixes, batch)
        for _ in range(ride_count):
            rides.replace_one()
        searches.run(pairs)
        return len(fixes)

    return run


# --- in memory -------------------------------------------------------------------------


def _memory_rows(load: CityLoad, seed: int, quick: bool, batch: int) -> list[Row]:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    service = build_service(douala_config(), clock=clock)
    progress(f"city: {load.n_drivers} drivers online in memory, {load.on_ride} on rides")
    rides = fill_city(service, load, seed, "mem")
    settle_heap()
    budget = 1.0 if quick else 3.0

    def fixes_of(fleet: Fleet, size: int) -> Callable[[Sequence[tuple[str, LatLng]]], None]:
        per_fix = timedelta(seconds=load.interval_s / max(1, len(fleet.ids)))

        def run(fixes: Sequence[tuple[str, LatLng]]) -> None:
            clock.advance(per_fix * len(fixes))
            _apply(service, fixes, size)

        return run

    rows = []
    for op, fleet in (("fix_idle", rides.idle), ("fix_on_ride", rides.riding)):
        n = min(len(fleet.ids) * 2, 200_000)
        for suffix, size in (("", 1), ("_batched", batch)):
            # A timed slice holds whole batches of at least 1 000 fixes.
            per_slice = max(1_000, size) // size * size
            timing = time_batches(fixes_of(fleet, size), fleet.fixes(n), per_slice, budget)
            extra: dict[str, JSONValue] = {"n_ops": timing.n_ops}
            if size > 1:
                extra["batch"] = size
            rows.append(Row(OURS, op + suffix, timing.us_per_op, extra=extra))
    searches = Searches(service, seed + 3)
    timing = time_batches(searches.run, searches.pairs(2_000), 50, budget)
    rows.append(Row(OURS, "search", timing.us_per_op, extra={"n_ops": timing.n_ops}))

    tick = _Tick(load, 1)
    cpu = 0.0
    fixes = 0
    seconds = 3 if quick else 5
    for _ in range(seconds):
        clock.advance(timedelta(seconds=1))
        run = city_slice(rides, searches, tick, batch)
        t = time.process_time()
        fixes += run()
        cpu += time.process_time() - t
    rows.append(
        Row(
            OURS,
            "city_second",
            cpu / seconds * 1e6,
            extra={
                "cores_needed": round(cpu / seconds, 3),
                "fixes_per_s": round(fixes / cpu),
                "city_seconds": seconds,
                "batch": batch,
            },
        )
    )
    return rows


# --- Redis workers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """What a worker did in one phase, by its own clock (``time.time()``)."""

    name: str
    start: float
    end: float
    ops: int
    fixes: int
    round_trips: int
    cpu_s: float
    city_seconds: float
    redis_cpu_s: float


def _redis_cpu(client: Any) -> float:
    """CPU seconds Redis has used: every master's, on a cluster."""
    if isinstance(client, RedisCluster):
        info = client.info("cpu", target_nodes=RedisCluster.PRIMARIES)
        return sum(_redis_cpu_of(node) for node in info.values())
    return _redis_cpu_of(client.info("cpu"))


def _redis_cpu_of(info: dict[str, Any]) -> float:
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@contextmanager
def _measured(name: str, client: Any, out: list[Phase]) -> Iterator[list[float]]:
    """Times the block; it fills ``counts`` = [ops, fixes, city seconds]."""
    counts = [0.0, 0.0, 0.0]
    redis0 = _redis_cpu(client)
    with count_round_trips() as trips:
        t, cpu = time.time(), time.process_time()
        yield counts
        end, cpu = time.time(), time.process_time() - cpu
    out.append(
        Phase(
            name,
            t,
            end,
            int(counts[0]),
            int(counts[1]),
            trips.n,
            cpu,
            counts[2],
            _redis_cpu(client) - redis0,
        )
    )


def _worker(job: dict[str, Any], barrier: Any, out: Any) -> None:
    """One worker process: its share of the city, phase after phase (see the module)."""
    settings = RedisSettings(**job["settings"])
    storage = RedisStorage(settings)
    service = _redis_service(storage)
    seed = job["seed"]
    idle = Fleet(job["idle"][0], [LatLng(*p) for p in job["idle"][1]], seed)
    riding = Fleet(job["riding"][0], [LatLng(*p) for p in job["riding"][1]], seed + 1)
    rides = Rides(service, idle, riding, job["tag"])
    rides.live = [(driver, order) for driver, order in job["live"]]
    searches = Searches(service, seed + 2)
    load = CityLoad(**job["load"])
    tick = _Tick(load, TICKS)
    batch = job["batch"]
    settle_heap()
    if job["gc_threshold"]:
        gc.set_threshold(job["gc_threshold"])
    chunk = max(100, batch)
    on_idle = round(chunk * (1 - load.ride_share))
    phases: list[Phase] = []

    def step(name: str, counts: list[float]) -> None:
        if name == "fix":
            fixes = idle.fixes(on_idle) + riding.fixes(chunk - on_idle)
            _apply(service, fixes, batch)
            counts[0] += len(fixes)
            counts[1] += len(fixes)
        elif name == "search":
            searches.run(searches.pairs(5))
            counts[0] += 5
        else:
            for _ in range(TICKS // 10):
                counts[1] += city_slice(rides, searches, tick, batch)()
            counts[2] += 0.1

    for name in job["phases"]:
        # One step unmeasured first: the scripts it runs are loaded into Redis (a first
        # EVALSHA answers NOSCRIPT) and its connections opened, so that the phase's
        # round trips and times are the steady state's, however few steps it fits.
        step(name, [0.0, 0.0, 0.0])
        barrier.wait()
        deadline = time.monotonic() + job["phase_s"]
        with _measured(name, storage.client, phases) as counts:
            while time.monotonic() < deadline:
                step(name, counts)
    out.put(
        {
            "phases": [asdict(p) for p in phases],
            "idle": _dumped(idle),
            "riding": _dumped(riding),
            "live": rides.live,
        }
    )


def _dumped(fleet: Fleet) -> tuple[list[str], list[tuple[float, float]]]:
    return fleet.ids, [(p.lat, p.lng) for p in fleet.points]


@dataclass
class RedisCity:
    """A city filled on Redis, cut into worker shares; :meth:`run` runs them."""

    settings: Any
    load: CityLoad
    rides: Rides
    seed: int

    def jobs(
        self, workers: int, phases: Sequence[str], phase_s: float, batch: int
    ) -> list[dict[str, Any]]:
        share = self.load.share(self.load.n_drivers // workers)
        idle = _dumped(self.rides.idle)
        riding = self.rides.riding
        return [
            {
                "settings": self.settings.model_dump(),
                "seed": self.seed + 10 * w,
                "tag": f"{uuid.uuid4().hex[:6]}-{w}",
                "idle": (idle[0][w::workers], idle[1][w::workers]),
                # A worker ends its own rides: it moves their drivers.
                "riding": _dumped(
                    Fleet(
                        [d for d, _ in self.rides.live[w::workers]],
                        [riding.points[riding.index[d]] for d, _ in self.rides.live[w::workers]],
                        0,
                    )
                ),
                "live": self.rides.live[w::workers],
                "load": asdict(share),
                "phases": list(phases),
                "phase_s": phase_s,
                "batch": batch,
                "gc_threshold": WORKER_GC_THRESHOLD,
            }
            for w in range(workers)
        ]

    def take_back(self, results: Sequence[dict[str, Any]]) -> None:
        """The workers' fleets and rides as they left them, for the next run: the drivers
        of the rides in course on rides (some reported to another worker than the one
        that started their ride), the others idle."""
        where: dict[str, LatLng] = {}
        live: list[tuple[str, str]] = []
        for result in results:
            for fleet in ("idle", "riding"):
                ids, points = result[fleet]
                where.update(zip(ids, (LatLng(*p) for p in points), strict=True))
            live += [(d, o) for d, o in result["live"]]
        riding = {driver for driver, _ in live}
        idle_ids = [d for d in where if d not in riding]
        riding_ids = [d for d, _ in live]
        self.rides.idle = Fleet(idle_ids, [where[d] for d in idle_ids], self.seed)
        self.rides.riding = Fleet(riding_ids, [where[d] for d in riding_ids], self.seed + 1)
        self.rides.live = live


def _slowest_search_command(storage: Any, settings: Any, seed: int, n: int = 200) -> int:
    """The longest any one Redis command of ``n`` searches took inside Redis (SLOWLOG, us).

    Searches block every other client while each of their scripts runs:
    this is what they cost the others, apart from the round trips.
    """
    client = storage.client
    before = client.config_get("slowlog-*")
    searches = Searches(_redis_service(RedisStorage(settings)), seed + 7)
    pairs = searches.pairs(n)
    try:
        client.config_set("slowlog-log-slower-than", 0)
        client.config_set("slowlog-max-len", 100 * n)
        client.slowlog_reset()
        searches.run(pairs)
        durations = [entry["duration"] for entry in client.slowlog_get(100 * n)]
    finally:
        for name, value in before.items():
            client.config_set(name, value)
    return max(durations, default=0)


def _redis_service(storage: Any) -> DispatchService:
    # Real time runs on: filling the city takes minutes, and each worker moves only
    # its share of the drivers, far less often than their phones would.  Presence
    # would put the rest out of search; the city's phones are all there.
    settings = ServiceSettings(presence_timeout_s=None)
    return DispatchService(pricing=douala_config(), settings=settings, **storage.ports())


def fill_redis_city(settings: Any, load: CityLoad, seed: int) -> RedisCity:
    storage = RedisStorage(settings)
    service = _redis_service(storage)
    return RedisCity(settings, load, fill_city(service, load, seed, "fill"), seed)


def run_workers(
    cities: Sequence[tuple[RedisCity, int]], phases: Sequence[str], phase_s: float, batch: int = 1
) -> list[dict[str, Any]]:
    """Each city's workers (``(city, workers)``) in their own processes, phases in step."""
    context = multiprocessing.get_context("spawn")
    jobs = [(city, job) for city, n in cities for job in city.jobs(n, phases, phase_s, batch)]
    barrier = context.Barrier(len(jobs))
    queue = context.Queue()
    processes = [
        context.Process(target=_worker, args=(job, barrier, queue), daemon=True) for _, job in jobs
    ]
    for process in processes:
        process.start()
    results = [_result(queue, processes) for _ in processes]
    for process in processes:
        process.join(30)
        if process.exitcode != 0:
            raise RuntimeError(f"a city worker exited with {process.exitcode}")
    return results


def _result(queue: Any, processes: Sequence[Any]) -> dict[str, Any]:
    """The next worker's result; RuntimeError as soon as a worker died without one."""
    while True:
        try:
            result: dict[str, Any] = queue.get(timeout=1.0)
        except Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead:
                for process in processes:
                    process.kill()
                raise RuntimeError(f"a city worker exited with {dead[0]}") from None
        else:
            return result


def _phase_totals(results: Sequence[dict[str, Any]], name: str) -> dict[str, float]:
    phases = [p for r in results for p in r["phases"] if p["name"] == name]
    wall = max(p["end"] for p in phases) - min(p["start"] for p in phases)
    # Redis's CPU is read by every worker over the same span: count it once.
    redis_cpu = max(p["redis_cpu_s"] for p in phases)
    total = {
        key: float(sum(p[key] for p in phases))
        for key in ("ops", "fixes", "round_trips", "cpu_s", "city_seconds")
    }
    # Each worker runs its share of every city second: the city's seconds are their mean.
    total["city_seconds"] /= len(phases)
    return {**total, "wall_s": wall, "redis_cpu_s": redis_cpu}


def _worker_rows(
    impl: str, results: Sequence[dict[str, Any]], phases: Sequence[str], batch: int
) -> list[Row]:
    rows = []
    for name in phases:
        t = _phase_totals(results, name)
        if name == "city":
            seconds = t["city_seconds"]
            extra: dict[str, JSONValue] = {
                "cores_needed": round((t["cpu_s"] + t["redis_cpu_s"]) / seconds, 3),
                "redis_cores": round(t["redis_cpu_s"] / seconds, 3),
                "fixes_per_s": round(t["fixes"] / t["wall_s"]),
                "round_trips": round(t["round_trips"] / seconds),
                "city_seconds": round(seconds, 2),
                "batch": batch,
            }
            rows.append(Row(impl, "city_second", t["wall_s"] / seconds * 1e6, extra=extra))
            continue
        per_s = t["ops"] / t["wall_s"]
        extra = {
            ("fixes_per_s" if name == "fix" else "per_s"): round(per_s),
            "round_trips": round(t["round_trips"] / t["ops"], 4),
            "worker_cores": round(t["cpu_s"] / t["wall_s"], 3),
            "redis_cores": round(t["redis_cpu_s"] / t["wall_s"], 3),
        }
        if name == "fix":
            extra["batch"] = batch
        rows.append(Row(impl, name, 1e6 / per_s, extra=extra))
    return rows


def _raw_geoadd(client: Any, key: str, load: CityLoad, seed: int, quick: bool) -> list[Row]:
    fleet = Fleet(
        [f"drv-{i}" for i in range(load.n_drivers)], _positions(load.n_drivers, seed), seed
    )
    client.geoadd(key, [v for d, p in zip(*fleet.state(), strict=True) for v in (p.lng, p.lat, d)])
    budget = 1.0 if quick else 3.0

    def one_by_one(batch: Sequence[tuple[str, LatLng]]) -> None:
        for driver, p in batch:
            client.geoadd(key, (p.lng, p.lat, driver))

    def pipelined(batch: Sequence[tuple[str, LatLng]]) -> None:
        with client.pipeline(transaction=False) as pipe:
            for driver, p in batch:
                pipe.geoadd(key, (p.lng, p.lat, driver))
            pipe.execute()

    rows = []
    for op, run, n in (("geoadd", one_by_one, 20_000), ("geoadd_pipelined", pipelined, 200_000)):
        timing = time_batches(run, fleet.fixes(n), 100, budget)
        extra: dict[str, JSONValue] = {"fixes_per_s": round(1e6 / timing.us_per_op)}
        rows.append(Row("redis", op, timing.us_per_op, extra=extra))
    client.delete(key)
    return rows


WORKER_OPS = ("fix", "search", "city_second")


def _redis_rows(load: CityLoad, seed: int, quick: bool, phase_s: float, batch: int) -> list[Row]:
    if MISSING is not None:
        return [
            *skipped_rows(f"{OURS_REDIS}/1worker", WORKER_OPS, MISSING),
            *skipped_rows("redis", ("geoadd", "geoadd_pipelined"), MISSING),
        ]
    connected = bench_storage()
    if isinstance(connected, str):
        return skipped_rows(f"{OURS_REDIS}/1worker", WORKER_OPS, connected)
    settings, storage = connected
    rows: list[Row] = []
    try:
        progress(f"city: {load.n_drivers} drivers online on Redis, {load.on_ride} on rides")
        city = fill_redis_city(settings, load, seed)
        slowest = _slowest_search_command(storage, settings, seed)
        for workers in (1, 2):
            impl = f"{OURS_REDIS}/{workers}worker{'s' if workers > 1 else ''}"
            progress(f"city: {impl}, fix, search and city phases of {phase_s:g} s")
            results = run_workers([(city, workers)], ("fix", "search", "city"), phase_s, batch)
            city.take_back(results)
            worker_rows = _worker_rows(impl, results, ("fix", "search", "city"), batch)
            for row in worker_rows:
                if row.op == "search":
                    row.extra["slowlog_max_us"] = slowest
            rows += worker_rows
        progress("city: raw GEOADD")
        rows += _raw_geoadd(storage.client, settings.key("bench-geo"), load, seed, quick)
    finally:
        storage.clear()
    return rows


# --- Redis Cluster ---------------------------------------------------------------------------


def _cluster_helpers() -> Any:
    if str(_CLUSTER_HELPERS) not in sys.path:
        sys.path.insert(0, str(_CLUSTER_HELPERS))
    return importlib.import_module("redis_cluster")


CLUSTER_IMPLS = (f"{OURS_REDIS}/cluster1city", f"{OURS_REDIS}/cluster2cities")


def _cluster_rows(load: CityLoad, seed: int, phase_s: float, batch: int) -> list[Row]:
    if MISSING is not None:
        return [row for impl in CLUSTER_IMPLS for row in skipped_rows(impl, ("fix",), MISSING)]
    helpers = _cluster_helpers()
    cluster = helpers.LocalCluster(masters=3, replicas=0)
    try:
        progress("city: starting a local Redis Cluster (3 masters)")
        cluster.start()
    except helpers.ClusterUnavailable as exc:
        reason = f"no local cluster could start: {str(exc).splitlines()[0]}"
        return [row for impl in CLUSTER_IMPLS for row in skipped_rows(impl, ("fix",), reason)]
    try:
        masters = cluster.master_ports()
        cities = []
        for n, port in enumerate(masters[:2]):
            prefix = helpers.city_prefix(cluster, port, f"city{n}")
            settings = RedisSettings(url=cluster.url(masters[-1]), prefix=prefix)
            progress(f"city: {load.n_drivers} drivers of {prefix} on the master at {port}")
            cities.append(fill_redis_city(settings, load, seed + n))
        progress(f"city: cluster, one city alone then two at once, fix phases of {phase_s:g} s")
        alone = run_workers([(cities[0], 1)], ["fix"], phase_s, batch)
        one = _worker_rows(CLUSTER_IMPLS[0], alone, ["fix"], batch)
        together = run_workers([(c, 1) for c in cities], ["fix"], phase_s, batch)
        two = _worker_rows(CLUSTER_IMPLS[1], together, ["fix"], batch)
        # Rates are 1e6 / us_per_op: the ratio of the rates is the inverse one of the times.
        assert one[0].us_per_op is not None
        assert two[0].us_per_op is not None
        two[0].extra["vs_one_city"] = round(one[0].us_per_op / two[0].us_per_op, 2)
        return one + two
    finally:
        cluster.stop()


# --- the suite -------------------------------------------------------------------------


def _positive(options: Options, name: str) -> None:
    value = options.args.get(name)
    if value is not None and value <= 0:
        raise UsageError(f"--{name.replace('_', '-')} must be positive, got {value}")


def run(options: Options) -> SuiteReport:
    """The city in memory, on Redis workers, raw GEOADD, and on a local cluster."""
    for name in ("interval_s", "rides_per_s", "redis_n", "cluster_n", "phase_s", "batch"):
        _positive(options, name)
    args = options.args
    share = args.get("ride_share", 0.10)
    if not 0.0 <= share < 1.0:
        raise UsageError(f"--ride-share must be in [0, 1), got {share}")
    n = options.n or (20_000 if options.quick else 100_000)
    rides_per_s = args.get("rides_per_s") or n * share / RIDE_S
    load = CityLoad(
        n, args.get("interval_s", 2.0), share, rides_per_s, args.get("searches_per_ride", 3.0)
    )
    redis_n = args.get("redis_n") or min(n, REDIS_N_MAX)
    cluster_n = args.get("cluster_n") or min(redis_n, CLUSTER_N_MAX)
    phase_s = args.get("phase_s") or (3.0 if options.quick else 10.0)
    batch = args.get("batch") or 500
    rows = _memory_rows(load, options.seed, options.quick, batch)
    rows += _redis_rows(load.share(redis_n), options.seed, options.quick, phase_s, batch)
    rows += _cluster_rows(load.share(cluster_n), options.seed, phase_s, batch)
    return SuiteReport(
        suite="city",
        params={
            "n_drivers": n,
            "redis_n_drivers": redis_n,
            "cluster_n_drivers_per_city": cluster_n,
            "interval_s": load.interval_s,
            "ride_share": share,
            "rides_per_s": round(rides_per_s, 3),
            "searches_per_ride": load.searches_per_ride,
            "phase_s": phase_s,
            "batch": batch,
            "quick": options.quick,
            "seed": options.seed,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        rows=rows,
    )
