"""Small simulation scenarios for the tests: the Douala scenario, shrunk and changed."""

from __future__ import annotations

import copy
from typing import Any

from vtc_dispatch.sim.scenario import Scenario, load_scenario

_DOUALA = load_scenario("douala").model_dump(mode="json")


def douala_data() -> dict[str, Any]:
    """A deep copy of the shipped Douala scenario as plain data."""
    return copy.deepcopy(_DOUALA)


def small_scenario(
    requests_per_day: float = 240,
    drivers: int = 12,
    hours: float = 24.0,
    **changes: Any,
) -> Scenario:
    """Douala at a small volume; ``changes`` are dotted paths, e.g. ``drivers__no_answer=1``."""
    data = douala_data()
    data["demand"]["requests_per_day"] = requests_per_day
    data["duration_h"] = hours
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    scenario = load_scenario(data)
    return scenario.scaled(drivers=drivers)
