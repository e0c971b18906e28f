"""The ``geo`` suite: the live driver index against an R-tree, a k-d tree, numpy and Redis.

Workload (one per run, from the seed, replayed identically by every
implementation): ``N`` drivers uniform in a 30 km x 30 km box around Douala
(4.05 N, 9.70 E), vehicle types ``taxi_jaune``, ``confort``, ``moto`` and
``van`` assigned round-robin.  Operations:

* ``build``: index all ``N`` drivers (microseconds per driver; ``total_us``);
* ``query``: the 10 nearest drivers of one random type within 5 km of a
  random pickup in the box (a new pickup for every query);
* ``update``: a random driver moves a random distance up to 100 m in a
  random direction;
* ``count``: the number of drivers per type within 5 km of a random point.

Every input (``LatLng`` objects, floats, driver ids) is created before any
timing starts.  Operations are timed in batches; ``us_per_op`` is the median
over batches of the mean time per operation.  A slow implementation stops
after its time budget and so replays a prefix of the same sequence.

Before timing, the first 50 queries and 10 counts of ``vtc_dispatch`` are
checked against a brute-force haversine scan (numpy when installed): same
ids in the same order, distances within 1e-9 km, equal counts; a mismatch
raises :class:`VerificationError`.  Peers get an ``agree`` note: on how many
of those queries (and counts) they gave the same ids (counts) as the
reference.  Redis quantises positions to 52-bit geohashes and uses its own
Earth radius, so an occasional disagreement there is expected.
"""

from __future__ import annotations

import gc
import math
import os
import random
import secrets
import statistics
import sys
import time
import tracemalloc
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NamedTuple, cast
from urllib.parse import urlsplit

from bench.common import (
    OURS,
    JSONValue,
    Options,
    Row,
    SuiteReport,
    UsageError,
    add_ratios,
    progress,
    skipped_rows,
    time_batches,
    time_repeats,
)
from vtc_dispatch.geo import EARTH_RADIUS_KM, DriverIndex, LatLng, destination_point

_MISSING: dict[str, str] = {}

try:
    import numpy as np
except ImportError as exc:  # pragma: no cover - depends on the environment
    _MISSING["numpy"] = f"numpy not installed ({exc})"
try:
    from scipy.spatial import cKDTree
except ImportError as exc:  # pragma: no cover
    _MISSING["scipy"] = f"scipy not installed ({exc})"
try:
    import rtree.index
except (ImportError, OSError) as exc:  # pragma: no cover - OSError: no libspatialindex
    _MISSING["rtree"] = f"rtree not installed ({exc})"
try:
    import redis
except ImportError as exc:  # pragma: no cover
    _MISSING["redis"] = f"redis-py not installed ({exc})"

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["VerificationError", "Workload", "make_workload", "run"]

VEHICLE_TYPES = ("taxi_jaune", "confort", "moto", "van")
CENTRE = LatLng(4.05, 9.70)
HALF_BOX_KM = 15.0
K = 10
RADIUS_KM = 5.0
N_DEFAULT = 100_000
N_QUICK = 20_000
MOVE_MAX_KM = 0.1
N_VERIFY_QUERIES = 50
N_VERIFY_COUNTS = 10
DISTANCE_TOL_KM = 1e-9
RTREE_CANDIDATES = 3 * K
REDIS_CHUNK = 1000
BUILD_REPEATS = 3
REDIS_URL_DEFAULT = "redis://127.0.0.1:6379/0"

_RAD = math.pi / 180.0
_DEG = 180.0 / math.pi
_ANGLE = RADIUS_KM / EARTH_RADIUS_KM
# Chord between two unit vectors RADIUS_KM apart, and the haversine
# ``h`` of that distance (``h <= _H_MAX`` iff within RADIUS_KM).
_CHORD = 2.0 * math.sin(_ANGLE / 2.0)
_H_MAX = math.sin(_ANGLE / 2.0) ** 2


class VerificationError(AssertionError):
    """vtc_dispatch disagreed with the brute-force reference."""


@dataclass(frozen=True)
class Sizes:
    """How many operations to pre-generate, batch sizes and the time budget per row."""

    n_queries: int
    n_counts: int
    n_updates: int
    budget_s: float
    query_batch: int = 100
    count_batch: int = 10
    update_batch: int = 500


