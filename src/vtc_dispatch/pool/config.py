"""Dispatch pool settings: how long a driver has to answer, how far to look, when to stop.

Defaults are what seed 000 describes (MAX_WAITING_TIME 30 s); operators
override them per city and vehicle type.

>>> config = PoolConfig.model_validate({
...     "default": {"max_waiting_time_s": 25},
...     "overrides": [{"city": "douala", "vehicle_type": "confort",
...                    "settings": {"radius_max_km": 15}}],
... })
>>> [config.settings_for("douala", vt).radius_max_km for vt in ("confort", "moto")]
[15.0, 10.0]
>>> config.settings_for("douala", "confort").max_waiting_time_s
25.0

An override that names ``hours`` (local hours of the city, 0-23) applies
at those hours only, on top of the settings the other overrides give:
here a longer matching window at the evening peak, for every vehicle type.

>>> peak = PoolConfig.model_validate({
...     "default": {"mode": "matching"},
...     "overrides": [{"city": "douala", "vehicle_type": "confort",
...                    "settings": {"radius_max_km": 15}},
...                   {"city": "douala", "hours": [17, 18, 19], "settings": {"window_s": 30}}],
... })
>>> [peak.settings_for("douala", "confort", hour=h).window_s for h in (None, 16, 18)]
[3.0, 3.0, 30.0]
>>> peak.settings_for("douala", "confort", hour=18).radius_max_km
15.0
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from vtc_dispatch.errors import shown

__all__ = ["PoolConfig", "PoolOverride", "PoolSettings"]


class PoolSettings(BaseModel):
    """How the pool offers one order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_waiting_time_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    """How long one driver has to answer an offer (seed 000: MAX_WAITING_TIME)."""
    radius_min_km: Annotated[float, Field(gt=0, le=200)] = 3.0
    """The first search radius around the pickup."""
    radius_max_km: Annotated[float, Field(gt=0, le=200)] = 10.0
    """The radius is widened up to this when nobody is left closer."""
    radius_step_km: Annotated[float, Field(gt=0, le=200)] = 1.0
    max_offers: Annotated[int, Field(ge=1)] | None = 20
    """Offers made for one order before giving up (``None``: no limit)."""
    search_timeout_s: Annotated[float, Field(gt=0)] = 300.0
    """A search ends with NO_DRIVER this long after it started, at the latest."""
    mode: Literal["sequential", "batch", "bidding", "matching"] = "sequential"
    """One driver at a time, ``batch_size`` at once (first to accept wins),
    ``bidders`` carriers invited to bid until ``bidding_window_s`` is over, or
    one driver at a time chosen every ``window_s`` for all the waiting orders
    together (:mod:`vtc_dispatch.pool.matching`)."""
    batch_size: Annotated[int, Field(ge=1, le=50)] = 3
    stagger_s: Annotated[float, Field(ge=0, le=600)] = 0.0
    """In batch mode, each next driver of the batch sees the offer this much later."""
    bidders: Annotated[int, Field(ge=1, le=100)] = 10
    bidding_window_s: Annotated[float, Field(gt=0, le=86_400)] = 120.0
    """In bidding mode, how long the invited carriers may bid."""
    window_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    """In matching mode, how often the orders waiting for an offer are matched at once."""
    match_candidates: Annotated[int, Field(ge=1, le=50)] = 8
    """In matching mode, the nearest drivers of each order the matching chooses among."""
    ranking: Literal["distance", "eta", "scored"] = "distance"
    """Nearest first, soonest first (route ETA) or a score mixing distance and reliability."""
    on_driver_cancel: Literal["requeue", "cancel"] = "requeue"
    """A driver who accepted then cancels: search again without them, or cancel the order."""

    @model_validator(mode="after")
    def _radii(self) -> PoolSettings:
        if self.radius_min_km > self.radius_max_km:
            raise ValueError(
                f"radius_min_km ({self.radius_min_km}) is above radius_max_km"
                f" ({self.radius_max_km})"
            )
        if self.mode == "bidding" and self.bidding_window_s > self.search_timeout_s:
            raise ValueError(
                f"bidding_window_s ({self.bidding_window_s}) is longer than search_timeout_s"
                f" ({self.search_timeout_s}): the search would end before the bids"
            )
        if self.mode == "matching" and self.window_s > self.search_timeout_s:
            raise ValueError(
                f"window_s ({self.window_s}) is longer than search_timeout_s"
                f" ({self.search_timeout_s}): the search would end before its first window"
            )
        return self

    def radii(self) -> list[float]:
        """The successive search radii, from min to max by step.

        >>> PoolSettings(radius_min_km=3, radius_max_km=5.5, radius_step_km=1).radii()
        [3.0, 4.0, 5.0, 5.5]
        """
        out = [self.radius_min_km]
        while out[-1] < self.radius_max_km:
            out.append(min(self.radius_max_km, out[-1] + self.radius_step_km))
        return out


