"""The Django app configuration: label ``vtc_dispatch``."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["VtcDispatchConfig"]


class VtcDispatchConfig(AppConfig):
    """Connects the signals that refresh the service when the configuration changes, and
    registers the app's checks of the host's settings."""

    name = "vtc_dispatch_django"
    label = "vtc_dispatch"
    verbose_name = "Dispatch"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from vtc_dispatch_django import signals
        from vtc_dispatch_django.checks import check_channel_layers

        signals.connect()
        checks.register(check_channel_layers, checks.Tags.compatibility)
