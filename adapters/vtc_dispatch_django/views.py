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
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import permissions, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from vtc_dispatch import presentation as forms
from vtc_dispatch.errors import shown
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.payments import MOBILE_MONEY, InvalidCallback, InvalidSignature, PaymentRequest
from vtc_dispatch.presentation import (
    DriverStatusView,
    OrderView,
    PaymentReceiptView,
    PositionAnswerView,
    QuoteView,
    RideTrackView,
    VehicleTypeCountView,
    VehicleTypesView,
    dashboard_view,
    driver_view,
    order_view,
)
from vtc_dispatch.pricing.money import in_currency
from vtc_dispatch.service import DispatchService
from vtc_dispatch.wire import drivers_available
from vtc_dispatch_django import serializers as s
from vtc_dispatch_django.auth import actor_for, is_driver
from vtc_dispatch_django.errors import exception_handler
from vtc_dispatch_django.models import DriverProfile
from vtc_dispatch_django.pagination import OrderHistory, OrderPagination, pagination_class
from vtc_dispatch_django.payments import SIGNATURE_HEADER
from vtc_dispatch_django.payments import provider as payment_provider
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
    402: "PaymentRefused: the payment method is not enabled there (or has no provider),"
    " or the wallet is short.",
    403: "Not the caller's to do: the wrong role, or not a party of the order.",
    404: "No such order (or page).",
    409: "The order or the driver is not in a state that allows this (InvalidTransition,"
    " OfferWithdrawn, ConcurrencyConflict), or it was done already (AlreadyDone: a second"
    " rating, a paid order).",
    410: "OfferExpired: the answer came after the offer's deadline.",
    415: "The body is not JSON.",
    422: "Well formed, but refused: unknown vehicle type or supplement, a place outside"
    " every priced city, an id longer than the service takes, an Idempotency-Key used for"
    " another request, a dashboard's period that ends before it starts or is too long"
    " (InvalidPeriod).",
    429: "Too many requests: see the Retry-After header.",
    503: "Storage or transport unavailable: send it again (with the same Idempotency-Key).",
}
_ORDER_ID = OpenApiParameter(
    "order_id",
    {"type": "string", "minLength": 1, "maxLength": s.ID_MAX, "pattern": "^[^/]+$"},
    OpenApiParameter.PATH,
    description="The order's id, as `customer/create/` answered it (`id`).",
)
_SIGNATURE = OpenApiParameter(
    SIGNATURE_HEADER,
    {"type": "string", "minLength": 1, "maxLength": 512},
    OpenApiParameter.HEADER,
    description="The provider's signature of the body (the fake provider: HMAC-SHA256, hex).",
)
_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_KEY,
    {"type": "string", "pattern": "^[!-~]{1,100}$"},
    OpenApiParameter.HEADER,
    description="Sent again with the same request after a lost answer: done once.",
)


def _api(
    *,
    answer: Any,
    request: Any = None,
    created: bool = False,
    parameters: list[Any] | tuple[Any, ...] = (),
    order: bool = False,
    command: bool = False,
    errors: tuple[int, ...] = (),
    examples: list[OpenApiExample] | tuple[OpenApiExample, ...] = (),
    anonymous: bool = False,
) -> Callable[[Any], Any]:
    """The OpenAPI description of an endpoint: its ``answer`` (an output serializer), every
    error status it can answer (401, 403 and 503 always but for an ``anonymous`` one; 400
    and 415 with a body; the order's 404 and 422; a ``command``'s 400 and 422 for its
    ``Idempotency-Key``; ``errors``), its parameters (the order id in the path when
    ``order``; the ``Idempotency-Key`` of a ``command``) and examples."""
    params = [*parameters]
    codes = set(errors) | {503}
    if not anonymous:
        codes |= {401, 403}
    if request is not None:
        codes |= {400, 415}
    if order:
        params.append(_ORDER_ID)
        codes |= {404, 422}
    if command:
        params.append(_KEY_PARAMETER)
        codes |= {400, 422}
    responses: dict[int, Any] = {201 if created else 200: answer}
    for code in sorted(codes):
        responses[code] = OpenApiResponse(s.ErrorSerializer, description=_ERRORS[code])
    return extend_schema(
        request=request, responses=responses, parameters=params, examples=list(examples)
    )


