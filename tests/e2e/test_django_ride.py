"""The example project for real: daphne on a free loopback port, the websocket client, REST.

The database is PostgreSQL (a database of its own, ``test_vtc_django_e2e``)
when it answers or services are required, else a temporary SQLite file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django_support import postgres_answers, postgres_dsn, services_required

from vtc_dispatch.geo import LatLng
from vtc_dispatch.pricing import Pricer, douala_config

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "django_project"
E2E_DATABASE = "test_vtc_django_e2e"


def _token(name: str) -> str:
    return f"demo-{name}-".ljust(40, "0")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _fresh_postgres(dsn: str) -> str:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {E2E_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {E2E_DATABASE}")
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{E2E_DATABASE}"


def _drop_postgres(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {E2E_DATABASE} WITH (FORCE)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "DJANGO_DEBUG": "0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    dsn = postgres_dsn()
    use_postgres = services_required() or postgres_answers(dsn)
    if use_postgres:
        env["DATABASE_URL"] = _fresh_postgres(dsn)
    else:
        env["SQLITE_PATH"] = str(tmp_path_factory.mktemp("e2e") / "demo.sqlite3")
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "-v0"], ["seed_demo", "--pool-mode", "batch"]):
        subprocess.run(manage + command, cwd=PROJECT, env=env, check=True, capture_output=True)
    port = _free_port()
    log = (tmp_path_factory.mktemp("e2e-log") / "daphne.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "demo.asgi:application",
        ],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/schema/", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"daphne did not start: {Path(log.name).read_text()[-2000:]}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        if use_postgres:
            _drop_postgres(dsn)


def call(base: str, who: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{base}/api/v1/order/{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {_token(who)}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_the_websocket_client_plays_a_whole_ride(server: str) -> None:
    done = subprocess.run(
        [sys.executable, "ws_client.py", "--base", server],
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
    status, history = call(server, "chantal", "GET", "customer/history/")
    assert status == 200
    order = history["results"][0]
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


def test_the_postman_collection_plays_the_whole_ride(server: str) -> None:
    """Folders 1 to 5 in order, as the Collection Runner with its delay would send them."""
    collection = json.loads((POSTMAN / "vtc-dispatch.postman_collection.json").read_text())
    environment = json.loads((POSTMAN / "local.postman_environment.json").read_text())
    variables = {v["key"]: v["value"] for v in environment["values"]}
    assert variables["driver_token"] == _token("amadou")
    assert variables["customer_token"] == _token("chantal")
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
            time.sleep(4.5)  # the Runner's delay: positions at a plausible speed
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
