"""Who changed the configuration, when and what: one ConfigChange row per save or delete.

Saves and deletes of the configuration models (countries, cities, vehicle
types, tariffs, zones, fixed-price routes, payment methods, the general
settings) are heard through Django's model signals, so that every path
is recorded: the admin, :func:`~vtc_dispatch_django.config.import_config`,
a shell.  Signals do not know the request: the admin names its user with
:func:`changed_by` around each save and delete, and other writers name
themselves the same way (``by``); a change made outside any is recorded
``by`` ``"unknown"``.

The state changes of orders are recorded by the order repository, with
the order (:class:`~vtc_dispatch_django.models.OrderTransition`).

>>> with changed_by(None, "import_config"):
...     current()
(None, 'import_config')
>>> current() is None
True
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

__all__ = ["UNKNOWN", "changed_by", "connect", "current"]

UNKNOWN = "unknown"
"""Who made a change that no writer named (:func:`changed_by`)."""
_IGNORED = frozenset({"revision"})
"""Fields the service bumps itself: not a change anybody made."""

_writer: ContextVar[tuple[Any, str] | None] = ContextVar("vtc_config_writer", default=None)


def current() -> tuple[Any, str] | None:
    """The user and name the changes are recorded under now, ``None`` outside
    :func:`changed_by`."""
    return _writer.get()


@contextmanager
def changed_by(user: Any, by: str | None = None, *, outer_first: bool = False) -> Iterator[None]:
    """Record the configuration changes made inside as ``user``'s (``by``: his username
    unless given).  With ``outer_first``, an enclosing :func:`changed_by` keeps its writer
    (an import run from the admin stays the admin user's)."""
    if outer_first and _writer.get() is not None:
        yield
        return
    name = by if by is not None else getattr(user, "get_username", lambda: UNKNOWN)()
    token = _writer.set((user, name))
    try:
        yield
    finally:
        _writer.reset(token)


def _fields(instance: models.Model) -> dict[str, Any]:
    """The instance's stored fields, as JSON values."""
    values = {
        field.attname: field.value_from_object(instance)
        for field in instance._meta.concrete_fields
        if field.attname not in _IGNORED
    }
    loaded: dict[str, Any] = json.loads(json.dumps(values, cls=DjangoJSONEncoder))
    return loaded


def _remember(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """Before a save: the row as stored (none for a new one)."""
    before = None
    if not instance._state.adding and instance.pk is not None:
        stored = sender._default_manager.filter(pk=instance.pk).first()
        before = None if stored is None else _fields(stored)
    instance._vtc_before = before


def _write(instance: models.Model, action: str, changes: dict[str, list[Any]]) -> None:
    from vtc_dispatch_django.models import ConfigChange

    user, by = current() or (None, UNKNOWN)
    ConfigChange.objects.create(
        at=timezone.now(),
        user_id=getattr(user, "pk", None),
        by=by[:200],
        model=instance._meta.model_name or type(instance).__name__,
        object_id=str(instance.pk)[:200],
        object_repr=str(instance)[:200],
        action=action,
        changes=changes,
    )


def _saved(instance: models.Model, created: bool, **kwargs: Any) -> None:
    after = _fields(instance)
    before: dict[str, Any] | None = getattr(instance, "_vtc_before", None)
    if created or before is None:
        _write(instance, "created", {name: [None, value] for name, value in after.items()})
        return
    changes = {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }
    if changes:
        _write(instance, "changed", changes)


def _deleted(instance: models.Model, **kwargs: Any) -> None:
    _write(instance, "deleted", {name: [value, None] for name, value in _fields(instance).items()})


def connect(config_models: tuple[type[models.Model], ...]) -> None:
    """Record the saves and deletes of ``config_models``."""
    for model in config_models:
        name = model.__name__
        pre_save.connect(_remember, sender=model, dispatch_uid=f"vtc-audit-before-{name}")
        post_save.connect(_saved, sender=model, dispatch_uid=f"vtc-audit-saved-{name}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"vtc-audit-deleted-{name}")