def _example(name: str, value: Any) -> list[OpenApiExample]:
    """A request body example (Swagger UI's "Try it out"; schemathesis' examples phase)."""
    return [OpenApiExample(name, value=value, request_only=True)]


_AKWA = {"lat": 4.0511, "lng": 9.7043}
_DEIDO = {"lat": 4.065, "lng": 9.725}
_TRIP = {"pickup": _AKWA, "destination": _DEIDO}


class _Metadata(SimpleMetadata):
    """``OPTIONS``: the methods and media types; the bodies are in the OpenAPI schema."""

    def determine_actions(self, request: Request, view: Any) -> dict[str, Any]:
        return {}


class _View(GenericAPIView):
    role = "customer"
    metadata_class = _Metadata
    # The host's REST_FRAMEWORK settings may lack any of these: the app's
    # answers and limits must not depend on them.
    parser_classes = (JSONParser,)
    renderer_classes = (JSONRenderer,)
    throttle_classes = (ScopedThrottle,)
    throttle_scope: str | None = None
    pagination_class = None

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return exception_handler

    @property
    def service(self) -> DispatchService:
        return get_service()

    def actor(self) -> Actor:
        return actor_for(self.request.user, self.role)

    def shown(self, order: Order, *, card: bool = True) -> OrderView:
        """``order`` as the caller sees it (the core's one form of an order), with its
        driver's card unless ``card`` is false (pages of history: one read per order)."""
        driver = None
        if card and order.driver_id is not None:
            driver = self.service.driver_card(order.driver_id)
        return order_view(order, self.actor(), driver=driver)

    def order_answer(self, order: Order, status: int = 200) -> Response:
        return Response(s.OrderSerializer(self.shown(order)).data, status=status)

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

    @_api(answer=s.DriverStatusSerializer, request=s.ToggleStatusSerializer, command=True,
          errors=(404, 409, 422),
          examples=_example("online in Akwa", {"online": True, "position": _AKWA}))  # fmt: skip
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
        return Response(s.DriverStatusSerializer(DriverStatusView.from_status(status)).data)


class UpdateLocationView(_DriverView):
    """The driver's position (recorded on the ride in course), and whether it was taken:
    ``{"accepted": .., "reason": .., "resync": .., "offline_reason": ..}`` (a refused fix
    says why: ``jump``, ``stale``, ``out_of_order``, ``inaccurate``, ``offline``...)."""

    throttle_scope = "vtc_location"

    @_api(answer=s.PositionAnswerSerializer, request=s.LocationSerializer, command=True,
          errors=(404, 409, 429),
          examples=_example("a fix", {"position": _AKWA, "accuracy_m": 8}))  # fmt: skip
    def post(self, request: Request) -> Response:
        data = _valid(s.LocationSerializer, request.data)
        answer = self.service.update_position(
            self.actor().id,
            s.point(data["position"]),
            data.get("at"),
            accuracy_m=data.get("accuracy_m"),
            command_id=self.command_id(),
        )
        return Response(s.PositionAnswerSerializer(PositionAnswerView.from_answer(answer)).data)


class _DriverOrderCommand(_DriverView):
    command = ""

    @_api(answer=s.OrderSerializer, order=True, command=True, errors=(409, 410))
    def post(self, request: Request, order_id: str) -> Response:
        order = getattr(self.service, self.command)(
            self.actor().id, order_id, command_id=self.command_id()
        )
        return self.order_answer(order)


class AcceptView(_DriverOrderCommand):
    """Accept the offer of this order (410 once its deadline passed)."""

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


class ConfirmCashView(_DriverOrderCommand):
    """The driver was paid the amount due in cash: the order's payment is ``paid`` (409 when
    it was paid already, owes nothing yet or is paid by wallet)."""

    command = "confirm_cash"


class CompleteView(_DriverView):
    """The trip is over: final fare."""

    @_api(answer=s.OrderSerializer, request=s.CompleteSerializer, order=True, command=True,
          errors=(409,), examples=_example("no supplement", {"supplements": []}))  # fmt: skip
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.CompleteSerializer, request.data or {})
        order = self.service.complete_trip(
            self.actor().id,
            order_id,
            supplements=data["supplements"],
            command_id=self.command_id(),
        )
        return self.order_answer(order)


