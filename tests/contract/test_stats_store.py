"""The StatsStore contract: every outcome counted once, answers over the window, the
activity (timed outcomes and times online) kept for the dashboards' periods."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from places import T0

from vtc_dispatch.pool.stats import ACTIVITY_KEPT
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
    # Two answers at one instant are two entries of the activity, never one.
    assert len(stats_store.activity("d1", T0, T0 + timedelta(seconds=1))) == 200


def test_activity_holds_timed_outcomes_and_presence_in_order(stats_store: StatsStore) -> None:
    minute = timedelta(minutes=1)
    stats_store.record("d1", "offline", T0 + 180 * minute)  # recorded late, kept in time order
    stats_store.record("d1", "online", T0)
    stats_store.record("d1", "offered", T0 + minute)
    stats_store.record("d1", "accepted", T0 + 2 * minute)
    stats_store.record("d1", "cancelled_after_accept", T0 + 9 * minute)
    stats_store.record("d2", "refused", T0 + 2 * minute)
    assert stats_store.activity("d1", T0, T0 + timedelta(days=1)) == [
        (T0, "online"),
        (T0 + 2 * minute, "accepted"),
        (T0 + 9 * minute, "cancelled_after_accept"),
        (T0 + 180 * minute, "offline"),
    ]
    # [since, until): the start included, the end left out.
    assert stats_store.activity("d1", T0 + 2 * minute, T0 + 9 * minute) == [
        (T0 + 2 * minute, "accepted")
    ]
    assert stats_store.activity("nobody", T0, T0 + timedelta(days=1)) == []
    stats = stats_store.get("d1")
    # Going online and offline is activity, not an answer to an offer.
    assert (stats.offered, stats.accepted, stats.cancelled_after_accept) == (1, 1, 1)
    assert stats.acceptance_rate(T0 + 10 * minute) == 1.0


def test_activity_is_kept_for_the_dashboards_and_forgotten_after(stats_store: StatsStore) -> None:
    stats_store.record("d1", "online", T0)
    later = T0 + ACTIVITY_KEPT - timedelta(days=1)
    stats_store.record("d1", "accepted", later)
    assert [o for _, o in stats_store.activity("d1", T0, later + timedelta(1))] == [
        "online",
        "accepted",
    ]
    stats_store.record("d1", "offline", T0 + ACTIVITY_KEPT + timedelta(days=1))
    assert [o for _, o in stats_store.activity("d1", T0, T0 + 2 * ACTIVITY_KEPT)] == [
        "accepted",
        "offline",
    ]
