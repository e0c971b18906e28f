"""The admin's forms: one field per setting an operator edits, a map for areas.

What the tables keep as JSON (a tariff's optional rules, a fixed route's
fares, the pool and pricing sections of the general settings) is edited
here field by field and written back as the configuration file's form;
every change is then checked as a whole by :class:`CheckedForm` (the
core's message, naming the field and the bad value, becomes the form's
error).  Areas are drawn on a map (:class:`~vtc_dispatch_django.widgets.AreaMapWidget`),
and a zone must lie in or near a city (:func:`~vtc_dispatch_django.geojson.check_near_city`).
"""

from __future__ import annotations

import types
import typing
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.db import transaction
from django.forms.utils import pretty_name
from django.utils.text import capfirst
from pydantic import BaseModel

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.pool.config import PoolSettings
from vtc_dispatch.pricing.config import (
    CancellationPolicy,
    FinalFarePolicy,
    GeoJSONArea,
    SurgePolicy,
)
from vtc_dispatch_django import models as m
from vtc_dispatch_django.geojson import check_near_city, validate_area
from vtc_dispatch_django.widgets import AreaMapWidget

__all__ = [
    "POOL_COLUMNS",
    "CheckedForm",
    "CityForm",
    "GeneralSettingsForm",
    "TariffForm",
    "ZoneForm",
    "fixed_route_form",
]


class _Rollback(Exception):
    pass


