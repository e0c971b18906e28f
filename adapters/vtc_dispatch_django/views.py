"""REST endpoints of a ride (seed 000's list, under ``/api/v1/order/``): thin calls to the service.

Drivers are users with a driver profile, customers any other
authenticated user (:mod:`vtc_dispatch_django.auth`); every order endpoint
checks that the caller takes part in the order (the service's owner
rule).  Every error, the core's or REST framework's, answers in one JSON
shape, ``{"error": .., "detail": .., "field": ..}``
(:mod:`vtc_dispatch_django.errors`), whatever the host's
``REST_FRAMEWORK`` settings: the views bring their own exception handler,
JSON parser and renderer, and throttles
(:mod:`vtc_dispatch_django.throttling`).  Bodies are JSON only (anything
else is a 415): a form would read a missing ``online`` as ``false``.

Every endpoint that changes something takes an ``Idempotency-Key`` header
(1 to 100 visible ASCII characters): the command runs with it as
``command_id``, scoped to the caller, so a request sent again after a lost
answer is done once and answered as the first time; the same key with
another request is refused (422, naming the key).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from vtc_dispatch.errors import shown
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.presentation import QuoteView, driver_view, order_json
from vtc_dispatch.service import DispatchService
from vtc_dispatch.wire import WirePoint, drivers_available
from vtc_dispatch_django import serializers as s
from vtc_dispatch_django.auth import actor_for, is_driver
from vtc_dispatch_django.errors import exception_handler
from vtc_dispatch_django.models import DriverProfile
from vtc_dispatch_django.runtime import get_service
from vtc_dispatch_django.states import driver_state
from vtc_dispatch_django.throttling import ScopedThrottle

__all__ = [
    "IDEMPOTENCY_KEY",
    "IsCustomer",
    "IsDriver",
    "command_id_of",
]

IDEMPOTENCY_KEY = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,100}")


def command_id_of(request: Request) -> str | None:
    """The ``command_id`` of a request: its ``Idempotency-Key`` scoped to the caller.

    A key that is not 1 to 100 visible ASCII characters is a 400 naming it.
    """
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise ValidationError(
            {IDEMPOTENCY_KEY: f"must be 1 to 100 visible ASCII characters, got {shown(key)}"}
        )
    return f"rest:{request.user.pk}:{key}"


class IsDriver(permissions.BasePermission):
    """Authenticated users with a driver profile."""

    message = "only drivers may do this"

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_driver(request.user)


class IsCustomer(permissions.BasePermission):
    """Authenticated users without a driver profile."""

    message = "only customers may do this"

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.is_authenticated) and not is_driver(request.user)


def _valid(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _query_point(request: Request) -> LatLng:
    return s.point(_valid(s.QueryPointSerializer, request.query_params))


_ERRORS = {
    400: "The request does not have the form the schema gives (`field` names what).",
    401: "No credentials, or bad ones.",
    403: "Not the caller's to do: the wrong role, or not a party of the order.",
    404: "No such order (or driver).",
    409: "The order or the driver is not in a state that allows this.",
    415: "The body is not JSON.",
    422: "Well formed, but refused: unknown vehicle type or supplement, a place outside"
    " every priced city, an Idempotency-Key used for another request.",
    429: "Too many requests: see the Retry-After header.",
    "default": "Any other error (402 payment refused, 405, 410 offer expired, 503), same shape.",
}
_ERROR_ANSWERS = {
    code: OpenApiResponse(s.ErrorSerializer, description=text) for code, text in _ERRORS.items()
}
_ORDER_ID = OpenApiParameter(
    "order_id", {"type": "string", "minLength": 1, "maxLength": s.ID_MAX}, OpenApiParameter.PATH
)
_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_KEY,
    {"type": "string", "pattern": "^[!-~]{1,100}$"},
    OpenApiParameter.HEADER,
    description="Sent again with the same request after a lost answer: done once.",
)


def _api(
    *,
    request: Any = None,
    created: bool = False,
    parameters: list[Any] | tuple[Any, ...] = (),
    order: bool = False,
    command: bool = False,
) -> Callable[[Any], Any]:
    """The OpenAPI description of an endpoint: its answer, the error answers, its parameters
    (the order id in the path when ``order``; the ``Idempotency-Key`` of a ``command``)."""
    params = [*parameters]
    if order:
        params.append(_ORDER_ID)
    if command:
        params.append(_KEY_PARAMETER)
    return extend_schema(
        request=request,
        responses={201 if created else 200: OpenApiTypes.OBJECT, **_ERROR_ANSWERS},
        parameters=params,
    )


class _View(APIView):
    role = "customer"
    # The host's REST_FRAMEWORK settings may lack any of these: the app's
    # answers and limits must not depend on them.
    parser_classes = (JSONParser,)
    renderer_classes = (JSONRenderer,)
    throttle_classes = (ScopedThrottle,)
    throttle_scope: str | None = None

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return exception_handler

    @property
    def service(self) -> DispatchService:
        return get_service()

    def actor(self) -> Actor:
        return actor_for(self.request.user, self.role)

    def shown(self, order: Order, *, card: bool = True) -> dict[str, Any]:
        """``order`` as the caller sees it (the core's one JSON form of an order), with
        its driver's card unless ``card`` is false (pages of history: one read per order)."""
        driver = None
        if card and order.driver_id is not None:
            driver = self.service.driver_card(order.driver_id)
        return order_json(order, self.actor(), driver=driver)

    def command_id(self) -> str | None:
        return command_id_of(self.request)


class _DriverView(_View):
    role = "driver"
    permission_classes = (IsDriver,)


class _CustomerView(_View):
    permission_classes = (IsCustomer,)


class _PartyView(_View):
    """A view for both sides: the caller acts as a driver if he has a profile."""

    permission_classes = (permissions.IsAuthenticated,)

    def actor(self) -> Actor:
        role = "driver" if is_driver(self.request.user) else "customer"
        return actor_for(self.request.user, role)


# -- driver ------------------------------------------------------------------------


class ToggleStatusView(_DriverView):
    """Go online (available for offers) or offline."""

    @_api(request=s.ToggleStatusSerializer, command=True)
    def post(self, request: Request) -> Response:
        data = _valid(s.ToggleStatusSerializer, request.data)
        driver_id = self.actor().id
        if data["online"]:
            vehicle_type = data.get("vehicle_type") or (
                DriverProfile.objects.get(user_id=request.user.pk).vehicle_type
            )
            self.service.driver_online(
                driver_id, vehicle_type, s.point(data["position"]), command_id=self.command_id()
            )
        else:
            self.service.driver_offline(driver_id, command_id=self.command_id())
        status = self.service.drivers.get(driver_id)
        return Response(
            {
                "driver_id": driver_id,
                "online": status.online,
                "vehicle_type": status.vehicle_type,
                "order_id": status.order_id,
            }
        )


class UpdateLocationView(_DriverView):
    """The driver's position (recorded on the ride in course), and whether it was taken:
    ``{"accepted": .., "reason": .., "resync": .., "offline_reason": ..}`` (a refused fix
    says why: ``jump``, ``stale``, ``out_of_order``, ``inaccurate``, ``offline``...)."""

    throttle_scope = "vtc_location"

    @_api(request=s.LocationSerializer, command=True)
    def post(self, request: Request) -> Response:
        data = _valid(s.LocationSerializer, request.data)
        answer = self.service.update_position(
            self.actor().id,
            s.point(data["position"]),
            data.get("at"),
            accuracy_m=data.get("accuracy_m"),
            command_id=self.command_id(),
        )
        return Response(attrs.asdict(answer))


class _DriverOrderCommand(_DriverView):
    command = ""

    @_api(order=True, command=True)
    def post(self, request: Request, order_id: str) -> Response:
        order = getattr(self.service, self.command)(
            self.actor().id, order_id, command_id=self.command_id()
        )
        return Response(self.shown(order))


class AcceptView(_DriverOrderCommand):
    """Accept the offer of this order."""

    command = "accept"


class RejectView(_DriverOrderCommand):
    """Refuse the offer of this order."""

    command = "reject"


class ArrivedView(_DriverOrderCommand):
    """At the pickup."""

    command = "arrived"


class StartView(_DriverOrderCommand):
    """The customer is on board."""

    command = "start_trip"


class CompleteView(_DriverView):
    """The trip is over: final fare."""

    @_api(request=s.CompleteSerializer, order=True, command=True)
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.CompleteSerializer, request.data or {})
        order = self.service.complete_trip(
            self.actor().id,
            order_id,
            supplements=data["supplements"],
            command_id=self.command_id(),
        )
        return Response(self.shown(order))


