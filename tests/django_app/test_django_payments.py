"""Payments that end, over REST and in the admin: cash confirmed by the driver, mobile money
through the provider's webhook, an operator's "mark paid"; each one commit, done once."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django_demo import AKWA, DEIDO, Demo
from rest_framework.test import APIClient

from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg
from vtc_dispatch.order import Order

API = "/api/v1/order/"


def client(demo: Demo, name: str | None) -> APIClient:
    c = APIClient()
    if name is not None:
        c.credentials(HTTP_AUTHORIZATION=f"Token {demo.tokens[name]}")
    return c


def post(demo: Demo, name: str | None, path: str, body: Any = None, **headers: str) -> Any:
    return client(demo, name).post(API + path, body or {}, format="json", headers=headers)


def _drive(demo: Demo, driver: str, to: LatLng) -> None:
    service = demo.service
    start = service.drivers.get(driver).position
    km, bearing = haversine_km(start, to), initial_bearing_deg(start, to)
    for i in range(1, 6):
        demo.clock.advance(timedelta(seconds=10))
        service.update_position(driver, destination_point(start, bearing, km * i / 5))


def _done(demo: Demo, method: str) -> Order:
    """A ride of chantal's with amadou, paid by ``method``, done: its fare owed."""
    service = demo.service
    amadou, chantal = demo.ids["amadou"], demo.ids["chantal"]
    pickup, dropoff = LatLng(**AKWA), LatLng(**DEIDO)
    service.driver_online(amadou, "taxi_jaune", destination_point(pickup, 0.0, 0.3))
    order = service.create_order(chantal, pickup, dropoff, "taxi_jaune", method)
    service.accept(amadou, order.id)
    _drive(demo, amadou, pickup)
    service.arrived(amadou, order.id)
    service.start_trip(amadou, order.id)
    _drive(demo, amadou, dropoff)
    done = service.complete_trip(amadou, order.id)
    assert done.payment_status == "pending"
    return done


def test_the_driver_confirms_cash_over_rest_once(demo: Demo) -> None:
    done = _done(demo, "CASH")
    path = f"driver/confirm-cash/{done.id}/"
    assert post(demo, "chantal", path).status_code == 403
    assert post(demo, "brice", path).status_code == 403
    paid = post(demo, "amadou", path, **{"Idempotency-Key": "cash-1"})
    assert paid.status_code == 200, paid.json()
    assert (paid.json()["payment_status"], paid.json()["amount_paid"]) == (
        "paid",
        paid.json()["final_fare"]["amount"],
    )
    assert post(demo, "amadou", path, **{"Idempotency-Key": "cash-1"}).json() == paid.json()
    again = post(demo, "amadou", path)
    assert (again.status_code, again.json()["error"]) == (409, "AlreadyDone")


@pytest.mark.parametrize(
    ("method", "slug"), [("OM", "orange-money"), ("AIRTEL_MONEY", "airtel-money")]
)
def test_mobile_money_through_the_provider_and_its_webhook(
    demo: Demo, method: str, slug: str
) -> None:
    from vtc_dispatch.payments import FakeProvider
    from vtc_dispatch_django.models import Country, PaymentMethod
    from vtc_dispatch_django.payments import providers

    # An operator enables the method in Cameroon (seeded: cash, OM, MoMo, wallet).
    PaymentMethod.objects.get_or_create(country=Country.objects.get(), code=method)
    done = _done(demo, method)
    started = post(demo, "chantal", f"customer/pay/{done.id}/", {"phone": "+237690000001"})
    assert started.status_code == 200, started.json()
    assert started.json()["payment_status"] == "processing"
    provider = providers()[method]
    assert isinstance(provider, FakeProvider)
    request = provider.requests[-1]
    assert (request.order_id, request.phone) == (done.id, "+237690000001")
    assert request.amount == Decimal(started.json()["final_fare"]["amount"])
    reference = f"fake-{method.lower()}-{len(provider.requests)}"
    body = provider.callback_body(reference, done.id, paid=True, amount=request.amount)
    webhook = f"{API}payments/callback/{slug}/"
    forged = APIClient().post(
        webhook, body, content_type="application/json", headers={"X-Signature": "0" * 64}
    )
    assert (forged.status_code, forged.json()["error"]) == (403, "PermissionDenied")
    assert demo.service.orders.get(done.id).payment_status == "processing"
    signed = {"X-Signature": provider.sign(body)}
    for _ in range(2):  # the provider sends its callback again: done once
        answer = APIClient().post(webhook, body, content_type="application/json", headers=signed)
        assert answer.status_code == 200, answer.json()
        assert answer.json() == {"order_id": done.id, "payment_status": "paid"}
    assert demo.service.orders.get(done.id).amount_paid == request.amount
    paid_again = post(demo, "chantal", f"customer/pay/{done.id}/", {"phone": "+237690000001"})
    assert (paid_again.status_code, paid_again.json()["error"]) == (409, "AlreadyDone")
    # The providers share the tests' secret: authentic, but this order is not Wave's.
    other = f"{API}payments/callback/wave/"
    wrong = APIClient().post(other, body, content_type="application/json", headers=signed)
    assert (wrong.status_code, wrong.json()["error"]) == (422, "InvalidArgument")


