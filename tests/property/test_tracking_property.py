"""Properties of GPS tracks and of the distance to a planned segment, near Douala."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

import places
from hypothesis import example, given
from hypothesis import strategies as st
from places import DOUALA, WAT

from vtc_dispatch.geo.sphere import (
    LatLng,
    destination_point,
    haversine_km,
    initial_bearing_deg,
)
from vtc_dispatch.tracking import (
    Flag,
    Track,
    TrackPoint,
    TrackPolicy,
    cross_track_km,
    off_corridor,
)

T0 = places.T0.astimezone(WAT)


def _near_douala(spread_deg: float) -> st.SearchStrategy[LatLng]:
    offsets = st.floats(-spread_deg, spread_deg, allow_nan=False)
    return st.builds(
        lambda dlat, dlng: LatLng(DOUALA.lat + dlat, DOUALA.lng + dlng), offsets, offsets
    )


near_douala = _near_douala(0.1)

# One report: a position (often a small move, sometimes a 10 km glitch, sometimes
# the previous position again), a time step that may go back or stand still, and
# an optional delivery delay.
reports = st.lists(
    st.tuples(
        st.one_of(
            st.none(),
            _near_douala(0.002),
            near_douala,
        ),
        st.one_of(
            st.just(0.0),
            st.floats(-60.0, 120.0, allow_nan=False),
            st.integers(-5, 30).map(float),
        ),
        st.one_of(st.none(), st.floats(0.0, 300.0, allow_nan=False)),
    ),
    max_size=40,
)

policies = st.builds(
    TrackPolicy,
    max_speed_kmh=st.sampled_from([30.0, 200.0, 1_000.0]),
    max_delay_s=st.sampled_from([10.0, 120.0]),
)


def _replay(
    policy: TrackPolicy, steps: list[tuple[LatLng | None, float, float | None]]
) -> tuple[Track, list[tuple[Track, TrackPoint]]]:
    """The track after ``steps``, and each step's track before it with the point returned."""
    track = Track(policy=policy)
    returned = []
    position, at = DOUALA, T0
    for new_position, step_s, delay_s in steps:
        position = new_position or position
        at += timedelta(seconds=step_s)
        received_at = None if delay_s is None else at + timedelta(seconds=delay_s)
        before = track
        track, point = track.add(position, at, received_at=received_at)
        returned.append((before, point))
    return track, returned


def _segments_km(accepted: tuple[TrackPoint, ...]) -> float:
    """Path length over the accepted points, starting again at each resynchronisation."""
    return sum(
        0.0 if b.resync else haversine_km(a.position, b.position)
        for a, b in itertools.pairwise(accepted)
    )


@given(policies, reports)
def test_track_invariants(
    policy: TrackPolicy, steps: list[tuple[LatLng | None, float, float | None]]
) -> None:
    track, returned = _replay(policy, steps)
    assert len(track) == len(steps)
    # Each point is kept as it came; a resynchronisation only accepts jumps it confirms.
    for stored, (_, point) in zip(track.points, returned, strict=True):
        assert (stored.position, stored.at) == (point.position, point.at)
        assert stored.flag == point.flag or (point.flag is Flag.JUMP and stored.accepted)
    accepted = track.accepted_points
    assert track.accepted_count == len(accepted)
    for before, after in itertools.pairwise(accepted):
        elapsed_s = (after.at - before.at).total_seconds()
        assert elapsed_s > 0.0
        if after.resync:
            continue  # the step left out of the distance: see the resync test
        speed_kmh = haversine_km(before.position, after.position) / elapsed_s * 3600.0
        assert speed_kmh <= policy.max_speed_kmh * (1.0 + 1e-12)
    assert math.isclose(track.distance_km, _segments_km(accepted), abs_tol=1e-9)
    if accepted:
        assert track.last == accepted[-1]
        assert track.duration_s == (accepted[-1].at - accepted[0].at).total_seconds()
    else:
        assert track.last is None
        assert track.duration_s == 0.0


@given(policies, reports)
def test_every_flag_is_justified_by_the_last_accepted_point(
    policy: TrackPolicy, steps: list[tuple[LatLng | None, float, float | None]]
) -> None:
    _, returned = _replay(policy, steps)
    for before, point in returned:
        last = before.last
        if point.flag is None:
            continue
        if point.flag is Flag.STALE:
            continue  # needs received_at, which the point does not keep
        assert last is not None
        elapsed_s = (point.at - last.at).total_seconds()
        if point.flag is Flag.DUPLICATE:
            assert (point.at, point.position) == (last.at, last.position)
        elif point.flag is Flag.OUT_OF_ORDER:
            assert elapsed_s <= 0.0
            assert (point.at, point.position) != (last.at, last.position)
        else:
            assert point.flag is Flag.JUMP
            assert elapsed_s > 0.0
            assert haversine_km(last.position, point.position) / elapsed_s * 3600.0 > (
                policy.max_speed_kmh
            )


