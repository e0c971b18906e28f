"""Route estimates: a trip's expected road distance and duration, and the default estimator.

Domain values the pricing and the pool use; :mod:`vtc_dispatch.ports`
re-exports them beside the other ports.

>>> from vtc_dispatch.geo import LatLng
>>> estimate = StraightLineEstimator().estimate(LatLng(4.05, 9.70), LatLng(4.05, 9.80))
>>> round(estimate.distance_km, 2), round(estimate.duration_min, 1)
(14.42, 34.6)
"""

from __future__ import annotations

import math
from typing import Protocol

import attrs

from vtc_dispatch.errors import InvalidCoordinates, shown
from vtc_dispatch.geo.sphere import LatLng, haversine_km

__all__ = ["RouteEstimate", "RouteEstimator", "StraightLineEstimator"]


@attrs.frozen
class RouteEstimate:
    """A trip's expected road distance (km) and duration (minutes), each with a range.

    Every value finite and ``>= 0``, and ``low <= expected <= high`` for
    both, or :class:`InvalidCoordinates` naming the values.
    """

    distance_km: float
    duration_min: float
    distance_low_km: float
    distance_high_km: float
    duration_low_min: float
    duration_high_min: float

    def __attrs_post_init__(self) -> None:
        # One check for all six keeps this cheap on the quote path.
        if not (
            0.0 <= self.distance_low_km <= self.distance_km <= self.distance_high_km < math.inf
            and 0.0
            <= self.duration_low_min
            <= self.duration_min
            <= self.duration_high_min
            < math.inf
        ):
            raise InvalidCoordinates(
                "a route estimate needs finite values with 0 <= low <= expected <= high, got "
                f"distance {self.distance_low_km} <= {self.distance_km} <= "
                f"{self.distance_high_km} km, duration {self.duration_low_min} <= "
                f"{self.duration_min} <= {self.duration_high_min} min"
            )


class RouteEstimator(Protocol):
    """Estimates a trip's road distance and duration between two points.

    An implementation MUST return a :class:`RouteEstimate` whose ranges
    hold the estimate, MUST be deterministic for the same inputs and state,
    and SHOULD answer from memory or a cache (it sits on the quote path);
    a routing service that cannot answer MUST raise a
    :class:`~vtc_dispatch.errors.DispatchError` subclass, never return a
    made-up route.
    """

    def estimate(self, pickup: LatLng, dropoff: LatLng) -> RouteEstimate:
        """Distance and duration of the trip from ``pickup`` to ``dropoff``."""
        ...


@attrs.frozen
class StraightLineEstimator:
    """The default estimator: great-circle distance times a detour factor.

    Low and high are the estimate minus and plus ``spread`` (a share);
    durations follow at ``speed_kmh``.

    >>> from vtc_dispatch.geo import LatLng
    >>> e = StraightLineEstimator(detour_factor=1.0, spread=0.0, speed_kmh=60.0)
    >>> e.estimate(LatLng(0, 0), LatLng(0, 1)).duration_min
    111.19508...
    """

    detour_factor: float = 1.3
    spread: float = 0.15
    speed_kmh: float = 25.0

    def __attrs_post_init__(self) -> None:
        if not (math.isfinite(self.detour_factor) and self.detour_factor >= 1.0):
            raise InvalidCoordinates(f"detour_factor must be >= 1, got {shown(self.detour_factor)}")
        if not (math.isfinite(self.spread) and 0.0 <= self.spread < 1.0):
            raise InvalidCoordinates(f"spread must be within [0, 1), got {shown(self.spread)}")
        if not (math.isfinite(self.speed_kmh) and self.speed_kmh > 0.0):
            raise InvalidCoordinates(f"speed_kmh must be > 0, got {shown(self.speed_kmh)}")

    def estimate(self, pickup: LatLng, dropoff: LatLng) -> RouteEstimate:
        """See :class:`RouteEstimator`."""
        km = haversine_km(pickup, dropoff) * self.detour_factor
        minutes = km / self.speed_kmh * 60.0
        low = 1.0 - self.spread
        high = 1.0 + self.spread
        return RouteEstimate(km, minutes, km * low, km * high, minutes * low, minutes * high)
