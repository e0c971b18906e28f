"""The service on the Redis ports behaves exactly as on the in-memory ones (real Redis)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
import redis_support
from samples import AKWA, DEIDO

from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.config import DispatchConfig
from vtc_dispatch.errors import ConcurrencyConflict, StorageUnavailable
from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg
from vtc_dispatch.memory import InMemoryWallet, ManualClock, RecordingNotifier
from vtc_dispatch.order import Actor, DriverStatus, Order
from vtc_dispatch.pool import PoolConfig
from vtc_dispatch.pricing import douala_config


@pytest.fixture(autouse=True)
def _clean() -> Any:
    yield
    redis_support.clean_up()


def play(ports: dict[str, Any], credit: Callable[[str, Decimal, str], None]) -> dict[str, Any]:
    """A scripted day: expiry, refusal, a wallet ride to the end, ratings, a cancellation."""
    clock = ManualClock(datetime(2026, 11, 21, 17, 30, tzinfo=UTC))
    notifier = RecordingNotifier()
    ids = itertools.count(1)
    config = DispatchConfig(
        pricing=douala_config(),
        pool=PoolConfig.model_validate({"default": {"ranking": "scored"}}),
    )
    service = build_service(
        config, ports, clock=clock, notifier=notifier, new_order_id=lambda: f"ord-{next(ids)}"
    )
    credit("chantal", Decimal("10000"), "XAF")
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0540, 9.7060))
    service.driver_online("brice", "taxi_jaune", LatLng(4.0480, 9.7000))
    service.driver_online("carine", "taxi_jaune", LatLng(4.0600, 9.7100))
    service.driver_online("dora", "confort", LatLng(4.0500, 9.7040))
    screen = [(a.vehicle_type, a.count, a.nearest_km) for a in service.search(AKWA, DEIDO)]
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET")
    clock.advance(timedelta(seconds=31))
    service.expire_due()
    first = service.orders.get(order.id).offered_to
    assert first is not None
    service.reject(first, order.id)
    driver = service.orders.get(order.id).offered_to
    assert driver is not None
    service.accept(driver, order.id)
    for target, steps in ((AKWA, 6), (DEIDO, 12)):
        start = service.drivers.get(driver).position
        total, bearing = haversine_km(start, target), initial_bearing_deg(start, target)
        for i in range(1, steps + 1):
            clock.advance(timedelta(seconds=10))
            service.update_position(driver, destination_point(start, bearing, total * i / steps))
        if target == AKWA:
            service.arrived(driver, order.id)
            clock.advance(timedelta(minutes=2))
            service.start_trip(driver, order.id)
    service.complete_trip(driver, order.id)
    service.rate(Actor.customer("chantal"), order.id, 5, "Très bien")
    done = service.rate(Actor.driver(driver), order.id, 4)
    other = service.create_order("paul", AKWA, DEIDO, "confort", "CASH")
    cancelled = service.cancel(Actor.customer("paul"), other.id, "changed my mind")
    return {
        "screen": screen,
        "done": done,
        "cancelled": cancelled,
        "messages": [(r, m.model_dump()) for r, m in notifier.sent],
        "wire": [
            (r.role, r.id, m.model_dump()["type"], m.model_dump_json()) for r, m in notifier.sent
        ],
        "drivers": [service.drivers.get(d) for d in ("amadou", "brice", "carine", "dora")],
        "stats": [attrs.asdict(service.stats.get(d)) for d in ("amadou", "brice", "carine")],
        "balance": service.wallet.balance("chantal", "XAF"),
        "customer_rating": service.customer_rating("chantal"),
        "history": [o.id for o in service.history(Actor.customer("chantal"))],
        "driver_history": [o.id for o in service.history(Actor.driver(driver))],
        "current": service.current_order(Actor.customer("paul")),
        "next_deadline": service.orders.next_deadline(),
    }


def test_a_day_on_redis_is_the_same_day_as_in_memory() -> None:
    wallet = InMemoryWallet()
    in_memory = play({"wallet": wallet}, wallet.credit)
    storage = redis_support.fresh_storage()
    ports = storage.ports()
    del ports["notifier"]  # both runs record their messages to compare them
    on_redis = play(ports, storage.wallet.credit)
    assert on_redis["done"].state == "done"
    assert on_redis["done"].quote.breakdown == in_memory["done"].quote.breakdown
    assert on_redis == in_memory


def test_wire_messages_go_to_streams_read_by_a_consumer_group() -> None:
    storage = redis_support.fresh_storage()
    clock = ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    service = build_service(douala_config(), storage.ports(), clock=clock)
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    stream = f"{storage.settings.prefix}:s:driver"
    client: Any = storage.client  # redis-py's replies are loosely typed
    client.xgroup_create(stream, "gateway", id="0")
    entries = client.xreadgroup("gateway", "gw-1", {stream: ">"}, count=10)
    [(_, messages)] = entries
    [(entry_id, fields)] = messages
    assert (fields["to"], fields["type"]) == ("amadou", "offer")
    assert order.id in fields["json"]
    assert client.xack(stream, "gateway", entry_id) == 1
    service.accept("amadou", order.id)
    customer = client.xrange(f"{storage.settings.prefix}:s:customer")
    assert [(f["to"], f["type"]) for _, f in customer] == [("chantal", "driver_assigned")]


def test_a_position_update_keeps_a_reservation_made_by_another_worker() -> None:
    mine = redis_support.fresh_storage()
    theirs = type(mine)(mine.settings)  # another worker: same Redis, same prefix
    t0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    mine.drivers.put(DriverStatus("d", "taxi_jaune", AKWA, True, t0))
    read = mine.drivers.get("d")
    assert theirs.drivers.reserve("d", "o-theirs")
    mine.drivers.put(attrs.evolve(read, position=DEIDO))  # built from the stale read
    stored = theirs.drivers.get("d")
    assert (stored.order_id, stored.position) == ("o-theirs", DEIDO)
    assert mine.drivers.nearest_available(DEIDO, 5, 1.0) == []
    theirs.drivers.release("d", "o-theirs")
    assert [d for d, _ in mine.drivers.nearest_available(DEIDO, 5, 1.0)] == ["d"]
    read = mine.drivers.get("d")
    assert theirs.drivers.reserve("d", "o-2")
    with pytest.raises(ConcurrencyConflict, match="now holds order 'o-2'"):
        mine.drivers.put(attrs.evolve(read, order_id="o-mine"))  # a change from a stale read
    assert theirs.drivers.get("d").order_id == "o-2"


def test_a_due_order_goes_to_one_worker_until_its_claim_runs_out() -> None:
    first = redis_support.fresh_storage(claim_s=10)
    second = type(first)(first.settings)
    clock = ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    service = build_service(douala_config(), first.ports(), clock=clock)
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    due = clock.now() + timedelta(seconds=31)
    assert [o.id for o in first.orders.with_live_offer(due)] == [order.id]
    assert second.orders.with_live_offer(due) == []  # claimed by the first (which died)
    assert [o.id for o in second.orders.with_live_offer(due + timedelta(seconds=10))] == [order.id]


def test_redis_down_is_storage_unavailable() -> None:
    from vtc_dispatch_redis import RedisStorage

    with pytest.raises(
        StorageUnavailable,
        match=r"Redis could not be reached while connecting to redis://127\.0\.0\.1:1/0; nothing",
    ):
        RedisStorage.from_url("redis://127.0.0.1:1/0", prefix="nowhere", retries=0)


def test_redis_gone_midway_is_storage_unavailable_and_nothing_is_half_written() -> None:
    storage = redis_support.fresh_storage(retries=0)
    t0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    storage.drivers.put(DriverStatus("d", "taxi_jaune", AKWA, True, t0))
    client: Any = storage.client  # one Redis: a single connection
    connection: Any = client.connection
    real_port = connection.port
    connection.disconnect()
    connection.port = 1  # Redis "moves away"
    try:
        with pytest.raises(StorageUnavailable, match="reserving driver 'd'"):
            storage.drivers.reserve("d", "o1")
    finally:
        connection.port = real_port
    assert storage.drivers.get("d").order_id is None  # the reservation did not happen
    assert storage.drivers.reserve("d", "o1")


def test_positions_beyond_redis_geo_latitudes_are_refused() -> None:
    from vtc_dispatch.errors import InvalidCoordinates, NotFound

    storage = redis_support.fresh_storage()
    t0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    with pytest.raises(InvalidCoordinates, match=r"got 89\.0"):
        storage.drivers.put(DriverStatus("d", "taxi_jaune", LatLng(89.0, 0.0), True, t0))
    with pytest.raises(NotFound, match="no driver 'd'"):
        storage.drivers.get("d")


def test_the_retry_helper_gives_up_after_its_attempts() -> None:
    from vtc_dispatch_redis import retry_conflicts

    calls: list[Order] = []

    def always() -> None:
        calls.append(Order.__new__(Order))
        raise ConcurrencyConflict("again")

    with pytest.raises(ConcurrencyConflict, match="again"):
        retry_conflicts(always, attempts=3, backoff_s=0.0)
    assert len(calls) == 3


def test_a_reservation_no_order_confirms_is_given_up_after_its_lease() -> None:
    import time

    from samples import new_order

    from vtc_dispatch.order import LiveOffer

    storage = redis_support.fresh_storage(reservation_lease_s=0.2)
    t0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    for name in ("lost", "kept"):
        storage.drivers.put(DriverStatus(name, "taxi_jaune", AKWA, True, t0))
    assert storage.drivers.reserve("lost", "o-dead")  # its worker dies before saving
    assert storage.drivers.reserve("kept", "o1")
    order = storage.orders.add(new_order("o1"))
    storage.orders.save(
        attrs.evolve(order, offers=(LiveOffer("kept", 0.0, t0, t0 + timedelta(seconds=30)),)), 1
    )
    assert storage.drivers.nearest_available(AKWA, 5, 1.0) == []
    time.sleep(0.3)
    assert [d for d, _ in storage.drivers.nearest_available(AKWA, 5, 1.0)] == ["lost"]
    assert storage.drivers.get("lost").order_id is None
    assert storage.drivers.get("kept").order_id == "o1"


def test_saving_an_order_that_no_longer_holds_a_driver_frees_that_driver() -> None:
    from samples import new_order

    from vtc_dispatch.order import LiveOffer

    storage = redis_support.fresh_storage()
    t0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    offers = []
    for name in ("a", "b"):
        storage.drivers.put(DriverStatus(name, "taxi_jaune", AKWA, True, t0))
        assert storage.drivers.reserve(name, "o1")
        offers.append(LiveOffer(name, 0.0, t0, t0 + timedelta(seconds=30)))
    order = storage.orders.add(attrs.evolve(new_order("o1"), offers=tuple(offers)))
    # "a" accepts; the worker dies before releasing "b": the save frees "b" itself.
    accepted = attrs.evolve(
        order,
        lifecycle=order.lifecycle.fire("accept", actor="driver", at=t0),
        driver_id="a",
        offers=(),
    )
    storage.orders.save(accepted, 1)
    assert (storage.drivers.get("a").order_id, storage.drivers.get("b").order_id) == ("o1", None)
    assert [d for d, _ in storage.drivers.nearest_available(AKWA, 5, 1.0)] == ["b"]


def test_background_streams_append_every_message_in_order() -> None:
    storage = redis_support.fresh_storage(stream_background=True)
    clock = ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    service = build_service(douala_config(), storage.ports(), clock=clock)
    orders = []
    for i in range(20):
        service.driver_online(f"d{i}", "taxi_jaune", destination_point(AKWA, 18 * i, 0.5))
    for i in range(20):
        orders.append(service.create_order(f"c{i}", AKWA, DEIDO, "taxi_jaune", "CASH"))
        service.accept(orders[-1].offered_to or "", orders[-1].id)
    storage.notifier.flush()
    client: Any = storage.client
    sent = [(f["to"], f["type"]) for _, f in client.xrange(storage.settings.key("s", "customer"))]
    assert sent == [(f"c{i}", "driver_assigned") for i in range(20)]
    assert len(client.xrange(storage.settings.key("s", "driver"))) == 20


def test_a_driver_held_by_another_order_cannot_be_assigned() -> None:
    storage = redis_support.fresh_storage()
    clock = ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    service = build_service(douala_config(), storage.ports(), clock=clock)
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    first = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    # A worker refusing for amadou released him, then died before saving the order.
    storage.drivers.release("amadou", first.id)
    second = service.create_order("paul", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert second.offered_to == "amadou"
    with pytest.raises(ConcurrencyConflict, match=f"order '{second.id}' holds them"):
        service.accept("amadou", first.id)
    assert service.orders.get(first.id).state == "searching"
    assert service.accept("amadou", second.id).driver_id == "amadou"
    assert storage.drivers.get("amadou").order_id == second.id
