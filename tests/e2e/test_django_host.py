"""A fresh host project built from exactly the README's "Add it to your project" checklist.

``django-admin startproject mysite``, then each code block of the checklist
where it says (appended to ``settings.py`` and ``urls.py``, ``asgi.py``
replaced) and its commands (``migrate``, ``import_dispatch_config``,
``daphne -p PORT``); a driver and a customer with tokens; then a ride over
REST (online, order, accept, arrive, start, complete, cash confirmed) and
a driver's websocket, whose first message is his ``state``.  A step the
checklist forgets fails here.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # a project made, migrated and served

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Add it to your project"
AKWA = {"lat": 4.0511, "lng": 9.7043}
DEIDO = {"lat": 4.0650, "lng": 9.7250}


def checklist() -> list[tuple[str, str]]:
    """The checklist's code blocks, as ``(language, text)``, in order."""
    text = README.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start)
    blocks = re.findall(r"```(\w+)\n(.*?)```", text[start:end], flags=re.DOTALL)
    return [(language, _dedent(body)) for language, body in blocks]


def _dedent(body: str) -> str:
    lines = body.splitlines()
    indent = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
    return "\n".join(x[indent:] for x in lines) + "\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _manage(project: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


USERS = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from vtc_dispatch_django.models import DriverProfile
driver = User.objects.create_user("moussa")
DriverProfile.objects.create(user=driver, vehicle_type="taxi_jaune")
customer = User.objects.create_user("awa")
print(Token.objects.create(user=driver).key, Token.objects.create(user=customer).key)
"""


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The host project served by daphne: its base URL and the users' tokens."""
    root = tmp_path_factory.mktemp("host")
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(root)],
        check=True, capture_output=True,
    )  # fmt: skip
    package = root / "mysite"
    commands: list[list[str]] = []
    for language, body in checklist():
        first = body.splitlines()[0]
        if language == "python":
            name, _, how = first.removeprefix("# ").partition(": ")
            target = package / name
            assert target.exists(), first
            if how.startswith("added at the end"):
                target.write_text(target.read_text() + "\n" + body)
            else:
                assert how.startswith("instead of"), first
                target.write_text(body)
        else:
            commands += [shlex.split(line) for line in body.splitlines() if line.strip()]
    assert commands[0][:2] == ["pip", "install"]
    assert "vtc-dispatch[django]" in commands[0]
    port = str(_free_port())
    server: list[str] | None = None
    for command in commands[1:]:
        if command[0] == "python":
            assert command[1] == "manage.py", command
            _manage(root, *command[2:])
        else:
            assert command[:2] == ["daphne", "-p"], command
            server = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", port, *command[3:]]
    assert server is not None, "the checklist starts a server"
    # Django's shell may print a line of its own first: the tokens are the last.
    keys = _manage(root, "shell", "-c", USERS).splitlines()[-1].split()
    tokens = dict(zip(("driver", "customer"), keys, strict=True))
    log = (root / "server.log").open("w")
    process = subprocess.Popen(server, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/schema/", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((root / "server.log").read_text()[-3000:])
                time.sleep(0.2)
        yield base, tokens
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def call(base: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{base}/api/v1/order/{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_ride_on_a_host_project_made_from_the_checklist(host: tuple[str, dict[str, str]]) -> None:
    base, tokens = host
    driver, customer = tokens["driver"], tokens["customer"]
    online = {"online": True, "position": AKWA}
    assert call(base, driver, "POST", "driver/toggle-status/", online)[0] == 200
    order = {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune",
             "payment_method": "CASH"}  # fmt: skip
    status, created = call(base, customer, "POST", "customer/create/", order)
    assert status == 201, created
    order_id = created["id"]
    for step, state in (("accept", "accepted"), ("arrived", "arrived"), ("start", "in_progress"),
                        ("complete", "done")):  # fmt: skip
        status, answer = call(base, driver, "POST", f"driver/{step}/{order_id}/")
        assert (status, answer.get("state")) == (200, state), answer
    status, paid = call(base, driver, "POST", f"driver/confirm-cash/{order_id}/")
    assert (status, paid["payment_status"]) == (200, "paid"), paid
    assert paid["amount_paid"] == paid["final_fare"]["amount"]
    status, history = call(base, customer, "GET", "customer/history/")
    assert (status, history["count"], history["results"][0]["id"]) == (200, 1, order_id)


def test_the_host_serves_the_documents_and_the_websockets(
    host: tuple[str, dict[str, str]],
) -> None:
    import asyncio

    import websockets

    base, tokens = host
    with urllib.request.urlopen(f"{base}/api/docs/", timeout=10) as page:
        html = page.read().decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    with urllib.request.urlopen(f"{base}/api/schema/ws/", timeout=10) as schemas:
        assert "offer" in json.loads(schemas.read())

    async def first_message() -> dict[str, Any]:
        ws = "ws" + base.removeprefix("http")
        async with websockets.connect(f"{ws}/ws/driver/?token={tokens['driver']}") as connection:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), 10))
            return message

    assert asyncio.run(first_message())["type"] == "state"
