"""The example project served for real: migrated, seeded, daphne on a free loopback port.

The database is PostgreSQL (a fresh database named by the caller) when it
answers or services are required, else a SQLite file in the caller's
temporary folder.  Used by the end-to-end tests (tests/e2e).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import django_support
import pytest
from django_support import postgres_answers, postgres_dsn, services_required

__all__ = [
    "A_TAXI_IN_CASH",
    "E2E_DATABASE",
    "PROJECT",
    "call",
    "collect",
    "example_project",
    "next_of",
    "send",
    "token",
]

# An order from Akwa to Deido: a short day ride, near the seeded drivers.
A_TAXI_IN_CASH = {
    "pickup": {"lat": 4.0511, "lng": 9.7043},
    "destination": {"lat": 4.0650, "lng": 9.7250},
    "vehicle_type": "taxi_jaune",
    "payment_method": "CASH",
}

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "django_project"
E2E_DATABASE = f"{django_support.TEST_DATABASE}_e2e"


def token(name: str) -> str:
    """The fixed REST token that ``seed_demo`` gives the demo user ``name``."""
    return f"demo-{name}-".ljust(40, "0")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _fresh_postgres(dsn: str, name: str) -> str:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{name}"


def _drop_postgres(dsn: str, name: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/schema/", timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"daphne did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)


@contextlib.contextmanager
def example_project(
    tmp: Path,
    database: str,
    seed: list[str],
    env_extra: dict[str, str],
    *,
    worker: bool,
    commands: Sequence[list[str]] = (),
) -> Iterator[str]:
    """The example project migrated, seeded and served by daphne (and a dispatch_worker).

    ``commands`` are more ``manage.py`` commands run after the seed (a superuser).
    """
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "DJANGO_DEBUG": "0", **env_extra}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    dsn = postgres_dsn()
    use_postgres = services_required() or postgres_answers(dsn)
    if use_postgres:
        env["DATABASE_URL"] = _fresh_postgres(dsn, database)
    else:
        env["SQLITE_PATH"] = str(tmp / "demo.sqlite3")
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "-v0"], ["seed_demo", *seed], *commands):
        subprocess.run(manage + command, cwd=PROJECT, env=env, check=True, capture_output=True)
    port = _free_port()
    log_path = tmp / "server.log"
    processes: list[subprocess.Popen[bytes]] = []
    with log_path.open("w") as log:
        try:
            command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            processes.append(
                subprocess.Popen(
                    [*command, "demo.asgi:application"],
                    cwd=PROJECT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            if worker:
                processes.append(
                    subprocess.Popen(
                        [*manage, "dispatch_worker", "--max-sleep", "0.2"],
                        cwd=PROJECT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base, processes[0], log_path)
            yield base
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
            if use_postgres:
                _drop_postgres(dsn, database)


def call(base: str, who: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """``who``'s request to the endpoint ``path`` of the app: its status and JSON answer."""
    request = urllib.request.Request(
        f"{base}/api/v1/order/{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {token(who)}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


async def next_of(connection: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message of type ``kind`` on a websocket (those before it are skipped)."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), timeout))
        if message["type"] == kind:
            return message


async def collect(connection: Any, *kinds: str) -> dict[str, dict[str, Any]]:
    """The next message of each type of ``kinds``, whatever order they come in."""
    found: dict[str, dict[str, Any]] = {}
    while set(kinds) - set(found):
        message = json.loads(await asyncio.wait_for(connection.recv(), 5))
        if message["type"] in kinds:
            found.setdefault(message["type"], message)
    return found


async def send(connection: Any, message: dict[str, Any]) -> dict[str, Any]:
    """Send a message and return its answer (the next message carrying its id)."""
    await connection.send(json.dumps(message))
    while True:
        answer: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), 5))
        if answer.get("id") == message["id"]:
            return answer
