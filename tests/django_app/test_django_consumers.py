"""The websocket consumers through channels' WebsocketCommunicator: auth, wire messages, groups."""

from __future__ import annotations

from typing import Any

from channels.testing import WebsocketCommunicator
from django_demo import AKWA, DEIDO, Demo
from django_ws import connect, receive, run

from vtc_dispatch.geo import LatLng


def test_connections_need_a_token_and_the_right_role(live_demo: Demo) -> None:
    async def body(app: Any) -> None:
        for role, name, code in (
            ("driver", None, 4401),
            ("customer", None, 4401),
            ("driver", "chantal", 4403),
            ("customer", "amadou", 4403),
        ):
            connected, close_code = await connect(app, live_demo, role, name).connect(timeout=10)
            assert (connected, close_code) == (False, code), (role, name)
        header = WebsocketCommunicator(
            app,
            "/ws/customer/",
            headers=[(b"authorization", f"Token {live_demo.tokens['chantal']}".encode())],
        )
        assert (await header.connect(timeout=10))[0] is True
        await header.disconnect()

    run(live_demo, body)


def test_search_order_offer_location_accept_over_websockets(live_demo: Demo) -> None:
    service = live_demo.service
    amadou = live_demo.ids["amadou"]
    service.driver_online(amadou, "taxi_jaune", LatLng(4.0530, 9.7050))

    async def body(app: Any) -> None:
        driver = connect(app, live_demo, "driver", "amadou")
        customer = connect(app, live_demo, "customer", "chantal")
        assert (await driver.connect(timeout=10))[0]
        assert (await customer.connect(timeout=10))[0]
        # First, where each stands: nothing going on yet; the driver online and present.
        first = await receive(driver)
        assert (first["type"], first["order"], first["offer"]) == ("state", None, None)
        assert (first["driver"]["online"], first["driver"]["presence"]) == (True, "present")
        assert await receive(customer) == {
            "type": "state",
            "order": None,
            "offer": None,
            "driver": None,
        }
        await customer.send_json_to({"type": "search", "pickup": AKWA, "destination": DEIDO})
        found = await receive(customer)
        assert found["type"] == "drivers_available"
        assert [(x["vehicle_type"], x["count"]) for x in found["vehicle_types"]] == [
            ("taxi_jaune", 1)
        ]
        await customer.send_json_to(
            {"type": "create_order", "pickup": AKWA, "destination": DEIDO,
             "vehicle_type": "taxi_jaune", "payment_method": "CASH"}
        )  # fmt: skip
        created = await receive(customer)
        assert created["type"] == "order_created"
        offer = await receive(driver)
        assert (offer["type"], offer["order_id"]) == ("offer", created["order_id"])
        assert offer["fare_min"] == found["vehicle_types"][0]["fare_min"]
        await driver.send_json_to({"type": "location", "position": {"lat": 4.0525, "lng": 9.705}})
        assert await receive(driver) == {"type": "ok", "id": None, "order_id": None, "state": None}
        await driver.send_json_to({"type": "accept", "order_id": created["order_id"], "id": 1})
        assert await receive(driver) == {
            "type": "ok",
            "id": "1",
            "order_id": created["order_id"],
            "state": "accepted",
        }
        assigned = await receive(customer)
        assert assigned["type"] == "driver_assigned"
        assert assigned["driver_id"] == amadou
        assert assigned["position"] == {"lat": 4.0525, "lng": 9.705}
        assert (assigned["driver"]["driver_id"], assigned["driver"]["name"]) == (amadou, "amadou")
        await driver.send_json_to({"type": "accept", "order_id": "nope"})
        error = await receive(driver)
        assert (error["type"], error["error"], error["field"]) == ("error", "NotFound", None)
        await driver.send_json_to({"type": "location", "position": {"lat": 95, "lng": 9.7}})
        bad = await receive(driver)
        assert set(bad) == {"type", "id", "error", "detail", "field"}
        assert (bad["error"], bad["field"]) == ("InvalidMessage", "position.lat")
        assert "position.lat" in bad["detail"]
        await driver.disconnect()
        await customer.disconnect()

    run(live_demo, body)
    assert service.drivers.get(amadou).position == LatLng(4.0525, 9.705)


def test_an_unknown_path_is_closed_with_4404(live_demo: Demo) -> None:
    """The router raised (a 500 with a traceback from the server)."""

    async def body(app: Any) -> None:
        for path in ("/ws/nowhere/", "/", f"/ws/driver/extra/?token={live_demo.tokens['amadou']}"):
            connected, code = await WebsocketCommunicator(app, path).connect(timeout=10)
            assert (connected, code) == (False, 4404), path

    run(live_demo, body)
