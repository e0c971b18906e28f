"""Freight loads and deliveries through the Django app, in process: the REST endpoints of
freight_views (who may call each, their answers, their refusals) and the websocket
messages of bids, departures, proofs and merchants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django_demo import LOAD_FROM, LOAD_TO, Demo, rest, with_dakar
from django_ws import connect, receive, run

from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg
from vtc_dispatch.order import Actor

NEAR_PICKUP = {"amadou": LatLng(14.6712, -17.4398), "brice": LatLng(14.6705, -17.4401)}
FAR = LatLng(14.85, -17.10)  # Rufisque way, 40 km out: never invited


def _p(point: LatLng) -> dict[str, float]:
    return {"lat": point.lat, "lng": point.lng}


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.content[:500]
    return answer.json()


def refused(answer: Any, status: int, error: str) -> str:
    assert (answer.status_code, answer.json()["error"]) == (status, error), answer.json()
    detail: str = answer.json()["detail"]
    return detail


def online(demo: Demo, name: str, vehicle_type: str, at: LatLng) -> None:
    body = {"online": True, "position": _p(at), "vehicle_type": vehicle_type}
    ok(rest(demo, name, "post", "driver/toggle-status/", body))


def drive(demo: Demo, name: str, start: LatLng, end: LatLng, steps: int) -> None:
    """``name``'s fixes from ``start`` to ``end``, ten seconds apart."""
    km, bearing = haversine_km(start, end), initial_bearing_deg(start, end)
    for i in range(1, steps + 1):
        demo.clock.advance(timedelta(seconds=10))
        point = destination_point(start, bearing, km * i / steps)
        answer = ok(rest(demo, name, "post", "driver/update-location/", {"position": _p(point)}))
        assert answer["accepted"], answer


@pytest.fixture
def dakar(demo: Demo) -> Demo:
    with_dakar()
    assert demo.service.clock is demo.clock  # the service the views reach runs on its clock
    return demo


def _load(demo: Demo) -> dict[str, Any]:
    """A draft load of chantal's, the two carriers near its pickup, carine's truck far."""
    for name, at in NEAR_PICKUP.items():
        online(demo, name, "camion_10t", at)
    online(demo, "carine", "camion_10t", FAR)
    body = {
        "pickup": _p(LOAD_FROM),
        "destination": _p(LOAD_TO),
        "vehicle_type": "camion_10t",
        "payment_method": "WAVE",
    }
    draft: dict[str, Any] = ok(rest(demo, "chantal", "post", "customer/create/", body), 201)
    return draft


