"""The admin: the pricing and dispatch configuration, and a read-only view of the state
(orders, driver presence, drivers' offer statistics, customers' rating totals).

Areas are GeoJSON polygons, checked with shapely when saved (the error
says what is wrong and where).  Every change rebuilds the service's
configuration (:mod:`vtc_dispatch_django.signals`); a change that makes the
whole configuration invalid is refused with the core's message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from vtc_dispatch.codec import order_from_data
from vtc_dispatch.errors import DispatchError
from vtc_dispatch.order import Order
from vtc_dispatch_django import models as m
from vtc_dispatch_django.admin_actions import mark_paid

__all__ = ["CheckedForm"]


class _Rollback(Exception):
    pass


class CheckedForm(forms.ModelForm):
    """Refuses a change that would make the whole configuration fail to load.

    The change is tried in a transaction that is rolled back, and the
    core's message (field path and bad value) becomes the form's error.
    """

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        from vtc_dispatch_django.config import load_from_db

        instance = self.instance
        adding, pk = instance._state.adding, instance.pk
        try:
            with transaction.atomic():
                instance.save()
                if m.City.objects.exists() and m.Tariff.objects.exists():
                    load_from_db()
                raise _Rollback
        except _Rollback:
            pass
        except DispatchError as exc:
            self.add_error(None, f"the configuration would be invalid: {exc}")
        finally:
            instance._state.adding, instance.pk = adding, pk


class _Checked(admin.ModelAdmin):
    form = CheckedForm


@admin.register(m.Country)
class CountryAdmin(_Checked):
    list_display = ("code", "name", "currency", "timezone")


@admin.register(m.City)
class CityAdmin(_Checked):
    list_display = ("code", "name", "country", "average_speed_kmh")


@admin.register(m.VehicleType)
class VehicleTypeAdmin(_Checked):
    list_display = ("code", "label", "seats")


@admin.register(m.Tariff)
class TariffAdmin(_Checked):
    list_display = ("city", "vehicle_type", "base_fare", "per_km", "minimum_fare")


@admin.register(m.Zone)
class ZoneAdmin(_Checked):
    list_display = ("code", "label", "surcharge_multiplier", "surcharge_fixed", "applies_to")


@admin.register(m.FixedPriceRoute)
class FixedPriceRouteAdmin(_Checked):
    list_display = ("code", "label", "from_zone", "to_zone", "both_ways")


@admin.register(m.PaymentMethod)
class PaymentMethodAdmin(_Checked):
    list_display = ("country", "code", "enabled")
    list_filter = ("country", "enabled")


@admin.register(m.DispatchSettings)
class DispatchSettingsAdmin(_Checked):
    list_display = ("__str__", "max_waiting_time_s", "search_radius_km", "rating_threshold")


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OfferInline(_ReadOnlyInline):
    model = m.OfferRecord


class RatingInline(_ReadOnlyInline):
    model = m.RatingRecord


@admin.register(m.OrderRecord)
class OrderAdmin(admin.ModelAdmin):
    actions = (mark_paid,)
    list_display = ("order_id", "state", "customer_id", "driver_id", "estimate", "final_amount")
    list_filter = ("state", "vehicle_type", "payment_method")
    search_fields = ("order_id", "customer_id", "driver_id")
    exclude = ("data",)
    readonly_fields = ("quote", "price_history", "final_fare", "lifecycle")
    inlines = (OfferInline, RatingInline)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders change through the service only

    @admin.display(description="quote")
    def quote(self, obj: m.OrderRecord) -> str:
        quote = _stored(obj).quote
        lines = ", ".join(f"{x.label} {x.amount}" for x in quote.breakdown)
        return f"{quote.display} (estimate {quote.estimate} {quote.currency}: {lines})"

    @admin.display(description="price history")
    def price_history(self, obj: m.OrderRecord) -> str:
        return "; ".join(
            f"{c.at.isoformat()}: {c.from_amount or '-'} -> {c.to_amount} ({c.reason})"
            for c in _stored(obj).price_history
        )

    @admin.display(description="final fare")
    def final_fare(self, obj: m.OrderRecord) -> str:
        fare = _stored(obj).final_fare
        if fare is None:
            return "-"
        lines = ", ".join(f"{x.label} {x.amount}" for x in fare.breakdown)
        return f"{fare.amount} {fare.currency} ({fare.reason}: {lines})"

    @admin.display(description="states")
    def lifecycle(self, obj: m.OrderRecord) -> str:
        return " -> ".join(
            f"{h.target} ({h.actor}, {h.at.isoformat()})" for h in _stored(obj).lifecycle.history
        )


def _stored(obj: m.OrderRecord) -> Order:
    """The order a row holds (read with the core's codec, as the repository does)."""
    return order_from_data(obj.data, version=obj.version)


@admin.register(m.DriverPresence)
class DriverPresenceAdmin(admin.ModelAdmin):
    # presence and seen_at: an operator sees whose position is stale (a silent phone).
    list_display = (
        "driver_id", "vehicle_type", "online", "available", "presence", "seen_at", "order_id",
        "blocked", "offline_reason",
    )  # fmt: skip
    list_filter = ("online", "available", "presence", "vehicle_type")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(m.StatsRecord)
class StatsAdmin(admin.ModelAdmin):
    list_display = (
        "driver_id", "offered", "accepted", "refused", "expired", "cancelled_after_accept"
    )  # fmt: skip
    search_fields = ("driver_id",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # counted by the service only


@admin.register(m.RatingTotal)
class RatingTotalAdmin(admin.ModelAdmin):
    list_display = ("party_id", "stars", "ratings")
    search_fields = ("party_id",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(m.DriverProfile)
admin.site.register(m.WalletAccount)
