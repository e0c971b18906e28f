"""The OrderHistory contract: orders by when they were made, what the reports read."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest
from places import T0, WAT
from samples import StoredOrders, new_order

from vtc_dispatch.errors import InvalidArgument
from vtc_dispatch.ports import OrderHistory


def test_orders_made_in_the_window_oldest_first(order_history: StoredOrders) -> None:
    assert isinstance(order_history, OrderHistory)
    # Added out of order; "late" ends the window (excluded), "early" opens it (included).
    for order_id, minutes in [("b", 30), ("late", 60), ("a", 10), ("early", 0), ("before", -1)]:
        order_history.add(
            attrs.evolve(new_order(order_id), created_at=T0 + timedelta(minutes=minutes))
        )
    end = T0 + timedelta(hours=1)
    assert [o.id for o in order_history.created_between(T0, end)] == ["early", "a", "b"]
    # The bounds in another time zone name the same instants.
    in_douala = order_history.created_between(T0.astimezone(WAT), end.astimezone(WAT))
    assert [o.id for o in in_douala] == ["early", "a", "b"]
    assert list(order_history.created_between(end, end)) == []


def test_each_order_as_last_saved(order_history: StoredOrders) -> None:
    stored = order_history.add(new_order("o1"))
    order_history.save(attrs.evolve(stored, offers_made=3), expected_version=1)
    [found] = order_history.created_between(T0, T0 + timedelta(seconds=1))
    assert (found.id, found.version, found.offers_made) == ("o1", 2, 3)


def test_instants_without_a_time_zone_are_refused_at_the_call(order_history: StoredOrders) -> None:
    naive = datetime(2026, 11, 21, 8, 0)
    with pytest.raises(InvalidArgument, match="start must be a timezone-aware datetime"):
        order_history.created_between(naive, T0)
    with pytest.raises(InvalidArgument, match="end must be a timezone-aware datetime"):
        order_history.created_between(T0, naive)
