"""One configuration file for an operator: prices, the dispatch pool and the service.

The file is the pricing configuration (:mod:`vtc_dispatch.pricing.config`)
with two optional sections: ``pool`` (:class:`~vtc_dispatch.pool.PoolConfig`)
and ``service`` (:class:`~vtc_dispatch.service.ServiceSettings`).  Any error
names the field path, as pricing errors do.

>>> from vtc_dispatch.pricing.douala import DOUALA_CONFIG
>>> config = load_config({**DOUALA_CONFIG, "pool": {"default": {"max_waiting_time_s": 20}},
...                       "service": {"search_radius_km": 4}})
>>> config.pool.settings_for("douala", "taxi_jaune").max_waiting_time_s
20.0
>>> load_config({**DOUALA_CONFIG, "pool": {"default": {"batch_size": 0}}})
Traceback (most recent call last):
...
vtc_dispatch.errors.InvalidPricingConfig: pool.default.batch_size: Input should be ... (got 0)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from pydantic import ValidationError

from vtc_dispatch.errors import InvalidPricingConfig
from vtc_dispatch.loading import describe_error, read_config_file
from vtc_dispatch.pool.config import PoolConfig
from vtc_dispatch.pricing.config import PricingConfig, load_pricing_config
from vtc_dispatch.service import ServiceSettings

__all__ = ["DispatchConfig", "load_config"]


@attrs.frozen
class DispatchConfig:
    """Everything an operator configures, checked."""

    pricing: PricingConfig
    pool: PoolConfig = attrs.field(factory=PoolConfig)
    service: ServiceSettings = attrs.field(factory=ServiceSettings)


def load_config(source: Mapping[str, Any] | str | os.PathLike[str]) -> DispatchConfig:
    """Load an operator's configuration from a mapping or a JSON, YAML or TOML file."""
    data = source if isinstance(source, Mapping) else read_config_file(Path(source))
    if not isinstance(data, Mapping):
        raise InvalidPricingConfig(f"a configuration is a mapping, got {type(data).__name__}")
    rest = dict(data)
    sections: dict[str, Any] = {}
    for name, model in (("pool", PoolConfig), ("service", ServiceSettings)):
        raw = rest.pop(name, None)
        if raw is None:
            continue
        try:
            sections[name] = model.model_validate(raw)
        except ValidationError as exc:
            raise InvalidPricingConfig(f"{name}.{describe_error(exc)}") from None
    return DispatchConfig(pricing=load_pricing_config(rest), **sections)
