"""What each driver did with the offers made: for ranking and for operators.

Counts since the start, and the acceptance rate over a sliding window of
time (recent behaviour matters more than last month's).  Every timed
outcome (answers, cancellations after accepting) and every time the driver
went online or offline is also kept in his activity, for
:data:`ACTIVITY_KEPT`: the figures of a period (his dashboard,
:mod:`vtc_dispatch.dashboards`) are read from it.

>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
>>> book = StatsBook(window=timedelta(hours=1))
>>> for outcome in ("accepted", "refused", "expired", "accepted"):
...     book.record("d1", outcome, t0)
>>> book.get("d1").acceptance_rate(t0)
0.5
>>> book.get("d1").acceptance_rate(t0 + timedelta(hours=2)) is None
True
>>> book.record("d1", "offline", t0 + timedelta(hours=1))
>>> [what for _, what in book.activity("d1", t0, t0 + timedelta(hours=2))]
['accepted', 'refused', 'expired', 'accepted', 'offline']
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Literal

import attrs

from vtc_dispatch.errors import shown

__all__ = [
    "ACTIVITY_KEPT",
    "COUNTED",
    "OUTCOMES",
    "PRESENCE",
    "DriverStats",
    "Outcome",
    "StatsBook",
    "check_outcome",
]

Outcome = Literal[
    "offered", "accepted", "refused", "expired", "cancelled_after_accept", "online", "offline"
]
"""What a driver did: an offer's outcome (counted), or going online or offline (his
activity only)."""
_ANSWERS = ("accepted", "refused", "expired")
COUNTED = ("offered", *_ANSWERS, "cancelled_after_accept")
"""The outcomes counted since the start (:class:`DriverStats`' counts)."""
PRESENCE = ("online", "offline")
"""The outcomes that are the driver going online or offline: kept in his activity only."""
OUTCOMES = (*COUNTED, *PRESENCE)
"""Every outcome a :class:`~vtc_dispatch.ports.StatsStore` records."""
ACTIVITY_KEPT = timedelta(days=400)
"""How long a driver's activity is kept: a year of dashboards, and a little more."""


def check_outcome(outcome: str) -> None:
    """ValueError for an outcome that is not one of :data:`OUTCOMES` (every store's rule).

    >>> check_outcome("landed")
    Traceback (most recent call last):
    ...
    ValueError: unknown outcome 'landed'; one of offered, accepted, refused, expired, ...
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {shown(outcome)}; one of {', '.join(OUTCOMES)}")


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

    def __init__(
        self, *, window: timedelta = timedelta(days=7), kept: timedelta = ACTIVITY_KEPT
    ) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, got {window}")
        self._window = window
        self._kept = kept
        self._stats: dict[str, DriverStats] = {}
        self._activity: dict[str, list[tuple[datetime, int, str]]] = {}
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, driver_id: str, outcome: Outcome, at: datetime) -> None:
        """Count one outcome of an offer for ``driver_id`` (see
        :meth:`~vtc_dispatch.ports.StatsStore.record`)."""
        check_outcome(outcome)
        with self._lock:
            if outcome != "offered":
                self._seq += 1
                activity = self._activity.setdefault(driver_id, [])
                bisect.insort(activity, (at, self._seq, outcome))
                old = bisect.bisect_left(activity, (at - self._kept,))
                del activity[:old]
            if outcome in PRESENCE:
                return
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

    def activity(
        self, driver_id: str, since: datetime, until: datetime
    ) -> list[tuple[datetime, str]]:
        """See :meth:`~vtc_dispatch.ports.StatsStore.activity`."""
        with self._lock:
            activity = self._activity.get(driver_id, [])
            start = bisect.bisect_left(activity, (since,))
            end = bisect.bisect_left(activity, (until,))
            return [(at, outcome) for at, _, outcome in activity[start:end]]
