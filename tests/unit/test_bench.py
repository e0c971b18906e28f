"""The benchmark runner: ``python -m bench geo`` runs and reports in the agreed form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vtc_dispatch.sim import load_scenario

ROOT = Path(__file__).resolve().parents[2]
OURS = "vtc_dispatch"
OUR_OPS = ("build", "query", "update", "count")
PEERS = ("rtree", "scipy", "numpy", "redis")
REQUIRE_SERVICES = os.environ.get("VTC_REQUIRE_SERVICES") == "1"


def _run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    paths = [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def geo_report() -> dict[str, Any]:
    done = _run_bench("geo", "--json", "--n", "2000")
    assert done.returncode == 0, done.stderr
    # The whole of stdout is one JSON object: json.loads refuses anything more.
    report = json.loads(done.stdout)
    assert isinstance(report, dict)
    return report


def _rows(report: dict[str, Any], impl: str) -> dict[str, dict[str, Any]]:
    return {row["op"]: row for row in report["results"] if row["impl"] == impl}


def _is_positive_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


@pytest.mark.slow
def test_geo_json_has_the_suite_and_its_params(geo_report: dict[str, Any]) -> None:
    assert geo_report["suite"] == "geo"
    params = geo_report["params"]
    assert params["n_drivers"] == 2000
    assert params["k"] == 10
    assert params["radius_km"] == 5.0
    assert params["quick"] is False
    assert isinstance(params["seed"], int)
    assert params["verified"] is True
    for row in geo_report["results"]:
        assert isinstance(row["impl"], str)
        assert isinstance(row["op"], str)


@pytest.mark.slow
def test_our_rows_are_all_measured(geo_report: dict[str, Any]) -> None:
    ours = _rows(geo_report, OURS)
    for op in OUR_OPS:
        assert op in ours, f"no {OURS} row for {op}"
        assert _is_positive_number(ours[op].get("us_per_op")), ours[op]
        assert "skipped" not in ours[op]
    assert _is_positive_number(ours["update"].get("bytes_per_driver")), ours["update"]
    assert _is_positive_number(ours["build"].get("total_us")), ours["build"]


@pytest.mark.slow
def test_every_peer_is_measured_or_skipped(geo_report: dict[str, Any]) -> None:
    for peer in PEERS:
        rows = _rows(geo_report, peer)
        assert rows, f"no row at all for {peer}"
        for op, row in rows.items():
            measured = "us_per_op" in row
            assert measured != ("skipped" in row), (peer, op, row)
            if measured:
                assert _is_positive_number(row["us_per_op"]), row
            else:
                assert isinstance(row["skipped"], str), row
                assert row["skipped"], row


@pytest.mark.slow
def test_ratios_are_peer_time_over_ours(geo_report: dict[str, Any]) -> None:
    ours = _rows(geo_report, OURS)
    for op in OUR_OPS:
        measured = {
            row["impl"]: row["us_per_op"]
            for row in geo_report["results"]
            if row["impl"] != OURS and row["op"] == op and "us_per_op" in row
        }
        ratios = ours[op].get("ratios", {})
        assert set(ratios) == set(measured), (op, ratios, measured)
        for peer, ratio in ratios.items():
            expected = measured[peer] / ours[op]["us_per_op"]
            assert ratio == pytest.approx(expected, rel=0.02, abs=0.01), (op, peer)


@pytest.mark.slow
@pytest.mark.skipif(not REQUIRE_SERVICES, reason="VTC_REQUIRE_SERVICES is not 1")
def test_redis_is_measured_when_services_are_required(geo_report: dict[str, Any]) -> None:
    rows = _rows(geo_report, "redis")
    assert set(OUR_OPS) <= set(rows)
    for row in rows.values():
        assert "skipped" not in row, row
        assert _is_positive_number(row["us_per_op"]), row


@pytest.mark.slow
def test_geo_table_shows_every_impl_and_the_ratios() -> None:
    done = _run_bench("geo", "--quick", "--n", "200")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for impl in (OURS, *PEERS):
        assert any(line.startswith(impl + " ") for line in lines), impl
    ours_query = next(line for line in lines if line.split()[:2] == [OURS, "query"])
    assert "numpy/ours = " in ours_query
    assert "[bench]" not in done.stdout  # progress goes to stderr


def test_unknown_suite_fails_and_lists_the_suites() -> None:
    done = _run_bench("no-such-suite")
    assert done.returncode != 0
    assert "geo" in done.stderr
    assert "no-such-suite" in done.stderr
    assert done.stdout == ""


def test_too_small_n_is_a_usage_error() -> None:
    done = _run_bench("geo", "--n", "2")
    assert done.returncode == 2
    assert "--n" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("suite", "ops"),
    [
        ("pricing", {"quote_all", "quote", "final_fare"}),
        ("service", {"ride_cycle", "search", "create_order", "track_20_points"}),
        ("pool", {"offer_decision", "expire_due"}),
        ("sim", {"request"}),
        ("livemap", {"record", "flush", "snapshot"}),
    ],
)
def test_other_suites_report_our_ops_as_json(suite: str, ops: set[str]) -> None:
    done = _run_bench(suite, "--json", "--quick", "--n", "300")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["suite"] == suite
    assert report["params"]["quick"] is True
    ours = _rows(report, OURS)
    assert ops <= set(ours)
    assert all(_is_positive_number(ours[op]["us_per_op"]) for op in ops)


@pytest.mark.slow
def test_sim_suite_splits_our_time_and_measures_or_skips_ridepy() -> None:
    done = _run_bench("sim", "--json", "--quick", "--n", "400")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["params"]["requests_per_day"] == 400
    ours = _rows(report, OURS)["request"]
    assert ours["requests"] > 0
    assert ours["service_us"] + ours["sim_us"] == pytest.approx(ours["us_per_op"], rel=0.01)
    (peer,) = _rows(report, "ridepy").values()
    assert ("us_per_op" in peer) != ("skipped" in peer), peer
    if "us_per_op" in peer:
        assert ours["ratios"]["ridepy"] == pytest.approx(
            peer["us_per_op"] / ours["us_per_op"], rel=0.02, abs=0.01
        )


QUALITY_OPS = (
    "wait_p50_s",
    "wait_p90_s",
    "served_pct",
    "pickup_km_mean",
    "offers_per_order",
    "utilisation_pct",
)


@pytest.mark.slow
def test_quality_suite_reports_each_mode_over_the_run_and_its_peak() -> None:
    done = _run_bench(
        "quality", "--json", "--quick", "--scale-demand", "0.3", "--scale-fleet", "0.3"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    params = report["params"]
    assert (params["scale_demand"], params["scale_fleet"]) == (0.3, 0.3)
    assert (params["peak_local_hour"], params["hours"], params["quick"]) == (18, 2.0, True)
    assert params["requests"]["sequential"] == params["requests"]["matching"] > 0  # same demand
    # The scenario's windows: 3 s, 30 s at its peak hours.
    assert params["window_s"] == 3.0
    assert params["window_s_by_hours"] == [{"hours": [7, 8, 16, 17, 18, 19], "window_s": 30}]
    for mode in ("sequential", "batch", "matching"):
        rows = _rows(report, f"{OURS}/{mode}")
        assert set(rows) == {*QUALITY_OPS, *(f"{op}_peak" for op in QUALITY_OPS)}
        served = rows["served_pct"]
        assert served["us_per_op"] == served["value"]
        assert 0 <= served["value"] <= 100
        if mode != "sequential":
            assert "delta" in served
            assert set(rows["wait_p50_s_peak"]["on_common_requests"]) == {
                "requests",
                "value",
                "sequential",
            }


def test_quality_window_option_sets_the_window_at_every_hour_and_the_mode_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))  # bench is a program beside the package
    from bench.quality import quality_scenario

    base = load_scenario("douala")
    for chosen, peak in (({}, 30.0), ({"window_s": 10.0}, 10.0)):
        pool = (
            quality_scenario(base, "matching", 1.0, 1.0, quick=True, pool_settings=chosen)
            .dispatch_config()
            .pool
        )
        at = {h: pool.settings_for("douala", "taxi_jaune", hour=h) for h in (12, 18)}
        assert (at[12].window_s, at[18].window_s) == (chosen.get("window_s", 3.0), peak)
        assert at[12].mode == at[18].mode == "matching"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--modes", "sequential,nearest"], "--modes"),
        (["--scale-demand", "0"], "--scale-demand"),
        (["--scenario", "no-such-city"], "--scenario"),
        (["--n", "100"], "--n"),
    ],
)
def test_quality_suite_refuses_bad_options_naming_them(args: list[str], named: str) -> None:
    done = _run_bench("quality", "--quick", *args)
    assert done.returncode == 2
    assert named in done.stderr
    assert done.stdout == ""


CITY_ROWS = {
    OURS: {
        "fix_idle",
        "fix_on_ride",
        "fix_idle_batched",
        "fix_on_ride_batched",
        "search",
        "city_second",
    },
    "vtc_dispatch_redis/1worker": {"fix", "search", "city_second"},
    "vtc_dispatch_redis/2workers": {"fix", "search", "city_second"},
    "redis": {"geoadd", "geoadd_pipelined"},
    "vtc_dispatch_redis/cluster1city": {"fix"},
    "vtc_dispatch_redis/cluster2cities": {"fix"},
}


@pytest.mark.slow
def test_city_suite_reports_memory_redis_workers_raw_geoadd_and_the_cluster() -> None:
    # Rides often enough that the workers start and end some in their city phase.
    done = _run_bench(
        "city",
        "--json",
        "--n",
        "300",
        "--phase-s",
        "0.5",
        "--interval-s",
        "1",
        "--rides-per-s",
        "20",
        "--batch",
        "50",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    params = report["params"]
    assert (params["n_drivers"], params["interval_s"], params["ride_share"]) == (300, 1.0, 0.1)
    assert params["rides_per_s"] == 20
    for impl, ops in CITY_ROWS.items():
        rows = _rows(report, impl)
        assert set(rows) == ops, impl
        for row in rows.values():
            # Redis is up here: only a cluster that cannot start may skip, saying why.
            if "skipped" in row and (impl.endswith("city") or impl.endswith("cities")):
                assert not REQUIRE_SERVICES, row
                assert "cluster" in row["skipped"]
                continue
            assert _is_positive_number(row["us_per_op"]), row
    city = _rows(report, OURS)["city_second"]
    # One city second: 300 fixes (interval 1 s) in us_per_op microseconds of CPU.
    assert city["cores_needed"] == pytest.approx(city["us_per_op"] / 1e6, rel=0.01, abs=0.001)
    assert city["fixes_per_s"] == pytest.approx(300e6 / city["us_per_op"], rel=0.01)
    for impl in ("vtc_dispatch_redis/1worker", "vtc_dispatch_redis/2workers"):
        rows = _rows(report, impl)
        fix = rows["fix"]
        assert fix["fixes_per_s"] == pytest.approx(1e6 / fix["us_per_op"], rel=0.01)
        # A batch of 50 fixes: its drivers read by one script, stored by another.
        assert fix["batch"] == 50
        assert 0 < fix["round_trips"] <= 2 / 50
        # Measured in the same run: the longest command of a search inside Redis.
        assert rows["search"]["slowlog_max_us"] > 0
        assert _is_positive_number(rows["city_second"]["cores_needed"])
    for op in ("geoadd", "geoadd_pipelined"):
        raw = _rows(report, "redis")[op]
        assert raw["fixes_per_s"] == pytest.approx(1e6 / raw["us_per_op"], rel=0.01)
    two = _rows(report, "vtc_dispatch_redis/cluster2cities")["fix"]
    if "us_per_op" in two:
        one = _rows(report, "vtc_dispatch_redis/cluster1city")["fix"]
        assert two["vs_one_city"] == pytest.approx(
            two["fixes_per_s"] / one["fixes_per_s"], rel=0.02
        )


@pytest.mark.parametrize(
    ("args", "named"),
    [(["--interval-s", "0"], "--interval-s"), (["--ride-share", "1.5"], "--ride-share")],
)
def test_city_suite_refuses_bad_options_naming_them(args: list[str], named: str) -> None:
    done = _run_bench("city", "--quick", *args)
    assert done.returncode == 2
    assert named in done.stderr
    assert done.stdout == ""
