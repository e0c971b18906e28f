"""What each driver did with the offers made: for ranking and for operators.

Counts since the start, and the acceptance rate over a sliding window of
time (recent behaviour matters more than last month's).

>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
>>> book = StatsBook(window=timedelta(hours=1))
>>> for outcome in ("accepted", "refused", "expired", "accepted"):
...     book.record("d1", outcome, t0)
>>> book.get("d1").acceptance_rate(t0)
0.5
>>> book.get("d1").acceptance_rate(t0 + timedelta(hours=2)) is None
True
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Literal

import attrs

from vtc_dispatch.errors import shown

__all__ = ["DriverStats", "Outcome", "StatsBook"]

Outcome = Literal["offered", "accepted", "refused", "expired", "cancelled_after_accept"]
_ANSWERS = ("accepted", "refused", "expired")
_OUTCOMES = ("offered", *_ANSWERS, "cancelled_after_accept")


@attrs.define
class DriverStats:
    """One driver's record: counts, and the recent answers with their time."""

    window: timedelta
    offered: int = 0
    accepted: int = 0
    refused: int = 0
    expired: int = 0
    cancelled_after_accept: int = 0
    recent: deque[tuple[datetime, str]] = attrs.field(factory=deque)

    def _forget_before(self, now: datetime) -> None:
        horizon = now - self.window
        while self.recent and self.recent[0][0] < horizon:
            self.recent.popleft()

    def acceptance_rate(self, now: datetime) -> float | None:
        """Accepted offers over answered ones (accepted, refused or expired) in the window.

        ``None`` when the driver answered nothing in the window.
        """
        self._forget_before(now)
        answers = [outcome for _, outcome in self.recent if outcome in _ANSWERS]
        if not answers:
            return None
        return answers.count("accepted") / len(answers)

    def cancellation_rate(self, now: datetime) -> float | None:
        """Cancellations after accepting over accepted offers, in the window."""
        self._forget_before(now)
        accepted = sum(1 for _, o in self.recent if o == "accepted")
        if not accepted:
            return None
        return sum(1 for _, o in self.recent if o == "cancelled_after_accept") / accepted


class StatsBook:
    """Statistics of every driver, kept in memory; thread-safe."""

    def __init__(self, *, window: timedelta = timedelta(days=7)) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, got {window}")
        self._window = window
        self._stats: dict[str, DriverStats] = {}
        self._lock = threading.Lock()

    def record(self, driver_id: str, outcome: Outcome, at: datetime) -> None:
        """Count one outcome of an offer for ``driver_id``."""
        if outcome not in _OUTCOMES:
            raise ValueError(f"unknown outcome {shown(outcome)}; one of {', '.join(_OUTCOMES)}")
        with self._lock:
            stats = self._stats.get(driver_id)
            if stats is None:
                stats = self._stats[driver_id] = DriverStats(self._window)
            setattr(stats, outcome, getattr(stats, outcome) + 1)
            if outcome != "offered":
                stats.recent.append((at, outcome))
                stats._forget_before(at)

    def get(self, driver_id: str) -> DriverStats:
        """The driver's statistics (all zero for a driver never offered anything)."""
        found = self._stats.get(driver_id)
        return DriverStats(self._window) if found is None else found
