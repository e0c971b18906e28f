"""Redis Cluster: a city per hash tag, any seed node, two cities on two masters, a master killed.

The tests start their own cluster on free loopback ports (3 masters with
a replica each, ``--cluster-node-timeout 2000``, :mod:`redis_cluster`) and
remove it afterwards; they fail instead of skipping when it cannot start
under ``VTC_REQUIRE_SERVICES=1``.  The fail-over test kills the master of
a city with SIGKILL while four threads ride in it (every command with a
``command_id``, sent again with it after ``StorageUnavailable``): calls
fail with StorageUnavailable while the replica takes over, then succeed
again on the same clients; at the end no acknowledged write is missing,
no driver is on two orders and the money is all there.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import invariants
import pydantic
import pytest
import redis
from faultproxy import free_port
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis_cluster import ClusterUnavailable, LocalCluster, city_prefix, local_cluster, unavailable
from samples import AKWA, DEIDO
from test_redis_prefixes import ride

from vtc_dispatch.errors import (
    ConcurrencyConflict,
    DispatchError,
    InvalidArgument,
    StorageUnavailable,
)
from vtc_dispatch.geo import destination_point
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch_redis import RedisSettings, RedisStorage

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "redis_workers.py"
CURRENCY = "XAF"
T = TypeVar("T")


def _started(**options: int) -> Iterator[LocalCluster]:
    try:
        with local_cluster(**options) as cluster:
            yield cluster
    except ClusterUnavailable as exc:
        unavailable(f"no local Redis Cluster could start: {exc}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """3 masters, 3 replicas, shared by the tests that leave it whole."""
    yield from _started()


@pytest.fixture
def own_cluster() -> Iterator[LocalCluster]:
    """3 masters, 3 replicas, for a test that kills one."""
    yield from _started()


def storage_at(cluster: LocalCluster, port: int, prefix: str, **settings: Any) -> RedisStorage:
    """Cluster-mode storage seeded at the node on ``port`` alone."""
    return RedisStorage(RedisSettings(url=cluster.url(port), prefix=prefix, **settings))


def keys_on(cluster: LocalCluster, port: int, prefix: str) -> int:
    """How many keys of the prefix's slot the node on ``port`` holds."""
    slot = key_slot(prefix.encode())
    with redis.Redis("127.0.0.1", port) as node:
        return int(node.cluster("COUNTKEYSINSLOT", slot))


@pytest.mark.parametrize("seed", ["another master", "the city's replica"])
def test_a_whole_wallet_ride_from_a_node_that_does_not_own_the_city(
    cluster: LocalCluster, seed: str
) -> None:
    master = cluster.master_ports()[0]
    prefix = city_prefix(cluster, master, f"ride-{seed.rsplit(maxsplit=1)[-1]}")
    if seed == "another master":
        port = cluster.master_ports()[1]
    else:
        port = next(p for p in cluster.live_ports() if _master_of(p) == master)
    storage = storage_at(cluster, port, prefix)
    try:
        order_id = ride(storage)
        done = storage.orders.get(order_id)
        assert done.state == "done"
        assert done.amount_paid is not None
        assert done.amount_paid > 0
        assert storage.wallet.balance("chantal", CURRENCY) == Decimal(10_000) - done.amount_paid
        assert storage.ratings.totals("chantal") == (4, 1)
        assert storage.stats.get("amadou").accepted == 1
        written = sorted(storage.keys())
        assert len(written) > 10
        assert keys_on(cluster, master, prefix) == len(written)  # all in the city's slot
    finally:
        storage.clear()


def _master_of(port: int) -> int | None:
    """The port of the master a replica follows (None for a master)."""
    with redis.Redis("127.0.0.1", port, decode_responses=True) as node:
        info = node.info("replication")
    return int(info["master_port"]) if info["role"] == "slave" else None


def test_two_cities_on_two_masters_in_one_process(cluster: LocalCluster) -> None:
    first, second = cluster.master_ports()[:2]
    douala, dakar = city_prefix(cluster, first, "douala"), city_prefix(cluster, second, "dakar")
    shared = RedisSettings(url=cluster.url(cluster.master_ports()[2]), prefix=douala).connect()
    assert isinstance(shared, RedisCluster)
    cities = [
        RedisStorage(RedisSettings(url=cluster.url(first), prefix=prefix, cluster=True), client=c)
        for prefix, c in ((douala, shared), (dakar, shared))
    ]
    try:
        done = [threading.Thread(target=ride, args=(city,)) for city in cities]
        for thread in done:
            thread.start()
        for thread in done:
            thread.join(60)
        for city, master in zip(cities, (first, second), strict=True):
            order = city.orders.get("ord-1")
            assert order.state == "done"
            assert keys_on(cluster, master, city.settings.prefix) == len(list(city.keys()))
        # The same ids in both cities, each city's own.
        assert {city.drivers.get("amadou").rating_count for city in cities} == {1}
    finally:
        for city in cities:
            city.clear()


