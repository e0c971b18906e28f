"""REST and the websockets show the search screen and an order in one JSON form, field for field.

The consumers run through channels' WebsocketCommunicator, REST through
DRF's test client, both on the same service and database.
"""

from __future__ import annotations

import json
from typing import Any

from channels.testing import WebsocketCommunicator
from django_demo import AKWA, DEIDO, Demo
from django_ws import connect, receive, run
from rest_framework.test import APIClient

from vtc_dispatch.geo import LatLng

API = "/api/v1/order/"


def rest(demo: Demo, name: str, method: str, path: str, body: Any = None) -> Any:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {demo.tokens[name]}")
    answer = getattr(c, method)(API + path, body, format="json")
    assert answer.status_code in (200, 201), answer.json()
    return answer.json()


async def opened(app: Any, demo: Demo, role: str, name: str) -> tuple[WebsocketCommunicator, Any]:
    """A connection of ``name`` and the order of its first message, ``state``."""
    comm = connect(app, demo, role, name)
    assert (await comm.connect(timeout=10))[0]
    state = await receive(comm)
    assert state["type"] == "state", state
    return comm, state["order"]


def states(demo: Demo) -> dict[str, Any]:
    """The order in the ``state`` message of chantal (customer) and amadou (driver)."""
    seen: dict[str, Any] = {}

    async def body(app: Any) -> None:
        for role, name in (("customer", "chantal"), ("driver", "amadou")):
            comm, seen[role] = await opened(app, demo, role, name)
            await comm.disconnect()

    run(demo, body)
    return seen


def test_search_screen_is_the_same_over_rest_and_websocket_count_cap_included(
    live_demo: Demo,
) -> None:
    service = live_demo.service
    service.settings = service.settings.model_copy(update={"search_count_cap": 2})
    for driver_id, lng in (("amadou", 9.7045), ("brice", 9.7050), ("taxi-3", 9.7055)):
        service.driver_online(
            live_demo.ids.get(driver_id, driver_id), "taxi_jaune", LatLng(4.0520, lng)
        )
    service.driver_online(live_demo.ids["carine"], "confort", LatLng(4.0525, 9.7046))
    search = {"pickup": AKWA, "destination": DEIDO}
    over_rest = rest(live_demo, "chantal", "post", "customer/search-drivers/", search)

    async def body(app: Any) -> None:
        customer, _ = await opened(app, live_demo, "customer", "chantal")
        await customer.send_json_to({"type": "search", **search})
        over_ws = await receive(customer)
        await customer.disconnect()
        assert over_ws == over_rest

    run(live_demo, body)
    lines = {x["vehicle_type"]: x for x in over_rest["vehicle_types"]}
    assert over_rest["type"] == "drivers_available"
    # Three taxis, a cap of two: the screen shows "2+"; one Confort is exact.
    assert (lines["taxi_jaune"]["count"], lines["taxi_jaune"]["count_capped"]) == (2, True)
    assert (lines["confort"]["count"], lines["confort"]["count_capped"]) == (1, False)
    assert json.loads(json.dumps(over_rest)) == over_rest


def test_an_order_is_the_same_over_rest_and_in_the_websocket_state(live_demo: Demo) -> None:
    service = live_demo.service
    amadou, chantal = live_demo.ids["amadou"], live_demo.ids["chantal"]
    service.driver_online(amadou, "taxi_jaune", LatLng(4.0520, 9.7045))
    order = rest(
        live_demo,
        "chantal",
        "post",
        "customer/create/",
        {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune",
         "payment_method": "CASH"},
    )  # fmt: skip
    order_id = order["id"]
    seen = states(live_demo)
    assert seen["customer"] == rest(live_demo, "chantal", "get", f"{order_id}/") == order
    # The offered driver resumes his offer: the order with his offer in it.
    assert seen["driver"]["id"] == order_id
    assert seen["driver"]["offer"] == order["offer"]
    assert order["offer"]["driver_id"] == amadou
    accepted = rest(live_demo, "amadou", "post", f"driver/accept/{order_id}/")
    seen = states(live_demo)
    as_customer = rest(live_demo, "chantal", "get", f"{order_id}/")
    as_driver = rest(live_demo, "amadou", "get", f"{order_id}/")
    current = rest(live_demo, "amadou", "get", "driver/current/")["order"]
    assert seen["customer"] == as_customer
    assert seen["driver"] == as_driver == current == accepted
    assert (as_driver["state"], as_driver["driver_id"], as_driver["customer_id"]) == (
        "accepted",
        amadou,
        chantal,
    )
