"""The staff's live map in process: its socket (snapshot, batched updates, who may open it),
its admin page and the details a click asks for."""

from __future__ import annotations

import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from django_demo import AKWA, DEIDO, Demo
from django_ws import receive, run
from rest_framework.authtoken.models import Token

from vtc_dispatch.geo import LatLng
from vtc_dispatch.order import Fix

MAP = "/ws/ops/map/"
PAGE = "/admin/vtc_dispatch/driverpresence/live-map/"
NEAR = LatLng(4.0530, 9.7050)


@pytest.fixture
def staff(live_demo: Demo) -> str:
    """The token of a staff user, ``op``."""
    user = User.objects.create_user("op", password="op", is_staff=True)
    key: str = Token.objects.create(user=user).key
    return key


def _window(settings: Any, ms: int) -> None:
    """The live map's batching window of this test; what the feed holds sent now."""
    from vtc_dispatch_django.runtime import live_map_feed

    settings.VTC_DISPATCH = {**settings.VTC_DISPATCH, "LIVE_MAP_WINDOW_MS": ms}
    live_map_feed().flush()


def _map(app: Any, token: str | None) -> WebsocketCommunicator:
    return WebsocketCommunicator(app, MAP if token is None else f"{MAP}?token={token}")


def test_only_staff_open_the_map_socket(live_demo: Demo, staff: str) -> None:
    User.objects.create_superuser("root", password="root")
    browser = Client()
    browser.login(username="root", password="root")
    session = browser.cookies["sessionid"].value

    async def body(app: Any) -> None:
        for token, code in ((None, 4401), (live_demo.tokens["chantal"], 4403)):
            assert await _map(app, token).connect(timeout=10) == (False, code)
        by_token = _map(app, staff)
        assert (await by_token.connect(timeout=10))[0]
        assert (await receive(by_token))["type"] == "map_snapshot"
        await by_token.disconnect()
        # The admin's page opens it with the session cookie of the admin.
        by_session = WebsocketCommunicator(
            app,
            MAP,
            headers=[(b"cookie", f"sessionid={session}".encode()), (b"origin", b"http://x")],
        )
        assert (await by_session.connect(timeout=10))[0]
        assert (await receive(by_session))["type"] == "map_snapshot"
        await by_session.disconnect()

    run(live_demo, body)


def test_a_snapshot_then_each_fix_as_a_batched_update(
    live_demo: Demo, staff: str, settings: Any
) -> None:
    service = live_demo.service
    amadou, brice = live_demo.ids["amadou"], live_demo.ids["brice"]
    service.driver_online(amadou, "taxi_jaune", NEAR)
    service.driver_online(brice, "taxi_jaune", LatLng(4.07, 9.74))
    order = service.create_order(
        live_demo.ids["chantal"], LatLng(**AKWA), LatLng(**DEIDO), "taxi_jaune", "CASH"
    )
    _window(settings, 100)

    async def body(app: Any) -> None:
        comm = _map(app, staff)
        assert (await comm.connect(timeout=10))[0]
        snapshot = await receive(comm)
        assert snapshot["type"] == "map_snapshot"
        drivers = {d["id"]: d for d in snapshot["drivers"]}
        assert {d: v["state"] for d, v in drivers.items()} == {
            amadou: "offered",
            brice: "available",
        }
        assert drivers[amadou]["order_id"] == order.id
        assert drivers[brice]["position"] == {"lat": 4.07, "lng": 9.74}
        [shown] = snapshot["orders"]
        assert (shown["id"], shown["phase"], shown["pickup"]) == (order.id, "searching", AKWA)
        await database_sync_to_async(service.update_position)(brice, LatLng(4.0705, 9.7405))
        update = await receive(comm)
        assert update["type"] == "map_update"
        assert update["moves"] == [[brice, 4.0705, 9.7405]]
        assert (update["drivers"], update["orders"]) == ([], [])
        # The driver accepts: his state and the order's come whole.
        await database_sync_to_async(service.accept)(amadou, order.id)
        update = await receive(comm)
        assert [(d["id"], d["state"]) for d in update["drivers"]] == [(amadou, "on_the_way")]
        assert [(o["id"], o["driver_id"]) for o in update["orders"]] == [(order.id, amadou)]
        await comm.disconnect()

    run(live_demo, body)


