"""schemathesis against the app's own OpenAPI schema, the example project under daphne.

As a customer, a driver and anonymously, with every check schemathesis
has and every phase, stateful included: no server error; data the schema
refuses is refused (4xx), data it accepts is not refused as malformed (no
400); every answer, errors included, has a documented status, media type
and shape (the answers' schemas are the core's JSON forms); the stateful
phase follows the schema's links (an order created, then cancelled,
tracked, paid...; an offer seen in ``driver/current/``, then accepted, the
driver arriving...).  The runs are deterministic (schemathesis'
deterministic generation, a few examples per operation) and the throttles
are off, so that every request reaches the code under test.  Before the
runs the customer has an order offered to the driver, whose id the order
endpoints get: the generated requests reach the ride's rules, not only
"no such order".
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_example import A_TAXI_IN_CASH, E2E_DATABASE, call, example_project, token

ST = [sys.executable, "-m", "schemathesis.cli"]
API = "^/api/v1/order/"
# A request of the schema's form may still be refused for what it says: 402
# payment method not enabled there, 410 offer expired, 422 a place outside
# every priced city, an unknown vehicle type or supplement, an Idempotency-Key
# used for another request.  Never a 400: that is for what the schema refuses.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "402", "403", "404", "409", "410", "422", "429"]

[parameters]
"path.order_id" = "{order_id}"
"""
pytestmark = pytest.mark.slow  # about a minute: a server and three runs

ROLES = {
    # Who, and the endpoints that are theirs (the anonymous caller tries them all).  The
    # driver goes first: the customer's cancellations end the order he answers.
    "driver": ("amadou", API + r"(driver/|payment-methods/|vehicle-types/|tracking/|\{order_id\})"),
    "customer": (
        "chantal",
        API + r"(customer/|payment-methods/|vehicle-types/|tracking/|\{order_id\})",
    ),
    # Every endpoint, the providers' webhooks included (an unsigned callback is a 403).
    "anonymous": (None, API),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with example_project(
        tmp_path_factory.mktemp("schemathesis"),
        f"{E2E_DATABASE}_st",
        ["--max-waiting", "600"],
        {"VTC_THROTTLE": "0"},
        worker=False,
    ) as base:
        yield base


@pytest.fixture(scope="module")
def order_id(server: str) -> str:
    """An order of the customer, offered to the driver."""
    online = {"online": True, "position": {"lat": 4.0515, "lng": 9.7045}}
    assert call(server, "amadou", "POST", "driver/toggle-status/", online)[0] == 200
    status, order = call(server, "chantal", "POST", "customer/create/", A_TAXI_IN_CASH)
    assert status == 201, order
    assert order["offer"]["driver_id"] is not None
    identifier: str = order["id"]
    return identifier


@pytest.mark.parametrize("role", list(ROLES))
def test_schemathesis_finds_nothing(server: str, order_id: str, role: str, tmp_path: Path) -> None:
    who, operations = ROLES[role]
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(order_id=order_id))
    auth = [] if who is None else ["-H", f"Authorization: Token {token(who)}"]
    done = subprocess.run(
        [
            *ST, "--config-file", str(config), "run", f"{server}/api/schema/?format=json",
            "--include-path-regex", operations, *auth,
            "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", "8", "--generation-deterministic", "--workers", "1",
            "--no-color", "--report-dir", str(tmp_path / "report"),
        ],
        # In the test's folder: schemathesis keeps a cache (.schemathesis/) where it runs.
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