def test_a_failed_mobile_payment_then_cash(demo: Demo) -> None:
    from vtc_dispatch_django.payments import providers

    done = _done(demo, "MOMO")
    post(demo, "chantal", f"customer/pay/{done.id}/", {"phone": "+237670000002"})
    provider = providers()["MOMO"]
    body = json.dumps(
        {"reference": "r-9", "order_id": done.id, "status": "FAILED", "amount": "0",
         "currency": "XAF", "reason": "customer refused"}
    ).encode()  # fmt: skip
    answer = APIClient().post(
        f"{API}payments/callback/mtn-momo/",
        body,
        content_type="application/json",
        headers={"X-Signature": provider.sign(body)},  # type: ignore[attr-defined]
    )
    assert answer.json()["payment_status"] == "failed"
    assert post(demo, "amadou", f"driver/confirm-cash/{done.id}/").json()["payment_status"] == (
        "paid"
    )


def test_an_operator_marks_orders_paid_from_the_admin(demo: Demo) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from vtc_dispatch_django.models import OrderRecord

    done = _done(demo, "OM")
    User.objects.create_superuser("root", password="root")
    admin = Client()
    admin.login(username="root", password="root")
    record = OrderRecord.objects.get(order_id=done.id)
    page = "/admin/vtc_dispatch/orderrecord/"
    for _ in range(2):
        answer = admin.post(
            page, {"action": "mark_paid", "_selected_action": [record.pk]}, follow=True
        )
        assert answer.status_code == 200
    paid = demo.service.orders.get(done.id)
    assert (paid.payment_status, paid.amount_paid) == ("paid", done.amount_due)
    assert b"1 order(s) marked paid." in answer.content or b"paid already" in answer.content


def test_the_websocket_schemas_are_served_and_listed_in_the_docs() -> None:
    import re
    from pathlib import Path

    from vtc_dispatch.wire import json_schemas

    served = APIClient().get("/api/schema/ws/").json()
    assert served == json.loads(json.dumps(json_schemas()))
    page = (Path(__file__).resolve().parents[2] / "docs" / "django.md").read_text()
    table = page[page.index("| a driver sends |") : page.index("## Answers")]
    listed = set(re.findall(r"`([a-z_]+)`", table))
    assert listed == set(served)


def test_swagger_ui_and_redoc_come_from_the_package() -> None:
    for path, asset in (
        ("/api/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/api/redoc/", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ):
        page = APIClient().get(path).content.decode()
        assert asset in page
        assert "cdn.jsdelivr" not in page
        assert "unpkg" not in page


def test_orders_refer_to_the_host_users(demo: Demo) -> None:
    from django.contrib.auth.models import User

    from vtc_dispatch_django.models import OrderRecord
    from vtc_dispatch_django.repositories import user_key

    done = _done(demo, "CASH")
    record = OrderRecord.objects.get(order_id=done.id)
    assert (record.customer_user.username, record.driver_user.username) == ("chantal", "amadou")
    chantal = User.objects.get(username="chantal")
    assert list(chantal.vtc_orders.values_list("order_id", flat=True)) == [done.id]
    # Ids that are no user's key stay text only.
    assert [user_key(x) for x in ("12", "012", "ext:7", None)] == [12, None, None, None]
