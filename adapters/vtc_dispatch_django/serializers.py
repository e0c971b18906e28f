"""Input checks of the REST endpoints (clear 400 answers).

The answers' JSON forms are the core's (:mod:`vtc_dispatch.presentation`,
:func:`vtc_dispatch.wire.drivers_available`), shared with the websockets.
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers

from vtc_dispatch.geo.sphere import LatLng

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
    "point",
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
