"""Percentiles and percentages: the small statistics the simulation's KPIs and the reports share.

Two percentile methods, because the two readers need different things:
the simulation's KPIs interpolate linearly between ranks (smooth figures
to compare runs), the operator's reports take the nearest rank (a figure
that is one of the observed values, checkable by hand).

>>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.5, method="nearest")
(2.5, 2.0)
>>> percent(2, 3), percent(1, 0)
(66.67, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from vtc_dispatch.errors import InvalidArgument, shown

__all__ = ["PercentileMethod", "percent", "percentile"]

PercentileMethod = Literal["linear", "nearest"]
"""``linear``: interpolated between the two ranks around ``q``; ``nearest``: the
nearest-rank method, the smallest value with at least ``q`` of the values at or
below it."""


def percentile(
    values: Sequence[float], q: float, *, method: PercentileMethod = "linear"
) -> float | None:
    """The ``q`` quantile (0-1) of ``values`` by ``method``, ``None`` when there is none.

    Nearest rank: the value of rank ``ceil(q * n)`` (at least 1) in sorted
    order; ``q`` is read as the decimal it is written as, so ``0.9`` of ten
    values is rank 9, not 10 by a rounding error.

    >>> waits = [30.0, 60.0, 90.0, 120.0, 600.0]
    >>> percentile(waits, 0.5, method="nearest"), percentile(waits, 0.9, method="nearest")
    (90.0, 600.0)
    >>> percentile(list(range(1, 11)), 0.9, method="nearest")
    9
    >>> percentile(waits, 1.5)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: q must be a number from 0 to 1, got 1.5
    """
    if isinstance(q, bool) or not isinstance(q, int | float) or not 0 <= q <= 1:
        raise InvalidArgument(f"q must be a number from 0 to 1, got {shown(q)}", argument="q")
    if method not in ("linear", "nearest"):
        raise InvalidArgument(
            f"method must be 'linear' or 'nearest', got {shown(method)}", argument="method"
        )
    if not values:
        return None
    ordered = sorted(values)
    if method == "nearest":
        rank = max(1, math.ceil(Decimal(repr(q)) * len(ordered)))
        return ordered[rank - 1]
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def percent(part: int, whole: int, digits: int = 2) -> float:
    """``part`` as a percentage of ``whole``, rounded to ``digits``; 0 when ``whole`` is 0.

    >>> percent(1, 8), percent(1, 8, digits=1)
    (12.5, 12.5)
    """
    return round(100.0 * part / whole, digits) if whole else 0.0
