"""Batched matching: the orders waiting for an offer and the drivers around them, matched at once.

In ``matching`` mode (:class:`~vtc_dispatch.pool.PoolSettings`) an order
that needs an offer (a new one, a refusal, an offer gone unanswered) is
not offered to its nearest driver at once: it waits for the next
*window*, an instant every ``window_s`` counted from the epoch, so the
orders of a city and vehicle type waiting together share one.  The window
is stored on the order (:attr:`~vtc_dispatch.order.Order.window_at`, part
of its ``next_deadline``) and ``expire_due`` runs it, like any deadline.

When the window is due, each of its orders gets a step decided for all of
them together (:func:`match_window`):

* the candidates of an order are its ``match_candidates`` nearest
  available drivers not tried yet, within the first radius step that
  holds any (as in sequential mode);
* giving an order to a driver costs :func:`pickup_cost_s`: the pickup ETA
  through the route estimator, plus the answer time a refusal would waste
  times the chance of one (one minus the driver's acceptance rate over the
  statistics window, :data:`PRIOR_ACCEPTANCE` for a driver who answered
  nothing lately);
* :func:`assign_min_cost` gives as many orders as possible a driver, and
  among those assignments the one of least total cost; no driver goes to
  two orders;
* a matched order is offered to its driver for ``max_waiting_time_s``; an
  order with no candidate, or whose search is over (``search_timeout_s``,
  ``max_offers``), ends in NO_DRIVER as in sequential mode; an order whose
  candidates all went to others waits for the next window, where the
  radius widens if nobody is left closer.

Nearest first is not the best use of a fleet when orders come together:
two customers a few hundred metres apart, the first one's nearest driver
is also the only near one of the second.  First come, first served gives
the pair 0.3 + 1.0 km; the window gives 0.5 + 0.2:

>>> assign_min_cost([[("d1", 0.3), ("d2", 0.5)], [("d1", 0.2), ("d2", 1.0)]])
['d2', 'd1']

The assignment
--------------

Orders that share no candidate do not compete, so a window splits into
groups of orders linked by shared drivers, each solved alone; an order
alone in its group takes its cheapest driver.  A larger group is a
rectangular assignment problem (orders x their candidates; a pair that is
not a candidate costs more than every real pair together, so the most
orders get a driver first).  It is solved by
``scipy.optimize.linear_sum_assignment`` when scipy is installed (the
``matching`` extra), else by the exact Hungarian algorithm below
(shortest augmenting paths, O(r\\ :sup:`2` c) for r orders and c drivers in
pure Python).  The fallback is exact rather than greedy so that the
matching is the same, up to equal-cost ties, with or without scipy: the
candidate set keeps groups small (at most ``match_candidates`` drivers per
order), where the pure-Python solver takes milliseconds; a city whose
windows hold hundreds of competing orders should install the extra.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from vtc_dispatch._records import evolve
from vtc_dispatch.order import Order
from vtc_dispatch.pool.config import PoolSettings
from vtc_dispatch.pool.decide import Step, offer_next, search_deadline, search_room
from vtc_dispatch.pool.ranking import Candidate, DistanceRanker, candidate_position
from vtc_dispatch.routing import RouteEstimator

__all__ = [
    "PRIOR_ACCEPTANCE",
    "Waiting",
    "assign_min_cost",
    "match_window",
    "next_window",
    "pickup_cost_s",
    "solver_name",
    "wait",
]

PRIOR_ACCEPTANCE = 0.8
"""The acceptance rate assumed for a driver who answered no offer in the statistics window."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
# One candidate per matched order: the ranking has nothing left to choose.
_ONLY = DistanceRanker()


@attrs.frozen
class Waiting:
    """An order of the window and its candidates (nearest first, within its radius step)."""

    order: Order
    candidates: tuple[Candidate, ...]