class CurrentView(_View):
    """Where the driver stands, as the websocket's first message (``state``): his live
    ``offer`` (as the ``offer`` message, ``timeout_s`` the time left), the ``order`` of that
    offer or the one he drives, and himself (``driver``: online, presence, why he is
    offline); ``null`` for what there is not."""

    permission_classes = (IsDriver,)
    role = "driver"

    @_api(answer=s.DriverStateSerializer)
    def get(self, request: Request) -> Response:
        return Response(s.DriverStateSerializer(driver_state(self.service, self.actor().id)).data)


def _page_parameters() -> list[OpenApiParameter]:
    """The query parameters of the pagination class, as it describes them."""
    return [
        OpenApiParameter(
            p["name"],
            p["schema"],
            OpenApiParameter.QUERY,
            required=p.get("required", False),
            description=p.get("description", ""),
        )
        for p in pagination_class()().get_schema_operation_parameters(None)
    ]


class _HistoryView(_View):
    @property
    def pagination_class(self) -> Any:  # type: ignore[override]
        return pagination_class()

    @_api(answer=s.OrderSerializer(many=True), errors=(400, 404), parameters=_page_parameters())
    def get(self, request: Request) -> Response:
        history = OrderHistory(self.service.orders, self.actor())
        page = self.paginate_queryset(history)
        if page is None:
            # The host's paginator declined (limit and offset with no limit nor
            # PAGE_SIZE): a history is never sent whole, so the app's pages.
            self._paginator = OrderPagination()
            page = self.paginate_queryset(history)
            assert page is not None
        data = [s.OrderSerializer(self.shown(o, card=False)).data for o in page]
        return self.get_paginated_response(data)


class _DashboardView(_View):
    answer_serializer: type[s.WireSerializer]

    def get(self, request: Request) -> Response:
        spec = s.period_spec(_valid(s.DashboardQuerySerializer, request.query_params))
        board = self.service.dashboard(self.actor(), spec)
        return Response(self.answer_serializer(dashboard_view(board)).data)


class DriverDashboardView(_DashboardView):
    """The driver's figures over a period (``?period=today|7d|30d``, default ``7d``, or
    ``?from=..&to=..``, local days): rides done, earnings by payment method, hours online,
    acceptance rate, cancellations after accepting, ratings."""

    permission_classes = (IsDriver,)
    role = "driver"
    answer_serializer = s.DriverDashboardSerializer

    @_api(answer=s.DriverDashboardSerializer, parameters=[s.DashboardQuerySerializer],
          errors=(400, 422))  # fmt: skip
    def get(self, request: Request) -> Response:
        return super().get(request)


class CustomerDashboardView(_DashboardView):
    """The customer's figures over a period (``?period=today|7d|30d``, default ``7d``, or
    ``?from=..&to=..``, local days): orders placed, rides done, cancellations, spending by
    payment method, ratings given and received."""

    permission_classes = (IsCustomer,)
    answer_serializer = s.CustomerDashboardSerializer

    @_api(answer=s.CustomerDashboardSerializer, parameters=[s.DashboardQuerySerializer],
          errors=(400, 422))  # fmt: skip
    def get(self, request: Request) -> Response:
        return super().get(request)


class DriverHistoryView(_HistoryView):
    """The driver's orders, newest first, by pages (the host's pagination class)."""

    permission_classes = (IsDriver,)
    role = "driver"


class _RateView(_View):
    throttle_scope = "vtc_rating"

    @_api(answer=s.OrderSerializer, request=s.RateSerializer, order=True, command=True,
          errors=(409, 429),
          examples=_example("five stars", {"stars": 5, "comment": "on time"}))  # fmt: skip
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.RateSerializer, request.data)
        order = self.service.rate(
            self.actor(), order_id, data["stars"], data.get("comment"), command_id=self.command_id()
        )
        return self.order_answer(order)


class DriverRateView(_RateView):
    """The driver rates the customer of a done ride (409 the second time)."""

    role = "driver"
    permission_classes = (IsDriver,)


# -- customer ----------------------------------------------------------------------


