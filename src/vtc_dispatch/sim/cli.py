"""``vtc-dispatch simulate``: run a scenario, print its KPIs, write JSON, plots, a log.

>>> from vtc_dispatch.cli import main
>>> main(["simulate", "--requests-per-day", "60", "--drivers", "8", "--quiet"])
... # doctest: +ELLIPSIS
                                  douala (seed 1)
requests                                       ...
served ...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.sim.engine import Simulation
from vtc_dispatch.sim.eventlog import ReplayDecider, read_header
from vtc_dispatch.sim.kpis import SimResult, format_kpis
from vtc_dispatch.sim.scenario import BUILTIN_SCENARIOS, InvalidScenario, Scenario, load_scenario

__all__ = ["add_parser", "run"]

DEFAULT_SCENARIO = "douala"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``simulate`` command to an argparse sub-parsers object."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="simulate a day of rides, freight or deliveries (default: rides in Douala)",
        description="Simulate a scenario with the production dispatch code and print its KPIs:"
        " rides in Douala (douala), freight loads with bidding (dakar-freight) or restaurant"
        " deliveries (dakar-delivery) in Dakar, or your own scenario file.",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        default=None,
        help=f"a scenario file (YAML, TOML, JSON) or a built-in name"
        f" ({', '.join(BUILTIN_SCENARIOS)}); default {DEFAULT_SCENARIO}",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the scenario's)"
    )
    parser.add_argument("--json", metavar="FILE", help="write the result as JSON ('-': stdout)")
    parser.add_argument("--plots", metavar="DIR", help="write PNG plots there (needs matplotlib)")
    parser.add_argument(
        "--compare", metavar="SCENARIO", help="run this other scenario too, same seed, side by side"
    )
    parser.add_argument(
        "--events-log", metavar="FILE", help="write the run's event log (JSON lines)"
    )
    parser.add_argument(
        "--replay", metavar="FILE", help="replay an event log and check it gives the same run"
    )
    parser.add_argument("--hours", type=float, help="simulate only this many hours")
    parser.add_argument("--requests-per-day", type=float, help="override the demand volume")
    parser.add_argument("--drivers", type=int, help="override the fleet size (shares kept)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


class _Bar:
    """A progress bar on stderr, by simulated time."""

    def __init__(self, label: str, stream: IO[str]) -> None:
        self._label = label
        self._stream = stream
        self._shown = -1
        self._t0 = time.perf_counter()

    def __call__(self, fraction: float) -> None:
        step = int(fraction * 40)
        if step == self._shown:
            return
        self._shown = step
        elapsed = time.perf_counter() - self._t0
        bar = "#" * step + "-" * (40 - step)
        end = "\n" if step >= 40 else ""
        self._stream.write(f"\r{self._label} [{bar}] {fraction:4.0%} {elapsed:5.1f} s{end}")
        self._stream.flush()


def _prepare(args: argparse.Namespace, source: str) -> Scenario:
    scenario = load_scenario(source)
    if args.requests_per_day is not None or args.drivers is not None:
        scenario = scenario.scaled(requests_per_day=args.requests_per_day, drivers=args.drivers)
    if args.hours is not None:
        scenario = load_scenario({**scenario.model_dump(mode="json"), "duration_h": args.hours})
    return scenario


def _run_one(
    scenario: Scenario, seed: int | None, args: argparse.Namespace, log: IO[str] | None
) -> SimResult:
    bar = None
    if not args.quiet and sys.stderr.isatty():
        bar = _Bar(scenario.name, sys.stderr)
    return Simulation(scenario, seed=seed, event_log=log, progress=bar).run()


def _timing(result: SimResult) -> str:
    t = result.timing
    rate = result.kpis["requests"] / t.wall_s if t.wall_s > 0 else 0.0
    return (
        f"{result.scenario}: {result.kpis['requests']} requests in {t.wall_s:.1f} s wall"
        f" ({rate:,.0f} requests/s; {t.service_s:.1f} s in DispatchService,"
        f" {t.sim_s:.1f} s in the simulation)"
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Carry out ``simulate`` with parsed arguments; returns the exit status."""
    if args.replay and (args.scenario or args.compare or args.events_log):
        parser.error(
            "--replay takes the scenario from the log: no scenario, --compare or --events-log"
        )
    if args.compare and args.events_log:
        parser.error("--events-log records one run: not with --compare")
    if args.drivers is not None and args.drivers < 0:
        parser.error(f"--drivers must be >= 0, got {args.drivers}")
    try:
        if args.plots:
            from vtc_dispatch.sim.plots import require_matplotlib  # noqa: PLC0415

            require_matplotlib()
        results = _results(args)
    except OSError as exc:
        print(f"vtc-dispatch simulate: {exc}", file=sys.stderr)
        return 2
    except DispatchError as exc:
        print(f"vtc-dispatch simulate: {exc}", file=sys.stderr)
        return 1 if not isinstance(exc, InvalidScenario) else 2
    out = sys.stdout
    out.write(format_kpis(results) + "\n")
    for result in results:
        out.write(_timing(result) + "\n")
    if args.replay:
        out.write(f"replay of {args.replay}: every outcome and the KPIs match the log\n")
    if args.json:
        data = (
            results[0].to_json() if len(results) == 1 else {"runs": [r.to_json() for r in results]}
        )
        text = json.dumps(data, indent=2) + "\n"
        if args.json == "-":
            out.write(text)
        else:
            Path(args.json).write_text(text, encoding="utf-8")
    if args.plots:
        from vtc_dispatch.sim.plots import write_plots  # noqa: PLC0415

        for path in write_plots(results, args.plots):
            out.write(f"plot: {path}\n")
    return 0


def _results(args: argparse.Namespace) -> list[SimResult]:
    if args.replay:
        with open(args.replay, encoding="utf-8") as stream:
            header = read_header(stream)
            scenario = load_scenario(header["scenario"])
            bar = None if args.quiet or not sys.stderr.isatty() else _Bar("replay", sys.stderr)
            simulation = Simulation(
                scenario, seed=header["seed"], decider=ReplayDecider(stream), progress=bar
            )
            return [simulation.run()]
    scenario = _prepare(args, args.scenario or DEFAULT_SCENARIO)
    seed = scenario.seed if args.seed is None else args.seed
    if args.events_log:
        with open(args.events_log, "w", encoding="utf-8") as log:
            return [_run_one(scenario, seed, args, log)]
    results = [_run_one(scenario, seed, args, None)]
    if args.compare:
        results.append(_run_one(_prepare(args, args.compare), seed, args, None))
    return results
