"""RideReader: the driver, his order and its progress read together, as the ports read them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis_support
from places import AKWA, DEIDO, T0

from vtc_dispatch.bootstrap import build_service
from vtc_dispatch.errors import NotFound
from vtc_dispatch.geo import destination_point
from vtc_dispatch.memory import InMemoryStores, ManualClock
from vtc_dispatch.ports import PortsRideReader, RideReader
from vtc_dispatch.pricing import douala_config


@pytest.fixture(params=["memory", "redis"])
def ports(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    if request.param == "memory":
        yield InMemoryStores().ports()
        return
    storage = redis_support.fresh_storage()
    yield storage.ports()
    storage.clear()


def _reader(ports: dict[str, Any]) -> RideReader:
    reader: RideReader = ports.get("rides") or PortsRideReader(
        ports["drivers"], ports["orders"], ports["progress"]
    )
    return reader


def test_a_ride_read_together_is_what_the_ports_read(ports: dict[str, Any]) -> None:
    clock = ManualClock(T0)
    service = build_service(douala_config(), ports, clock=clock)
    reader = _reader(ports)
    with pytest.raises(NotFound, match="no driver 'ghost'"):
        reader.ride_of("ghost")
    service.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0, 0.3))
    status, order, progress = reader.ride_of("amadou")
    assert (status, order, progress) == (ports["drivers"].get("amadou"), None, None)

    offered = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    status, order, progress = reader.ride_of("amadou")
    assert (status.order_id, order, progress) == (offered.id, offered, None)  # offered: no ride

    service.accept("amadou", offered.id)
    clock.advance(timedelta(seconds=30))
    service.update_position("amadou", destination_point(AKWA, 0, 0.15))
    status, order, progress = reader.ride_of("amadou")
    assert order == ports["orders"].get(offered.id)
    assert progress == ports["progress"].get(offered.id)
    assert progress is not None
    assert len(progress.approach.points) == 1

    clock.advance(timedelta(seconds=30))
    service.update_position("amadou", AKWA)
    service.arrived("amadou", offered.id)
    service.start_trip("amadou", offered.id)
    clock.advance(timedelta(minutes=5))
    service.update_position("amadou", DEIDO)
    service.complete_trip("amadou", offered.id)
    assert reader.ride_of("amadou") == (ports["drivers"].get("amadou"), None, None)
