"""Freight and deliveries for real: the example project under daphne with the Dakar
configuration (``import_dispatch_config --dakar``), REST and websocket clients.

A load goes from its draft to completed with two carriers bidding; a delivery from
waiting for its merchant to delivered, its customer following the rider's positions on
his websocket.  The server reads its time through ``demo.clock.FileClock``: the tests move
it forward between GPS fixes instead of sleeping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django_example import E2E_DATABASE, call, example_project, next_of, send, token

from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg

pytestmark = pytest.mark.slow  # a server, and a load and a parcel driven across Dakar

PICKUP, DROPOFF = LatLng(14.670, -17.440), LatLng(14.690, -17.450)  # Plateau to Medina
WAITING_AT = {"amadou": LatLng(14.6712, -17.4398), "brice": LatLng(14.6705, -17.4401)}
FIX_EVERY_S = 20


def _p(point: LatLng) -> dict[str, float]:
    return {"lat": point.lat, "lng": point.lng}


class Dakar:
    """The served example with the Dakar configuration, and its clock."""

    def __init__(self, base: str, clock_file: Path) -> None:
        self.base, self.clock_file = base, clock_file
        self.ws = "ws" + base.removeprefix("http")

    def __call__(self, who: str, method: str, path: str, body: Any = None) -> Any:
        """``who``'s request; its JSON answer, once its status is checked as a success."""
        status, answer = call(self.base, who, method, path, body)
        assert 200 <= status < 300, (path, status, answer)
        return answer

    def advance(self, seconds: float) -> None:
        ahead = float(self.clock_file.read_text() or 0)
        self.clock_file.write_text(repr(ahead + seconds))

    def now(self) -> str:
        """A moment ago on the server's clock (the wall clock and the file's offset)."""
        ahead = float(self.clock_file.read_text() or 0)
        moment = datetime.now(UTC) + timedelta(seconds=ahead - 1)
        return moment.isoformat()

    def online(self, who: str, vehicle_type: str, at: LatLng) -> str:
        body = {"online": True, "position": _p(at), "vehicle_type": vehicle_type}
        driver_id: str = self(who, "POST", "driver/toggle-status/", body)["driver_id"]
        return driver_id

    def connect(self, role: str, who: str) -> Any:
        import websockets

        return websockets.connect(f"{self.ws}/ws/{role}/?token={token(who)}")


@pytest.fixture(scope="module")
def dakar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dakar]:
    tmp = tmp_path_factory.mktemp("freight")
    clock_file = tmp / "clock"
    clock_file.write_text("0")
    with example_project(
        tmp,
        f"{E2E_DATABASE}_freight",
        [],
        {"VTC_CLOCK_FILE": str(clock_file), "VTC_THROTTLE": "0"},
        worker=False,
        commands=[["import_dispatch_config", "--dakar"]],
    ) as base:
        yield Dakar(base, clock_file)


def _route(start: LatLng, end: LatLng, steps: int) -> list[LatLng]:
    """``steps`` positions from ``start`` (left out) to ``end`` exactly."""
    km, bearing = haversine_km(start, end), initial_bearing_deg(start, end)
    return [destination_point(start, bearing, km * i / steps) for i in range(1, steps)] + [end]


