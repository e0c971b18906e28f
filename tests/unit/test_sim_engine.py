"""The simulation engine: demand, shifts, answers, patience, time, determinism and replay."""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sim_scenarios import douala_data, small_scenario

from vtc_dispatch.events import Event, OfferExpired, OfferSent, TripCompleted
from vtc_dispatch.geo import LatLng, haversine_km
from vtc_dispatch.sim import OUTCOMES, ReplayMismatch, Simulation, replay, simulate
from vtc_dispatch.sim.behaviour import ACCEPT, NO_ANSWER, REJECT, ModelDecider
from vtc_dispatch.sim.scenario import AcceptModel, load_scenario

ROOT = Path(__file__).resolve().parents[2]
US = 1_000_000


def _log_records(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines()]


# -- demand ------------------------------------------------------------------


def test_poisson_demand_follows_the_hourly_profile() -> None:
    data = douala_data()
    data["demand"]["requests_per_day"] = 24_000
    profile = [1.0] * 12 + [3.0] * 12  # afternoon three times busier
    data["demand"]["hourly_profile"] = profile
    decider = ModelDecider(load_scenario(data), seed=11)
    times = []
    while (plan := decider.next_request()) is not None:
        times.append(plan.t_us / US)
    expected_total = 24_000
    # Poisson: the count's standard deviation is sqrt(mean); 4 sigma is a sure bound.
    assert abs(len(times) - expected_total) < 4 * math.sqrt(expected_total)
    per_hour = Counter(int(t // 3600) for t in times)
    for hour in range(24):
        mean = 24_000 * profile[hour] / sum(profile)
        assert abs(per_hour[hour] - mean) < 4.5 * math.sqrt(mean), (hour, per_hour[hour], mean)
    # Within an hour, gaps are exponential: mean 1/rate, and as variable as their mean.
    afternoon = [t for t in times if 13 * 3600 <= t < 23 * 3600]
    gaps = [b - a for a, b in itertools.pairwise(afternoon)]
    rate = 24_000 * 3.0 / sum(profile) / 3600.0
    assert statistics.fmean(gaps) == pytest.approx(1.0 / rate, rel=0.05)
    assert statistics.stdev(gaps) == pytest.approx(1.0 / rate, rel=0.08)
    assert times == sorted(times)
    assert all(0.0 <= t < 24 * 3600 for t in times)


def test_an_hour_at_zero_gets_no_request_and_places_follow_the_weights() -> None:
    data = douala_data()
    data["demand"]["hourly_profile"] = [0.0] * 8 + [1.0] + [0.0] * 15
    data["demand"]["requests_per_day"] = 2000
    data["demand"]["background_weight"] = 0.0
    hotspots = data["demand"]["hotspots"]
    for spot in hotspots:
        spot["pickup_weight"] = 0.0
        spot["hourly"] = None
    hotspots[0]["pickup_weight"] = 1.0  # Akwa only
    scenario = load_scenario(data)
    decider = ModelDecider(scenario, seed=5)
    plans = []
    while (plan := decider.next_request()) is not None:
        plans.append(plan)
    assert plans
    assert {int(p.t_us // (3600 * US)) for p in plans} == {8}
    akwa = scenario.demand.hotspots[0]
    center = LatLng(*akwa.center)
    assert max(haversine_km(center, p.pickup) for p in plans) <= akwa.radius_km * 1.01
    assert min(haversine_km(p.pickup, p.dropoff) for p in plans) >= 0.0


# -- the driver's answer -------------------------------------------------------


def test_acceptance_falls_with_distance_and_rises_with_the_fare() -> None:
    model = AcceptModel(base=0.8, per_km=-0.5, per_fare=1.0)
    assert model.probability(0.0, 1500.0) == pytest.approx(0.8)
    assert model.probability(4.0, 1500.0) < model.probability(1.0, 1500.0)
    assert model.probability(1.0, 3000.0) > model.probability(1.0, 1500.0)
    assert model.probability(1e6, 1500.0) == 0.0


def test_answers_match_the_model_in_frequency() -> None:
    data = douala_data()
    data["drivers"]["no_answer"] = 0.2
    data["drivers"]["accept"] = {"base": 0.6, "per_km": 0.0, "per_fare": 0.0}
    data["drivers"]["answer_delay_s"] = [3, 4, 9]
    decider = ModelDecider(load_scenario(data), seed=3)
    answers = [decider.answer(0, "d1", "o1", 1.0, 1500.0) for _ in range(20_000)]
    counts = Counter(action for action, _ in answers)
    assert counts[NO_ANSWER] / 20_000 == pytest.approx(0.2, abs=0.015)
    answered = counts[ACCEPT] + counts[REJECT]
    assert counts[ACCEPT] / answered == pytest.approx(0.6, abs=0.015)
    delays = [d for action, d in answers if action != NO_ANSWER]
    assert min(delays) >= 3.0
    assert max(delays) <= 9.0
    assert statistics.fmean(delays) == pytest.approx((3 + 4 + 9) / 3, rel=0.03)


def test_drivers_who_never_answer_let_every_offer_expire() -> None:
    scenario = small_scenario(drivers__no_answer=1.0)
    result = Simulation(scenario, seed=2).run()
    k = result.kpis
    assert k["offers"]["sent"] > 0
    assert k["offers"]["accepted"] == k["offers"]["rejected"] == 0
    assert k["offers"]["expired"] == k["offers"]["sent"]
    assert k["outcomes"]["done"] == 0


def test_a_fixed_answer_delay_is_the_time_to_assignment() -> None:
    scenario = small_scenario(
        drivers__no_answer=0.0,
        drivers__answer_delay_s=7,
        drivers__accept={"base": 0.999999, "per_km": 0.0, "per_fare": 0.0},
        drivers__withdraw_after_accept=0.0,
    )
    k = Simulation(scenario, seed=4).run().kpis
    assert k["offers"]["rejected"] == 0
    assert k["time_to_assignment_s"]["p50"] == 7.0
    assert k["time_to_assignment_s"]["p90"] == 7.0
    assert k["outcomes"]["done"] > 0


# -- shifts and patience -------------------------------------------------------------


def test_drivers_are_online_during_their_shift_only() -> None:
    data = douala_data()
    data["fleet"] = [
        {
            "vehicle_type": "taxi_jaune",
            "drivers": 6,
            "shifts": [{"start": "08:00", "hours": 2, "share": 1.0, "jitter_min": 0}],
        }
    ]
    data["demand"]["requests_per_day"] = 0
    result = Simulation(load_scenario(data), seed=1).run()
    online = [h["online_drivers"] for h in result.hourly]
    assert online[8] == online[9] == 6.0
    assert sum(online) == 12.0
    assert result.kpis["drivers"]["online_hours"] == 12.0


def test_shifts_split_the_fleet_by_share_and_cover_the_night() -> None:
    scenario = load_scenario("douala")
    plans = ModelDecider(scenario, seed=1).shifts()
    assert len({p.driver_id for p in plans}) == scenario.total_drivers
    night = [p for p in plans if p.start_us == 0]  # shifts from the day before, still on
    assert night
    assert all(p.end_us > 0 for p in plans)
    horizon = scenario.duration_h * 3600 * US
    assert all(p.start_us < horizon for p in plans)


def test_patience_runs_out_exactly_when_nobody_answers() -> None:
    scenario = small_scenario(
        drivers__no_answer=1.0,
        customers__patience_s=60,
        customers__retry_probability=0.0,
        dispatch__pool={"default": {"max_waiting_time_s": 30, "search_timeout_s": 600}},
    )
    log = io.StringIO()
    Simulation(scenario, seed=3, event_log=log).run()
    records = _log_records(log.getvalue())
    asked = {r["customer"]: r["t_us"] for r in records if r["k"] == "request"}
    chosen = {r["customer"] for r in records if r["k"] == "choose" and r["choice"]}
    outcomes = {r["customer"]: r for r in records if r["k"] == "outcome"}
    cancelled = [c for c in chosen if outcomes[c]["outcome"] == "cancelled_by_customer"]
    assert cancelled
    for customer in chosen:
        outcome = outcomes[customer]
        if outcome["outcome"] == "cancelled_by_customer":
            assert outcome["t_us"] - asked[customer] == 60 * US
        else:  # every driver nearby let it expire before the minute was over
            assert outcome["outcome"] == "no_driver"
            assert outcome["t_us"] - asked[customer] < 60 * US


def test_the_pool_deadlines_drive_expiry_on_the_simulated_clock() -> None:
    scenario = small_scenario(
        drivers__no_answer=1.0,
        dispatch__pool={"default": {"max_waiting_time_s": 17, "search_timeout_s": 600}},
    )
    simulation = Simulation(scenario, seed=6)
    sent: dict[tuple[str, str], Any] = {}
    gaps = []

    def listen(event: Event) -> None:
        if isinstance(event, OfferSent):
            sent[event.order_id, event.driver_id] = event.at
        elif isinstance(event, OfferExpired):
            gaps.append((event.at - sent[event.order_id, event.driver_id]).total_seconds())

    simulation.service.subscribe(listen)
    simulation.run()
    assert gaps
    assert set(gaps) == {17.0}  # each expiry at its deadline to the microsecond


# -- time, determinism, replay ---------------------------------------------------------


def test_simulated_time_never_goes_backwards() -> None:
    log = io.StringIO()
    simulation = Simulation(small_scenario(), seed=8, event_log=log)
    moments: list[Any] = []
    simulation.service.subscribe(lambda event: moments.append(event.at))
    simulation.run()
    assert moments == sorted(moments)
    # Decisions and outcomes are logged as they happen (a request is drawn ahead).
    records = _log_records(log.getvalue())
    stamps = [r["t_us"] for r in records if "t_us" in r and r["k"] != "request"]
    assert len(stamps) > 100
    assert stamps == sorted(stamps)


def test_same_seed_same_run_other_seed_other_run() -> None:
    scenario = small_scenario()
    first = simulate(scenario, seed=21)
    again = simulate(scenario, seed=21)
    other = simulate(scenario, seed=22)
    assert first.kpis == again.kpis
    assert first.hourly == again.hourly
    assert first.kpis != other.kpis


@pytest.mark.slow
def test_other_dispatch_settings_see_the_same_customers() -> None:
    logs = []
    for pool in ({"max_waiting_time_s": 10}, {"max_waiting_time_s": 60, "mode": "batch"}):
        log = io.StringIO()
        scenario = small_scenario(
            requests_per_day=400, drivers=15, dispatch__pool={"default": pool}
        )
        simulate(scenario, seed=4, event_log=log)
        logs.append(_log_records(log.getvalue()))
    requests = [[r for r in records if r["k"] in ("request", "shift")] for records in logs]
    assert len(requests[0]) > 300
    assert requests[0] == requests[1]
    outcomes = [[r["outcome"] for r in records if r["k"] == "outcome"] for records in logs]
    assert outcomes[0] != outcomes[1]  # the settings did change something


@pytest.mark.slow
def test_runs_are_the_same_in_processes_with_other_hash_seeds() -> None:
    code = (
        "import json, sys; sys.path.insert(0, 'tests/property');"
        "from sim_scenarios import small_scenario; from vtc_dispatch.sim import simulate;"
        "print(json.dumps(simulate(small_scenario(), seed=5).kpis, sort_keys=True))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_a_replayed_log_gives_the_same_kpis() -> None:
    scenario = small_scenario(requests_per_day=400, drivers=15)
    log = io.StringIO()
    recorded = simulate(scenario, seed=9, event_log=log)
    replayed = replay(io.StringIO(log.getvalue()))
    assert replayed.kpis == recorded.kpis
    assert replayed.hourly == recorded.hourly
    records = _log_records(log.getvalue())
    assert records[0]["k"] == "header"
    assert records[-1] == {"k": "kpis", "kpis": recorded.kpis}
    kinds = Counter(r["k"] for r in records)
    assert kinds["request"] == recorded.kpis["requests"] == kinds["outcome"]
    assert kinds["answer"] >= recorded.kpis["offers"]["accepted"]


def test_a_tampered_log_is_caught_at_its_line() -> None:
    log = io.StringIO()
    simulate(small_scenario(), seed=9, event_log=log)
    original = log.getvalue().splitlines()
    lines = list(original)
    first_answer = next(i for i, line in enumerate(lines) if '"k":"answer"' in line)
    record = json.loads(lines[first_answer])
    record["action"] = "reject" if record["action"] != "reject" else "accept"
    lines[first_answer] = json.dumps(record)
    with pytest.raises(ReplayMismatch, match=r"^line \d+: the log has"):
        replay(io.StringIO("\n".join(lines) + "\n"))
    with pytest.raises(ReplayMismatch, match="line 1: not an event log header"):
        replay(io.StringIO('{"k": "kpis"}\n'))
    truncated = "\n".join(original[: len(original) // 2]) + "\n"
    with pytest.raises(ReplayMismatch, match="the log ended"):
        replay(io.StringIO(truncated))


# -- the KPIs ----------------------------------------------------------------------------


@pytest.mark.slow
def test_kpis_add_up() -> None:
    result = simulate(small_scenario(requests_per_day=500, drivers=20), seed=13)
    k = result.kpis
    assert set(k["outcomes"]) == set(OUTCOMES)
    assert sum(k["outcomes"].values()) == k["requests"]
    assert sum(h["requests"] for h in result.hourly) == k["requests"]
    assert sum(h["done"] for h in result.hourly) == k["outcomes"]["done"]
    assert k["orders"] == k["requests"] - k["outcomes"]["no_supply"] - k["outcomes"]["unpriced"]
    assert k["served_pct"] == pytest.approx(100 * k["outcomes"]["done"] / k["requests"], abs=0.01)
    offers = k["offers"]
    assert offers["accepted"] + offers["rejected"] + offers["expired"] <= offers["sent"]
    assert len(result.waits_s) <= k["orders"]
    assert 0 <= k["drivers"]["occupied_pct"] <= k["drivers"]["utilisation_pct"] <= 100
    revenue = k["revenue"]
    assert int(revenue["total"]) == int(revenue["fares"]) + int(revenue["cancellation_fees"])
    assert k["outcomes"]["done"] > 0
    assert int(revenue["average_fare"]) >= 500  # the Douala minimum fare
    timing = result.timing
    assert timing.service_s + timing.sim_s == pytest.approx(timing.wall_s)
    assert timing.service_calls > k["requests"]


@pytest.mark.parametrize("interval_s", [20.0, 3600.0])
def test_trips_are_tracked_with_the_roads_length_within_the_corridor(interval_s: float) -> None:
    simulation = Simulation(
        small_scenario(requests_per_day=500, drivers=25, tracking__interval_s=interval_s), seed=1
    )
    reasons: Counter[str] = Counter()
    quoted: list[float] = []

    def listen(event: Event) -> None:
        if isinstance(event, TripCompleted):
            reasons[event.fare.reason] += 1
            order = simulation.service.orders.get(event.order_id)
            quoted.append(order.trip.distance_km / float(order.quote.distance_km))

    simulation.service.subscribe(listen)
    simulation.run()
    # The final fare follows the quote: the track has the road's length and
    # never leaves the corridor, however seldom positions come.
    assert set(reasons) <= {"as_quoted", "fixed_route"}
    assert reasons["as_quoted"] > 50
    assert 0.9 < statistics.fmean(quoted) < 1.1


# -- phones that die ------------------------------------------------------------


def _dying_phones(**service: Any) -> tuple[Simulation, list[tuple[int, int]]]:
    """A run where phones die often; each offer to a dead phone as (sent, died) in us."""
    scenario = small_scenario(
        requests_per_day=600,
        drivers=20,
        hours=8.0,
        drivers__phone_deaths_per_hour=0.5,
        drivers__report_every_s=20,
        dispatch__service={"search_radius_km": 6, **service},
    )
    simulation = Simulation(scenario, seed=4)
    ghost: list[tuple[int, int]] = []

    def offered(event: Event) -> None:
        died = (
            simulation._drivers[event.driver_id].died_us if isinstance(event, OfferSent) else None
        )
        if died is not None:
            ghost.append((simulation._now_us, died))

    simulation.service.subscribe(offered)
    simulation.run()
    return simulation, ghost


def test_dead_phones_leave_search_then_go_offline_on_the_service_s_deadlines() -> None:
    """A phone that dies answers nothing: the service stops offering to it within the
    presence timeout of its last ping and puts its driver offline ``offline_after_s`` after
    it (main offered to ghost drivers until their shift ended, each order waiting out their
    answer time)."""
    simulation, ghost = _dying_phones(presence_timeout_s=45, offline_after_s=200)
    kpis = simulation._obs
    assert kpis.phones_died >= 5
    dead_for = kpis.dead_online_s
    # Only dead phones were put offline, each once the sweep (every 20 s) saw 200 s of
    # silence: silence since the last ping (20 s) or ride fix (60 s) before the death.
    assert len(dead_for) == kpis.put_offline_silent >= 5
    assert all(200 - 60 < s <= 200 + 20 for s in dead_for), dead_for
    # Offers reached a dead phone only before the presence timeout ran out.
    assert all(sent - died <= 45 * US for sent, died in ghost), ghost
    assert kpis.offers_to_dead_phones == len(ghost)


def test_without_presence_dead_phones_keep_getting_offers() -> None:
    """The KPI the presence settings move: with none, ghosts get offers all their shift."""
    with_presence, _ = _dying_phones(presence_timeout_s=45, offline_after_s=200)
    without, ghost = _dying_phones(presence_timeout_s=None, offline_after_s=None)
    assert without._obs.put_offline_silent == 0
    assert max(sent - died for sent, died in ghost) > 600 * US
    assert without._obs.offers_to_dead_phones > 3 * with_presence._obs.offers_to_dead_phones
