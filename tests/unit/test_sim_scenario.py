"""Scenario files: the shipped Douala scenario, file formats, and readable errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sim_scenarios import douala_data, goods_data

from vtc_dispatch.kinds import OrderKind
from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch.sim.scenario import (
    InvalidScenario,
    Span,
    bidding_types,
    load_scenario,
    scenario_kind,
)


def test_douala_is_shipped_with_the_douala_tariffs() -> None:
    scenario = load_scenario("douala")
    config = scenario.dispatch_config()
    assert scenario.name == "douala"
    assert set(config.pricing.vehicle_types) == set(DOUALA_CONFIG["vehicle_types"])
    assert config.pool.settings_for("douala", "taxi_jaune").max_waiting_time_s == 20.0
    assert config.service.search_radius_km == 6.0
    assert {g.vehicle_type for g in scenario.fleet} == {"taxi_jaune", "confort"}
    assert len(scenario.demand.hotspots) >= 5


@pytest.mark.parametrize(
    ("name", "kind", "bid_on"),
    [
        ("dakar-freight", OrderKind.FREIGHT, {"camion_10t", "camionnette_3t"}),
        ("dakar-delivery", OrderKind.DELIVERY, set()),
    ],
)
def test_the_dakar_scenarios_are_shipped_with_the_dakar_tariffs(
    name: str, kind: OrderKind, bid_on: set[str]
) -> None:
    scenario = load_scenario(name)
    config = scenario.dispatch_config()
    assert scenario.name == name
    assert scenario_kind(scenario, config) is kind
    assert config.pricing.countries["SN"].currency == "XOF"
    assert {g.vehicle_type for g in scenario.fleet} <= set(config.pricing.vehicle_types)
    # Freight is bid on (its kind's default mode), deliveries offered one rider at a time.
    assert bidding_types(scenario, config) == bid_on
    assert (scenario.merchants is not None) is (kind is OrderKind.DELIVERY)
    assert load_scenario(scenario.model_dump(mode="json")) == scenario


def test_a_loaded_scenario_rebuilds_from_its_dump() -> None:
    scenario = load_scenario("douala")
    assert load_scenario(scenario.model_dump(mode="json")) == scenario


def _write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    if name.endswith(".yaml"):
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
    else:
        path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_yaml_and_toml_files_load(tmp_path: Path) -> None:
    data = douala_data()
    from_yaml = load_scenario(_write(tmp_path, "city.yaml", data))
    toml = tmp_path / "tiny.toml"
    toml.write_text(
        """