class CurrentView(_View):
    """Where the driver stands: his live ``offer`` (as the ``offer`` message, ``timeout_s``
    the time left), the ``order`` of that offer or the one he drives, and himself
    (``driver``: online, presence, why he is offline); ``null`` for what there is not."""

    permission_classes = (IsDriver,)
    role = "driver"

    @_api()
    def get(self, request: Request) -> Response:
        state = driver_state(self.service, self.actor().id).model_dump(mode="json")
        del state["type"]
        return Response(state)


class _HistoryView(_View):
    @_api(parameters=[s.PageSerializer])
    def get(self, request: Request) -> Response:
        paging = _valid(s.PageSerializer, request.query_params)
        page, size = paging["page"], paging["page_size"]
        actor = self.actor()
        orders = self.service.orders.find(
            actor.role, actor.id, offset=(page - 1) * size, limit=size + 1
        )
        return Response(
            {
                "page": page,
                "page_size": size,
                "has_next": len(orders) > size,
                "results": [self.shown(o, card=False) for o in orders[:size]],
            }
        )


class DriverHistoryView(_HistoryView):
    """The driver's orders, newest first, by pages."""

    permission_classes = (IsDriver,)
    role = "driver"


class _RateView(_View):
    throttle_scope = "vtc_rating"

    @_api(request=s.RateSerializer, order=True, command=True)
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.RateSerializer, request.data)
        order = self.service.rate(
            self.actor(), order_id, data["stars"], data.get("comment"), command_id=self.command_id()
        )
        return Response(self.shown(order))


