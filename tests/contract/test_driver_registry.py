"""The DriverRegistry contract: only available drivers are found."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from places import AKWA, T0

from vtc_dispatch.errors import InvalidArgument, InvalidCoordinates, NotFound
from vtc_dispatch.geo import destination_point
from vtc_dispatch.order import DriverStatus, Presence
from vtc_dispatch.ports import DriverRegistry


def test_only_available_drivers_are_found(registry: DriverRegistry) -> None:
    near = DriverStatus("near", "taxi_jaune", destination_point(AKWA, 0, 0.2), True, T0)
    far = DriverStatus("far", "taxi_jaune", destination_point(AKWA, 90, 1.0), True, T0)
    comfy = DriverStatus("comfy", "confort", destination_point(AKWA, 180, 0.5), True, T0)
    for status in (near, far, comfy):
        registry.put(status)
    assert [d for d, _ in registry.nearest_available(AKWA, 5, 3.0, ["taxi_jaune"])] == [
        "near",
        "far",
    ]
    assert registry.count_available(AKWA, 3.0) == {"taxi_jaune": 2, "confort": 1}
    registry.put(attrs.evolve(near, order_id="o1"))
    registry.put(attrs.evolve(far, online=False))
    registry.put(attrs.evolve(comfy, blocked=True))
    assert registry.nearest_available(AKWA, 5, 3.0) == []
    assert registry.count_available(AKWA, 3.0) == {}
    assert registry.get("near").order_id == "o1"
    registry.put(attrs.evolve(near, order_id=None))
    assert [d for d, _ in registry.nearest_available(AKWA, 5, 3.0, exclude={"x"})] == ["near"]
    assert registry.nearest_available(AKWA, 5, 3.0, exclude={"near"}) == []


def test_a_suspended_driver_is_stored_and_neither_found_nor_reserved(
    registry: DriverRegistry,
) -> None:
    near = DriverStatus("near", "taxi_jaune", destination_point(AKWA, 0, 0.2), True, T0)
    registry.put(attrs.evolve(near, suspended=True))
    stored = registry.get("near")
    assert (stored.suspended, stored.blocked, stored.available) == (True, False, False)
    assert registry.nearest_available(AKWA, 5, 3.0) == []
    assert registry.count_available(AKWA, 3.0) == {}
    assert not registry.reserve("near", "o1")
    registry.put(attrs.evolve(registry.get("near"), suspended=False))
    assert [d for d, _ in registry.nearest_available(AKWA, 5, 3.0)] == ["near"]
    assert registry.reserve("near", "o1")
    # Freed while suspended, he stays out of search.
    registry.put(attrs.evolve(registry.get("near"), suspended=True))
    registry.release("near", "o1")
    assert registry.nearest_available(AKWA, 5, 3.0) == []
    assert registry.get("near").order_id is None


def test_unknown_driver(registry: DriverRegistry) -> None:
    with pytest.raises(NotFound, match="no driver 'ghost'"):
        registry.get("ghost")


def test_reserve_and_release(registry: DriverRegistry) -> None:
    registry.put(DriverStatus("d", "taxi_jaune", AKWA, True, T0))
    registry.put(DriverStatus("off", "taxi_jaune", AKWA, False, T0))
    assert registry.reserve("d", "o1") is True
    assert registry.get("d").order_id == "o1"
    assert registry.nearest_available(AKWA, 5, 1.0) == []
    assert registry.reserve("d", "o2") is False
    registry.release("d", "o2")  # not its order: nothing happens
    assert registry.get("d").order_id == "o1"
    registry.release("d", "o1")
    assert [d for d, _ in registry.nearest_available(AKWA, 5, 1.0)] == ["d"]
    assert registry.reserve("off", "o1") is False
    assert registry.reserve("ghost", "o1") is False


def test_one_reservation_wins_a_race(registry: DriverRegistry) -> None:
    import threading

    registry.put(DriverStatus("d", "taxi_jaune", AKWA, True, T0))
    start = threading.Barrier(8)
    won: list[str] = []

    def grab(order_id: str) -> None:
        start.wait()
        if registry.reserve("d", order_id):
            won.append(order_id)

    threads = [threading.Thread(target=grab, args=(f"o{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert registry.get("d").order_id == won[0]


def test_counts_stop_at_the_cap(registry: DriverRegistry) -> None:
    for i in range(5):
        point = destination_point(AKWA, 72.0 * i, 0.3 + 0.2 * i)
        registry.put(DriverStatus(f"t{i}", "taxi_jaune", point, True, T0))
    registry.put(DriverStatus("c0", "confort", destination_point(AKWA, 10, 0.4), True, T0))
    assert registry.count_available(AKWA, 3.0) == {"taxi_jaune": 5, "confort": 1}
    assert registry.count_available(AKWA, 3.0, cap=3) == {"taxi_jaune": 3, "confort": 1}
    assert registry.count_available(AKWA, 3.0, cap=5) == {"taxi_jaune": 5, "confort": 1}
    with pytest.raises(ValueError, match="cap must be"):
        registry.count_available(AKWA, 3.0, cap=0)


@pytest.mark.parametrize("bad", [-1.0, math.nan, "5", None, True])
def test_every_registry_refuses_the_same_radii(registry: DriverRegistry, bad: object) -> None:
    with pytest.raises(InvalidCoordinates, match="max_km must be a number >= 0"):
        registry.nearest_available(AKWA, 1, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidCoordinates, match="max_km must be a number >= 0"):
        registry.count_available(AKWA, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_every_registry_refuses_the_same_k(registry: DriverRegistry, bad: object) -> None:
    with pytest.raises(InvalidCoordinates, match="k must be an integer >= 0"):
        registry.nearest_available(AKWA, bad, 3.0)  # type: ignore[arg-type]


def test_an_infinite_radius_means_anywhere(registry: DriverRegistry) -> None:
    far = destination_point(AKWA, 90, 5_000.0)
    registry.put(DriverStatus("far", "confort", far, True, T0))
    assert [d for d, _ in registry.nearest_available(AKWA, 1, math.inf)] == ["far"]
    assert registry.count_available(AKWA, math.inf) == {"confort": 1}


# -- presence: drivers last heard from long ago are left out (issue 14) ---------------


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _heard(driver_id: str, seconds: float, **changes: Any) -> DriverStatus:
    """An online driver near Akwa, last heard from ``seconds`` after T0."""
    point = destination_point(AKWA, 40.0 * len(driver_id), 0.2 + 0.1 * len(driver_id))
    status = DriverStatus(driver_id, "taxi_jaune", point, True, T0, seen_at=_at(seconds))
    return attrs.evolve(status, **changes)


def test_a_search_leaves_out_drivers_heard_from_before_its_cut_off(
    registry: DriverRegistry,
) -> None:
    for driver_id, seconds in (("old", 0), ("mid", 30), ("new", 55)):
        registry.put(_heard(driver_id, seconds))
    cut = _at(30)
    assert {d for d, _ in registry.nearest_available(AKWA, 5, 3.0, seen_since=cut)} == {
        "mid",
        "new",
    }
    assert [d for d, _ in registry.nearest_available(AKWA, 1, 3.0, seen_since=_at(31))] == ["new"]
    assert registry.count_available(AKWA, 3.0, seen_since=cut) == {"taxi_jaune": 2}
    assert registry.count_available(AKWA, 3.0, cap=1, seen_since=cut) == {"taxi_jaune": 1}
    assert registry.count_available(AKWA, 3.0, seen_since=_at(60)) == {}
    assert registry.count_available(AKWA, 3.0) == {"taxi_jaune": 3}
    # Heard from again: found again.
    registry.put(_heard("old", 70))
    assert {d for d, _ in registry.nearest_available(AKWA, 5, 3.0, seen_since=_at(60))} == {"old"}
    excluded = registry.nearest_available(AKWA, 5, 3.0, exclude={"old"}, seen_since=_at(60))
    assert excluded == []


@pytest.mark.parametrize("presence", [Presence.SILENT, Presence.UNREACHABLE])
def test_a_driver_not_present_is_neither_found_nor_reserved(
    registry: DriverRegistry, presence: Presence
) -> None:
    registry.put(_heard("gone", 0, presence=presence))
    assert registry.nearest_available(AKWA, 5, 3.0) == []
    assert registry.count_available(AKWA, 3.0) == {}
    assert registry.reserve("gone", "o1") is False
    back = registry.get("gone")
    assert (back.presence, back.seen_at, back.online) == (presence, _at(0), True)
    registry.put(attrs.evolve(back, presence=Presence.PRESENT, seen_at=_at(90)))
    assert [d for d, _ in registry.nearest_available(AKWA, 5, 3.0)] == ["gone"]


def test_a_driver_freed_while_silent_stays_out_of_search(registry: DriverRegistry) -> None:
    registry.put(_heard("d", 0))
    assert registry.reserve("d", "o1") is True
    registry.put(attrs.evolve(registry.get("d"), presence=Presence.SILENT))
    registry.release("d", "o1")
    assert registry.get("d").order_id is None
    assert registry.nearest_available(AKWA, 5, 3.0) == []


def test_heard_before_lists_the_longest_silent_first(registry: DriverRegistry) -> None:
    for driver_id, seconds in (("b", 20), ("a", 10), ("c", 40), ("off", 0)):
        registry.put(_heard(driver_id, seconds))
    registry.put(attrs.evolve(registry.get("off"), online=False, offline_reason="silent"))
    found = registry.heard_before(_at(30), present=True)
    assert [s.driver_id for s in found] == ["a", "b"]
    assert [s.driver_id for s in registry.heard_before(_at(30), present=True, limit=1)] == ["a"]
    assert registry.heard_before(_at(30), present=False) == []
    assert registry.get("off").offline_reason == "silent"
    # Once silent, the driver is listed among those not present, unless an order holds him.
    registry.put(attrs.evolve(registry.get("a"), presence=Presence.SILENT))
    registry.put(attrs.evolve(registry.get("b"), presence=Presence.SILENT, order_id="o1"))
    assert registry.heard_before(_at(30), present=True) == []
    assert [s.driver_id for s in registry.heard_before(_at(30), present=False)] == ["a"]
    assert registry.heard_before(_at(10), present=False) == []


# -- the operator's map: every online driver (issue 17) ------------------------------


def test_online_drivers_lists_every_online_driver_the_latest_heard_first(
    registry: DriverRegistry,
) -> None:
    assert registry.online_drivers() == []
    for driver_id, seconds in (("a", 10), ("b", 30), ("c", 20), ("off", 40)):
        registry.put(_heard(driver_id, seconds))
    registry.put(attrs.evolve(registry.get("off"), online=False))
    # Whatever they do, online drivers are listed: held by an order, silent, blocked.
    assert registry.reserve("a", "o1") is True
    registry.put(attrs.evolve(registry.get("c"), presence=Presence.SILENT))
    registry.put(attrs.evolve(registry.get("b"), blocked=True))
    online = registry.online_drivers()
    assert [s.driver_id for s in online] == ["b", "c", "a"]
    assert online == [registry.get(d) for d in ("b", "c", "a")]
    assert [s.driver_id for s in registry.online_drivers(limit=2)] == ["b", "c"]
    assert registry.online_drivers(limit=0) == []
    # Heard from again: first.
    registry.put(attrs.evolve(registry.get("a"), seen_at=_at(50)))
    assert [s.driver_id for s in registry.online_drivers(limit=1)] == ["a"]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_every_registry_refuses_the_same_limits(registry: DriverRegistry, bad: object) -> None:
    with pytest.raises(InvalidArgument, match="limit must be an integer >= 0"):
        registry.online_drivers(limit=bad)  # type: ignore[arg-type]
