"""The example project for real: daphne on a free loopback port, the websocket client, REST.

The database is PostgreSQL (a database of its own, ``test_vtc_django_<checkout>_e2e``)
when it answers or services are required, else a temporary SQLite file.
The tests that need Redis use fresh key prefixes (the Channels layer's,
the dispatch state's) and remove their keys afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django_example import A_TAXI_IN_CASH, E2E_DATABASE, PROJECT, call, example_project, token
from django_support import postgres_answers, postgres_dsn, services_required

from vtc_dispatch.geo import LatLng
from vtc_dispatch.pricing import Pricer, douala_config

MAX_WAITING_S = 8


async def _nothing_going_on(connection: Any) -> None:
    """Read a connection's first message: its ``state``, with no order nor offer yet."""
    import asyncio

    first = json.loads(await asyncio.wait_for(connection.recv(), 10))
    assert (first["type"], first["order"], first["offer"]) == ("state", None, None)


@pytest.fixture(scope="module")
def clock_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """How many seconds ahead of the wall clock the module's server is (demo/clock.py)."""
    path = tmp_path_factory.mktemp("clock") / "clock"
    path.write_text("0")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, clock_file: Path) -> Iterator[str]:
    """One server process, SQLite or PostgreSQL, the in-memory layer, deadlines in the server."""
    with example_project(
        tmp_path_factory.mktemp("e2e"),
        E2E_DATABASE,
        ["--pool-mode", "batch", "--max-waiting", str(MAX_WAITING_S)],
        {"VTC_CLOCK_FILE": str(clock_file)},
        worker=False,
    ) as base:
        yield base