# Glitches: the phone alternates between the road and a point kilometres away.
glitchy = st.lists(
    st.tuples(
        st.booleans(),  # a glitch, or the road
        st.floats(0.0, 0.3, allow_nan=False),  # km along the road since the last fix
        st.floats(1.0, 30.0, allow_nan=False),  # seconds since the last fix
    ),
    max_size=40,
)


@given(st.integers(2, 5), glitchy)
def test_resynchronisation_never_accepts_a_fix_too_fast_from_its_neighbours(
    resync_fixes: int, steps: list[tuple[bool, float, float]]
) -> None:
    """Every accepted fix is plausible from the accepted one before it, but where the track
    resynchronised: there a run of ``resync_fixes`` fixes, each plausible from the one
    before, starts again (the jump to it is neither accepted as a move nor counted)."""
    policy = TrackPolicy(max_speed_kmh=120.0, resync_fixes=resync_fixes)
    track = Track(policy=policy)
    at, km = T0, 0.0
    for glitch, step_km, step_s in steps:
        at += timedelta(seconds=step_s)
        km += step_km
        road = destination_point(DOUALA, 90.0, km)
        track, _ = track.add(destination_point(road, 0.0, 8.0) if glitch else road, at)
    accepted = track.accepted_points
    for i, point in enumerate(accepted):
        if i == 0 or not point.resync:
            continue
        run = accepted[i : i + resync_fixes]
        assert len(run) == resync_fixes
        assert not any(p.resync for p in run[1:])
    for before, after in itertools.pairwise(accepted):
        if not after.resync:
            elapsed_s = (after.at - before.at).total_seconds()
            km_h = haversine_km(before.position, after.position) / elapsed_s * 3600.0
            assert km_h <= policy.max_speed_kmh * (1.0 + 1e-12)
    assert Track(track.points, policy).distance_km == track.distance_km


@given(policies, reports)
def test_rebuilding_from_points_gives_the_same_track(
    policy: TrackPolicy, steps: list[tuple[LatLng | None, float, float | None]]
) -> None:
    track, _ = _replay(policy, steps)
    rebuilt = Track(track.points, policy)
    assert rebuilt == track
    assert (rebuilt.distance_km, rebuilt.duration_s, rebuilt.last) == (
        track.distance_km,
        track.duration_s,
        track.last,
    )


@given(near_douala, near_douala, near_douala)
def test_cross_track_is_bounded_by_the_endpoint_distances(
    point: LatLng, start: LatLng, end: LatLng
) -> None:
    distance = cross_track_km(point, start, end)
    assert distance >= 0.0
    assert distance <= haversine_km(point, start)
    assert distance <= haversine_km(point, end)


@given(near_douala, near_douala, near_douala)
@example(  # a segment 7 mm long, 7 km away: its direction must not come from rounding
    point=LatLng(4.05, 9.699999940395355),
    start=LatLng(4.115992061635275, 9.7),
    end=LatLng(4.115992061635275, 9.699999940395355),
)
def test_cross_track_matches_the_nearest_of_many_points_along_the_segment(
    point: LatLng, start: LatLng, end: LatLng
) -> None:
    samples = 200
    length_km = haversine_km(start, end)
    bearing = initial_bearing_deg(start, end)
    along = [destination_point(start, bearing, length_km * i / samples) for i in range(samples + 1)]
    nearest_sample_km = min(haversine_km(point, p) for p in along)
    distance = cross_track_km(point, start, end)
    # The true nearest point lies within half a sample spacing of a sample.
    assert nearest_sample_km - length_km / (2 * samples) - 1e-9 <= distance
    assert distance <= nearest_sample_km + 1e-9
    assert math.isclose(distance, cross_track_km(point, end, start), abs_tol=1e-6)


@given(near_douala, near_douala, st.floats(0.0, 1.0))
def test_a_point_on_the_segment_is_at_zero_distance(
    start: LatLng, end: LatLng, fraction: float
) -> None:
    on = destination_point(
        start, initial_bearing_deg(start, end), haversine_km(start, end) * fraction
    )
    assert math.isclose(cross_track_km(on, start, end), 0.0, abs_tol=1e-6)


@given(
    st.one_of(_near_douala(0.5), _near_douala(0.02)),
    st.one_of(_near_douala(0.5), _near_douala(0.02)),
    st.one_of(_near_douala(0.5), _near_douala(0.02)),
    st.floats(0.01, 20.0),
)
def test_off_corridor_is_the_exact_cross_track_test(
    point: LatLng, start: LatLng, end: LatLng, corridor_km: float
) -> None:
    # Its shortcuts (the nearer end, the ellipse of the ends) never change the answer.
    assert off_corridor(point, start, end, corridor_km) == (
        cross_track_km(point, start, end) > corridor_km
    )
