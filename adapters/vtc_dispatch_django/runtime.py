"""One :class:`~vtc_dispatch.service.DispatchService` per process, built from the settings.

:func:`get_service` builds it on first use from the configuration tables
(:mod:`vtc_dispatch_django.config`) and the ``VTC_DISPATCH`` setting, and
builds it again when the configuration changed: at once in the process
that saved the change (signals), within ``CONFIG_CHECK_S`` seconds in the
others (they compare the configuration's revision number).

``VTC_DISPATCH`` (a dict in the Django settings, every key optional):

``STORES``
    A dotted path to a function returning the storage ports the service
    uses instead of this app's ORM ones: a mapping of
    :class:`~vtc_dispatch.service.DispatchService` keyword arguments, any
    of ``orders``, ``drivers``, ``progress``, ``stats``, ``ratings`` and
    ``wallet`` (an :class:`~vtc_dispatch.ports.OrderRepository`, a
    :class:`~vtc_dispatch.ports.DriverRegistry`, a
    :class:`~vtc_dispatch.ports.ProgressStore`, a
    :class:`~vtc_dispatch.ports.StatsStore`, a
    :class:`~vtc_dispatch.ports.RatingStore`, a
    :class:`~vtc_dispatch.ports.Wallet`); the ports it leaves out are the
    ORM ones.  The older form, a tuple ``(orders, drivers, progress)``,
    still works.  Default: every port in the database
    (:mod:`vtc_dispatch_django.repositories`), so the drivers' statistics
    and the customers' ratings are shared by every process and survive a
    rebuild of the service.  The example project points it at the Redis
    adapter when asked to (``examples/django_project/demo/stores.py``),
    keeping wallets in the database.  The function is called at every
    build of the service (after each configuration change): return ports
    whose state lives outside the process, or the same objects each time.
    For instance, everything but the money in Redis::

        def redis_stores() -> dict[str, Any]:
            ports = RedisStorage.from_url(REDIS_URL, prefix="vtc:{douala}").ports()
            return {name: ports[name] for name in ("orders", "drivers", "progress",
                                                   "stats", "ratings")}
    The function may also give ``commands`` (a
    :class:`~vtc_dispatch.ports.CommandLog`), ``quotes`` (a
    :class:`~vtc_dispatch.ports.QuoteBook`) and ``unit_of_work`` (a
    :class:`~vtc_dispatch.ports.UnitOfWork` over the ports it gives).
    Default for those: the command log in the database
    (:class:`~vtc_dispatch_django.unit_of_work.DjangoCommandLog`), the
    quotes in the cache framework
    (:class:`~vtc_dispatch_django.unit_of_work.DjangoQuoteBook`), and,
    while the orders are in the database, one database transaction per
    command (:class:`~vtc_dispatch_django.unit_of_work.DjangoUnitOfWork`:
    its documentation says what is atomic when other ports are elsewhere);
    orders elsewhere are committed by
    :class:`~vtc_dispatch.unit_of_work.StoresUnitOfWork` in its safe order.
``NOTIFIER``
    ``"channels"`` (default): the Channels layer (see
    :mod:`vtc_dispatch_django.notifier`); ``"none"``: keep the messages in
    memory only.
``CONFIG_CHECK_S``
    How often another process's configuration change is looked for (2 s).
``CLOCK``
    A dotted path to a :class:`~vtc_dispatch.ports.Clock` factory (tests).
``UNREACHABLE_ON_DISCONNECT``
    ``True`` (default): a driver whose websocket closes gets no offer until he
    is heard from again (a fix, a ping, a new connection); ``False``: he
    stays present until the presence timeout says otherwise.
``MAP_TILE_URL``, ``MAP_ATTRIBUTION``
    The tiles behind the admin's maps (the area widget,
    :mod:`vtc_dispatch_django.widgets`, and the live map): a URL template
    (default OpenStreetMap's; ``""``: no tiles, the maps still work) and
    the credit shown for them.
``LIVE_MAP``
    ``True`` (default): the process's events feed the staff's live map
    (:func:`live_map_feed`, :mod:`vtc_dispatch_django.livemap`); ``False``:
    the service has no listener for it (the map then shows its snapshots only).
``LIVE_MAP_WINDOW_MS``
    How long the live map's changes are gathered into one message (500).
``LIVE_MAP_RESYNC_S``, ``LIVE_MAP_MAX_DRIVERS``, ``LIVE_MAP_MAX_ORDERS``
    How often a map socket sends a fresh snapshot (30 s), and how many
    drivers (10 000) and orders (2 000) a snapshot holds at most.

Drivers' cards (name, phone, vehicle, plate) come from the app's
:class:`~vtc_dispatch_django.models.DriverProfile` rows
(:class:`~vtc_dispatch_django.repositories.DjangoDriverProfiles`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

from vtc_dispatch.batching import FixBatcher
from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.errors import DispatchError
from vtc_dispatch.events import Event
from vtc_dispatch.livemap import LiveMapFeed
from vtc_dispatch.memory import RecordingNotifier
from vtc_dispatch.ports import (
    Clock,
    CommandLog,
    DriverRegistry,
    Notifier,
    OrderRepository,
    ProgressStore,
    QuoteBook,
    RatingStore,
    StatsStore,
    UnitOfWork,
    Wallet,
)
from vtc_dispatch.service import DispatchService
from vtc_dispatch_django.config import load_from_db
from vtc_dispatch_django.models import DispatchSettings
from vtc_dispatch_django.repositories import (
    DjangoDriverProfiles,
    DjangoDriverRegistry,
    DjangoOrderRepository,
    DjangoProgressStore,
    DjangoRatingStore,
    DjangoStatsStore,
    DjangoWallet,
)
from vtc_dispatch_django.unit_of_work import (
    DjangoCommandLog,
    DjangoQuoteBook,
    DjangoUnitOfWork,
    OnCommitNotifier,
)

__all__ = [
    "PORTS",
    "BackendUnavailable",
    "app_stores",
    "default_stores",
    "dispatch_setting",
    "fix_batcher",
    "get_service",
    "live_map_feed",
    "reset_service",
    "with_unit_of_work",
]

# Reentrant: building the service may save the general settings, whose signal
# resets the service from the same thread.
_lock = threading.RLock()
_service: DispatchService | None = None
_batcher: FixBatcher | None = None
_feed: LiveMapFeed | None = None
_revision = -1
_checked_at = 0.0


class BackendUnavailable(DispatchError):
    """``VTC_DISPATCH`` names stores or a notifier that cannot be used."""


def dispatch_setting(name: str, default: Any = None) -> Any:
    """One key of the ``VTC_DISPATCH`` setting."""
    return getattr(settings, "VTC_DISPATCH", {}).get(name, default)


# The storage ports a STORES factory may give, and the protocol each follows.
PORTS: dict[str, type] = {
    "orders": OrderRepository,
    "drivers": DriverRegistry,
    "progress": ProgressStore,
    "stats": StatsStore,
    "ratings": RatingStore,
    "wallet": Wallet,
    "commands": CommandLog,
    "quotes": QuoteBook,
    "unit_of_work": UnitOfWork,
}
_TUPLE_FORM = ("orders", "drivers", "progress")


def default_stores() -> dict[str, Any]:
    """Every storage port on this app's tables (the quotes in the cache framework)."""
    return {
        "orders": DjangoOrderRepository(),
        "drivers": DjangoDriverRegistry(),
        "progress": DjangoProgressStore(),
        "stats": DjangoStatsStore(),
        "ratings": DjangoRatingStore(),
        "wallet": DjangoWallet(),
        "commands": DjangoCommandLog(),
        "quotes": DjangoQuoteBook(),
    }