def play_the_websocket_client(base: str) -> dict[str, Any]:
    """Run ws_client.py against ``base``: the ride ends done at the quoted fare; the order."""
    done = subprocess.run(
        [sys.executable, "ws_client.py", "--base", base],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("final fare: "), last
    assert last.endswith(" XAF"), last
    fare = Decimal(last.split()[2])
    status, history = call(base, "chantal", "GET", "customer/history/")
    assert status == 200
    order: dict[str, Any] = history["results"][0]
    assert order["state"] == "done"
    assert [r["stars"] for r in order["ratings"]] == [5, 4]
    # The trip went as planned (north then east, as long as the quoted route):
    # the final fare is the quote, as the pricing computes it at the order's time.
    expected = Pricer(douala_config()).quote(
        LatLng(order["pickup"]["lat"], order["pickup"]["lng"]),
        LatLng(order["destination"]["lat"], order["destination"]["lng"]),
        "taxi_jaune",
        datetime.fromisoformat(order["created_at"]),
    )
    assert order["final_fare"]["reason"] == "as_quoted"
    assert Decimal(order["final_fare"]["amount"]) == fare == expected.estimate
    assert order["price_history"][0]["to"] == str(expected.estimate)
    return order


def test_the_websocket_client_plays_a_whole_ride(server: str) -> None:
    order = play_the_websocket_client(server)
    # Only the order's parties see it.
    assert call(server, "didier", "GET", f"{order['id']}/")[0] == 403


def test_two_concurrent_accepts_of_one_order_give_one_200(server: str) -> None:
    for driver, lat in (("amadou", 4.0520), ("brice", 4.0522)):
        status, _ = call(
            server,
            driver,
            "POST",
            "driver/toggle-status/",
            {"online": True, "position": {"lat": lat, "lng": 9.7045}},
        )
        assert status == 200
    status, order = call(
        server,
        "didier",
        "POST",
        "customer/create/",
        {
            "pickup": {"lat": 4.0511, "lng": 9.7043},
            "destination": {"lat": 4.0650, "lng": 9.7250},
            "vehicle_type": "taxi_jaune",
            "payment_method": "CASH",
        },
    )
    assert status == 201, order
    start = threading.Barrier(2)
    answers: dict[str, tuple[int, Any]] = {}

    def accept(driver: str) -> None:
        start.wait()
        answers[driver] = call(server, driver, "POST", f"driver/accept/{order['id']}/")

    threads = [threading.Thread(target=accept, args=(d,)) for d in ("amadou", "brice")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(code for code, _ in answers.values())
    assert statuses == [200, 409], answers
    winner = next(d for d, (code, _) in answers.items() if code == 200)
    status, final = call(server, "didier", "GET", f"{order['id']}/")
    assert (final["state"], final["driver_id"]) == ("accepted", answers[winner][1]["driver_id"])
    assert (
        call(server, "didier", "POST", f"customer/cancel/{order['id']}/", {"reason": "test"})[0]
        == 200
    )


POSTMAN = PROJECT / "postman"


def _requests(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "item" in item:
            yield from _requests(item["item"])
        else:
            yield item


def test_the_postman_collection_plays_the_whole_ride(server: str, clock_file: Path) -> None:
    """Folders 1 to 5 in order, as the Collection Runner with its delay would send them.

    The Runner's delay between positions is the server's clock moved forward, not a sleep
    (main slept some 40 s)."""
    collection = json.loads((POSTMAN / "vtc-dispatch.postman_collection.json").read_text())
    environment = json.loads((POSTMAN / "local.postman_environment.json").read_text())
    variables = {v["key"]: v["value"] for v in environment["values"]}
    assert variables["driver_token"] == token("amadou")
    assert variables["customer_token"] == token("chantal")
    variables["base_url"] = server
    folders = [f for f in collection["item"] if f["name"][0].isdigit()]
    last: Any = None
    for item in _requests(folders):
        request = item["request"]

        def fill(text: str) -> str:
            for key, value in variables.items():
                text = text.replace("{{" + key + "}}", value)
            return text

        if "update-location" in request["url"]["raw"]:
            # The Runner's delay: positions at a plausible speed.
            clock_file.write_text(repr(float(clock_file.read_text()) + 4.5))
        body = request.get("body", {}).get("raw")
        answer = urllib.request.Request(
            fill(request["url"]["raw"]),
            method=request["method"],
            data=None if body is None else fill(body).encode(),
            headers={h["key"]: fill(h["value"]) for h in request["header"]},
        )
        try:
            with urllib.request.urlopen(answer, timeout=10) as response:
                last = json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            pytest.fail(f"{item['name']}: {error.code} {error.read()[:500]!r}")
        if item["name"] == "Create order":
            variables["order_id"] = last["id"]
        if item["name"] == "Complete":
            assert last["state"] == "done"
            assert last["final_fare"]["reason"] == "as_quoted"
    assert last is not None
    assert last["online"] is False


def test_unanswered_offers_expire_inside_the_server(server: str) -> None:
    """One process, the in-memory layer: the server's own task runs the deadlines."""
    import asyncio

    import websockets

    for driver, lat in (("amadou", 4.0515), ("brice", 4.0530)):
        position = {"lat": lat, "lng": 9.7045}
        status, _ = call(
            server, driver, "POST", "driver/toggle-status/", {"online": True, "position": position}
        )
        assert status == 200

    async def play() -> list[dict[str, Any]]:
        ws = "ws" + server.removeprefix("http")
        async with (
            websockets.connect(f"{ws}/ws/driver/?token={token('amadou')}") as first,
            websockets.connect(f"{ws}/ws/driver/?token={token('brice')}") as second,
            websockets.connect(f"{ws}/ws/customer/?token={token('didier')}") as customer,
        ):
            for connection in (first, second, customer):
                await _nothing_going_on(connection)
            await customer.send(
                json.dumps(
                    {"type": "create_order", "pickup": {"lat": 4.0511, "lng": 9.7043},
                     "destination": {"lat": 4.0650, "lng": 9.7250},
                     "vehicle_type": "taxi_jaune", "payment_method": "CASH"}
                )
            )  # fmt: skip
            wait = MAX_WAITING_S + 5
            seen = [json.loads(await asyncio.wait_for(customer.recv(), wait))]
            for driver in (first, second):
                seen.append(json.loads(await asyncio.wait_for(driver.recv(), wait)))
                seen.append(json.loads(await asyncio.wait_for(driver.recv(), wait)))
            seen.append(json.loads(await asyncio.wait_for(customer.recv(), wait)))
            return seen

    created, offer1, gone1, offer2, gone2, told = asyncio.run(play())
    assert created["type"] == "order_created"
    assert [m["type"] for m in (offer1, offer2)] == ["offer", "offer"]
    assert [(m["type"], m["reason"]) for m in (gone1, gone2)] == [
        ("offer_withdrawn", "expired")
    ] * 2
    assert (told["type"], told["order_id"]) == ("no_driver_found", created["order_id"])
    status, order = call(server, "didier", "GET", f"{created['order_id']}/")
    assert (status, order["state"]) == (200, "no_driver")
    assert (
        call(server, "didier", "POST", f"customer/cancel/{order['id']}/", {"reason": "x"})[0] == 200
    )


def test_an_unknown_websocket_path_is_refused_at_the_handshake(server: str) -> None:
    """The router raised: daphne answered the handshake with a 500 and logged a traceback."""
    import asyncio

    import websockets
    from websockets.exceptions import InvalidStatus

    async def knock(path: str) -> int:
        ws = "ws" + server.removeprefix("http")
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(f"{ws}{path}?token={token('amadou')}"):
                pass
        status: int = refused.value.response.status_code
        return status

    # A close before the handshake is accepted: the server answers 403 (as for 4401/4403).
    assert asyncio.run(knock("/ws/nowhere/")) == 403
    assert asyncio.run(knock("/ws/driver/more/")) == 403


REDIS_URL_DEFAULT = "redis://127.0.0.1:6379/0"
# Longer than channels_redis' blocking pop and redis-py 8's default read timeout (5 s).
IDLE_S = 7


def _fresh_channels_prefix() -> str:
    # Fresh per test: other runs may share this Redis, and user ids repeat across databases.
    return f"vtc-django-e2e-{uuid.uuid4().hex[:12]}"


def _redis_url() -> str:
    url = os.environ.get("VTC_REDIS_URL") or REDIS_URL_DEFAULT
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if services_required():
            pytest.fail(f"Redis at {url} does not answer ({exc}) and VTC_REQUIRE_SERVICES=1")
        pytest.skip(f"Redis at {url} does not answer: {exc}")
    return url


def _forget_channels_keys(url: str, prefix: str) -> None:
    import redis

    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)


def test_offers_expire_in_a_worker_process_and_reach_drivers_through_redis(
    tmp_path: Path,
) -> None:
    """Server and dispatch_worker in two processes, messages through the Redis layer."""
    import asyncio

    import websockets

    url = _redis_url()
    channels_prefix = _fresh_channels_prefix()
    extra = {"REDIS_URL": url, "CHANNELS_PREFIX": channels_prefix, "VTC_IN_PROCESS_WORKER": "0"}
    seed = ["--pool-mode", "sequential", "--max-waiting", "2"]
    try:
        with example_project(tmp_path, f"{E2E_DATABASE}_mp", seed, extra, worker=True) as base:
            ids = {}
            for driver, lat in (("amadou", 4.0515), ("brice", 4.0530)):
                position = {"lat": lat, "lng": 9.7045}
                status, answer = call(
                    base, driver, "POST", "driver/toggle-status/",
                    {"online": True, "position": position},
                )  # fmt: skip
                assert status == 200
                ids[driver] = answer["driver_id"]

            async def play() -> tuple[str, str, dict[str, Any]]:
                ws = "ws" + base.removeprefix("http")
                async with (
                    websockets.connect(f"{ws}/ws/driver/?token={token('amadou')}") as first,
                    websockets.connect(f"{ws}/ws/driver/?token={token('brice')}") as second,
                ):
                    for connection in (first, second):
                        await _nothing_going_on(connection)
                    status, order = await asyncio.to_thread(
                        call, base, "didier", "POST", "customer/create/", A_TAXI_IN_CASH
                    )
                    assert status == 201, order
                    offer = json.loads(await asyncio.wait_for(first.recv(), 10))
                    # amadou does not answer: the worker process expires the offer
                    # and the server's consumers receive its messages through Redis.
                    withdrawn = json.loads(await asyncio.wait_for(first.recv(), 10))
                    passed = json.loads(await asyncio.wait_for(second.recv(), 10))
                    return offer["type"], withdrawn["reason"], passed

            first_type, reason, passed = asyncio.run(play())
            assert (first_type, reason) == ("offer", "expired")
            assert passed["type"] == "offer"
            status, order = call(base, "didier", "GET", f"{passed['order_id']}/")
            assert (order["state"], order["offer"]["driver_id"]) == ("searching", ids["brice"])
    finally:
        _forget_channels_keys(url, channels_prefix)


def test_an_idle_websocket_outlives_the_redis_layers_blocking_pop(tmp_path: Path) -> None:
    """redis-py 8 reads with a 5 s timeout by default, the length of channels_redis' blocking
    pop: its own layer closed every websocket idle for 5 s (1011) on a read timeout."""
    import asyncio

    import websockets

    url = _redis_url()
    channels_prefix = _fresh_channels_prefix()
    extra = {"REDIS_URL": url, "CHANNELS_PREFIX": channels_prefix}
    try:
        with example_project(tmp_path, f"{E2E_DATABASE}_idle", [], extra, worker=False) as base:
            status, _ = call(
                base, "amadou", "POST", "driver/toggle-status/",
                {"online": True, "position": {"lat": 4.0515, "lng": 9.7045}},
            )  # fmt: skip
            assert status == 200

            async def play() -> dict[str, Any]:
                ws = "ws" + base.removeprefix("http")
                async with websockets.connect(f"{ws}/ws/driver/?token={token('amadou')}") as driver:
                    await _nothing_going_on(driver)
                    await asyncio.sleep(IDLE_S)
                    status, order = await asyncio.to_thread(
                        call, base, "didier", "POST", "customer/create/", A_TAXI_IN_CASH
                    )
                    assert status == 201, order
                    offer: dict[str, Any] = json.loads(await asyncio.wait_for(driver.recv(), 10))
                    return offer

            offer = asyncio.run(play())
            assert offer["type"] == "offer"
    finally:
        _forget_channels_keys(url, channels_prefix)


def _postgres_if_required() -> None:
    dsn = postgres_dsn()
    if services_required() and not postgres_answers(dsn):
        pytest.fail(f"PostgreSQL at {dsn} does not answer and VTC_REQUIRE_SERVICES=1")


def test_a_whole_ride_with_the_dispatch_state_in_redis(tmp_path: Path) -> None:
    """``VTC_STORES=redis``: the example's state in Redis (the wallets stay in the database)."""
    from vtc_dispatch.fsm import RideState
    from vtc_dispatch_redis import RedisStorage

    url = _redis_url()
    _postgres_if_required()
    storage = RedisStorage.from_url(url, prefix=f"vtc-e2e:{{{uuid.uuid4().hex[:12]}}}")
    channels_prefix = _fresh_channels_prefix()
    extra = {
        "REDIS_URL": url,
        "CHANNELS_PREFIX": channels_prefix,
        "VTC_STORES": "redis",
        "VTC_PREFIX": storage.settings.prefix,
    }
    database = f"{E2E_DATABASE}_redis_{uuid.uuid4().hex[:8]}"
    try:
        seed = ["--max-waiting", str(MAX_WAITING_S)]
        with example_project(tmp_path, database, seed, extra, worker=False) as base:
            order = play_the_websocket_client(base)
            # The server kept the ride in Redis: read it back through the adapter.
            stored = storage.orders.get(order["id"])
            assert stored.state == RideState.DONE
            assert stored.final_fare is not None
            assert stored.final_fare.amount == Decimal(order["final_fare"]["amount"])
            assert (stored.customer_id, stored.driver_id) == (
                order["customer_id"],
                order["driver_id"],
            )
            assert [(r.by.role, r.stars) for r in stored.ratings] == [
                ("customer", 5),
                ("driver", 4),
            ]
            driver, customer = order["driver_id"], order["customer_id"]
            assert storage.drivers.get(driver).rating_count == 1
            offers = storage.stats.get(driver)
            assert (offers.offered, offers.accepted) == (1, 1)
            assert storage.ratings.totals(customer) == (4, 1)
            # Money stays in the database: didier's seeded wallet pays, Redis has none.
            status, paid = call(
                base, "didier", "POST", "customer/create/",
                {"pickup": {"lat": 4.0511, "lng": 9.7043},
                 "destination": {"lat": 4.0650, "lng": 9.7250},
                 "vehicle_type": "taxi_jaune", "payment_method": "WALLET"},
            )  # fmt: skip
            assert status == 201, paid
            assert storage.wallet.balance(paid["customer_id"], "XAF") == 0
            assert storage.orders.get(paid["id"]).payment_method == "WALLET"
            cancel = f"customer/cancel/{paid['id']}/"
            assert call(base, "didier", "POST", cancel, {"reason": "test"})[0] == 200
    finally:
        storage.clear()
        storage.client.close()
        _forget_channels_keys(url, channels_prefix)


@pytest.mark.parametrize(
    ("down", "message"),
    [
        ({"VTC_REDIS_URL": "redis://127.0.0.1:1/0"}, "Redis at redis://127.0.0.1:1/0 does not"),
        ({"VTC_POSTGRES_DSN": "postgresql://postgres@127.0.0.1:1/test"}, "PostgreSQL at"),
    ],
)
def test_the_redis_ride_fails_without_its_services_when_they_are_required(
    down: dict[str, str], message: str
) -> None:
    """Not a skip: CI (VTC_REQUIRE_SERVICES=1) must not pass with Redis or PostgreSQL down."""
    node = f"{Path(__file__).name}::test_a_whole_ride_with_the_dispatch_state_in_redis"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", node],
        cwd=Path(__file__).parent,
        env={**os.environ, "VTC_REQUIRE_SERVICES": "1", **down},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "1 failed" in done.stdout, done.stdout[-2000:]
    assert message in done.stdout, done.stdout[-2000:]
    assert "does not answer" in done.stdout
