"""The operator's live map in the core: driver states, snapshot, batched updates, the feed."""

from __future__ import annotations

import threading
from datetime import timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from places import AKWA, DEIDO, T0

from vtc_dispatch.errors import InvalidArgument, NotFound
from vtc_dispatch.events import DriverMoved
from vtc_dispatch.geo import LatLng
from vtc_dispatch.livemap import (
    LiveMapFeed,
    MapChanges,
    driver_details,
    driver_map_state,
    map_snapshot,
    map_update,
    order_details,
)
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.order import Actor, DriverStatus, Presence
from vtc_dispatch.presentation import MapUpdateMessage
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService

NEAR = LatLng(4.0530, 9.7050)


def _service() -> tuple[DispatchService, ManualClock]:
    clock = ManualClock(T0)
    return DispatchService(pricing=douala_config(), clock=clock), clock


def _states(service: DispatchService) -> dict[str, str]:
    return {d.id: d.state for d in map_snapshot(service).drivers}


def test_each_driver_shows_what_he_is_doing_through_a_ride() -> None:
    service, clock = _service()
    for name, lng in (("amadou", 9.7050), ("brice", 9.7150), ("carine", 9.7100)):
        service.driver_online(name, "taxi_jaune", LatLng(4.0530, lng))
    assert _states(service) == dict.fromkeys(("amadou", "brice", "carine"), "available")
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    assert order.offered_to == "amadou"
    assert _states(service)["amadou"] == "offered"
    service.accept("amadou", order.id)
    assert _states(service)["amadou"] == "on_the_way"
    service.update_position("amadou", AKWA)
    service.arrived("amadou", order.id)
    assert _states(service)["amadou"] == "on_the_way"
    service.start_trip("amadou", order.id)
    assert _states(service)["amadou"] == "on_ride"
    # Silent: first as soon as the presence timeout passed, then as the service marks him.
    clock.advance(timedelta(seconds=61))
    service.update_position("brice", LatLng(4.0531, 9.7150))
    assert _states(service) == {"amadou": "silent", "brice": "available", "carine": "silent"}
    service.expire_due()
    assert service.drivers.get("carine").presence is Presence.SILENT
    assert _states(service)["carine"] == "silent"
    service.driver_offline("brice")
    assert "brice" not in _states(service)


def test_a_blocked_driver_is_shown_blocked_until_an_order_holds_him() -> None:
    at = T0
    status = DriverStatus("d", "taxi_jaune", NEAR, True, at, blocked=True)
    assert driver_map_state(status, None).value == "blocked"
    assert driver_map_state(attrs.evolve(status, order_id="o"), None).value == "offered"
    silent = attrs.evolve(status, presence=Presence.UNREACHABLE)
    assert driver_map_state(silent, None).value == "silent"
    suspended = attrs.evolve(status, blocked=False, suspended=True)
    assert driver_map_state(suspended, None).value == "blocked"
    assert driver_map_state(attrs.evolve(suspended, suspended=False), None).value == "available"


def test_the_snapshot_keeps_the_latest_heard_and_the_newest_and_says_it_cut() -> None:
    service, clock = _service()
    for i in range(4):
        service.driver_online(f"d{i}", "taxi_jaune", LatLng(4.0530 + i / 1000, 9.7050))
        clock.advance(timedelta(seconds=1))
    first = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    second = service.create_order("didier", AKWA, DEIDO, "taxi_jaune", "CASH")
    whole = map_snapshot(service)
    assert not whole.truncated
    assert [o.id for o in whole.orders] == [second.id, first.id]
    assert (whole.orders[0].pickup.lat, whole.orders[0].destination.lng) == (AKWA.lat, DEIDO.lng)
    cut = map_snapshot(service, max_drivers=2, max_orders=1)
    assert cut.truncated
    assert [d.id for d in cut.drivers] == ["d3", "d2"]
    assert [o.id for o in cut.orders] == [second.id]
    # A driver held by an order cut from the snapshot still shows what he does.
    held = {d.id: d.order_id for d in whole.drivers if d.state == "offered"}
    assert set(held.values()) == {first.id, second.id}
    with pytest.raises(InvalidArgument, match="limit must be an integer >= 0, got -1"):
        map_snapshot(service, max_drivers=-1)


def test_many_fixes_of_a_driver_in_a_batch_are_one_move_at_the_latest_position() -> None:
    service, _ = _service()
    service.driver_online("amadou", "taxi_jaune", NEAR)
    service.driver_online("brice", "taxi_jaune", AKWA)
    changes = MapChanges()
    service.subscribe(changes.record)
    for i in range(1, 21):
        service.update_position("amadou", LatLng(4.0530 + i / 10_000, 9.7050))
    service.update_position("brice", LatLng(4.05111111111, 9.70433333333))
    update = map_update(changes.drain(), service)
    assert update is not None
    assert update.moves == (("amadou", 4.0550, 9.7050), ("brice", 4.051111, 9.704333))
    assert (update.drivers, update.orders, update.gone_drivers, update.gone_orders) == (
        (),
        (),
        (),
        (),
    )
    assert map_update(changes.drain(), service) is None


