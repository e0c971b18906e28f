"""Properties of the Django adapter: stored orders read back equal, the ORM finds the drivers
the in-memory index finds (poles and antimeridian included)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import points, radii_km

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import InMemoryDriverRegistry, InMemoryWallet, ManualClock
from vtc_dispatch.order import Actor, DriverStatus, Order
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService
from vtc_dispatch_django.codec import order_from_json, order_to_json

T0 = datetime(2026, 11, 21, 21, 50, tzinfo=UTC)
AKWA = LatLng(4.0511, 9.7043)
DEIDO = LatLng(4.0650, 9.7250)

STEPS = st.lists(
    st.sampled_from(
        ["wait", "expire", "accept", "reject", "move", "arrive", "start", "complete",
         "cancel_customer", "cancel_driver", "rate", "again"]
    ),
    max_size=25,
)  # fmt: skip


def _same_after_storing(order: Order) -> None:
    text = json.dumps(order_to_json(order))
    back = order_from_json(json.loads(text), order.version)
    assert back == order
    assert back.quote.breakdown == order.quote.breakdown
    assert json.dumps(order_to_json(back)) == text


def _try(action: Any, *args: Any, **kwargs: Any) -> None:
    # A refused command changes nothing; the order is checked anyway.
    with contextlib.suppress(DispatchError):
        action(*args, **kwargs)


@settings(max_examples=60, deadline=None)
@given(
    steps=STEPS,
    payment=st.sampled_from(["CASH", "WALLET"]),
    supplements=st.sampled_from([(), ("luggage",)]),
    seconds=st.integers(1, 90),
)
def test_every_order_the_service_builds_reads_back_equal(
    steps: list[str], payment: str, supplements: tuple[str, ...], seconds: int
) -> None:
    clock = ManualClock(T0)
    wallet = InMemoryWallet()
    wallet.credit("c", Decimal(50_000), "XAF")
    service = DispatchService(pricing=douala_config(), clock=clock, wallet=wallet)
    for i, bearing in enumerate((0, 120, 240)):
        service.driver_online(f"d{i}", "taxi_jaune", destination_point(AKWA, bearing, 0.4))
    order = service.create_order("c", AKWA, DEIDO, "taxi_jaune", payment, supplements=supplements)
    _same_after_storing(order)
    for step in steps:
        order = service.orders.get(order.id)
        driver = order.driver_id or order.offered_to or "d0"
        if step == "wait":
            clock.advance(timedelta(seconds=seconds))
        elif step == "expire":
            service.expire_due()
        elif step in ("accept", "reject"):
            _try(getattr(service, step), driver, order.id)
        elif step == "move":
            clock.advance(timedelta(seconds=10))
            target = DEIDO if order.state == "in_progress" else AKWA
            _try(service.update_position, driver, target)
        elif step == "arrive":
            _try(service.arrived, driver, order.id)
        elif step == "start":
            _try(service.start_trip, driver, order.id)
        elif step == "complete":
            _try(service.complete_trip, driver, order.id, supplements=supplements)
        elif step == "cancel_customer":
            _try(service.cancel, Actor.customer("c"), order.id, "changed my mind")
        elif step == "cancel_driver":
            _try(service.cancel, Actor.driver(driver), order.id, "flat tyre")
        elif step == "rate":
            _try(service.rate, Actor.customer("c"), order.id, 4, "ok")
            _try(service.rate, Actor.driver(driver), order.id, 5)
        elif step == "again":
            _try(service.search_again, "c", order.id)
        _same_after_storing(service.orders.get(order.id))
        progress = service.progress.get(order.id)
        from vtc_dispatch_django.codec import progress_from_json, progress_to_json

        stored = json.loads(json.dumps(progress_to_json(progress)))
        assert progress_from_json(order.id, stored, progress.version) == progress


drivers = st.lists(
    st.tuples(points, st.sampled_from(["taxi_jaune", "confort"]), st.booleans()),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fleet=drivers, center=points, radius=radii_km, k=st.integers(0, 30))
@example(
    fleet=[(LatLng(0.0, 0.0), "taxi_jaune", True)],
    center=LatLng(0.0, 1.5195897556596139e-304),
    radius=0.0,
    k=1,
)
def test_the_orm_registry_finds_what_the_index_finds(
    db: object, fleet: list[tuple[LatLng, str, bool]], center: LatLng, radius: float, k: int
) -> None:
    from vtc_dispatch_django.models import DriverPresence
    from vtc_dispatch_django.repositories import DjangoDriverRegistry

    DriverPresence.objects.all().delete()
    orm, memory = DjangoDriverRegistry(), InMemoryDriverRegistry()
    for i, (position, vehicle, online) in enumerate(fleet):
        status = DriverStatus(f"d{i:02}", vehicle, position, online, T0)
        orm.put(status)
        memory.put(status)
    found = orm.nearest_available(center, k, radius)
    expected = memory.nearest_available(center, k, radius)
    assert [d for d, _ in found] == [d for d, _ in expected]
    for (_, km), (_, expected_km) in zip(found, expected, strict=True):
        assert abs(km - expected_km) < 1e-9
    assert orm.count_available(center, radius) == memory.count_available(center, radius)
    only = orm.nearest_available(center, k, radius, ["confort"], exclude={"d00"})
    assert only == list(memory.nearest_available(center, k, radius, ["confort"], exclude={"d00"}))
