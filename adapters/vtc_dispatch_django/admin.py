"""The admin: the pricing and dispatch configuration, the operators' actions, a
read-only view of the state (orders, driver presence, drivers' offer statistics,
customers' rating totals) and the audit (orders' state changes, configuration
changes: read-only, no "Add").

Areas are drawn on a map (Leaflet, vendored in the static files) and
checked with shapely when saved; a zone must lie in or near a city.  A
tariff's rules, a fixed route's fares and the pool and pricing settings
have one field each (:mod:`vtc_dispatch_django.admin_forms`).  Every change
rebuilds the service's configuration (:mod:`vtc_dispatch_django.signals`);
a change that makes the whole configuration invalid is refused with the
core's message.

The drivers' presence list links to the live map
(:mod:`vtc_dispatch_django.admin_map`): online drivers by state and the
active orders, updated as they move.

Reports (per day, city and vehicle type, with charts and a CSV) have their
own page under Dispatch (:mod:`vtc_dispatch_django.reports`).

Operators act through the service, as the apps do (one command, one
commit): cancel stuck orders with a reason, mark orders paid, put drivers
offline, suspend them or lift a suspension
(:mod:`vtc_dispatch_django.admin_actions`).  The driver actions are on the
driver presence rows and on the driver profiles, so that they also reach
drivers whose presence is stored in Redis.
The state's tables are read-only: no "Add", no change, no delete.
Amounts are shown with their currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from vtc_dispatch.codec import order_from_data
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.pricing.quote import format_amount
from vtc_dispatch_django import models as m
from vtc_dispatch_django.admin_actions import act, lift_suspension, mark_paid, put_offline, suspend
from vtc_dispatch_django.admin_forms import (
    CheckedForm,
    CityForm,
    GeneralSettingsForm,
    TariffForm,
    ZoneForm,
    fixed_route_form,
)
from vtc_dispatch_django.audit import changed_by
from vtc_dispatch_django.reports import report_context, report_csv

__all__ = ["CheckedForm"]


def _rate(value: Decimal | None, currency: str) -> str:
    """A tariff amount with its currency, exact (a rate may have decimals the currency has not)."""
    if value is None:
        return "-"
    return f"{format(value.normalize(), 'f')} {currency}"


class _Checked(admin.ModelAdmin):
    """A configuration table: each save and delete recorded as the admin user's
    (:mod:`vtc_dispatch_django.audit`)."""

    form = CheckedForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with changed_by(request.user):
            super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with changed_by(request.user):
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with changed_by(request.user):
            super().delete_queryset(request, queryset)


@admin.register(m.Country)
class CountryAdmin(_Checked):
    list_display = ("code", "name", "currency", "timezone")


@admin.register(m.City)
class CityAdmin(_Checked):
    form = CityForm
    list_display = ("code", "name", "country", "average_speed_kmh")


@admin.register(m.VehicleType)
class VehicleTypeAdmin(_Checked):
    list_display = ("code", "label", "seats", "kind")
    list_filter = ("kind",)


def _tariff_fieldsets() -> list[tuple[str | None, dict[str, Any]]]:
    from vtc_dispatch_django.admin_forms import SECTION_ROWS, SUPPLEMENT_ROWS

    return [
        (None, {"fields": ("city", "vehicle_type")}),
        (
            "Fare",
            {
                "fields": (
                    ("base_fare", "included_km"),
                    ("per_km", "per_minute"),
                    ("minimum_fare", "maximum_fare"),
                    "booking_fee",
                )
            },
        ),
        (
            "Distance sections (instead of one per-km rate; the first from 0 km, the last"
            " open-ended)",
            {
                "fields": tuple(
                    (f"section_{i}_from_km", f"section_{i}_to_km", f"section_{i}_per_km")
                    for i in range(1, SECTION_ROWS + 1)
                )
            },
        ),
        (
            "Night (a multiplier or a fixed add-on)",
            {"fields": (("night_start", "night_end"), ("night_multiplier", "night_fixed"))},
        ),
        ("Waiting at pickup", {"fields": (("waiting_free_minutes", "waiting_per_minute"),)}),
        (
            "Supplements",
            {
                "fields": tuple(
                    (f"supplement_{i}_code", f"supplement_{i}_label", f"supplement_{i}_amount")
                    for i in range(1, SUPPLEMENT_ROWS + 1)
                )
            },
        ),
        ("Fees", {"fields": (("cancellation_fee", "no_show_fee"),)}),
    ]


@admin.register(m.Tariff)
class TariffAdmin(_Checked):
    form = TariffForm
    list_display = ("city", "vehicle_type", "base", "per_kilometre", "minimum")
    list_select_related = ("city__country",)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return _tariff_fieldsets()

    @admin.display(description="base fare")
    def base(self, obj: m.Tariff) -> str:
        return _rate(obj.base_fare, obj.city.country.currency)

    @admin.display(description="per km")
    def per_kilometre(self, obj: m.Tariff) -> str:
        if obj.per_km is None:
            return "by sections"
        return _rate(obj.per_km, obj.city.country.currency)

    @admin.display(description="minimum fare")
    def minimum(self, obj: m.Tariff) -> str:
        return _rate(obj.minimum_fare, obj.city.country.currency)


@admin.register(m.Zone)
class ZoneAdmin(_Checked):
    form = ZoneForm
    list_display = ("code", "label", "surcharge_multiplier", "surcharge_fixed", "applies_to")


@admin.register(m.FixedPriceRoute)
class FixedPriceRouteAdmin(_Checked):
    list_display = ("code", "label", "from_zone", "to_zone", "both_ways", "prices")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        # One fare field per vehicle type configured when the page is shown.
        kwargs["form"] = fixed_route_form()
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fares = tuple(
            f"fare_{code}"
            for code in m.VehicleType.objects.order_by("code").values_list("code", flat=True)
        )
        return [
            (None, {"fields": ("code", "label", ("from_zone", "to_zone"), "both_ways")}),
            ("Fares (per vehicle type)", {"fields": fares}),
        ]

    @admin.display(description="fares")
    def prices(self, obj: m.FixedPriceRoute) -> str:
        return ", ".join(f"{code} {amount}" for code, amount in sorted((obj.fares or {}).items()))


@admin.register(m.PaymentMethod)
class PaymentMethodAdmin(_Checked):
    list_display = ("country", "code", "enabled")
    list_filter = ("country", "enabled")


@admin.register(m.DispatchSettings)
class DispatchSettingsAdmin(_Checked):
    form = GeneralSettingsForm
    list_display = ("__str__", "max_waiting_time_s", "search_radius_km", "rating_threshold")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row of general settings: it is changed, never added twice.
        return super().has_add_permission(request) and not m.DispatchSettings.objects.exists()

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        from vtc_dispatch_django.admin_forms import POOL_FIELDS, PRICING_FIELDS

        return [
            (
                "Dispatch",
                {
                    "fields": (
                        "max_waiting_time_s",
                        ("search_radius_km", "radius_max_km"),
                        ("rating_threshold", "rating_min_count"),
                    )
                },
            ),
            ("Driver pool", {"fields": tuple(POOL_FIELDS)}),
            ("Pricing", {"fields": tuple(PRICING_FIELDS)}),
            (
                "Advanced (JSON)",
                {"classes": ("collapse",), "fields": ("pool_overrides", "promotions")},
            ),
        ]


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


class _ReadOnly(admin.ModelAdmin):
    """State written by the service only: operators look, and act through actions."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CancelForm(forms.Form):
    """Why the operator cancels: the reason the parties are told."""

    reason = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Told to the customer and the driver, and kept in the order's history.",
    )


