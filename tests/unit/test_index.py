"""DriverIndex: the cases a dispatcher meets, and its errors."""

from __future__ import annotations

import math
from typing import Any

import pytest
from places import DOUALA

from vtc_dispatch.errors import InvalidArgument, InvalidCoordinates, UnknownDriver
from vtc_dispatch.geo.index import DriverIndex
from vtc_dispatch.geo.sphere import LatLng, destination_point, haversine_km


def ring(index: DriverIndex, centre: LatLng, n: int, km: float, vt: str, prefix: str) -> None:
    for i in range(n):
        index.upsert(f"{prefix}{i}", destination_point(centre, 360.0 * i / n, km), vt)


def test_empty_index_answers_empty() -> None:
    index = DriverIndex()
    assert len(index) == 0
    assert index.nearest(DOUALA, 10, 5.0) == []
    assert index.count_within(DOUALA, 5.0) == {}


def test_k_larger_than_population_returns_everyone_in_range_sorted() -> None:
    index = DriverIndex()
    for i, km in enumerate([0.9, 0.1, 0.5, 7.0]):
        index.upsert(f"d{i}", destination_point(DOUALA, 30.0 * i, km), "confort")
    got = index.nearest(DOUALA, 100, 5.0)
    assert [d for d, _ in got] == ["d1", "d2", "d0"]
    assert [round(km, 6) for _, km in got] == [0.1, 0.5, 0.9]


def test_ties_break_by_driver_id() -> None:
    index = DriverIndex()
    for did in ["zed", "alpha", "mike"]:
        index.upsert(did, DOUALA, "taxi_jaune")
    assert index.nearest(DOUALA, 2, 1.0) == [("alpha", 0.0), ("mike", 0.0)]


def test_filters_by_type_and_excludes_ids() -> None:
    index = DriverIndex()
    ring(index, DOUALA, 8, 1.0, "taxi_jaune", "t")
    ring(index, DOUALA, 8, 0.5, "confort", "c")
    got = index.nearest(DOUALA, 3, 5.0, vehicle_types={"taxi_jaune"}, exclude={"t0", "t1"})
    assert [d for d, _ in got] == ["t2", "t3", "t4"]
    assert index.nearest(DOUALA, 3, 5.0, vehicle_types=["van"]) == []
    assert index.count_within(DOUALA, 0.75) == {"confort": 8}
    assert index.count_within(DOUALA, 1.5) == {"confort": 8, "taxi_jaune": 8}


def test_radius_is_inclusive_and_exact() -> None:
    index = DriverIndex()
    edge = destination_point(DOUALA, 45.0, 5.0)
    index.upsert("edge", edge, "confort")
    exact = haversine_km(DOUALA, edge)
    assert index.nearest(DOUALA, 1, exact) == [("edge", exact)]
    assert index.nearest(DOUALA, 1, math.nextafter(exact, 0.0)) == []
    assert index.count_within(DOUALA, exact) == {"confort": 1}


def test_moves_change_cell_type_and_answers() -> None:
    index = DriverIndex()
    index.upsert("d1", DOUALA, "confort")
    index.upsert("d2", destination_point(DOUALA, 0.0, 2.0), "confort")
    far = destination_point(DOUALA, 90.0, 30.0)
    index.upsert("d1", far, "moto")
    assert index.position("d1") == far
    assert index.vehicle_type("d1") == "moto"
    assert [d for d, _ in index.nearest(DOUALA, 5, 10.0)] == ["d2"]
    assert index.count_within(far, 1.0) == {"moto": 1}
    index.remove("d2")
    assert "d2" not in index
    assert index.nearest(DOUALA, 5, 10.0) == []
    assert list(index) == ["d1"]


def test_poles_and_antimeridian() -> None:
    index = DriverIndex()
    index.upsert("east", LatLng(0.0, 179.999), "confort")
    index.upsert("west", LatLng(0.0, -179.999), "confort")
    got = index.nearest(LatLng(0.0, 180.0), 5, 1.0)
    assert [d for d, _ in got] == ["east", "west"]
    index.upsert("n1", LatLng(89.9999, 0.0), "moto")
    index.upsert("n2", LatLng(89.9999, 180.0), "moto")
    assert [d for d, _ in index.nearest(LatLng(90.0, 42.0), 5, 0.1)] == ["n1", "n2"]
    assert index.count_within(LatLng(90.0, 0.0), 0.1) == {"moto": 2}


