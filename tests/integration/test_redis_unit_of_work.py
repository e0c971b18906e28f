"""The Redis unit of work: one script per command, all of it or nothing (real Redis)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
import redis
import redis_support
from samples import AKWA, DEIDO

from vtc_dispatch.changes import (
    ChangeSet,
    Command,
    DriverPositioned,
    DriverRated,
    OrderWrite,
    ProgressWrite,
    RatingIncrement,
    Reservation,
    RideRead,
    StatIncrement,
    WalletCapture,
    WalletHold,
)
from vtc_dispatch.errors import ConcurrencyConflict, NotFound, PaymentRefused
from vtc_dispatch.events import DriverArrived
from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Order
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clean() -> Any:
    yield
    redis_support.clean_up()


def snapshot(storage: Any) -> dict[str, tuple[bytes | None, bool]]:
    """Every key of the storage's prefix with its serialised value and whether it expires."""
    raw = redis.Redis.from_url(redis_support.REDIS_URL)
    keys = list(storage.keys())  # RedisStorage.keys(): the prefix's own keys only
    try:
        return {key: (raw.dump(key), int(raw.pttl(key)) > 0) for key in keys}
    finally:
        raw.close()


def streams(storage: Any) -> dict[str, list[tuple[str, str, str]]]:
    """The entries of the three message streams: (recipient, type, JSON) in order."""
    client: Any = storage.client
    return {
        role: [
            (f["to"], f["type"], f["json"])
            for _, f in client.xrange(storage.settings.key("s", role))
        ]
        for role in ("driver", "customer", "watchers")
    }


def service_on(storage: Any, clock: ManualClock, **extra: Any) -> DispatchService:
    return DispatchService(pricing=douala_config(), clock=clock, **storage.ports(), **extra)


def a_wallet_order(storage: Any) -> tuple[DispatchService, ManualClock, Order]:
    """A WALLET order accepted by amadou, brice online too, chantal's wallet credited."""
    clock = ManualClock(T0)
    service = service_on(storage, clock)
    storage.wallet.credit("chantal", Decimal(10000), "XAF")
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    service.driver_online("brice", "taxi_jaune", LatLng(4.0560, 9.7080))
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET")
    return service, clock, service.accept("amadou", order.id)


def _broken(storage: Any, order: Order, what: str) -> tuple[ChangeSet, Command | None, type]:
    """A change set writing a bit of everything, with one expectation that fails."""
    p = storage.settings.prefix
    arrived = attrs.evolve(order, lifecycle=order.lifecycle.fire("arrive", actor="driver", at=T0))
    progress = storage.progress.get(order.id)
    good = ChangeSet(
        orders=(OrderWrite(arrived, order.version),),
        drivers=(
            DriverPositioned("amadou", AKWA, T0),
            DriverRated("brice", 1, min_count=1, threshold=3.0),
        ),
        progress=(ProgressWrite(progress, progress.version),),
        stats=(StatIncrement("brice", "refused", T0),),
        ratings=(RatingIncrement("chantal", 5),),
        wallet=(WalletHold("extra-hold", "chantal", Decimal(100), "XAF", "tip"),),
        events=(DriverArrived(order.id, "amadou", "chantal", T0),),
    )
    command = Command("tap-9", "arrived", order.id)
    if what == "order version":
        stale = (OrderWrite(arrived, order.version - 1),)
        return attrs.evolve(good, orders=stale), command, ConcurrencyConflict
    if what == "driver taken":
        taken = (Reservation("amadou", "o-x"),)
        return attrs.evolve(good, reserve=taken), command, ConcurrencyConflict
    if what == "progress version":
        ahead = (ProgressWrite(progress, progress.version + 3),)
        return attrs.evolve(good, progress=ahead), command, ConcurrencyConflict
    if what == "ride read at an older order":
        stale_read = (RideRead(order.id, order.version - 1, progress.version),)
        return attrs.evolve(good, reads=stale_read), command, ConcurrencyConflict
    if what == "ride read at an older progress":
        moved = (RideRead(order.id, order.version, progress.version + 1),)
        return attrs.evolve(good, reads=moved), command, ConcurrencyConflict
    if what == "short wallet":
        short = (WalletHold("big-hold", "chantal", Decimal(10**9), "XAF", "tip"),)
        return attrs.evolve(good, wallet=short), command, PaymentRefused
    if what == "missing hold":
        capture = (WalletCapture("cap-x", "hold-nowhere", order.id, Decimal(1)),)
        return attrs.evolve(good, wallet=capture), command, NotFound
    if what == "command recorded":
        storage.client.hset(f"{p}:cmd:tap-9", mapping={"f": "arrived", "r": ""})
        return good, command, ConcurrencyConflict
    raise AssertionError(what)


@pytest.mark.parametrize(
    "what",
    [
        "order version",
        "driver taken",
        "progress version",
        "ride read at an older order",
        "ride read at an older progress",
        "short wallet",
        "missing hold",
        "command recorded",
    ],
)
def test_a_commit_whose_one_expectation_fails_writes_nothing(what: str) -> None:
    storage = redis_support.fresh_storage()
    _, _, order = a_wallet_order(storage)
    changes, command, error = _broken(storage, order, what)
    before = snapshot(storage)
    with pytest.raises(error):
        storage.unit_of_work.commit(changes, command=command)
    assert snapshot(storage) == before