def test_a_load_from_draft_to_completed_with_two_carriers_bidding(dakar: Dakar) -> None:
    carriers = {who: dakar.online(who, "camion_10t", at) for who, at in WAITING_AT.items()}
    body = {"pickup": _p(PICKUP), "destination": _p(DROPOFF), "vehicle_type": "camion_10t",
            "payment_method": "WAVE"}  # fmt: skip

    async def bidding() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], Any]:
        async with (
            dakar.connect("customer", "chantal") as shipper,
            dakar.connect("driver", "amadou") as amadou,
            dakar.connect("driver", "brice") as brice,
        ):
            for ws in (shipper, amadou, brice):
                await next_of(ws, "state")
            draft = await asyncio.to_thread(dakar, "chantal", "POST", "customer/create/", body)
            assert (draft["kind"], draft["state"]) == ("freight", "draft")
            posted = await asyncio.to_thread(dakar, "chantal", "POST", f"{draft['id']}/post/")
            assert posted["state"] == "bidding"
            for ws in (amadou, brice):
                assert (await next_of(ws, "offer"))["order_id"] == draft["id"]
            for who, amount in (("amadou", "61000"), ("brice", "58000")):
                bid = {"amount": amount, "valid_for_s": 900}
                await asyncio.to_thread(dakar, who, "POST", f"{draft['id']}/bids/", bid)
            received = [await next_of(shipper, "bid_received") for _ in carriers]
            listed = await asyncio.to_thread(dakar, "chantal", "GET", f"{draft['id']}/bids/")
            taken = await asyncio.to_thread(
                dakar, "chantal", "POST", f"{draft['id']}/accept-bid/",
                {"driver_id": carriers["brice"]},
            )  # fmt: skip
            assert (taken["state"], taken["driver_id"]) == ("assigned", carriers["brice"])
            told = await next_of(brice, "bid_accepted")
            gone = await next_of(amadou, "offer_withdrawn")
            assert (gone["order_id"], gone["reason"]) == (draft["id"], "taken")
            return listed, received, told, draft["id"]

    listed, received, told, load_id = asyncio.run(bidding())
    assert [(m["driver_id"], m["amount"], m["currency"]) for m in received] == [
        (carriers["amadou"], "61000", "XOF"),
        (carriers["brice"], "58000", "XOF"),
    ]
    assert [(b["driver_id"], b["amount"]) for b in listed["bids"]] == [
        (carriers["amadou"], "61000"),
        (carriers["brice"], "58000"),
    ]
    assert (told["order_id"], told["amount"], told["currency"]) == (load_id, "58000", "XOF")

    for step in ("driver/arrived", "driver/start"):
        dakar("brice", "POST", f"{step}/{load_id}/")
    assert dakar("brice", "POST", f"{load_id}/depart/")["state"] == "in_transit"
    for point in _route(WAITING_AT["brice"], DROPOFF, 10):
        dakar.advance(FIX_EVERY_S)
        fix = dakar("brice", "POST", "driver/update-location/", {"position": _p(point)})
        assert fix["accepted"], fix
    code = dakar("chantal", "GET", f"{load_id}/")["delivery_code"]
    current = dakar("brice", "GET", "driver/current/")
    assert current["order"]["delivery_code"] is None  # the receiver gives it to him
    proof = {"position": _p(DROPOFF), "at": dakar.now(), "code": code,
             "reference": "pod/lot-17.jpg"}  # fmt: skip
    delivered = dakar("brice", "POST", f"{load_id}/proof-of-delivery/", proof)
    assert (delivered["state"], delivered["final_fare"]["amount"]) == ("delivered", "58000")
    completed = dakar("chantal", "POST", f"{load_id}/confirm-delivery/")
    assert completed["state"] == "completed"
    for who, stars in (("chantal", 5), ("brice", 4)):
        dakar(who, "POST", f"{load_id}/rate/", {"stars": stars})

    done = dakar("chantal", "GET", f"{load_id}/")
    assert [h["state"] for h in done["history"]] == [
        "posted", "bidding", "assigned", "pickup_pending", "picked_up", "in_transit",
        "delivered", "completed",
    ]  # fmt: skip
    assert [(r["by"], r["stars"]) for r in done["ratings"]] == [("customer", 5), ("driver", 4)]
    assert done["proof"]["reference"] == "pod/lot-17.jpg"
    route = dakar("chantal", "GET", f"tracking/orders/{load_id}/route/")
    actual = route["features"][2]["geometry"]["coordinates"]
    assert actual[-1] == pytest.approx([DROPOFF.lng, DROPOFF.lat])
    pings = dakar("brice", "GET", f"tracking/orders/{load_id}/pings/")["pings"]
    assert [p["flag"] for p in pings] == [None] * len(pings)
    assert len(pings) >= 10


