"""``python -m bench redis --quick`` runs against the real Redis and reports every row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import redis_support

from vtc_dispatch_redis.drivers import _EDGE_KM

ROOT = Path(__file__).resolve().parents[2]


def test_the_redis_suite_reports_rides_queries_updates_and_memory() -> None:
    redis_support.need_redis()
    env = dict(os.environ, VTC_REDIS_URL=redis_support.REDIS_URL)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "redis", "--quick", "--json", "--n", "500"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = {(r["impl"], r["op"]): r for r in report["results"]}
    for workers in ("1worker", "2workers", "4workers"):
        row = rows["vtc_dispatch_redis/" + workers, "ride_cycle"]
        assert row["us_per_op"] > 0, row
        assert row["rides_per_s"] > 0, row
    assert rows["vtc_dispatch/memory", "ride_cycle"]["us_per_op"] > 0
    for op in ("query", "update"):
        ours = rows["vtc_dispatch_redis", op]
        assert ours["ratios"]["redis"] > 0, ours
        assert rows["redis", op]["us_per_op"] > 0
    for row in report["results"]:
        assert isinstance(row["round_trips"], int | float), row
    # Counted, not timed: a ride is dozens of requests, a query or a raw GEOADD one.
    assert rows["vtc_dispatch_redis", "ride_steps"]["round_trips"] > 20
    for step in ("search", "create_order", "accept_to_start", "track_20_points"):
        assert rows["vtc_dispatch_redis", step]["round_trips"] >= 1
    assert rows["redis", "update"]["round_trips"] == 1
    assert rows["vtc_dispatch/memory", "ride_cycle"]["round_trips"] == 0
    params = report["params"]
    assert params["bytes_per_driver"] > 0
    assert params["bytes_per_finished_order"] > 0
    # The margin the registry allows for geohash rounding covers what was measured.
    assert 0 < params["geo_scaled_max_error_m"] < _EDGE_KM * 1000