class SearchDriversView(_CustomerView):
    """Vehicle types with drivers nearby, with the fare range of the trip (the websocket's
    ``drivers_available`` message)."""

    throttle_scope = "vtc_search"

    @_api(answer=s.DriversAvailableSerializer, request=s.SearchSerializer, errors=(422, 429),
          examples=_example("Akwa to Deido", _TRIP))  # fmt: skip
    def post(self, request: Request) -> Response:
        data = _valid(s.SearchSerializer, request.data)
        lines = self.service.search(s.point(data["pickup"]), s.point(data["destination"]))
        return Response(s.DriversAvailableSerializer(drivers_available(lines)).data)


class EstimatePriceView(_CustomerView):
    """The quote of a trip for one vehicle type."""

    throttle_scope = "vtc_search"

    @_api(answer=s.QuoteSerializer, request=s.EstimateSerializer, errors=(422, 429),
          examples=_example("a taxi", {**_TRIP, "vehicle_type": "taxi_jaune"}))  # fmt: skip
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
        return Response(s.QuoteSerializer(QuoteView.from_quote(quote)).data)


class CreateOrderView(_CustomerView):
    """Order a ride: the search for a driver starts.  The answer's ``id`` is the
    ``order_id`` of every other order endpoint.  The vehicle type's kind decides the
    lifecycle: a freight load is created a ``draft`` (``{id}/post/`` publishes it), a
    delivery (``merchant_id`` required) ``waiting`` for its merchant."""

    throttle_scope = "vtc_order"

    @_api(answer=s.OrderSerializer, request=s.CreateOrderSerializer, created=True,
          command=True, errors=(402, 403, 409, 422, 429),
          examples=_example("a taxi paid in cash", {**_TRIP, "vehicle_type": "taxi_jaune",
                                                    "payment_method": "CASH"}))  # fmt: skip
    def post(self, request: Request) -> Response:
        data = _valid(s.CreateOrderSerializer, request.data)
        goods = data.get("goods_amount")
        order = self.service.create_order(
            self.actor().id,
            s.point(data["pickup"]),
            s.point(data["destination"]),
            data["vehicle_type"],
            data["payment_method"],
            supplements=data["supplements"],
            merchant_id=data.get("merchant_id"),
            goods_amount=None if goods is None else Decimal(goods),
            command_id=self.command_id(),
        )
        return self.order_answer(order, status=201)


class SearchAgainView(_CustomerView):
    """After ``no_driver_found``: look for a driver again (the drivers who refused are
    skipped).  A new order (``customer/create/``) replaces it as well."""

    throttle_scope = "vtc_order"

    @_api(answer=s.OrderSerializer, order=True, command=True, errors=(409, 429))
    def post(self, request: Request, order_id: str) -> Response:
        order = self.service.search_again(self.actor().id, order_id, command_id=self.command_id())
        return self.order_answer(order)


class CancelView(_PartyView):
    """Cancel an order (customer, or the assigned driver), with a reason."""

    @_api(answer=s.OrderSerializer, request=s.CancelSerializer, order=True, command=True,
          errors=(409,),
          examples=_example("changed plans", {"reason": "changed my plans"}))  # fmt: skip
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.CancelSerializer, request.data)
        order = self.service.cancel(
            self.actor(), order_id, data["reason"], command_id=self.command_id()
        )
        return self.order_answer(order)


class TrackView(_CustomerView):
    """The order with the driver (who he is, his last position, ``position_at``, and
    whether his phone is heard from: ``presence`` ``silent`` and ``seen_at`` say how
    stale the position is) and the live track."""

    @_api(answer=s.RideTrackSerializer, order=True)
    def get(self, request: Request, order_id: str) -> Response:
        service = self.service
        order = service.get_order(self.actor(), order_id)
        driver = None
        if order.driver_id is not None and order.is_active:
            status = service.drivers.get(order.driver_id)
            driver = driver_view(status, service.driver_card(order.driver_id))
        progress = service.progress.get(order.id)
        track = progress.trip if len(progress.trip) else progress.approach
        view = RideTrackView.of(self.shown(order), driver, track)
        return Response(s.RideTrackSerializer(view).data)


class RateView(_RateView):
    """The customer rates the driver of a done ride (409 the second time)."""

    permission_classes = (IsCustomer,)


class CustomerHistoryView(_HistoryView):
    """The customer's orders, newest first, by pages (the host's pagination class)."""

    permission_classes = (IsCustomer,)


