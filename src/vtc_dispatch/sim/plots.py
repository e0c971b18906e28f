"""PNG plots of simulation runs (matplotlib, from the ``sim`` extra).

:func:`write_plots` draws, for one run or several side by side: the
histogram of customers' waits for their driver, the KPIs hour by hour
(requests, served, drivers online and busy) and a map of the requests by
outcome with the drivers' final positions.  matplotlib is imported only
here and only when drawing; without it :class:`PlotsUnavailable` says how
to install it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.sim.kpis import SimResult

__all__ = ["PLOT_FILES", "PlotsUnavailable", "require_matplotlib", "write_plots"]

PLOT_FILES = ("wait_histogram.png", "kpis_by_hour.png", "map.png")
"""The files :func:`write_plots` writes."""

_COLOURS = {
    "done": "#2a9d8f",
    # Served loads and parcels, as a served ride.
    "delivered": "#2a9d8f",
    "completed": "#2a9d8f",
    "resolved": "#52b788",
    "no_driver": "#e76f51",
    "no_supply": "#f4a261",
    "cancelled": "#8d99ae",
}


class PlotsUnavailable(DispatchError, RuntimeError):
    """matplotlib is not installed."""


def require_matplotlib() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend, or :class:`PlotsUnavailable`."""
    try:
        import matplotlib  # noqa: PLC0415  (optional: the sim extra)
    except ImportError:
        raise PlotsUnavailable(
            "plots need matplotlib: pip install 'vtc-dispatch[sim]' (or pip install matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _label(result: SimResult) -> str:
    return f"{result.scenario} (seed {result.seed})"


def write_plots(results: Sequence[SimResult], directory: str | Path) -> list[Path]:
    """Write the plots of ``results`` (one or more runs) into ``directory``; returns the files."""
    if not results:
        raise ValueError("no run to plot")
    plt = require_matplotlib()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    fig, ax = plt.subplots(figsize=(8, 4.5))
    longest = max((max(r.waits_s, default=0.0) for r in results), default=0.0) / 60.0
    bins = [i * 0.5 for i in range(int(longest / 0.5) + 2)]
    for result in results:
        ax.hist([w / 60.0 for w in result.waits_s], bins=bins, alpha=0.6, label=_label(result))
    ax.set_xlabel("wait from request to the driver's arrival (minutes)")
    ax.set_ylabel("requests")
    ax.set_title("Customers' wait for their driver")
    ax.legend()
    fig.tight_layout()
    written.append(out / PLOT_FILES[0])
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for result in results:
        hours = [h["hour"] for h in result.hourly]
        label = _label(result)
        top.plot(hours, [h["requests"] for h in result.hourly], label=f"requests, {label}")
        top.plot(
            hours, [h["done"] for h in result.hourly], linestyle="--", label=f"served, {label}"
        )
        bottom.plot(hours, [h["online_drivers"] for h in result.hourly], label=f"online, {label}")
        bottom.plot(
            hours,
            [h["busy_drivers"] for h in result.hourly],
            linestyle="--",
            label=f"busy, {label}",
        )
    top.set_ylabel("requests per hour")
    top.set_title("KPIs over the day (by hour from the start)")
    top.legend(fontsize="small")
    bottom.set_ylabel("drivers (hour average)")
    bottom.set_xlabel("hour from the start")
    bottom.legend(fontsize="small")
    fig.tight_layout()
    written.append(out / PLOT_FILES[1])
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 6), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        groups: dict[str, list[tuple[float, float]]] = {}
        for point, outcome in result.pickups:
            key = "cancelled" if outcome.startswith("cancelled") else outcome
            groups.setdefault(key, []).append((point.lng, point.lat))
        for key, points in groups.items():
            ax.scatter(
                [p[0] for p in points],
                [p[1] for p in points],
                s=3,
                alpha=0.5,
                color=_COLOURS.get(key, "#264653"),
                label=f"request: {key} ({len(points)})",
            )
        ax.scatter(
            [p.lng for p in result.drivers],
            [p.lat for p in result.drivers],
            s=8,
            marker="^",
            color="#1d3557",
            label=f"driver at the end ({len(result.drivers)})",
        )
        ax.set_title(f"Requests and drivers, {_label(result)}")
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(fontsize="small", markerscale=3)
    fig.tight_layout()
    written.append(out / PLOT_FILES[2])
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)
    return written
