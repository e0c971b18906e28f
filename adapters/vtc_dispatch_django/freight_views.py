"""REST endpoints of freight loads and deliveries (seed 001's list), beside the ride's.

The shipper (the order's customer) posts a draft load, reads the bids of
the carriers the pool invited and takes one; the carrier (a driver) bids,
leaves the pickup and proves the delivery; the shipper confirms receipt or
disputes it; either side rates the other.  A delivery's merchant (a user
who is no driver, named by the order's ``merchant_id``) reports the order
confirmed, preparing, ready; the rider then departs and proves the
delivery as a carrier does.  ``tracking/`` answers the available carriers
within a radius, and an order's GPS positions and routes (GeoJSON).

The ride's endpoints serve the steps the kinds share: ``customer/create/``
(a load is created a draft, a delivery waiting for its merchant),
``driver/accept/``, ``driver/arrived/``, ``driver/start/``,
``customer/cancel/``, ``customer/track/``.  Every answer is one of the
core's JSON forms, errors have the app's one shape, commands take an
``Idempotency-Key``, and the service decides who may do what (a carrier
sees only his own bid, only the merchant of a delivery reports its states).
"""

from __future__ import annotations

from decimal import Decimal

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from vtc_dispatch.kinds import MERCHANT_STEPS, MerchantStatus
from vtc_dispatch.order import ProofOfDelivery
from vtc_dispatch.presentation import bids_view, drivers_near_view
from vtc_dispatch_django import serializers as s
from vtc_dispatch_django.views import (
    _DEIDO,
    IsCustomer,
    IsDriver,
    _api,
    _CustomerView,
    _DriverView,
    _example,
    _PartyView,
    _RateView,
    _valid,
    _View,
)

__all__ = [
    "AcceptBidView",
    "AvailableDriversView",
    "BidsView",
    "ConfirmDeliveryView",
    "DepartView",
    "DisputeView",
    "MerchantStatusView",
    "OrderPingsView",
    "OrderRateView",
    "OrderRouteView",
    "PostLoadView",
    "ProofOfDeliveryView",
]


# -- the shipper -------------------------------------------------------------------


class PostLoadView(_CustomerView):
    """Publish a draft load: the pool invites the carriers around to bid (``bidding``);
    without any, the load stays ``posted`` (``customer/search-again/`` looks again)."""

    @_api(answer=s.OrderSerializer, order=True, command=True, errors=(409,))
    def post(self, request: Request, order_id: str) -> Response:
        order = self.service.post_load(self.actor(), order_id, command_id=self.command_id())
        return self.order_answer(order)


class BidsView(_PartyView):
    """The bids in the running (GET: all of them for the shipper, his own for an invited
    carrier), or a carrier's bid (POST, an invited carrier: it replaces his last one)."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "POST":
            return [IsDriver()]
        return super().get_permissions()

    @_api(answer=s.BidsSerializer, order=True)
    def get(self, request: Request, order_id: str) -> Response:
        actor = self.actor()
        order = self.service.get_order(actor, order_id)
        return Response(s.BidsSerializer(bids_view(order, actor)).data)

    @_api(answer=s.OrderSerializer, request=s.BidSerializer, created=True, order=True,
          command=True, errors=(409, 410),
          examples=_example("valid an hour", {"amount": "55000", "valid_for_s": 3600}))  # fmt: skip
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.BidSerializer, request.data)
        order = self.service.submit_bid(
            self.actor().id,
            order_id,
            Decimal(data["amount"]),
            valid_for_s=data.get("valid_for_s"),
            command_id=self.command_id(),
        )
        return self.order_answer(order, status=201)


class AcceptBidView(_CustomerView):
    """Take a carrier's bid: he gets the load at that price (its final fare), the other
    carriers' invitations are withdrawn.  404 when he has no bid in the running, 410 when
    his bid's validity passed."""

    @_api(answer=s.OrderSerializer, request=s.AcceptBidSerializer, order=True, command=True,
          errors=(409, 410), examples=_example("a carrier", {"driver_id": "2"}))  # fmt: skip
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.AcceptBidSerializer, request.data)
        order = self.service.accept_bid(
            self.actor().id, order_id, data["driver_id"], command_id=self.command_id()
        )
        return self.order_answer(order)


class ConfirmDeliveryView(_CustomerView):
    """The shipper received the load: ``completed``."""

    @_api(answer=s.OrderSerializer, order=True, command=True, errors=(409,))
    def post(self, request: Request, order_id: str) -> Response:
        order = self.service.confirm_delivery(self.actor(), order_id, command_id=self.command_id())
        return self.order_answer(order)


