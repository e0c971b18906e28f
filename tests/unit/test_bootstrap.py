"""build_service: one way to build the service from a configuration and a set of stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vtc_dispatch.bootstrap import STORE_NAMES, build_service, store_mapping
from vtc_dispatch.config import load_config
from vtc_dispatch.geo import LatLng
from vtc_dispatch.memory import InMemoryStores, ManualClock, NullNotifier, RecordingNotifier
from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch.unit_of_work import StoresUnitOfWork

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
AKWA, DEIDO = LatLng(4.0511, 9.7043), LatLng(4.0650, 9.7250)


def test_two_services_on_one_set_of_stores_share_its_state_and_its_commit_lock() -> None:
    stores = InMemoryStores()
    one = build_service(DOUALA_CONFIG, stores, clock=ManualClock(T0))
    other = build_service(DOUALA_CONFIG, stores, clock=ManualClock(T0))
    assert isinstance(one.uow, StoresUnitOfWork)
    assert isinstance(other.uow, StoresUnitOfWork)
    assert one.uow._lock is other.uow._lock is stores.orders.commit_lock
    one.driver_online("amadou", "taxi_jaune", LatLng(4.0530, 9.7050))
    order = other.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH", command_id="c-1")
    assert one.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH", command_id="c-1") == order
    assert stores.drivers.get("amadou").order_id == order.id


def test_the_configuration_sets_prices_pool_and_service(tmp_path: Path) -> None:
    data = {**DOUALA_CONFIG, "pool": {"default": {"max_waiting_time_s": 20}},
            "service": {"search_radius_km": 4}}  # fmt: skip
    path = tmp_path / "operator.json"
    path.write_text(json.dumps(data))
    for config in (data, path, load_config(data)):
        service = build_service(config)
        assert service.settings.search_radius_km == 4
        assert service.pool.settings_for("douala", "taxi_jaune").max_waiting_time_s == 20
        assert service.pricer.config == load_config(data).pricing


def test_a_mapping_gives_some_ports_and_the_rest_is_in_memory() -> None:
    stores = InMemoryStores()
    service = build_service(DOUALA_CONFIG, {"drivers": stores.drivers, "orders": None})
    assert service.drivers is stores.drivers
    assert service.orders is not stores.orders
    with pytest.raises(ValueError, match="'clock' is not a store"):
        build_service(DOUALA_CONFIG, {"clock": ManualClock(T0)})


def test_an_explicit_notifier_wins_over_the_stores_one() -> None:
    mine, theirs = RecordingNotifier(), NullNotifier()
    assert build_service(DOUALA_CONFIG, {"notifier": theirs}).notifier is theirs
    assert build_service(DOUALA_CONFIG, {"notifier": theirs}, notifier=mine).notifier is mine


def test_store_mapping_reads_an_object_by_the_service_names() -> None:
    stores = InMemoryStores()
    found = store_mapping(stores)
    assert set(found) <= set(STORE_NAMES)
    assert found["orders"] is stores.orders
    assert isinstance(found["unit_of_work"], StoresUnitOfWork)