@admin.register(m.OrderRecord)
class OrderAdmin(_ReadOnly):
    list_display = (
        "order_id", "kind", "state", "customer_id", "driver_id", "estimate_shown",
        "final_shown", "payment_method", "payment_status", "created_at",
    )  # fmt: skip
    list_filter = ("kind", "state", "vehicle_type", "payment_method", "payment_status")
    search_fields = ("order_id", "customer_id", "driver_id")
    exclude = ("data",)
    readonly_fields = ("quote", "price_history", "final_fare", "lifecycle")
    inlines = (OfferInline, RatingInline)
    actions = ("cancel_orders", mark_paid)

    @admin.display(description="estimate", ordering="estimate")
    def estimate_shown(self, obj: m.OrderRecord) -> str:
        return format_amount(obj.estimate, obj.currency)

    @admin.display(description="final fare", ordering="final_amount")
    def final_shown(self, obj: m.OrderRecord) -> str:
        return "-" if obj.final_amount is None else format_amount(obj.final_amount, obj.currency)

    @admin.action(description="Cancel the selected orders (with a reason)")
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        """Ask for the reason, then cancel each order through the service as the operator."""
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            from vtc_dispatch_django.runtime import get_service

            service = get_service()
            # The operator by his user id, as every party is (and as "Mark paid" does).
            operator = Actor.operator(str(request.user.pk))
            reason = form.cleaned_data["reason"]
            act(
                request,
                list(queryset.values_list("order_id", flat=True)),
                lambda order_id: service.cancel(operator, order_id, reason),
                "Cancelled",
            )
            return None
        return TemplateResponse(
            request,
            "vtc_dispatch_django/admin/cancel_orders.html",
            {
                **self.admin_site.each_context(request),
                "title": "Cancel orders",
                "orders": queryset,
                "form": form,
                "opts": self.model._meta,
                "action": "cancel_orders",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.display(description="quote")
    def quote(self, obj: m.OrderRecord) -> str:
        quote = _stored(obj).quote
        lines = ", ".join(
            f"{x.label} {format_amount(x.amount, quote.currency)}" for x in quote.breakdown
        )
        return (
            f"{quote.display} (estimate {format_amount(quote.estimate, quote.currency)}: {lines})"
        )

    @admin.display(description="price history")
    def price_history(self, obj: m.OrderRecord) -> str:
        currency = obj.currency

        def shown(amount: Decimal | None) -> str:
            return "-" if amount is None else format_amount(amount, currency)

        return "; ".join(
            f"{c.at.isoformat()}: {shown(c.from_amount)} -> {shown(c.to_amount)} ({c.reason})"
            for c in _stored(obj).price_history
        )

    @admin.display(description="final fare")
    def final_fare(self, obj: m.OrderRecord) -> str:
        fare = _stored(obj).final_fare
        if fare is None:
            return "-"
        lines = ", ".join(
            f"{x.label} {format_amount(x.amount, fare.currency)}" for x in fare.breakdown
        )
        return f"{format_amount(fare.amount, fare.currency)} ({fare.reason}: {lines})"

    @admin.display(description="states")
    def lifecycle(self, obj: m.OrderRecord) -> str:
        return " -> ".join(
            f"{h.target} ({h.actor}, {h.at.isoformat()})" for h in _stored(obj).lifecycle.history
        )


def _stored(obj: m.OrderRecord) -> Order:
    """The order a row holds (read with the core's codec, as the repository does)."""
    return order_from_data(obj.data, version=obj.version)


@admin.register(m.DriverPresence)
class DriverPresenceAdmin(_ReadOnly):
    # presence and seen_at: an operator sees whose position is stale (a silent phone).
    list_display = (
        "driver_id", "vehicle_type", "online", "available", "presence", "seen_at", "order_id",
        "blocked", "suspended", "offline_reason",
    )  # fmt: skip
    list_filter = ("online", "available", "presence", "blocked", "suspended", "vehicle_type")
    search_fields = ("driver_id",)
    actions = (put_offline, suspend, lift_suspension)
    # A "Live map" button above the list (vtc_dispatch_django.admin_map).
    change_list_template = "vtc_dispatch_django/admin/driverpresence_change_list.html"

    def get_urls(self) -> list[Any]:
        from vtc_dispatch_django.admin_map import map_urls

        return [*map_urls(self.admin_site), *super().get_urls()]


@admin.register(m.StatsRecord)
class StatsAdmin(_ReadOnly):
    list_display = (
        "driver_id", "offered", "accepted", "refused", "expired", "cancelled_after_accept"
    )  # fmt: skip
    search_fields = ("driver_id",)


@admin.register(m.RatingTotal)
class RatingTotalAdmin(_ReadOnly):
    list_display = ("party_id", "stars", "ratings")
    search_fields = ("party_id",)


@admin.register(m.DriverProfile)
class DriverProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "vehicle_type", "vehicle", "plate", "phone")
    search_fields = ("plate", "phone")
    actions = (put_offline, suspend, lift_suspension)


@admin.register(m.WalletAccount)
class WalletAccountAdmin(_ReadOnly):
    """Balances move through wallet operations (holds, captures, credits), never by hand."""

    list_display = ("customer_id", "balance_shown")
    search_fields = ("customer_id",)

    @admin.display(description="balance", ordering="balance")
    def balance_shown(self, obj: m.WalletAccount) -> str:
        return format_amount(obj.balance, obj.currency)


@admin.register(m.OrderTransition)
class OrderTransitionAdmin(_ReadOnly):
    """Every state change of every order: who (role and id), when, by which command."""

    list_display = (
        "at", "order_id", "event", "source", "target", "actor_role", "actor_id", "command_id"
    )  # fmt: skip
    list_filter = ("target", "actor_role")
    search_fields = ("order_id", "actor_id", "command_id")
    date_hierarchy = "at"
    ordering = ("-seq",)


@admin.register(m.ConfigChange)
class ConfigChangeAdmin(_ReadOnly):
    """Every change of the configuration: who, when, what (each field before and after)."""

    list_display = ("at", "by", "action", "model", "object_repr")
    list_filter = ("action", "model")
    search_fields = ("by", "object_id", "object_repr")
    date_hierarchy = "at"
    ordering = ("-seq",)
    readonly_fields = ("changes_shown",)
    exclude = ("changes",)

    @admin.display(description="changes")
    def changes_shown(self, obj: m.ConfigChange) -> str:
        return "\n".join(
            f"{name}: {before!r} -> {after!r}" for name, (before, after) in obj.changes.items()
        )


@admin.register(m.Report)
class ReportAdmin(_ReadOnly):
    """The reports page and its CSV (:mod:`vtc_dispatch_django.reports`): two views, no rows
    to list, add or change."""

    def get_urls(self) -> list[URLPattern]:
        # Only these two: the proxy's change pages would show orders by another door.
        view = self.admin_site.admin_view
        return [
            path("", view(self.changelist_view), name="vtc_dispatch_report_changelist"),
            path("csv/", view(self.csv_view), name="vtc_dispatch_report_csv"),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The page: filters, table, charts."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return TemplateResponse(
            request,
            "vtc_dispatch_django/admin/reports.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reports",
                "opts": self.model._meta,
                **report_context(request),
            },
        )

    def csv_view(self, request: HttpRequest) -> HttpResponse:
        """The page's table as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return report_csv(request)
