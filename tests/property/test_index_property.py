"""DriverIndex answers exactly like a brute-force haversine sort."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from strategies import FOCI, points, radii_km

from vtc_dispatch.geo.index import DriverIndex
from vtc_dispatch.geo.sphere import LatLng, haversine_km

TYPES = ["taxi_jaune", "confort", "moto"]
IDS = [f"d{i:02d}" for i in range(40)]


def brute_nearest(
    drivers: dict[str, tuple[LatLng, str]],
    point: LatLng,
    k: int,
    max_km: float,
    vehicle_types: set[str] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> list[tuple[str, float]]:
    rows = sorted(
        (haversine_km(point, pos), did)
        for did, (pos, vt) in drivers.items()
        if (vehicle_types is None or vt in vehicle_types) and did not in exclude
    )
    return [(did, d) for d, did in rows if d <= max_km][:k]


def brute_count(
    drivers: dict[str, tuple[LatLng, str]], point: LatLng, max_km: float
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pos, vt in drivers.values():
        if haversine_km(point, pos) <= max_km:
            counts[vt] = counts.get(vt, 0) + 1
    return counts


class IndexMachine(RuleBasedStateMachine):
    """Random upserts, moves, removals and queries against a plain dict."""

    placed = Bundle("placed")

    def __init__(self) -> None:
        super().__init__()
        self.row_deg = 0.003
        self.index = DriverIndex(row_deg=self.row_deg)
        self.model: dict[str, tuple[LatLng, str]] = {}

    @rule(target=placed, did=st.sampled_from(IDS), point=points, vt=st.sampled_from(TYPES))
    def upsert(self, did: str, point: LatLng, vt: str) -> str:
        self.index.upsert(did, point, vt)
        self.model[did] = (point, vt)
        return did

    @rule(did=placed, point=points)
    def move_same_type(self, did: str, point: LatLng) -> None:
        if did in self.model:
            vt = self.model[did][1]
            self.index.upsert(did, point, vt)
            self.model[did] = (point, vt)

    @rule(did=placed, other=placed)
    def stack_on_another(self, did: str, other: str) -> None:
        # Duplicate positions: ties must break by id.
        if did in self.model and other in self.model:
            self.index.upsert(did, self.model[other][0], self.model[did][1])
            self.model[did] = (self.model[other][0], self.model[did][1])

    @rule(did=placed)
    def remove(self, did: str) -> None:
        assert self.index.discard(did) == (did in self.model)
        self.model.pop(did, None)

    @rule(
        point=points,
        k=st.integers(0, 50),
        max_km=radii_km,
        types=st.none() | st.sets(st.sampled_from(TYPES)),
        exclude=st.frozensets(st.sampled_from(IDS), max_size=5),
    )
    def nearest(
        self, point: LatLng, k: int, max_km: float, types: set[str] | None, exclude: frozenset[str]
    ) -> None:
        got = self.index.nearest(point, k, max_km, vehicle_types=types, exclude=exclude)
        assert got == brute_nearest(self.model, point, k, max_km, types, exclude)

    @rule(point=points, max_km=radii_km)
    def count(self, point: LatLng, max_km: float) -> None:
        assert self.index.count_within(point, max_km) == brute_count(self.model, point, max_km)

    @rule(point=points, max_km=radii_km, cap=st.integers(1, 12))
    def capped_count(self, point: LatLng, max_km: float, cap: int) -> None:
        exact = brute_count(self.model, point, max_km)
        expected = {vt: min(n, cap) for vt, n in exact.items()}
        assert self.index.count_within(point, max_km, cap=cap) == expected

    @invariant()
    def same_population(self) -> None:
        assert len(self.index) == len(self.model)
        for did, (pos, vt) in self.model.items():
            assert did in self.index
            assert self.index.position(did) == pos
            assert self.index.vehicle_type(did) == vt


TestIndexMachine = IndexMachine.TestCase


def _cluster(focus: tuple[float, float], n: int, seed: int) -> list[LatLng]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lat = max(-90.0, min(90.0, focus[0] + rng.uniform(-0.05, 0.05)))
        lng = (focus[1] + rng.uniform(-0.05, 0.05) + 180.0) % 360.0 - 180.0
        out.append(LatLng(lat, lng))
    return out


@given(
    focus=st.sampled_from(FOCI),
    seed=st.integers(0, 2**16),
    n=st.integers(0, 300),
    k=st.integers(1, 400),
    max_km=st.sampled_from([0.3, 2.0, 8.0, 100.0, math.inf]),
    row_deg=st.sampled_from([0.001, 0.003, 0.05, 1.0]),
)
def test_dense_clusters_match_brute_force(
    focus: tuple[float, float], seed: int, n: int, k: int, max_km: float, row_deg: float
) -> None:
    pts = _cluster(focus, n, seed)
    index = DriverIndex(row_deg=row_deg)
    model = {}
    for i, p in enumerate(pts):
        vt = TYPES[i % len(TYPES)]
        index.upsert(f"d{i:04d}", p, vt)
        model[f"d{i:04d}"] = (p, vt)
    for q in _cluster(focus, 5, seed + 1):
        assert index.nearest(q, k, max_km) == brute_nearest(model, q, k, max_km)
        assert index.nearest(q, k, max_km, vehicle_types={"moto"}) == brute_nearest(
            model, q, k, max_km, {"moto"}
        )
        assert index.count_within(q, max_km) == brute_count(model, q, max_km)


@given(
    seed=st.integers(0, 2**16),
    n=st.integers(2, 60),
    moves=st.lists(
        st.tuples(st.integers(0, 59), st.floats(-3e-4, 3e-4), st.floats(-1e-3, 1e-3)),
        max_size=120,
    ),
)
def test_fixes_moving_drivers_past_their_neighbours_keep_answers_exact(
    seed: int, n: int, moves: list[tuple[int, float, float]]
) -> None:
    # Up to 60 drivers in 0.01 degree of one 0.003-degree band: a fix moves a
    # driver past several neighbours in longitude, sometimes into the next band.
    rng = random.Random(seed)
    index = DriverIndex(row_deg=0.003)
    model: dict[str, tuple[LatLng, str]] = {}
    for i in range(n):
        point = LatLng(4.0503 + rng.uniform(0, 0.0024), 9.70 + rng.uniform(0, 0.01))
        index.upsert(f"d{i:02d}", point, "taxi_jaune")
        model[f"d{i:02d}"] = (point, "taxi_jaune")
    for i, dlat, dlng in moves:
        did = f"d{i % n:02d}"
        old = model[did][0]
        point = LatLng(old.lat + dlat, old.lng + dlng)
        index.upsert(did, point, "taxi_jaune")
        model[did] = (point, "taxi_jaune")
    for did, (pos, _) in model.items():
        assert index.position(did) == pos
    for lng in (9.69, 9.705, 9.72):
        at = LatLng(4.0515, lng)
        assert index.nearest(at, n, math.inf) == brute_nearest(model, at, n, math.inf)
        assert index.count_within(at, 0.4) == brute_count(model, at, 0.4)