class DisputeView(_CustomerView):
    """The shipper contests the delivered load, with a reason: ``disputed`` (an operator
    resolves it)."""

    @_api(answer=s.OrderSerializer, request=s.DisputeSerializer, order=True, command=True,
          errors=(409,),
          examples=_example("short", {"reason": "two pallets short"}))  # fmt: skip
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.DisputeSerializer, request.data)
        order = self.service.dispute(
            self.actor(), order_id, data["reason"], command_id=self.command_id()
        )
        return self.order_answer(order)


class OrderRateView(_PartyView, _RateView):
    """Either side rates the other once the order ended (the customer his driver, the
    driver his customer; 409 the second time)."""


# -- the carrier or rider ----------------------------------------------------------


class DepartView(_DriverView):
    """The goods are on board: the driver leaves the pickup (freight ``in_transit``,
    delivery ``on_the_way``)."""

    @_api(answer=s.OrderSerializer, order=True, command=True, errors=(409,))
    def post(self, request: Request, order_id: str) -> Response:
        order = self.service.depart(self.actor().id, order_id, command_id=self.command_id())
        return self.order_answer(order)


class ProofOfDeliveryView(_DriverView):
    """Delivered, with the proof: taken within the service's ``proof_radius_km`` of the
    destination, after the pickup, with the receiver's code and (freight) the reference
    of a photo or signature; the order ends as a trip does (final fare, payment due, the
    driver free).  409 says why a proof does not count."""

    @_api(answer=s.OrderSerializer, request=s.ProofSerializer, order=True, command=True,
          errors=(409,),
          examples=_example("at the door", {"position": _DEIDO, "at": "2026-11-21T09:30:00Z",
                                            "code": "482913", "reference": "pod/1.jpg"}),
          )  # fmt: skip
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.ProofSerializer, request.data)
        proof = ProofOfDelivery(
            s.point(data["position"]), data["at"], data.get("code"), data.get("reference")
        )
        order = self.service.deliver(self.actor().id, order_id, proof, command_id=self.command_id())
        return self.order_answer(order)


# -- the merchant ------------------------------------------------------------------


class MerchantStatusView(_View):
    """The merchant of a delivery reports it ``confirmed``, ``preparing`` or ``ready``
    (in that order); once ready, a rider is searched for.  Only the order's merchant may
    (403 for anyone else)."""

    role = "merchant"
    permission_classes = (IsCustomer,)

    @_api(answer=s.OrderSerializer, request=s.MerchantStatusSerializer, order=True,
          command=True, errors=(409,),
          examples=_example("being prepared", {"status": "preparing"}))  # fmt: skip
    def post(self, request: Request, order_id: str) -> Response:
        data = _valid(s.MerchantStatusSerializer, request.data)
        event = MERCHANT_STEPS[MerchantStatus(data["status"])]
        order = self.service.merchant_update(
            self.actor(), order_id, event, command_id=self.command_id()
        )
        return self.order_answer(order)


# -- tracking ----------------------------------------------------------------------


class AvailableDriversView(_View):
    """Available drivers (carriers, riders) within ``radius_km`` (5 by default) of
    ``?lat=..&lng=..``, nearest first, of the ``vehicle_type`` codes asked (repeat the
    parameter; every configured type by default); silent ones left out."""

    permission_classes = (IsCustomer,)

    @_api(answer=s.DriversNearSerializer, parameters=[s.DriversNearQuerySerializer],
          errors=(400, 422))  # fmt: skip
    def get(self, request: Request) -> Response:
        data = _valid(s.DriversNearQuerySerializer, request.query_params)
        service = self.service
        types = data.get("vehicle_type") or sorted(service.pricer.config.vehicle_types)
        found = service.drivers_near(s.point(data), data["radius_km"], types)
        return Response(s.DriversNearSerializer(drivers_near_view(found)).data)


class OrderPingsView(_PartyView):
    """Every GPS position the order's driver sent on it (approach, then trip), those set
    aside with their ``flag``; for the order's customer and driver."""

    @_api(answer=s.PingsSerializer, order=True)
    def get(self, request: Request, order_id: str) -> Response:
        return Response(s.PingsSerializer(self.service.pings(self.actor(), order_id)).data)


class OrderRouteView(_PartyView):
    """The order's planned route and the driver's actual ones (to the pickup, and from
    it), a GeoJSON FeatureCollection of LineStrings (``[lng, lat]``)."""

    @_api(answer=s.RouteSerializer, order=True)
    def get(self, request: Request, order_id: str) -> Response:
        return Response(s.RouteSerializer(self.service.route(self.actor(), order_id)).data)