def with_unit_of_work(stores: dict[str, Any]) -> dict[str, Any]:
    """``stores`` with the unit of work that commits over them, unless they give one.

    The database transaction when the orders are in the database; else
    none (the service then commits through the ports in their safe order).
    """
    if "unit_of_work" in stores or not isinstance(stores["orders"], DjangoOrderRepository):
        return stores
    names = ("orders", "drivers", "progress", "wallet", "stats", "ratings", "commands")
    return {**stores, "unit_of_work": DjangoUnitOfWork(**{n: stores[n] for n in names})}


def _methods(protocol: type) -> list[str]:
    return [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]


def _stores() -> dict[str, Any]:
    """The storage ports of the service: ``STORES``' ones over the ORM defaults."""
    path = dispatch_setting("STORES")
    stores = default_stores()
    if path is None:
        return stores
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise BackendUnavailable(
            f"VTC_DISPATCH['STORES'] = {path!r} cannot be imported: {exc}"
        ) from exc
    given = factory()
    if isinstance(given, tuple | list) and len(given) == len(_TUPLE_FORM):
        given = dict(zip(_TUPLE_FORM, given, strict=True))
    if not isinstance(given, Mapping):
        raise BackendUnavailable(
            f"VTC_DISPATCH['STORES'] = {path!r} must return a mapping of storage ports"
            f" (keys among {', '.join(PORTS)}) or a tuple (orders, drivers, progress),"
            f" got {given!r}"
        )
    unknown = sorted(set(given) - set(PORTS), key=str)
    if unknown:
        hint = " (the notifier is VTC_DISPATCH['NOTIFIER'])" if "notifier" in unknown else ""
        raise BackendUnavailable(
            f"VTC_DISPATCH['STORES'] = {path!r} gave {', '.join(map(repr, unknown))}:"
            f" not a storage port, expected keys among {', '.join(PORTS)}{hint}"
        )
    for name, port in given.items():
        missing = [m for m in _methods(PORTS[name]) if not callable(getattr(port, m, None))]
        if missing:
            raise BackendUnavailable(
                f"VTC_DISPATCH['STORES'] = {path!r} gave {name}={port!r}, which is not"
                f" a {PORTS[name].__name__}: no {', '.join(missing)}"
            )
    stores.update(given)
    return stores


