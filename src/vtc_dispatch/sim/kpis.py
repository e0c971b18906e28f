"""What a run measured: KPIs over the whole run and hour by hour, and the run's timing.

KPIs are plain JSON values (amounts as decimal strings beside their
currency), the same for the same scenario and seed; :class:`Timing` is the
wall time, which is not.  Percentiles interpolate linearly between ranks
(:func:`vtc_dispatch.measures.percentile`, kept importable from here).

>>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([], 0.9) is None
(2.5, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.measures import percent, percentile

if TYPE_CHECKING:
    from vtc_dispatch.sim.scenario import Scenario

__all__ = [
    "OUTCOMES",
    "Observations",
    "SimResult",
    "Timing",
    "compute_kpis",
    "format_kpis",
    "percentile",
]

OUTCOMES: tuple[str, ...] = (
    "done",
    "no_driver",
    "no_supply",
    "cancelled_by_customer",
    "cancelled_by_driver",
    "cancelled_by_operator",
    "cancelled_by_system",
    "unpriced",
)
"""Every request ends in exactly one of these.

``no_supply``: the search showed no vehicle type the customer takes, so
no order was made; ``no_driver``: the order ended in NO_DRIVER and the
customer gave up; ``unpriced``: the trip is outside every priced city.
"""

_US = 1_000_000
_HOUR_US = 3600 * _US


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _summary(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50": _r(percentile(values, 0.5), 1),
        "p90": _r(percentile(values, 0.9), 1),
        "mean": _r(sum(values) / len(values), 1) if values else None,
    }


class Observations:
    """Counters the engine updates as it goes; hour buckets by request time from the start."""

    def __init__(self, hours: int) -> None:
        self.online = 0
        self.busy = 0
        self.offers = 0
        self.offers_expired = 0
        self.accepts = 0
        self.rejects = 0
        self.answers_too_late = 0
        self.retries = 0
        self.withdrawals = 0
        self.phones_died = 0
        self.offers_to_dead_phones = 0
        self.put_offline_silent = 0
        self.dead_online_s: list[float] = []
        self.requests_h = [0] * hours
        self.outcomes_h: list[dict[str, int]] = [{} for _ in range(hours)]
        self.waits_h: list[list[float]] = [[] for _ in range(hours)]
        self.online_us_h = [0] * hours
        self.busy_us_h = [0] * hours
        self._t_us = 0

    def _grow(self, hour: int) -> None:
        while hour >= len(self.requests_h):
            self.requests_h.append(0)
            self.outcomes_h.append({})
            self.waits_h.append([])
            self.online_us_h.append(0)
            self.busy_us_h.append(0)

    def integrate(self, t_us: int) -> None:
        """Add the drivers online and busy since the last call, hour by hour."""
        t = self._t_us
        while t < t_us:
            hour = t // _HOUR_US
            end = min(t_us, (hour + 1) * _HOUR_US)
            if hour >= len(self.online_us_h):
                self._grow(hour)
            self.online_us_h[hour] += self.online * (end - t)
            self.busy_us_h[hour] += self.busy * (end - t)
            t = end
        self._t_us = max(self._t_us, t_us)

    def count(self, t_us: int, *, online: int = 0, busy: int = 0) -> None:
        """At ``t_us``, ``online`` more drivers online and ``busy`` more on a ride (or fewer)."""
        self.integrate(t_us)
        self.online += online
        self.busy += busy

    def requested(self, t_us: int) -> None:
        """A request at ``t_us``."""
        hour = t_us // _HOUR_US
        if hour >= len(self.requests_h):
            self._grow(hour)
        self.requests_h[hour] += 1

    def finished(self, request_us: int, outcome: str) -> None:
        """The request made at ``request_us`` ended with ``outcome``."""
        counts = self.outcomes_h[request_us // _HOUR_US]
        counts[outcome] = counts.get(outcome, 0) + 1

    def waited(self, request_us: int, wait_us: int) -> None:
        """The driver reached the customer ``wait_us`` after the request."""
        self.waits_h[request_us // _HOUR_US].append(wait_us / _US)


@attrs.frozen
class Timing:
    """Wall time of a run, and how much of it was spent inside :class:`DispatchService`."""

    wall_s: float
    service_s: float
    sim_s: float
    events: int
    service_calls: int

    def to_json(self) -> dict[str, float | int]:
        """The timing as JSON values."""
        return {
            "wall_s": round(self.wall_s, 3),
            "service_s": round(self.service_s, 3),
            "sim_s": round(self.sim_s, 3),
            "events": self.events,
            "service_calls": self.service_calls,
        }


@attrs.frozen
class SimResult:
    """The outcome of one run: KPIs (deterministic), timing (not), and data for plots."""

    scenario: str
    seed: int
    kpis: dict[str, Any]
    hourly: list[dict[str, Any]]
    timing: Timing
    pickups: list[tuple[LatLng, str]] = attrs.field(repr=False)
    """Every request's pickup and outcome."""
    drivers: list[LatLng] = attrs.field(repr=False)
    """Where the drivers were at the end."""
    waits_s: list[float] = attrs.field(repr=False)
    """From request to the driver's arrival, for every request a driver reached."""

    def to_json(self) -> dict[str, Any]:
        """Scenario, seed, KPIs, hourly KPIs and timing as one JSON object."""
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "kpis": self.kpis,
            "hourly": self.hourly,
            "timing": self.timing.to_json(),
        }