def test_many_fixes_of_a_driver_in_one_window_are_one_update_at_the_latest(
    live_demo: Demo, staff: str, settings: Any
) -> None:
    service = live_demo.service
    brice = live_demo.ids["brice"]
    service.driver_online(brice, "taxi_jaune", NEAR)
    _window(settings, 1500)
    fixes = [Fix(brice, LatLng(4.0530 + i / 10_000, 9.7050)) for i in range(1, 21)]

    async def body(app: Any) -> None:
        comm = _map(app, staff)
        assert (await comm.connect(timeout=10))[0]
        assert (await receive(comm))["type"] == "map_snapshot"
        started = time.monotonic()
        # Twenty fixes: ten one by one, ten in a batch (as the websocket's fixes are stored).
        for fix in fixes[:10]:
            await database_sync_to_async(service.update_position)(fix.driver_id, fix.position)
        await database_sync_to_async(service.update_positions)(fixes[10:])
        assert time.monotonic() - started < 1.5, "the fixes took longer than the window"
        update = await receive(comm)
        assert update["type"] == "map_update"
        assert update["moves"] == [[brice, 4.055, 9.705]]
        assert await comm.receive_nothing(timeout=2)
        await comm.disconnect()

    run(live_demo, body)


def test_the_page_asks_for_a_snapshot_and_nothing_else(live_demo: Demo, staff: str) -> None:
    live_demo.service.driver_online(live_demo.ids["carine"], "confort", NEAR)

    async def body(app: Any) -> None:
        comm = _map(app, staff)
        assert (await comm.connect(timeout=10))[0]
        assert (await receive(comm))["type"] == "map_snapshot"
        await comm.send_json_to({"type": "snapshot"})
        again = await receive(comm)
        assert [(d["id"], d["state"]) for d in again["drivers"]] == [
            (live_demo.ids["carine"], "available")
        ]
        await comm.send_json_to({"type": "location"})
        refused = await receive(comm)
        assert (refused["type"], refused["error"], refused["field"]) == (
            "error",
            "InvalidMessage",
            "type",
        )
        await comm.disconnect()

    run(live_demo, body)


def test_the_page_and_its_details_are_for_staff_only(demo: Demo) -> None:
    service = demo.service
    amadou = demo.ids["amadou"]
    service.driver_online(amadou, "taxi_jaune", NEAR)
    order = service.create_order(
        demo.ids["chantal"], LatLng(**AKWA), LatLng(**DEIDO), "taxi_jaune", "CASH"
    )
    driver_url, order_url = f"{PAGE}drivers/{amadou}/", f"{PAGE}orders/{order.id}/"
    anonymous = Client()
    assert anonymous.get(PAGE)["Location"].startswith("/admin/login/?next=")
    assert anonymous.get(driver_url).status_code == 401
    customer = Client()
    customer.login(username="chantal", password="chantal")
    assert customer.get(PAGE).status_code == 403
    assert customer.get(order_url).json()["error"] == "PermissionDenied"
    User.objects.create_user("op", password="op", is_staff=True)
    operator = Client()
    operator.login(username="op", password="op")
    page = operator.get(PAGE)
    assert page.status_code == 200
    config = page.context["live_map"]
    assert config["socket"] == MAP
    assert config["driver_url"] == f"{PAGE}drivers/__id__/"
    assert [c["label"] for c in page.context["cities"]] == ["Douala"]
    assert b"vendor/leaflet/leaflet.js" in page.content
    driver = operator.get(driver_url).json()
    assert (driver["state"], driver["driver"]["name"], driver["order"]["id"]) == (
        "offered",
        "amadou",
        order.id,
    )
    details = operator.get(order_url).json()
    assert (details["order"]["offers_made"], details["driver"]) == (1, None)
    assert [f["properties"]["route"] for f in details["route"]["features"]] == [
        "planned",
        "approach",
        "actual",
    ]
    missing = operator.get(f"{PAGE}orders/nope/")
    assert (missing.status_code, missing.json()["error"]) == (404, "NotFound")
    # The drivers' list leads there.
    User.objects.create_superuser("root", password="root")
    root = Client()
    root.login(username="root", password="root")
    assert PAGE.encode() in root.get("/admin/vtc_dispatch/driverpresence/").content
