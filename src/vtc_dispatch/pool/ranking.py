"""In which order the pool offers an order to the drivers it found.

A ranker takes the candidates (id, straight-line distance, position) and
returns them best first with the score it used (lower is better); ties go
to the driver id, so a ranking is reproducible.

>>> from vtc_dispatch.geo import LatLng
>>> pickup = LatLng(4.05, 9.70)
>>> found = [Candidate("b", 1.2, LatLng(4.06, 9.70)), Candidate("a", 0.4, LatLng(4.05, 9.704))]
>>> [c.driver_id for c, _ in DistanceRanker().rank(pickup, found, None)]
['a', 'b']
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.pool.stats import DriverStats
from vtc_dispatch.routing import RouteEstimator

__all__ = [
    "Candidate",
    "DistanceRanker",
    "EtaRanker",
    "Ranker",
    "ScoredRanker",
    "candidate_position",
    "reads_positions",
]


class StatsReader(Protocol):
    """What the scored ranker reads of the drivers' statistics (a ``StatsStore``)."""

    def get(self, driver_id: str) -> DriverStats:
        """The driver's statistics."""
        ...


@attrs.frozen
class Candidate:
    """An available driver the pool may offer the order to."""

    driver_id: str
    distance_km: float
    """Great-circle distance to the pickup."""
    position: LatLng | None
    """Where he is; ``None`` for a ranker that reads no position (:func:`reads_positions`)."""


class Ranker(Protocol):
    """Orders candidates for an offer.

    MUST return every candidate once, best first, each with its score
    (lower is better), ties broken by driver id; MUST NOT change any state.
    A ranker whose class sets ``reads_positions = False`` gets candidates
    without their positions (the pool then reads none: a storage read less
    per candidate); any other gets them all.
    """

    def rank(
        self, pickup: LatLng, candidates: Sequence[Candidate], now: datetime | None
    ) -> list[tuple[Candidate, float]]:
        """The candidates, best first, with their scores."""
        ...


def _sorted(scored: list[tuple[Candidate, float]]) -> list[tuple[Candidate, float]]:
    return sorted(scored, key=lambda pair: (pair[1], pair[0].driver_id))


def reads_positions(ranker: object) -> bool:
    """Whether ``ranker`` needs its candidates' positions (see :class:`Ranker`)."""
    return bool(getattr(ranker, "reads_positions", True))


def candidate_position(candidate: Candidate) -> LatLng:
    """The candidate's position, for a ranker that reads positions (ValueError without)."""
    if candidate.position is None:
        raise ValueError(f"candidate {candidate.driver_id!r} came without his position")
    return candidate.position


class DistanceRanker:
    """Nearest first (seed 000: "the nearest driver")."""

    reads_positions = False

    def rank(
        self, pickup: LatLng, candidates: Sequence[Candidate], now: datetime | None
    ) -> list[tuple[Candidate, float]]:
        """See :class:`Ranker`."""
        return _sorted([(c, c.distance_km) for c in candidates])


@attrs.frozen
class EtaRanker:
    """Soonest at the pickup first, by the route estimator's duration (minutes)."""

    estimator: RouteEstimator

    def rank(
        self, pickup: LatLng, candidates: Sequence[Candidate], now: datetime | None
    ) -> list[tuple[Candidate, float]]:
        """See :class:`Ranker`."""
        return _sorted(
            [
                (c, self.estimator.estimate(candidate_position(c), pickup).duration_min)
                for c in candidates
            ]
        )


@attrs.frozen
class ScoredRanker:
    """Distance weighed by reliability: drivers who refuse or cancel often come later.

    ``score = km * (1 + refusal_weight * (1 - acceptance)) * (1 + cancel_weight * cancels)``
    with the acceptance and cancellation rates of the statistics window
    (``prior_acceptance`` for a driver with no recent answer).
    """

    reads_positions = False
    stats: StatsReader
    refusal_weight: float = 1.0
    cancel_weight: float = 2.0
    prior_acceptance: float = 0.8

    def rank(
        self, pickup: LatLng, candidates: Sequence[Candidate], now: datetime | None
    ) -> list[tuple[Candidate, float]]:
        """See :class:`Ranker`; ``now`` is needed for the window."""
        if now is None:
            raise ValueError("ScoredRanker needs the current time")
        scored = []
        for c in candidates:
            record = self.stats.get(c.driver_id)
            acceptance = record.acceptance_rate(now)
            cancels = record.cancellation_rate(now) or 0.0
            acceptance = self.prior_acceptance if acceptance is None else acceptance
            score = (
                c.distance_km
                * (1.0 + self.refusal_weight * (1.0 - acceptance))
                * (1.0 + self.cancel_weight * cancels)
            )
            scored.append((c, score))
        return _sorted(scored)
