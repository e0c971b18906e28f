"""Dashboards over REST, and the audit in the admin: order transitions, configuration changes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.test import Client
from django_demo import AKWA, DEIDO, T0, Demo

from django_app.test_django_payments import post  # type: ignore[import-not-found]
from django_app.test_django_rest import drive, get, online  # type: ignore[import-not-found]
from vtc_dispatch.geo import LatLng


def _post(demo: Demo, name: str, path: str, body: Any = None, **headers: str) -> Any:
    answer = post(demo, name, path, body, **headers)
    assert answer.status_code in (200, 201), answer.json()
    return answer.json()


def _admin() -> Client:
    from django.contrib.auth.models import User

    User.objects.create_superuser("root", password="root")
    admin = Client()
    admin.login(username="root", password="root")
    return admin


def _ride(demo: Demo) -> dict[str, Any]:
    """A cash ride over REST, rated by the customer: the order as done."""
    demo.service  # noqa: B018  (installs the manual clock)
    online(demo, "amadou", LatLng(4.0540, 9.7060))
    order = _post(
        demo,
        "chantal",
        "customer/create/",
        {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune",
         "payment_method": "CASH"},
        **{"Idempotency-Key": "tap-1"},
    )  # fmt: skip
    demo.clock.advance(timedelta(seconds=15))
    _post(demo, "amadou", f"driver/accept/{order['id']}/")
    drive(demo, "amadou", LatLng(4.0540, 9.7060), LatLng(AKWA["lat"], AKWA["lng"]), 3)
    _post(demo, "amadou", f"driver/arrived/{order['id']}/")
    _post(demo, "amadou", f"driver/start/{order['id']}/")
    drive(demo, "amadou", LatLng(AKWA["lat"], AKWA["lng"]), LatLng(DEIDO["lat"], DEIDO["lng"]), 8)
    done: dict[str, Any] = _post(demo, "amadou", f"driver/complete/{order['id']}/")
    _post(demo, "chantal", f"customer/rate/{order['id']}/", {"stars": 4})
    return done


def test_dashboards_over_rest_and_the_orders_transitions_in_the_admin(demo: Demo) -> None:
    from vtc_dispatch_django.models import DriverActivity, OrderTransition

    done = _ride(demo)
    fare = done["final_fare"]["amount"]
    demo.clock.advance(timedelta(minutes=10))
    board = get(demo, "amadou", "driver/dashboard/", period="today")
    assert board.status_code == 200, board.json()
    figures = board.json()
    assert figures["driver_id"] == demo.ids["amadou"]
    assert figures["period"]["first_day"] == figures["period"]["last_day"] == "2026-11-21"
    assert figures["period"]["timezone"] == "Africa/Douala"
    assert figures["rides_done"] == 1
    assert figures["earnings"] == [
        {"payment_method": "CASH", "currency": "XAF", "rides": 1, "fares": fare, "fees": "0",
         "total": fare},
    ]  # fmt: skip
    assert (figures["accepted"], figures["refused"], figures["acceptance_rate"]) == (1, 0, 1.0)
    # Online since T0, the clock's start: every second of the ride and the ten minutes after.
    assert figures["online_s"] == (demo.clock.now() - T0).total_seconds() == 725
    assert figures["rating"] == {"count": 1, "average": 4.0}
    same = get(demo, "amadou", "driver/dashboard/", **{"from": "2026-11-21", "to": "2026-11-21"})
    dated = {**figures, "period": {**figures["period"], "name": None}}
    assert same.json() == dated
    # "to" is today unless given, "from" is "to"; dates win over a period.
    for params in (
        {"from": "2026-11-21"},
        {"to": "2026-11-21"},
        {"period": "30d", "to": "2026-11-21"},
    ):
        assert get(demo, "amadou", "driver/dashboard/", **params).json() == dated, params
    customer = get(demo, "chantal", "customer/dashboard/").json()  # 7d by default
    assert customer["period"]["name"] == "7d"
    assert (customer["orders_placed"], customer["rides_done"], customer["cancelled"]) == (1, 1, 0)
    assert [(s["payment_method"], Decimal(s["total"])) for s in customer["spending"]] == [
        ("CASH", Decimal(fare))
    ]
    assert customer["rating_given"] == {"count": 1, "average": 4.0}
    tomorrow = get(
        demo, "chantal", "customer/dashboard/", **{"from": "2026-11-22", "to": "2026-11-22"}
    )
    assert (tomorrow.json()["rides_done"], tomorrow.json()["spending"]) == (0, [])

    for who, path, params, status, field in (
        ("amadou", "driver/dashboard/", {"from": "21/11/2026", "to": "2026-11-21"}, 400, "from"),
        ("chantal", "customer/dashboard/", {"period": "today", "to": "2026-13-01"}, 400, "to"),
        ("chantal", "customer/dashboard/", {"to": ""}, 400, "to"),
        ("chantal", "customer/dashboard/", {"period": ""}, 400, "period"),
        ("chantal", "customer/dashboard/", {"from": "2026-11-22", "to": "2026-11-21"}, 422, None),
        ("chantal", "customer/dashboard/", {"from": "2026-01-01", "to": "2026-12-31"}, 422, None),
        ("chantal", "driver/dashboard/", {}, 403, None),
        ("amadou", "customer/dashboard/", {}, 403, None),
    ):
        answer = get(demo, who, path, **params)
        assert answer.status_code == status, (params, answer.json())
        assert answer.json()["field"] == field, answer.json()
    late = get(demo, "chantal", "customer/dashboard/", **{"from": "2026-11-22", "to": "2026-11-21"})
    assert late.json()["error"] == "InvalidPeriod"
    assert "from 2026-11-22 is after to 2026-11-21" in late.json()["detail"]
    assert get(demo, None, "driver/dashboard/").status_code == 401

    # The audit: one row per state change, who and when, and the command that carried a key.
    rows = OrderTransition.objects.filter(order_id=done["id"]).order_by("seq")
    assert [
        (r.source, r.target, r.actor_role, r.actor_id, r.command_id) for r in rows
    ] == [
        ("draft", "searching", "customer", demo.ids["chantal"],
         f"rest:{demo.ids['chantal']}:tap-1"),
        ("searching", "accepted", "driver", demo.ids["amadou"], None),
        ("accepted", "arrived", "driver", demo.ids["amadou"], None),
        ("arrived", "in_progress", "driver", demo.ids["amadou"], None),
        ("in_progress", "done", "driver", demo.ids["amadou"], None),
    ]  # fmt: skip
    assert rows[1].at - rows[0].at == timedelta(seconds=15)
    activity = DriverActivity.objects.filter(driver_id=demo.ids["amadou"]).order_by("at")
    assert list(activity.values_list("outcome", flat=True)) == ["online", "accepted"]
    admin = _admin()
    listing = admin.get("/admin/vtc_dispatch/ordertransition/").content.decode()
    assert done["id"] in listing
    assert "in_progress" in listing
    assert admin.get("/admin/vtc_dispatch/ordertransition/add/").status_code == 403


def test_configuration_changes_are_recorded_with_who_and_what(demo: Demo) -> None:
    from vtc_dispatch_django.models import ConfigChange, FixedPriceRoute, VehicleType

    # make_demo imported the configuration: recorded as the import's.
    imported = ConfigChange.objects.filter(by="import_config")
    assert imported.filter(model="vehicletype", action="created").count() == 2
    assert imported.filter(model="tariff", action="created").exists()
    ConfigChange.objects.all().delete()
    admin = _admin()
    changed = admin.post(
        "/admin/vtc_dispatch/vehicletype/taxi_jaune/change/",
        {"code": "taxi_jaune", "label": "Taxi jaune (city)", "seats": 4, "kind": "ride"},
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    assert VehicleType.objects.get(code="taxi_jaune").label == "Taxi jaune (city)"
    route = FixedPriceRoute.objects.first()
    assert route is not None
    deleted = admin.post(f"/admin/vtc_dispatch/fixedpriceroute/{route.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    rows = list(ConfigChange.objects.order_by("seq"))
    assert [(r.by, r.user.username if r.user else None, r.model, r.action) for r in rows] == [
        ("root", "root", "vehicletype", "changed"),
        ("root", "root", "fixedpriceroute", "deleted"),
    ]
    assert rows[0].object_id == "taxi_jaune"
    # Only what changed, before and after (the revision the service bumps is no change).
    assert rows[0].changes == {"label": ["Taxi Jaune", "Taxi jaune (city)"]}
    assert rows[1].changes["code"] == [route.code, None]
    # A change outside the admin and the import is recorded, by an unknown writer.
    VehicleType.objects.filter(code="confort").update(seats=5)  # no signal: not a save
    confort = VehicleType.objects.get(code="confort")
    confort.seats = 3
    confort.save()
    last = ConfigChange.objects.order_by("seq").last()
    assert last is not None
    assert (last.by, last.changes) == ("unknown", {"seats": [5, 3]})
    listing = admin.get("/admin/vtc_dispatch/configchange/").content.decode()
    assert "Taxi jaune (city)" in listing
    assert "root" in listing
    page = admin.get(f"/admin/vtc_dispatch/configchange/{rows[0].pk}/change/").content.decode()
    assert "label: &#x27;Taxi Jaune&#x27; -&gt; &#x27;Taxi jaune (city)&#x27;" in page
    assert admin.get("/admin/vtc_dispatch/configchange/add/").status_code == 403


def test_the_migration_fills_the_transitions_of_the_orders_stored_before(
    transactional_db: Any,
) -> None:
    import json

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from vtc_dispatch.codec import order_to_data
    from vtc_dispatch.memory import ManualClock
    from vtc_dispatch.order import Actor
    from vtc_dispatch.pricing import douala_config
    from vtc_dispatch.service import DispatchService
    from vtc_dispatch_django.models import OrderTransition

    service = DispatchService(pricing=douala_config(), clock=ManualClock(T0))
    service.driver_online("d-1", "taxi_jaune", LatLng(4.0530, 9.7050))
    placed = service.create_order("c-1", LatLng(**AKWA), LatLng(**DEIDO), "taxi_jaune", "CASH")
    service.accept("d-1", placed.id)
    order = service.cancel(Actor.customer("c-1"), placed.id, "changed plans")
    before = [("vtc_dispatch", "0009_kinds")]
    latest = [("vtc_dispatch", "0010_audit_and_activity")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("vtc_dispatch", "OrderRecord")
        old.objects.create(
            order_id=order.id, version=order.version, customer_id="c-1", driver_id="d-1",
            vehicle_type="taxi_jaune", state=order.state, active=False, payment_method="CASH",
            payment_status="none", currency="XAF", estimate=order.quote.estimate,
            created_at=order.created_at, data=json.loads(json.dumps(order_to_data(order))),
        )  # fmt: skip
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    finally:
        MigrationExecutor(connection).migrate(latest)
    rows = OrderTransition.objects.filter(order_id=order.id).order_by("seq")
    assert [(r.target, r.actor_role, r.actor_id, r.command_id) for r in rows] == [
        ("searching", "customer", "c-1", None),
        ("accepted", "driver", "d-1", None),
        ("cancelled", "customer", "c-1", None),
    ]
