"""How often one user may call the busy endpoints: REST framework throttle scopes with defaults.

=================  =========================================  ===========
scope              endpoints                                  default
=================  =========================================  ===========
``vtc_location``   ``driver/update-location/``                ``20/40s``
``vtc_search``     ``customer/search-drivers/``,              ``30/m``
                   ``customer/estimate-price/``
``vtc_order``      ``customer/create/``                       ``10/m``
``vtc_rating``     ``customer/rate/{id}/``, ``driver/rate/``  ``10/m``
=================  =========================================  ===========

A host changes a rate, or turns a scope off with ``None``, in
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``; the scopes it leaves out keep
their default.  A rate is ``N/P``: ``N`` requests per period ``P``, one of
``s``, ``m``, ``h``, ``d`` (or ``sec``, ``min``, ``hour``, ``day``) with an
optional count (``20/40s``: 20 requests in any 40 seconds).  Requests are
counted per user in Django's cache (``CACHES["default"]``: a shared one,
such as Redis, when several processes serve the API).  A refused request
is a 429 ``Throttled`` with a ``Retry-After`` header.

The app's views use only these throttles: a host's global throttle
(``DEFAULT_THROTTLE_CLASSES``) does not count, nor starve, a driver's
position updates.

>>> [ScopedThrottle().parse_rate(rate) for rate in ("20/40s", "10/m", "100/hour")]
[(20, 40), (10, 60), (100, 3600)]
>>> ScopedThrottle().parse_rate(None)
(None, None)
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from vtc_dispatch_django.defaults import THROTTLE_RATES

__all__ = ["THROTTLE_RATES", "ScopedThrottle"]

_RATE = re.compile(r"(\d+)/(\d*)([smhd])[a-z]*")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ScopedThrottle(ScopedRateThrottle):
    """The view's ``throttle_scope`` at the host's rate, else at :data:`THROTTLE_RATES`'."""

    def get_rate(self) -> str | None:
        rates: dict[str, Any] = {**THROTTLE_RATES, **api_settings.DEFAULT_THROTTLE_RATES}
        if self.scope not in rates:
            raise ImproperlyConfigured(f"no throttle rate for the scope {self.scope!r}")
        rate: str | None = rates[self.scope]
        return rate

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        if rate is None:
            return None, None
        match = _RATE.fullmatch(rate)
        if match is None:
            raise ImproperlyConfigured(
                f"throttle rate of {self.scope!r} must read like '20/40s' or '10/m', got {rate!r}"
            )
        count, periods, unit = match.groups()
        return int(count), int(periods or 1) * _UNIT_S[unit]
