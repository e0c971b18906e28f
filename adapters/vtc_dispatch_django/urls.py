"""The REST endpoints: the ride's (:mod:`vtc_dispatch_django.views`), freight's and
deliveries' (:mod:`vtc_dispatch_django.freight_views`).

Mount them with ``path("api/v1/order/", include("vtc_dispatch_django.urls"))``.
Any other path under the mount answers a 404 in the app's error shape.
"""

from __future__ import annotations

from django.urls import path, re_path

from vtc_dispatch_django import freight_views as f
from vtc_dispatch_django import views as v
from vtc_dispatch_django.errors import no_such_endpoint
from vtc_dispatch_django.payments import SLUGS

app_name = "vtc_dispatch"

urlpatterns = [
    path("driver/toggle-status/", v.ToggleStatusView.as_view(), name="driver-toggle-status"),
    path("driver/update-location/", v.UpdateLocationView.as_view(), name="driver-location"),
    path("driver/accept/<str:order_id>/", v.AcceptView.as_view(), name="driver-accept"),
    path("driver/reject/<str:order_id>/", v.RejectView.as_view(), name="driver-reject"),
    path("driver/arrived/<str:order_id>/", v.ArrivedView.as_view(), name="driver-arrived"),
    path("driver/start/<str:order_id>/", v.StartView.as_view(), name="driver-start"),
    path("driver/complete/<str:order_id>/", v.CompleteView.as_view(), name="driver-complete"),
    path("driver/rate/<str:order_id>/", v.DriverRateView.as_view(), name="driver-rate"),
    path(
        "driver/confirm-cash/<str:order_id>/",
        v.ConfirmCashView.as_view(),
        name="driver-confirm-cash",
    ),
    path("driver/current/", v.CurrentView.as_view(), name="driver-current"),
    path("driver/history/", v.DriverHistoryView.as_view(), name="driver-history"),
    path("driver/dashboard/", v.DriverDashboardView.as_view(), name="driver-dashboard"),
    path("customer/search-drivers/", v.SearchDriversView.as_view(), name="customer-search"),
    path("customer/estimate-price/", v.EstimatePriceView.as_view(), name="customer-estimate"),
    path("customer/create/", v.CreateOrderView.as_view(), name="customer-create"),
    path(
        "customer/search-again/<str:order_id>/",
        v.SearchAgainView.as_view(),
        name="customer-search-again",
    ),
    path("customer/cancel/<str:order_id>/", v.CancelView.as_view(), name="customer-cancel"),
    path("customer/track/<str:order_id>/", v.TrackView.as_view(), name="customer-track"),
    path("customer/rate/<str:order_id>/", v.RateView.as_view(), name="customer-rate"),
    path("customer/history/", v.CustomerHistoryView.as_view(), name="customer-history"),
    path("customer/dashboard/", v.CustomerDashboardView.as_view(), name="customer-dashboard"),
    path("customer/pay/<str:order_id>/", v.PayView.as_view(), name="customer-pay"),
    *(
        path(
            f"payments/callback/{slug}/",
            v.PaymentCallbackView.as_view(method=method),
            name=f"payment-callback-{slug}",
        )
        for method, slug in SLUGS.items()
    ),
    path("payment-methods/", v.PaymentMethodsView.as_view(), name="payment-methods"),
    path(
        "vehicle-types/available/",
        v.AvailableVehicleTypesView.as_view(),
        name="vehicle-types-available",
    ),
    path(
        "tracking/available-drivers/",
        f.AvailableDriversView.as_view(),
        name="tracking-available-drivers",
    ),
    path(
        "tracking/orders/<str:order_id>/pings/",
        f.OrderPingsView.as_view(),
        name="tracking-pings",
    ),
    path(
        "tracking/orders/<str:order_id>/route/",
        f.OrderRouteView.as_view(),
        name="tracking-route",
    ),
    path("<str:order_id>/post/", f.PostLoadView.as_view(), name="order-post"),
    path("<str:order_id>/bids/", f.BidsView.as_view(), name="order-bids"),
    path("<str:order_id>/accept-bid/", f.AcceptBidView.as_view(), name="order-accept-bid"),
    path("<str:order_id>/depart/", f.DepartView.as_view(), name="order-depart"),
    path(
        "<str:order_id>/proof-of-delivery/",
        f.ProofOfDeliveryView.as_view(),
        name="order-proof-of-delivery",
    ),
    path(
        "<str:order_id>/confirm-delivery/",
        f.ConfirmDeliveryView.as_view(),
        name="order-confirm-delivery",
    ),
    path("<str:order_id>/dispute/", f.DisputeView.as_view(), name="order-dispute"),
    path("<str:order_id>/rate/", f.OrderRateView.as_view(), name="order-rate"),
    path(
        "<str:order_id>/merchant-status/",
        f.MerchantStatusView.as_view(),
        name="order-merchant-status",
    ),
    path("<str:order_id>/", v.OrderDetailView.as_view(), name="order-detail"),
    re_path(r"", no_such_endpoint, name="no-such-endpoint"),
]
