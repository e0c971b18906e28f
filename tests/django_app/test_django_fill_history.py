"""``manage.py fill_history`` (the example project's): a small simulated day in the app's stores."""

from __future__ import annotations

import io
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django_demo import Demo
from django_example import PROJECT

from django_app.test_django_rest import get  # type: ignore[import-not-found]


@pytest.mark.slow
def test_a_simulated_day_shows_in_the_demo_users_dashboards(demo: Demo) -> None:
    from vtc_dispatch_django.models import DriverActivity, DriverPresence, OrderRecord
    from vtc_dispatch_django.models import OrderTransition as Transition

    sys.path.insert(0, str(PROJECT))
    try:
        from demo.management.commands.fill_history import (  # type: ignore[import-not-found]
            Command,
        )
    finally:
        sys.path.remove(str(PROJECT))
    out = io.StringIO()
    call_command(Command(), days=1, requests_per_day=30, drivers=4, seed=3, stdout=out)
    assert " requests over 1 days from " in out.getvalue()
    orders = OrderRecord.objects.filter(order_id__startswith="hist-")
    assert orders.exists()
    # Every order's state changes are in the audit; nobody is left online in the past.
    for record in orders:
        assert Transition.objects.filter(order_id=record.order_id).exists()
    assert not DriverPresence.objects.filter(online=True).exists()
    day = datetime.now(ZoneInfo("Africa/Douala")).date() - timedelta(days=1)
    period = {"from": str(day), "to": str(day)}
    rides = 0
    for name in ("amadou", "brice", "carine"):
        driver_id = demo.ids[name]
        board = get(demo, name, "driver/dashboard/", **period).json()
        assert board["rides_done"] == orders.filter(driver_id=driver_id, state="done").count()
        rides += board["rides_done"]
        went = DriverActivity.objects.filter(driver_id=driver_id)
        assert went.filter(outcome="online").count() == went.filter(outcome="offline").count()
        assert (board["online_s"] > 0) == went.filter(outcome="online").exists()
    assert rides > 0
    customers = [
        get(demo, n, "customer/dashboard/", **period).json() for n in ("chantal", "didier")
    ]
    placed = orders.filter(customer_id__in=[demo.ids["chantal"], demo.ids["didier"]])
    assert sum(c["orders_placed"] for c in customers) == placed.count() > 0
