"""Live map suite: what the operator's map costs and sends with 5 000 drivers online.

Every driver sends a fix every ``--fix-every`` seconds (2), stored in
batches of 100 ms as a server's :class:`~vtc_dispatch.batching.FixBatcher`
stores them, and a customer orders now and then (``--orders-per-min``, 30:
offers, accepts, rides change drivers' states).  The service's events go
to a :class:`~vtc_dispatch.livemap.MapChanges`; every ``--window-ms`` (500)
of the simulated clock, :func:`~vtc_dispatch.livemap.map_update` builds the
window's message, as :class:`~vtc_dispatch.livemap.LiveMapFeed` does.  In
memory, so the rows measure the map's own work, not a store's.

Rows (ours alone, no peer draws a map): ``record`` is the listener's cost
per event on the commands' path; ``flush`` the build of one window's
message (reads and JSON); ``snapshot`` the whole map read and written as
JSON.  Their notes give what a page receives: ``msgs_per_s``,
``bytes_per_msg`` (median and largest), ``kb_per_s``, the moves and state
changes per message, and the snapshot's size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.common import (
    OURS,
    JSONValue,
    Options,
    Row,
    SuiteReport,
    UsageError,
    douala_point,
    progress,
)
from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.config import DispatchConfig
from vtc_dispatch.events import DriverMoved
from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.livemap import MapChanges, map_snapshot, map_update
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Fix
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch.settings import ServiceSettings

TYPES = ("taxi_jaune", "confort")
BATCH_MS = 100
"""How often fixes are stored (a FixBatcher's window)."""


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """The suite's options."""
    group.add_argument("--fix-every", type=float, default=2.0, help="seconds between fixes (2)")
    group.add_argument("--window-ms", type=int, default=500, help="the map's window (500)")
    group.add_argument("--orders-per-min", type=float, default=30.0, help="new orders (30/min)")
    group.add_argument("--seconds", type=float, default=None, help="simulated time (60; 15 quick)")


def _check(args: dict[str, float | None]) -> tuple[float, int, float, float | None]:
    fix_every = 2.0 if args.get("fix_every") is None else float(args["fix_every"] or 0)
    window_ms = 500 if args.get("window_ms") is None else int(args["window_ms"] or 0)
    per_min = 30.0 if args.get("orders_per_min") is None else float(args["orders_per_min"] or 0)
    seconds = args.get("seconds")
    if not fix_every > 0:
        raise UsageError(f"--fix-every must be > 0, got {fix_every}")
    if window_ms < BATCH_MS or window_ms % BATCH_MS:
        raise UsageError(f"--window-ms must be a multiple of {BATCH_MS}, got {window_ms}")
    if per_min < 0:
        raise UsageError(f"--orders-per-min must be >= 0, got {per_min}")
    if seconds is not None and not seconds > 0:
        raise UsageError(f"--seconds must be > 0, got {seconds}")
    return fix_every, window_ms, per_min, seconds


def run(options: Options) -> SuiteReport:
    """Drive a city's fixes through the map's batching and measure its messages."""
    fix_every, window_ms, per_min, seconds = _check(options.args)
    n_drivers = options.n or 5_000
    if seconds is None:
        seconds = 15.0 if options.quick else 60.0
    rng = random.Random(options.seed)
    clock = ManualClock(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
    settings = ServiceSettings(presence_timeout_s=None, offline_after_s=None)
    service = build_service(DispatchConfig(pricing=douala_config(), service=settings), clock=clock)
    progress(f"livemap: {n_drivers} drivers online")
    positions = {f"d{i}": douala_point(rng) for i in range(n_drivers)}
    for i, (driver_id, at) in enumerate(positions.items()):
        service.driver_online(driver_id, TYPES[i % 2], at)
    changes = MapChanges()
    service.subscribe(changes.record)
    changes.drain()

    # Each driver's fixes come every fix_every seconds, at his own phase.
    step_s = BATCH_MS / 1000
    due = {d: rng.uniform(0, fix_every) for d in positions}
    flush_us: list[float] = []
    sizes: list[int] = []
    moves: list[int] = []
    states: list[int] = []
    fixes = 0
    orders = 0
    order_every_s = 60.0 / per_min if per_min else None
    next_order = 0.0
    progress(f"livemap: {seconds:g} s of fixes every {fix_every:g} s, window {window_ms} ms")
    steps = round(seconds / step_s)
    per_window = window_ms // BATCH_MS
    for step in range(1, steps + 1):
        now_s = step * step_s
        clock.advance(timedelta(milliseconds=BATCH_MS))
        batch = []
        for driver_id, when in due.items():
            if when <= now_s:
                moved = destination_point(positions[driver_id], rng.uniform(0, 360), 0.01)
                positions[driver_id] = moved
                batch.append(Fix(driver_id, moved))
        for driver_id in (f.driver_id for f in batch):
            due[driver_id] += fix_every
        for start in range(0, len(batch), 500):
            service.update_positions(batch[start : start + 500])
        fixes += len(batch)
        if order_every_s is not None and now_s >= next_order:
            next_order += order_every_s
            orders += _an_order(service, rng, orders)
        if step % per_window == 0:
            t = time.perf_counter()
            update = map_update(changes.drain(), service)
            text = "" if update is None else update.model_dump_json()
            flush_us.append((time.perf_counter() - t) * 1e6)
            if update is not None:
                sizes.append(len(text.encode()))
                moves.append(len(update.moves))
                states.append(len(update.drivers) + len(update.orders) + len(update.gone_orders))

    record_us = _record_cost(rng, n_drivers)
    t = time.perf_counter()
    snapshot = map_snapshot(service).model_dump_json()
    snapshot_us = (time.perf_counter() - t) * 1e6
    msgs_per_s = len(sizes) / seconds
    params: dict[str, JSONValue] = {
        "n_drivers": n_drivers,
        "fix_every_s": fix_every,
        "window_ms": window_ms,
        "orders_per_min": per_min,
        "seconds": seconds,
        "quick": options.quick,
    }
    return SuiteReport(
        "livemap",
        params,
        [
            Row(OURS, "record", record_us, extra={"fixes_per_s": round(fixes / seconds)}),
            Row(
                OURS,
                "flush",
                statistics.median(flush_us),
                extra={
                    "msgs_per_s": round(msgs_per_s, 2),
                    "bytes_per_msg": round(statistics.median(sizes)) if sizes else 0,
                    "bytes_per_msg_max": max(sizes, default=0),
                    "kb_per_s": round(sum(sizes) / seconds / 1000, 1),
                    "moves_per_msg": round(statistics.median(moves)) if moves else 0,
                    "changes_per_msg": round(statistics.median(states)) if states else 0,
                    "orders": orders,
                },
            ),
            Row(
                OURS,
                "snapshot",
                snapshot_us,
                extra={"snapshot_kb": round(len(snapshot.encode()) / 1000, 1)},
            ),
        ],
    )


def _an_order(service: DispatchService, rng: random.Random, n: int) -> int:
    """A customer orders near Douala's centre; every other offered driver accepts."""
    pickup = douala_point(rng, half_km=5.0)
    dropoff = douala_point(rng, half_km=5.0)
    order = service.create_order(f"c{n}", pickup, dropoff, TYPES[n % 2], "CASH")
    if order.offered_to is not None and n % 2 == 0:
        service.accept(order.offered_to, order.id)
    return 1


def _record_cost(rng: random.Random, n_drivers: int) -> float:
    """Microseconds the listener takes per fix event (a driver's move)."""
    changes = MapChanges()
    at = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    events = [
        DriverMoved(f"d{rng.randrange(n_drivers)}", LatLng(4.05, 9.70), at) for _ in range(50_000)
    ]
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        for event in events:
            changes.record(event)
        runs.append((time.perf_counter() - t) / len(events) * 1e6)
        changes.drain()
    return statistics.median(runs)
