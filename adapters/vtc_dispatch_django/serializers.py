"""Input checks of the REST endpoints (clear 400 answers) and the error's schema.

Bodies are JSON and their values must have the JSON type the schema gives:
REST framework's fields would read ``"4.05"`` or ``false`` as a number,
``1`` or ``"yes"`` as a boolean and ``5`` as a text, so the fields here
refuse any value of another JSON type (``false`` is no longitude).  Query
parameters are text by nature: :class:`QueryPointSerializer` reads them as numbers.

The answers' JSON forms are the core's (:mod:`vtc_dispatch.presentation`,
:func:`vtc_dispatch.wire.drivers_available`), shared with the websockets.

>>> PointSerializer(data={"lat": 4.05, "lng": False}).is_valid()
False
>>> PointSerializer(data={"lat": "4.05", "lng": 9.7}).is_valid()
False
>>> checked = PointSerializer(data={"lat": 4, "lng": 9.7})
>>> checked.is_valid(), point(checked.validated_data)
(True, LatLng(4.0, 9.7))
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, ClassVar

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerExtension
from pydantic import BaseModel
from rest_framework import serializers

from vtc_dispatch.dashboards import PERIODS
from vtc_dispatch.errors import shown
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.kinds import MerchantStatus
from vtc_dispatch.presentation import (
    BidsView,
    CustomerDashboardView,
    DriverDashboardView,
    DriversNearView,
    DriverStatusView,
    OrderView,
    PaymentMethodsView,
    PaymentReceiptView,
    PingsView,
    PositionAnswerView,
    QuoteView,
    RideTrackView,
    RouteView,
    VehicleTypesView,
)
from vtc_dispatch.settings import InputLimits
from vtc_dispatch.validation import ACCURACY_MAX_M
from vtc_dispatch.wire import DriversAvailableMessage, StateMessage

__all__ = [
    "AcceptBidSerializer",
    "BidSerializer",
    "BidsSerializer",
    "CancelSerializer",
    "CompleteSerializer",
    "CreateOrderSerializer",
    "CustomerDashboardSerializer",
    "DashboardQuerySerializer",
    "DisputeSerializer",
    "DriverDashboardSerializer",
    "DriverStateSerializer",
    "DriverStatusSerializer",
    "DriversAvailableSerializer",
    "DriversNearQuerySerializer",
    "DriversNearSerializer",
    "ErrorSerializer",
    "EstimateSerializer",
    "JsonBooleanField",
    "JsonFloatField",
    "JsonIntegerField",
    "JsonRegexField",
    "JsonTextField",
    "LocationSerializer",
    "MerchantStatusSerializer",
    "OrderSerializer",
    "PaymentMethodsSerializer",
    "PaymentReceiptSerializer",
    "PhoneSerializer",
    "PingsSerializer",
    "PointSerializer",
    "PositionAnswerSerializer",
    "ProofSerializer",
    "QueryPointSerializer",
    "QuoteSerializer",
    "RateSerializer",
    "RideTrackSerializer",
    "RouteSerializer",
    "SearchSerializer",
    "ToggleStatusSerializer",
    "VehicleTypesSerializer",
    "WireSerializer",
    "answer",
    "period_spec",
    "point",
]

_CODE = r"^[A-Za-z0-9_.:-]+$"
# The schema states the service's default limits (a host that lowers them
# gets the service's refusal, a 422, beyond).
_LIMITS = InputLimits()
TEXT_MAX = _LIMITS.text_max_chars
"""The longest free text (a cancellation reason, a rating's comment)."""
ID_MAX = _LIMITS.id_max_chars
"""The longest id (an order's, in a path)."""


class _JsonTyped:
    """Refuses a value whose JSON type is not ``json_types`` (a boolean is no number)."""

    json_types: ClassVar[tuple[type, ...]] = ()
    json_name: ClassVar[str] = ""
    default_error_messages: ClassVar[dict[str, str]] = {
        "json_type": "must be a JSON {kind}, got {value}"
    }

    def to_internal_value(self, data: Any) -> Any:
        is_bool = isinstance(data, bool)
        if is_bool != (bool in self.json_types) or not isinstance(data, self.json_types):
            self.fail("json_type", kind=self.json_name, value=shown(data))  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class JsonFloatField(_JsonTyped, serializers.FloatField):
    """A JSON number (an integer or not), finite; never a string or a boolean."""

    json_types = (int, float)
    json_name = "number"


class JsonIntegerField(_JsonTyped, serializers.IntegerField):
    """A JSON integer; never a string, a boolean or a number with a fraction.  ``5.0`` is
    the integer 5, as JSON Schema says (a client's JSON library may write it so)."""

    json_types = (int, float)
    json_name = "integer"

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, float) and not data.is_integer():
            self.fail("json_type", kind=self.json_name, value=shown(data))
        return super().to_internal_value(int(data) if isinstance(data, float) else data)