class PayView(_CustomerView):
    """Pay an ended order by its mobile-money method: the provider asks the customer's phone
    (``phone``) for the amount due, and the order's payment is ``processing`` until the
    provider's callback (``payments/callback/<provider>/``) says ``paid`` or ``failed``.
    402 when no provider collects the order's method here."""

    @_api(answer=s.OrderSerializer, request=s.PhoneSerializer, order=True, command=True,
          errors=(402, 409),
          examples=_example("an Orange number", {"phone": "+237690000001"}))  # fmt: skip
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.PhoneSerializer, request.data)
        key = self.command_id()
        service = self.service
        order = service.get_order(self.actor(), order_id)
        # A method that is no mobile money is refused by the service (409) below.
        provider = None
        if order.payment_method in MOBILE_MONEY:
            provider = payment_provider(order.payment_method)
        # Recorded (``processing``) before the provider is asked: a refused order never
        # reaches a customer's phone.  A request sent again asks the provider again, which
        # takes the order id as its transaction's reference and asks the phone once.
        started = service.payment_started(self.actor().id, order_id, command_id=key)
        due = started.amount_due
        # payment_started refused a method that is no mobile money, and an order owing nothing.
        assert provider is not None
        assert due is not None
        currency = started.quote.currency
        amount = in_currency(due, currency)
        provider.start(PaymentRequest(order_id, amount, currency, data["phone"]))
        return self.order_answer(started)


# -- common ------------------------------------------------------------------------


class PaymentMethodsView(_View):
    """Payment methods enabled where the customer is (``?lat=..&lng=..``), with labels."""

    permission_classes = (permissions.IsAuthenticated,)

    @_api(answer=s.PaymentMethodsSerializer, parameters=[s.QueryPointSerializer],
          errors=(400, 422))  # fmt: skip
    def get(self, request: Request) -> Response:
        methods = self.service.payment_methods(_query_point(request))
        return Response(s.PaymentMethodsSerializer(forms.PaymentMethodsView.of(methods)).data)


class OrderDetailView(_PartyView):
    """One order, for its customer or its driver."""

    @_api(answer=s.OrderSerializer, order=True)
    def get(self, request: Request, order_id: str) -> Response:
        return self.order_answer(self.service.get_order(self.actor(), order_id))


class AvailableVehicleTypesView(_View):
    """Vehicle types with available drivers within the search radius of ``?lat=..&lng=..``."""

    permission_classes = (permissions.IsAuthenticated,)

    @_api(answer=s.VehicleTypesSerializer, parameters=[s.QueryPointSerializer], errors=(400,))
    def get(self, request: Request) -> Response:
        service = self.service
        counts = service.count_available(_query_point(request))
        types = service.pricer.config.vehicle_types
        view = VehicleTypesView(
            vehicle_types=tuple(
                VehicleTypeCountView(vehicle_type=code, label=types[code].label, count=counts[code])
                for code in sorted(counts)
                if code in types
            )
        )
        return Response(s.VehicleTypesSerializer(view).data)


class PaymentCallbackView(_View):
    """A mobile-money provider's callback (its webhook): the provider checks it is
    authentic (its signature header: 403 otherwise) and reads it (400 when it cannot);
    the order's payment becomes ``paid`` or ``failed``.  A callback sent again is done
    once."""

    permission_classes = (permissions.AllowAny,)
    authentication_classes = ()
    method = ""

    @_api(answer=s.PaymentReceiptSerializer, anonymous=True, errors=(400, 402, 403, 404, 422),
          parameters=[_SIGNATURE], request=OpenApiTypes.OBJECT)  # fmt: skip
    def post(self, request: Request) -> Response:
        provider = payment_provider(self.method)
        body = request.body
        try:
            outcome = provider.read_callback(body, request.headers.get(SIGNATURE_HEADER))
        except InvalidSignature as exc:
            raise PermissionDenied(str(exc)) from exc
        except InvalidCallback as exc:
            raise ValidationError({"body": str(exc)}) from exc
        command_id = f"payment:{self.method}:{outcome.reference}:{outcome.paid}"
        order = self.service.payment_result(self.method, outcome, command_id=command_id)
        receipt = PaymentReceiptView(order_id=order.id, payment_status=str(order.payment_status))
        return Response(s.PaymentReceiptSerializer(receipt).data)
