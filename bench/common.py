"""Shared by the benchmark suites: options, timing, result rows, table and JSON output.

A suite is a module with a ``run(options: Options) -> SuiteReport`` function.
It times its operations with :func:`time_batches` (or :func:`time_repeats`
for operations too slow to batch), collects one :class:`Row` per
(implementation, operation) and returns them in a :class:`SuiteReport`;
``python -m bench`` prints the report with :func:`emit`.
"""

from __future__ import annotations

import gc
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from vtc_dispatch.geo import LatLng
from vtc_dispatch.settings import ServiceSettings

__all__ = [
    "OURS",
    "JSONValue",
    "Options",
    "Row",
    "SuiteReport",
    "Timing",
    "UsageError",
    "add_ratios",
    "emit",
    "format_table",
    "progress",
    "skipped_rows",
    "time_batches",
    "time_repeats",
]

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None

OURS = "vtc_dispatch"
"""The ``impl`` name of the library's own rows, the ones that get ratios."""

T = TypeVar("T")


class UsageError(Exception):
    """A command-line value a suite cannot work with; reported like an argparse error."""


@dataclass(frozen=True)
class Options:
    """What the command line asked for; ``n`` is ``None`` when the suite's default applies."""

    quick: bool = False
    json: bool = False
    n: int | None = None
    seed: int = 12345
    args: dict[str, Any] = field(default_factory=dict)
    """The suite's own options (its ``add_arguments``), by name."""


def settle_heap() -> None:
    """After loading: collect once, then keep what was loaded out of later collections.

    A city's drivers are long-lived objects; without this, every full
    collection walks all of them again (gen-2 passes grow with the fleet).
    A host does the same after its start-up (see README, "Garbage collection").
    """
    gc.collect()
    gc.freeze()


def progress(message: str) -> None:
    """A progress line on stderr (stdout is reserved for the report)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Timing:
    """Median microseconds per operation, and how much was measured."""

    us_per_op: float
    n_ops: int
    n_batches: int


def time_batches(
    run_batch: Callable[[Sequence[T]], object],
    items: Sequence[T],
    batch_size: int,
    budget_s: float,
    min_batches: int = 5,
) -> Timing:
    """Time ``run_batch`` over consecutive slices of ``items``.

    Each slice of ``batch_size`` items is run once and timed with
    :func:`time.perf_counter`; the result is the median over the slices of
    the mean time per item.  Slicing stops when ``items`` run out, or once
    ``budget_s`` seconds have been spent and at least ``min_batches``
    slices were timed (so a slow implementation replays a prefix of the
    same sequence as a fast one).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not items:
        raise ValueError("nothing to time")
    per_op: list[float] = []
    n_ops = 0
    spent = 0.0
    for start in range(0, len(items), batch_size):
        if spent >= budget_s and len(per_op) >= min_batches:
            break
        batch = items[start : start + batch_size]
        t0 = time.perf_counter()
        run_batch(batch)
        elapsed = time.perf_counter() - t0
        spent += elapsed
        n_ops += len(batch)
        per_op.append(elapsed / len(batch) * 1e6)
    return Timing(statistics.median(per_op), n_ops, len(per_op))


def time_repeats(
    fn: Callable[[], object], budget_s: float, min_repeats: int = 5, max_repeats: int = 50
) -> Timing:
    """Median microseconds of one call of ``fn``, over repeated calls within a budget."""
    times: list[float] = []
    spent = 0.0
    while len(times) < max_repeats and (spent < budget_s or len(times) < min_repeats):
        t0 = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - t0
        spent += elapsed
        times.append(elapsed * 1e6)
    return Timing(statistics.median(times), len(times), len(times))


@dataclass
class Row:
    """One (implementation, operation) result: a time, or the reason it was skipped."""

    impl: str
    op: str
    us_per_op: float | None = None
    skipped: str | None = None
    extra: dict[str, JSONValue] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {"impl": self.impl, "op": self.op}
        if self.us_per_op is not None:
            out["us_per_op"] = round(self.us_per_op, 3)
        else:
            out["skipped"] = self.skipped or "not measured"
        out.update(self.extra)
        if self.ratios:
            out["ratios"] = {peer: round(r, 2) for peer, r in self.ratios.items()}
        return out