class JsonBooleanField(_JsonTyped, serializers.BooleanField):
    """``true`` or ``false``; never ``1``, ``"yes"`` or a missing form field."""

    json_types = (bool,)
    json_name = "boolean"


class JsonTextField(_JsonTyped, serializers.CharField):
    """A JSON string, as it is sent (spaces kept); never a number.  REST framework refuses NUL
    characters and lone surrogates, which a database cannot store; the schema says the first."""

    json_types = (str,)
    json_name = "string"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)
        self.validators.append(RegexValidator(r"^[^\x00]*$", "must not hold NUL characters"))


class JsonRegexField(_JsonTyped, serializers.RegexField):
    """A JSON string matching a pattern, whole (a ``$`` does not let a final newline in)."""

    json_types = (str,)
    json_name = "string"

    def __init__(self, regex: str, **kwargs: Any) -> None:
        super().__init__(regex, trim_whitespace=False, **kwargs)
        self.whole = re.compile(regex)

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not self.whole.fullmatch(value):
            self.fail("invalid")
        return value


def _code(**kwargs: Any) -> JsonRegexField:
    return JsonRegexField(_CODE, max_length=64, **kwargs)


def _supplements() -> serializers.ListField:
    return serializers.ListField(
        child=_code(), max_length=_LIMITS.supplements_max, required=False, default=list
    )


def _finite(attrs: dict[str, Any]) -> dict[str, Any]:
    if not all(math.isfinite(attrs[k]) for k in ("lat", "lng")):
        raise serializers.ValidationError(
            f"lat and lng must be finite numbers, got {shown(attrs['lat'])}, {shown(attrs['lng'])}"
        )
    return attrs


class PointSerializer(serializers.Serializer[Any]):
    """``{"lat": .., "lng": ..}`` in degrees, JSON numbers."""

    lat = JsonFloatField(min_value=-90, max_value=90)
    lng = JsonFloatField(min_value=-180, max_value=180)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _finite(attrs)


class QueryPointSerializer(serializers.Serializer[Any]):
    """``?lat=..&lng=..`` in degrees."""

    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _finite(attrs)


class _GivenAsIs:
    """A query parameter read as given: REST framework reads ``?to=`` as no ``to`` at all,
    where the schema's date (or name) refuses it."""

    field_name: str

    def get_value(self, dictionary: Any) -> Any:
        return dictionary.get(self.field_name, serializers.empty)


class _QueryDate(_GivenAsIs, serializers.DateField):
    pass


class _QueryChoice(_GivenAsIs, serializers.ChoiceField):
    pass