def next_window(now: datetime, settings: PoolSettings) -> datetime:
    """The first window after ``now``: the next multiple of ``window_s`` since the epoch (UTC).

    >>> at = datetime(2026, 11, 21, 9, 0, 1, 500000, tzinfo=UTC)
    >>> next_window(at, PoolSettings(window_s=3)).time()
    datetime.time(9, 0, 3)
    >>> next_window(next_window(at, PoolSettings(window_s=3)), PoolSettings(window_s=3)).time()
    datetime.time(9, 0, 6)
    """
    window_us = max(1, round(settings.window_s * 1e6))
    elapsed_us = (now - _EPOCH) // _ONE_US
    return _EPOCH + _ONE_US * ((elapsed_us // window_us + 1) * window_us)


def wait(order: Order, settings: PoolSettings, now: datetime) -> Step:
    """``order`` (searching, without an offer) waits for its next window, or ends in NO_DRIVER
    when its search is over by time or by the offers made.

    A search that times out before the next window is handled at its timeout.
    """
    deadline = search_deadline(order, settings)
    if now >= deadline or search_room(order, settings) == 0:
        return offer_next(evolve(order, window_at=None), (), settings, _ONLY, now)
    return Step(evolve(order, window_at=min(next_window(now, settings), deadline)))


def pickup_cost_s(eta_s: float, acceptance: float | None, settings: PoolSettings) -> float:
    """The cost of offering an order to a driver: the pickup ETA plus the expected time lost
    to a refusal (``max_waiting_time_s`` at most, times the chance of one).

    >>> pickup_cost_s(240.0, 0.5, PoolSettings(max_waiting_time_s=30))
    255.0
    >>> pickup_cost_s(240.0, None, PoolSettings(max_waiting_time_s=30))  # the prior, 0.8
    246.0
    """
    accepts = PRIOR_ACCEPTANCE if acceptance is None else acceptance
    return eta_s + (1.0 - accepts) * settings.max_waiting_time_s


def match_window(
    waiting: Sequence[Waiting],
    settings: PoolSettings,
    estimator: RouteEstimator,
    acceptance: Mapping[str, float | None],
    now: datetime,
) -> list[Step]:
    """The step of each order of one window (one city and vehicle type), in the order given.

    ``acceptance`` holds each candidate's acceptance rate (``None``: no
    recent answer).  See the module's documentation for the rules.
    """
    steps: list[Step | None] = [None] * len(waiting)
    open_rows: list[int] = []
    for i, item in enumerate(waiting):
        order = evolve(item.order, window_at=None)
        over = now >= search_deadline(order, settings) or search_room(order, settings) == 0
        if over or not item.candidates:
            steps[i] = offer_next(order, (), settings, _ONLY, now)
        else:
            open_rows.append(i)
    options = [
        [
            (
                c.driver_id,
                pickup_cost_s(
                    estimator.estimate(candidate_position(c), waiting[i].order.pickup).duration_min
                    * 60.0,
                    acceptance.get(c.driver_id),
                    settings,
                ),
            )
            for c in waiting[i].candidates
        ]
        for i in open_rows
    ]
    for i, driver_id in zip(open_rows, assign_min_cost(options), strict=True):
        order = evolve(waiting[i].order, window_at=None)
        if driver_id is None:
            steps[i] = wait(order, settings, now)
            continue
        chosen = next(c for c in waiting[i].candidates if c.driver_id == driver_id)
        steps[i] = evolve(offer_next(order, (chosen,), settings, _ONLY, now), handled=1)
    return [step for step in steps if step is not None]


def assign_min_cost(options: Sequence[Sequence[tuple[str, float]]]) -> list[str | None]:
    """The driver of each row (an order's candidates and their costs), ``None`` for a row left
    without one: as many rows as possible get a driver, at the least total cost, no driver twice.

    Costs are finite and ``>= 0``.
    """
    chosen: list[str | None] = [None] * len(options)
    for rows in _groups(options):
        for row, driver_id in _solve(options, rows).items():
            chosen[row] = driver_id
    return chosen


def _groups(options: Sequence[Sequence[tuple[str, float]]]) -> list[list[int]]:
    """The rows linked by shared drivers (union-find), each group in row order."""
    parent = list(range(len(options)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_row: dict[str, int] = {}
    for i, row in enumerate(options):
        for driver_id, _ in row:
            a, b = root(i), root(first_row.setdefault(driver_id, i))
            if a != b:
                parent[a] = b
    groups: dict[int, list[int]] = {}
    for i, row in enumerate(options):
        if row:
            groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _solve(options: Sequence[Sequence[tuple[str, float]]], rows: list[int]) -> dict[int, str]:
    """The assignment of one group of rows."""
    if len(rows) == 1:
        best = min(options[rows[0]], key=lambda pair: (pair[1], pair[0]))
        return {rows[0]: best[0]}
    drivers = sorted({driver_id for i in rows for driver_id, _ in options[i]})
    column = {driver_id: j for j, driver_id in enumerate(drivers)}
    # Dearer than any assignment of real pairs: the most rows get a driver first.
    top = max(cost for i in rows for _, cost in options[i])
    absent = top * min(len(rows), len(drivers)) + 1.0
    matrix = [[absent] * len(drivers) for _ in rows]
    for r, i in enumerate(rows):
        for driver_id, cost in options[i]:
            matrix[r][column[driver_id]] = cost
    solver = _scipy_solver() or _hungarian
    return {rows[r]: drivers[j] for r, j in solver(matrix) if matrix[r][j] < absent}


Pairs = list[tuple[int, int]]


def solver_name() -> str:
    """Which solver :func:`assign_min_cost` uses for groups of several orders."""
    return "scipy" if _scipy_solver() is not None else "hungarian"


@functools.cache
def _scipy_solver() -> Callable[[list[list[float]]], Pairs] | None:
    """``scipy.optimize.linear_sum_assignment`` as a solver, ``None`` without scipy."""
    try:
        from scipy.optimize import linear_sum_assignment  # noqa: PLC0415  (the matching extra)
    except ImportError:
        return None
    solve: Any = linear_sum_assignment

    def pairs(matrix: list[list[float]]) -> Pairs:
        rows, columns = solve(matrix)
        return list(zip(rows.tolist(), columns.tolist(), strict=True))

    return pairs


def _hungarian(matrix: list[list[float]]) -> Pairs:
    """A minimum-cost assignment of a rectangular cost matrix: ``(row, column)`` pairs, one per
    row or per column, whichever are fewer (the pure-Python solver of :func:`assign_min_cost`).

    >>> _hungarian([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0]])
    [(0, 1), (1, 0)]
    """
    if len(matrix) > len(matrix[0]):
        flipped = [list(column) for column in zip(*matrix, strict=True)]
        return sorted((r, c) for c, r in _hungarian(flipped))
    n, m = len(matrix), len(matrix[0])
    inf = float("inf")
    # Potentials of rows (u) and columns (v); owner[j] is the row (1-based) column j holds.
    u, v = [0.0] * (n + 1), [0.0] * (m + 1)
    owner, way = [0] * (m + 1), [0] * (m + 1)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        reach, used = [inf] * (m + 1), [False] * (m + 1)
        while owner[j0] != 0:
            used[j0] = True
            i0, row = owner[j0], matrix[owner[j0] - 1]
            delta, j1 = inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    slack = row[j - 1] - u[i0] - v[j]
                    if slack < reach[j]:
                        reach[j], way[j] = slack, j0
                    if reach[j] < delta:
                        delta, j1 = reach[j], j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    reach[j] -= delta
            j0 = j1
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    return sorted((owner[j] - 1, j - 1) for j in range(1, m + 1) if owner[j])
