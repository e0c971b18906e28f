"""The StatsStore contract: every outcome counted once, answers over the window."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from places import T0

from vtc_dispatch.ports import StatsStore


def test_counts_and_rates(stats_store: StatsStore) -> None:
    for outcome in ("offered", "offered", "offered", "accepted", "refused", "expired"):
        stats_store.record("d1", outcome, T0)
    stats_store.record("d1", "cancelled_after_accept", T0 + timedelta(minutes=1))
    stats = stats_store.get("d1")
    counts = (stats.offered, stats.accepted, stats.refused, stats.expired)
    assert counts == (3, 1, 1, 1)
    assert stats.cancelled_after_accept == 1
    assert stats.acceptance_rate(T0 + timedelta(minutes=1)) == pytest.approx(1 / 3)
    assert stats.cancellation_rate(T0 + timedelta(minutes=1)) == 1.0
    assert stats.acceptance_rate(T0 + timedelta(days=30)) is None
    assert stats_store.get("d1").offered == 3  # reading changes nothing
    never = stats_store.get("nobody")
    assert (never.offered, never.acceptance_rate(T0)) == (0, None)


def test_unknown_outcome_is_refused(stats_store: StatsStore) -> None:
    with pytest.raises(ValueError, match="unknown outcome 'lost'"):
        stats_store.record("d1", "lost", T0)  # type: ignore[arg-type]
    assert stats_store.get("d1").offered == 0


def test_concurrent_records_all_count(stats_store: StatsStore) -> None:
    def offer_many() -> None:
        for _ in range(50):
            stats_store.record("d1", "accepted", T0)

    threads = [threading.Thread(target=offer_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stats_store.get("d1").accepted == 200