def test_the_same_change_set_without_the_broken_expectation_writes_everything() -> None:
    storage = redis_support.fresh_storage()
    _, _, order = a_wallet_order(storage)
    changes, command, _ = _broken(storage, order, "missing hold")
    changes = attrs.evolve(
        changes, wallet=(WalletHold("extra-hold", "chantal", Decimal(100), "XAF", "tip"),)
    )
    stored = storage.unit_of_work.commit(changes, command=command)
    assert stored[order.id].version == order.version + 1
    assert storage.orders.get(order.id) == stored[order.id]
    assert storage.drivers.get("brice").blocked
    assert [d for d, _ in storage.drivers.nearest_available(AKWA, 5, 2.0)] == []
    assert storage.drivers.get("amadou").position == AKWA
    assert storage.ratings.totals("chantal") == (5, 1)
    assert storage.stats.get("brice").refused == 1
    assert storage.commands.get("tap-9").result == stored[order.id]  # type: ignore[union-attr]
    assert streams(storage)["customer"][-1][:2] == ("chantal", "driver_arrived")


def test_a_replayed_command_returns_the_first_result_and_writes_nothing_again() -> None:
    storage = redis_support.fresh_storage()
    other_worker = redis_support.track(type(storage)(storage.settings))
    clock = ManualClock(T0)
    ids = itertools.count(1)
    first = service_on(storage, clock, new_order_id=lambda: f"a-{next(ids)}")
    second = service_on(other_worker, clock, new_order_id=lambda: f"b-{next(ids)}")
    first.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    order = first.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH", command_id="tap-1")
    before, sent = snapshot(storage), streams(storage)
    again = second.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH", command_id="tap-1")
    assert again == order
    assert snapshot(storage) == before
    assert streams(storage) == sent
    accepted = second.accept("amadou", order.id, command_id="acc-1")
    before, sent = snapshot(storage), streams(storage)
    assert first.accept("amadou", order.id, command_id="acc-1") == accepted
    assert (snapshot(storage), streams(storage)) == (before, sent)
    assert sent["customer"] == [
        ("chantal", "driver_assigned", sent["customer"][0][2])
    ]  # one message for the accept, not two


def test_a_wallet_ride_captures_once_and_stores_the_settled_order_in_the_same_commit() -> None:
    storage = redis_support.fresh_storage()
    service, clock, order = a_wallet_order(storage)
    service.arrived("amadou", order.id, operator_id="ops")
    service.start_trip("amadou", order.id)
    for i in range(1, 7):
        clock.advance(timedelta(seconds=40))
        service.update_position("amadou", destination_point(AKWA, 56.0, 2.7 * i / 6))
    done = service.complete_trip("amadou", order.id, command_id="end-1")
    assert done.final_fare is not None
    fare = done.final_fare.amount
    assert (done.payment_status, done.amount_paid, done.wallet_hold) == ("paid", fare, None)
    assert storage.orders.get(order.id) == done
    assert storage.wallet.balance("chantal", "XAF") == Decimal(10000) - fare
    before = snapshot(storage)
    assert service.complete_trip("amadou", order.id, command_id="end-1") == done
    assert service.settle_payment(order.id) == done
    assert snapshot(storage) == before
    p = storage.settings.prefix
    assert not any(key.startswith(f"{p}:wh:") for key in before)  # the hold is closed
    assert f"{p}:wop:capture-{order.id}" in before


def test_a_capture_the_wallet_cannot_cover_takes_what_it_holds() -> None:
    storage = redis_support.fresh_storage()
    clock = ManualClock(T0)
    service = service_on(storage, clock)
    service.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    [line] = service.search(AKWA, DEIDO)
    storage.wallet.credit("chantal", line.quote.estimate, "XAF")
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "WALLET")
    service.accept("amadou", order.id)
    service.arrived("amadou", order.id, operator_id="ops")
    clock.advance(timedelta(minutes=40))  # waiting beyond the free minutes is charged
    service.start_trip("amadou", order.id)
    clock.advance(timedelta(minutes=6))
    service.update_position("amadou", DEIDO)
    done = service.complete_trip("amadou", order.id)
    assert done.final_fare is not None
    assert done.final_fare.amount > line.quote.estimate
    assert (done.payment_status, done.amount_paid) == ("partially_paid", line.quote.estimate)
    assert storage.orders.get(order.id) == done
    assert storage.wallet.balance("chantal", "XAF") == 0


def test_a_quote_shown_on_one_worker_is_the_price_of_the_order_placed_on_another() -> None:
    storage = redis_support.fresh_storage()
    other_worker = redis_support.track(type(storage)(storage.settings))
    clock = ManualClock(T0)
    searching, ordering = service_on(storage, clock), service_on(other_worker, clock)
    searching.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    [line] = searching.search(AKWA, DEIDO)
    clock.advance(timedelta(seconds=90))
    order = ordering.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.quote == line.quote
    assert order.quote.at == T0


def test_each_commit_appends_its_messages_to_the_streams_once() -> None:
    from test_redis_service import play

    from vtc_dispatch.memory import InMemoryWallet

    wallet = InMemoryWallet()
    in_memory = play({"wallet": wallet}, wallet.credit)
    storage = redis_support.fresh_storage()
    ports = storage.ports()
    del ports["notifier"]  # play() also records what the service publishes, to compare
    assert play(ports, storage.wallet.credit) == in_memory
    expected: dict[str, list[tuple[str, str, str]]] = {"driver": [], "customer": [], "watchers": []}
    for role, to, kind, text in in_memory["wire"]:
        expected[role].append((to, kind, text))
    assert streams(storage) == expected
