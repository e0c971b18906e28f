"""A change of the configuration tables rebuilds the service (here at once, elsewhere soon),
and is recorded (:mod:`vtc_dispatch_django.audit`)."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.signals import post_delete, post_save

__all__ = ["connect"]


def _changed(sender: type, **kwargs: Any) -> None:
    from vtc_dispatch_django.models import DispatchSettings
    from vtc_dispatch_django.runtime import reset_service

    DispatchSettings.objects.get_or_create(pk=1)
    DispatchSettings.objects.filter(pk=1).update(revision=F("revision") + 1)
    reset_service()


def connect() -> None:
    """Listen to saves and deletes of every configuration model."""
    from vtc_dispatch_django import audit, models

    config_models = (
        models.Country,
        models.City,
        models.VehicleType,
        models.Tariff,
        models.Zone,
        models.FixedPriceRoute,
        models.PaymentMethod,
        models.DispatchSettings,
    )
    audit.connect(config_models)
    for model in config_models:
        post_save.connect(_changed, sender=model, dispatch_uid=f"vtc-config-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"vtc-config-del-{model.__name__}")