class DriverRateView(_RateView):
    """The driver rates the customer of a done ride."""

    role = "driver"
    permission_classes = (IsDriver,)


# -- customer ----------------------------------------------------------------------


class SearchDriversView(_CustomerView):
    """Vehicle types with drivers nearby, with the fare range of the trip."""

    throttle_scope = "vtc_search"

    @_api(request=s.SearchSerializer)
    def post(self, request: Request) -> Response:
        data = _valid(s.SearchSerializer, request.data)
        lines = self.service.search(s.point(data["pickup"]), s.point(data["destination"]))
        return Response(drivers_available(lines).model_dump(mode="json"))


class EstimatePriceView(_CustomerView):
    """The quote of a trip for one vehicle type."""

    throttle_scope = "vtc_search"

    @_api(request=s.EstimateSerializer)
    def post(self, request: Request) -> Response:
        data = _valid(s.EstimateSerializer, request.data)
        service = self.service
        quote = service.pricer.quote(
            s.point(data["pickup"]),
            s.point(data["destination"]),
            data["vehicle_type"],
            service.clock.now(),
            supplements=data["supplements"],
        )
        return Response(QuoteView.from_quote(quote).model_dump(mode="json"))


class CreateOrderView(_CustomerView):
    """Order a ride: the search for a driver starts."""

    throttle_scope = "vtc_order"

    @_api(request=s.CreateOrderSerializer, created=True, command=True)
    def post(self, request: Request) -> Response:
        data = _valid(s.CreateOrderSerializer, request.data)
        order = self.service.create_order(
            self.actor().id,
            s.point(data["pickup"]),
            s.point(data["destination"]),
            data["vehicle_type"],
            data["payment_method"],
            supplements=data["supplements"],
            command_id=self.command_id(),
        )
        return Response(self.shown(order), status=201)


class SearchAgainView(_CustomerView):
    """After ``no_driver_found``: look for a driver again (the drivers who refused are
    skipped).  A new order (``customer/create/``) replaces it as well."""

    throttle_scope = "vtc_order"

    @_api(order=True, command=True)
    def post(self, request: Request, order_id: str) -> Response:
        order = self.service.search_again(self.actor().id, order_id, command_id=self.command_id())
        return Response(self.shown(order))


class CancelView(_PartyView):
    """Cancel an order (customer, or the assigned driver), with a reason."""

    @_api(request=s.CancelSerializer, order=True, command=True)
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.CancelSerializer, request.data)
        order = self.service.cancel(
            self.actor(), order_id, data["reason"], command_id=self.command_id()
        )
        return Response(self.shown(order))


class TrackView(_CustomerView):
    """The order with the driver (who he is, his last position, ``position_at``, and
    whether his phone is heard from: ``presence`` ``silent`` and ``seen_at`` say how
    stale the position is) and the live track."""

    @_api(order=True)
    def get(self, request: Request, order_id: str) -> Response:
        service = self.service
        order = service.get_order(self.actor(), order_id)
        driver = None
        if order.driver_id is not None and order.is_active:
            status = service.drivers.get(order.driver_id)
            card = service.driver_card(order.driver_id)
            driver = driver_view(status, card).model_dump(mode="json")
        progress = service.progress.get(order.id)
        track = progress.trip if len(progress.trip) else progress.approach
        return Response(
            {
                "order": self.shown(order),
                "driver": driver,
                "track": [
                    {**WirePoint.from_latlng(p.position).model_dump(), "at": p.at.isoformat()}
                    for p in track.points
                    if p.accepted
                ],
            }
        )


class RateView(_RateView):
    """The customer rates the driver of a done ride."""

    permission_classes = (IsCustomer,)


class CustomerHistoryView(_HistoryView):
    """The customer's orders, newest first, by pages."""

    permission_classes = (IsCustomer,)


# -- common ------------------------------------------------------------------------


class PaymentMethodsView(_View):
    """Payment methods enabled where the customer is (``?lat=..&lng=..``)."""

    permission_classes = (permissions.IsAuthenticated,)

    @_api(parameters=[s.QueryPointSerializer])
    def get(self, request: Request) -> Response:
        methods = self.service.payment_methods(_query_point(request))
        return Response({"payment_methods": list(methods)})


class OrderDetailView(_PartyView):
    """One order, for its customer or its driver."""

    @_api(order=True)
    def get(self, request: Request, order_id: str) -> Response:
        order = self.service.get_order(self.actor(), order_id)
        return Response(self.shown(order))


class AvailableVehicleTypesView(_View):
    """Vehicle types with available drivers within the search radius of ``?lat=..&lng=..``."""

    permission_classes = (permissions.IsAuthenticated,)

    @_api(parameters=[s.QueryPointSerializer])
    def get(self, request: Request) -> Response:
        service = self.service
        counts = service.count_available(_query_point(request))
        types = service.pricer.config.vehicle_types
        return Response(
            {
                "vehicle_types": [
                    {"vehicle_type": code, "label": types[code].label, "count": counts[code]}
                    for code in sorted(counts)
                    if code in types
                ]
            }
        )
