"""Four workers on one Redis through a faulty network, some killed: nothing is lost or doubled.

The test starts its own Redis (``redis-server`` with AOF, on a free port)
and a :class:`faultproxy.FaultProxy` in front of it that drops replies of
commands that ran, holds replies past the client's timeout and cuts
connections.  Four worker processes (``fault_worker.py``) play 1 000
rides through the proxy, half paid by WALLET; workers are killed with
SIGKILL and started again during the run.  A side process checks every
50 ms, straight on Redis, that no driver is on two orders.  At the end
the :mod:`invariants` all hold: drivers on one order at a time, money
conserved for every customer, rating totals equal to the stored ratings,
no message appended twice, every order ended once or still live.

``VTC_FAULT_SEED`` chooses the seed (the proxy's faults, the places, the
decisions); the failure message names it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import invariants
import pytest
import redis
from faultproxy import FaultPlan, FaultProxy, free_port

from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch_redis import RedisSettings, RedisStorage

HERE = Path(__file__).resolve().parent
WORKER = HERE / "fault_worker.py"
REQUIRE_SERVICES = os.environ.get("VTC_REQUIRE_SERVICES") == "1"
SEED = int(os.environ.get("VTC_FAULT_SEED", "20261121"))
WORKERS, CUSTOMERS_EACH, DRIVERS = 4, 250, 200
RUN_S = 100.0
KILLS = 3
ANSWER_S = 0.5
CLIENT_TIMEOUT_S = 0.5
# Each worker's clock error: within the few hundred ms NTP leaves between machines.
SKEWS_S = (-0.15, -0.05, 0.05, 0.15)
CURRENCY = "XAF"
PREFIX = "vtc:{faults}"
DOUALA = LatLng(4.0511, 9.7043)


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"VTC_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def redis_server() -> Iterator[str]:
    """A Redis of the test's own (AOF on) on a free port: its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("no redis-server on PATH to start a Redis of the test's own")
    assert binary is not None
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="vtc-faults-") as data:
        server = subprocess.Popen(
            [
                *(binary, "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes"),
                *("--dir", data, "--save", "", "--logfile", str(Path(data) / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = redis.Redis.from_url(url, socket_timeout=1.0)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.RedisError:
                    if server.poll() is not None:
                        break
                    time.sleep(0.05)
            else:
                _unavailable(f"redis-server on port {port} did not answer within 5 s")
            if server.poll() is not None:
                _unavailable(f"redis-server exited with {server.returncode} on port {port}")
            client.close()
            yield url
        finally:
            server.terminate()
            server.wait(10)


def _worker(url: str, worker: int, until: float) -> subprocess.Popen[str]:
    args = {
        "url": url,
        "prefix": PREFIX,
        "worker": worker,
        "customers": CUSTOMERS_EACH,
        "seed": SEED,
        "answer_s": ANSWER_S,
        "until": until,
        "socket_timeout_s": CLIENT_TIMEOUT_S,
        "in_flight": 24,
        "skew_s": SKEWS_S[worker],
    }
    return subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def _set_up(storage: RedisStorage, rng: random.Random) -> dict[str, Decimal]:
    """Drivers online and wallets credited, straight on Redis; the credits made."""
    service = DispatchService(
        pricing=douala_config(), clock=ManualClock(datetime.now(UTC)), **storage.ports()
    )
    for i in range(DRIVERS):
        place = destination_point(DOUALA, rng.uniform(0, 360), 6.0 * rng.random() ** 0.5)
        service.driver_online(f"drv-{i}", "taxi_jaune", place)
    credited = {}
    for worker in range(WORKERS):
        for n in range(0, CUSTOMERS_EACH, 2):  # the WALLET payers
            customer = f"c-{worker}-{n}"
            amount = Decimal(rng.randrange(2_000, 12_000, 50))
            storage.wallet.credit(customer, amount, CURRENCY)
            credited[customer] = amount
    return credited


@pytest.mark.slow
def test_workers_through_a_faulty_network_lose_and_double_nothing(redis_server: str) -> None:
    rng = random.Random(SEED)
    direct = RedisSettings(url=redis_server, prefix=PREFIX)
    storage = RedisStorage(direct)
    credited = _set_up(storage, rng)
    customers = [f"c-{w}-{n}" for w in range(WORKERS) for n in range(CUSTOMERS_EACH)]
    drivers = [f"drv-{i}" for i in range(DRIVERS)]
    plan = FaultPlan(seed=SEED)
    proxy = FaultProxy(("127.0.0.1", urlsplit(redis_server).port or 6379), plan)
    proxy.start()
    context = multiprocessing.get_context("spawn")
    stop, seen = context.Event(), context.Queue()
    watcher = context.Process(
        target=invariants.watch_drivers,
        args=(direct.model_dump(), drivers, stop, seen),
        daemon=True,
    )
    watcher.start()
    began = time.monotonic()
    until = time.time() + RUN_S
    workers = {w: _worker(proxy.url, w, until) for w in range(WORKERS)}
    outputs: list[str] = []
    killed: list[int] = []
    try:
        for k in range(KILLS):
            time.sleep(RUN_S / (KILLS + 2))
            victim = (SEED + k) % WORKERS
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(10)
            killed.append(victim)
            workers[victim] = _worker(proxy.url, victim, until)
        for process in workers.values():
            out, err = process.communicate(timeout=RUN_S + 60)
            if process.returncode != 0:
                pytest.fail(f"a worker failed ({process.returncode}): {err[-3000:]}")
            outputs.append(out.strip().splitlines()[-1])
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
        stop.set()
        proxy.stop()
    watched: list[str] = []
    sweeps = 0
    watcher.join(30)
    while not seen.empty():
        kind, value = seen.get()
        if kind == "problem":
            watched.append(value)
        else:
            sweeps = value
    elapsed = time.monotonic() - began
    summaries = [json.loads(line) for line in outputs]
    counts: Counter[str] = Counter()
    for summary in summaries:
        counts.update(summary["counts"])
    missing_id = sorted({name for s in summaries for name in s["without_command_id"]})
    problems = {
        "driver on two orders or not reserved for his ride (side process)": watched,
        "driver on two orders (at the end)": invariants.drivers_on_two_orders(storage, drivers),
        "driver not reserved for his ride (at the end)": (
            invariants.drivers_not_reserved_for_their_ride(storage, drivers)
        ),
        "money not conserved": invariants.money_not_conserved(storage, credited, CURRENCY),
        "rating totals": invariants.rating_totals_wrong(storage, customers, drivers),
        "messages appended twice": invariants.duplicate_messages(storage),
        "orders not ended once": invariants.orders_not_ended_once(storage, customers),
    }
    report = {name: len(found) for name, found in problems.items()}
    states = Counter(
        str(order.state) for c in customers for order in invariants.orders_of(storage, c)
    )
    detail = "\n".join(
        f"  {name}: {len(found)}\n" + "\n".join(f"    {line}" for line in found[:8])
        for name, found in problems.items()
        if found
    )
    header = (
        f"seed {SEED}, {len(customers)} customers, {len(credited)} WALLET payers, {elapsed:.0f} s,"
        f" orders by state {dict(states)},"
        f" faults {dict(proxy.faults)}, workers killed {killed}, side-process sweeps {sweeps},"
        f" counts of the workers' last processes {dict(sorted(counts.items()))}"
    )
    broken = bool(missing_id) or any(problems.values())
    assert not broken, (
        f"{header}\ncommands without a command_id keyword: {missing_id}\n"
        f"invariants broken: {report}\n{detail}"
    )