def test_a_load_over_rest_bids_then_a_proof_refused_then_kept_then_a_dispute(dakar: Demo) -> None:
    demo, ids = dakar, dakar.ids
    draft = _load(demo)
    load_id = draft["id"]
    assert (draft["kind"], draft["state"], draft["quote"]["currency"]) == (
        "freight",
        "draft",
        "XOF",
    )
    assert len(draft["delivery_code"]) == 6
    assert ok(rest(demo, "chantal", "get", f"{load_id}/bids/")) == {
        "order_id": load_id,
        "state": "draft",
        "currency": "XOF",
        "bids": [],
    }
    refused(rest(demo, "didier", "post", f"{load_id}/post/"), 403, "Forbidden")
    refused(rest(demo, "amadou", "post", f"{load_id}/post/"), 403, "PermissionDenied")
    posted = ok(rest(demo, "chantal", "post", f"{load_id}/post/"))
    assert posted["state"] == "bidding"

    # Bids: only the invited carriers, amounts as decimal strings.
    refused(rest(demo, "carine", "post", f"{load_id}/bids/", {"amount": "40000"}), 403, "Forbidden")
    bad = rest(demo, "amadou", "post", f"{load_id}/bids/", {"amount": 61000})
    assert (bad.status_code, bad.json()["field"]) == (400, "amount")
    refused(
        rest(demo, "chantal", "post", f"{load_id}/bids/", {"amount": "1"}), 403, "PermissionDenied"
    )
    ok(rest(demo, "amadou", "post", f"{load_id}/bids/", {"amount": "61000"}), 201)
    mine = ok(
        rest(demo, "brice", "post", f"{load_id}/bids/", {"amount": "58000", "valid_for_s": 600}),
        201,
    )
    assert [b["driver_id"] for b in mine["bids"]] == [ids["brice"]]
    bids = ok(rest(demo, "chantal", "get", f"{load_id}/bids/"))["bids"]
    assert [(b["driver_id"], b["amount"]) for b in bids] == [
        (ids["amadou"], "61000"),
        (ids["brice"], "58000"),
    ]
    assert bids[1]["valid_until"] == (demo.clock.now() + timedelta(seconds=600)).isoformat(
        timespec="seconds"
    ).replace("+00:00", "Z")
    assert [b["amount"] for b in ok(rest(demo, "amadou", "get", f"{load_id}/bids/"))["bids"]] == [
        "61000"
    ]
    refused(rest(demo, "didier", "get", f"{load_id}/bids/"), 403, "Forbidden")

    taken = ok(rest(demo, "chantal", "post", f"{load_id}/accept-bid/", {"driver_id": ids["brice"]}))
    assert (taken["state"], taken["driver_id"]) == ("assigned", ids["brice"])
    again = rest(demo, "chantal", "post", f"{load_id}/accept-bid/", {"driver_id": ids["amadou"]})
    refused(again, 409, "InvalidTransition")

    for step in ("arrived", "start"):
        ok(rest(demo, "brice", "post", f"driver/{step}/{load_id}/"))
    refused(rest(demo, "amadou", "post", f"{load_id}/depart/"), 403, "Forbidden")
    assert ok(rest(demo, "brice", "post", f"{load_id}/depart/"))["state"] == "in_transit"
    drive(demo, "brice", NEAR_PICKUP["brice"], LOAD_TO, 12)

    code = ok(rest(demo, "chantal", "get", f"{load_id}/"))["delivery_code"]
    assert ok(rest(demo, "brice", "get", f"{load_id}/"))["delivery_code"] is None
    proof = {
        "position": _p(LOAD_TO),
        "at": demo.clock.now().isoformat(),
        "code": code,
        "reference": "pod/1.jpg",
    }
    wrong = rest(demo, "brice", "post", f"{load_id}/proof-of-delivery/", {**proof, "code": "0"})
    assert "receiver's code" in refused(wrong, 409, "InvalidTransition")
    refused(rest(demo, "amadou", "post", f"{load_id}/proof-of-delivery/", proof), 403, "Forbidden")
    delivered = ok(rest(demo, "brice", "post", f"{load_id}/proof-of-delivery/", proof))
    assert (delivered["state"], delivered["final_fare"]["amount"]) == ("delivered", "58000")
    assert delivered["proof"]["reference"] == "pod/1.jpg"

    disputed = ok(rest(demo, "chantal", "post", f"{load_id}/dispute/", {"reason": "two short"}))
    assert disputed["state"] == "disputed"
    refused(rest(demo, "chantal", "post", f"{load_id}/confirm-delivery/"), 409, "InvalidTransition")
    for name, stars in (("chantal", 5), ("brice", 4)):
        ok(rest(demo, name, "post", f"{load_id}/rate/", {"stars": stars}))
    refused(rest(demo, "brice", "post", f"{load_id}/rate/", {"stars": 3}), 409, "AlreadyDone")
    rated = ok(rest(demo, "chantal", "get", f"{load_id}/"))
    assert [(r["by"], r["stars"]) for r in rated["ratings"]] == [("customer", 5), ("driver", 4)]

    pings = ok(rest(demo, "chantal", "get", f"tracking/orders/{load_id}/pings/"))["pings"]
    assert {p["leg"] for p in pings} == {"trip"}
    assert (pings[-1]["lat"], pings[-1]["lng"]) == pytest.approx((LOAD_TO.lat, LOAD_TO.lng))
    route = ok(rest(demo, "brice", "get", f"tracking/orders/{load_id}/route/"))
    assert route["properties"] == {"order_id": load_id, "kind": "freight", "state": "disputed"}
    planned, _, actual = route["features"]
    assert planned["geometry"]["coordinates"] == [
        [LOAD_FROM.lng, LOAD_FROM.lat],
        [LOAD_TO.lng, LOAD_TO.lat],
    ]
    assert len(actual["geometry"]["coordinates"]) == len(actual["properties"]["times"]) >= 12
    refused(rest(demo, "didier", "get", f"tracking/orders/{load_id}/pings/"), 403, "Forbidden")
    refused(rest(demo, "didier", "get", f"tracking/orders/{load_id}/route/"), 403, "Forbidden")


