"""The configuration tables: the Douala file round trip, checked areas, refresh on change."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django_demo import Demo

from vtc_dispatch.errors import InvalidPricingConfig
from vtc_dispatch.geo import LatLng
from vtc_dispatch.pricing import Pricer, douala_config
from vtc_dispatch.pricing.douala import DOUALA_CONFIG

AKWA = LatLng(4.0511, 9.7043)
TRIPS = [
    (AKWA, LatLng(4.0650, 9.7250), "taxi_jaune"),  # plain
    (AKWA, LatLng(4.0100, 9.7200), "confort"),  # the airport's fixed price
    (LatLng(4.0250, 9.6900), AKWA, "taxi_jaune"),  # from the VIP zone
    (AKWA, LatLng(4.1500, 9.8000), "confort"),  # long: distance sections
]
MOMENTS = [datetime(2026, 11, 21, 8, 0, tzinfo=UTC), datetime(2026, 11, 21, 23, 30, tzinfo=UTC)]


def test_the_tables_price_as_the_file_they_were_loaded_from(demo: Demo) -> None:
    from vtc_dispatch_django.config import load_from_db

    from_db = Pricer(load_from_db().pricing)
    from_file = Pricer(douala_config())
    for pickup, dropoff, vehicle in TRIPS:
        for at in MOMENTS:
            a = from_db.quote(pickup, dropoff, vehicle, at)
            b = from_file.quote(pickup, dropoff, vehicle, at)
            assert (a.estimate, a.minimum, a.maximum, a.rules_applied, a.breakdown) == (
                b.estimate,
                b.minimum,
                b.maximum,
                b.rules_applied,
                b.breakdown,
            )
    assert from_db.quote(*TRIPS[1], MOMENTS[0]).fixed_route == "akwa_airport"


def test_the_kind_of_each_vehicle_type_goes_through_the_tables(demo: Demo) -> None:
    from django.core.management import call_command

    from vtc_dispatch.pricing import dakar_config
    from vtc_dispatch_django.config import load_from_db
    from vtc_dispatch_django.models import VehicleType

    call_command("import_dispatch_config", "--dakar", stdout=io.StringIO())
    assert dict(VehicleType.objects.values_list("code", "kind")) == {
        code: vt.kind for code, vt in dakar_config().vehicle_types.items()
    }
    assert {c: vt.kind for c, vt in load_from_db().pricing.vehicle_types.items()} == {
        "camion_10t": "freight", "camionnette_3t": "freight", "moto_livraison": "delivery",
    }  # fmt: skip


def test_an_empty_configuration_says_what_to_do(db: object) -> None:
    from vtc_dispatch_django.config import load_from_db

    with pytest.raises(InvalidPricingConfig, match="seed_demo"):
        load_from_db()


def test_a_refused_file_writes_nothing(demo: Demo) -> None:
    from vtc_dispatch_django.config import import_config
    from vtc_dispatch_django.models import Tariff

    broken = {**DOUALA_CONFIG, "tariffs": [{**DOUALA_CONFIG["tariffs"][0], "city": "yaounde"}]}
    with pytest.raises(InvalidPricingConfig, match=r"tariffs\[0\]\.city: unknown city 'yaounde'"):
        import_config(broken)
    assert Tariff.objects.count() == 2


def test_areas_are_checked_with_a_readable_error(db: object) -> None:
    from vtc_dispatch_django.models import Zone

    bowtie = {
        "type": "Polygon",
        "coordinates": [[[9.7, 4.0], [9.8, 4.0], [9.7, 4.1], [9.8, 4.1], [9.7, 4.0]]],
    }
    with pytest.raises(ValidationError, match="invalid Polygon: Self-intersection"):
        Zone(code="x", label="X", area=bowtie).full_clean()
    with pytest.raises(ValidationError, match="an area must be a GeoJSON object"):
        Zone(code="x", label="X", area=[1, 2]).full_clean()
    with pytest.raises(ValidationError, match="type"):
        Zone(code="x", label="X", area={"type": "Point", "coordinates": [9.7, 4.0]}).full_clean()


def test_a_tariff_change_reaches_the_service(demo: Demo) -> None:
    from vtc_dispatch_django.models import DispatchSettings, Tariff

    before = demo.service.pricer.quote(*TRIPS[0], MOMENTS[0]).estimate
    revision = DispatchSettings.objects.get(pk=1).revision
    tariff = Tariff.objects.get(city_id="douala", vehicle_type_id="taxi_jaune")
    tariff.base_fare += Decimal(1000)
    tariff.save()
    assert DispatchSettings.objects.get(pk=1).revision == revision + 1
    after = demo.service.pricer.quote(*TRIPS[0], MOMENTS[0]).estimate
    assert after == before + 1000


def test_the_admin_shows_the_configuration_and_the_state(demo: Demo) -> None:
    User.objects.create_superuser("root", password="root")
    client = Client()
    client.login(username="root", password="root")
    for model in ("country", "city", "tariff", "zone", "fixedpriceroute", "paymentmethod",
                  "dispatchsettings", "orderrecord", "driverpresence", "statsrecord",
                  "ratingtotal"):  # fmt: skip
        answer = client.get(f"/admin/vtc_dispatch/{model}/")
        assert answer.status_code == 200, model
    answer = client.get("/admin/vtc_dispatch/zone/bonapriso/change/")
    assert b"Bonapriso (VIP)" in answer.content


def test_the_admin_refuses_a_change_that_breaks_the_configuration(demo: Demo) -> None:
    from vtc_dispatch_django.models import Country

    User.objects.create_superuser("root", password="root")
    client = Client()
    client.login(username="root", password="root")
    form = {
        "code": "CM",
        "name": "Cameroun",
        "currency": "ABC",
        "timezone": "Africa/Douala",
        "rounding_step": "50",
        "rounding_mode": "nearest",
    }
    answer = client.post("/admin/vtc_dispatch/country/CM/change/", form)
    assert answer.status_code == 200
    assert b"the configuration would be invalid" in answer.content
    assert b"unknown ISO 4217 currency &#x27;ABC&#x27;" in answer.content
    assert Country.objects.get(code="CM").currency == "XAF"
    answer = client.post("/admin/vtc_dispatch/country/CM/change/", {**form, "currency": "XAF"})
    assert answer.status_code == 302
    assert Country.objects.get(code="CM").name == "Cameroun"


def test_the_service_builds_when_the_general_settings_row_is_missing(demo: Demo) -> None:
    from vtc_dispatch_django.models import DispatchSettings
    from vtc_dispatch_django.runtime import get_service, reset_service

    DispatchSettings.objects.all().delete()
    reset_service()
    service = get_service()  # creates the row with its defaults on the way
    assert service.pool.settings_for("douala", "taxi_jaune").max_waiting_time_s == 30.0
    assert DispatchSettings.objects.filter(pk=1).exists()


def memory_stores() -> tuple[Any, Any, Any]:
    """A STORES factory for the test below."""
    from vtc_dispatch.memory import (
        InMemoryDriverRegistry,
        InMemoryOrderRepository,
        InMemoryProgressStore,
    )

    return InMemoryOrderRepository(), InMemoryDriverRegistry(), InMemoryProgressStore()


def test_the_stores_setting_chooses_the_repositories(demo: Demo, settings: Any) -> None:
    from vtc_dispatch.memory import InMemoryOrderRepository
    from vtc_dispatch_django.repositories import DjangoWallet
    from vtc_dispatch_django.runtime import BackendUnavailable, get_service, reset_service

    here = __name__
    settings.VTC_DISPATCH = {"CONFIG_CHECK_S": 0.0, "STORES": f"{here}.memory_stores"}
    reset_service()
    service = get_service()
    assert isinstance(service.orders, InMemoryOrderRepository)
    assert isinstance(service.wallet, DjangoWallet)
    settings.VTC_DISPATCH = {"STORES": f"{here}.no_such_factory"}
    reset_service()
    with pytest.raises(BackendUnavailable, match="no_such_factory"):
        get_service()
    settings.VTC_DISPATCH = {"NOTIFIER": "pigeon"}
    reset_service()
    with pytest.raises(BackendUnavailable, match="'channels' or 'none', got 'pigeon'"):
        get_service()
