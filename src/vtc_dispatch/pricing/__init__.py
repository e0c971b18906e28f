"""Pricing: fare ranges before the ride, the final fare after it, in Decimal money.

>>> from datetime import datetime, timezone
>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch.pricing import Pricer, douala_config
>>> pricer = Pricer(douala_config())
>>> quotes = pricer.quote_all(LatLng(4.0511, 9.7043), LatLng(4.0800, 9.7600),
...                           datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc))
>>> {vt: q.display for vt, q in quotes.items()}
{'taxi_jaune': 'between 1 750 and 2 250 XAF', 'confort': 'between 3 450 and 4 350 XAF'}
>>> pricer.quote(LatLng(4.0511, 9.7043), LatLng(4.0100, 9.7200), "confort",
...              datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)).display  # airport: fixed
'about 6 200 XAF'
"""

from vtc_dispatch.pricing.config import PricingConfig, load_pricing_config
from vtc_dispatch.pricing.dakar import dakar_config
from vtc_dispatch.pricing.douala import douala_config
from vtc_dispatch.pricing.engine import Pricer
from vtc_dispatch.pricing.money import RoundingMode, round_to_step
from vtc_dispatch.pricing.quote import (
    BreakdownLine,
    CancellationFee,
    FareQuote,
    FinalFare,
    PriceChange,
)

__all__ = [
    "BreakdownLine",
    "CancellationFee",
    "FareQuote",
    "FinalFare",
    "PriceChange",
    "Pricer",
    "PricingConfig",
    "RoundingMode",
    "dakar_config",
    "douala_config",
    "load_pricing_config",
    "round_to_step",
]
