"""Django rows holding records stored in an earlier format read through the core codec; rows
stored before the kind column get their kind from the order they hold."""

from __future__ import annotations

import importlib
from typing import Any

import attrs
import pytest
from make_fixtures import facts, load
from places import T0
from samples import new_order

from vtc_dispatch.codec import FORMAT, order_from_data, order_to_data
from vtc_dispatch.errors import StorageUnavailable
from vtc_dispatch.fsm import DELIVERY, FREIGHT

ENTRIES = load(2)


def _order_row(order_id: str, version: int, data: Any) -> None:
    from vtc_dispatch_django.models import OrderRecord

    order = order_from_data(data, version=version)  # the columns only: the row keeps data as is
    OrderRecord.objects.filter(order_id=order_id).delete()  # one row per order, any step
    OrderRecord.objects.create(
        order_id=order_id,
        customer_id=order.customer_id,
        driver_id=order.driver_id,
        vehicle_type=order.vehicle_type,
        state=order.state,
        active=order.is_active,
        payment_method=order.payment_method,
        payment_status=str(order.payment_status),
        currency=order.quote.currency,
        estimate=order.quote.estimate,
        created_at=order.created_at,
        version=version,
        data=data,
    )


def test_rows_of_format_2_read_back_as_they_were(db: Any) -> None:
    from vtc_dispatch_django.models import ProgressRecord
    from vtc_dispatch_django.repositories import DjangoOrderRepository, DjangoProgressStore

    orders, progress = DjangoOrderRepository(), DjangoProgressStore()
    for entry in ENTRIES:
        data = entry["data"]
        if entry["record"] == "order":
            _order_row(data["id"], entry["version"], data)
            assert facts(orders.get(data["id"])) == entry["facts"], entry["where"]
        elif entry["record"] == "ride progress":
            ProgressRecord.objects.update_or_create(
                order_id=data["order_id"], defaults={"version": entry["version"], "data": data}
            )
            assert facts(progress.get(data["order_id"])) == entry["facts"], entry["where"]


def test_a_row_stored_before_a_field_reads_with_its_default_and_a_newer_one_is_refused(
    db: Any,
) -> None:
    from vtc_dispatch_django.models import OrderRecord
    from vtc_dispatch_django.repositories import DjangoOrderRepository

    rated = next(e for e in ENTRIES if e["step"] == "rated")
    older = {k: v for k, v in rated["data"].items() if k not in ("ratings", "tried")}
    _order_row(rated["data"]["id"], 3, older)
    order = DjangoOrderRepository().get(rated["data"]["id"])
    assert (order.ratings, order.tried, order.state) == ((), frozenset(), "done")
    _order_row("newer", 1, {**rated["data"], "id": "newer"})
    OrderRecord.objects.filter(order_id="newer").update(
        data={**rated["data"], "id": "newer", "format": FORMAT + 1}
    )
    with pytest.raises(StorageUnavailable, match=f"order 'newer': stored in format {FORMAT + 1}"):
        DjangoOrderRepository().get("newer")


def test_rows_stored_before_the_kind_column_get_the_kind_of_their_lifecycle(db: Any) -> None:
    """Migration 0009 adds the column with ``ride`` and reads each row's kind from its data."""
    from django.apps import apps

    from vtc_dispatch_django.models import OrderRecord

    migration = importlib.import_module("vtc_dispatch_django.migrations.0009_kinds")
    orders = {
        "r1": new_order("r1"),
        "f1": attrs.evolve(new_order("f1"), lifecycle=FREIGHT.start("f1", T0)),
        "d1": attrs.evolve(new_order("d1"), lifecycle=DELIVERY.start("d1", T0), merchant_id="m"),
    }
    for order_id, order in orders.items():
        _order_row(order_id, 1, order_to_data(order))
    assert set(OrderRecord.objects.values_list("kind", flat=True)) == {"ride"}  # the default
    OrderRecord.objects.create(
        order_id="unreadable", customer_id="c", vehicle_type="x", state="draft", active=True,
        payment_method="CASH", payment_status="none", currency="XOF", estimate=0,
        created_at=T0, version=1, data=["not", "an", "order"],
    )  # fmt: skip
    migration.kinds_from_the_stored_orders(apps, None)
    kinds = dict(OrderRecord.objects.values_list("order_id", "kind"))
    assert kinds == {"r1": "ride", "f1": "freight", "d1": "delivery", "unreadable": "ride"}
