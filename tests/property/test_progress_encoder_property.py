"""The Redis adapter's ProgressEncoder writes what encode_progress writes, whatever the
track went through: fixes, jumps and resynchronisations, points set aside, the trip after
the approach, a ride read back from its text, other rides evicting this one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from vtc_dispatch.geo import LatLng
from vtc_dispatch.order import RideProgress
from vtc_dispatch.tracking import Flag, Track
from vtc_dispatch_redis.codec import ProgressEncoder, decode_progress, encode_progress

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

steps = st.one_of(
    # A fix near the last one (a few metres to a few kilometres: some are jumps).
    st.tuples(st.just("fix"), st.floats(-0.03, 0.03), st.floats(-0.03, 0.03), st.integers(1, 60)),
    # Far away at once: the next fixes there are jumps until they resynchronise the track.
    st.tuples(st.just("teleport"), st.floats(0.1, 0.5), st.floats(0.1, 0.5), st.integers(1, 5)),
    st.tuples(st.just("aside"), st.just(0.0), st.just(0.0), st.integers(1, 10)),
    st.tuples(st.just("trip"), st.just(0.0), st.just(0.0), st.just(0)),
    st.tuples(st.just("reread"), st.just(0.0), st.just(0.0), st.just(0)),
    st.tuples(st.just("other"), st.just(0.0), st.just(0.0), st.integers(0, 3)),
)


@given(size=st.integers(0, 6), plan=st.lists(steps, max_size=60))
def test_the_encoder_writes_what_encode_progress_writes(
    size: int, plan: list[tuple[str, float, float, int]]
) -> None:
    encoder = ProgressEncoder(size)
    progress = RideProgress("o1")
    on_trip = False
    at, where = T0, LatLng(4.05, 9.70)
    others = [RideProgress(f"other-{i}", approach=Track().add(where, T0)[0]) for i in range(4)]
    for kind, dlat, dlng, n in plan:
        track = progress.trip if on_trip else progress.approach
        if kind in ("fix", "teleport"):
            where = LatLng(
                max(-89.0, min(89.0, where.lat + dlat)), max(-179.0, min(179.0, where.lng + dlng))
            )
            at += timedelta(seconds=n)
            track, _ = track.add(where, at)
        elif kind == "aside":
            at += timedelta(seconds=n)
            track, _ = track.set_aside(where, at, Flag.INACCURATE)
        elif kind == "trip":
            on_trip = True
            continue
        elif kind == "reread":
            # Another process wrote the ride: equal points, other objects.
            progress = decode_progress(encode_progress(progress), version=progress.version)
            continue
        else:
            assert encoder.encode(others[n]) == encode_progress(others[n])
            continue
        progress = RideProgress(
            "o1",
            approach=progress.approach if on_trip else track,
            trip=track if on_trip else progress.trip,
            version=progress.version + 1,
        )
        assert encoder.encode(progress) == encode_progress(progress)


def test_a_resynchronised_track_is_written_as_it_now_is() -> None:
    # Three fixes 30 km away in a minute are jumps, then taken as real: the
    # points already encoded change their flag, and the text follows.
    encoder = ProgressEncoder(10)
    track, _ = Track().add(LatLng(4.05, 9.70), T0)
    for i in range(1, 6):
        far = LatLng(4.32, 9.70 + i * 1e-4)
        track, _ = track.add(far, T0 + timedelta(seconds=10 * i))
        progress = RideProgress("o1", approach=track, version=i)
        assert encoder.encode(progress) == encode_progress(progress)
    assert any(p.resync for p in track.points)
    assert '"resync"' in encoder.encode(RideProgress("o1", approach=track))


@given(order_id=st.sampled_from(["\x00approach", '"approach":["\x00approach"', "\x00trip"]))
def test_an_id_that_looks_like_the_mark_is_written_as_it_is(order_id: str) -> None:
    track, _ = Track().add(LatLng(4.05, 9.70), T0)
    progress = RideProgress(order_id, approach=track, trip=track)
    encoder = ProgressEncoder(4)
    assert encoder.encode(progress) == encode_progress(progress)
    assert decode_progress(encoder.encode(progress), version=0).order_id == order_id
