"""Every refusal of the REST endpoints: its status and the one error shape, whatever the host.

``{"error": name, "detail": message, "field": path or null}`` for bad
input, refused commands, authentication, methods, media types, throttles
and paths that are no endpoint; under the test settings and under a host
whose ``REST_FRAMEWORK`` has none of the app's defaults.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django_demo import AKWA, DEIDO, Demo
from rest_framework.test import APIClient
from rest_framework.views import APIView

from vtc_dispatch.geo import LatLng

API = "/api/v1/order/"
ORDER = {"pickup": AKWA, "destination": DEIDO, "vehicle_type": "taxi_jaune"}


def client(demo: Demo, name: str | None) -> APIClient:
    c = APIClient()
    if name is not None:
        c.credentials(HTTP_AUTHORIZATION=f"Token {demo.tokens[name]}")
    return c


def call(demo: Demo, name: str | None, method: str, path: str, body: Any = None) -> Any:
    do = getattr(client(demo, name), method)
    if method == "get":
        return do(API + path, body)
    return do(API + path, body, format="json")


def refused(answer: Any, status: int, error: str, field: str | None) -> str:
    """Check ``answer`` is the error shape with that status, name and field; its detail."""
    assert answer.status_code == status, (answer.status_code, answer.content[:300])
    assert answer["Content-Type"] == "application/json"
    body = answer.json()
    assert set(body) == {"error", "detail", "field"}, body
    assert (body["error"], body["field"]) == (error, field), body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    detail: str = body["detail"]
    return detail


ON = {"online": True, "position": AKWA}

# (who, method, path, body, status, error, field): one bad request per endpoint at least.
from vtc_dispatch_django.payments import SLUGS  # noqa: E402

BAD_INPUT = [
    ("amadou", "post", "driver/toggle-status/", {"online": "true", "position": AKWA}, 400,
     "ValidationError", "online"),
    ("amadou", "post", "driver/toggle-status/", {"online": 1}, 400, "ValidationError", "online"),
    ("amadou", "post", "driver/toggle-status/", {"online": True}, 400, "ValidationError",
     "position"),
    ("amadou", "post", "driver/toggle-status/", [ON], 400, "ValidationError", None),
    ("amadou", "post", "driver/update-location/", {"position": {"lat": 4.05, "lng": "9.7"}}, 400,
     "ValidationError", "position.lng"),
    ("amadou", "post", "driver/update-location/", {"position": AKWA, "at": 5}, 400,
     "ValidationError", "at"),
    ("amadou", "post", "driver/update-location/", {"position": AKWA, "accuracy_m": -1}, 400,
     "ValidationError", "accuracy_m"),
    ("amadou", "post", "driver/accept/nope-1/", None, 404, "NotFound", None),
    ("amadou", "post", "driver/reject/nope-1/", None, 404, "NotFound", None),
    ("amadou", "post", "driver/arrived/nope-1/", None, 404, "NotFound", None),
    ("amadou", "post", "driver/start/nope-1/", None, 404, "NotFound", None),
    ("amadou", "post", "driver/complete/nope-1/", {"supplements": "luggage"}, 400,
     "ValidationError", "supplements"),
    ("amadou", "post", "driver/complete/nope-1/", {"supplements": [5]}, 400, "ValidationError",
     "supplements.0"),
    ("amadou", "post", "driver/complete/nope-1/", None, 404, "NotFound", None),
    ("amadou", "post", "driver/rate/nope-1/", {"stars": "5"}, 400, "ValidationError", "stars"),
    ("amadou", "post", "driver/rate/nope-1/", {"stars": 4.5}, 400, "ValidationError", "stars"),
    ("amadou", "post", "driver/rate/nope-1/", {"stars": 4}, 404, "NotFound", None),
    ("chantal", "get", "driver/current/", None, 403, "PermissionDenied", None),
    ("amadou", "get", "driver/history/", {"page": 0}, 400, "ValidationError", "page"),
    ("amadou", "get", "driver/history/", {"page_size": 101}, 400, "ValidationError",
     "page_size"),
    ("chantal", "post", "customer/search-drivers/",
     {"pickup": AKWA, "destination": {"lat": 4.01, "lng": False}}, 400, "ValidationError",
     "destination.lng"),
    ("chantal", "post", "customer/search-drivers/",
     {"pickup": {"lat": "4.05", "lng": 9.7}, "destination": DEIDO}, 400, "ValidationError",
     "pickup.lat"),
    ("chantal", "post", "customer/search-drivers/", {"pickup": AKWA}, 400, "ValidationError",
     "destination"),
    ("chantal", "post", "customer/estimate-price/", {**ORDER, "vehicle_type": True}, 400,
     "ValidationError", "vehicle_type"),
    ("chantal", "post", "customer/estimate-price/", {**ORDER, "vehicle_type": "rickshaw"}, 422,
     "PricingUnavailable", None),
    ("chantal", "post", "customer/estimate-price/", {**ORDER, "pickup": {"lat": 0.0, "lng": 9.69}},
     422, "OutOfServiceArea", None),
    ("chantal", "post", "customer/create/", {**ORDER, "payment_method": "cash"}, 400,
     "ValidationError", "payment_method"),
    ("chantal", "post", "customer/create/",
     {**ORDER, "payment_method": "CASH", "destination": {"lat": True, "lng": 9.7}}, 400,
     "ValidationError", "destination.lat"),
    ("chantal", "post", "customer/create/", {**ORDER, "payment_method": "CASH",
     "supplements": ["towbar"]}, 422, "InvalidMoney", None),
    ("chantal", "post", "customer/create/", {**ORDER, "payment_method": "PAYPAL"}, 402,
     "PaymentRefused", None),
    ("chantal", "post", "customer/search-again/nope-1/", None, 404, "NotFound", None),
    ("amadou", "post", "customer/search-again/nope-1/", None, 403, "PermissionDenied", None),
    ("chantal", "post", "customer/cancel/nope-1/", {"reason": 5}, 400, "ValidationError",
     "reason"),
    ("chantal", "post", "customer/cancel/nope-1/", {"reason": "x" * 501}, 400, "ValidationError",
     "reason"),
    ("chantal", "post", "customer/cancel/nope-1/", {"reason": "late"}, 404, "NotFound", None),
    ("chantal", "get", "customer/track/nope-1/", None, 404, "NotFound", None),
    ("chantal", "post", "customer/rate/nope-1/", {"stars": 6}, 400, "ValidationError", "stars"),
    ("chantal", "post", "customer/rate/nope-1/", {"stars": 5, "comment": 7}, 400,
     "ValidationError", "comment"),
    ("chantal", "get", "customer/history/", {"page": "two"}, 400, "ValidationError", "page"),
    ("chantal", "get", "payment-methods/", {"lat": 4.05}, 400, "ValidationError", "lng"),
    ("chantal", "get", "payment-methods/", {"lat": "north", "lng": 9.7}, 400, "ValidationError",
     "lat"),
    ("chantal", "get", "payment-methods/", {"lat": 0, "lng": 0}, 422, "OutOfServiceArea", None),
    ("chantal", "get", "vehicle-types/available/", {"lat": 4.05, "lng": 200}, 400,
     "ValidationError", "lng"),
    ("chantal", "get", "vehicle-types/available/", {"lat": "nan", "lng": 9.7}, 400,
     "ValidationError", "lat"),
    ("chantal", "get", "nope-1/", None, 404, "NotFound", None),
    ("amadou", "post", "customer/create/", {}, 403, "PermissionDenied", None),
    ("chantal", "post", "driver/accept/nope-1/", None, 403, "PermissionDenied", None),
    (None, "post", "customer/search-drivers/", {"pickup": AKWA, "destination": DEIDO}, 401,
     "NotAuthenticated", None),
    (None, "get", "nope-1/", None, 401, "NotAuthenticated", None),
    ("chantal", "get", "customer/create/", None, 405, "MethodNotAllowed", None),
    ("amadou", "post", "driver/confirm-cash/nope-1/", None, 404, "NotFound", None),
    ("chantal", "post", "driver/confirm-cash/nope-1/", None, 403, "PermissionDenied", None),
    ("chantal", "post", "customer/pay/nope-1/", {"phone": "690000001"}, 400, "ValidationError",
     "phone"),
    ("chantal", "post", "customer/pay/nope-1/", {"phone": "+237690000001"}, 404, "NotFound",
     None),
    *((None, "post", f"payments/callback/{slug}/", {"status": "SUCCESSFUL"}, 403,
       "PermissionDenied", None) for slug in SLUGS.values()),
    ("amadou", "put", "driver/toggle-status/", ON, 405, "MethodNotAllowed", None),
    ("amadou", "get", "driver/dashboard/", {"period": "week"}, 400, "ValidationError", "period"),
    ("chantal", "get", "customer/dashboard/", {"from": "2026-11-22", "to": "2026-11-21"}, 422,
     "InvalidPeriod", None),
    # Freight and deliveries (freight_views).
    ("chantal", "post", "customer/create/", {**ORDER, "payment_method": "CASH",
     "goods_amount": 7500}, 400, "ValidationError", "goods_amount"),
    ("chantal", "post", "customer/create/", {**ORDER, "payment_method": "CASH",
     "merchant_id": ""}, 400, "ValidationError", "merchant_id"),
    ("chantal", "post", "nope-1/post/", None, 404, "NotFound", None),
    ("amadou", "post", "nope-1/post/", None, 403, "PermissionDenied", None),
    ("chantal", "get", "nope-1/bids/", None, 404, "NotFound", None),
    ("amadou", "post", "nope-1/bids/", {"amount": "1e5"}, 400, "ValidationError", "amount"),
    ("amadou", "post", "nope-1/bids/", {"amount": "55000", "valid_for_s": 0}, 400,
     "ValidationError", "valid_for_s"),
    ("amadou", "post", "nope-1/bids/", {"amount": "55000"}, 404, "NotFound", None),
    ("chantal", "post", "nope-1/bids/", {"amount": "55000"}, 403, "PermissionDenied", None),
    ("chantal", "post", "nope-1/accept-bid/", {"driver_id": 7}, 400, "ValidationError",
     "driver_id"),
    ("chantal", "post", "nope-1/accept-bid/", {"driver_id": "7"}, 404, "NotFound", None),
    ("amadou", "post", "nope-1/depart/", None, 404, "NotFound", None),
    ("chantal", "post", "nope-1/depart/", None, 403, "PermissionDenied", None),
    ("amadou", "post", "nope-1/proof-of-delivery/", {"position": AKWA}, 400, "ValidationError",
     "at"),
    ("amadou", "post", "nope-1/proof-of-delivery/", {"position": AKWA,
     "at": "2026-11-21T09:00:00Z", "code": ""}, 400, "ValidationError", "code"),
    ("amadou", "post", "nope-1/proof-of-delivery/", {"position": AKWA,
     "at": "2026-11-21T09:00:00Z", "code": "482913"}, 404, "NotFound", None),
    ("chantal", "post", "nope-1/confirm-delivery/", None, 404, "NotFound", None),
    ("chantal", "post", "nope-1/dispute/", {"reason": ""}, 400, "ValidationError", "reason"),
    ("chantal", "post", "nope-1/dispute/", {"reason": "short"}, 404, "NotFound", None),
    ("chantal", "post", "nope-1/rate/", {"stars": 0}, 400, "ValidationError", "stars"),
    ("amadou", "post", "nope-1/rate/", {"stars": 5}, 404, "NotFound", None),
    ("didier", "post", "nope-1/merchant-status/", {"status": "waiting"}, 400, "ValidationError",
     "status"),
    ("didier", "post", "nope-1/merchant-status/", {"status": "ready"}, 404, "NotFound", None),
    ("amadou", "post", "nope-1/merchant-status/", {"status": "ready"}, 403, "PermissionDenied",
     None),
    ("chantal", "get", "tracking/available-drivers/", {"lat": 4.05, "lng": 9.7,
     "radius_km": 0}, 400, "ValidationError", "radius_km"),
    ("chantal", "get", "tracking/available-drivers/", {"lat": 4.05, "lng": 9.7,
     "vehicle_type": "no way"}, 400, "ValidationError", "vehicle_type.0"),
    ("amadou", "get", "tracking/available-drivers/", {"lat": 4.05, "lng": 9.7}, 403,
     "PermissionDenied", None),
    ("chantal", "get", "tracking/orders/nope-1/pings/", None, 404, "NotFound", None),
    ("chantal", "get", "tracking/orders/nope-1/route/", None, 404, "NotFound", None),
    (None, "get", "tracking/orders/nope-1/route/", None, 401, "NotAuthenticated", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status", "error", "field"),
    BAD_INPUT,
    ids=[f"{case[1]} {case[2]} {case[4]}" for case in BAD_INPUT],
)
def test_every_endpoint_refuses_bad_input_in_the_one_error_shape(
    demo: Demo,
    who: str | None,
    method: str,
    path: str,
    body: Any,
    status: int,
    error: str,
    field: str | None,
) -> None:
    detail = refused(call(demo, who, method, path, body), status, error, field)
    if field is not None:
        assert detail.startswith(f"{field}: ")


def test_every_endpoint_is_in_the_bad_input_table() -> None:
    from django.urls import resolve

    from vtc_dispatch_django.urls import urlpatterns

    tried = {resolve(API + path).url_name for _, _, path, *_ in BAD_INPUT}
    assert tried == {p.name for p in urlpatterns} - {"no-such-endpoint"}


def test_numbers_must_be_json_numbers_not_booleans_nor_text(demo: Demo) -> None:
    """``false`` was read as longitude 0 and priced; ``"4.05"`` as a number."""
    demo.service.driver_online(demo.ids["amadou"], "taxi_jaune", LatLng(4.0520, 9.7045))
    for destination in ({"lat": 4.01, "lng": False}, {"lat": "4.065", "lng": 9.725}):
        answer = call(demo, "chantal", "post", "customer/search-drivers/",
                      {"pickup": AKWA, "destination": destination})  # fmt: skip
        assert answer.status_code == 400, answer.json()
    good = call(demo, "chantal", "post", "customer/search-drivers/",
                {"pickup": AKWA, "destination": {"lat": 4, "lng": 9.725}})  # fmt: skip
    assert good.status_code == 200


def test_a_form_encoded_toggle_is_refused_and_leaves_the_driver_online(demo: Demo) -> None:
    """A form without ``online`` read as ``online=False`` and put the driver offline."""
    demo.service.driver_online(demo.ids["amadou"], "taxi_jaune", LatLng(4.0520, 9.7045))
    for form in ("multipart", None):
        answer = client(demo, "amadou").post(
            API + "driver/toggle-status/", {"vehicle_type": "taxi_jaune"}, format=form
        )
        detail = refused(answer, 415, "UnsupportedMediaType", None)
        assert "Content-Type: application/json" in detail
    urlencoded = client(demo, "amadou").post(
        API + "driver/toggle-status/",
        "vehicle_type=taxi_jaune",
        content_type="application/x-www-form-urlencoded",
    )
    refused(urlencoded, 415, "UnsupportedMediaType", None)
    assert demo.service.drivers.get(demo.ids["amadou"]).online


def test_malformed_json_and_unknown_paths(demo: Demo) -> None:
    broken = client(demo, "chantal").post(
        API + "customer/search-drivers/", '{"pickup": ', content_type="application/json"
    )
    assert "JSON parse error" in refused(broken, 400, "ParseError", None)
    for path in ("driver/accept/a/b/", "customer/create", "nothing/here/at/all/"):
        for method in ("get", "post"):
            answer = getattr(client(demo, "chantal"), method)(API + path)
            assert path in refused(answer, 404, "NotFound", None)


def test_a_trip_ending_outside_every_priced_city_is_not_quoted(demo: Demo) -> None:
    """Only the pickup's city was checked: 585 km to the equator were quoted."""
    answer = call(demo, "chantal", "post", "customer/estimate-price/",
                  {**ORDER, "destination": {"lat": 0.0, "lng": 9.69}})  # fmt: skip
    assert "LatLng(0.0, 9.69)" in refused(answer, 422, "OutOfServiceArea", None)


