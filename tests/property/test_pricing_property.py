"""Invariants of pricing: ranges, monotonicity, fixed routes, rounding, exact breakdowns."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
from hypothesis import given
from hypothesis import strategies as st

from vtc_dispatch.geo import LatLng
from vtc_dispatch.ports import RouteEstimate
from vtc_dispatch.pricing import Pricer, RoundingMode, douala_config, round_to_step
from vtc_dispatch.pricing.config import NightWindow

CONFIG = douala_config()
DEFAULT = Pricer(CONFIG)
TYPES = st.sampled_from(["taxi_jaune", "confort"])
in_douala = st.builds(LatLng, st.floats(3.95, 4.15), st.floats(9.60, 9.85))
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
surges = st.decimals(min_value=1, max_value=3, places=2)


@attrs.frozen
class Route:
    km: float
    minutes: float

    def estimate(self, pickup: LatLng, dropoff: LatLng) -> RouteEstimate:
        return RouteEstimate(self.km, self.minutes, self.km, self.km, self.minutes, self.minutes)


def fare(km: float, minutes: float, vt: str, at: datetime, a: LatLng, b: LatLng) -> Decimal:
    return Pricer(CONFIG, route_estimator=Route(km, minutes)).quote(a, b, vt, at).estimate


@given(in_douala, in_douala, TYPES, moments, surges)
def test_range_holds_estimate_and_breakdown_sums(
    a: LatLng, b: LatLng, vt: str, at: datetime, surge: Decimal
) -> None:
    q = DEFAULT.quote(a, b, vt, at, demand_multiplier=surge)
    assert q.minimum <= q.estimate <= q.maximum
    assert sum(line.amount for line in q.breakdown) == q.estimate
    for amount in (q.estimate, q.minimum, q.maximum):
        assert isinstance(amount, Decimal)
        assert amount % 50 == 0


@given(
    in_douala,
    in_douala,
    TYPES,
    moments,
    st.floats(0, 80),
    st.floats(0, 80),
    st.floats(0, 200),
    st.floats(0, 200),
)
def test_fare_never_decreases_with_distance_or_duration(
    a: LatLng, b: LatLng, vt: str, at: datetime, d1: float, d2: float, t1: float, t2: float
) -> None:
    (d1, d2), (t1, t2) = sorted((d1, d2)), sorted((t1, t2))
    assert fare(d1, t1, vt, at, a, b) <= fare(d2, t1, vt, at, a, b)
    assert fare(d1, t1, vt, at, a, b) <= fare(d1, t2, vt, at, a, b)


akwa = st.builds(LatLng, st.floats(4.041, 4.064), st.floats(9.696, 9.714))
airport = st.builds(LatLng, st.floats(3.996, 4.019), st.floats(9.706, 9.734))


@given(akwa, airport, TYPES, moments, st.floats(1, 60), st.floats(1, 60), st.booleans())
def test_fixed_routes_ignore_distance(
    a: LatLng, b: LatLng, vt: str, at: datetime, d1: float, d2: float, reverse: bool
) -> None:
    if reverse:
        a, b = b, a
    assert fare(d1, d1 * 3, vt, at, a, b) == fare(d2, d2 * 2, vt, at, a, b)


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=4),
    st.sampled_from([Decimal(1), Decimal(5), Decimal(25), Decimal(50), Decimal("0.01")]),
    st.sampled_from(list(RoundingMode)),
)
def test_rounding_is_idempotent_and_on_the_step(
    amount: Decimal, step: Decimal, mode: RoundingMode
) -> None:
    once = round_to_step(amount, step, mode)
    assert round_to_step(once, step, mode) == once
    assert once % step == 0
    assert abs(once - amount) <= step
    if mode is RoundingMode.UP:
        assert once >= amount
    if mode is RoundingMode.DOWN:
        assert once <= amount


@given(st.times(), st.times(), st.times())
def test_night_window_membership_matches_minutes_on_a_clock(
    start: time, end: time, t: time
) -> None:
    if start == end:
        return
    window = NightWindow(start=start, end=end, multiplier=Decimal("1.1"))
    day = datetime(2000, 1, 1)
    s, e, x = (datetime.combine(day, v) - day for v in (start, end, t))
    length = (e - s) % timedelta(days=1)
    assert window.contains(t) == ((x - s) % timedelta(days=1) < length)


@given(in_douala, in_douala, moments)
def test_night_rule_follows_douala_local_time(a: LatLng, b: LatLng, at: datetime) -> None:
    local = at.astimezone(ZoneInfo("Africa/Douala")).time()
    night = local >= time(22) or local < time(6)
    q = DEFAULT.quote(a, b, "taxi_jaune", at)
    # A fixed-price route replaces the meter and its night rule (docs/pricing.md).
    assert ("night" in q.rules_applied) == (night and q.fixed_route is None)


@given(
    in_douala,
    in_douala,
    TYPES,
    moments,
    st.floats(0, 60),
    st.floats(0, 120),
    st.floats(0, 30),
    st.booleans(),
)
def test_final_fare_breakdown_sums_and_respects_minimum(
    a: LatLng,
    b: LatLng,
    vt: str,
    at: datetime,
    km: float,
    minutes: float,
    wait: float,
    changed: bool,
) -> None:
    q = DEFAULT.quote(a, b, vt, at)
    final = DEFAULT.final_fare(
        q,
        distance_km=km,
        duration_min=minutes,
        waiting_min=wait,
        route_changed=changed,
        at=at + timedelta(hours=1),
    )
    assert sum(line.amount for line in final.breakdown) == final.amount
    tariff = next(t for t in CONFIG.tariffs if t.vehicle_type == vt)
    assert final.amount >= tariff.minimum_fare
    if final.reason.startswith("recomputed"):
        assert tariff.waiting is not None
        waited = Decimal(repr(wait)).quantize(Decimal("0.01")) - tariff.waiting.free_minutes
        waiting = max(Decimal(0), waited) * tariff.waiting.per_minute
        cap = q.maximum * (1 + CONFIG.final_fare.cap_above_max)
        assert final.amount <= round_to_step(cap + waiting, Decimal(50), RoundingMode.UP)
    assert final.changes[0].to_amount == q.estimate
