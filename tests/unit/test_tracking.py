"""GPS track classification, distances to the planned line, ETA and the location throttle."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import attrs
import places
import pytest
from places import DOUALA, WAT

from vtc_dispatch.errors import InvalidCoordinates
from vtc_dispatch.geo.sphere import LatLng, destination_point, haversine_km
from vtc_dispatch.tracking import (
    Flag,
    Track,
    TrackPoint,
    TrackPolicy,
    cross_track_km,
    eta_s,
    location_due,
    off_corridor,
)

# Tracks are dated in local time, so comparisons across time zones get tested.
T0 = places.T0.astimezone(WAT)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def started() -> Track:
    track, _ = Track().add(DOUALA, T0)
    return track


def test_first_point_is_accepted() -> None:
    track, point = Track().add(DOUALA, T0)
    assert point == TrackPoint(DOUALA, T0)
    assert point.accepted
    assert track.points == (point,)
    assert track.last == point


def test_plausible_move_is_accepted() -> None:
    near = destination_point(DOUALA, 45.0, 0.2)  # 200 m in 10 s: 72 km/h
    track, point = started().add(near, at(10))
    assert point.flag is None
    assert track.last == point


def test_jump_is_flagged_and_left_out() -> None:
    far = destination_point(DOUALA, 0.0, 1.0)  # 1 km in 10 s: 360 km/h
    track, point = started().add(far, at(10))
    assert point.flag is Flag.JUMP
    assert not point.accepted
    assert track.last == TrackPoint(DOUALA, T0)
    assert track.distance_km == 0.0
    assert track.duration_s == 0.0


def test_jump_threshold_is_the_policy_speed_and_the_limit_itself_is_accepted() -> None:
    far = destination_point(DOUALA, 0.0, 1.0)
    speed_kmh = haversine_km(DOUALA, far) / 10.0 * 3600.0  # about 360 km/h
    for max_speed_kmh, flag in [(speed_kmh, None), (speed_kmh * (1 - 1e-9), Flag.JUMP)]:
        track, _ = Track(policy=TrackPolicy(max_speed_kmh=max_speed_kmh)).add(DOUALA, T0)
        assert track.add(far, at(10))[1].flag is flag


def test_after_a_gps_outage_a_real_move_is_accepted_once_time_makes_it_plausible() -> None:
    far = destination_point(DOUALA, 0.0, 10.0)
    track, glitch = started().add(far, at(60))  # 10 km in a minute
    track, later = track.add(far, at(600))  # 10 km in ten minutes: 60 km/h
    assert (glitch.flag, later.flag) == (Flag.JUMP, None)


def test_stale_point_is_flagged_even_as_the_first_point() -> None:
    _, point = Track().add(DOUALA, T0, received_at=at(121))
    assert point.flag is Flag.STALE
    _, point = Track().add(DOUALA, T0, received_at=at(120))
    assert point.flag is None


def test_stale_wins_over_the_other_flags() -> None:
    _, point = started().add(DOUALA, T0, received_at=at(600))
    assert point.flag is Flag.STALE


def test_stale_uses_the_policy_delay_and_compares_across_time_zones() -> None:
    track = Track(policy=TrackPolicy(max_delay_s=10.0))
    received_utc = (T0 + timedelta(seconds=11)).astimezone(UTC)
    assert track.add(DOUALA, T0, received_at=received_utc)[1].flag is Flag.STALE


def test_out_of_order_point_is_flagged() -> None:
    track, _ = started().add(destination_point(DOUALA, 90.0, 0.1), at(10))
    _, earlier = track.add(destination_point(DOUALA, 90.0, 0.05), at(5))
    assert earlier.flag is Flag.OUT_OF_ORDER


def test_same_time_elsewhere_is_out_of_order_and_same_time_same_place_is_duplicate() -> None:
    track = started()
    assert track.add(destination_point(DOUALA, 90.0, 0.01), T0)[1].flag is Flag.OUT_OF_ORDER
    assert track.add(DOUALA, T0)[1].flag is Flag.DUPLICATE
    # Same place at an earlier time is not a duplicate.
    assert track.add(DOUALA, at(-1))[1].flag is Flag.OUT_OF_ORDER


def test_same_place_later_is_accepted() -> None:
    assert started().add(DOUALA, at(30))[1].flag is None


def test_points_are_compared_with_the_last_accepted_point_not_the_last_point() -> None:
    far = destination_point(DOUALA, 0.0, 5.0)
    track, _ = started().add(far, at(10))  # jump
    # Same time and place as the jump: measured from DOUALA it is still a jump, not a duplicate.
    assert track.add(far, at(10))[1].flag is Flag.JUMP
    assert track.add(DOUALA, at(20))[1].flag is None


def test_distance_and_duration_count_accepted_points_only() -> None:
    a = DOUALA
    b = destination_point(a, 90.0, 0.3)
    c = destination_point(b, 0.0, 0.3)
    track = Track()
    for position, seconds in [
        (a, 0),
        (b, 20),
        (destination_point(b, 0.0, 20.0), 30),  # jump
        (a, 10),  # out of order
        (c, 40),
    ]:
        track, _ = track.add(position, at(seconds))
    assert len(track) == 5
    assert [p.position for p in track.accepted_points] == [a, b, c]
    assert math.isclose(track.distance_km, haversine_km(a, b) + haversine_km(b, c))
    assert track.duration_s == 40.0
    assert track.last == TrackPoint(c, at(40))


def test_empty_track() -> None:
    track = Track()
    assert len(track) == 0
    assert track.points == ()
    assert track.accepted_points == ()
    assert track.last is None
    assert track.distance_km == 0.0
    assert track.duration_s == 0.0


def test_add_leaves_the_original_unchanged() -> None:
    track = started()
    before = (track.points, track.distance_km, track.last, len(track))
    after, _ = track.add(destination_point(DOUALA, 90.0, 0.1), at(10))
    assert (track.points, track.distance_km, track.last, len(track)) == before
    assert len(after) == 2
    assert after.distance_km > 0.0
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        track.points = ()  # type: ignore[misc]


def test_policy_is_carried_over_by_add() -> None:
    policy = TrackPolicy(max_speed_kmh=50.0)
    track, _ = Track(policy=policy).add(DOUALA, T0)
    assert track.policy == policy


def test_track_rebuilt_from_its_points_is_equal_and_has_the_same_totals() -> None:
    track = started()
    for seconds, km in [(10, 0.1), (20, 9.0), (30, 0.3)]:
        track, _ = track.add(destination_point(DOUALA, 90.0, km), at(seconds))
    rebuilt = Track(track.points, track.policy)
    assert rebuilt == track
    assert rebuilt.distance_km == track.distance_km
    assert rebuilt.duration_s == track.duration_s
    assert rebuilt.last == track.last


def test_flags_are_strings() -> None:
    assert Flag("out_of_order") is Flag.OUT_OF_ORDER
    assert str(Flag.DUPLICATE) == "duplicate"


@pytest.mark.parametrize("field", ["max_speed_kmh", "max_delay_s", "corridor_km"])
@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, "fast", True])
def test_policy_refuses_bad_values_naming_field_and_value(field: str, bad: object) -> None:
    with pytest.raises(InvalidCoordinates, match=rf"{field} .* got {re.escape(repr(bad))}"):
        TrackPolicy(**{field: bad})  # type: ignore[arg-type]


def test_naive_times_are_refused_naming_the_value() -> None:
    naive = datetime(2024, 5, 1, 8, 0)
    with pytest.raises(InvalidCoordinates, match=r"^at must be timezone-aware, got datetime"):
        TrackPoint(DOUALA, naive)
    with pytest.raises(InvalidCoordinates, match=r"^at .*2024, 5, 1, 8, 0\)"):
        started().add(DOUALA, naive)
    with pytest.raises(InvalidCoordinates, match=r"^received_at .*2024, 5, 1, 8, 0\)"):
        started().add(DOUALA, at(1), received_at=naive)


def test_a_refused_add_leaves_nothing_behind() -> None:
    track = started()
    with pytest.raises(InvalidCoordinates):
        track.add(DOUALA, datetime(2024, 5, 1, 8, 0))
    assert len(track) == 1


EQUATOR_START = LatLng(0.0, 0.0)
EQUATOR_END = LatLng(0.0, 1.0)


def test_cross_track_of_a_point_one_km_north_of_an_equatorial_segment() -> None:
    point = destination_point(LatLng(0.0, 0.5), 0.0, 1.0)
    assert cross_track_km(point, EQUATOR_START, EQUATOR_END) == pytest.approx(1.0, abs=1e-9)
    south = destination_point(LatLng(0.0, 0.25), 180.0, 1.0)
    assert cross_track_km(south, EQUATOR_START, EQUATOR_END) == pytest.approx(1.0, abs=1e-9)


def test_cross_track_beyond_either_end_is_the_distance_to_that_end() -> None:
    beyond = LatLng(0.01, 1.5)
    assert cross_track_km(beyond, EQUATOR_START, EQUATOR_END) == haversine_km(beyond, EQUATOR_END)
    before = LatLng(-0.01, -0.2)
    assert cross_track_km(before, EQUATOR_START, EQUATOR_END) == haversine_km(before, EQUATOR_START)


def test_cross_track_does_not_use_the_infinite_great_circle() -> None:
    # On the equator, so 0 km from the great circle, but 55 km past the end of the segment.
    point = LatLng(0.0, 1.5)
    assert cross_track_km(point, EQUATOR_START, EQUATOR_END) == pytest.approx(55.6, abs=0.1)


def test_cross_track_on_the_segment_and_at_its_ends_is_zero() -> None:
    for point in (EQUATOR_START, EQUATOR_END, LatLng(0.0, 0.3)):
        assert cross_track_km(point, EQUATOR_START, EQUATOR_END) == pytest.approx(0.0, abs=1e-9)


def test_cross_track_of_a_degenerate_segment_is_the_distance_to_its_point() -> None:
    point = destination_point(DOUALA, 30.0, 2.0)
    assert cross_track_km(point, DOUALA, DOUALA) == haversine_km(point, DOUALA)


def test_cross_track_is_the_same_both_ways_along_the_segment() -> None:
    end = destination_point(DOUALA, 60.0, 8.0)
    point = destination_point(destination_point(DOUALA, 60.0, 3.0), 150.0, 0.7)
    assert cross_track_km(point, DOUALA, end) == pytest.approx(0.7, abs=1e-6)
    assert cross_track_km(point, end, DOUALA) == pytest.approx(0.7, abs=1e-6)


def test_off_corridor() -> None:
    inside = destination_point(LatLng(0.0, 0.5), 0.0, 0.9)
    outside = destination_point(LatLng(0.0, 0.5), 0.0, 1.1)
    assert not off_corridor(inside, EQUATOR_START, EQUATOR_END, 1.0)
    assert off_corridor(outside, EQUATOR_START, EQUATOR_END, 1.0)
    assert off_corridor(LatLng(0.0, 1.1), EQUATOR_START, EQUATOR_END, 1.0)  # past the end
    assert not off_corridor(LatLng(0.0, 1.005), EQUATOR_START, EQUATOR_END, 1.0)


def test_off_corridor_with_the_policy_width() -> None:
    point = destination_point(LatLng(0.0, 0.5), 0.0, 1.5)
    assert not off_corridor(
        point, EQUATOR_START, EQUATOR_END, TrackPolicy(corridor_km=2.0).corridor_km
    )
    assert off_corridor(point, EQUATOR_START, EQUATOR_END, TrackPolicy().corridor_km)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_off_corridor_refuses_a_bad_width(bad: float) -> None:
    with pytest.raises(InvalidCoordinates, match=rf"corridor_km .* got {re.escape(repr(bad))}"):
        off_corridor(DOUALA, DOUALA, EQUATOR_END, bad)


def test_eta_s() -> None:
    assert eta_s(5.0, 30.0) == 600.0
    assert eta_s(0.0, 30.0) == 0.0
    assert eta_s(1, 60) == 60.0


@pytest.mark.parametrize(
    ("distance_km", "speed_kmh", "named", "bad"),
    [
        (-1.0, 30.0, "distance_km", -1.0),
        (math.nan, 30.0, "distance_km", math.nan),
        (math.inf, 30.0, "distance_km", math.inf),
        (1.0, 0.0, "speed_kmh", 0.0),
        (1.0, -5.0, "speed_kmh", -5.0),
        (1.0, math.nan, "speed_kmh", math.nan),
        (1.0, math.inf, "speed_kmh", math.inf),
    ],
)
def test_eta_s_refuses_bad_values_naming_them(
    distance_km: float, speed_kmh: float, named: str, bad: float
) -> None:
    with pytest.raises(InvalidCoordinates, match=rf"^{named} .* got {re.escape(repr(bad))}$"):
        eta_s(distance_km, speed_kmh)


def test_location_due() -> None:
    assert location_due(None, T0, 5.0)
    assert not location_due(at(-4.999), T0, 5.0)
    assert location_due(at(-5), T0, 5.0)
    assert location_due(at(-60), T0, 5.0)
    assert location_due(T0, T0, 0.0)


def test_location_due_after_the_clock_went_back() -> None:
    assert location_due(at(30), T0, 5.0)


def test_location_due_compares_across_time_zones() -> None:
    sent_utc = at(-3).astimezone(UTC)
    assert not location_due(sent_utc, T0, 5.0)


def test_location_due_refuses_bad_values_naming_them() -> None:
    with pytest.raises(InvalidCoordinates, match=r"^interval_s .* got -1\.0$"):
        location_due(None, T0, -1.0)
    with pytest.raises(InvalidCoordinates, match=r"^interval_s .* got nan$"):
        location_due(None, T0, math.nan)
    naive = datetime(2024, 5, 1, 8, 0)
    with pytest.raises(InvalidCoordinates, match=r"^now .*2024, 5, 1, 8, 0\)$"):
        location_due(None, naive, 5.0)
    with pytest.raises(InvalidCoordinates, match=r"^last_sent_at .*2024, 5, 1, 8, 0\)$"):
        location_due(naive, T0, 5.0)


def test_a_fix_dated_in_the_future_is_set_aside_and_does_not_block_later_ones() -> None:
    from datetime import UTC, datetime, timedelta

    from vtc_dispatch.tracking import Flag

    now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    track, first = Track().add(LatLng(4.05, 9.70), now, received_at=now)
    track, ahead = track.add(LatLng(4.0501, 9.70), now + timedelta(minutes=5), received_at=now)
    assert ahead.flag == Flag.FUTURE
    assert track.last == first
    later = now + timedelta(seconds=10)
    track, real = track.add(LatLng(4.0502, 9.70), later, received_at=later)
    assert real.accepted
    # Within the allowed skew, a fix is taken as it is.
    _, close = track.add(LatLng(4.0503, 9.70), later + timedelta(seconds=20), received_at=later)
    assert close.accepted