def test_whole_earth_radius_finds_the_antipode() -> None:
    index = DriverIndex()
    index.upsert("antipode", LatLng(-4.05, -170.30), "confort")
    got = index.nearest(DOUALA, 1, math.inf)
    assert got == [("antipode", haversine_km(DOUALA, LatLng(-4.05, -170.30)))]
    assert index.count_within(DOUALA, 20_100.0) == {"confort": 1}


@pytest.mark.parametrize("bad", [-1.0, math.nan, "5", True])
def test_bad_radius_is_refused(bad: object) -> None:
    index = DriverIndex()
    with pytest.raises(InvalidCoordinates, match=r"max_km must be a number >= 0, got"):
        index.nearest(DOUALA, 1, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidCoordinates, match=r"max_km"):
        index.count_within(DOUALA, bad)  # type: ignore[arg-type]


def test_bad_arguments_are_refused_and_change_nothing() -> None:
    index = DriverIndex()
    index.upsert("d1", DOUALA, "confort")
    with pytest.raises(ValueError, match="k must be an integer >= 0, got -1"):
        index.nearest(DOUALA, -1, 1.0)
    with pytest.raises(
        InvalidArgument, match="vehicle_types must be a collection of strings, got 'confort'"
    ):
        index.nearest(DOUALA, 1, 1.0, vehicle_types="confort")
    with pytest.raises(InvalidCoordinates, match=r"position must be a LatLng, got \(4.0, 9.0\)"):
        index.upsert("d1", (4.0, 9.0), "confort")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="vehicle_type must be a non-empty string, got ''"):
        index.upsert("d1", DOUALA, "")
    with pytest.raises(InvalidArgument, match="driver_id must be a non-empty string, got 7"):
        index.upsert(7, DOUALA, "confort")  # type: ignore[arg-type]
    with pytest.raises(InvalidCoordinates, match="row_deg"):
        DriverIndex(row_deg=0.0)
    assert index.position("d1") == DOUALA
    assert index.vehicle_type("d1") == "confort"
    assert len(index) == 1


def _populated() -> DriverIndex:
    index = DriverIndex()
    index.upsert("d1", DOUALA, "confort")
    index.upsert("d2", destination_point(DOUALA, 90, 0.5), "taxi_jaune")
    return index


def _contents(index: DriverIndex) -> list[tuple[str, LatLng, str]]:
    return sorted((d, index.position(d), index.vehicle_type(d)) for d in index)


@pytest.mark.parametrize(
    ("error", "match", "call"),
    [
        (
            InvalidCoordinates,
            "k must be an integer >= 0, got True",
            lambda i: i.nearest(DOUALA, True, 1.0),
        ),
        (
            InvalidCoordinates,
            r"point must be a LatLng, got \(4.05, 9.7\)",
            lambda i: i.nearest((4.05, 9.7), 1, 1.0),
        ),
        (
            InvalidCoordinates,
            "point must be a LatLng, got None",
            lambda i: i.count_within(None, 1.0),
        ),
        (
            InvalidArgument,
            "cap must be an integer >= 1 or None, got 0",
            lambda i: i.count_within(DOUALA, 1.0, cap=0),
        ),
        (
            InvalidArgument,
            "driver_id must be a non-empty string, got 5",
            lambda i: i.upsert(5, DOUALA, "confort"),
        ),
        (
            InvalidArgument,
            "driver_id must be a non-empty string, got ''",
            lambda i: i.upsert("", DOUALA, "confort"),
        ),
        (
            InvalidArgument,
            "vehicle_type must be a non-empty string, got None",
            lambda i: i.upsert("d3", DOUALA, None),
        ),
        (
            InvalidArgument,
            "vehicle_types must be a collection of strings, got 't'",
            lambda i: i.nearest(DOUALA, 1, 1.0, vehicle_types="t"),
        ),
        (
            InvalidArgument,
            "vehicle_types must be a collection of strings, got 5",
            lambda i: i.nearest(DOUALA, 1, 1.0, vehicle_types=5),
        ),
        (
            InvalidArgument,
            "vehicle_types must be a collection of strings",
            lambda i: i.nearest(DOUALA, 1, 1.0, vehicle_types=[["confort"]]),
        ),
        (
            InvalidArgument,
            "exclude must be a collection of strings, got 'd1'",
            lambda i: i.nearest(DOUALA, 1, 1.0, exclude="d1"),
        ),
        (
            InvalidArgument,
            "exclude must be a collection of strings",
            lambda i: i.nearest(DOUALA, 1, 1.0, exclude=[["d1"]]),
        ),
        (
            InvalidArgument,
            r"driver_id must be a non-empty string, got \['d1'\]",
            lambda i: i.remove(["d1"]),
        ),
        (
            InvalidArgument,
            r"driver_id must be a non-empty string, got \['d1'\]",
            lambda i: i.position(["d1"]),
        ),
        (
            InvalidArgument,
            r"driver_id must be a non-empty string, got \['d1'\]",
            lambda i: i.vehicle_type(["d1"]),
        ),
    ],
)
def test_every_public_method_refuses_bad_arguments_with_a_typed_error_and_changes_nothing(
    error: type[Exception], match: str, call: Any
) -> None:
    index = _populated()
    before = _contents(index)
    with pytest.raises(error, match=match):
        call(index)
    assert _contents(index) == before


