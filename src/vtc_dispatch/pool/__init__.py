"""The dispatch pool: who gets an order's offer, in which order, and when to stop.

>>> from vtc_dispatch.pool import PoolSettings
>>> PoolSettings().max_waiting_time_s
30.0
"""

from vtc_dispatch.pool.config import PoolConfig, PoolOverride, PoolSettings
from vtc_dispatch.pool.ranking import Candidate, DistanceRanker, EtaRanker, Ranker, ScoredRanker
from vtc_dispatch.pool.runner import run_deadlines
from vtc_dispatch.pool.stats import DriverStats, StatsBook

__all__ = [
    "Candidate",
    "DistanceRanker",
    "DriverStats",
    "EtaRanker",
    "PoolConfig",
    "PoolOverride",
    "PoolSettings",
    "Ranker",
    "ScoredRanker",
    "StatsBook",
    "run_deadlines",
]