class DashboardQuerySerializer(serializers.Serializer[Any]):
    """``?period=today|7d|30d`` (default ``7d``), or ``?from=YYYY-MM-DD&to=YYYY-MM-DD``:
    whole days in the city's local time, both included, at most 92 of them (``to``
    defaults to today, ``from`` to ``to``; dates win over ``period``)."""

    period = _QueryChoice(
        choices=list(PERIODS),
        required=False,
        help_text="today, 7d (today and the 6 days before) or 30d; from/to win over it.",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "from" is a Python keyword: declared here rather than as a class attribute.
        fields = super().get_fields()
        fields["from"] = _QueryDate(
            required=False, help_text="The first day (local; default: `to`)."
        )
        fields["to"] = _QueryDate(
            required=False, help_text="The last day (local, included; default: today)."
        )
        return fields


def period_spec(data: dict[str, Any]) -> str | tuple[date | None, date | None]:
    """The period of a checked :class:`DashboardQuerySerializer`, as the service takes it."""
    if "from" in data or "to" in data:
        return data.get("from"), data.get("to")
    period: str = data.get("period", "7d")
    return period


def point(data: dict[str, float]) -> LatLng:
    """The checked point of a :class:`PointSerializer` or :class:`QueryPointSerializer`."""
    return LatLng(float(data["lat"]), float(data["lng"]))


class ToggleStatusSerializer(serializers.Serializer[Any]):
    """Go online at a position (the vehicle type defaults to the driver's profile's), or offline."""

    online = JsonBooleanField()
    position = PointSerializer(required=False)
    vehicle_type = _code(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["online"] and "position" not in attrs:
            raise serializers.ValidationError({"position": "required to go online"})
        return attrs


class _ToggleStatusSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """The schema says what :meth:`ToggleStatusSerializer.validate` checks."""

    target_class = ToggleStatusSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        # Each enum under allOf: drf-spectacular's enum hook would merge the two
        # into one component named after the property.
        schema["oneOf"] = [
            {"properties": {"online": {"allOf": [{"enum": [True]}]}}, "required": ["position"]},
            {"properties": {"online": {"allOf": [{"enum": [False]}]}}},
        ]
        return schema


class LocationSerializer(serializers.Serializer[Any]):
    """A driver's position, measured at ``at`` (default: now), within ``accuracy_m`` metres
    (the phone's radius of uncertainty, optional)."""

    position = PointSerializer()
    at = serializers.DateTimeField(required=False)
    accuracy_m = serializers.FloatField(
        required=False, min_value=0, max_value=ACCURACY_MAX_M, allow_null=True
    )


class SearchSerializer(serializers.Serializer[Any]):
    """Pickup and destination of a search."""

    pickup = PointSerializer()
    destination = PointSerializer()


class EstimateSerializer(SearchSerializer):
    """A price for one vehicle type."""

    vehicle_type = _code()
    supplements = _supplements()


def _id(**kwargs: Any) -> JsonTextField:
    return JsonTextField(min_length=1, max_length=ID_MAX, **kwargs)


def _amount(**kwargs: Any) -> JsonRegexField:
    # A decimal string, as the answers write amounts: a float never holds money.
    return JsonRegexField(r"^[0-9]{1,15}(\.[0-9]{1,4})?$", **kwargs)


class CreateOrderSerializer(EstimateSerializer):
    """An order: where, which vehicle type, how the customer pays.  A delivery (a vehicle
    type of kind ``delivery``) names its merchant (``merchant_id``: the merchant user's id)
    and may carry what the merchant charges for the goods (``goods_amount``, a decimal
    string in the quote's currency: carried, not priced)."""

    payment_method = JsonRegexField(r"^[A-Z][A-Z0-9_]*$", max_length=32)
    merchant_id = _id(required=False)
    goods_amount = _amount(required=False)


class CancelSerializer(serializers.Serializer[Any]):
    """Why the order is cancelled."""

    reason = JsonTextField(min_length=1, max_length=TEXT_MAX)


class DisputeSerializer(CancelSerializer):
    """What the shipper contests about the delivered load (a ``reason``, as a cancellation's)."""


class BidSerializer(serializers.Serializer[Any]):
    """A carrier's price for the job (a decimal string in the order's currency), valid for
    ``valid_for_s`` seconds (default: while the bidding lasts)."""

    amount = _amount()
    valid_for_s = JsonFloatField(required=False, min_value=1, max_value=604_800)


class AcceptBidSerializer(serializers.Serializer[Any]):
    """The carrier whose bid the shipper takes."""

    driver_id = _id()


class ProofSerializer(serializers.Serializer[Any]):
    """The proof of delivery: where and when it was taken (near the destination, after the
    pickup), the code the receiver gave, the reference of a photo or signature the app
    uploaded to the host (freight needs one)."""

    position = PointSerializer()
    at = serializers.DateTimeField()
    code = JsonTextField(required=False, min_length=1, max_length=64)
    reference = JsonTextField(required=False, min_length=1, max_length=512)


class MerchantStatusSerializer(serializers.Serializer[Any]):
    """Where the merchant's part of a delivery stands; ``ready`` sends for a rider."""

    status = serializers.ChoiceField(choices=[s.value for s in MerchantStatus])


class DriversNearQuerySerializer(QueryPointSerializer):
    """``?lat=..&lng=..&radius_km=..`` and, repeated, the ``vehicle_type`` codes to look
    for (default: every configured type)."""

    radius_km = serializers.FloatField(min_value=0.01, max_value=500, default=5.0)
    vehicle_type = serializers.ListField(child=_code(), required=False, max_length=100)


class CompleteSerializer(serializers.Serializer[Any]):
    """Supplements to add at the end of the trip."""

    supplements = _supplements()


class RateSerializer(serializers.Serializer[Any]):
    """1 to 5 stars and an optional comment."""

    stars = JsonIntegerField(min_value=1, max_value=5)
    comment = JsonTextField(max_length=TEXT_MAX, required=False, allow_blank=True)


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error answer (see :mod:`vtc_dispatch_django.errors`)."""

    error = serializers.CharField(help_text="The error's name, e.g. NotFound, ValidationError.")
    detail = serializers.CharField(help_text="What was wrong, with the value (80 characters).")
    field = serializers.CharField(
        allow_null=True, help_text="The path of the first bad field (pickup.lat), or null."
    )


# -- answers ------------------------------------------------------------------------


class WireSerializer(serializers.Serializer[Any]):
    """An answer: REST framework's output serializer of one of the core's JSON forms.

    ``form`` is the pydantic model that builds the concept's one JSON form
    (:mod:`vtc_dispatch.presentation`, :mod:`vtc_dispatch.wire`): the
    websockets send the same.  The serializer writes an instance of it (or
    anything ``form`` validates) and the OpenAPI schema is ``form``'s JSON
    schema, as the server writes it.
    """

    form: ClassVar[type[BaseModel]]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if not isinstance(instance, self.form):
            instance = self.form.model_validate(instance)
        data: dict[str, Any] = instance.model_dump(mode="json")
        return data


def answer(form: type[BaseModel], name: str | None = None) -> type[WireSerializer]:
    """The :class:`WireSerializer` of ``form`` (its OpenAPI component is ``name`` or
    the form's name)."""
    return type(f"{name or form.__name__}Serializer", (WireSerializer,), {"form": form})


def _no_doctests(schema: dict[str, Any]) -> None:
    """A form's description without its docstring's examples (they are Python, not JSON)."""
    text = schema.get("description")
    if isinstance(text, str) and ">>>" in text:
        kept = [p for p in text.split("\n\n") if not p.lstrip().startswith(">>>")]
        schema["description"] = "\n\n".join(kept).strip()


class _WireSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """The OpenAPI schema of a :class:`WireSerializer`: its form's JSON schema, the forms it
    holds as components of their own."""

    target_class = WireSerializer
    match_subclasses = True

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        name: str = self.target.form.__name__
        return name

    def get_identity(self, auto_schema: Any, direction: Any) -> Any:
        # The form's name: the one component of a form, whether an answer or a
        # form inside another's schema (registered by its name below).
        return self.get_name(auto_schema, direction)

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        from drf_spectacular.plumbing import ResolvedComponent

        schema = self.target.form.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="serialization"
        )
        defs = schema.pop("$defs", {})
        for sub in (schema, *defs.values()):
            _no_doctests(sub)
        for name, sub in defs.items():
            auto_schema.registry.register_on_missing(
                ResolvedComponent(  # type: ignore[no-untyped-call]
                    name=name, type=ResolvedComponent.SCHEMA, object=name, schema=sub
                )
            )
        return schema


OrderSerializer = answer(OrderView)
"""An order as its customer or driver sees it (:func:`vtc_dispatch.presentation.order_view`)."""
QuoteSerializer = answer(QuoteView)
"""A fare quote."""
DriversAvailableSerializer = answer(DriversAvailableMessage)
"""The search screen: the ``drivers_available`` message."""
DriverStatusSerializer = answer(DriverStatusView)
"""A driver's switch after going online or offline."""
PositionAnswerSerializer = answer(PositionAnswerView)
"""What became of a GPS fix."""
DriverStateSerializer = answer(StateMessage)
"""Where a driver stands: the ``state`` message a websocket starts with."""
RideTrackSerializer = answer(RideTrackView)
"""An order as its customer follows it."""
PaymentMethodsSerializer = answer(PaymentMethodsView)
"""The payment methods enabled at a place, with their labels."""
VehicleTypesSerializer = answer(VehicleTypesView)
"""The vehicle types with available drivers near a place."""


PaymentReceiptSerializer = answer(PaymentReceiptView)
"""The answer to a provider's callback."""
DriverDashboardSerializer = answer(DriverDashboardView)
"""A driver's figures over a period."""
CustomerDashboardSerializer = answer(CustomerDashboardView)
"""A customer's figures over a period."""
BidsSerializer = answer(BidsView)
"""The bids on an order in the running."""
DriversNearSerializer = answer(DriversNearView)
"""The available drivers within a radius."""
PingsSerializer = answer(PingsView)
"""Every GPS position of an order's driver."""
RouteSerializer = answer(RouteView)
"""An order's planned and actual routes, GeoJSON."""


class PhoneSerializer(serializers.Serializer[Any]):
    """The customer's mobile-money number, international format (``+237690000001``)."""

    phone = JsonRegexField(r"^\+[1-9][0-9]{6,14}$")
