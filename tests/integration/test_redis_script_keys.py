"""Every key a script touches is declared in its KEYS, but for those only the stored data names.

Redis Cluster routes a script by its declared keys, and holds it back
while they are moving to another node; a key it reaches without declaring
it is only safe because the prefix's hash tag puts it in the same slot.
The test runs the adapter's every script on a Redis of its own under
MONITOR (which shows the commands a script runs, after the script's own
line), and checks each run: the keys touched and not declared are only
of the kinds the adapter documents as named by stored data (a driver's
GEO set named by his type, the orders an index lists...).  One process
that read what it writes (the service's own path) declares even those
it can know; a process that never read them (``cold``) may not.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
import redis_support
from redis_cluster import ClusterUnavailable, local_server, unavailable
from samples import AKWA, DEIDO

from vtc_dispatch.changes import CommandRecord
from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Actor, DriverStatus
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch_redis import RedisStorage, drivers, orders, progress, rides, stats, wallet
from vtc_dispatch_redis import unit_of_work as uow

PREFIX = "vtc:{keys}"
SCRIPTS = {
    "orders.add": orders._ADD,
    "orders.save": orders._SAVE,
    "orders.find": orders._FIND,
    "orders.claim": orders._CLAIM,
    "drivers.put": drivers._PUT,
    "drivers.reserve": drivers._RESERVE,
    "drivers.release": drivers._RELEASE,
    "drivers.nearest": drivers._NEAREST,
    "drivers.count": drivers._COUNT,
    "drivers.heard": drivers._HEARD,
    "drivers.online": drivers._ONLINE,
    "rides.ride_of": rides._RIDE_OF,
    "progress.save": progress._SAVE,
    "stats.record": stats._RECORD,
    "wallet.credit": wallet._CREDIT,
    "wallet.hold": wallet._HOLD,
    "wallet.settle": wallet._SETTLE,
    "commit": uow._COMMIT,
}
BY_SHA = {hashlib.sha1(text.encode()).hexdigest(): name for name, text in SCRIPTS.items()}

DATA_NAMED = {
    "orders.save": {"od", "ad", "d", "g"},
    "orders.find": {"o"},
    "orders.claim": {"o"},
    "drivers.put": {"g"},
    "drivers.reserve": {"g"},
    "drivers.release": {"g"},
    "drivers.nearest": {"d", "g"},
    "drivers.count": {"d", "g"},
    "drivers.heard": {"d"},
    "drivers.online": {"d"},
    "rides.ride_of": {"o", "p"},
    "wallet.settle": {"w"},
    "commit": {"od", "ad", "d", "g", "w"},
}
"""Key parts a script may touch undeclared: named only by what is stored (docs/redis.md)."""

KNOWN_BY_READING = {
    # The drivers the GEO search finds; every type's GEO set when no type is asked.
    "drivers.nearest": {"d", "g"},
    "drivers.count": {"d", "g"},  # every type's GEO set, the drivers near the edge
    "drivers.heard": {"d"},  # the drivers the sorted set lists
    "drivers.online": {"d"},  # likewise
    "orders.find": {"o"},
    "orders.claim": {"o"},
    "rides.ride_of": {"o", "p"},
    "wallet.settle": {"w"},  # a hold taken on its own names its wallet
}
"""What stays undeclared even in a process that read everything it writes."""


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """A Redis of the test's own: MONITOR on the shared one would slow everyone down."""
    with ExitStack() as stack:
        try:
            address = stack.enter_context(local_server())
        except ClusterUnavailable as exc:
            unavailable(f"no Redis of the test's own could start: {exc}")
        yield address