# -- the host's settings -------------------------------------------------------------


def test_a_host_without_the_apps_rest_settings_still_gets_the_apps_json_errors(
    demo: Demo,
) -> None:
    """The host's own (default) exception handler turned dispatch errors into an HTML 500.

    REST framework reads the exception handler at each error, but the
    classes (authentication, parsers, throttles) once, when APIView is
    imported (this module imports it first): those stay the test settings'.
    """
    from django.contrib.auth.models import User

    chantal, amadou = APIClient(), APIClient()
    chantal.force_authenticate(User.objects.get(pk=demo.ids["chantal"]))
    amadou.force_authenticate(User.objects.get(pk=demo.ids["amadou"]))
    with override_settings(REST_FRAMEWORK={}):
        missing = chantal.get(API + "nope-123/")
        bad = chantal.post(API + "customer/create/", {**ORDER, "payment_method": 1}, format="json")
        form = amadou.post(API + "driver/toggle-status/", {"vehicle_type": "taxi_jaune"})
        anonymous = APIClient().get(API + "nope-123/")
    assert "nope-123" in refused(missing, 404, "NotFound", None)
    refused(bad, 400, "ValidationError", "payment_method")
    refused(form, 415, "UnsupportedMediaType", None)
    refused(anonymous, 401, "NotAuthenticated", None)


