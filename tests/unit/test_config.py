"""One operator file: pricing, pool and service sections together."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vtc_dispatch.config import load_config
from vtc_dispatch.errors import InvalidPricingConfig
from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch.service import DispatchService


def test_a_yaml_file_configures_the_whole_service(tmp_path: Path) -> None:
    path = tmp_path / "operator.yaml"
    data = {
        **DOUALA_CONFIG,
        "pool": {
            "default": {"max_waiting_time_s": 20},
            "overrides": [{"vehicle_type": "confort", "settings": {"mode": "batch"}}],
        },
        "service": {"search_radius_km": 4, "rating_threshold": 3.5},
    }
    path.write_text(yaml.safe_dump(data))
    config = load_config(path)
    service = DispatchService(pricing=config.pricing, pool=config.pool, settings=config.service)
    assert service.settings.search_radius_km == 4
    assert service.pool.settings_for("douala", "confort").mode == "batch"
    assert service.pool.settings_for("douala", "taxi_jaune").max_waiting_time_s == 20
    assert sorted(config.pricing.vehicle_types) == ["confort", "taxi_jaune"]


def test_sections_are_optional() -> None:
    config = load_config(DOUALA_CONFIG)
    assert config.pool.default.max_waiting_time_s == 30
    assert config.service.search_radius_km == 5


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("pool", {"default": {"mode": "lottery"}}, r"pool\.default\.mode: Input should be"),
        ("service", {"arrive_radius_km": -1}, r"service\.arrive_radius_km: Input should be"),
        ("service", {"colour": "red"}, r"service\.colour: Extra inputs are not permitted"),
    ],
)
def test_errors_name_the_section_and_field(section: str, value: object, message: str) -> None:
    with pytest.raises(InvalidPricingConfig, match=message):
        load_config({**DOUALA_CONFIG, section: value})
    with pytest.raises(InvalidPricingConfig, match=r"tariffs\[0\]\.per_km"):
        load_config({**DOUALA_CONFIG, "tariffs": [{**DOUALA_CONFIG["tariffs"][0], "per_km": "-1"}]})
