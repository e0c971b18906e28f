"""One way to build the service: an operator's configuration and a set of stores.

:func:`build_service` is what a host calls (the Django app, the simulation,
a worker, a test): the configuration gives the prices, the pool and the
service settings; the stores give the ports, from a mapping or from an
object with the ports as attributes.  Whatever the stores leave out is
the in-memory default.

>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch.memory import InMemoryStores
>>> from vtc_dispatch.pricing.douala import DOUALA_CONFIG
>>> stores = InMemoryStores()
>>> one = build_service(DOUALA_CONFIG, stores)
>>> other = build_service(DOUALA_CONFIG, stores)
>>> one.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
>>> other.drivers.get("amadou").available
True
>>> build_service(DOUALA_CONFIG, {"orders": stores.orders, "clock": None})
Traceback (most recent call last):
...
ValueError: stores: 'clock' is not a store; expected keys among orders, drivers, ...
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from vtc_dispatch.config import DispatchConfig, load_config
from vtc_dispatch.ports import Clock, Notifier, RouteEstimator
from vtc_dispatch.pricing.config import PricingConfig
from vtc_dispatch.service import DispatchService

__all__ = ["STORE_NAMES", "build_service", "store_mapping"]

STORE_NAMES = (
    "orders",
    "drivers",
    "progress",
    "wallet",
    "stats",
    "ratings",
    "commands",
    "quotes",
    "unit_of_work",
    "rides",
    "notifier",
)
"""What a set of stores may give, by the service's keyword names.

``notifier`` is there because a store may carry its own transport (the
Redis streams); an explicit ``notifier=`` to :func:`build_service` wins.
"""


def store_mapping(stores: Mapping[str, Any] | object | None) -> dict[str, Any]:
    """The ports of ``stores``: a mapping's items, or an object's attributes of those names.

    An object's ``unit_of_work`` may be a method (as
    :meth:`~vtc_dispatch.memory.InMemoryStores.unit_of_work`): it is called.
    A mapping with another key is refused (``ValueError`` naming it).

    >>> from vtc_dispatch.memory import InMemoryStores
    >>> sorted(store_mapping(InMemoryStores()))  # doctest: +NORMALIZE_WHITESPACE
    ['commands', 'drivers', 'orders', 'progress', 'quotes', 'ratings', 'stats',
     'unit_of_work', 'wallet']
    >>> store_mapping(None)
    {}
    """
    if stores is None:
        return {}
    if isinstance(stores, Mapping):
        unknown = sorted(str(k) for k in stores if k not in STORE_NAMES)
        if unknown:
            raise ValueError(
                f"stores: {', '.join(map(repr, unknown))} is not a store;"
                f" expected keys among {', '.join(STORE_NAMES)}"
            )
        return {k: v for k, v in stores.items() if v is not None}
    found: dict[str, Any] = {}
    for name in STORE_NAMES:
        port = getattr(stores, name, None)
        if name == "unit_of_work" and callable(port) and not hasattr(port, "commit"):
            port = port()
        if port is not None:
            found[name] = port
    return found


def build_service(
    config: DispatchConfig | PricingConfig | Mapping[str, Any] | str | os.PathLike[str],
    stores: Mapping[str, Any] | object | None = None,
    *,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    route_estimator: RouteEstimator | None = None,
    new_order_id: Callable[[], str] | None = None,
    **extra: Any,
) -> DispatchService:
    """A :class:`~vtc_dispatch.service.DispatchService` for ``config`` over ``stores``.

    ``config`` is a checked :class:`~vtc_dispatch.config.DispatchConfig`, a
    :class:`~vtc_dispatch.pricing.PricingConfig` alone (the pool and service
    defaults), or anything :func:`~vtc_dispatch.config.load_config` reads (a
    mapping, a JSON/YAML/TOML file).  ``stores`` is a mapping or an object (see
    :func:`store_mapping`); ``None``: everything in memory.  ``extra``
    passes other keyword arguments of the service (``ranker=``).

    When ``stores`` gives a ``unit_of_work``, it commits over those same
    stores: a mapping giving one without the ports it commits to is the
    caller's mistake, not checked here.
    """
    if isinstance(config, PricingConfig):
        checked = DispatchConfig(pricing=config)
    elif isinstance(config, DispatchConfig):
        checked = config
    else:
        checked = load_config(config)
    ports = store_mapping(stores)
    if notifier is not None:
        ports["notifier"] = notifier
    return DispatchService(
        pricing=checked.pricing,
        pool=checked.pool,
        settings=checked.service,
        clock=clock,
        route_estimator=route_estimator,
        new_order_id=new_order_id,
        **ports,
        **extra,
    )
