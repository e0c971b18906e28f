"""The app's JSON columns hold the core's stored form (vtc_dispatch.codec) as it is; a row the
codec refuses is a StorageUnavailable naming the order and the field, not a client error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vtc_dispatch.codec import order_to_data, progress_to_data
from vtc_dispatch.errors import StorageUnavailable
from vtc_dispatch.geo import LatLng, destination_point
from vtc_dispatch.memory import ManualClock
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService

AKWA = LatLng(4.0511, 9.7043)
DEIDO = LatLng(4.0650, 9.7250)


def test_rows_hold_the_core_data_and_a_broken_row_is_refused(db: Any) -> None:
    from vtc_dispatch_django.models import OrderRecord, ProgressRecord
    from vtc_dispatch_django.repositories import DjangoOrderRepository, DjangoProgressStore

    clock = ManualClock(datetime(2026, 11, 21, 20, 0, tzinfo=UTC))
    orders, progress = DjangoOrderRepository(), DjangoProgressStore()
    service = DispatchService(
        pricing=douala_config(), clock=clock, orders=orders, progress=progress
    )
    service.driver_online("d1", "taxi_jaune", destination_point(AKWA, 45, 0.05))
    order = service.create_order("c", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("d1", order.id)
    clock.advance(timedelta(seconds=10))
    service.update_position("d1", destination_point(AKWA, 90, 0.2))
    order = service.orders.get(order.id)
    record = OrderRecord.objects.get(order_id=order.id)
    assert record.data == order_to_data(order)
    assert orders.get(order.id) == order
    saved = progress.get(order.id)
    assert saved.approach.points
    assert ProgressRecord.objects.get(order_id=order.id).data == progress_to_data(saved)

    OrderRecord.objects.filter(order_id=order.id).update(data={**record.data, "offers_made": "2"})
    with pytest.raises(StorageUnavailable, match=rf"order '{order.id}': field 'offers_made'.*'2'"):
        orders.get(order.id)
    OrderRecord.objects.filter(order_id=order.id).update(data={**record.data, "format": 1})
    with pytest.raises(
        StorageUnavailable, match="stored in format 1, this code reads formats 2 to 3"
    ):
        orders.get(order.id)