def test_a_single_node_client_on_the_wrong_node_names_the_redirection(
    cluster: LocalCluster,
) -> None:
    master = cluster.master_ports()[0]
    prefix = city_prefix(cluster, master, "moved")
    other = cluster.master_ports()[1]
    plain = RedisStorage.from_url(cluster.url(other, scheme="redis"), prefix=prefix)
    assert not plain.settings.cluster
    with pytest.raises(StorageUnavailable, match=r"MovedError: \d+ 127\.0\.0\.1:\d+"):
        plain.wallet.credit("chantal", Decimal(1), CURRENCY)


def test_an_unreachable_cluster_is_storage_unavailable_naming_the_cause() -> None:
    settings = RedisSettings(
        url=f"redis+cluster://127.0.0.1:{free_port()}", prefix="vtc:{x}", retries=0
    )
    with pytest.raises(StorageUnavailable, match="RedisClusterException"):
        settings.connect()


@pytest.mark.parametrize(
    ("prefix", "complaint"),
    [
        ("vtc", "exactly one hash tag"),
        ("vtc:{}", "empty hash tag"),
        ("vtc:}douala{", "braces that open no hash tag"),
        ("vtc:{douala", "braces that open no hash tag"),
        ("vtc:{dou{ala}}", "braces that open no hash tag"),
        ("vtc:{douala}:{zone}", "exactly one hash tag"),
    ],
)
def test_a_cluster_prefix_needs_one_non_empty_hash_tag(prefix: str, complaint: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=complaint):
        RedisSettings(cluster=True, prefix=prefix)
    with pytest.raises(pydantic.ValidationError, match=complaint):
        RedisSettings(url="redis+cluster://127.0.0.1:7000", prefix=prefix)


def test_cluster_mode_from_the_url_or_the_flag() -> None:
    assert RedisSettings(url="redis+cluster://10.0.0.5:7000", prefix="vtc:{douala}").cluster
    assert RedisSettings(cluster=True, prefix="vtc:{douala}:zone-2").cluster
    assert not RedisSettings(prefix="vtc:{douala}:zone-{2}").cluster  # one Redis: tags free
    with pytest.raises(pydantic.ValidationError, match="cluster URL but cluster=False"):
        RedisSettings(url="redis+cluster://10.0.0.5:7000", prefix="vtc:{a}", cluster=False)


def test_a_cluster_client_needs_cluster_settings(cluster: LocalCluster) -> None:
    client = RedisSettings(url=cluster.url(cluster.ports[0]), prefix="vtc:{c}").connect()
    with pytest.raises(InvalidArgument, match="RedisSettings\\(cluster=True\\)"):
        RedisStorage(RedisSettings(prefix="vtc:{c}"), client=client)
    with pytest.raises(InvalidArgument, match=r"settings\.cluster is True"):
        RedisStorage(RedisSettings(cluster=True, prefix="vtc:{c}"), client=redis.Redis())


def _hold_replies(port: int, seconds: float) -> threading.Thread:
    """The node on ``port`` runs nothing for ``seconds`` (DEBUG SLEEP), from now on."""
    node = redis.Redis("127.0.0.1", port)
    sleeper = threading.Thread(target=node.execute_command, args=("DEBUG", "SLEEP", seconds))
    sleeper.start()
    time.sleep(0.1)
    return sleeper


@pytest.mark.parametrize("write", ["script", "multi-exec"])
def test_a_write_whose_reply_timed_out_is_not_sent_again(cluster: LocalCluster, write: str) -> None:
    master = cluster.master_ports()[2]
    prefix = city_prefix(cluster, master, f"timeout-{write}")
    storage = storage_at(cluster, cluster.master_ports()[0], prefix, socket_timeout_s=0.3)
    credit = partial(storage.wallet.credit, "chantal", Decimal(100), CURRENCY)
    command = credit if write == "script" else partial(storage.ratings.add, "chantal", 4)
    try:
        # Connected, the script loaded: the command itself is what times out.
        storage.wallet.credit("binta", Decimal(1), CURRENCY)
        sleeper = _hold_replies(master, 1.0)
        with pytest.raises(StorageUnavailable, match="may or may not have happened"):
            command()
        sleeper.join(10)
        # The write ran once, when the node woke up: redis-py's own cluster retries
        # would have sent it again after the timeout.
        if write == "script":
            assert storage.wallet.balance("chantal", CURRENCY) == Decimal(100)
        else:
            assert storage.ratings.totals("chantal") == (4, 1)
    finally:
        storage.clear()


