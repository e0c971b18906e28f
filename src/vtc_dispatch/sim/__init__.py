"""A city simulation around the production dispatch code: try settings and tariffs first.

A discrete-event engine (:class:`Simulation`) drives the real
:class:`~vtc_dispatch.service.DispatchService` through a
:class:`~vtc_dispatch.memory.ManualClock`: drivers on shifts, customers
requesting by a Poisson process with an hourly profile and hotspots,
drivers answering offers (or not) and customers losing patience.  A
scenario file (:func:`load_scenario`) bundles the city, fleet, demand,
behaviours and the operator's configuration.  Three are shipped, one per
kind of order: ``douala`` (rides), ``dakar-freight`` (shippers' loads,
carriers bidding, proofs of delivery, receipts and disputes) and
``dakar-delivery`` (restaurants preparing, riders tracked every 5 s, codes
at the door).  Runs are deterministic for a seed, and their event log
replays exactly.

Plain Python only: plots (:mod:`vtc_dispatch.sim.plots`) need matplotlib
(``pip install 'vtc-dispatch[sim]'``), asked for only when plotting.

>>> scenario = load_scenario("douala").scaled(requests_per_day=150, drivers=15)
>>> result = simulate(scenario, seed=2)
>>> result.kpis["requests"] == simulate(scenario, seed=2).kpis["requests"]
True
>>> load_scenario("dakar-freight").dispatch_config().pricing.countries["SN"].currency
'XOF'
"""

from __future__ import annotations

from typing import IO

from vtc_dispatch.errors import shown
from vtc_dispatch.sim.engine import Simulation
from vtc_dispatch.sim.eventlog import ReplayDecider, ReplayMismatch, read_header
from vtc_dispatch.sim.kpis import (
    DELIVERY_OUTCOMES,
    FREIGHT_OUTCOMES,
    OUTCOMES,
    SimResult,
    Timing,
    format_kpis,
)
from vtc_dispatch.sim.scenario import BUILTIN_SCENARIOS, InvalidScenario, Scenario, load_scenario

__all__ = [
    "BUILTIN_SCENARIOS",
    "DELIVERY_OUTCOMES",
    "FREIGHT_OUTCOMES",
    "OUTCOMES",
    "InvalidScenario",
    "ReplayMismatch",
    "Scenario",
    "SimResult",
    "Simulation",
    "Timing",
    "format_kpis",
    "load_scenario",
    "replay",
    "simulate",
]


def simulate(
    scenario: Scenario | str,
    seed: int | None = None,
    *,
    event_log: IO[str] | None = None,
) -> SimResult:
    """Run a scenario (or a built-in one by name) and return its result."""
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    return Simulation(scenario, seed=seed, event_log=event_log).run()


def replay(stream: IO[str]) -> SimResult:
    """Run again the decisions of an event log; :class:`ReplayMismatch` if anything differs.

    Every request outcome and the final KPIs are checked against the log.
    """
    header = read_header(stream)
    try:
        scenario = load_scenario(header["scenario"])
    except InvalidScenario as exc:
        raise ReplayMismatch(f"line 1: the log's scenario is not valid: {exc}") from None
    seed = header.get("seed")
    if not isinstance(seed, int):
        raise ReplayMismatch(f"line 1: the log's seed is not an integer: {shown(seed)}")
    return Simulation(scenario, seed=seed, decider=ReplayDecider(stream)).run()
