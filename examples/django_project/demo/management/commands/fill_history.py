"""``manage.py fill_history``: a few days of rides, played by the simulation into the app's stores.

A fresh install has no history: the dashboards and the operator's reports
would show zeros.  This command runs the city simulation
(:mod:`vtc_dispatch.sim`, the ``douala`` scenario scaled down) over the
last ``--days`` days, ending at the start of today (local), with the
app's own stores (the database, or Redis with ``VTC_STORES=redis``): the
orders, their state changes, the drivers' activity and the ratings land
where the app reads them (the phones' presence reports are not played:
drivers are online through their shifts).  Run ``seed_demo`` first: the
scenario's pricing is the Douala demo's.

The demo's users take part: ``amadou`` and ``brice`` drive two of the
simulated taxis, ``carine`` one of the confort cars, and ``chantal`` and
``didier`` place some of the requests (never two at once), so their
dashboards show something.  The other drivers and customers are the
simulation's (``sim-d1``, ``sim-c1``...).  Each run's orders are named
apart (``hist-<time>-``): running it again adds another history.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from vtc_dispatch.errors import NotFound
from vtc_dispatch.sim import Simulation, load_scenario
from vtc_dispatch.sim.behaviour import Decider, ModelDecider, RequestPlan, ShiftPlan
from vtc_dispatch_django.runtime import app_stores, reset_service

DEMO_DRIVERS = {"taxi_jaune": ("amadou", "brice"), "confort": ("carine",)}
DEMO_CUSTOMERS = ("chantal", "didier")
CUSTOMER_GAP = timedelta(hours=3)
"""A demo customer is given a request only this long after his previous one: one at a time."""


class DemoParties:
    """A :class:`~vtc_dispatch.sim.behaviour.Decider` that renames the simulation's parties:
    some to the demo users' ids, the others ``sim-...``; the decisions are the model's."""

    def __init__(self, model: Decider, drivers: dict[str, list[str]], customers: list[str]) -> None:
        self._model = model
        self._free_drivers = {vehicle: list(ids) for vehicle, ids in drivers.items()}
        self._drivers: dict[str, str] = {}
        self._customers = customers
        self._last_us = dict.fromkeys(customers, -(10**18))
        self._turn = 0

    def _driver(self, sim_id: str, vehicle_type: str) -> str:
        if sim_id not in self._drivers:
            free = self._free_drivers.get(vehicle_type) or []
            self._drivers[sim_id] = free.pop(0) if free else f"sim-{sim_id}"
        return self._drivers[sim_id]

    def driver_ids(self) -> set[str]:
        """The drivers of the shifts given so far, as renamed."""
        return set(self._drivers.values())

    def shifts(self) -> list[ShiftPlan]:
        return [
            plan._replace(driver_id=self._driver(plan.driver_id, plan.vehicle_type))
            for plan in self._model.shifts()
        ]

    def next_request(self) -> RequestPlan | None:
        plan = self._model.next_request()
        if plan is None:
            return None
        gap_us = CUSTOMER_GAP // timedelta(microseconds=1)
        if self._customers:
            customer = self._customers[self._turn % len(self._customers)]
            if plan.t_us - self._last_us[customer] >= gap_us:
                self._turn += 1
                self._last_us[customer] = plan.t_us
                return plan._replace(customer_id=customer)
        return plan._replace(customer_id=f"sim-{plan.customer_id}")

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # choose, answer, retry, withdraw: the model's, whoever the party is.
        found: Callable[..., Any] = getattr(self._model, name)
        return found


class Command(BaseCommand):
    help = "Fill the last days with simulated rides (dashboards and reports show something)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=3, help="days of history (3)")
        parser.add_argument(
            "--requests-per-day", type=float, default=120.0, help="requests a day (120)"
        )
        parser.add_argument("--drivers", type=int, default=12, help="simulated drivers (12)")
        parser.add_argument("--seed", type=int, default=1, help="the simulation's seed (1)")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if not 1 <= days <= 14:
            raise CommandError(f"--days must be 1 to 14, got {days}")
        base = load_scenario("douala")
        zone = ZoneInfo("Africa/Douala")
        today = datetime.combine(datetime.now(zone).date(), time(0), tzinfo=zone)
        data = base.scaled(
            requests_per_day=options["requests_per_day"], drivers=options["drivers"]
        ).model_dump(mode="json")
        service = data["dispatch"].get("service") or {}
        scenario = load_scenario(
            {
                **data,
                "start": (today - timedelta(days=days)).isoformat(),
                "duration_h": 24 * days,
                # The phones' presence reports are not played: a seventh of the writes.
                "dispatch": {
                    **data["dispatch"],
                    "service": {**service, "presence_timeout_s": None},
                },
            }
        )
        users = get_user_model()
        ids = {u.get_username(): str(u.pk) for u in users.objects.all()}
        drivers = {v: [ids[n] for n in names if n in ids] for v, names in DEMO_DRIVERS.items()}
        customers = [ids[n] for n in DEMO_CUSTOMERS if n in ids]
        seed = options["seed"]
        decider = DemoParties(ModelDecider(scenario, seed), drivers, customers)
        sim = Simulation(
            scenario,
            seed=seed,
            decider=decider,
            stores=app_stores(),
            order_prefix=f"hist-{datetime.now(zone):%Y%m%d%H%M%S}-",
        )
        result = sim.run()
        # Drivers still on shift at the end go off then: nobody is left online in the past.
        for driver_id in sorted(decider.driver_ids()):
            with contextlib.suppress(NotFound):
                if sim.service.drivers.get(driver_id).online:
                    sim.service.driver_offline(driver_id)
        reset_service()
        kpis = result.kpis
        self.stdout.write(
            f"{kpis['requests']} requests over {days} days from {scenario.start:%Y-%m-%d}:"
            f" {kpis['outcomes']}"
        )