class PoolOverride(BaseModel):
    """Settings for one city and/or vehicle type (``None`` matches any), at some local hours
    of the city only when ``hours`` names them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    city: str | None = None
    vehicle_type: str | None = None
    hours: tuple[Annotated[int, Field(ge=0, le=23)], ...] | None = None
    """Local hours (0-23, the hour a decision is made in) the override applies at."""
    settings: dict[str, Any]

    @model_validator(mode="after")
    def _hours(self) -> PoolOverride:
        if self.hours is not None:
            if not self.hours:
                raise ValueError("hours: name at least one hour (0-23), or leave hours out")
            # An order keeps one way of searching from its first offer to its last.
            if "mode" in self.settings:
                raise ValueError(
                    f"settings.mode: an override with hours may not change the pool mode"
                    f" (got {shown(self.settings['mode'])})"
                )
        return self


class PoolConfig(BaseModel):
    """Default pool settings and their overrides; the most specific override wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: PoolSettings = PoolSettings()
    overrides: tuple[PoolOverride, ...] = ()
    _resolved: dict[tuple[str, str, str | None, int | None], PoolSettings] = PrivateAttr(
        default_factory=dict
    )

    @property
    def by_hour(self) -> bool:
        """Whether some override applies at some hours only (the local hour matters)."""
        return any(o.hours is not None for o in self.overrides)

    @model_validator(mode="after")
    def _overrides_are_valid(self) -> PoolConfig:
        # An override with hours goes on top of the default or of any override without.
        bases = [self.default]
        for i, override in enumerate(self.overrides):
            if override.hours is None:
                bases.append(self._checked(i, override, self.default))
        for i, override in enumerate(self.overrides):
            if override.hours is not None:
                for base in bases:
                    self._checked(i, override, base)
        return self

    def _checked(self, i: int, override: PoolOverride, base: PoolSettings) -> PoolSettings:
        """``override`` (the ``i``-th) on top of ``base``; an invalid result names the field."""
        try:
            return self._merge(override, base)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(
                f"overrides[{i}].settings.{where}: {first['msg']} (got {shown(first['input'])})"
                if where
                else f"overrides[{i}].settings: {first['msg']}"
            ) from None

    @staticmethod
    def _merge(override: PoolOverride, base: PoolSettings) -> PoolSettings:
        return PoolSettings.model_validate({**base.model_dump(), **override.settings})

    def settings_for(
        self,
        city: str,
        vehicle_type: str,
        default_mode: str | None = None,
        *,
        hour: int | None = None,
    ) -> PoolSettings:
        """The settings for orders of ``vehicle_type`` in ``city``, at the local ``hour``
        (``None``: overrides with hours are left out).

        An override naming both wins over one naming the vehicle type, which
        wins over one naming the city; among equals, the last one listed.
        Then, the same way among the overrides naming ``hour``, the winner's
        settings replace those it names.

        ``default_mode`` is the mode of the order's kind (freight: bidding),
        taken unless the configuration names a mode itself, in its default
        or in the override that applies:

        >>> PoolConfig().settings_for("dakar", "camion", "bidding").mode
        'bidding'
        >>> PoolConfig.model_validate({"default": {"mode": "batch"}}).settings_for(
        ...     "dakar", "camion", "bidding").mode
        'batch'
        """
        key = (city, vehicle_type, default_mode, hour)
        cached = self._resolved.get(key)
        if cached is not None:
            return cached
        chosen = self.default
        mode_named = "mode" in self.default.model_fields_set
        base = self._best(city, vehicle_type, None)
        if base is not None:
            chosen = self._merge(base, chosen)
            mode_named = mode_named or "mode" in base.settings
        # An override with hours never names the mode (refused when loaded).
        at_hour = None if hour is None else self._best(city, vehicle_type, hour)
        if at_hour is not None:
            chosen = self._merge(at_hour, chosen)
        if default_mode is not None and not mode_named and chosen.mode != default_mode:
            chosen = PoolSettings.model_validate({**chosen.model_dump(), "mode": default_mode})
        self._resolved[key] = chosen
        return chosen

    def _best(self, city: str, vehicle_type: str, hour: int | None) -> PoolOverride | None:
        """The most specific override for them (with ``hour``: among those naming it)."""
        best: tuple[int, int] | None = None
        chosen = None
        for i, override in enumerate(self.overrides):
            if (
                override.city not in (None, city)
                or override.vehicle_type not in (None, vehicle_type)
                or (override.hours is None) != (hour is None)
                or (hour is not None and hour not in (override.hours or ()))
            ):
                continue
            rank = (2 if override.vehicle_type else 0) + (1 if override.city else 0)
            if best is None or (rank, i) >= best:
                best, chosen = (rank, i), override
        return chosen