@pytest.mark.slow
def test_the_example_workers_run_on_a_cluster(cluster: LocalCluster) -> None:
    master = cluster.master_ports()[1]
    prefix = city_prefix(cluster, master, "example")
    seed = next(p for p in cluster.live_ports() if p != master)
    done = subprocess.run(
        [
            *(sys.executable, str(EXAMPLE), "--url", f"redis://127.0.0.1:{seed}", "--cluster"),
            *("--prefix", prefix, "--workers", "2", "--drivers", "100", "--orders", "60"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "60 orders on 2 workers" in done.stdout
    assert "no problem found" in done.stdout
    assert keys_on(cluster, master, prefix) == 0  # the example removed its keys


class Rider(threading.Thread):
    """Plays wallet and cash rides one after another in a city until ``stop`` is set.

    Each command carries a ``command_id`` and is sent again with it after
    StorageUnavailable (or a conflict); the moments of failures and
    successes are kept, and each acknowledged order version.
    """

    def __init__(self, storage: RedisStorage, name: str, drivers: list[str], stop: Any) -> None:
        super().__init__(name=name, daemon=True)
        pool = PoolConfig.model_validate({"default": {"max_waiting_time_s": 60}})
        self.storage = storage
        self.service = DispatchService(pricing=douala_config(), pool=pool, **storage.ports())
        self.drivers = drivers
        self.stop = stop
        self.failures: list[tuple[float, str]] = []
        self.successes: list[float] = []
        self.acknowledged: dict[str, Order] = {}
        self.credited: dict[str, Decimal] = {}
        self.customers: list[str] = []
        self.problems: list[str] = []

    def send(self, command: Callable[[], T]) -> T:
        while True:
            try:
                result = command()
            except (StorageUnavailable, ConcurrencyConflict) as exc:
                self.failures.append((time.monotonic(), f"{type(exc).__name__}: {exc}"))
                time.sleep(0.02)
                continue
            self.successes.append(time.monotonic())
            if isinstance(result, Order):
                self.acknowledged[result.id] = result
            return result

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            try:
                self.ride(f"{self.name}-{n}", n)
            except DispatchError as exc:
                self.problems.append(f"{self.name} ride {n}: {type(exc).__name__}: {exc}")
                return
            except Exception as exc:  # anything else escaping is the bug looked for
                self.problems.append(f"{self.name} ride {n}: raw {type(exc).__name__}: {exc}")
                return
            n += 1

    def ride(self, customer: str, n: int) -> None:
        s = self.service
        method = "WALLET" if n % 2 == 0 else "CASH"
        if method == "WALLET":
            amount = Decimal(5_000 + 50 * n)
            self.send(lambda: s.wallet.credit(customer, amount, CURRENCY, op_id=f"{customer}:top"))
            self.credited[customer] = amount
        self.customers.append(customer)
        order = self.send(
            lambda: s.create_order(
                customer, AKWA, DEIDO, "taxi_jaune", method, command_id=f"{customer}:create"
            )
        )
        driver = order.offered_to
        if driver is None:
            self.problems.append(f"order {order.id} of {customer} found no driver: {order.state}")
            return
        oid = order.id
        self.send(lambda: s.accept(driver, oid, command_id=f"{oid}:accept"))
        self.send(lambda: s.arrived(driver, oid, operator_id="test", command_id=f"{oid}:arrived"))
        self.send(lambda: s.start_trip(driver, oid, command_id=f"{oid}:start"))
        self.send(lambda: s.update_position(driver, DEIDO, command_id=f"{oid}:fix"))
        self.send(lambda: s.complete_trip(driver, oid, command_id=f"{oid}:complete"))
        self.send(lambda: s.rate(Actor.customer(customer), oid, 5, command_id=f"{oid}:rate-c"))
        self.send(lambda: s.rate(Actor.driver(driver), oid, 4, command_id=f"{oid}:rate-d"))


def _drivers_online(storage: RedisStorage, count: int) -> list[str]:
    service = DispatchService(pricing=douala_config(), **storage.ports())
    ids = [f"drv-{i}" for i in range(count)]
    for i, driver_id in enumerate(ids):
        service.driver_online(driver_id, "taxi_jaune", destination_point(AKWA, 37.0 * i, 0.5))
    return ids


def _lost_acknowledgements(storage: RedisStorage, riders: list[Rider]) -> list[str]:
    """Acknowledged orders the city no longer has at that version or later."""
    lost = []
    for rider in riders:
        for order_id, acked in rider.acknowledged.items():
            stored = storage.orders.get(order_id)
            history = [h.target for h in stored.lifecycle.history]
            if stored.version < acked.version or acked.state not in history:
                lost.append(
                    f"{order_id}: acknowledged {acked.state} v{acked.version}, stored"
                    f" {stored.state} v{stored.version}"
                )
    return lost


@pytest.mark.slow
def test_a_master_killed_under_load_fails_over_without_losing_or_doubling(
    own_cluster: LocalCluster,
) -> None:
    cluster = own_cluster
    victim, other = cluster.master_ports()[:2]
    douala, dakar = city_prefix(cluster, victim, "douala"), city_prefix(cluster, other, "dakar")
    seed = cluster.master_ports()[2]
    options = {"socket_timeout_s": 1.0, "connect_timeout_s": 0.5}
    setup = storage_at(cluster, seed, douala, **options)
    drivers = _drivers_online(setup, 40)
    _drivers_online(storage_at(cluster, seed, dakar, **options), 10)
    stop = threading.Event()
    riders = [
        Rider(storage_at(cluster, seed, douala, **options), f"a{i}", drivers, stop)
        for i in range(4)
    ]
    bystander = Rider(storage_at(cluster, seed, dakar, **options), "b0", drivers, stop)
    for rider in [*riders, bystander]:
        rider.start()
    time.sleep(3.0)
    killed_at = time.monotonic()
    cluster.kill(victim)
    time.sleep(10.0)
    stop.set()
    for rider in [*riders, bystander]:
        rider.join(60)
    stuck = [r.name for r in [*riders, bystander] if r.is_alive()]

    after = [(t - killed_at, why) for r in riders for t, why in r.failures if t >= killed_at]
    recovered = [
        min((t for t in r.successes if t > max(f for f, _ in r.failures)), default=float("inf"))
        - killed_at
        for r in riders
        if r.failures
    ]
    before_kill = [sum(1 for t in r.successes if t < killed_at) for r in riders]
    after_recovery = [
        sum(1 for t in r.successes if t - killed_at > max(recovered, default=0.0)) for r in riders
    ]
    report = (
        f"killed the master on port {victim}; {len(after)} failures after the kill"
        f" ({after[0][0]:.2f} s to {after[-1][0]:.2f} s after it)"
        if after
        else "no failure"
    )
    report += (
        f"; riders recovered {min(recovered, default=0):.2f} to {max(recovered, default=0):.2f} s"
        f" after the kill; commands before {before_kill}, after recovery {after_recovery};"
        f" the other city's failures: {len(bystander.failures)};"
        f" kinds: {sorted({why.split(':')[0] + ':' + why.split(':')[1][:60] for _, why in after})}"
        f" {[why[:160] for _, why in bystander.failures]}"
    )
    print(report)
    assert not stuck, f"riders still running: {stuck}"
    problems = [p for r in [*riders, bystander] for p in r.problems]
    assert not problems, "\n".join(problems)
    assert after, "the kill made no call fail"
    assert all(why.startswith("StorageUnavailable") for _, why in after), after[:5]
    assert all(r.failures for r in riders), "every rider of the city saw the fail-over"
    assert all(n > 0 for n in after_recovery), f"calls did not succeed again: {report}"
    assert cluster.owner(key_slot(douala.encode())) != victim  # a replica took over

    city = storage_at(cluster, seed, douala)
    credited = {c: a for r in riders for c, a in r.credited.items()}
    customers = [c for r in riders for c in r.customers]
    checks = {
        "acknowledged writes lost": _lost_acknowledgements(city, riders),
        "driver on two orders": invariants.drivers_on_two_orders(city, drivers),
        "driver not reserved for his ride": invariants.drivers_not_reserved_for_their_ride(
            city, drivers
        ),
        "money not conserved": invariants.money_not_conserved(city, credited, CURRENCY),
        "orders not ended once": invariants.orders_not_ended_once(city, customers),
        "messages appended twice": invariants.duplicate_messages(city),
    }
    broken = {name: found for name, found in checks.items() if found}
    assert not broken, f"{report}\n{broken}"