# -- throttling ----------------------------------------------------------------------


def test_location_updates_are_throttled_at_the_default_rate_with_a_retry_after(
    demo: Demo,
) -> None:
    from vtc_dispatch_django.defaults import THROTTLE_RATES

    assert THROTTLE_RATES["vtc_location"] == "20/40s"
    demo.service.driver_online(demo.ids["amadou"], "taxi_jaune", LatLng(4.0520, 9.7045))
    update = {"position": {"lat": 4.0520, "lng": 9.7045}}
    # The app's rates, as a host that sets none has them.
    with override_settings(REST_FRAMEWORK={"DEFAULT_THROTTLE_RATES": {}}):
        answers = [call(demo, "amadou", "post", "driver/update-location/", update)
                   for _ in range(21)]  # fmt: skip
        assert [a.status_code for a in answers[:20]] == [200] * 20
        refused(answers[20], 429, "Throttled", None)
        assert 0 < int(answers[20]["Retry-After"]) <= 40
        # Per driver: another driver is not counted with him.
        demo.service.driver_online(demo.ids["brice"], "taxi_jaune", LatLng(4.0530, 9.7045))
        assert call(demo, "brice", "post", "driver/update-location/", update).status_code == 200


SCOPED = [
    ("vtc_search", "chantal", "customer/search-drivers/", {"pickup": AKWA, "destination": DEIDO}),
    ("vtc_search", "chantal", "customer/estimate-price/", ORDER),
    ("vtc_order", "chantal", "customer/create/", {**ORDER, "payment_method": "PAYPAL"}),
    ("vtc_rating", "chantal", "customer/rate/nope-1/", {"stars": 5}),
    ("vtc_rating", "amadou", "driver/rate/nope-1/", {"stars": 5}),
]