def skipped_rows(impl: str, ops: Iterable[str], reason: str) -> list[Row]:
    """Rows reporting that ``impl`` could not run ``ops``, and why."""
    return [Row(impl, op, skipped=reason) for op in ops]


@dataclass
class SuiteReport:
    """What a suite measured: its parameters and its rows."""

    suite: str
    params: dict[str, JSONValue]
    rows: list[Row]

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "suite": self.suite,
            "params": self.params,
            "results": [row.to_json() for row in self.rows],
        }


def add_ratios(rows: Sequence[Row], ours: str = OURS) -> None:
    """Set ``ratios`` on the rows of ``ours``: peer time / our time for the same op.

    A ratio of 3.1 for ``rtree`` means ours is 3.1 times faster than rtree;
    below 1, ours is slower.
    """
    for row in rows:
        if row.impl != ours or row.us_per_op is None or row.us_per_op <= 0.0:
            continue
        row.ratios = {
            peer.impl: peer.us_per_op / row.us_per_op
            for peer in rows
            if peer.impl != ours and peer.op == row.op and peer.us_per_op is not None
        }


def _format_us(us: float) -> str:
    if us >= 1000.0:
        return f"{us:,.0f}"
    if us >= 10.0:
        return f"{us:.1f}"
    return f"{us:.2f}"


def _format_ratio(ratio: float) -> str:
    if ratio >= 100.0:
        return f"{ratio:.0f}x"
    if ratio >= 10.0:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x"


def _format_value(value: JSONValue) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def format_table(report: SuiteReport, ours: str = OURS) -> str:
    """The report as a plain-text table, one line per row."""
    header = ("impl", "op", "us/op", "vs peers", "notes")
    lines: list[tuple[str, ...]] = [header]
    for row in report.rows:
        us = _format_us(row.us_per_op) if row.us_per_op is not None else "skipped"
        vs = "  ".join(f"{peer}/ours = {_format_ratio(r)}" for peer, r in row.ratios.items())
        notes = [f"{key}={_format_value(value)}" for key, value in row.extra.items()]
        if row.us_per_op is None:
            notes.insert(0, row.skipped or "not measured")
        lines.append((row.impl, row.op, us, vs, "  ".join(notes)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    params = " ".join(f"{key}={_format_value(value)}" for key, value in report.params.items())
    out = [f"suite {report.suite}: {params}"]
    for n, line in enumerate(lines):
        cells = [
            cell.rjust(width) if i == 2 and n else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=False))
        ]
        out.append("  ".join([*cells, line[-1]]).rstrip())
    out.append(
        f"us/op: median over batches of the mean microseconds per operation; "
        f"peer/ours = how many times faster {ours} is than the peer."
    )
    return "\n".join(out)


def emit(report: SuiteReport, as_json: bool) -> None:
    """Print the report on stdout: one JSON object, or the table."""
    if as_json:
        sys.stdout.write(json.dumps(report.to_json()) + "\n")
    else:
        sys.stdout.write(format_table(report) + "\n")
    sys.stdout.flush()


DOUALA = LatLng(4.05, 9.70)
"""The centre of the workloads: Douala."""


def douala_point(rng: random.Random, half_km: float = 15.0) -> LatLng:
    """A point uniform in a square of side ``2 * half_km`` around :data:`DOUALA`."""
    dlat = half_km / 111.195
    dlng = half_km / (111.195 * math.cos(math.radians(DOUALA.lat)))
    return LatLng(DOUALA.lat + rng.uniform(-dlat, dlat), DOUALA.lng + rng.uniform(-dlng, dlng))


def drive_s(km: float) -> float:
    """Seconds a ride bench lets pass while a driver covers ``km`` to the pickup (30 km/h,
    at least a minute): a fix there sooner would be an implausible jump."""
    return max(60.0, km / 30.0 * 3600.0)


def unheard_phones() -> ServiceSettings:
    """The service settings of the ride benches: their idle drivers send no fix while the
    benches' clocks run for days, so presence is not checked (``fix_idle`` measures it)."""
    return ServiceSettings(presence_timeout_s=None, offline_after_s=None)
