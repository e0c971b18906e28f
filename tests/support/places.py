"""Places and times the tests share: a few Douala addresses and start times.

Importable from every test folder as ``places``: ``tests/conftest.py`` puts
this folder on ``sys.path`` and pyproject on mypy's path.  The values are
part of what tests assert (fares, distances, tariffs), so a test needing
another point or hour names its own rather than changing these.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from vtc_dispatch.geo import LatLng

DOUALA = LatLng(4.05, 9.70)  # the city centre, where index and track tests start
AKWA = LatLng(4.0511, 9.7043)  # a pickup in the Akwa business district
DEIDO = LatLng(4.0650, 9.7250)  # a drop-off north-east of AKWA: a short day ride

WAT = timezone(timedelta(hours=1))  # Douala's time, West Africa Time: no summer time

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # 09:00 in Douala: day tariffs
NIGHT = datetime(2026, 11, 21, 21, 50, tzinfo=UTC)  # 22:50 in Douala: night tariffs

__all__ = ["AKWA", "DEIDO", "DOUALA", "NIGHT", "T0", "WAT"]