name = "tiny"
start = 2026-11-23T08:00:00+01:00
[city]
center = [4.05, 9.72]
radius_km = 3
[dispatch]
pricing = "douala"
[[fleet]]
vehicle_type = "taxi_jaune"
drivers = 3
shifts = [{start = "08:00", hours = 4, share = 1.0}]
[demand]
requests_per_day = 100
hourly_profile = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
[customers]
vehicle_preference = {taxi_jaune = 1}
""",
        encoding="utf-8",
    )
    tiny = load_scenario(toml)
    assert from_yaml.name == "douala"
    assert tiny.fleet[0].drivers == 3
    assert tiny.customers.patience_s == Span(low=60, mode=300, high=900)


def test_a_pricing_file_beside_the_scenario_is_read_in(tmp_path: Path) -> None:
    operator = {
        **DOUALA_CONFIG,
        "pool": {"default": {"max_waiting_time_s": 12}},
    }
    (tmp_path / "operator.json").write_text(json.dumps(operator), encoding="utf-8")
    data = douala_data()
    data["dispatch"] = {"pricing": "operator.json", "service": {"search_radius_km": 4}}
    scenario = load_scenario(_write(tmp_path, "s.yaml", data))
    assert isinstance(scenario.dispatch.pricing, dict)  # self-contained from now on
    config = scenario.dispatch_config()
    assert config.pool.settings_for("douala", "confort").max_waiting_time_s == 12.0
    assert config.service.search_radius_km == 4.0


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(InvalidScenario) as caught:
        load_scenario(data)
    return str(caught.value)


def test_errors_name_the_field_and_the_value() -> None:
    data = douala_data()
    data["demand"]["hourly_profile"] = [1.0] * 23
    assert _error(data) == (
        "scenario: demand.hourly_profile: Value error, hourly_profile needs 24 values"
        " (one per hour), got 23"
    ).replace("Value error, ", "")

    data = douala_data()
    data["fleet"][0]["drivers"] = -4
    message = _error(data)
    assert "fleet[0].drivers" in message
    assert "-4" in message

    data = douala_data()
    data["fleet"][1]["shifts"][0]["share"] = 0.9
    assert "fleet[1].shifts: shift shares must add up to 1, got 1.4" in _error(data)

    data = douala_data()
    data["drivers"]["answer_delay_s"] = [10, 5, 20]
    assert "drivers.answer_delay_s" in (message := _error(data))
    assert "low <= mode <= high, got [10.0, 5.0, 20.0]" in message

    data = douala_data()
    data["demand"]["background_weight"] = 0
    for spot in data["demand"]["hotspots"]:
        spot["dropoff_weight"] = 0
    assert _error(data) == (
        "scenario: demand: no dropoff place at hour 0: background_weight is 0 and so is"
        " every hotspot's dropoff_weight then"
    )

    data = douala_data()
    data["customers"]["unknown_field"] = 3
    assert "customers.unknown_field: Extra inputs are not permitted" in _error(data)


def test_cross_checks_with_the_operator_configuration() -> None:
    data = douala_data()
    data["fleet"][0]["vehicle_type"] = "moto"
    assert _error(data) == (
        "scenario douala: fleet[0].vehicle_type: unknown vehicle type 'moto'"
        " (the pricing has confort, taxi_jaune)"
    )

    data = douala_data()
    data["dispatch"]["pool"] = {"default": {"mode": "bidding", "bidding_window_s": 60}}
    assert "mode 'bidding'" in _error(data)
    assert "is not simulated" in _error(data)

    data = douala_data()
    data["demand"]["hotspots"][0]["center"] = [4.50, 9.70]  # north of the priced area
    message = _error(data)
    assert "demand.hotspots[0] (akwa)" in message
    assert "leaves the pricing's cities" in message

    data = douala_data()
    data["customers"]["payment_methods"] = {"CASH": 1, "BITCOIN": 1}
    assert "'BITCOIN' is not enabled in CM" in _error(data)

    data = douala_data()
    data["customers"]["payment_methods"] = {"WALLET": 1}
    assert "WALLET is not simulated" in _error(data)

    data = douala_data()
    data["dispatch"]["pool"] = {"default": {"radius_min_km": 9, "radius_max_km": 3}}
    assert "dispatch.pool.default" in (message := _error(data))
    assert "radius_min_km (9.0) is above radius_max_km (3.0)" in message


def test_cross_checks_of_freight_and_delivery_scenarios() -> None:
    data = goods_data("dakar-freight")
    data["customers"]["vehicle_preference"] = {"camion_10t": 1, "moto_livraison": 1}
    assert _error(data) == (
        "scenario dakar-freight: customers.vehicle_preference: 'moto_livraison' is of kind"
        " delivery, fleet[0].vehicle_type 'camion_10t' of kind freight: a scenario simulates"
        " one kind"
    )

    data = goods_data("dakar-delivery")
    data["merchants"] = None
    assert "merchants: a delivery scenario needs its restaurants" in _error(data)

    data = goods_data("dakar-freight")
    data["merchants"] = {"count": 3}
    assert "merchants: only a delivery scenario has merchants" in _error(data)

    data = goods_data("dakar-freight")
    data["receipt"]["proof_offset_m"] = [0, 50, 500]
    assert _error(data) == (
        "scenario dakar-freight: receipt.proof_offset_m: up to 500 m from the destination,"
        " but a proof counts within 200 m (dispatch.service.proof_radius_km)"
    )

    data = goods_data("dakar-freight")
    data["receipt"]["stars"] = [0, 4, 5]
    assert _error(data) == "scenario: receipt.stars: stars are from 1 to 5, got [0.0, 4.0, 5.0]"


def test_missing_files_and_names_are_told(tmp_path: Path) -> None:
    with pytest.raises(
        InvalidScenario,
        match=r"no scenario 'paris'.*built-in scenario \(douala, dakar-freight, dakar-delivery\)",
    ):
        load_scenario("paris")
    data = douala_data()
    data["dispatch"]["pricing"] = "nowhere.yaml"
    with pytest.raises(InvalidScenario, match=r"'nowhere\.yaml' is neither a built-in"):
        load_scenario(_write(tmp_path, "s.yaml", data))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(InvalidScenario, match="not valid YAML"):
        load_scenario(bad)


def test_scaled_keeps_the_shares_and_counts_exactly() -> None:
    scenario = load_scenario("douala")
    scaled = scenario.scaled(requests_per_day=1000, drivers=77)
    assert scaled.total_drivers == 77
    assert scaled.demand.requests_per_day == 1000
    shares = [g.drivers / scenario.total_drivers for g in scenario.fleet]
    for group, share in zip(scaled.fleet, shares, strict=True):
        assert abs(group.drivers - 77 * share) < 1
