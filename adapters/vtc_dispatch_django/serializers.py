"""Input checks of the REST endpoints (clear 400 answers) and the JSON form of orders."""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import Order
from vtc_dispatch.pricing.quote import BreakdownLine, FareQuote
from vtc_dispatch.service import Availability

__all__ = [
    "CancelSerializer",
    "CompleteSerializer",
    "CreateOrderSerializer",
    "EstimateSerializer",
    "LocationSerializer",
    "PointSerializer",
    "RateSerializer",
    "SearchSerializer",
    "ToggleStatusSerializer",
    "availability_data",
    "order_data",
    "point",
    "quote_data",
]

_CODE = r"^[A-Za-z0-9_.:-]+$"


class PointSerializer(serializers.Serializer[Any]):
    """``{"lat": .., "lng": ..}`` in degrees."""

    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not all(math.isfinite(attrs[k]) for k in ("lat", "lng")):
            raise serializers.ValidationError(f"lat and lng must be finite numbers, got {attrs}")
        return attrs


def point(data: dict[str, float]) -> LatLng:
    """The checked point of a :class:`PointSerializer`."""
    return LatLng(data["lat"], data["lng"])


class ToggleStatusSerializer(serializers.Serializer[Any]):
    """Go online (with a position; the vehicle type defaults to the profile's) or offline."""

    online = serializers.BooleanField()
    position = PointSerializer(required=False)
    vehicle_type = serializers.RegexField(_CODE, max_length=64, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["online"] and "position" not in attrs:
            raise serializers.ValidationError({"position": "required to go online"})
        return attrs


class LocationSerializer(serializers.Serializer[Any]):
    """A driver's position, measured at ``at`` (default: now)."""

    position = PointSerializer()
    at = serializers.DateTimeField(required=False)


class SearchSerializer(serializers.Serializer[Any]):
    """Pickup and destination of a search."""

    pickup = PointSerializer()
    destination = PointSerializer()


class EstimateSerializer(SearchSerializer):
    """A price for one vehicle type."""

    vehicle_type = serializers.RegexField(_CODE, max_length=64)
    supplements = serializers.ListField(
        child=serializers.RegexField(_CODE, max_length=64), required=False, default=list
    )


class CreateOrderSerializer(EstimateSerializer):
    """An order: where, which vehicle type, how the customer pays."""

    payment_method = serializers.RegexField(r"^[A-Z][A-Z0-9_]*$", max_length=32)


class CancelSerializer(serializers.Serializer[Any]):
    """Why the order is cancelled."""

    reason = serializers.CharField(max_length=500)


class CompleteSerializer(serializers.Serializer[Any]):
    """Supplements to add at the end of the trip."""

    supplements = serializers.ListField(
        child=serializers.RegexField(_CODE, max_length=64), required=False, default=list
    )


class RateSerializer(serializers.Serializer[Any]):
    """1 to 5 stars and an optional comment."""

    stars = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True)


def _point_out(p: LatLng) -> dict[str, float]:
    return {"lat": p.lat, "lng": p.lng}


def _lines(lines: tuple[BreakdownLine, ...]) -> list[dict[str, str]]:
    return [{"code": x.code, "label": x.label, "amount": str(x.amount)} for x in lines]


def quote_data(quote: FareQuote) -> dict[str, Any]:
    """A quote as the API shows it (amounts as decimal strings)."""
    return {
        "vehicle_type": quote.vehicle_type,
        "city": quote.city,
        "currency": quote.currency,
        "estimate": str(quote.estimate),
        "minimum": str(quote.minimum),
        "maximum": str(quote.maximum),
        "display": quote.display,
        "distance_km": str(quote.distance_km),
        "duration_min": str(quote.duration_min),
        "fixed_route": quote.fixed_route,
        "rules_applied": list(quote.rules_applied),
        "breakdown": _lines(quote.breakdown),
    }


def availability_data(line: Availability) -> dict[str, Any]:
    """One line of the search screen."""
    return {
        "vehicle_type": line.vehicle_type,
        "label": line.label,
        "count": line.count,
        "nearest_km": round(line.nearest_km, 3),
        "eta_s": math.ceil(line.eta_s),
        "fare_min": str(line.quote.minimum),
        "fare_max": str(line.quote.maximum),
        "fare_estimate": str(line.quote.estimate),
        "currency": line.quote.currency,
        "display": line.quote.display,
    }


def order_data(order: Order) -> dict[str, Any]:
    """An order as the API shows it: state, parties, quote, final fare, price history."""
    fare = order.final_fare
    cancel = order.cancellation
    return {
        "id": order.id,
        "state": order.state,
        "customer_id": order.customer_id,
        "driver_id": order.driver_id,
        "vehicle_type": order.vehicle_type,
        "pickup": _point_out(order.pickup),
        "destination": _point_out(order.dropoff),
        "payment_method": order.payment_method,
        "payment_status": str(order.payment_status),
        "amount_paid": str(order.amount_paid),
        "created_at": order.created_at.isoformat(),
        "quote": quote_data(order.quote),
        "offer": None
        if not order.offers
        else {
            "driver_id": order.offers[0].driver_id,
            "expires_at": order.offers[0].expires_at.isoformat(),
        },
        "final_fare": None
        if fare is None
        else {
            "amount": str(fare.amount),
            "currency": fare.currency,
            "reason": fare.reason,
            "distance_km": str(fare.distance_km),
            "duration_min": str(fare.duration_min),
            "breakdown": _lines(fare.breakdown),
        },
        "price_history": [
            {
                "from": None if c.from_amount is None else str(c.from_amount),
                "to": str(c.to_amount),
                "reason": c.reason,
                "at": c.at.isoformat(),
            }
            for c in order.price_history
        ],
        "cancellation": None
        if cancel is None
        else {"by": cancel.by.role, "reason": cancel.reason, "fee": str(cancel.fee)},
        "ratings": [
            {"by": r.by.role, "stars": r.stars, "comment": r.comment} for r in order.ratings
        ],
        "history": [
            {"event": h.event, "state": h.target, "actor": h.actor, "at": h.at.isoformat()}
            for h in order.lifecycle.history
        ],
    }