def test_an_unhashable_id_is_in_no_index() -> None:
    index = _populated()
    assert ["d1"] not in index
    assert index.discard(["d1"]) is False  # type: ignore[arg-type]
    assert len(index) == 2


def test_unknown_driver_errors_name_the_id() -> None:
    index = DriverIndex()
    for call in (index.remove, index.position, index.vehicle_type):
        with pytest.raises(UnknownDriver, match="driver 'nobody' is not in the index"):
            call("nobody")
    assert index.discard("nobody") is False


def test_swap_remove_keeps_the_other_drivers_of_the_cell() -> None:
    index = DriverIndex()
    for i in range(5):
        index.upsert(f"d{i}", destination_point(DOUALA, 72.0 * i, 0.01 * (i + 1)), "confort")
    index.remove("d1")
    index.upsert("d3", destination_point(DOUALA, 0.0, 0.001), "confort")
    got = index.nearest(DOUALA, 10, 1.0)
    assert [d for d, _ in got] == ["d3", "d0", "d2", "d4"]
    for did, km in got:
        assert km == haversine_km(DOUALA, index.position(did))


def test_the_antipode_is_measured_exactly_not_assumed_inside() -> None:
    index = DriverIndex()
    index.upsert("south", LatLng(-90.0, 0.0), "confort")
    pole_to_pole = haversine_km(LatLng(90.0, 0.0), LatLng(-90.0, 0.0))
    assert index.count_within(LatLng(90.0, 0.0), pole_to_pole - 0.01) == {}
    assert index.count_within(LatLng(90.0, 0.0), pole_to_pole) == {"confort": 1}
    assert index.nearest(LatLng(90.0, 0.0), 1, pole_to_pole - 0.01) == []


def test_capped_count_is_exact_below_the_cap_and_the_cap_above() -> None:
    import random

    rng = random.Random(7)
    index = DriverIndex()
    for i in range(3000):
        point = LatLng(DOUALA.lat + rng.uniform(-0.1, 0.1), DOUALA.lng + rng.uniform(-0.1, 0.1))
        index.upsert(f"d{i}", point, "taxi_jaune" if i % 50 else "confort")
    exact = index.count_within(DOUALA, 6.0)
    assert exact["taxi_jaune"] > 500 > exact["confort"] > 5
    capped = index.count_within(DOUALA, 6.0, cap=100)
    assert capped == {"taxi_jaune": 100, "confort": exact["confort"]}
    assert index.count_within(DOUALA, 6.0, cap=10_000) == exact


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_bad_cap_is_refused(bad: object) -> None:
    index = DriverIndex()
    index.upsert("d1", DOUALA, "confort")
    with pytest.raises(InvalidArgument, match="cap must be"):
        index.count_within(DOUALA, 1.0, cap=bad)  # type: ignore[arg-type]
