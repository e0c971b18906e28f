"""What a run measured: KPIs over the whole run and hour by hour, and the run's timing.

KPIs are plain JSON values (amounts as decimal strings beside their
currency), the same for the same scenario and seed; :class:`Timing` is the
wall time, which is not.  Percentiles interpolate linearly between ranks
(:func:`vtc_dispatch.measures.percentile`, kept importable from here).

>>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([], 0.9) is None
(2.5, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.measures import percent, percentile

if TYPE_CHECKING:
    from vtc_dispatch.sim.scenario import Scenario

__all__ = [
    "DELIVERY_OUTCOMES",
    "FREIGHT_OUTCOMES",
    "OUTCOMES",
    "Observations",
    "SimResult",
    "Timing",
    "compute_goods_kpis",
    "compute_kpis",
    "format_kpis",
    "percentile",
]

_ROLES = ("customer", "driver", "operator", "system")
"""Who may cancel a ride (and a load): the ``cancelled_by_<role>`` outcomes."""
_CANCELLED = tuple(f"cancelled_by_{role}" for role in _ROLES)

OUTCOMES: tuple[str, ...] = ("done", "no_driver", "no_supply", *_CANCELLED, "unpriced")
"""Every ride request ends in exactly one of these.

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


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal(1)))


def _outcomes(requests: Sequence[Any], names: Sequence[str]) -> dict[str, int]:
    outcomes = dict.fromkeys(names, 0)
    for r in requests:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    return outcomes


def _cancellations(outcomes: dict[str, int], roles: Sequence[str]) -> dict[str, int]:
    return {role: outcomes.get(f"cancelled_by_{role}", 0) for role in roles}


def _offers(obs: Observations, orders: int) -> dict[str, Any]:
    return {
        "sent": obs.offers,
        "per_order": round(obs.offers / orders, 3) if orders else 0.0,
        "accepted": obs.accepts,
        "rejected": obs.rejects,
        "expired": obs.offers_expired,
        "answered_too_late": obs.answers_too_late,
    }


def _drivers(drivers: Sequence[Any], fare_total: Decimal) -> dict[str, Any]:
    worked = [d for d in drivers if d.online_us > 0]
    online_us = sum(d.online_us for d in worked)
    earnings = sorted(d.earnings for d in worked)
    return {
        "worked": len(worked),
        "online_hours": round(online_us / _HOUR_US, 2),
        "utilisation_pct": percent(sum(d.busy_us for d in worked), online_us),
        "occupied_pct": percent(sum(d.trip_us for d in worked), online_us),
        "rides_per_driver": round(sum(d.rides for d in worked) / len(worked), 2) if worked else 0.0,
        "earnings_mean": _money(fare_total / len(worked)) if worked else "0",
        "earnings_p50": _money(earnings[len(earnings) // 2]) if earnings else "0",
        "earnings_per_online_hour": _money(fare_total * _HOUR_US / online_us) if online_us else "0",
    }


def _revenue(requests: Sequence[Any], currency: str) -> dict[str, str]:
    fares = [r.fare for r in requests if r.fare is not None]
    fare_total = sum(fares, Decimal(0))
    fee_total = sum((r.fee for r in requests if r.fee), Decimal(0))
    return {
        "currency": currency,
        "fares": _money(fare_total),
        "cancellation_fees": _money(fee_total),
        "total": _money(fare_total + fee_total),
        "average_fare": _money(fare_total / len(fares)) if fares else "0",
    }


def _fare_total(requests: Sequence[Any]) -> Decimal:
    return sum((r.fare for r in requests if r.fare is not None), Decimal(0))


def _hourly(
    scenario: Scenario, obs: Observations, end_us: int, served: Sequence[str]
) -> list[dict[str, Any]]:
    """Hour by hour from the start; ``done`` counts the ``served`` outcomes."""
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
                "done": sum(done.get(outcome, 0) for outcome in served),
                "no_driver": done.get("no_driver", 0),
                "no_supply": done.get("no_supply", 0),
                "cancelled": sum(v for k, v in done.items() if k.startswith("cancelled")),
                "wait_p50_s": _r(percentile(waits, 0.5), 1),
                "online_drivers": round(online, 2),
                "busy_drivers": round(busy, 2),
            }
        )
    return hourly


