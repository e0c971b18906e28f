"""Idempotency at the edges: the REST ``Idempotency-Key`` header and the websocket message ``id``.

A client that sends a command again (its answer was lost) gets the first
answer, and the command is done once.
"""

from __future__ import annotations

from typing import Any

from django_demo import AKWA, DEIDO, Demo
from rest_framework.test import APIClient

# pytest puts tests/ on the path; mypy does not look there.
from django_app.test_django_consumers import (  # type: ignore[import-not-found]
    connect,
    receive,
    run,
)
from vtc_dispatch.geo import LatLng
from vtc_dispatch_django.models import CommandLogEntry, OrderRecord

API = "/api/v1/order/"
ORDER = {
    "pickup": AKWA,
    "destination": DEIDO,
    "vehicle_type": "taxi_jaune",
    "payment_method": "CASH",
}


def post(demo: Demo, name: str, path: str, body: Any, key: str | None = None) -> Any:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {demo.tokens[name]}")
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return c.post(API + path, body, format="json", **headers)


def test_a_create_sent_twice_with_one_key_makes_one_order(demo: Demo) -> None:
    demo.service.driver_online(demo.ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
    first = post(demo, "chantal", "customer/create/", ORDER, key="tap-1")
    again = post(demo, "chantal", "customer/create/", ORDER, key="tap-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert OrderRecord.objects.filter(customer_id=demo.ids["chantal"]).count() == 1
    # Without a key the second request is a new command: one active order is the limit.
    refused = post(demo, "chantal", "customer/create/", ORDER)
    assert refused.status_code == 403
    assert OrderRecord.objects.filter(customer_id=demo.ids["chantal"]).count() == 1


def test_a_key_used_again_with_another_body_is_refused_naming_the_key(demo: Demo) -> None:
    demo.service.driver_online(demo.ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
    assert post(demo, "chantal", "customer/create/", ORDER, key="tap-2").status_code == 201
    other = {**ORDER, "payment_method": "OM"}
    answer = post(demo, "chantal", "customer/create/", other, key="tap-2")
    assert answer.status_code == 422
    assert answer.json()["error"] == "IdempotencyConflict"
    assert "Idempotency-Key 'tap-2'" in answer.json()["detail"]
    assert OrderRecord.objects.filter(customer_id=demo.ids["chantal"]).count() == 1


def test_keys_are_scoped_to_the_caller(demo: Demo) -> None:
    ids = demo.ids
    demo.service.driver_online(ids["amadou"], "taxi_jaune", LatLng(4.0530, 9.7050))
    demo.service.driver_online(ids["brice"], "taxi_jaune", LatLng(4.0600, 9.7100))
    mine = post(demo, "chantal", "customer/create/", ORDER, key="k").json()
    theirs = post(demo, "didier", "customer/create/", ORDER, key="k").json()
    assert mine["id"] != theirs["id"]
    assert (mine["customer_id"], theirs["customer_id"]) == (ids["chantal"], ids["didier"])


def test_a_malformed_key_is_a_400_naming_the_header(demo: Demo) -> None:
    answer = post(demo, "chantal", "customer/create/", ORDER, key="x" * 101)
    assert answer.status_code == 400
    assert answer.json()["field"] == "Idempotency-Key"
    assert not OrderRecord.objects.exists()


def test_every_driver_command_takes_the_key(demo: Demo) -> None:
    ids = demo.ids
    online = {"online": True, "position": {"lat": 4.0530, "lng": 9.7050}}
    for _ in range(2):
        assert post(demo, "amadou", "driver/toggle-status/", online, key="on-1").status_code == 200
    order = post(demo, "chantal", "customer/create/", ORDER, key="c-1").json()
    answers = [post(demo, "amadou", f"driver/accept/{order['id']}/", {}, key="a-1") for _ in "ab"]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["state"] == "accepted"
    assert set(CommandLogEntry.objects.values_list("command_id", flat=True)) == {
        f"rest:{ids['amadou']}:on-1",
        f"rest:{ids['chantal']}:c-1",
        f"rest:{ids['amadou']}:a-1",
    }


def test_a_websocket_accept_sent_twice_with_one_id_gets_the_same_answer(live_demo: Demo) -> None:
    service = live_demo.service
    amadou = live_demo.ids["amadou"]
    service.driver_online(amadou, "taxi_jaune", LatLng(4.0530, 9.7050))
    order = service.create_order(
        live_demo.ids["chantal"], LatLng(AKWA["lat"], AKWA["lng"]),
        LatLng(DEIDO["lat"], DEIDO["lng"]), "taxi_jaune", "CASH",
    )  # fmt: skip

    async def body(app: Any) -> None:
        driver = connect(app, live_demo, "driver", "amadou")
        assert (await driver.connect(timeout=10))[0]
        assert (await receive(driver))["type"] == "state"  # what a connection first hears
        answers = []
        for _ in range(2):
            await driver.send_json_to({"type": "accept", "order_id": order.id, "id": "m-7"})
            answers.append(await receive(driver))
        assert answers[0] == answers[1]
        assert answers[0] == {"type": "ok", "id": "m-7", "order_id": order.id, "state": "accepted"}
        # The same id for another command is refused, with the id.
        await driver.send_json_to({"type": "reject", "order_id": order.id, "id": "m-7"})
        refused = await receive(driver)
        assert (refused["type"], refused["error"], refused["id"]) == (
            "error",
            "IdempotencyConflict",
            "m-7",
        )
        await driver.disconnect()

    run(live_demo, body)
    assert service.orders.get(order.id).state == "accepted"
    assert CommandLogEntry.objects.filter(command_id=f"ws:{amadou}:m-7").count() == 1


def test_a_websocket_create_order_sent_again_on_a_new_connection_is_done_once(
    live_demo: Demo,
) -> None:
    live_demo.service.driver_online(live_demo.ids["amadou"], "taxi_jaune", LatLng(4.053, 9.705))
    message = {"type": "create_order", **ORDER, "id": 41}

    async def body(app: Any) -> None:
        answers = []
        for _ in range(2):  # the first connection dropped before its answer was read
            customer = connect(app, live_demo, "customer", "chantal")
            assert (await customer.connect(timeout=10))[0]
            assert (await receive(customer))["type"] == "state"
            await customer.send_json_to(message)
            answers.append(await receive(customer))
            await customer.disconnect()
        assert answers[0] == answers[1]
        assert (answers[0]["type"], answers[0]["id"]) == ("order_created", "41")

    run(live_demo, body)
    assert OrderRecord.objects.filter(customer_id=live_demo.ids["chantal"]).count() == 1
