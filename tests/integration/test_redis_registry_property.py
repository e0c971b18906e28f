"""The Redis registry answers exactly as the in-memory one, drivers on the radius edge included.

GEOSEARCH measures on another sphere from rounded positions; the registry
must still agree with haversine_km, so drivers are put within a few
metres of the query radius on purpose.
"""

from __future__ import annotations

from datetime import timedelta

import redis_support
from hypothesis import given
from hypothesis import strategies as st
from places import AKWA, T0

from vtc_dispatch.geo import LatLng, destination_point, haversine_km
from vtc_dispatch.memory import InMemoryDriverRegistry
from vtc_dispatch.order import DriverStatus

CENTRES = [AKWA, LatLng(59.9, 10.75), LatLng(-33.9, 151.2), LatLng(0.0, 179.99)]

drivers = st.lists(
    st.tuples(
        st.floats(0, 360, allow_nan=False),  # bearing from the centre
        st.floats(-0.004, 0.004, allow_nan=False),  # km off the radius: on the edge
        st.booleans(),  # or anywhere inside twice the radius
        st.floats(0, 2, allow_nan=False),
        st.sampled_from(["taxi_jaune", "confort"]),
        st.sampled_from(["online", "offline", "reserved", "blocked", "suspended"]),
    ),
    min_size=1,
    max_size=25,
)


@given(
    centre=st.sampled_from(CENTRES),
    radius_km=st.floats(0.05, 8.0, allow_nan=False),
    placed=drivers,
    k=st.integers(1, 6),
    excluded=st.sets(st.integers(0, 24), max_size=4),
    cap=st.integers(1, 8),
    quiet=st.sets(st.integers(0, 24), max_size=6),
)
def test_nearest_and_counts_match_the_in_memory_registry(
    centre: LatLng,
    radius_km: float,
    placed: list[tuple[float, float, bool, float, str, str]],
    k: int,
    excluded: set[int],
    cap: int,
    quiet: set[int],
) -> None:
    storage = redis_support.fresh_storage()
    try:
        memory = InMemoryDriverRegistry()
        for i, (bearing, off_km, on_edge, share, vehicle, state) in enumerate(placed):
            km = max(0.0, radius_km + off_km) if on_edge else radius_km * share
            status = DriverStatus(
                f"d{i}",
                vehicle,
                destination_point(centre, bearing, km),
                state != "offline",
                T0,
                blocked=state == "blocked",
                suspended=state == "suspended",
                # Not heard from for two minutes: left out of counts heard since a minute ago.
                seen_at=T0 - timedelta(minutes=2) if i in quiet else T0,
            )
            for registry in (memory, storage.drivers):
                registry.put(status)
                if state == "reserved":
                    assert registry.reserve(f"d{i}", "o1")
        exclude = {f"d{i}" for i in excluded}
        for types in (None, ["taxi_jaune"], ["confort", "taxi_jaune"]):
            expected = memory.nearest_available(centre, k, radius_km, types, exclude)
            assert storage.drivers.nearest_available(centre, k, radius_km, types, exclude) == (
                expected
            )
            assert all(
                haversine_km(centre, memory.get(d).position) <= radius_km for d, _ in expected
            )
        assert storage.drivers.count_available(centre, radius_km) == memory.count_available(
            centre, radius_km
        )
        # Capped counts stop early in Redis (COUNT ... ANY), yet are min(exact, cap).
        since = T0 - timedelta(minutes=1)
        for seen_since in (None, since):
            exact = memory.count_available(centre, radius_km, seen_since=seen_since)
            capped = storage.drivers.count_available(
                centre, radius_km, cap=cap, seen_since=seen_since
            )
            assert capped == {vt: min(n, cap) for vt, n in exact.items()}
    finally:
        redis_support.clean_up()