class CheckedForm(forms.ModelForm):
    """Refuses a change that would make the whole configuration fail to load.

    The change is tried in a transaction that is rolled back, and the
    core's message (field path and bad value) becomes the form's error.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.label = capfirst(field.label or pretty_name(name))
            # Amounts as an operator types them: 500, not 500.0000.
            if isinstance(self.initial.get(name), Decimal):
                self.initial[name] = _text(self.initial[name])

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


def _text(value: Decimal) -> str:
    """An amount as the configuration file writes it (``300.0000`` -> ``"300"``)."""
    return format(value.normalize(), "f")


def _areas(rows: Any) -> dict[str, GeoJSONArea]:
    """The checked areas of ``rows`` (a queryset of cities or zones), by primary key."""
    areas: dict[str, GeoJSONArea] = {}
    for row in rows:
        try:
            areas[row.pk] = validate_area(row.area)
        except ValueError:
            continue  # a stored area the core refuses is reported by CheckedForm
    return areas


# -- areas -------------------------------------------------------------------------


class CityForm(CheckedForm):
    """A city, its area drawn on the map over the other cities."""

    class Meta:
        model = m.City
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        skip = self.instance.pk if not self.instance._state.adding else None

        def reference() -> list[dict[str, Any]]:
            return [
                {"label": f"city {c.name}", "area": c.area} for c in m.City.objects.exclude(pk=skip)
            ]

        self.fields["area"].widget = AreaMapWidget(context=reference)
        self.fields["area"].help_text = (
            "Draw the city's limits on the map (polygon or rectangle tool), or edit its"
            " points; the GeoJSON text below follows the drawing."
        )


class ZoneForm(CheckedForm):
    """A zone (targeted surcharge or a fixed route's end), drawn on the map over the
    cities and the other zones; it must lie in or near a city."""

    class Meta:
        model = m.Zone
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        skip = self.instance.pk if not self.instance._state.adding else None

        def reference() -> list[dict[str, Any]]:
            cities = [{"label": f"city {c.name}", "area": c.area} for c in m.City.objects.all()]
            zones = [
                {"label": f"zone {z.label}", "area": z.area}
                for z in m.Zone.objects.exclude(pk=skip)
            ]
            return cities + zones

        self.fields["area"].widget = AreaMapWidget(context=reference)
        self.fields["area"].help_text = (
            "Draw the zone on the map (polygon or rectangle tool) inside its city (dashed"
            " outline), or edit its points; the GeoJSON text below follows the drawing."
        )

    def clean_area(self) -> Any:
        value = self.cleaned_data["area"]
        try:
            area = validate_area(value)
            check_near_city(area, _areas(m.City.objects.all()))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return value


# -- tariffs -----------------------------------------------------------------------

SECTION_ROWS = 4
SUPPLEMENT_ROWS = 4


def _amount(label: str, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=False, min_value=0, max_digits=18, decimal_places=4,
        help_text=help_text,
    )  # fmt: skip


def _tariff_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {
        "included_km": _amount("included km", "kilometres the base fare covers"),
        "maximum_fare": _amount("maximum fare", "empty: no maximum"),
        "night_start": forms.TimeField(label="night from", required=False, help_text="e.g. 22:00"),
        "night_end": forms.TimeField(label="night until", required=False, help_text="e.g. 06:00"),
        "night_multiplier": _amount("night multiplier", "e.g. 1.2; or a fixed add-on"),
        "night_fixed": _amount("night fixed add-on"),
        "waiting_free_minutes": _amount("free waiting minutes"),
        "waiting_per_minute": _amount("waiting per minute", "empty: waiting is free"),
    }
    for i in range(1, SECTION_ROWS + 1):
        fields[f"section_{i}_from_km"] = _amount(f"section {i} from km")
        fields[f"section_{i}_to_km"] = _amount("to km", "empty: to the end of the trip")
        fields[f"section_{i}_per_km"] = _amount("per km")
    for i in range(1, SUPPLEMENT_ROWS + 1):
        fields[f"supplement_{i}_code"] = forms.SlugField(
            label=f"supplement {i} code", required=False, help_text="e.g. luggage"
        )
        fields[f"supplement_{i}_label"] = forms.CharField(label="label", required=False)
        fields[f"supplement_{i}_amount"] = _amount("amount")
    return fields


def _tariff_initial(rules: dict[str, Any]) -> dict[str, Any]:
    initial: dict[str, Any] = {k: rules.get(k) for k in ("included_km", "maximum_fare")}
    night = rules.get("night") or {}
    waiting = rules.get("waiting") or {}
    initial |= {f"night_{k}": night.get(k) for k in ("start", "end", "multiplier", "fixed")}
    initial |= {f"waiting_{k}": waiting.get(k) for k in ("free_minutes", "per_minute")}
    for i, section in enumerate(rules.get("sections") or (), start=1):
        initial |= {f"section_{i}_{k}": section.get(k) for k in ("from_km", "to_km", "per_km")}
    for i, (code, supplement) in enumerate((rules.get("supplements") or {}).items(), start=1):
        initial |= {
            f"supplement_{i}_code": code,
            f"supplement_{i}_label": supplement.get("label"),
            f"supplement_{i}_amount": supplement.get("amount"),
        }
    return initial


class _TariffForm(CheckedForm):
    class Meta:
        model = m.Tariff
        exclude = ("rules",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = dict(self.instance.rules or {})
        self._too_many = [
            f"{len(rules.get(key) or ())} {key} (the form edits {rows})"
            for key, rows in (("sections", SECTION_ROWS), ("supplements", SUPPLEMENT_ROWS))
            if len(rules.get(key) or ()) > rows
        ]
        for name, value in _tariff_initial(rules).items():
            if value is not None and name in self.fields:
                self.initial.setdefault(name, value)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()
        if self._too_many:
            raise forms.ValidationError(
                f"this tariff has {', '.join(self._too_many)}: change it from a configuration"
                " file (vtc_dispatch_django.config.import_config)"
            )
        self.instance.rules = self._rules(data)
        return data

    def _rules(self, data: dict[str, Any]) -> dict[str, Any]:
        rules: dict[str, Any] = {}
        for key in ("included_km", "maximum_fare"):
            if data.get(key) is not None:
                rules[key] = _text(data[key])
        night: dict[str, Any] = {
            k: data[f"night_{k}"]
            for k in ("start", "end", "multiplier", "fixed")
            if data.get(f"night_{k}") is not None
        }
        if night:
            rules["night"] = {
                k: v.strftime("%H:%M") if k in ("start", "end") else _text(v)
                for k, v in night.items()
            }
        if data.get("waiting_per_minute") is not None:
            rules["waiting"] = {
                "free_minutes": _text(data.get("waiting_free_minutes") or Decimal(0)),
                "per_minute": _text(data["waiting_per_minute"]),
            }
        sections = []
        for i in range(1, SECTION_ROWS + 1):
            row = {k: data.get(f"section_{i}_{k}") for k in ("from_km", "to_km", "per_km")}
            if row["per_km"] is None and row["from_km"] is None:
                continue
            if row["per_km"] is None or row["from_km"] is None:
                self.add_error(f"section_{i}_per_km", "a section needs its start and its rate")
                continue
            sections.append({k: _text(v) for k, v in row.items() if v is not None})
        if sections:
            rules["sections"] = sections
        supplements = {}
        for i in range(1, SUPPLEMENT_ROWS + 1):
            code = data.get(f"supplement_{i}_code")
            label, amount = data.get(f"supplement_{i}_label"), data.get(f"supplement_{i}_amount")
            if not code and not label and amount is None:
                continue
            if not code or not label or amount is None:
                self.add_error(
                    f"supplement_{i}_code", "a supplement needs a code, a label and an amount"
                )
                continue
            supplements[code] = {"label": label, "amount": _text(amount)}
        if supplements:
            rules["supplements"] = supplements
        return rules


TariffForm: type[CheckedForm] = type(
    "TariffForm",
    (_TariffForm,),
    {
        "__module__": __name__,
        "__doc__": "A tariff, every rule a field of its own (no JSON): distance sections,"
        " night, waiting and supplements included.",
        **_tariff_fields(),
    },
)


# -- fixed routes ------------------------------------------------------------------


class _FixedRouteForm(CheckedForm):
    class Meta:
        model = m.FixedPriceRoute
        exclude = ("fares",)

    VEHICLE_TYPES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, amount in (self.instance.fares or {}).items():
            if f"fare_{code}" in self.fields:
                self.initial.setdefault(f"fare_{code}", amount)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()
        fares = {
            code: _text(data[f"fare_{code}"])
            for code in self.VEHICLE_TYPES
            if data.get(f"fare_{code}") is not None
        }
        if not fares:
            raise forms.ValidationError("give the route's fare for at least one vehicle type")
        self.instance.fares = fares
        return data


def fixed_route_form() -> type[CheckedForm]:
    """A fixed route's form with one fare field per vehicle type configured now."""
    vehicle_types = list(m.VehicleType.objects.order_by("code"))
    fields: dict[str, Any] = {
        f"fare_{v.code}": _amount(f"fare {v.label}", f"empty: no fixed price for {v.label}")
        for v in vehicle_types
    }
    return type(
        "FixedRouteForm",
        (_FixedRouteForm,),
        {**fields, "__module__": __name__, "VEHICLE_TYPES": tuple(v.code for v in vehicle_types)},
    )


# -- general settings --------------------------------------------------------------

POOL_COLUMNS = ("max_waiting_time_s", "radius_max_km")
"""Pool settings kept in columns of their own: MAX_WAITING_TIME has one place only."""


def _field_for(name: str, annotation: Any, default: Any) -> forms.Field:
    """A form field for one setting of a pydantic section (empty: the default)."""
    label = name.replace("_", " ")
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional, annotation = True, args[0]
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    help_text = "empty: no limit" if optional else f"default {default}"
    if typing.get_origin(annotation) is typing.Literal:
        choices = [(c, c) for c in typing.get_args(annotation)]
        return forms.ChoiceField(label=label, choices=choices, help_text=help_text)
    if annotation is int:
        return forms.IntegerField(label=label, required=not optional, help_text=help_text)
    if annotation is Decimal:
        return forms.DecimalField(label=label, required=True, help_text=help_text)
    if annotation is float:
        return forms.FloatField(label=label, required=True, help_text=help_text)
    # A new kind of setting needs its field here (this runs at import: tests see it).
    raise TypeError(f"no form field for the setting {name!r} of type {annotation!r}")


def _section_fields(
    prefix: str, model: type[BaseModel], skip: tuple[str, ...] = (), *, labelled: bool = False
) -> dict[str, forms.Field]:
    hints = typing.get_type_hints(model, include_extras=True)
    return {
        f"{prefix}{name}": _field_for(
            f"{prefix}{name}" if labelled else name, hints[name], info.default
        )
        for name, info in model.model_fields.items()
        if name not in skip
    }


POOL_FIELDS = _section_fields("pool_", PoolSettings, POOL_COLUMNS)
PRICING_SECTIONS: dict[str, type[BaseModel]] = {
    "surge": SurgePolicy,
    "final_fare": FinalFarePolicy,
    "cancellation": CancellationPolicy,
}
PRICING_FIELDS: dict[str, forms.Field] = {
    name: field
    for section, model in PRICING_SECTIONS.items()
    for name, field in _section_fields(f"{section}_", model, labelled=True).items()
}
PRICING_FIELDS["about_threshold"] = forms.DecimalField(
    label="about threshold",
    help_text="a quote whose range is narrower than this share of it reads 'about X'"
    " (default 0.10)",
)


def _plain(value: Any) -> Any:
    return _text(value) if isinstance(value, Decimal) else value


class _GeneralSettingsForm(CheckedForm):
    class Meta:
        model = m.DispatchSettings
        exclude = ("pool", "pricing_extra")
        labels: ClassVar[dict[str, str]] = {"max_waiting_time_s": "MAX_WAITING_TIME (s)"}

    pool_overrides = forms.JSONField(
        required=False,
        help_text='Per city and vehicle type, e.g. [{"city": "douala", "vehicle_type":'
        ' "confort", "settings": {"max_waiting_time_s": 40}}]',
    )
    promotions = forms.JSONField(
        required=False, help_text="As in the pricing file: {code: {label, kind, value, ...}}"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pool = dict(self.instance.pool or {})
        extra = dict(self.instance.pricing_extra or {})
        default = PoolSettings.model_validate(
            {k: v for k, v in (pool.get("default") or {}).items() if k not in POOL_COLUMNS}
        )
        for name in POOL_FIELDS:
            self.initial.setdefault(name, getattr(default, name.removeprefix("pool_")))
        for section, model in PRICING_SECTIONS.items():
            values = model.model_validate(extra.get(section) or {})
            for name in model.model_fields:
                self.initial.setdefault(f"{section}_{name}", getattr(values, name))
        self.initial.setdefault("about_threshold", extra.get("about_threshold", "0.10"))
        self.initial.setdefault("pool_overrides", list(pool.get("overrides") or []))
        self.initial.setdefault("promotions", extra.get("promotions") or {})

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()
        if any(name in self.errors for name in (*POOL_FIELDS, *PRICING_FIELDS)):
            return data
        defaults = PoolSettings()
        pool: dict[str, Any] = {
            "default": {
                name.removeprefix("pool_"): _plain(data[name])
                for name in POOL_FIELDS
                if data.get(name) != getattr(defaults, name.removeprefix("pool_"))
            }
        }
        if data.get("pool_overrides"):
            pool["overrides"] = data["pool_overrides"]
        extra: dict[str, Any] = {}
        for section, model in PRICING_SECTIONS.items():
            base = model()
            values = {
                name: _plain(data[f"{section}_{name}"])
                for name in model.model_fields
                if data.get(f"{section}_{name}") != getattr(base, name)
            }
            if values:
                extra[section] = values
        if data.get("about_threshold") is not None:
            extra["about_threshold"] = _plain(data["about_threshold"])
        if data.get("promotions"):
            extra["promotions"] = data["promotions"]
        self.instance.pool = pool
        self.instance.pricing_extra = extra
        return data


GeneralSettingsForm: type[CheckedForm] = type(
    "GeneralSettingsForm",
    (_GeneralSettingsForm,),
    {
        "__module__": __name__,
        "__doc__": "The general settings: MAX_WAITING_TIME and the widest radius in columns"
        " (their one place), every other pool and pricing setting a field; only the pool's"
        " per-city overrides and the promotions stay JSON (rarely edited, free in shape).",
        **POOL_FIELDS,
        **PRICING_FIELDS,
    },
)