def test_changes_of_state_are_read_again_and_ended_things_go() -> None:
    service, _ = _service()
    service.driver_online("amadou", "taxi_jaune", NEAR)
    changes = MapChanges()
    service.subscribe(changes.record)
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.update_position("amadou", LatLng(4.0531, 9.7050))
    update = map_update(changes.drain(), service)
    assert update is not None
    # He moved but his state changed too: he comes whole, at his stored position.
    assert update.moves == ()
    assert [(d.id, d.state, d.order_id, d.position.lat) for d in update.drivers] == [
        ("amadou", "offered", order.id, 4.0531)
    ]
    assert [(o.id, o.phase, o.driver_id) for o in update.orders] == [(order.id, "searching", None)]
    service.accept("amadou", order.id)
    update = map_update(changes.drain(), service)
    assert update is not None
    assert [(d.id, d.state) for d in update.drivers] == [("amadou", "on_the_way")]
    assert [(o.phase, o.driver_id) for o in update.orders] == [("accepted", "amadou")]
    service.cancel(Actor.customer("chantal"), order.id, "changed my mind")
    service.suspend_driver(Actor.operator("op-1"), "amadou", reason="complaints")
    update = map_update(changes.drain(), service)
    assert update is not None
    assert [(d.id, d.state) for d in update.drivers] == [("amadou", "blocked")]
    assert (update.orders, update.gone_orders) == ((), (order.id,))
    service.driver_offline("amadou")
    update = map_update(changes.drain(), service)
    assert update is not None
    assert (update.drivers, update.gone_drivers) == ((), ("amadou",))


@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(-80, 80), st.floats(-179, 179))))
def test_a_batch_holds_the_last_position_of_every_driver_who_moved(
    fixes: list[tuple[str, float, float]],
) -> None:
    changes = MapChanges()
    last: dict[str, LatLng] = {}
    for driver_id, lat, lng in fixes:
        first = changes.note(DriverMoved(driver_id, LatLng(lat, lng), T0))
        assert first == (len(last) == 0)
        last[driver_id] = LatLng(lat, lng)
    pending = changes.drain()
    assert pending.moves == last
    assert pending.is_empty == (not fixes)
    assert changes.drain().is_empty


def test_the_feed_publishes_one_message_per_window() -> None:
    service, _ = _service()
    service.driver_online("amadou", "taxi_jaune", NEAR)
    published: list[MapUpdateMessage] = []
    sent = threading.Event()

    def publish(update: MapUpdateMessage) -> None:
        published.append(update)
        sent.set()

    with LiveMapFeed(service, publish, window_s=0.3) as feed:
        service.subscribe(feed.record)
        for i in range(1, 11):
            service.update_position("amadou", LatLng(4.0530 + i / 10_000, 9.7050))
        assert sent.wait(5)
        assert [u.moves for u in published] == [(("amadou", 4.054, 9.705),)]
        service.update_position("amadou", NEAR)
    # Closing publishes what was left.
    assert [u.moves for u in published[1:]] == [(("amadou", NEAR.lat, NEAR.lng),)]
    with pytest.raises(InvalidArgument, match="window_s must be within"):
        LiveMapFeed(service, publish, window_s=0)


def test_a_batch_that_fails_is_dropped_and_the_feed_goes_on() -> None:
    service, _ = _service()
    service.driver_online("amadou", "taxi_jaune", NEAR)
    calls: list[MapUpdateMessage] = []
    tried = threading.Event()

    def publish(update: MapUpdateMessage) -> None:
        calls.append(update)
        tried.set()
        if len(calls) == 1:
            raise ConnectionError("the layer is down")

    with LiveMapFeed(service, publish, window_s=0.05) as feed:
        service.subscribe(feed.record)
        service.update_position("amadou", LatLng(4.0531, 9.7050))
        assert tried.wait(5)
        service.update_position("amadou", LatLng(4.0532, 9.7050))
    assert [u.moves for u in calls] == [
        (("amadou", 4.0531, 9.705),),
        (("amadou", 4.0532, 9.705),),
    ]


def test_details_of_a_driver_and_of_an_order_for_an_operator() -> None:
    service, clock = _service()
    service.driver_online("amadou", "taxi_jaune", NEAR)
    alone = driver_details(service, "op-1", "amadou")
    assert (alone.state, alone.order, alone.route) == ("available", None, None)
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("amadou", order.id)
    for position in (LatLng(4.0525, 9.7048), LatLng(4.0520, 9.7046)):
        clock.advance(timedelta(seconds=10))
        service.update_position("amadou", position)
    seen = driver_details(service, "op-1", "amadou")
    assert (seen.state, seen.driver.driver_id) == ("on_the_way", "amadou")
    assert seen.order is not None
    assert seen.order.id == order.id
    assert seen.route is not None
    approach = {f["properties"]["route"]: f["geometry"] for f in seen.route["features"]}
    assert approach["approach"]["coordinates"][-2:] == [[9.7048, 4.0525], [9.7046, 4.052]]
    details = order_details(service, "op-1", order.id)
    assert details.driver is not None
    assert details.driver.driver_id == "amadou"
    assert details.route == seen.route
    assert details.order.offers_made == 1  # an operator's view: the dispatch internals
    with pytest.raises(NotFound, match="no driver 'nobody'"):
        driver_details(service, "op-1", "nobody")
    with pytest.raises(NotFound):
        order_details(service, "op-1", "no-such-order")
