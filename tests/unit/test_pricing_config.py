"""Loading the pricing configuration, and every error it must refuse with a clear message."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from vtc_dispatch.errors import InvalidPricingConfig
from vtc_dispatch.pricing import load_pricing_config
from vtc_dispatch.pricing.douala import DOUALA_CONFIG


def douala() -> dict[str, Any]:
    return copy.deepcopy(DOUALA_CONFIG)


def test_loads_from_mapping_json_and_yaml(tmp_path: Path) -> None:
    expected = load_pricing_config(douala())
    (tmp_path / "p.json").write_text(json.dumps(DOUALA_CONFIG))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(DOUALA_CONFIG))
    assert load_pricing_config(tmp_path / "p.json") == expected
    assert load_pricing_config(str(tmp_path / "p.yaml")) == expected


TOML = """
[countries.SN]
currency = "XOF"
timezone = "Africa/Dakar"
rounding = { step = "25", mode = "up" }

[cities.dakar]
country = "SN"

[cities.dakar.area]
type = "Polygon"
coordinates = [[[-17.6, 14.6], [-17.3, 14.6], [-17.3, 14.9], [-17.6, 14.6]]]

[vehicle_types.moto]
label = "Moto"
seats = 1

[[tariffs]]
city = "dakar"
vehicle_type = "moto"
base_fare = "200"
per_km = "100"
"""


def test_loads_toml(tmp_path: Path) -> None:
    path = tmp_path / "dakar.toml"
    path.write_text(TOML)
    config = load_pricing_config(path)
    assert config.countries["SN"].rounding_rule().step == 25
    assert config.tariffs[0].per_km == 100


def test_default_rounding_is_one_minor_unit() -> None:
    data = douala()
    del data["countries"]["CM"]["rounding"]
    assert load_pricing_config(data).countries["CM"].rounding_rule().step == 1


def _broken(path: str, value: object) -> dict[str, Any]:
    data = douala()
    node: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


_DELETE = object()
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[9.6, 4.0], [9.7, 4.1], [9.7, 4.0], [9.6, 4.1], [9.6, 4.0]]],
}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "tariffs.0.per_km",
            "-5",
            r"tariffs\[0\]\.per_km: .*greater than or equal to 0 \(got '-5'\)",
        ),
        ("tariffs.0.minimum_fare", "5000", None),
        (
            "tariffs.1.sections.1.from_km",
            "8",
            r"sections\[1\] \(from 8 km\) overlaps sections\[0\]",
        ),
        ("tariffs.1.sections.1.from_km", "12", r"gap between sections\[0\] \(to 10 km\)"),
        (
            "tariffs.0.night.end",
            "22:00",
            r"tariffs\[0\]\.night: .*both 22:00:00: the window is empty",
        ),
        (
            "tariffs.0.vehicle_type",
            "bus",
            r"tariffs\[0\]\.vehicle_type: unknown vehicle type 'bus'",
        ),
        (
            "fixed_routes.akwa_airport.to_zone",
            "port",
            r"fixed_routes\.akwa_airport\.to_zone: unknown zone 'port'",
        ),
        ("fixed_routes.akwa_airport.fares", {"van": "9000"}, r"fares: unknown vehicle type 'van'"),
        (
            "zones.bonapriso.area",
            BOWTIE,
            r"zones\.bonapriso\.area: invalid Polygon: Self-intersection",
        ),
        (
            "countries.CM.currency",
            "XXX1",
            r"countries\.CM\.currency: unknown ISO 4217 currency 'XXX1'",
        ),
        ("countries.CM.timezone", "Africa/Atlantis", r"unknown time zone 'Africa/Atlantis'"),
        ("cities.douala.country", "GA", r"cities\.douala\.country: unknown country 'GA'"),
        (
            "zones.bonapriso.surcharge",
            {"multiplier": "1.2", "fixed": "100"},
            r"exactly one of multiplier or fixed",
        ),
        ("tariffs.0.colour", "yellow", r"tariffs\[0\]\.colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_configuration_names_the_field(
    path: str, value: object, message: str | None
) -> None:
    data = _broken(path, value)
    if message is None:  # minimum above maximum
        data["tariffs"][0]["maximum_fare"] = "4000"
        message = r"tariffs\[0\]: .*minimum_fare \(5000\) is above maximum_fare \(4000\)"
    with pytest.raises(InvalidPricingConfig, match=message):
        load_pricing_config(data)


def test_duplicate_tariff_is_refused() -> None:
    data = douala()
    data["tariffs"].append(copy.deepcopy(data["tariffs"][0]))
    with pytest.raises(
        InvalidPricingConfig, match=r"tariffs\[2\]: a second tariff for douala/taxi_jaune"
    ):
        load_pricing_config(data)


def test_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidPricingConfig, match=r"p\.json: not valid JSON"):
        load_pricing_config(bad)
    other = tmp_path / "p.ini"
    other.write_text("[x]")
    with pytest.raises(InvalidPricingConfig, match=r"unknown format '\.ini'"):
        load_pricing_config(other)
    with pytest.raises(InvalidPricingConfig, match="cannot read"):
        load_pricing_config(tmp_path / "missing.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(InvalidPricingConfig, match="is a mapping, got list"):
        load_pricing_config(listed)