def test_a_delivery_from_waiting_to_delivered_its_customer_following_the_rider(
    dakar: Dakar,
) -> None:
    rider_at = LatLng(14.6706, -17.4400)
    dakar.online("carine", "moto_livraison", rider_at)
    # The merchant's id: a draft of hers shows it (then she cancels it).
    scratch = dakar("chantal", "POST", "customer/create/", {
        "pickup": _p(PICKUP), "destination": _p(DROPOFF), "vehicle_type": "camionnette_3t",
        "payment_method": "CASH"})  # fmt: skip
    dakar("chantal", "POST", f"customer/cancel/{scratch['id']}/", {"reason": "scratch"})
    order = {"pickup": _p(PICKUP), "destination": _p(DROPOFF), "vehicle_type": "moto_livraison",
             "payment_method": "CASH", "merchant_id": scratch["customer_id"],
             "goods_amount": "7500"}  # fmt: skip
    trip = _route(rider_at, DROPOFF, 8)

    async def deliver() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        async with (
            dakar.connect("customer", "didier") as customer,
            dakar.connect("driver", "carine") as rider,
        ):
            for ws in (customer, rider):
                await next_of(ws, "state")
            parcel = await asyncio.to_thread(dakar, "didier", "POST", "customer/create/", order)
            assert (parcel["state"], parcel["goods_amount"]) == ("waiting", "7500")
            for status in ("confirmed", "preparing", "ready"):
                await asyncio.to_thread(
                    dakar, "chantal", "POST", f"{parcel['id']}/merchant-status/",
                    {"status": status},
                )  # fmt: skip
            offer = await next_of(rider, "offer")
            assert offer["order_id"] == parcel["id"]
            for step in ("accept", "arrived", "start", "depart"):
                answer = await send(rider, {"type": step, "order_id": parcel["id"], "id": step})
                assert answer["type"] == "ok", answer
            assert answer["state"] == "on_the_way"
            for i, point in enumerate(trip):
                dakar.advance(FIX_EVERY_S)
                fix = await send(
                    rider, {"type": "location", "position": _p(point), "id": f"fix-{i}"}
                )
                assert fix["type"] == "ok", fix
            code = (await asyncio.to_thread(dakar, "didier", "GET", f"{parcel['id']}/"))[
                "delivery_code"
            ]
            delivered = await send(rider, {
                "type": "deliver", "order_id": parcel["id"], "position": _p(DROPOFF),
                "at": dakar.now(), "code": code, "id": "deliver"})  # fmt: skip
            assert (delivered["type"], delivered["state"]) == ("ok", "delivered"), delivered
            seen: list[dict[str, Any]] = []
            while not seen or seen[-1]["type"] != "trip_completed":
                seen.append(json.loads(await asyncio.wait_for(customer.recv(), 10)))
            return seen, parcel

    seen, parcel = asyncio.run(deliver())
    steps = [(m["event"], m["state"]) for m in seen if m["type"] == "order_status"]
    assert steps == [
        ("confirm", "confirmed"), ("prepare", "preparing"), ("mark_ready", "ready"),
        ("depart", "on_the_way"), ("deliver", "delivered"),
    ]  # fmt: skip
    assert [m["type"] for m in seen if m["type"].startswith(("driver_a", "trip_s"))] == [
        "driver_assigned", "driver_arrived", "trip_started",
    ]  # fmt: skip
    located = [m for m in seen if m["type"] == "driver_location"]
    # Every fix (20 s apart, beyond location_interval_s) reached the customer, with the ETA.
    sent = [x for p in trip for x in (p.lat, p.lng)]
    assert [m["position"][x] for m in located for x in ("lat", "lng")] == pytest.approx(sent)
    etas = [m["eta_s"] for m in located]
    assert etas == sorted(etas, reverse=True)
    assert etas[-1] == 0
    assert all(m["order_id"] == parcel["id"] for m in located)