FULL = Sizes(n_queries=5000, n_counts=500, n_updates=20000, budget_s=2.0)
QUICK = Sizes(n_queries=2000, n_counts=200, n_updates=10000, budget_s=0.5)


class Query(NamedTuple):
    """A pickup: where (as ``LatLng`` and floats) and which vehicle type."""

    point: LatLng
    lat: float
    lng: float
    vtype: str
    vtypes: tuple[str]


class CountAt(NamedTuple):
    """A point to count drivers around."""

    point: LatLng
    lat: float
    lng: float


class Move(NamedTuple):
    """Driver number ``driver`` (id ``driver_id``, of ``vtype``) moves to a new position."""

    driver: int
    driver_id: str
    vtype: str
    point: LatLng
    lat: float
    lng: float


@dataclass(frozen=True)
class TypeSlice:
    """The drivers of one vehicle type, in slot order."""

    drivers: list[int]
    ids: list[str]
    lats: list[float]
    lngs: list[float]


@dataclass(frozen=True)
class Workload:
    """Every input of one run, shared by all implementations."""

    ids: list[str]
    types: list[str]
    points: list[LatLng]
    lats: list[float]
    lngs: list[float]
    slot_of: list[int]
    by_type: dict[str, TypeSlice]
    queries: list[Query]
    counts: list[CountAt]
    moves: list[Move]

    @property
    def n(self) -> int:
        return len(self.ids)


def _random_point(rng: random.Random) -> LatLng:
    half_lat = HALF_BOX_KM / (EARTH_RADIUS_KM * _RAD)
    half_lng = half_lat / math.cos(CENTRE.lat * _RAD)
    return LatLng(
        CENTRE.lat + rng.uniform(-half_lat, half_lat),
        CENTRE.lng + rng.uniform(-half_lng, half_lng),
    )


def make_workload(n: int, seed: int, sizes: Sizes) -> Workload:
    """Drivers, queries, counts and moves for one run (moves are chained per driver)."""
    rng = random.Random(seed)
    ids = [f"d{i:06d}" for i in range(n)]
    types = [VEHICLE_TYPES[i % len(VEHICLE_TYPES)] for i in range(n)]
    points = [_random_point(rng) for _ in range(n)]
    slot_of: list[int] = []
    by_type = {vt: TypeSlice([], [], [], []) for vt in VEHICLE_TYPES}
    for i, (vt, p) in enumerate(zip(types, points, strict=True)):
        ts = by_type[vt]
        slot_of.append(len(ts.drivers))
        ts.drivers.append(i)
        ts.ids.append(ids[i])
        ts.lats.append(p.lat)
        ts.lngs.append(p.lng)
    queries = []
    for _ in range(sizes.n_queries):
        p = _random_point(rng)
        vt = rng.choice(VEHICLE_TYPES)
        queries.append(Query(p, p.lat, p.lng, vt, (vt,)))
    counts = [CountAt(p, p.lat, p.lng) for p in (_random_point(rng) for _ in range(sizes.n_counts))]
    current = list(points)
    moves = []
    for _ in range(sizes.n_updates):
        i = rng.randrange(n)
        p = destination_point(current[i], rng.uniform(0.0, 360.0), rng.uniform(0.0, MOVE_MAX_KM))
        current[i] = p
        moves.append(Move(i, ids[i], types[i], p, p.lat, p.lng))
    return Workload(
        ids=ids,
        types=types,
        points=points,
        lats=[p.lat for p in points],
        lngs=[p.lng for p in points],
        slot_of=slot_of,
        by_type=by_type,
        queries=queries,
        counts=counts,
        moves=moves,
    )