@pytest.mark.parametrize(("scope", "who", "path", "body"), SCOPED)
def test_each_scope_takes_the_hosts_rate_and_answers_429_beyond_it(
    demo: Demo, scope: str, who: str, path: str, body: Any
) -> None:
    with override_settings(REST_FRAMEWORK={"DEFAULT_THROTTLE_RATES": {scope: "2/m"}}):
        answers = [call(demo, who, "post", path, body).status_code for _ in range(3)]
        assert 429 not in answers[:2]
        assert answers[2] == 429
    with override_settings(REST_FRAMEWORK={"DEFAULT_THROTTLE_RATES": {scope: None}}):
        assert call(demo, who, "post", path, body).status_code != 429


def test_a_hosts_global_throttle_does_not_starve_location_updates(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rest_framework.throttling import UserRateThrottle

    # REST framework gives a host's DEFAULT_THROTTLE_CLASSES to APIView when
    # it is imported: the host's settings, as its views would see them.
    monkeypatch.setattr(APIView, "throttle_classes", [UserRateThrottle])
    demo.service.driver_online(demo.ids["amadou"], "taxi_jaune", LatLng(4.0520, 9.7045))
    update = {"position": {"lat": 4.0520, "lng": 9.7045}}
    with override_settings(REST_FRAMEWORK={"DEFAULT_THROTTLE_RATES": {"user": "1/m"}}):
        answers = [call(demo, "amadou", "post", "driver/update-location/", update)
                   for _ in range(5)]  # fmt: skip
    assert [a.status_code for a in answers] == [200] * 5, answers[0].content


def test_a_malformed_rate_is_refused_naming_the_scope(demo: Demo) -> None:
    from django.core.exceptions import ImproperlyConfigured

    rates = {"DEFAULT_THROTTLE_RATES": {"vtc_search": "lots"}}
    with override_settings(REST_FRAMEWORK=rates), pytest.raises(ImproperlyConfigured) as error:
        call(demo, "chantal", "post", "customer/search-drivers/", {"pickup": AKWA})
    assert "vtc_search" in str(error.value)
    assert "'lots'" in str(error.value)


# -- the schema ----------------------------------------------------------------------


def test_the_schema_advertises_json_bodies_answers_and_errors_for_every_operation() -> None:
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    assert schema["openapi"] == "3.1.0"
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "detail", "field"}
    assert error["properties"]["field"]["type"] == ["string", "null"]
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith(API)
        for method, operation in item.items()
    ]
    # 21 of the ride, pay, confirm-cash, 6 provider webhooks, 13 of freight and deliveries,
    # 2 dashboards
    assert len(operations) == 44
    for path, _method, operation in operations:
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], path
        answers = operation["responses"]
        success = [code for code in answers if code.startswith("2")]
        assert len(success) == 1, path
        # Every answer is typed: a component of its own, never an untyped object.
        typed = answers[success[0]]["content"]["application/json"]["schema"]["$ref"]
        assert schema["components"]["schemas"][typed.rsplit("/", 1)[1]]["properties"], path
        errors = set(answers) - {success[0]}
        anonymous = "/payments/callback/" in path
        expected = {"503"} | (set() if anonymous else {"401", "403"})
        if "{order_id}" in path:
            expected |= {"404", "422"}
        assert expected <= errors, (path, errors)
        assert "default" not in errors
        for status in errors:
            content = answers[status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}, (path, status)
    toggle = schema["components"]["schemas"]["ToggleStatus"]
    assert len(toggle["oneOf"]) == 2
