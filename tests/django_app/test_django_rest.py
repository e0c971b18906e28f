"""The REST endpoints in process: validation, permissions, the whole ride, pages, expiry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django_demo import AKWA, DEIDO, Demo
from rest_framework.test import APIClient

from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg

API = "/api/v1/order/"


def client(demo: Demo, name: str | None) -> APIClient:
    c = APIClient()
    if name is not None:
        c.credentials(HTTP_AUTHORIZATION=f"Token {demo.tokens[name]}")
    return c


def post(demo: Demo, name: str | None, path: str, body: Any = None) -> Any:
    return client(demo, name).post(API + path, body or {}, format="json")


def get(demo: Demo, name: str | None, path: str, **params: Any) -> Any:
    return client(demo, name).get(API + path, params)


def online(demo: Demo, name: str, at: LatLng) -> None:
    answer = post(demo, name, "driver/toggle-status/", {"online": True, "position": _p(at)})
    assert answer.status_code == 200, answer.json()


def _p(point: LatLng) -> dict[str, float]:
    return {"lat": point.lat, "lng": point.lng}


def drive(demo: Demo, name: str, start: LatLng, end: LatLng, steps: int) -> None:
    total = haversine_km(start, end)
    bearing = initial_bearing_deg(start, end)
    for i in range(1, steps + 1):
        demo.clock.advance(timedelta(seconds=10))
        point = destination_point(start, bearing, total * i / steps)
        answer = post(demo, name, "driver/update-location/", {"position": _p(point)})
        assert answer.status_code == 200, answer.json()


def test_bad_input_is_a_400_naming_the_field(demo: Demo) -> None:
    answer = post(demo, "chantal", "customer/search-drivers/", {"pickup": {"lat": 91, "lng": 9.7}})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "ValidationError",
        "detail": "pickup.lat: Ensure this value is less than or equal to 90.",
        "field": "pickup.lat",
    }
    answer = post(demo, "chantal", "customer/search-drivers/", {"pickup": AKWA})
    assert (answer.status_code, answer.json()["field"]) == (400, "destination")
    assert "required" in answer.json()["detail"]
    answer = post(demo, "amadou", "driver/toggle-status/", {"online": True})
    assert answer.status_code == 400
    assert answer.json()["field"] == "position"
    answer = post(
        demo,
        "chantal",
        "customer/create/",
        {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune",
         "payment_method": "cash"},
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["field"] == "payment_method"


def test_roles_and_owners(demo: Demo) -> None:
    assert post(demo, None, "customer/search-drivers/").status_code == 401
    assert post(demo, "chantal", "driver/accept/x/").status_code == 403
    answer = post(demo, "amadou", "customer/create/", {})
    assert answer.status_code == 403
    assert answer.json()["detail"] == "only customers may do this"
    online(demo, "amadou", LatLng(4.0530, 9.7050))
    created = post(
        demo,
        "chantal",
        "customer/create/",
        {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune",
         "payment_method": "CASH"},
    )  # fmt: skip
    assert created.status_code == 201
    order_id = created.json()["id"]
    other = get(demo, "didier", f"{order_id}/")
    assert other.status_code == 403
    assert other.json()["error"] == "Forbidden"
    assert order_id in other.json()["detail"]
    assert post(demo, "brice", f"driver/accept/{order_id}/").status_code == 403
    assert get(demo, "chantal", "nope/").status_code == 404
    # A second active order for the same customer is refused, with the first's id.
    again = post(
        demo,
        "chantal",
        "customer/create/",
        {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune",
         "payment_method": "CASH"},
    )  # fmt: skip
    assert again.status_code == 403
    assert order_id in again.json()["detail"]


def test_a_whole_ride_over_rest_paid_from_the_wallet(demo: Demo) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from vtc_dispatch_django.models import OfferRecord, OrderRecord, RatingRecord
    from vtc_dispatch_django.repositories import DjangoWallet

    wallet = DjangoWallet()
    wallet.credit(demo.ids["chantal"], Decimal(10000), "XAF")
    demo.service  # noqa: B018  (installs the manual clock)
    online(demo, "amadou", LatLng(4.0540, 9.7060))
    online(demo, "carine", LatLng(4.0545, 9.7065))
    found = post(
        demo, "chantal", "customer/search-drivers/", {"pickup": AKWA, "destination": DEIDO}
    ).json()["vehicle_types"]
    assert {line["vehicle_type"]: line["count"] for line in found} == {
        "taxi_jaune": 1,
        "confort": 1,
    }
    estimate = post(
        demo,
        "chantal",
        "customer/estimate-price/",
        {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune"},
    ).json()
    taxi = next(line for line in found if line["vehicle_type"] == "taxi_jaune")
    assert estimate["estimate"] == taxi["fare_estimate"]
    assert sum(Decimal(x["amount"]) for x in estimate["breakdown"]) == Decimal(estimate["estimate"])
    methods = get(demo, "chantal", "payment-methods/", **AKWA).json()["payment_methods"]
    assert methods == [
        {"code": "CASH", "label": "Cash"},
        {"code": "OM", "label": "Orange Money"},
        {"code": "MOMO", "label": "MTN Mobile Money"},
        {"code": "WALLET", "label": "In-app wallet"},
    ]
    order = post(
        demo,
        "chantal",
        "customer/create/",
        {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune",
         "payment_method": "WALLET"},
    ).json()  # fmt: skip
    assert (order["state"], order["payment_status"]) == ("searching", "held")
    assert wallet.balance(demo.ids["chantal"], "XAF") == 10000 - Decimal(estimate["estimate"])
    order_id = order["id"]
    offers = OfferRecord.objects.filter(order__order_id=order_id)
    assert list(offers.values_list("driver_id", flat=True)) == [demo.ids["amadou"]]
    # Offered, the driver sees the offer over REST too (main answered {"order": null}).
    current = get(demo, "amadou", "driver/current/").json()
    assert (current["offer"]["order_id"], current["order"]["id"]) == (order_id, order_id)
    assert current["offer"]["fare_min"] == order["quote"]["minimum"]
    assert current["driver"]["presence"] == "present"
    assert get(demo, "amadou", f"{order_id}/").json()["offer"]["driver_id"] == demo.ids["amadou"]
    accepted = post(demo, "amadou", f"driver/accept/{order_id}/")
    assert accepted.status_code == 200
    assert not offers.exists()
    assert accepted.json()["driver_id"] == demo.ids["amadou"]
    current = get(demo, "amadou", "driver/current/").json()
    assert (current["order"]["id"], current["offer"]) == (order_id, None)
    drive(demo, "amadou", LatLng(4.0540, 9.7060), LatLng(AKWA["lat"], AKWA["lng"]), 5)
    tracked = get(demo, "chantal", f"customer/track/{order_id}/").json()
    assert tracked["driver"]["position"] == pytest.approx(AKWA)
    assert len(tracked["track"]) == 5
    assert post(demo, "amadou", f"driver/arrived/{order_id}/").json()["state"] == "arrived"
    demo.clock.advance(timedelta(minutes=2))
    assert post(demo, "amadou", f"driver/start/{order_id}/").json()["state"] == "in_progress"
    drive(
        demo,
        "amadou",
        LatLng(AKWA["lat"], AKWA["lng"]),
        LatLng(DEIDO["lat"], DEIDO["lng"]),
        20,
    )
    done = post(demo, "amadou", f"driver/complete/{order_id}/").json()
    assert done["state"] == "done"
    fare = Decimal(done["final_fare"]["amount"])
    assert sum(Decimal(x["amount"]) for x in done["final_fare"]["breakdown"]) == fare
    assert done["payment_status"] == "paid"
    assert wallet.balance(demo.ids["chantal"], "XAF") == 10000 - fare
    assert next(p["reason"] for p in done["price_history"]) == "quoted"
    rated = post(demo, "chantal", f"customer/rate/{order_id}/", {"stars": 6})
    assert rated.status_code == 400
    assert post(demo, "chantal", f"customer/rate/{order_id}/", {"stars": 5}).status_code == 200
    assert post(demo, "amadou", f"driver/rate/{order_id}/", {"stars": 4}).status_code == 200
    again = post(demo, "chantal", f"customer/rate/{order_id}/", {"stars": 5})
    assert (again.status_code, again.json()["error"]) == (409, "AlreadyDone")
    assert demo.service.drivers.get(demo.ids["amadou"]).rating_count == 1
    ratings = RatingRecord.objects.filter(order__order_id=order_id)
    assert sorted(ratings.values_list("by_role", "about_id", "stars")) == [
        ("customer", demo.ids["amadou"], 5),
        ("driver", demo.ids["chantal"], 4),
    ]
    User.objects.create_superuser("root", password="root")
    admin = Client()
    admin.login(username="root", password="root")
    record = OrderRecord.objects.get(order_id=order_id)
    page = admin.get(f"/admin/vtc_dispatch/orderrecord/{record.pk}/change/").content.decode()
    # The admin shows amounts with their currency, grouped as customers read them.
    assert f"{fare:,.0f} XAF".replace(",", " ") in page
    assert "customer" in page
    driver_history = get(demo, "amadou", "driver/history/").json()
    assert [o["id"] for o in driver_history["results"]] == [order_id]


def test_histories_by_pages(demo: Demo) -> None:
    ids = []
    for _ in range(5):
        order = post(
            demo,
            "didier",
            "customer/create/",
            {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "confort",
             "payment_method": "CASH"},
        ).json()  # fmt: skip
        ids.append(order["id"])
        cancelled = post(demo, "didier", f"customer/cancel/{order['id']}/", {"reason": "test"})
        assert cancelled.json()["state"] == "cancelled"
    first = get(demo, "didier", "customer/history/", page=1, page_size=2).json()
    last = get(demo, "didier", "customer/history/", page=3, page_size=2).json()
    assert [o["id"] for o in first["results"]] == ids[::-1][:2]
    assert (first["count"], first["previous"]) == (5, None)
    assert first["next"].endswith("/api/v1/order/customer/history/?page=2&page_size=2")
    assert ([o["id"] for o in last["results"]], last["next"]) == ([ids[0]], None)
    assert get(demo, "didier", "customer/history/").json()["count"] == 5
    for bad in ({"page": 0}, {"page": "x"}, {"page_size": 0}, {"page_size": 101}):
        refused = get(demo, "didier", "customer/history/", **bad)
        assert (refused.status_code, refused.json()["field"]) == (400, next(iter(bad))), bad
    assert get(demo, "didier", "customer/history/", page=4, page_size=2).status_code == 404
    assert get(demo, "chantal", "customer/history/").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_an_unanswered_offer_goes_to_the_next_driver_through_dispatch_worker(
    demo: Demo,
) -> None:
    service = demo.service
    online(demo, "amadou", LatLng(4.0520, 9.7045))
    online(demo, "brice", LatLng(4.0560, 9.7080))
    order = post(
        demo,
        "chantal",
        "customer/create/",
        {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune",
         "payment_method": "CASH"},
    ).json()  # fmt: skip
    assert order["offer"]["driver_id"] == demo.ids["amadou"]
    call_command("dispatch_worker", "--once")
    assert service.orders.get(order["id"]).offered_to == demo.ids["amadou"]
    demo.clock.advance(timedelta(seconds=31))
    call_command("dispatch_worker", "--once")
    assert service.orders.get(order["id"]).offered_to == demo.ids["brice"]
    late = post(demo, "amadou", f"driver/accept/{order['id']}/")
    assert late.status_code == 410
    assert late.json()["error"] == "OfferExpired"


def test_vehicle_types_available_and_the_openapi_schema(demo: Demo) -> None:
    online(demo, "carine", LatLng(4.0520, 9.7045))
    answer = get(demo, "chantal", "vehicle-types/available/", **AKWA).json()
    assert answer == {
        "vehicle_types": [{"vehicle_type": "confort", "label": "Confort", "count": 1}]
    }
    schema = APIClient().get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/order/customer/create/" in paths
    assert "/api/v1/order/driver/accept/{order_id}/" in paths
    assert APIClient().get("/api/docs/").status_code == 200


@pytest.mark.parametrize("offline", [True, False])
def test_toggle_status(demo: Demo, offline: bool) -> None:
    online(demo, "amadou", LatLng(4.0520, 9.7045))
    if offline:
        answer = post(demo, "amadou", "driver/toggle-status/", {"online": False})
        assert answer.json()["online"] is False
    status = demo.service.drivers.get(demo.ids["amadou"])
    assert (status.online, status.vehicle_type) == (not offline, "taxi_jaune")


def test_histories_page_with_the_hosts_pagination_class(demo: Demo) -> None:
    from django.test import override_settings

    from vtc_dispatch_django.defaults import REST_FRAMEWORK

    ids = []
    for _ in range(3):
        order = post(
            demo,
            "didier",
            "customer/create/",
            {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "confort",
             "payment_method": "CASH"},
        ).json()  # fmt: skip
        ids.append(order["id"])
        post(demo, "didier", f"customer/cancel/{order['id']}/", {"reason": "test"})
    host = {
        **REST_FRAMEWORK,
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    }
    with override_settings(REST_FRAMEWORK=host):
        page = get(demo, "didier", "customer/history/", offset=1, limit=2).json()
        whole = get(demo, "didier", "customer/history/").json()
    assert (page["count"], [o["id"] for o in page["results"]]) == (3, ids[::-1][1:3])
    assert page["next"] is None
    assert page["previous"].endswith("customer/history/?limit=2")
    # No limit and no PAGE_SIZE: the host's paginator would send it all; the app's pages.
    assert (whole["count"], len(whole["results"])) == (3, 3)
    assert set(whole) == {"count", "next", "previous", "results"}