class Monitor:
    """The commands Redis runs while the block is open, as MONITOR lists them."""

    _LINE = re.compile(r"^\S+ \[\d+ (\S+)\] (.*)$")
    _ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, decode_responses=True)
        self._lines: list[tuple[str, list[str]]] = []
        self._marker = f"monitor-stop-{id(self)}"

    def __enter__(self) -> Monitor:
        self._monitor = self._client.monitor()  # type: ignore[no-untyped-call]
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        while True:
            raw = self._monitor.connection.read_response()
            match = self._LINE.match(raw)
            if match is None:
                continue
            args = [a.replace('\\"', '"').replace("\\\\", "\\") for a in self._ARG.findall(raw)]
            if args[:2] == ["ECHO", self._marker]:
                return
            self._lines.append((match.group(1), args))

    def __exit__(self, *exc: object) -> None:
        self._client.echo(self._marker)
        self._thread.join(10)
        self._monitor.__exit__(None, None, None)

    def runs(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """Each script run: its name, its declared keys, the commands it ran."""
        runs: list[tuple[str, list[str], list[list[str]]]] = []
        for client, args in self._lines:
            if client == "lua":
                assert runs, f"a script command with no script before it: {args}"
                runs[-1][2].append(args)
            elif args and args[0].upper() == "EVALSHA":
                name = BY_SHA.get(args[1], f"unknown script {args[1]}")
                runs.append((name, args[3 : 3 + int(args[2])], []))
        return runs


def undeclared(url: str, runs: list[tuple[str, list[str], list[list[str]]]]) -> dict[str, Any]:
    """Script name -> key part -> the keys it touched without declaring them."""
    found: dict[str, Any] = defaultdict(lambda: defaultdict(set))
    keys_of: dict[tuple[str, ...], list[str]] = {}
    with redis.Redis.from_url(url, decode_responses=True) as client:
        for name, declared, commands in runs:
            for command in commands:
                if tuple(command) not in keys_of:
                    try:
                        keys_of[tuple(command)] = client.command_getkeys(*command)
                    except redis.ResponseError:  # TIME and other commands without keys
                        keys_of[tuple(command)] = []
                for key in keys_of[tuple(command)]:
                    assert key.startswith(PREFIX + ":"), f"{name} touched {key}, not of {PREFIX}"
                    if key not in declared:
                        part = key[len(PREFIX) + 1 :].split(":", 1)[0]
                        found[name][part].add(key)
    return found


def ride_and_more(storage: RedisStorage) -> None:
    """Every script through the service (two wallet rides, a refusal, an expiry, a cancel)
    and the ports one by one."""
    clock = ManualClock(datetime(2026, 11, 21, 17, 30, tzinfo=UTC))
    pool = PoolConfig.model_validate({"default": {"max_waiting_time_s": 20}})
    service = DispatchService(pricing=douala_config(), pool=pool, clock=clock, **storage.ports())
    storage.wallet.credit("chantal", Decimal(20_000), "XAF", op_id="top-up")
    for i, lng in enumerate((9.7060, 9.7070, 9.7080)):
        service.driver_online(f"drv-{i}", "taxi_jaune", LatLng(4.0540, lng))
    service.driver_online("drv-c", "confort", LatLng(4.0540, 9.7050))
    assert service.search(AKWA, DEIDO)
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET")
    first = order.offered_to
    assert first is not None
    second = service.reject(first, order.id).offered_to
    assert second is not None
    clock.advance(timedelta(seconds=30))
    service.expire_due()  # the second lets it expire: the third is offered
    third = service.orders.get(order.id).offered_to
    assert third is not None
    service.accept(third, order.id, command_id="accept-1")
    service.update_position(third, AKWA)
    service.arrived(third, order.id)
    service.start_trip(third, order.id)
    clock.advance(timedelta(minutes=5))
    service.update_position(third, DEIDO)
    service.complete_trip(third, order.id)
    service.rate(Actor.customer("chantal"), order.id, 5)
    service.rate(Actor.driver(third), order.id, 4)
    again = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET")
    driver = again.offered_to
    assert driver is not None
    service.accept(driver, again.id)
    service.cancel(Actor.customer("chantal"), again.id, "changed my mind")
    service.history(Actor.customer("chantal"))
    service.current_order(Actor.driver(driver))
    service.driver_offline("drv-c")
    ports_one_by_one(storage, clock.now())


def ports_one_by_one(storage: RedisStorage, at: datetime) -> None:
    """The scripts a service committing through the unit of work never runs."""
    from samples import new_order

    storage.drivers.get("drv-0")
    storage.drivers.put(DriverStatus("drv-0", "taxi_jaune", AKWA, True, at))
    assert storage.drivers.reserve("drv-0", "solo-1")
    stored = storage.orders.add(new_order("solo-1", "binta"))
    storage.orders.save(stored, stored.version)
    storage.drivers.release("drv-0", "solo-1")
    storage.drivers.nearest_available(AKWA, 2, 5.0)
    storage.drivers.online_drivers()
    storage.orders.active_orders()
    storage.progress.save(storage.progress.get("solo-1"), 0)
    storage.stats.record("drv-0", "offered", at)
    storage.stats.get("drv-0")
    storage.ratings.add("binta", 4)
    storage.commands.put(CommandRecord("solo-cmd", "nothing()", None))
    hold = storage.wallet.hold("chantal", Decimal(100), "XAF", "solo", op_id="solo-hold")
    storage.wallet.capture(hold, Decimal(40), op_id="solo-capture")
    other = storage.wallet.hold("chantal", Decimal(100), "XAF", "solo-2")
    storage.wallet.release(other)


def cold(storage: RedisStorage, url: str) -> None:
    """Writes from a process that never read what it writes: it cannot name stored data."""
    fresh = redis_support.track(RedisStorage.from_url(url, prefix=PREFIX))
    order = storage.orders.get("solo-1")
    fresh.drivers.reserve("drv-1", "solo-1")
    fresh.orders.save(order, order.version)  # the first save of this process
    fresh.drivers.release("drv-1", "solo-1")
    fresh.drivers.put(DriverStatus("drv-2", "confort", DEIDO, True, order.created_at))


def test_scripts_declare_every_key_they_can_name(url: str) -> None:
    storage = redis_support.track(RedisStorage.from_url(url, prefix=PREFIX))
    try:
        with Monitor(url) as warm_monitor:
            ride_and_more(storage)
        with Monitor(url) as cold_monitor:
            cold(storage, url)
    finally:
        redis_support.clean_up()
    warm_runs, cold_runs = warm_monitor.runs(), cold_monitor.runs()
    assert {name for name, _, _ in warm_runs} == set(SCRIPTS), "every script ran"
    warm = undeclared(url, warm_runs)
    cold_found = undeclared(url, cold_runs)
    problems = [
        f"{phase}: {name} touched undeclared {sorted(keys)}"
        for phase, found, allowed in (
            ("warm", warm, KNOWN_BY_READING),
            ("cold", cold_found, DATA_NAMED),
        )
        for name, parts in found.items()
        for part, keys in parts.items()
        if part not in allowed.get(name, set())
    ]
    assert not problems, "\n".join(problems)
    # The cold writes do reach keys only the stored data names: the check above means something.
    assert cold_found["orders.save"] or cold_found["drivers.reserve"]
