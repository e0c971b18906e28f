"""The examples run and say what they should."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_search_screen_lists_each_type_with_drivers_and_its_price() -> None:
    screen = runpy.run_path(str(EXAMPLES / "search_screen.py"))["main"]()
    assert [line.split()[0] for line in screen] == ["Taxi", "Confort"]
    assert screen[1].endswith("about 6 200 XAF")  # the airport fixed price
    assert all(" drivers, nearest " in line for line in screen)


def test_demo_command_prints_the_nearest_drivers_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vtc_dispatch.cli", "demo", "--drivers", "500", "--type", "moto"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "500 drivers online within 15 km of Douala (seed 1)"
    table = lines[lines.index("Nearest moto drivers:") + 2 :]
    distances = [float(row.split()[2]) for row in table]
    assert distances == sorted(distances)
    assert 0 < len(distances) <= 5


def test_full_ride_example_ends_done_paid_and_rated() -> None:
    order = runpy.run_path(str(EXAMPLES / "full_ride.py"))["main"]()
    assert order.state == "done"
    assert order.final_fare.amount == order.quote.estimate
    assert order.amount_paid == order.final_fare.amount
    assert order.payment_status == "paid"
    assert {r.by.role for r in order.ratings} == {"customer", "driver"}
    assert order.tried == {"amadou"}  # the first driver let the offer expire