def haversine_deg(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """:func:`vtc_dispatch.geo.haversine_km` on plain floats (same operations)."""
    phi1 = lat1 * _RAD
    phi2 = lat2 * _RAD
    s_dphi = math.sin((phi2 - phi1) * 0.5)
    s_dlam = math.sin((lng2 - lng1) * _RAD * 0.5)
    h = s_dphi * s_dphi + math.cos(phi1) * math.cos(phi2) * s_dlam * s_dlam
    h = min(h, 1.0)
    return 2.0 * EARTH_RADIUS_KM * math.atan2(math.sqrt(h), math.sqrt(1.0 - h))


# -- implementations ---------------------------------------------------------


Answer = list[tuple[str, float]]


class GeoImpl(ABC):
    """One contender: built from the workload, then queried, counted and updated."""

    name: ClassVar[str]
    build_note: ClassVar[str] = ""
    query_note: ClassVar[str] = ""
    count_note: ClassVar[str] = ""
    update_note: ClassVar[str] = ""
    can_update: ClassVar[bool] = True
    # Errors that mean "the service went away", reported as skipped rows.
    service_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(self, w: Workload) -> None:
        self.w = w

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this implementation cannot run here, or ``None``."""
        return _MISSING.get(cls.name)

    @abstractmethod
    def build(self) -> None:
        """Index every driver of the workload."""

    @abstractmethod
    def nearest(self, q: Query) -> Answer:
        """The answer to one query (for the cross-check; not timed)."""

    @abstractmethod
    def count(self, c: CountAt) -> dict[str, int]:
        """Drivers per type within the radius (types with none left out)."""

    def run_queries(self, batch: Sequence[Query]) -> None:
        """Answer every query of the batch (timed)."""
        nearest = self.nearest
        for q in batch:
            nearest(q)

    def run_counts(self, batch: Sequence[CountAt]) -> None:
        """Count around every point of the batch (timed)."""
        count = self.count
        for c in batch:
            count(c)

    def run_updates(self, batch: Sequence[Move]) -> None:
        """Apply every move of the batch (timed)."""
        raise NotImplementedError(f"{self.name} cannot update")

    def extra_rows(self, sizes: Sizes) -> list[Row]:
        """Rows beyond build/query/update/count (scipy's rebuild)."""
        return []

    def close(self) -> None:  # noqa: B027 - an optional hook, a no-op by default
        """Release what the implementation holds outside the process."""


class Ours(GeoImpl):
    """:class:`vtc_dispatch.geo.DriverIndex`."""

    name = OURS
    build_note = "upsert one by one"

    def build(self) -> None:
        self.index = build_driver_index(self.w)

    def nearest(self, q: Query) -> Answer:
        return self.index.nearest(q.point, K, RADIUS_KM, vehicle_types=q.vtypes)

    def count(self, c: CountAt) -> dict[str, int]:
        return self.index.count_within(c.point, RADIUS_KM)

    def run_queries(self, batch: Sequence[Query]) -> None:
        nearest = self.index.nearest
        for point, _lat, _lng, _vt, vts in batch:
            nearest(point, K, RADIUS_KM, vehicle_types=vts)

    def run_counts(self, batch: Sequence[CountAt]) -> None:
        count_within = self.index.count_within
        for point, _lat, _lng in batch:
            count_within(point, RADIUS_KM)

    def run_updates(self, batch: Sequence[Move]) -> None:
        upsert = self.index.upsert
        for _i, driver_id, vt, point, _lat, _lng in batch:
            upsert(driver_id, point, vt)


def build_driver_index(w: Workload) -> DriverIndex:
    """A :class:`DriverIndex` of every driver of the workload."""
    index = DriverIndex()
    upsert = index.upsert
    for driver_id, point, vt in zip(w.ids, w.points, w.types, strict=True):
        upsert(driver_id, point, vt)
    return index


def bytes_per_driver(w: Workload) -> float:
    """Memory the index allocates per driver (tracemalloc; inputs created beforehand)."""
    gc.collect()
    tracemalloc.start()
    try:
        index = build_driver_index(w)
        current, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del index
    return current / w.n


class RTreeImpl(GeoImpl):
    """Naive R-tree: one rtree index per type, degenerate boxes, haversine re-rank."""

    name = "rtree"
    build_note = "rtree.index.Index per type, insert one by one"
    query_note = f"nearest {RTREE_CANDIDATES} by degrees, haversine re-rank"
    count_note = "bbox intersection + haversine filter"
    update_note = "delete + insert"

    def build(self) -> None:
        w = self.w
        self.pos = list(zip(w.lats, w.lngs, strict=True))
        self.indexes = {vt: rtree.index.Index() for vt in VEHICLE_TYPES}
        indexes = self.indexes
        for i, (vt, (lat, lng)) in enumerate(zip(w.types, self.pos, strict=True)):
            indexes[vt].insert(i, (lng, lat, lng, lat))

    def nearest(self, q: Query) -> Answer:
        pos = self.pos
        ids = self.w.ids
        lat, lng = q.lat, q.lng
        phi1 = lat * _RAD
        cos1 = math.cos(phi1)
        found = []
        for i in self.indexes[q.vtype].nearest((lng, lat, lng, lat), RTREE_CANDIDATES):
            lat2, lng2 = pos[i]
            phi2 = lat2 * _RAD
            s_dphi = math.sin((phi2 - phi1) * 0.5)
            s_dlam = math.sin((lng2 - lng) * _RAD * 0.5)
            h = min(s_dphi * s_dphi + cos1 * math.cos(phi2) * s_dlam * s_dlam, 1.0)
            d = 2.0 * EARTH_RADIUS_KM * math.atan2(math.sqrt(h), math.sqrt(1.0 - h))
            if d <= RADIUS_KM:
                found.append((d, ids[i]))
        found.sort()
        return [(did, d) for d, did in found[:K]]

    def count(self, c: CountAt) -> dict[str, int]:
        lat, lng = c.lat, c.lng
        pos = self.pos
        phi1 = lat * _RAD
        cos1 = math.cos(phi1)
        half_lat = _ANGLE * _DEG
        half_lng = math.asin(min(1.0, math.sin(_ANGLE) / cos1)) * _DEG
        box = (lng - half_lng, lat - half_lat, lng + half_lng, lat + half_lat)
        counts = {}
        for vt, index in self.indexes.items():
            n = 0
            for i in index.intersection(box):
                lat2, lng2 = pos[i]
                phi2 = lat2 * _RAD
                s_dphi = math.sin((phi2 - phi1) * 0.5)
                s_dlam = math.sin((lng2 - lng) * _RAD * 0.5)
                n += s_dphi * s_dphi + cos1 * math.cos(phi2) * s_dlam * s_dlam <= _H_MAX
            if n:
                counts[vt] = n
        return counts

    def run_updates(self, batch: Sequence[Move]) -> None:
        pos = self.pos
        indexes = self.indexes
        for i, _did, vt, _point, lat, lng in batch:
            index = indexes[vt]
            old_lat, old_lng = pos[i]
            index.delete(i, (old_lng, old_lat, old_lng, old_lat))
            index.insert(i, (lng, lat, lng, lat))
            pos[i] = (lat, lng)


def _unit_xyz(lats: NDArray[np.float64], lngs: NDArray[np.float64]) -> NDArray[np.float64]:
    phi = np.radians(lats)
    lam = np.radians(lngs)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


class ScipyImpl(GeoImpl):
    """scipy cKDTree per type on unit-sphere vectors (static: no update)."""

    name = "scipy"
    build_note = "cKDTree per type on unit xyz (incl. lat/lng -> xyz)"
    query_note = "query(k=10, distance_upper_bound=chord)"
    count_note = "query_ball_point(return_length=True) per type"
    can_update = False

    @classmethod
    def unavailable(cls) -> str | None:
        return _MISSING.get("scipy") or _MISSING.get("numpy")

    def build(self) -> None:
        self.xyz = {}
        self.trees = {}
        for vt, ts in self.w.by_type.items():
            xyz = _unit_xyz(np.array(ts.lats), np.array(ts.lngs))
            self.xyz[vt] = xyz
            self.trees[vt] = cKDTree(xyz)

    def nearest(self, q: Query) -> Answer:
        phi = q.lat * _RAD
        lam = q.lng * _RAD
        cos_phi = math.cos(phi)
        tree = self.trees[q.vtype]
        chords, slots = tree.query(
            (cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi)),
            k=K,
            distance_upper_bound=_CHORD,
        )
        ids = self.w.by_type[q.vtype].ids
        n = tree.n
        return [
            (ids[slot], 2.0 * EARTH_RADIUS_KM * math.asin(chord / 2.0))
            for chord, slot in zip(chords.tolist(), slots.tolist(), strict=True)
            if slot < n
        ]

    def count(self, c: CountAt) -> dict[str, int]:
        phi = c.lat * _RAD
        lam = c.lng * _RAD
        cos_phi = math.cos(phi)
        xyz = (cos_phi * math.cos(lam), cos_phi * math.sin(lam), math.sin(phi))
        counts = {}
        for vt, tree in self.trees.items():
            n = int(tree.query_ball_point(xyz, _CHORD, return_length=True))
            if n:
                counts[vt] = n
        return counts

    def extra_rows(self, sizes: Sizes) -> list[Row]:
        xyz = self.xyz[VEHICLE_TYPES[0]]
        timing = time_repeats(lambda: cKDTree(xyz), sizes.budget_s)
        return [
            Row(
                self.name,
                "rebuild",
                timing.us_per_op,
                extra={
                    "note": "static: cannot update, rebuild time reported",
                    "points": len(xyz),
                    "n_ops": timing.n_ops,
                },
            )
        ]


@dataclass
class _Arrays:
    """One type's drivers for numpy: latitude (rad), its cosine, longitude (deg)."""

    phi: NDArray[np.float64]
    cos: NDArray[np.float64]
    lng: NDArray[np.float64]
    ids: list[str]


def _np_haversine_km(phi1: float, cos1: float, lng1: float, a: _Arrays) -> NDArray[np.float64]:
    """:func:`haversine_deg` from one point to every driver of ``a`` (same operations)."""
    s_dphi = np.sin((a.phi - phi1) * 0.5)
    s_dlam = np.sin((a.lng - lng1) * _RAD * 0.5)
    h = np.minimum(s_dphi * s_dphi + cos1 * a.cos * s_dlam * s_dlam, 1.0)
    out: NDArray[np.float64] = (2.0 * EARTH_RADIUS_KM) * np.arctan2(np.sqrt(h), np.sqrt(1.0 - h))
    return out


class NumpyImpl(GeoImpl):
    """Brute force: vectorised haversine over one array per type."""

    name = "numpy"
    build_note = "float64 arrays per type"
    query_note = "haversine over the type, argpartition"
    count_note = "haversine over all drivers"
    update_note = "in-place write at the driver's slot"

    def build(self) -> None:
        self.arrays = {}
        for vt, ts in self.w.by_type.items():
            phi = np.radians(np.array(ts.lats))
            self.arrays[vt] = _Arrays(phi, np.cos(phi), np.array(ts.lngs), ts.ids)

    def nearest(self, q: Query) -> Answer:
        a = self.arrays[q.vtype]
        phi1 = q.lat * _RAD
        d = _np_haversine_km(phi1, math.cos(phi1), q.lng, a)
        slots = np.argpartition(d, K)[:K] if d.size > K else np.arange(d.size)
        ids = a.ids
        found = sorted(
            (km, ids[slot]) for km, slot in zip(d[slots].tolist(), slots.tolist(), strict=True)
        )
        return [(did, km) for km, did in found if km <= RADIUS_KM]

    def count(self, c: CountAt) -> dict[str, int]:
        phi1 = c.lat * _RAD
        cos1 = math.cos(phi1)
        counts = {}
        for vt, a in self.arrays.items():
            n = int(np.count_nonzero(_np_haversine_km(phi1, cos1, c.lng, a) <= RADIUS_KM))
            if n:
                counts[vt] = n
        return counts

    def run_updates(self, batch: Sequence[Move]) -> None:
        arrays = self.arrays
        slot_of = self.w.slot_of
        for i, _did, vt, _point, lat, lng in batch:
            a = arrays[vt]
            slot = slot_of[i]
            phi = lat * _RAD
            a.phi[slot] = phi
            a.cos[slot] = math.cos(phi)
            a.lng[slot] = lng


def _redis_url() -> str:
    return os.environ.get("VTC_REDIS_URL") or REDIS_URL_DEFAULT


def _redis_where(url: str) -> str:
    """Host and port of a Redis URL, without any password it may hold."""
    parts = urlsplit(url)
    return f"{parts.hostname or '?'}:{parts.port or 6379}"


class RedisImpl(GeoImpl):
    """Redis GEO: one key per type, GEOSEARCH; one network round trip per operation."""

    name = "redis"
    build_note = f"pipelined GEOADD, {REDIS_CHUNK} members per command"
    query_note = "GEOSEARCH BYRADIUS ASC COUNT 10 WITHDIST"
    count_note = "pipeline of one GEOSEARCH per type, len()"
    update_note = "GEOADD"
    service_errors = (redis.RedisError, OSError) if "redis" not in _MISSING else (OSError,)

    @classmethod
    def unavailable(cls) -> str | None:
        missing = _MISSING.get("redis")
        if missing:
            return missing
        url = _redis_url()
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=5.0)
            try:
                version = str(client.info("server").get("redis_version", "0"))
            finally:
                client.close()
        except (redis.RedisError, OSError, ValueError) as exc:
            return f"no Redis at {_redis_where(url)}: {type(exc).__name__}: {exc}"
        major, minor = (int(x) for x in [*version.split("."), "0", "0"][:2])
        if (major, minor) < (6, 2):
            return f"Redis {version} at {_redis_where(url)} has no GEOSEARCH (needs 6.2)"
        return None

    def __init__(self, w: Workload) -> None:
        super().__init__(w)
        self.client = redis.Redis.from_url(_redis_url(), decode_responses=True, socket_timeout=30.0)
        prefix = f"vtc-bench:{secrets.token_hex(8)}:"
        self.keys = {vt: prefix + vt for vt in VEHICLE_TYPES}

    def build(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        for vt, ts in self.w.by_type.items():
            key = self.keys[vt]
            for start in range(0, len(ts.ids), REDIS_CHUNK):
                values: list[float | str] = []
                for lat, lng, did in zip(
                    ts.lats[start : start + REDIS_CHUNK],
                    ts.lngs[start : start + REDIS_CHUNK],
                    ts.ids[start : start + REDIS_CHUNK],
                    strict=True,
                ):
                    values += (lng, lat, did)
                pipe.geoadd(key, values)
                if len(pipe) >= 10:
                    pipe.execute()
        pipe.execute()

    def nearest(self, q: Query) -> Answer:
        found = self.client.geosearch(
            self.keys[q.vtype],
            longitude=q.lng,
            latitude=q.lat,
            radius=RADIUS_KM,
            unit="km",
            sort="ASC",
            count=K,
            withdist=True,
        )
        # [[member, distance], ...] with decode_responses=True.
        pairs = cast("list[tuple[str, float]]", found)
        return [(str(did), float(km)) for did, km in pairs]

    def count(self, c: CountAt) -> dict[str, int]:
        pipe = self.client.pipeline(transaction=False)
        for key in self.keys.values():
            pipe.geosearch(key, longitude=c.lng, latitude=c.lat, radius=RADIUS_KM, unit="km")
        results = pipe.execute()
        return {vt: len(r) for vt, r in zip(self.keys, results, strict=True) if r}

    def run_updates(self, batch: Sequence[Move]) -> None:
        geoadd = self.client.geoadd
        keys = self.keys
        for _i, did, vt, _point, lat, lng in batch:
            geoadd(keys[vt], (lng, lat, did))

    def close(self) -> None:
        try:
            self.client.delete(*self.keys.values())
        except (redis.RedisError, OSError) as exc:
            progress(f"redis: could not delete {list(self.keys.values())}: {exc}")
        finally:
            self.client.close()


IMPLS: tuple[type[GeoImpl], ...] = (Ours, RTreeImpl, ScipyImpl, NumpyImpl, RedisImpl)
PEERS = tuple(cls.name for cls in IMPLS if cls is not Ours)


# -- the cross-check ---------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """Brute-force answers to the first queries and counts of the workload."""

    answers: list[Answer]
    counts: list[dict[str, int]]
    how: str


def _python_brute_nearest(w: Workload, q: Query) -> Answer:
    ts = w.by_type[q.vtype]
    found = sorted(
        (d, did)
        for lat, lng, did in zip(ts.lats, ts.lngs, ts.ids, strict=True)
        if (d := haversine_deg(q.lat, q.lng, lat, lng)) <= RADIUS_KM
    )
    return [(did, d) for d, did in found[:K]]


def _python_brute_count(w: Workload, c: CountAt) -> dict[str, int]:
    counts = {}
    for vt, ts in w.by_type.items():
        n = sum(
            haversine_deg(c.lat, c.lng, lat, lng) <= RADIUS_KM
            for lat, lng in zip(ts.lats, ts.lngs, strict=True)
        )
        if n:
            counts[vt] = n
    return counts


def make_reference(w: Workload) -> Reference:
    """Brute-force answers (numpy if installed, else pure Python)."""
    queries = w.queries[:N_VERIFY_QUERIES]
    counts = w.counts[:N_VERIFY_COUNTS]
    if NumpyImpl.unavailable() is None:
        brute = NumpyImpl(w)
        brute.build()
        return Reference(
            [brute.nearest(q) for q in queries], [brute.count(c) for c in counts], "numpy"
        )
    return Reference(
        [_python_brute_nearest(w, q) for q in queries],
        [_python_brute_count(w, c) for c in counts],
        "python",
    )


def same_answer(got: Answer, want: Answer, tol_km: float = DISTANCE_TOL_KM) -> bool:
    """Same ids in the same order and distances within ``tol_km``.

    Drivers whose reference distances are within ``tol_km`` of each other
    may come in either order (a tie up to rounding).
    """
    if len(got) != len(want):
        return False
    want_km = dict(want)
    for (gid, gkm), (_wid, wkm) in zip(got, want, strict=True):
        if abs(gkm - wkm) > tol_km:
            return False
        if gid not in want_km or abs(want_km[gid] - wkm) > tol_km:
            return False
    return len({gid for gid, _ in got}) == len(got)


def verify_ours(impl: GeoImpl, ref: Reference) -> None:
    """Raise :class:`VerificationError` unless ``impl`` matches the reference exactly."""
    for n, (q, want) in enumerate(zip(impl.w.queries, ref.answers, strict=False)):
        got = impl.nearest(q)
        if not same_answer(got, want):
            raise VerificationError(
                f"query {n} at {q.point} ({q.vtype}): {impl.name} gave {got}, "
                f"brute force ({ref.how}) gave {want}"
            )
    for n, (c, want_counts) in enumerate(zip(impl.w.counts, ref.counts, strict=False)):
        got_counts = impl.count(c)
        if got_counts != want_counts:
            raise VerificationError(
                f"count {n} at {c.point}: {impl.name} gave {got_counts}, "
                f"brute force ({ref.how}) gave {want_counts}"
            )


def agreement(impl: GeoImpl, ref: Reference) -> tuple[str, str]:
    """On how many reference queries (counts) ``impl`` gave the same ids (counts)."""
    same_ids = sum(
        [did for did, _ in impl.nearest(q)] == [did for did, _ in want]
        for q, want in zip(impl.w.queries, ref.answers, strict=False)
    )
    same_counts = sum(
        impl.count(c) == want for c, want in zip(impl.w.counts, ref.counts, strict=False)
    )
    return f"{same_ids}/{len(ref.answers)}", f"{same_counts}/{len(ref.counts)}"


# -- the suite ---------------------------------------------------------------


def _ops_of(cls: type[GeoImpl]) -> tuple[str, ...]:
    return ("build", "query", "update" if cls.can_update else "rebuild", "count")


def _note(text: str) -> dict[str, JSONValue]:
    return {"note": text} if text else {}


def _build(cls: type[GeoImpl], w: Workload, sizes: Sizes, live: list[GeoImpl]) -> Row:
    """Build up to BUILD_REPEATS times within the budget; the last instance stays in ``live``.

    Each build is made by a fresh instance; the previous one is released
    (untimed) first.  The row reports the median build.
    """
    build_us: list[float] = []
    while len(build_us) < BUILD_REPEATS and sum(build_us) < sizes.budget_s * 1e6:
        while live:
            live.pop().close()
        gc.collect()
        impl = cls(w)
        live.append(impl)
        progress(f"{cls.name}: build ({w.n} drivers)")
        t0 = time.perf_counter()
        impl.build()
        build_us.append((time.perf_counter() - t0) * 1e6)
    total_us = statistics.median(build_us)
    extra = {"total_us": round(total_us), "n_builds": len(build_us), **_note(cls.build_note)}
    return Row(cls.name, "build", total_us / w.n, extra=extra)


def _measure(impl: GeoImpl, sizes: Sizes, ref: Reference) -> Iterator[Row]:
    """Check ``impl`` against the reference, then time queries, counts and updates."""
    name = impl.name
    w = impl.w
    agree: dict[str, JSONValue] = {}
    agree_counts: dict[str, JSONValue] = {}
    if isinstance(impl, Ours):
        verify_ours(impl, ref)
    else:
        q_agree, c_agree = agreement(impl, ref)
        agree = {"agree": q_agree}
        agree_counts = {"agree": c_agree}
    budget = sizes.budget_s

    progress(f"{name}: query")
    gc.collect()
    t = time_batches(impl.run_queries, w.queries, sizes.query_batch, budget)
    extra = {"n_ops": t.n_ops, **agree, **_note(impl.query_note)}
    yield Row(name, "query", t.us_per_op, extra=extra)

    progress(f"{name}: count")
    gc.collect()
    t = time_batches(impl.run_counts, w.counts, sizes.count_batch, budget)
    extra = {"n_ops": t.n_ops, **agree_counts, **_note(impl.count_note)}
    yield Row(name, "count", t.us_per_op, extra=extra)

    if impl.can_update:
        progress(f"{name}: update")
        gc.collect()
        t = time_batches(impl.run_updates, w.moves, sizes.update_batch, budget)
        extra = {"n_ops": t.n_ops, **_note(impl.update_note)}
        yield Row(name, "update", t.us_per_op, extra=extra)
    yield from impl.extra_rows(sizes)


def bench_impl(cls: type[GeoImpl], w: Workload, sizes: Sizes, ref: Reference) -> list[Row]:
    """Every row of one implementation: measured, or skipped with the reason."""
    reason = cls.unavailable()
    if reason is not None:
        progress(f"{cls.name}: skipped ({reason})")
        return skipped_rows(cls.name, _ops_of(cls), reason)
    rows: dict[str, Row] = {}
    live: list[GeoImpl] = []
    try:
        rows["build"] = _build(cls, w, sizes, live)
        for row in _measure(live[-1], sizes, ref):
            rows[row.op] = row
    except cls.service_errors as exc:
        reason = f"{type(exc).__name__}: {exc}"
        progress(f"{cls.name}: failed ({reason})")
        for op in _ops_of(cls):
            rows.setdefault(op, Row(cls.name, op, skipped=reason))
    finally:
        while live:
            live.pop().close()
    return [rows[op] for op in _ops_of(cls) if op in rows]


def run(options: Options) -> SuiteReport:
    """Build the workload, check vtc_dispatch against brute force, time every impl."""
    n = options.n if options.n is not None else (N_QUICK if options.quick else N_DEFAULT)
    if n < len(VEHICLE_TYPES):
        raise UsageError(f"the geo suite needs --n >= {len(VEHICLE_TYPES)}, got {n}")
    sizes = QUICK if options.quick else FULL
    started = time.perf_counter()
    progress(f"geo: generating the workload (n={n}, seed={options.seed})")
    w = make_workload(n, options.seed, sizes)
    ref = make_reference(w)
    rows: list[Row] = []
    for cls in IMPLS:
        rows += bench_impl(cls, w, sizes, ref)
        if cls is Ours:
            update = next((r for r in rows if r.impl == OURS and r.op == "update"), None)
            if update is not None:
                progress(f"{OURS}: memory (tracemalloc, {n} drivers)")
                update.extra["bytes_per_driver"] = round(bytes_per_driver(w), 1)
        gc.collect()
    add_ratios(rows)
    progress(f"geo: done in {time.perf_counter() - started:.1f} s")
    params: dict[str, JSONValue] = {
        "n_drivers": n,
        "k": K,
        "radius_km": RADIUS_KM,
        "quick": options.quick,
        "seed": options.seed,
        "verified": True,
        "verified_against": f"brute force ({ref.how}), first {len(ref.answers)} queries "
        f"and {len(ref.counts)} counts",
        "vehicle_types": list(VEHICLE_TYPES),
        "python": sys.version.split()[0],
    }
    return SuiteReport("geo", params, rows)
