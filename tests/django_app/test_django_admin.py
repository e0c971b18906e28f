"""The admin for operators, in process: areas near their city, one field per setting,
the operators' actions through the service, read-only state, money with its currency."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_demo import AKWA, DEIDO, LOAD_FROM, LOAD_TO, Demo, with_dakar
from hypothesis import given
from hypothesis import strategies as st

from vtc_dispatch.geo import LatLng
from vtc_dispatch.order import Actor
from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch_django.geojson import ZONE_MARGIN_KM, check_near_city, validate_area

CHANGE = "/admin/vtc_dispatch/{model}/{pk}/change/"
LIST = "/admin/vtc_dispatch/{model}/"
DOUALA = validate_area(DOUALA_CONFIG["cities"]["douala"]["area"])


def _box(lng: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def _form_data(client: Client, url: str) -> dict[str, Any]:
    """What the change page at ``url`` would post back unchanged."""
    form = client.get(url).context["adminform"].form
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        data[name] = json.dumps(value) if isinstance(value, dict | list) else value
    return data


# -- areas -------------------------------------------------------------------------


# Douala's area is lng 9.55..9.90, lat 3.90..4.20.
@given(
    lng=st.floats(9.55, 9.88),
    lat=st.floats(3.90, 4.18),
    size=st.floats(0.001, 0.02),
)
def test_a_zone_in_its_city_is_accepted_and_swapped_it_is_refused(
    lng: float, lat: float, size: float
) -> None:
    zone = _box(lng, lat, size)
    assert check_near_city(validate_area(zone), {"douala": DOUALA}) == "douala"
    swapped = {"type": "Polygon", "coordinates": [[[y, x] for x, y in zone["coordinates"][0]]]}
    with pytest.raises(ValueError, match=r"look swapped \(swapped back, the area lies in douala\)"):
        check_near_city(validate_area(swapped), {"douala": DOUALA})


@given(km=st.floats(0.5, 200))
def test_a_zone_beyond_the_margin_is_refused_with_its_distance(km: float) -> None:
    # A small box this far east of Douala's eastern edge (9.90), on the equator's scale.
    lng = 9.90 + km / 111.0
    zone = validate_area(_box(lng, 4.0, 0.001))
    if km + 1 < ZONE_MARGIN_KM:
        assert check_near_city(zone, {"douala": DOUALA}) == "douala"
    elif km - 1 > ZONE_MARGIN_KM:
        # Swapped back it would be nowhere near a city either: the message says the rule.
        with pytest.raises(ValueError, match=r"is \d+ km from douala, the nearest; a zone must"):
            check_near_city(zone, {"douala": DOUALA})


def test_the_zone_page_has_the_map_and_refuses_a_swapped_zone(demo: Demo, operator: Client) -> None:
    from vtc_dispatch_django.models import Zone

    url = CHANGE.format(model="zone", pk="bonapriso")
    page = operator.get(url).content.decode()
    assert 'class="vtc-area-map"' in page
    assert "vtc_dispatch_django/vendor/leaflet/leaflet.js" in page
    assert "vtc_dispatch_django/area_widget.js" in page
    assert "tile.openstreetmap.org" in page
    data = _form_data(operator, url)
    area = json.loads(data["area"])
    data["area"] = json.dumps(
        {"type": "Polygon", "coordinates": [[[y, x] for x, y in area["coordinates"][0]]]}
    )
    answer = operator.post(url, data)
    assert answer.status_code == 200
    assert "latitude and longitude look swapped" in answer.content.decode()
    assert Zone.objects.get(code="bonapriso").area == area


def test_the_tiles_come_from_the_settings(demo: Demo, operator: Client, settings: Any) -> None:
    settings.VTC_DISPATCH = {"MAP_TILE_URL": "", "CONFIG_CHECK_S": 0.0}
    page = operator.get(CHANGE.format(model="zone", pk="akwa")).content.decode()
    assert 'data-tile-url=""' in page
    assert "openstreetmap" not in page


# -- one field per setting ---------------------------------------------------------


def test_tariffs_post_back_unchanged_and_have_no_json_field(demo: Demo, operator: Client) -> None:
    from vtc_dispatch_django.models import Tariff

    for tariff in Tariff.objects.all():
        url = CHANGE.format(model="tariff", pk=tariff.pk)
        page = operator.get(url).content.decode()
        assert 'name="rules"' not in page
        answer = operator.post(url, _form_data(operator, url))
        assert answer.status_code == 302, answer.context["adminform"].form.errors
        assert Tariff.objects.get(pk=tariff.pk).rules == tariff.rules


def test_a_tariff_rule_changed_in_its_field_reaches_the_quotes(
    demo: Demo, operator: Client
) -> None:
    from vtc_dispatch_django.models import Tariff

    tariff = Tariff.objects.get(city_id="douala", vehicle_type_id="taxi_jaune")
    url = CHANGE.format(model="tariff", pk=tariff.pk)
    data = _form_data(operator, url)
    assert data["night_multiplier"] == "1.2"
    assert data["supplement_1_code"] == "luggage"
    data |= {"supplement_2_code": "child_seat", "supplement_2_label": "Child seat"}
    data |= {"supplement_2_amount": "150", "maximum_fare": "20000"}
    assert operator.post(url, data).status_code == 302
    rules = Tariff.objects.get(pk=tariff.pk).rules
    assert rules["supplements"]["child_seat"] == {"label": "Child seat", "amount": "150"}
    assert rules["maximum_fare"] == "20000"
    quote = demo.service.pricer.quote(
        LatLng(**AKWA), LatLng(**DEIDO), "taxi_jaune", demo.clock.now(), supplements=["child_seat"]
    )
    assert Decimal(150) in [line.amount for line in quote.breakdown]


def test_a_tariff_with_a_half_filled_row_is_refused_by_name(demo: Demo, operator: Client) -> None:
    from vtc_dispatch_django.models import Tariff

    tariff = Tariff.objects.get(city_id="douala", vehicle_type_id="confort")
    url = CHANGE.format(model="tariff", pk=tariff.pk)
    data = _form_data(operator, url)
    data["section_2_from_km"] = "12"  # a gap after the first section (0-10 km)
    answer = operator.post(url, data)
    assert answer.status_code == 200
    assert "gap between sections[0] (to 10 km) and sections[1] (from 12 km)" in (
        answer.content.decode()
    )
    data["supplement_3_code"] = "pet"  # no label nor amount
    errors = operator.post(url, data).context["adminform"].form.errors
    assert errors["supplement_3_code"] == ["a supplement needs a code, a label and an amount"]
    assert Tariff.objects.get(pk=tariff.pk).rules == tariff.rules


def test_a_fixed_route_has_one_fare_field_per_vehicle_type(demo: Demo, operator: Client) -> None:
    from vtc_dispatch_django.models import FixedPriceRoute

    url = CHANGE.format(model="fixedpriceroute", pk="akwa_airport")
    data = _form_data(operator, url)
    assert (data["fare_taxi_jaune"], data["fare_confort"]) == ("3000", "6000")
    assert "fares" not in data
    assert operator.post(url, {**data, "fare_taxi_jaune": "3500"}).status_code == 302
    assert FixedPriceRoute.objects.get(pk="akwa_airport").fares == {
        "taxi_jaune": "3500",
        "confort": "6000",
    }
    answer = operator.post(url, {**data, "fare_taxi_jaune": "", "fare_confort": ""})
    assert "at least one vehicle type" in answer.content.decode()


def test_max_waiting_time_has_one_place(demo: Demo, operator: Client) -> None:
    from vtc_dispatch_django.models import DispatchSettings

    stored = DispatchSettings.objects.get(pk=1)
    assert "max_waiting_time_s" not in stored.pool.get("default", {})
    url = CHANGE.format(model="dispatchsettings", pk=1)
    data = _form_data(operator, url)
    assert "pool" not in data
    assert not [name for name in data if name.endswith("max_waiting_time_s")][1:]
    data |= {"max_waiting_time_s": "45", "pool_mode": "batch", "pool_batch_size": "4"}
    data |= {"surge_max_multiplier": "1.5"}
    assert operator.post(url, data).status_code == 302
    stored = DispatchSettings.objects.get(pk=1)
    assert stored.pool["default"] == {"mode": "batch", "batch_size": 4}
    assert stored.pricing_extra["surge"] == {"max_multiplier": "1.5"}
    pool = demo.service.pool.settings_for("douala", "taxi_jaune")
    assert (pool.max_waiting_time_s, pool.mode, pool.batch_size) == (45.0, "batch", 4)


# -- actions -----------------------------------------------------------------------


def _order(demo: Demo) -> str:
    service = demo.service
    service.driver_online(demo.ids["amadou"], "taxi_jaune", LatLng(4.0520, 9.7045))
    order = service.create_order(
        demo.ids["chantal"], LatLng(**AKWA), LatLng(**DEIDO), "taxi_jaune", "CASH"
    )
    return order.id


def test_an_operator_cancels_a_stuck_order_with_a_reason(demo: Demo, operator: Client) -> None:
    from vtc_dispatch_django.models import OrderRecord

    order_id = _order(demo)
    pk = OrderRecord.objects.get(order_id=order_id).pk
    chosen = {"action": "cancel_orders", "_selected_action": [str(pk)]}
    asked = operator.post(LIST.format(model="orderrecord"), chosen)
    assert asked.status_code == 200
    assert 'name="reason"' in asked.content.decode()
    assert OrderRecord.objects.get(pk=pk).state != "cancelled"
    refused = operator.post(LIST.format(model="orderrecord"), {**chosen, "apply": "1"})
    assert "This field is required" in refused.content.decode()
    done = operator.post(
        LIST.format(model="orderrecord"),
        {**chosen, "apply": "1", "reason": "customer called: no longer needed"},
        follow=True,
    )
    assert f"Cancelled: {order_id}" in done.content.decode()
    order = demo.service.orders.get(order_id)
    assert order.state == "cancelled"
    assert order.lifecycle.history[-1].actor == "operator"
    assert order.cancellation is not None
    assert order.cancellation.reason == "customer called: no longer needed"
    assert order.cancellation.by == Actor.operator(str(User.objects.get(username="root").pk))
    # The driver the order held is free again.
    assert demo.service.drivers.get(demo.ids["amadou"]).order_id is None
    again = operator.post(
        LIST.format(model="orderrecord"), {**chosen, "apply": "1", "reason": "twice"}, follow=True
    )
    # The service's refusal, by order.
    assert [str(m) for m in again.context["messages"]] == [
        f"{order_id}: order '{order_id}': cannot 'cancel' in state 'cancelled' (the state is"
        " terminal)"
    ]


def test_the_orders_show_their_kind_and_filter_by_it(demo: Demo, operator: Client) -> None:
    with_dakar()
    ride = _order(demo)
    service = demo.service
    load = service.create_order(demo.ids["didier"], LOAD_FROM, LOAD_TO, "camion_10t", "WAVE")
    url = LIST.format(model="orderrecord")
    listed = operator.get(url)
    assert "kind" in listed.context["cl"].list_display
    assert [(str(choice["display"])) for choice in _kind_choices(listed)] == [
        "All", "ride", "freight", "delivery",
    ]  # fmt: skip
    page = listed.content.decode()
    assert '<td class="field-kind">freight</td>' in page
    assert '<td class="field-kind">ride</td>' in page
    freight = operator.get(url, {"kind__exact": "freight"})
    shown = [row.order_id for row in freight.context["cl"].result_list]
    assert shown == [load.id]
    assert ride not in freight.content.decode()
    types = operator.get(LIST.format(model="vehicletype"), {"kind__exact": "delivery"})
    assert [v.code for v in types.context["cl"].result_list] == ["moto_livraison"]


def _kind_choices(listed: Any) -> list[dict[str, Any]]:
    [spec] = [f for f in listed.context["cl"].filter_specs if f.field_path == "kind"]
    return list(spec.choices(listed.context["cl"]))


def test_an_operator_suspends_lifts_and_puts_a_driver_offline(demo: Demo, operator: Client) -> None:
    from vtc_dispatch_django.models import DriverProfile

    service, amadou = demo.service, demo.ids["amadou"]
    service.driver_online(amadou, "taxi_jaune", LatLng(4.0520, 9.7045))
    profile = str(DriverProfile.objects.get(user_id=amadou).pk)

    def act(action: str, model: str = "driverpresence", row: str = amadou) -> str:
        answer = operator.post(
            LIST.format(model=model), {"action": action, "_selected_action": [row]}, follow=True
        )
        return str(answer.content.decode())

    def offered() -> int:
        return service.count_available(LatLng(**AKWA)).get("taxi_jaune", 0)

    assert offered() == 1
    assert f"Suspended: {amadou}" in act("suspend")
    assert (service.drivers.get(amadou).suspended, offered()) == (True, 0)
    # The same actions on the driver's profile: they reach drivers whatever stores them.
    assert f"Suspension lifted: {amadou}" in act("lift_suspension", "driverprofile", profile)
    assert (service.drivers.get(amadou).suspended, offered()) == (False, 1)
    assert f"Put offline: {amadou}" in act("put_offline", "driverprofile", profile)
    assert (service.drivers.get(amadou).online, offered()) == (False, 0)
    # Lifting the suspension of a driver who is offline leaves him unavailable.
    act("suspend")
    act("lift_suspension")
    assert offered() == 0
    # A driver never seen online (a profile, no presence): the service's refusal, by driver.
    brice = demo.ids["brice"]
    brice_profile = str(DriverProfile.objects.get(user_id=brice).pk)
    refused = act("suspend", "driverprofile", brice_profile).replace("&#x27;", "'")
    assert f"{brice}: no driver '{brice}'" in refused


def test_state_is_read_only_and_money_has_its_currency(demo: Demo, operator: Client) -> None:
    from vtc_dispatch_django.models import OrderRecord
    from vtc_dispatch_django.repositories import DjangoWallet

    DjangoWallet().credit(demo.ids["chantal"], Decimal(20000), "XAF")
    order_id = _order(demo)
    for model in ("orderrecord", "driverpresence", "statsrecord", "ratingtotal", "walletaccount"):
        assert operator.get(f"/admin/vtc_dispatch/{model}/add/").status_code == 403, model
        listing = operator.get(LIST.format(model=model)).content.decode()
        assert f'href="/admin/vtc_dispatch/{model}/add/"' not in listing, model
    estimate = OrderRecord.objects.get(order_id=order_id).estimate
    listing = operator.get(LIST.format(model="orderrecord")).content.decode()
    assert f"{estimate:,.0f} XAF".replace(",", " ") in listing
    wallets = operator.get(LIST.format(model="walletaccount")).content.decode()
    assert "20 000 XAF" in wallets
    tariffs = operator.get(LIST.format(model="tariff")).content.decode()
    assert "300 XAF" in tariffs