def compute_kpis(
    scenario: Scenario,
    requests: Sequence[Any],
    drivers: Sequence[Any],
    obs: Observations,
    end_us: int,
    currency: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The KPIs of a finished run (requests and drivers are the engine's records)."""
    outcomes = dict.fromkeys(OUTCOMES, 0)
    for r in requests:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    n = len(requests)
    orders = [r for r in requests if r.order_id is not None]
    assigned = [r for r in requests if r.assigned_us is not None]
    fares = [r.fare for r in requests if r.fare is not None]
    fees = [r.fee for r in requests if r.fee]
    fare_total = sum(fares, Decimal(0))
    fee_total = sum(fees, Decimal(0))
    worked = [d for d in drivers if d.online_us > 0]
    online_us = sum(d.online_us for d in worked)
    earnings = sorted(d.earnings for d in worked)
    cancelled = {
        role: outcomes.get(f"cancelled_by_{role}", 0)
        for role in ("customer", "driver", "operator", "system")
    }

    def money(value: Decimal) -> str:
        return str(value.quantize(Decimal(1)))

    kpis: dict[str, Any] = {
        "requests": n,
        "outcomes": outcomes,
        "served_pct": percent(outcomes["done"], n),
        "no_driver_pct": percent(outcomes["no_driver"], n),
        "no_supply_pct": percent(outcomes["no_supply"], n),
        "cancelled_pct": percent(sum(cancelled.values()), n),
        "cancellations": cancelled,
        "orders": len(orders),
        "offers": {
            "sent": obs.offers,
            "per_order": round(obs.offers / len(orders), 3) if orders else 0.0,
            "accepted": obs.accepts,
            "rejected": obs.rejects,
            "expired": obs.offers_expired,
            "answered_too_late": obs.answers_too_late,
        },
        "retries": obs.retries,
        "driver_withdrawals": obs.withdrawals,
        "phones": {
            "died": obs.phones_died,
            "offers_to_dead_phones": obs.offers_to_dead_phones,
            "put_offline_silent": obs.put_offline_silent,
            "dead_online_s": _summary(obs.dead_online_s),
        },
        "time_to_assignment_s": _summary([(r.assigned_us - r.ordered_us) / _US for r in assigned]),
        "pickup_eta_s": _summary([r.eta_s for r in assigned]),
        "wait_s": _summary([w for hour in obs.waits_h for w in hour]),
        "drivers": {
            "worked": len(worked),
            "online_hours": round(online_us / _HOUR_US, 2),
            "utilisation_pct": percent(sum(d.busy_us for d in worked), online_us),
            "occupied_pct": percent(sum(d.trip_us for d in worked), online_us),
            "rides_per_driver": round(sum(d.rides for d in worked) / len(worked), 2)
            if worked
            else 0.0,
            "earnings_mean": money(fare_total / len(worked)) if worked else "0",
            "earnings_p50": money(earnings[len(earnings) // 2]) if earnings else "0",
            "earnings_per_online_hour": money(fare_total * _HOUR_US / online_us)
            if online_us
            else "0",
        },
        "revenue": {
            "currency": currency,
            "fares": money(fare_total),
            "cancellation_fees": money(fee_total),
            "total": money(fare_total + fee_total),
            "average_fare": money(fare_total / len(fares)) if fares else "0",
        },
        "simulated_hours": round(end_us / _HOUR_US, 3),
    }
    start = scenario.start
    hourly = []
    for hour, count in enumerate(obs.requests_h):
        if hour * _HOUR_US >= end_us and not count:
            break
        done = obs.outcomes_h[hour]
        span_us = max(1, min(_HOUR_US, end_us - hour * _HOUR_US))
        online = obs.online_us_h[hour] / span_us
        busy = obs.busy_us_h[hour] / span_us
        waits = obs.waits_h[hour]
        hourly.append(
            {
                "hour": hour,
                "local_time": (start.hour + hour) % 24,
                "requests": count,
                "done": done.get("done", 0),
                "no_driver": done.get("no_driver", 0),
                "no_supply": done.get("no_supply", 0),
                "cancelled": sum(v for k, v in done.items() if k.startswith("cancelled")),
                "wait_p50_s": _r(percentile(waits, 0.5), 1),
                "online_drivers": round(online, 2),
                "busy_drivers": round(busy, 2),
            }
        )
    return kpis, hourly


def format_kpis(results: Sequence[SimResult]) -> str:
    """The KPIs of one or more runs as a text table, one column per run."""
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, fn: Any) -> None:
        rows.append((label, [str(fn(r.kpis)) for r in results]))

    def summary(key: str) -> Any:
        def show(k: dict[str, Any]) -> str:
            s = k[key]
            return "-" if s["p50"] is None else f"{s['p50']:.0f} / {s['p90']:.0f}"

        return show

    add("requests", lambda k: k["requests"])
    add("served", lambda k: f"{k['served_pct']:.1f} %")
    add("NO_DRIVER", lambda k: f"{k['no_driver_pct']:.1f} %")
    add("no vehicle shown", lambda k: f"{k['no_supply_pct']:.1f} %")
    add(
        "cancelled (customer/driver)",
        lambda k: (
            f"{k['cancelled_pct']:.1f} % ({k['cancellations']['customer']}"
            f"/{k['cancellations']['driver']})"
        ),
    )
    add("offers per order", lambda k: f"{k['offers']['per_order']:.2f}")
    add(
        "offers accepted/refused/expired",
        lambda k: f"{k['offers']['accepted']}/{k['offers']['rejected']}/{k['offers']['expired']}",
    )
    add(
        "phones died / offers to them",
        lambda k: f"{k['phones']['died']}/{k['phones']['offers_to_dead_phones']}",
    )
    add("time to assignment p50/p90 s", summary("time_to_assignment_s"))
    add("pickup ETA p50/p90 s", summary("pickup_eta_s"))
    add("wait for the driver p50/p90 s", summary("wait_s"))
    add("drivers who worked", lambda k: k["drivers"]["worked"])
    add("driver utilisation", lambda k: f"{k['drivers']['utilisation_pct']:.1f} %")
    add("with a passenger", lambda k: f"{k['drivers']['occupied_pct']:.1f} %")
    add(
        "earnings per driver (mean)",
        lambda k: f"{k['drivers']['earnings_mean']} {k['revenue']['currency']}",
    )
    add(
        "earnings per online hour",
        lambda k: f"{k['drivers']['earnings_per_online_hour']} {k['revenue']['currency']}",
    )
    add("revenue", lambda k: f"{k['revenue']['total']} {k['revenue']['currency']}")
    add("average fare", lambda k: f"{k['revenue']['average_fare']} {k['revenue']['currency']}")
    header = ["", *(f"{r.scenario} (seed {r.seed})" for r in results)]
    width0 = max(len(label) for label, _ in rows)
    widths = [
        max(len(header[i + 1]), *(len(values[i]) for _, values in rows))
        for i in range(len(results))
    ]
    lines = [
        "  ".join(
            [
                header[0].ljust(width0),
                *(h.rjust(w) for h, w in zip(header[1:], widths, strict=True)),
            ]
        )
    ]
    for label, values in rows:
        lines.append(
            "  ".join(
                [label.ljust(width0), *(v.rjust(w) for v, w in zip(values, widths, strict=True))]
            )
        )
    return "\n".join(lines)
