"""Pool configuration, driver statistics and rankers."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from places import DOUALA, T0
from pydantic import ValidationError

from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.pool import (
    Candidate,
    DistanceRanker,
    EtaRanker,
    PoolConfig,
    PoolSettings,
    ScoredRanker,
    StatsBook,
)
from vtc_dispatch.ports import RouteEstimate


def test_radii_grow_by_steps_to_the_maximum() -> None:
    assert PoolSettings().radii() == [3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert PoolSettings(radius_min_km=2, radius_max_km=2).radii() == [2.0]
    with pytest.raises(ValidationError, match=r"radius_min_km \(12.0\) is above radius_max_km"):
        PoolSettings(radius_min_km=12)


def test_bids_must_fit_in_the_search() -> None:
    with pytest.raises(ValidationError, match=r"bidding_window_s \(400.0\) is longer than"):
        PoolSettings(mode="bidding", bidding_window_s=400, search_timeout_s=300)
    assert PoolSettings(mode="batch", bidding_window_s=400, search_timeout_s=300).mode == "batch"


def test_the_most_specific_override_wins() -> None:
    config = PoolConfig.model_validate(
        {
            "overrides": [
                {"vehicle_type": "confort", "settings": {"max_waiting_time_s": 20}},
                {"city": "douala", "settings": {"max_waiting_time_s": 40}},
                {"city": "douala", "vehicle_type": "confort", "settings": {"max_offers": 3}},
            ]
        }
    )
    assert config.settings_for("douala", "confort").max_offers == 3
    assert config.settings_for("douala", "confort").max_waiting_time_s == 30.0
    assert config.settings_for("dakar", "confort").max_waiting_time_s == 20.0
    assert config.settings_for("douala", "moto").max_waiting_time_s == 40.0
    assert config.settings_for("dakar", "moto") == PoolSettings()


def test_an_invalid_override_is_refused_at_load() -> None:
    with pytest.raises(
        ValidationError,
        match=r"overrides\[0\]\.settings\.max_waiting_time_s: Input should be greater than 0"
        r" \(got -1\)",
    ):
        PoolConfig.model_validate({"overrides": [{"settings": {"max_waiting_time_s": -1}}]})


def test_stats_count_and_slide() -> None:
    book = StatsBook(window=timedelta(hours=1))
    for outcome, minutes in [
        ("offered", 0),
        ("accepted", 0),
        ("offered", 10),
        ("refused", 10),
        ("offered", 50),
        ("expired", 50),
        ("cancelled_after_accept", 55),
    ]:
        book.record("d", outcome, T0 + timedelta(minutes=minutes))  # type: ignore[arg-type]
    stats = book.get("d")
    assert (stats.offered, stats.accepted, stats.refused, stats.expired) == (3, 1, 1, 1)
    assert stats.acceptance_rate(T0 + timedelta(minutes=55)) == pytest.approx(1 / 3)
    assert stats.cancellation_rate(T0 + timedelta(minutes=55)) == 1.0
    # An hour later the acceptance has left the window.
    assert stats.acceptance_rate(T0 + timedelta(minutes=61)) == pytest.approx(0.0)
    assert book.get("nobody").acceptance_rate(T0) is None
    with pytest.raises(ValueError, match="unknown outcome 'ignored'"):
        book.record("d", "ignored", T0)  # type: ignore[arg-type]


def candidate(name: str, km: float, bearing: float = 0.0) -> Candidate:
    return Candidate(name, km, destination_point(DOUALA, bearing, km))


def test_distance_ranking_breaks_ties_by_id() -> None:
    ranked = DistanceRanker().rank(
        DOUALA, [candidate("b", 1.0), candidate("a", 1.0), candidate("c", 0.5)], T0
    )
    assert [c.driver_id for c, _ in ranked] == ["c", "a", "b"]


@attrs.frozen
class SlowNorth:
    """A router where going south is twice as fast as going north."""

    def estimate(self, pickup: LatLng, dropoff: LatLng) -> RouteEstimate:
        minutes = abs(pickup.lat - dropoff.lat) * 1000 * (2.0 if dropoff.lat > pickup.lat else 1.0)
        return RouteEstimate(1.0, minutes, 1.0, 1.0, minutes, minutes)


def test_eta_ranking_follows_the_router() -> None:
    north = candidate("north", 1.0, bearing=180)  # south of the pickup, drives north
    south = candidate("south", 1.5, bearing=0)  # north of the pickup, drives south
    ranked = EtaRanker(SlowNorth()).rank(DOUALA, [north, south], T0)
    assert [c.driver_id for c, _ in ranked] == ["south", "north"]


def test_scored_ranking_puts_unreliable_drivers_later() -> None:
    book = StatsBook()
    for _ in range(4):
        book.record("flaky", "refused", T0)
    book.record("steady", "accepted", T0)
    ranked = ScoredRanker(book).rank(
        DOUALA, [candidate("flaky", 1.0), candidate("steady", 1.5), candidate("new", 1.2)], T0
    )
    assert [c.driver_id for c, _ in ranked] == ["new", "steady", "flaky"]
    with pytest.raises(ValueError, match="needs the current time"):
        ScoredRanker(book).rank(DOUALA, [], None)


PEAK = {
    "default": {"mode": "matching"},
    "overrides": [
        {"hours": [17, 18], "settings": {"window_s": 30}},
        {"vehicle_type": "confort", "settings": {"radius_max_km": 15, "window_s": 5}},
        {"city": "douala", "vehicle_type": "confort", "hours": [18], "settings": {"window_s": 20}},
    ],
}


def test_an_override_with_hours_applies_at_its_hours_on_top_of_the_others() -> None:
    config = PoolConfig.model_validate(PEAK)
    assert config.by_hour
    windows = {
        (vt, hour): config.settings_for("douala", vt, hour=hour).window_s
        for vt in ("taxi_jaune", "confort")
        for hour in (None, 16, 17, 18)
    }
    assert windows == {
        ("taxi_jaune", None): 3.0,
        ("taxi_jaune", 16): 3.0,
        ("taxi_jaune", 17): 30.0,
        ("taxi_jaune", 18): 30.0,
        ("confort", None): 5.0,
        ("confort", 16): 5.0,
        ("confort", 17): 30.0,  # the hours win over the vehicle type's override...
        ("confort", 18): 20.0,  # ...and the most specific of those naming the hour wins
    }
    # What the hour's override does not name stays as the other overrides set it.
    assert config.settings_for("douala", "confort", hour=18).radius_max_km == 15.0
    assert config.settings_for("dakar", "confort", hour=18).window_s == 30.0
    assert not PoolConfig().by_hour


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"hours": [], "settings": {}}, r"hours: name at least one hour"),
        ({"hours": [24], "settings": {}}, r"hours\.0\s+Input should be less than or equal to 23"),
        (
            {"hours": [18], "settings": {"mode": "batch"}},
            r"settings\.mode: an override with hours may not change the pool mode \(got 'batch'\)",
        ),
    ],
)
def test_a_bad_hours_override_is_refused(override: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PoolConfig.model_validate({"overrides": [override]})


def test_an_hours_override_must_fit_every_override_it_may_go_on_top_of() -> None:
    # Alone each is valid; at 18:00 for confort the two would give radius_min 8 > max 6.
    with pytest.raises(
        ValidationError, match=r"overrides\[1\]\.settings: Value error, radius_min_km \(8.0\)"
    ):
        PoolConfig.model_validate(
            {
                "overrides": [
                    {"vehicle_type": "confort", "settings": {"radius_max_km": 6}},
                    {"hours": [18], "settings": {"radius_min_km": 8}},
                ]
            }
        )
