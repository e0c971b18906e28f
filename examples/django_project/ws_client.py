"""Play a whole ride against a running server: a driver and a customer, printing each message.

The driver goes online (REST), both open their websocket, the customer
searches and orders, the driver accepts the offer, drives to the pickup
(``location`` messages), arrives, starts, drives to the destination and
completes; both rate (REST).  Start the server and ``seed_demo`` first
(see the README), then::

    python ws_client.py --base http://127.0.0.1:8000

Prints one line per message, the order id and the final fare as the last
line: ``final fare: <amount> <currency>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets

AKWA = (4.0511, 9.7043)
DESTINATION = (4.058295, 9.709710)  # 0.8 km north and 0.6 km east of the pickup
CORNER = (DESTINATION[0], AKWA[1])
DRIVER_START = (4.0540, 9.7060)


def rest(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """One REST call; the decoded JSON answer (raises on an HTTP error)."""
    request = urllib.request.Request(
        f"{base}/api/v1/order/{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def stamp(offset_s: float) -> str:
    """Now plus ``offset_s`` seconds, ISO 8601 (when the phone measured a position)."""
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat()


def line(a: tuple[float, float], b: tuple[float, float], steps: int) -> list[dict[str, float]]:
    """``steps`` points from ``a`` to ``b`` (``b`` included)."""
    return [
        {"lat": a[0] + (b[0] - a[0]) * i / steps, "lng": a[1] + (b[1] - a[1]) * i / steps}
        for i in range(1, steps + 1)
    ]


async def expect(ws: Any, who: str, kind: str) -> dict[str, Any]:
    """Print every message ``ws`` receives until one of type ``kind`` comes."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
        print(f"{who} <- {json.dumps(message)[:160]}")
        if message["type"] == "error":
            raise RuntimeError(f"{who}: {message['detail']}")
        if message["type"] == kind:
            return message


async def ride(base: str, driver_token: str, customer_token: str) -> dict[str, Any]:
    """The whole ride; returns the final order as the REST API shows it."""
    ws_base = "ws" + base.removeprefix("http")
    status = rest(
        base,
        driver_token,
        "POST",
        "driver/toggle-status/",
        {"online": True, "position": {"lat": DRIVER_START[0], "lng": DRIVER_START[1]}},
    )
    print(f"driver online: {status}")
    async with (
        websockets.connect(f"{ws_base}/ws/driver/?token={driver_token}") as driver,
        websockets.connect(f"{ws_base}/ws/customer/?token={customer_token}") as customer,
    ):
        pickup = {"lat": AKWA[0], "lng": AKWA[1]}
        destination = {"lat": DESTINATION[0], "lng": DESTINATION[1]}

        async def send(ws: Any, who: str, message: dict[str, Any]) -> None:
            print(f"{who} -> {json.dumps(message)[:160]}")
            await ws.send(json.dumps(message))

        await send(
            customer, "customer", {"type": "search", "pickup": pickup, "destination": destination}
        )
        await expect(customer, "customer", "drivers_available")
        await send(
            customer,
            "customer",
            {
                "type": "create_order",
                "pickup": pickup,
                "destination": destination,
                "vehicle_type": "taxi_jaune",
                "payment_method": "CASH",
            },
        )
        order_id = (await expect(customer, "customer", "order_created"))["order_id"]
        offer = await expect(driver, "driver", "offer")
        assert offer["order_id"] == order_id
        await send(driver, "driver", {"type": "accept", "order_id": order_id})
        await expect(customer, "customer", "driver_assigned")
        # The GPS fixes of the way, measured 10 s apart over the last 45 s
        # (the server flags implausible speeds and stale or future points).
        for i, point in enumerate(line(DRIVER_START, AKWA, 4)):
            fix = {"type": "location", "position": point, "at": stamp(-45 + 10 * i)}
            await send(driver, "driver", fix)
        await send(driver, "driver", {"type": "arrived", "order_id": order_id})
        await expect(customer, "customer", "driver_arrived")
        await send(driver, "driver", {"type": "start", "order_id": order_id})
        await expect(customer, "customer", "trip_started")
        # The trip north then east, fixes 2.8 s apart from now on (the server
        # accepts a phone clock up to 30 s ahead): about 180 km/h, a fast demo.
        trip = line(AKWA, CORNER, 6) + line(CORNER, DESTINATION, 4)
        for i, point in enumerate(trip, start=1):
            fix = {"type": "location", "position": point, "at": stamp(2.8 * i)}
            await send(driver, "driver", fix)
        await send(driver, "driver", {"type": "complete", "order_id": order_id})
        done = await expect(customer, "customer", "trip_completed")
        await expect(driver, "driver", "trip_completed")
    rest(
        base, customer_token, "POST", f"customer/rate/{order_id}/", {"stars": 5, "comment": "Merci"}
    )
    order = rest(base, driver_token, "POST", f"driver/rate/{order_id}/", {"stars": 4})
    print(f"order {order_id}: {order['state']}, ratings {order['ratings']}")
    assert math.isfinite(float(done["amount"]))
    print(f"final fare: {done['amount']} {done['currency']}")
    return {**order}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--driver-token", default="demo-amadou-".ljust(40, "0"))
    parser.add_argument("--customer-token", default="demo-chantal-".ljust(40, "0"))
    args = parser.parse_args()
    asyncio.run(ride(args.base, args.driver_token, args.customer_token))


if __name__ == "__main__":
    main()