def test_carriers_within_a_radius_nearest_first(dakar: Demo) -> None:
    demo, ids = dakar, dakar.ids
    _load(demo)
    near = ok(
        rest(
            demo,
            "didier",
            "get",
            "tracking/available-drivers/",
            {**_p(LOAD_FROM), "radius_km": 2, "vehicle_type": ["camion_10t"]},
        )
    )
    assert [(d["driver_id"], d["vehicle_type"]) for d in near["drivers"]] == [
        (ids["brice"], "camion_10t"),
        (ids["amadou"], "camion_10t"),
    ]
    assert near["drivers"][0]["distance_km"] == round(
        haversine_km(LOAD_FROM, NEAR_PICKUP["brice"]), 3
    )
    # Every vehicle type by default; the far truck is in a wide enough circle.
    wide = ok(
        rest(
            demo, "didier", "get", "tracking/available-drivers/", {**_p(LOAD_FROM), "radius_km": 60}
        )
    )
    assert [d["driver_id"] for d in wide["drivers"]][-1] == ids["carine"]
    none = rest(
        demo,
        "didier",
        "get",
        "tracking/available-drivers/",
        {**_p(LOAD_FROM), "vehicle_type": "moto_livraison"},
    )
    assert ok(none) == {"drivers": []}
    bad = rest(
        demo, "didier", "get", "tracking/available-drivers/", {**_p(LOAD_FROM), "radius_km": 501}
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "radius_km")
    assert (
        rest(demo, "amadou", "get", "tracking/available-drivers/", _p(LOAD_FROM)).status_code == 403
    )


def test_a_delivery_waits_for_its_merchant_who_alone_reports_its_states(dakar: Demo) -> None:
    demo, ids = dakar, dakar.ids
    online(demo, "carine", "moto_livraison", LatLng(14.6705, -17.4401))
    order = {
        "pickup": _p(LOAD_FROM),
        "destination": _p(LOAD_TO),
        "vehicle_type": "moto_livraison",
        "payment_method": "CASH",
    }
    without = rest(demo, "chantal", "post", "customer/create/", order)
    assert "merchant_id" in refused(without, 422, "InvalidArgument")
    created = ok(
        rest(
            demo,
            "chantal",
            "post",
            "customer/create/",
            {**order, "merchant_id": ids["didier"], "goods_amount": "7500"},
        ),
        201,
    )
    parcel = created["id"]
    assert (created["kind"], created["state"]) == ("delivery", "waiting")
    assert (created["merchant_id"], created["goods_amount"]) == (ids["didier"], "7500")

    path = f"{parcel}/merchant-status/"
    refused(rest(demo, "chantal", "post", path, {"status": "confirmed"}), 403, "Forbidden")
    refused(rest(demo, "amadou", "post", path, {"status": "confirmed"}), 403, "PermissionDenied")
    shipped = rest(demo, "didier", "post", path, {"status": "shipped"})
    assert (shipped.status_code, shipped.json()["field"]) == (400, "status")
    assert ok(rest(demo, "didier", "post", path, {"status": "confirmed"}))["state"] == "confirmed"
    refused(rest(demo, "didier", "post", path, {"status": "ready"}), 409, "InvalidTransition")
    assert ok(rest(demo, "didier", "post", path, {"status": "preparing"}))["state"] == "preparing"
    offered = ok(rest(demo, "didier", "post", path, {"status": "ready"}))
    assert (offered["state"], offered["offer"]["driver_id"]) == ("offered", ids["carine"])
    # The merchant's view of his order is a party's: no dispatch internals.
    assert "tried" not in offered

    for step in ("accept", "arrived", "start"):
        ok(rest(demo, "carine", "post", f"driver/{step}/{parcel}/"))
    assert ok(rest(demo, "carine", "post", f"{parcel}/depart/"))["state"] == "on_the_way"
    drive(demo, "carine", LatLng(14.6705, -17.4401), LOAD_TO, 10)
    code = ok(rest(demo, "chantal", "get", f"{parcel}/"))["delivery_code"]
    proof = {"position": _p(LOAD_TO), "at": demo.clock.now().isoformat(), "code": code}
    delivered = ok(rest(demo, "carine", "post", f"{parcel}/proof-of-delivery/", proof))
    assert delivered["state"] == "delivered"
    refused(rest(demo, "chantal", "post", f"{parcel}/confirm-delivery/"), 409, "InvalidTransition")


