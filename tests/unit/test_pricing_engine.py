"""The pricing engine on the Douala configuration: each rule, the final fare, fees."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from places import AKWA, DEIDO  # DEIDO is in no zone

from vtc_dispatch.errors import InvalidMoney, OutOfServiceArea, PricingUnavailable
from vtc_dispatch.geo import LatLng
from vtc_dispatch.ports import RouteEstimate
from vtc_dispatch.pricing import Pricer, douala_config, load_pricing_config
from vtc_dispatch.pricing.douala import DOUALA_CONFIG

BONAPRISO = LatLng(4.0250, 9.6900)
AIRPORT = LatLng(4.0100, 9.7200)
NOON = datetime(2026, 11, 21, 11, 0, tzinfo=UTC)  # 12:00 in Douala (UTC+1)


@attrs.frozen
class Route:
    """A RouteEstimator answering a fixed trip, to test rules in isolation."""

    km: float
    minutes: float
    spread: float = 0.1

    def estimate(self, pickup: LatLng, dropoff: LatLng) -> RouteEstimate:
        lo, hi = 1 - self.spread, 1 + self.spread
        return RouteEstimate(
            self.km, self.minutes, self.km * lo, self.km * hi, self.minutes * lo, self.minutes * hi
        )


def pricer(route: Route | None = None, **changes: Any) -> Pricer:
    data = copy.deepcopy(DOUALA_CONFIG)
    data.update(changes)
    return Pricer(load_pricing_config(data), route_estimator=route)


def lines(quote: Any) -> dict[str, Decimal]:
    return {line.code: line.amount for line in quote.breakdown}


def test_flat_meter_and_rounding_line() -> None:
    q = pricer(Route(10.0, 30.0)).quote(AKWA, DEIDO, "taxi_jaune", NOON)
    assert lines(q) == {
        "base_fare": 300,
        "distance": Decimal("1500.000"),
        "time": Decimal("300.00"),
        "booking_fee": 100,
    }
    assert q.estimate == 2200
    assert (q.minimum, q.maximum) == (Decimal(2000), Decimal(2400))
    assert q.display == "between 2 000 and 2 400 XAF"
    assert q.currency == "XAF"
    assert q.distance_km == Decimal("10.000")
    assert q.rules_applied == ("tariff:douala/taxi_jaune",)


def test_progressive_sections() -> None:
    q = pricer(Route(14.0, 0.0, spread=0.0)).quote(AKWA, DEIDO, "confort", NOON)
    # 10 km at 300 then 4 km at 250.
    assert lines(q)["distance"] == Decimal(10 * 300 + 4 * 250)
    assert q.display == "about 4 700 XAF"


def test_minimum_fare_lifts_short_trips() -> None:
    q = pricer(Route(0.5, 1.0)).quote(AKWA, DEIDO, "confort", NOON)
    assert "minimum_fare" in q.rules_applied
    assert q.estimate == 1500 + 200  # minimum, then the booking fee


def test_night_window_wraps_midnight_in_the_city_time_zone() -> None:
    p = pricer(Route(10.0, 30.0))
    late = datetime(2026, 11, 21, 21, 30, tzinfo=UTC)  # 22:30 in Douala
    early = datetime(2026, 11, 21, 4, 59, tzinfo=UTC)  # 05:59 in Douala
    morning = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)  # 06:00: over
    before = datetime(2026, 11, 21, 20, 59, tzinfo=UTC)  # 21:59: not yet
    for at in (late, early):
        q = p.quote(AKWA, DEIDO, "taxi_jaune", at)
        assert "night" in q.rules_applied
        assert lines(q)["night"] == Decimal("2100.00000") * Decimal("0.2")
        c = p.quote(AKWA, DEIDO, "confort", at)
        assert lines(c)["night"] == 500
    for at in (morning, before):
        assert "night" not in p.quote(AKWA, DEIDO, "taxi_jaune", at).rules_applied
    other_zone = datetime(2026, 11, 21, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    assert "night" in p.quote(AKWA, DEIDO, "taxi_jaune", other_zone).rules_applied


def test_vip_zone_at_either_end_and_applies_to() -> None:
    p = pricer(Route(5.0, 15.0))
    to_vip = p.quote(AKWA, BONAPRISO, "taxi_jaune", NOON)
    from_vip = p.quote(BONAPRISO, DEIDO, "taxi_jaune", NOON)
    plain = p.quote(AKWA, DEIDO, "taxi_jaune", NOON)
    assert "zone:bonapriso" in to_vip.rules_applied
    assert "zone:bonapriso" in from_vip.rules_applied
    metered = Decimal(300) + Decimal("750.000") + Decimal("150.00")
    assert lines(to_vip)["zone:bonapriso"] == metered * Decimal("0.15")
    assert to_vip.estimate > plain.estimate
    data = copy.deepcopy(DOUALA_CONFIG)
    data["zones"]["bonapriso"]["applies_to"] = "pickup"
    only_pickup = Pricer(load_pricing_config(data), route_estimator=Route(5.0, 15.0))
    assert (
        "zone:bonapriso" not in only_pickup.quote(AKWA, BONAPRISO, "taxi_jaune", NOON).rules_applied
    )
    assert "zone:bonapriso" in only_pickup.quote(BONAPRISO, AKWA, "taxi_jaune", NOON).rules_applied


def test_fixed_route_both_ways_replaces_the_meter() -> None:
    p = pricer(Route(12.0, 40.0))
    there = p.quote(AKWA, AIRPORT, "confort", NOON)
    back = p.quote(AIRPORT, AKWA, "taxi_jaune", NOON)
    assert there.fixed_route == "akwa_airport"
    assert lines(there) == {"fixed_route:akwa_airport": 6000, "booking_fee": 200}
    assert there.estimate == there.minimum == there.maximum == 6200
    assert there.display == "about 6 200 XAF"
    assert back.estimate == 3100
    assert p.quote(DEIDO, AIRPORT, "confort", NOON).fixed_route is None


def test_surge_is_capped_and_must_be_at_least_one() -> None:
    p = pricer(Route(10.0, 30.0))
    q = p.quote(AKWA, DEIDO, "taxi_jaune", NOON, demand_multiplier=Decimal("3"))
    assert q.demand_multiplier == Decimal("1.8")
    assert lines(q)["surge"] == Decimal("2100.00") * Decimal("0.8")
    with pytest.raises(
        InvalidMoney, match=r"demand_multiplier must be a Decimal >= 1, got Decimal\('0.9'\)"
    ):
        p.quote(AKWA, DEIDO, "taxi_jaune", NOON, demand_multiplier=Decimal("0.9"))


def test_quote_all_leaves_out_types_without_tariff_and_shares_the_trip() -> None:
    p = pricer(Route(10.0, 30.0))
    quotes = p.quote_all(AKWA, DEIDO, NOON)
    assert list(quotes) == ["taxi_jaune", "confort"]
    assert quotes["confort"] == p.quote(AKWA, DEIDO, "confort", NOON)
    assert p.quote_all(AKWA, DEIDO, NOON, ["confort", "limousine"]).keys() == {"confort"}


def test_quote_all_answers_in_the_configured_order_whatever_order_it_is_asked_in() -> None:
    # A Redis registry counts types in its set's order: the screen must not follow it.
    p = pricer(Route(10.0, 30.0))
    assert list(p.quote_all(AKWA, DEIDO, NOON, ["confort", "taxi_jaune"])) == [
        "taxi_jaune",
        "confort",
    ]


def test_errors_name_the_bad_input() -> None:
    p = pricer()
    with pytest.raises(
        OutOfServiceArea, match=r"^pickup LatLng\(48.85, 2.35\) is outside every priced city$"
    ):
        p.quote(LatLng(48.85, 2.35), DEIDO, "confort", NOON)
    with pytest.raises(PricingUnavailable, match="unknown vehicle type 'limousine'"):
        p.quote(AKWA, DEIDO, "limousine", NOON)
    with pytest.raises(InvalidMoney, match="at must be a datetime with a time zone"):
        p.quote(AKWA, DEIDO, "confort", datetime(2026, 11, 21, 12))
    with pytest.raises(InvalidMoney, match=r"unknown supplement 'piano' for douala/confort"):
        p.quote(AKWA, DEIDO, "confort", NOON, supplements=["piano"])


def test_supplements_are_lines_of_their_own() -> None:
    q = pricer(Route(10.0, 30.0)).quote(AKWA, DEIDO, "confort", NOON, supplements=["luggage"])
    assert lines(q)["supplement:luggage"] == 300
    assert sum(line.amount for line in q.breakdown) == q.estimate


# -- final fare -------------------------------------------------------------

END = NOON + timedelta(minutes=45)


def test_trip_as_planned_is_charged_the_quote() -> None:
    p = pricer(Route(10.0, 30.0))
    q = p.quote(AKWA, DEIDO, "taxi_jaune", NOON)
    final = p.final_fare(q, distance_km=10.6, duration_min=38.0, at=END)
    assert final.reason == "as_quoted"
    assert final.amount == q.estimate
    assert [c.reason for c in final.changes] == ["quoted"]


def test_changed_route_is_recomputed_and_capped() -> None:
    p = pricer(Route(10.0, 30.0))
    q = p.quote(AKWA, DEIDO, "taxi_jaune", NOON)
    detour = p.final_fare(q, distance_km=13.0, duration_min=35.0, at=END, route_changed=True)
    assert detour.reason == "recomputed"
    assert detour.amount == 300 + 13 * 150 + 350 + 100  # 2700, under the cap of 2880
    lost = p.final_fare(q, distance_km=40.0, duration_min=90.0, at=END)
    assert lost.reason == "recomputed_capped"
    assert lost.amount == 2900  # 2400 * 1.2 = 2880, rounded to the step
    assert lost.changes[-1].from_amount == q.estimate
    assert lost.changes[-1].to_amount == lost.amount
    shorter = p.final_fare(q, distance_km=6.0, duration_min=15.0, at=END)
    assert shorter.reason == "recomputed"
    assert shorter.amount < q.estimate


def test_fixed_route_is_kept_unless_the_route_changed() -> None:
    p = pricer(Route(12.0, 40.0))
    q = p.quote(AKWA, AIRPORT, "confort", NOON)
    assert p.final_fare(q, distance_km=20.0, duration_min=80.0, at=END).amount == 6200
    changed = p.final_fare(q, distance_km=20.0, duration_min=80.0, at=END, route_changed=True)
    assert changed.reason == "recomputed_capped"


def test_waiting_and_late_supplements_are_added_and_minimum_holds() -> None:
    p = pricer(Route(10.0, 30.0))
    q = p.quote(AKWA, DEIDO, "confort", NOON, supplements=["luggage"])
    final = p.final_fare(
        q, distance_km=10.0, duration_min=30.0, waiting_min=9.0, supplements=["extra_stop"], at=END
    )
    got = lines(final)
    assert got["waiting"] == 4 * 50
    assert got["supplement:luggage"] == 300
    assert got["supplement:extra_stop"] == 500
    assert final.amount == q.estimate + 200 + 500
    assert sum(got.values()) == final.amount
    tiny = p.final_fare(q, distance_km=0.1, duration_min=1.0, at=END, route_changed=True)
    assert tiny.amount >= 1500


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_final_fare_refuses_bad_measures(bad: float) -> None:
    p = pricer(Route(10.0, 30.0))
    q = p.quote(AKWA, DEIDO, "confort", NOON)
    with pytest.raises(InvalidMoney, match=r"distance_km must be a finite number >= 0, got"):
        p.final_fare(q, distance_km=bad, duration_min=1.0, at=END)


# -- promotions and cancellation ----------------------------------------------


def test_promotion_needs_its_code_and_dates_and_rounds_down() -> None:
    p = pricer(Route(10.0, 30.0))
    q = p.quote(AKWA, DEIDO, "taxi_jaune", NOON)
    final = p.final_fare(q, distance_km=10.0, duration_min=30.0, at=END)
    assert p.apply_promotion(final, END) == final
    assert p.apply_promotion(final, END, code="WRONG") == final
    promoted = p.apply_promotion(final, END, code="bienvenue")
    assert lines(promoted)["promotion:launch"] == -200  # 10 % of 2200 = 220, rounded down
    assert promoted.amount == 2000
    assert promoted.changes[-1].reason == "promotion:launch"
    assert sum(line.amount for line in promoted.breakdown) == promoted.amount
    expired = datetime(2027, 1, 2, tzinfo=UTC)
    assert p.apply_promotion(final, expired, code="BIENVENUE") == final


def test_best_promotion_wins_and_never_goes_below_zero() -> None:
    data = copy.deepcopy(DOUALA_CONFIG)
    data["promotions"]["vip"] = {
        "label": "VIP 5000 off",
        "kind": "fixed",
        "value": "5000",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00Z",
        "segments": ["vip"],
    }
    p = Pricer(load_pricing_config(data), route_estimator=Route(10.0, 30.0))
    final = p.final_fare(
        p.quote(AKWA, DEIDO, "taxi_jaune", NOON), distance_km=10, duration_min=30, at=END
    )
    free = p.apply_promotion(final, END, segment="vip", code="BIENVENUE")
    assert free.amount == 0
    assert lines(free)["promotion:vip"] == -final.amount
    assert p.apply_promotion(final, END, segment="regular") == final


def test_cancellation_fees() -> None:
    p = pricer(Route(10.0, 30.0))
    q = p.quote(AKWA, DEIDO, "confort", NOON)
    accepted = NOON + timedelta(minutes=1)

    def fee(by: Any, minutes: float, arrived_after: float | None = None) -> tuple[int, str]:
        arrived = None if arrived_after is None else accepted + timedelta(minutes=arrived_after)
        result = p.cancellation_fee(
            q,
            cancelled_by=by,
            cancelled_at=accepted + timedelta(minutes=minutes),
            accepted_at=accepted,
            arrived_at=arrived,
        )
        assert result.amount == int(result.amount)
        return int(result.amount), result.reason

    assert fee("customer", 1.5) == (0, "within the free minutes after acceptance")
    assert fee("customer", 3) == (500, "after the free minutes")
    assert fee("customer", 14, arrived_after=8) == (1000, "no-show")
    assert fee("customer", 10, arrived_after=8) == (500, "after the free minutes")
    assert fee("driver", 30) == (0, "cancelled by the driver")
    searching = p.cancellation_fee(q, cancelled_by="customer", cancelled_at=NOON)
    assert searching.amount == 0
    with pytest.raises(InvalidMoney, match=r"accepted_at .* is after cancelled_at"):
        p.cancellation_fee(q, cancelled_by="customer", cancelled_at=NOON, accepted_at=accepted)


def test_city_lookup_and_default_estimator() -> None:
    p = Pricer(douala_config())
    assert p.city_at(AKWA) == "douala"
    q = p.quote(AKWA, DEIDO, "taxi_jaune", NOON)
    assert q.route.distance_low_km < q.route.distance_km < q.route.distance_high_km
