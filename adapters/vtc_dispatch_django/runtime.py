"""One :class:`~vtc_dispatch.service.DispatchService` per process, built from the settings.

:func:`get_service` builds it on first use from the configuration tables
(:mod:`vtc_dispatch_django.config`) and the ``VTC_DISPATCH`` setting, and
builds it again when the configuration changed: at once in the process
that saved the change (signals), within ``CONFIG_CHECK_S`` seconds in the
others (they compare the configuration's revision number).

``VTC_DISPATCH`` (a dict in the Django settings, every key optional):

``STORES``
    A dotted path to a function returning ``(orders, drivers, progress)``
    (an :class:`~vtc_dispatch.ports.OrderRepository`, a
    :class:`~vtc_dispatch.ports.DriverRegistry`, a
    :class:`~vtc_dispatch.ports.ProgressStore`); default: the ORM
    repositories of this app.  The example project points it at the Redis
    adapter when asked to (``examples/django_project/demo/stores.py``).
    Wallets stay in the database either way.
``NOTIFIER``
    ``"channels"`` (default): the Channels layer (see
    :mod:`vtc_dispatch_django.notifier`); ``"none"``: keep the messages in
    memory only.
``CONFIG_CHECK_S``
    How often another process's configuration change is looked for (2 s).
``CLOCK``
    A dotted path to a :class:`~vtc_dispatch.ports.Clock` factory (tests).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.memory import RecordingNotifier
from vtc_dispatch.ports import Clock, DriverRegistry, Notifier, OrderRepository, ProgressStore
from vtc_dispatch.service import DispatchService
from vtc_dispatch_django.config import load_from_db
from vtc_dispatch_django.models import DispatchSettings
from vtc_dispatch_django.repositories import (
    DjangoDriverRegistry,
    DjangoOrderRepository,
    DjangoProgressStore,
    DjangoWallet,
)

__all__ = ["BackendUnavailable", "dispatch_setting", "get_service", "reset_service"]

# Reentrant: building the service may save the general settings, whose signal
# resets the service from the same thread.
_lock = threading.RLock()
_service: DispatchService | None = None
_revision = -1
_checked_at = 0.0


class BackendUnavailable(DispatchError):
    """``VTC_DISPATCH`` names stores or a notifier that cannot be used."""


def dispatch_setting(name: str, default: Any = None) -> Any:
    """One key of the ``VTC_DISPATCH`` setting."""
    return getattr(settings, "VTC_DISPATCH", {}).get(name, default)


def _stores() -> tuple[OrderRepository, DriverRegistry, ProgressStore]:
    path = dispatch_setting("STORES")
    if path is None:
        return DjangoOrderRepository(), DjangoDriverRegistry(), DjangoProgressStore()
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise BackendUnavailable(
            f"VTC_DISPATCH['STORES'] = {path!r} cannot be imported: {exc}"
        ) from exc
    stores: tuple[OrderRepository, DriverRegistry, ProgressStore] = factory()
    return stores


def _notifier() -> Notifier:
    kind = dispatch_setting("NOTIFIER", "channels")
    if kind == "channels":
        from vtc_dispatch_django.notifier import ChannelsNotifier

        return ChannelsNotifier()
    if kind == "none":
        return RecordingNotifier(keep=1000)
    raise BackendUnavailable(f"VTC_DISPATCH['NOTIFIER'] must be 'channels' or 'none', got {kind!r}")


def _build() -> DispatchService:
    config = load_from_db()
    orders, drivers, progress = _stores()
    clock_path = dispatch_setting("CLOCK")
    clock: Clock | None = import_string(clock_path)() if clock_path else None
    return DispatchService(
        pricing=config.pricing,
        pool=config.pool,
        settings=config.service,
        orders=orders,
        drivers=drivers,
        progress=progress,
        wallet=DjangoWallet(),
        notifier=_notifier(),
        clock=clock,
    )


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


def reset_service() -> None:
    """Forget the service: the next :func:`get_service` builds it from the configuration."""
    global _service, _checked_at
    with _lock:
        _service = None
        _checked_at = 0.0