def test_bids_departures_proofs_and_merchants_over_websockets(live_demo: Demo) -> None:
    with_dakar()
    demo, ids = live_demo, live_demo.ids
    service = demo.service
    for name, at in NEAR_PICKUP.items():
        service.driver_online(ids[name], "camion_10t", at)
    shipper = Actor.customer(ids["chantal"])
    draft = service.create_order(ids["chantal"], LOAD_FROM, LOAD_TO, "camion_10t", "WAVE")
    load = service.post_load(shipper, draft.id)
    parcel = service.create_order(
        ids["didier"], LOAD_FROM, LOAD_TO, "moto_livraison", "CASH", merchant_id=ids["chantal"]
    )

    async def body(app: Any) -> None:
        amadou = connect(app, demo, "driver", "amadou")
        brice = connect(app, demo, "driver", "brice")
        chantal = connect(app, demo, "customer", "chantal")
        didier = connect(app, demo, "customer", "didier")
        for comm in (amadou, brice, chantal, didier):
            assert (await comm.connect(timeout=10))[0]
            assert (await receive(comm))["type"] == "state"

        async def command(comm: Any, message: dict[str, Any]) -> dict[str, Any]:
            await comm.send_json_to({**message, "id": message["type"]})
            answer = await receive(comm)
            assert (answer["type"], answer["id"]) == ("ok", message["type"]), answer
            return answer

        await command(amadou, {"type": "bid", "order_id": load.id, "amount": "61000"})
        await command(
            brice, {"type": "bid", "order_id": load.id, "amount": "58000", "valid_for_s": 900}
        )
        received = [await receive(chantal), await receive(chantal)]
        assert [(m["type"], m["driver_id"], m["amount"]) for m in received] == [
            ("bid_received", ids["amadou"], "61000"),
            ("bid_received", ids["brice"], "58000"),
        ]
        assert received[0]["valid_until"] is None
        assert received[1]["valid_until"] == "2026-11-21T08:15:00Z"
        taken = await command(
            chantal, {"type": "accept_bid", "order_id": load.id, "driver_id": ids["brice"]}
        )
        assert taken["state"] == "assigned"
        assert await receive(brice) == {
            "type": "bid_accepted",
            "order_id": load.id,
            "amount": "58000",
            "currency": "XOF",
            "at": "2026-11-21T08:00:00Z",
        }
        withdrawn = await receive(amadou)
        assert (withdrawn["type"], withdrawn["reason"]) == ("offer_withdrawn", "taken")
        assert (await receive(chantal))["type"] == "driver_assigned"

        for step in ("arrived", "start"):
            await command(brice, {"type": step, "order_id": load.id})
        departed = await command(brice, {"type": "depart", "order_id": load.id})
        assert departed["state"] == "in_transit"
        stepped = await receive(brice)
        assert (stepped["type"], stepped["event"], stepped["state"]) == (
            "order_status",
            "depart",
            "in_transit",
        )
        demo.clock.advance(timedelta(minutes=20))
        proof = {
            "type": "deliver",
            "order_id": load.id,
            "position": _p(LOAD_TO),
            "at": demo.clock.now().isoformat(),
            "code": load.delivery_code,
        }
        await brice.send_json_to({**proof, "id": "no-reference"})
        missing = await receive(brice)
        assert (missing["type"], missing["error"]) == ("error", "InvalidTransition")
        assert "reference" in missing["detail"]
        delivered = await command(brice, {**proof, "reference": "pod/2.jpg"})
        assert delivered["state"] == "delivered"
        news = [await receive(chantal) for _ in range(5)]
        assert [m["type"] for m in news] == [
            "driver_arrived",
            "trip_started",
            "order_status",
            "order_status",
            "trip_completed",
        ]
        assert [m["state"] for m in news if m["type"] == "order_status"] == [
            "in_transit",
            "delivered",
        ]

        # chantal is also the merchant of didier's delivery: she reports on her connection.
        confirmed = await command(
            chantal, {"type": "merchant_update", "order_id": parcel.id, "status": "confirmed"}
        )
        assert confirmed["state"] == "confirmed"
        status = await receive(didier)
        assert (status["type"], status["event"], status["state"]) == (
            "order_status",
            "confirm",
            "confirmed",
        )
        await didier.send_json_to(
            {"type": "merchant_update", "order_id": parcel.id, "status": "preparing", "id": 1}
        )
        refusal = await receive(didier)
        assert (refusal["type"], refusal["error"]) == ("error", "Forbidden")
        for comm in (amadou, brice, chantal, didier):
            await comm.disconnect()

    run(demo, body)
    assert service.orders.get(load.id).proof is not None
    assert service.orders.get(parcel.id).state == "confirmed"