def _notifier() -> Notifier:
    kind = dispatch_setting("NOTIFIER", "channels")
    if kind == "channels":
        from vtc_dispatch_django.notifier import ChannelsNotifier

        return ChannelsNotifier()
    if kind == "none":
        return RecordingNotifier(keep=1000)
    raise BackendUnavailable(f"VTC_DISPATCH['NOTIFIER'] must be 'channels' or 'none', got {kind!r}")


def app_stores() -> dict[str, Any]:
    """The storage ports the service is built on (``STORES``' over the ORM defaults) and
    the unit of work over them: what another service of the app (a simulation filling
    the history) must write to."""
    return with_unit_of_work(_stores())


def _build() -> DispatchService:
    config = load_from_db()
    stores = app_stores()
    clock_path = dispatch_setting("CLOCK")
    clock: Clock | None = import_string(clock_path)() if clock_path else None
    service = build_service(
        config,
        stores,
        clock=clock,
        notifier=OnCommitNotifier(_notifier()),
        profiles=DjangoDriverProfiles(),
    )
    if dispatch_setting("LIVE_MAP", True):
        service.subscribe(_to_live_map)
    return service


def get_service() -> DispatchService:
    """The process's service, built again when the configuration changed."""
    global _service, _revision, _checked_at
    now = time.monotonic()
    with _lock:
        if _service is not None and now - _checked_at < dispatch_setting("CONFIG_CHECK_S", 2.0):
            return _service
        revision = (
            DispatchSettings.objects.filter(pk=1).values_list("revision", flat=True).first() or 0
        )
        _checked_at = now
        if _service is None or revision != _revision:
            _service = _build()
            _revision = revision
        return _service


def fix_batcher() -> FixBatcher | None:
    """The process's :class:`~vtc_dispatch.batching.FixBatcher` for the drivers' websocket
    fixes (``VTC_DISPATCH["FIX_BATCH_WINDOW_MS"]``, 100 by default); ``None`` when the
    host set the window to 0: each fix is then stored alone."""
    global _batcher
    window_ms = dispatch_setting("FIX_BATCH_WINDOW_MS", 100)
    if not window_ms:
        return None
    with _lock:
        if _batcher is None:
            # Its thread holds a database connection: given back as after a request.
            _batcher = FixBatcher(
                get_service, window_s=window_ms / 1000, after_batch=close_old_connections
            )
        return _batcher


def live_map_feed() -> LiveMapFeed:
    """The process's :class:`~vtc_dispatch.livemap.LiveMapFeed`: its events, in batches of
    ``VTC_DISPATCH["LIVE_MAP_WINDOW_MS"]`` (500), to the staff's live map sockets of every
    process (:func:`vtc_dispatch_django.livemap.publish`, through the Channels layer)."""
    global _feed
    window_s = dispatch_setting("LIVE_MAP_WINDOW_MS", 500) / 1000
    with _lock:
        if _feed is None:
            from vtc_dispatch_django.livemap import publish

            # Its thread holds a database connection: given back as after a request.
            _feed = LiveMapFeed(
                get_service, publish, window_s=window_s, after_flush=close_old_connections
            )
        elif _feed.window_s != window_s:
            _feed.window_s = window_s
        return _feed


def _to_live_map(event: Event) -> None:
    """The services' listener: the event joins the live map's next batch."""
    feed = _feed if _feed is not None else live_map_feed()
    feed.record(event)


def reset_service() -> None:
    """Forget the service: the next :func:`get_service` builds it from the configuration."""
    global _service, _checked_at
    with _lock:
        _service = None
        _checked_at = 0.0
