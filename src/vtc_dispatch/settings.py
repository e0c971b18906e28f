"""How the service behaves, and what the customer's search screen shows.

>>> ServiceSettings().search_radius_km, ServiceSettings().methods_for("CM")
(5.0, ('CASH', 'OM', 'MOMO', 'WALLET'))
>>> ServiceSettings().limits.id_max_chars
128
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import attrs
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vtc_dispatch.pricing.quote import FareQuote
from vtc_dispatch.tracking import TrackPolicy

__all__ = [
    "DEFAULT_PAYMENT_METHODS",
    "SENEGAL_METHODS",
    "Availability",
    "InputLimits",
    "ServiceSettings",
]

DEFAULT_PAYMENT_METHODS: tuple[str, ...] = ("CASH", "OM", "MOMO", "WALLET")
SENEGAL_METHODS: tuple[str, ...] = ("CASH", "WAVE", "OM", "FREE_MONEY", "WALLET")


class InputLimits(BaseModel):
    """What the service's commands accept (checked at their entry, before anything is read).

    A value beyond a limit is refused with
    :class:`~vtc_dispatch.errors.InvalidArgument` naming the argument.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_max_chars: Annotated[int, Field(ge=1, le=4096)] = 128
    """Ids (drivers, customers, orders, operators) and codes (vehicle types,
    payment methods, supplements) are non-empty texts of at most this length."""
    text_max_chars: Annotated[int, Field(ge=1, le=100_000)] = 500
    """Free text (a cancellation's reason, a rating's comment) is at most this long."""
    supplements_max: Annotated[int, Field(ge=0, le=1000)] = 20
    """At most this many supplements in one ``create_order`` or ``complete_trip``."""
    fixes_per_batch_max: Annotated[int, Field(ge=1, le=1_000_000)] = 5000
    """At most this many fixes in one ``update_positions``: a larger batch is refused
    whole (a server groups a fraction of a second of fixes, never minutes of them)."""
    clock_skew_s: Annotated[float, Field(gt=0, le=86_400)] = 300.0
    """``expire_due(now=...)`` refuses a ``now`` further than this from the
    service's clock: a scheduler's clock may drift by seconds, never by
    hours, and a ``now`` far ahead would end searches early and stamp
    orders in the future."""


class ServiceSettings(BaseModel):
    """How the service behaves; every field has the default a VTC operator starts with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    search_radius_km: Annotated[float, Field(gt=0, le=100)] = 5.0
    """Drivers shown by ``search`` are within this distance (offers follow the pool's radii)."""
    quote_valid_s: Annotated[float, Field(ge=0, le=3600)] = 120.0
    """An order placed this soon after a ``search``, for the same trip and type
    (and no supplement), keeps the quote the customer was shown; ``0`` always
    prices the order again."""
    search_count_cap: Annotated[int, Field(ge=1)] | None = 50
    """``search`` counts drivers up to this number and says "or more" beyond
    (``Availability.count_capped``); ``None`` counts them all, which costs a
    scan of every driver in the radius."""
    arrive_radius_km: Annotated[float, Field(gt=0, le=5)] = 0.1
    """A driver may declare arrival only this close to the pickup."""
    proof_radius_km: Annotated[float, Field(gt=0, le=10)] = 0.2
    """A proof of delivery (freight, delivery) counts only when taken this close to the
    destination."""
    arriving_km: Annotated[float, Field(gt=0, le=10)] = 0.5
    """The customer is told the driver is arriving within this distance."""
    location_interval_s: Annotated[float, Field(ge=0, le=600)] = 5.0
    """At most one ``driver_location`` per interval to the customer."""
    rating_threshold: Annotated[float, Field(ge=1, le=5)] = 3.0
    rating_min_count: Annotated[int, Field(ge=1)] = 5
    """A driver under ``rating_threshold`` after this many ratings is not offered orders."""
    max_speed_kmh: Annotated[float, Field(gt=0)] = 200.0
    max_delay_s: Annotated[float, Field(gt=0)] = 120.0
    corridor_km: Annotated[float, Field(gt=0)] = 1.0
    """Half-width of the corridor around the pickup-drop-off line; leaving it
    (or ending the trip outside it) makes the final fare follow the real trip."""
    presence_timeout_s: Annotated[float, Field(gt=0, le=3600)] | None = 60.0
    """A driver whose phone sent no fix nor ping for this long is silent: not counted
    in search, offered nothing.  ``None``: drivers stay present until they go offline
    (a host whose drivers report nothing between rides)."""
    offline_after_s: Annotated[float, Field(gt=0, le=86_400)] | None = 300.0
    """A silent driver is put offline this long after he was last heard from (with
    the reason ``silent``), unless he is on a ride; ``None``: never."""
    accuracy_max_m: Annotated[float, Field(gt=0, le=10_000)] = 50.0
    """A fix whose reported accuracy is worse (larger) than this does not move the driver."""
    resync_fixes: Annotated[int, Field(ge=2, le=100)] = 3
    """On a ride, this many consistent fixes in a row away from the last accepted one
    (each refused as a jump from it) resynchronise the driver's position to them: a
    glitch accepted once cannot set aside every real fix after it."""
    payment_methods: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {"*": DEFAULT_PAYMENT_METHODS, "SN": SENEGAL_METHODS}
    )
    """Enabled payment methods per country code; ``"*"`` for every other country.  Senegal
    (``SN``) has Wave, Orange Money and Free Money beside cash and the wallet."""
    limits: InputLimits = InputLimits()
    """What the commands accept: lengths of ids and texts, the skew of a given ``now``."""

    @model_validator(mode="after")
    def _offline_after_silence(self) -> ServiceSettings:
        timeout, offline = self.presence_timeout_s, self.offline_after_s
        if timeout is not None and offline is not None and offline < timeout:
            raise ValueError(
                f"offline_after_s ({offline}) must be at least presence_timeout_s ({timeout}):"
                " a driver goes silent before he is put offline"
            )
        return self

    def heard_since(self, now: datetime) -> datetime | None:
        """Drivers last heard from before this are silent (``None``: presence not checked)."""
        timeout_s = self.presence_timeout_s
        return None if timeout_s is None else now - timedelta(seconds=timeout_s)

    def track_policy(self) -> TrackPolicy:
        """The plausibility rules of recorded positions."""
        return TrackPolicy(
            max_speed_kmh=self.max_speed_kmh,
            max_delay_s=self.max_delay_s,
            corridor_km=self.corridor_km,
        )

    def methods_for(self, country: str) -> tuple[str, ...]:
        """Payment methods enabled in ``country``."""
        return self.payment_methods.get(country, self.payment_methods.get("*", ()))


@attrs.frozen
class Availability:
    """One line of the customer's search screen: a vehicle type with drivers nearby."""

    vehicle_type: str
    label: str
    count: int
    """Available drivers within the search radius (at most the settings' cap)."""
    nearest_km: float
    eta_s: float
    quote: FareQuote
    count_capped: bool = False
    """True when there are more than ``count`` drivers (shown as "50+")."""