def compute_kpis(
    scenario: Scenario,
    requests: Sequence[Any],
    drivers: Sequence[Any],
    obs: Observations,
    end_us: int,
    currency: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The KPIs of a finished run of rides (requests and drivers are the engine's records)."""
    outcomes = _outcomes(requests, OUTCOMES)
    n = len(requests)
    orders = [r for r in requests if r.order_id is not None]
    assigned = [r for r in requests if r.assigned_us is not None]
    cancelled = _cancellations(outcomes, _ROLES)
    kpis: dict[str, Any] = {
        "requests": n,
        "outcomes": outcomes,
        "served_pct": percent(outcomes["done"], n),
        "no_driver_pct": percent(outcomes["no_driver"], n),
        "no_supply_pct": percent(outcomes["no_supply"], n),
        "cancelled_pct": percent(sum(cancelled.values()), n),
        "cancellations": cancelled,
        "orders": len(orders),
        "offers": _offers(obs, len(orders)),
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
        "drivers": _drivers(drivers, _fare_total(requests)),
        "revenue": _revenue(requests, currency),
        "simulated_hours": round(end_us / _HOUR_US, 3),
    }
    return kpis, _hourly(scenario, obs, end_us, ("done",))


FREIGHT_OUTCOMES: tuple[str, ...] = (
    "completed",
    "resolved",
    "no_driver",
    "no_supply",
    *_CANCELLED,
    "unpriced",
)
"""Every load ends in one of these: ``completed`` (the shipper confirmed receipt),
``resolved`` (he disputed it and an operator settled), or unserved as a ride."""

DELIVERY_OUTCOMES: tuple[str, ...] = (
    "delivered",
    "no_driver",
    "no_supply",
    "cancelled_by_merchant",
    *_CANCELLED,
    "unpriced",
)
"""Every delivery order ends in one of these; ``cancelled_by_merchant``: the restaurant
refused it, or found no rider in time."""


def _time(request: Any, name: str) -> int | None:
    """A time of the request's record, or of its goods' (the names differ)."""
    goods = request.goods
    value: int | None = getattr(goods, name) if hasattr(goods, name) else getattr(request, name)
    return value


def _between(requests: Sequence[Any], since: str, until: str) -> list[float]:
    """Seconds from ``since`` to ``until`` for the requests where both happened."""
    out = []
    for r in requests:
        a, b = _time(r, since), _time(r, until)
        if a is not None and b is not None:
            out.append((b - a) / _US)
    return out


def compute_goods_kpis(
    scenario: Scenario,
    requests: Sequence[Any],
    drivers: Sequence[Any],
    obs: Observations,
    end_us: int,
    currency: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The KPIs of a run of freight loads or deliveries (see ``docs/simulation.md``)."""
    freight = scenario.merchants is None
    names = FREIGHT_OUTCOMES if freight else DELIVERY_OUTCOMES
    outcomes = _outcomes(requests, names)
    n = len(requests)
    orders = [r for r in requests if r.order_id is not None]
    assigned = [r for r in orders if r.assigned_us is not None]
    delivered = [r for r in orders if r.goods.delivered_us is not None]
    cancelled = _cancellations(outcomes, _ROLES if freight else ("merchant", *_ROLES))
    proofs = [r.goods.proof_m for r in delivered]
    common: dict[str, Any] = {
        "outcomes": outcomes,
        "assigned": len(assigned),
        "delivered": len(delivered),
        "no_driver_pct": percent(outcomes["no_driver"], n),
        "cancelled_pct": percent(sum(cancelled.values()), n),
        "cancellations": cancelled,
        "retries": obs.retries,
        "driver_withdrawals": obs.withdrawals,
        "time_to_pickup_s": _summary(_between(delivered, "assigned_us", "arrived_us")),
        "proof_distance_m": {
            "p50": _r(percentile(proofs, 0.5), 1),
            "max": _r(max(proofs), 1) if proofs else None,
        },
        "drivers": _drivers(drivers, _fare_total(requests)),
        "revenue": _revenue(requests, currency),
        "simulated_hours": round(end_us / _HOUR_US, 3),
    }
    if freight:
        kpis = {"kind": "freight", "requests": n, "posted": len(orders), **common}
        kpis.update(_freight(requests, orders, assigned, delivered, obs, outcomes))
        served: tuple[str, ...] = ("completed", "resolved")
    else:
        kpis = {"kind": "delivery", "requests": n, "placed": len(orders), **common}
        kpis.update(_delivery(requests, orders, delivered, obs, outcomes, currency))
        served = ("delivered",)
    return kpis, _hourly(scenario, obs, end_us, served)


def _freight(
    requests: Sequence[Any],
    orders: Sequence[Any],
    assigned: Sequence[Any],
    delivered: Sequence[Any],
    obs: Observations,
    outcomes: dict[str, int],
) -> dict[str, Any]:
    bids = [r.goods.bids for r in orders]
    agreed = [r for r in assigned if r.goods.agreed is not None]
    over = [float(r.goods.agreed / r.goods.estimate - 1) * 100.0 for r in agreed]
    disputed = [r for r in delivered if r.goods.plan.dispute]
    return {
        "completed_pct": percent(outcomes["completed"] + outcomes["resolved"], len(requests)),
        "bids": {
            "invitations": obs.offers,
            "submitted": sum(bids),
            "per_load": round(sum(bids) / len(bids), 3) if bids else 0.0,
            "loads_without_bid": sum(1 for b in bids if b == 0),
            "declined": obs.rejects,
            "invitations_expired": obs.offers_expired,
            "answered_too_late": obs.answers_too_late,
        },
        "time_to_assignment_s": _summary(_between(orders, "ordered_us", "assigned_us")),
        "transit_s": _summary(_between(delivered, "picked_us", "at_dropoff_us")),
        "price": {
            "posted_total": _money(sum((r.goods.estimate for r in agreed), Decimal(0))),
            "agreed_total": _money(sum((r.goods.agreed for r in agreed), Decimal(0))),
            "agreed_vs_posted_pct": _summary(over),
        },
        "disputes": {
            "opened": len(disputed),
            "rate_pct": percent(len(disputed), len(delivered)),
            "resolved": outcomes["resolved"],
        },
    }


def _delivery(
    requests: Sequence[Any],
    orders: Sequence[Any],
    delivered: Sequence[Any],
    obs: Observations,
    outcomes: dict[str, int],
    currency: str,
) -> dict[str, Any]:
    fixes = sum(r.goods.fixes for r in delivered)
    located = sum(r.goods.located for r in delivered)
    on_the_way = sum(r.goods.located_on_the_way for r in delivered)
    driving_s = sum(_between(delivered, "picked_us", "at_dropoff_us"))
    # Positive: the rider arrived after the ETA the customer was shown at departure.
    late = [
        (r.goods.at_dropoff_us - r.goods.departure_eta[0]) / _US - r.goods.departure_eta[1]
        for r in delivered
        if r.goods.departure_eta is not None
    ]
    goods_total = sum((Decimal(round(r.goods.plan.goods_amount)) for r in delivered), Decimal(0))
    return {
        "delivered_pct": percent(outcomes["delivered"], len(requests)),
        "offers": _offers(obs, len(orders)),
        "merchants": {
            "refused": sum(1 for r in orders if r.goods.plan.refuse),
            "confirm_s": _summary(_between(orders, "ordered_us", "confirmed_us")),
            "prep_s": _summary(_between(orders, "prep_us", "ready_us")),
        },
        "time_to_rider_s": _summary(_between(orders, "ready_us", "assigned_us")),
        "rider_wait_at_restaurant_s": _summary(_between(delivered, "arrived_us", "picked_us")),
        "food_wait_s": _summary(_between(delivered, "food_us", "picked_us")),
        "delivery_time_s": _summary(_between(delivered, "ordered_us", "delivered_us")),
        "ride_s": _summary(_between(delivered, "picked_us", "delivered_us")),
        "tracking": {
            "positions": fixes,
            "pushed_to_customers": located,
            "per_delivery": round(located / len(delivered), 2) if delivered else 0.0,
            "seconds_between_pushes": round(driving_s / on_the_way, 2) if on_the_way else None,
            "late_on_eta_at_departure_s": _summary(late),
        },
        "goods": {"currency": currency, "carried": _money(goods_total)},
    }


Row = tuple[str, Callable[[dict[str, Any]], object]]


def _p(key: str, *path: str) -> Callable[[dict[str, Any]], str]:
    """A p50 / p90 cell of the summary at ``path`` then ``key``."""

    def show(k: dict[str, Any]) -> str:
        for part in path:
            k = k[part]
        s = k[key]
        return "-" if s["p50"] is None else f"{round(s['p50'])} / {round(s['p90'])}"

    return show


def _amount(*path: str) -> Callable[[dict[str, Any]], str]:
    """An amount at ``path`` with the run's currency."""

    def show(k: dict[str, Any]) -> str:
        value: Any = k
        for part in path:
            value = value[part]
        return f"{value} {k['revenue']['currency']}"

    return show


_RIDE_ROWS: list[Row] = [
    ("served", lambda k: f"{k['served_pct']:.1f} %"),
    ("NO_DRIVER", lambda k: f"{k['no_driver_pct']:.1f} %"),
    ("no vehicle shown", lambda k: f"{k['no_supply_pct']:.1f} %"),
    (
        "cancelled (customer/driver)",
        lambda k: (
            f"{k['cancelled_pct']:.1f} % ({k['cancellations']['customer']}"
            f"/{k['cancellations']['driver']})"
        ),
    ),
    ("offers per order", lambda k: f"{k['offers']['per_order']:.2f}"),
    (
        "offers accepted/refused/expired",
        lambda k: f"{k['offers']['accepted']}/{k['offers']['rejected']}/{k['offers']['expired']}",
    ),
    (
        "phones died / offers to them",
        lambda k: f"{k['phones']['died']}/{k['phones']['offers_to_dead_phones']}",
    ),
    ("time to assignment p50/p90 s", _p("time_to_assignment_s")),
    ("pickup ETA p50/p90 s", _p("pickup_eta_s")),
    ("wait for the driver p50/p90 s", _p("wait_s")),
    ("drivers who worked", lambda k: k["drivers"]["worked"]),
    ("driver utilisation", lambda k: f"{k['drivers']['utilisation_pct']:.1f} %"),
    ("with a passenger", lambda k: f"{k['drivers']['occupied_pct']:.1f} %"),
    ("earnings per driver (mean)", _amount("drivers", "earnings_mean")),
    ("earnings per online hour", _amount("drivers", "earnings_per_online_hour")),
    ("revenue", _amount("revenue", "total")),
    ("average fare", _amount("revenue", "average_fare")),
]


def _counts(noun: str, placed: str) -> Row:
    """Orders placed (freight: posted), assigned a driver, delivered."""
    return (
        f"{noun} {placed}/assigned/delivered",
        lambda k: f"{k[placed]}/{k['assigned']}/{k['delivered']}",
    )


def _proofs_and_fleet(driver: str, orders: str) -> list[Row]:
    """Where proofs were taken, and the fleet's work (carriers, riders)."""
    return [
        ("proof from destination p50/max m", lambda k: _pair(k["proof_distance_m"], "max")),
        (f"{driver}s who worked", lambda k: k["drivers"]["worked"]),
        (f"{driver} utilisation", lambda k: f"{k['drivers']['utilisation_pct']:.1f} %"),
        (f"{orders} per {driver}", lambda k: k["drivers"]["rides_per_driver"]),
    ]


_FREIGHT_ROWS: list[Row] = [
    _counts("loads", "posted"),
    ("completed (confirmed or resolved)", lambda k: f"{k['completed_pct']:.1f} %"),
    ("no carrier (posted, given up)", lambda k: f"{k['no_driver_pct']:.1f} %"),
    ("cancelled by the shipper", lambda k: k["cancellations"]["customer"]),
    ("bids per load", lambda k: f"{k['bids']['per_load']:.2f}"),
    (
        "invitations / bids / declined",
        lambda k: f"{k['bids']['invitations']}/{k['bids']['submitted']}/{k['bids']['declined']}",
    ),
    ("time to assignment p50/p90 s", _p("time_to_assignment_s")),
    ("carrier to pickup p50/p90 s", _p("time_to_pickup_s")),
    ("transit p50/p90 s", _p("transit_s")),
    ("agreed vs posted p50/p90 %", _p("agreed_vs_posted_pct", "price")),
    ("agreed total", _amount("price", "agreed_total")),
    (
        "disputes (of delivered)",
        lambda k: f"{k['disputes']['opened']} ({k['disputes']['rate_pct']:.1f} %)",
    ),
    *_proofs_and_fleet("carrier", "loads"),
    ("earnings per carrier (mean)", _amount("drivers", "earnings_mean")),
    ("revenue", _amount("revenue", "total")),
]

_DELIVERY_ROWS: list[Row] = [
    _counts("orders", "placed"),
    ("delivered", lambda k: f"{k['delivered_pct']:.1f} %"),
    ("no rider (given up)", lambda k: f"{k['no_driver_pct']:.1f} %"),
    (
        "cancelled by the merchant",
        lambda k: f"{k['cancellations']['merchant']} ({k['merchants']['refused']} refused)",
    ),
    ("offers per order", lambda k: f"{k['offers']['per_order']:.2f}"),
    ("prep time p50/p90 s", _p("prep_s", "merchants")),
    ("ready to rider assigned p50/p90 s", _p("time_to_rider_s")),
    ("rider to restaurant p50/p90 s", _p("time_to_pickup_s")),
    ("rider wait at restaurant p50/p90 s", _p("rider_wait_at_restaurant_s")),
    ("food waiting for rider p50/p90 s", _p("food_wait_s")),
    ("delivery time p50/p90 s", _p("delivery_time_s")),
    (
        "positions pushed / s between",
        lambda k: (
            f"{k['tracking']['pushed_to_customers']} / {k['tracking']['seconds_between_pushes']}"
        ),
    ),
    ("late on the ETA at departure p50/p90 s", _p("late_on_eta_at_departure_s", "tracking")),
    *_proofs_and_fleet("rider", "deliveries"),
    ("delivery fees", _amount("revenue", "fares")),
    ("average fee", _amount("revenue", "average_fare")),
    ("goods carried", lambda k: f"{k['goods']['carried']} {k['goods']['currency']}"),
]

_ROWS: dict[str, list[Row]] = {
    "ride": _RIDE_ROWS,
    "freight": _FREIGHT_ROWS,
    "delivery": _DELIVERY_ROWS,
}


def _pair(summary: dict[str, float | None], second: str) -> str:
    p50, other = summary["p50"], summary[second]
    return "-" if p50 is None or other is None else f"{p50:.0f} / {other:.0f}"


def format_kpis(results: Sequence[SimResult]) -> str:
    """The KPIs of one or more runs as a text table, one column per run.

    Each kind of order has its rows (rides' KPIs have no ``kind``); a run
    shows ``-`` in the rows of another kind.
    """
    kinds = list(dict.fromkeys(r.kpis.get("kind", "ride") for r in results))
    rows: list[tuple[str, list[str]]] = [("requests", [str(r.kpis["requests"]) for r in results])]
    for kind in kinds:
        for label, fn in _ROWS[kind]:
            rows.append(
                (
                    label,
                    [
                        str(fn(r.kpis)) if r.kpis.get("kind", "ride") == kind else "-"
                        for r in results
                    ],
                )
            )
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
