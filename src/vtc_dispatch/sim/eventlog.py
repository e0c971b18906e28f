"""The event log: a run's decisions and outcomes as JSON lines, and their replay.

The first line is the header (the whole scenario and the seed), then one
line per decision of the outside world (shifts, requests, choices, driver
answers, retries, withdrawals) and per request outcome, in the order they
happened, and last the KPIs.  Replaying feeds the recorded decisions to
the engine instead of drawing them, checks every outcome against the
recorded one and, at the end, the KPIs: the run of the dispatch code is
reproduced exactly, or :class:`ReplayMismatch` says where it went another
way (for instance after a change of the dispatch code).

Records (``k`` is the kind, times ``t_us`` in microseconds from the start)::

    {"k": "header", "format": 1, "seed": 1, "scenario": {...}}
    {"k": "shift", "driver": "d1", "vt": "taxi_jaune", "start_us": 0, "end_us": ..,
     "home": [4.05, 9.7]}
    {"k": "request", "t_us": .., "customer": "c1", "pickup": [..], "dropoff": [..],
     "pay": "CASH", "patience_s": 300.0, "boarding_s": 60.0}
     (a delivery's also has "merchant": "m3")
    {"k": "end_of_demand"}
    {"k": "choose", "t_us": .., "customer": "c1", "shown": [..], "choice": "confort"}
    {"k": "answer", "t_us": .., "driver": "d4", "order": "o1", "action": "accept",
     "delay_s": 5.2}
    {"k": "retry", "t_us": .., "customer": "c1", "delay_s": null}
    {"k": "withdraw", "t_us": .., "driver": "d4", "order": "o1", "after_s": null}
    {"k": "bid", "t_us": .., "driver": "d4", "order": "o1", "action": "accept",
     "delay_s": 95.0, "factor": 0.97, "valid_for_s": 900.0}
    {"k": "plan", "t_us": .., "customer": "c1", "plan": {"review_s": 400.0, ...}}
    {"k": "outcome", "t_us": .., "customer": "c1", "order": "o1", "outcome": "done"}
    {"k": "kpis", "kpis": {...}}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from vtc_dispatch.errors import DispatchError, shown
from vtc_dispatch.geo.sphere import LatLng
from vtc_dispatch.sim.behaviour import (
    ACCEPT,
    NO_ANSWER,
    REJECT,
    BidPlan,
    Decider,
    OrderPlan,
    RequestPlan,
    ShiftPlan,
)

__all__ = [
    "FORMAT",
    "LogWriter",
    "RecordingDecider",
    "ReplayDecider",
    "ReplayMismatch",
    "read_header",
]

FORMAT = 1
_ACTIONS = {NO_ANSWER: "none", ACCEPT: "accept", REJECT: "reject"}
_ACTION_CODES = {name: code for code, name in _ACTIONS.items()}


class ReplayMismatch(DispatchError):
    """A replay went another way than the log: names the line and both sides."""


def _point(p: LatLng) -> list[float]:
    return [p.lat, p.lng]


class LogWriter:
    """Writes the records of a run to a text stream, one JSON object a line."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, record: dict[str, Any]) -> None:
        """One record."""
        self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")

    def outcome(self, t_us: int, customer_id: str, order_id: str | None, outcome: str) -> None:
        """A request reached its terminal outcome."""
        self.write(
            {
                "k": "outcome",
                "t_us": t_us,
                "customer": customer_id,
                "order": order_id,
                "outcome": outcome,
            }
        )


class RecordingDecider:
    """Asks another decider and writes every answer to the log."""

    def __init__(self, inner: Decider, log: LogWriter) -> None:
        self._inner = inner
        self._log = log

    def shifts(self) -> list[ShiftPlan]:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        plans = self._inner.shifts()
        for p in plans:
            self._log.write(
                {
                    "k": "shift",
                    "driver": p.driver_id,
                    "vt": p.vehicle_type,
                    "start_us": p.start_us,
                    "end_us": p.end_us,
                    "home": _point(p.home),
                }
            )
        return plans

    def next_request(self) -> RequestPlan | None:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        plan = self._inner.next_request()
        if plan is None:
            self._log.write({"k": "end_of_demand"})
        else:
            record = {
                "k": "request",
                "t_us": plan.t_us,
                "customer": plan.customer_id,
                "pickup": _point(plan.pickup),
                "dropoff": _point(plan.dropoff),
                "pay": plan.payment_method,
                "patience_s": plan.patience_s,
                "boarding_s": plan.boarding_s,
            }
            if plan.merchant_id is not None:
                record["merchant"] = plan.merchant_id
            self._log.write(record)
        return plan

    def choose(self, t_us: int, customer_id: str, shown: list[str]) -> str | None:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        choice = self._inner.choose(t_us, customer_id, shown)
        self._log.write(
            {"k": "choose", "t_us": t_us, "customer": customer_id, "shown": shown, "choice": choice}
        )
        return choice

    def answer(
        self, t_us: int, driver_id: str, order_id: str, km: float, fare_mid: float
    ) -> tuple[int, float]:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        action, delay = self._inner.answer(t_us, driver_id, order_id, km, fare_mid)
        self._log.write(
            {
                "k": "answer",
                "t_us": t_us,
                "driver": driver_id,
                "order": order_id,
                "action": _ACTIONS[action],
                "delay_s": delay,
            }
        )
        return action, delay

    def retry(self, t_us: int, customer_id: str) -> float | None:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        delay = self._inner.retry(t_us, customer_id)
        self._log.write({"k": "retry", "t_us": t_us, "customer": customer_id, "delay_s": delay})
        return delay

    def withdraw(self, t_us: int, driver_id: str, order_id: str) -> float | None:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        after = self._inner.withdraw(t_us, driver_id, order_id)
        self._log.write(
            {
                "k": "withdraw",
                "t_us": t_us,
                "driver": driver_id,
                "order": order_id,
                "after_s": after,
            }
        )
        return after

    def bid(self, t_us: int, driver_id: str, order_id: str, km: float, fare_mid: float) -> BidPlan:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        plan = self._inner.bid(t_us, driver_id, order_id, km, fare_mid)
        self._log.write(
            {
                "k": "bid",
                "t_us": t_us,
                "driver": driver_id,
                "order": order_id,
                "action": _ACTIONS[plan.action],
                "delay_s": plan.delay_s,
                "factor": plan.factor,
                "valid_for_s": plan.valid_for_s,
            }
        )
        return plan

    def order_plan(self, t_us: int, customer_id: str) -> OrderPlan:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        plan = self._inner.order_plan(t_us, customer_id)
        self._log.write(
            {"k": "plan", "t_us": t_us, "customer": customer_id, "plan": plan._asdict()}
        )
        return plan


def read_header(stream: IO[str]) -> dict[str, Any]:
    """The header record of a log (its first line)."""
    line = stream.readline()
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("k") != "header":
        raise ReplayMismatch(f"line 1: not an event log header: {line[:80]!r}")
    if header.get("format") != FORMAT:
        raise ReplayMismatch(
            f"line 1: event log format {shown(header.get('format'))}, this version reads {FORMAT}"
        )
    return header


class ReplayDecider:
    """Answers from a log, checking that each question is the one recorded.

    It also checks outcomes (:meth:`outcome`) and gives the recorded KPIs
    (:meth:`recorded_kpis`) once the run is over.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._lines: Iterator[str] = iter(stream)
        self._line_no = 1  # the header was line 1
        self._peeked: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        """The next record (``{}`` at the end of the log)."""
        if self._peeked is not None:
            record, self._peeked = self._peeked, None
            return record
        line = next(self._lines, "")
        if not line:
            return {}
        self._line_no += 1
        try:
            record = json.loads(line)
        except ValueError:
            raise ReplayMismatch(f"line {self._line_no}: not JSON: {line[:80]!r}") from None
        if not isinstance(record, dict):
            raise ReplayMismatch(f"line {self._line_no}: not a record: {line[:80]!r}")
        return record

    def _peek(self) -> dict[str, Any]:
        if self._peeked is None:
            self._peeked = self._read()
        return self._peeked

    def _next(self, kind: str, **key: object) -> dict[str, Any]:
        record = self._read()
        if not record:
            raise ReplayMismatch(
                f"line {self._line_no + 1}: the log ended, the simulation asked for {kind}"
                f" {_describe(key)}"
            )
        if record.get("k") != kind or any(record.get(f) != v for f, v in key.items()):
            shown = {f: record.get(f) for f in key} if record.get("k") == kind else record
            raise ReplayMismatch(
                f"line {self._line_no}: the log has {record.get('k')} {_describe(shown)},"
                f" the simulation went to {kind} {_describe(key)}"
            )
        return record

    def shifts(self) -> list[ShiftPlan]:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        plans = []
        while self._peek().get("k") == "shift":
            r = self._read()
            plans.append(
                ShiftPlan(r["driver"], r["vt"], r["start_us"], r["end_us"], LatLng(*r["home"]))
            )
        return plans

    def next_request(self) -> RequestPlan | None:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        if self._peek().get("k") == "end_of_demand":
            self._read()
            return None
        r = self._next("request")
        return RequestPlan(
            r["t_us"],
            r["customer"],
            LatLng(*r["pickup"]),
            LatLng(*r["dropoff"]),
            r["pay"],
            r["patience_s"],
            r["boarding_s"],
            r.get("merchant"),
        )

    def choose(self, t_us: int, customer_id: str, shown: list[str]) -> str | None:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        record = self._next("choose", t_us=t_us, customer=customer_id, shown=shown)
        choice: str | None = record["choice"]
        return choice

    def answer(
        self, t_us: int, driver_id: str, order_id: str, km: float, fare_mid: float
    ) -> tuple[int, float]:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        record = self._next("answer", t_us=t_us, driver=driver_id, order=order_id)
        return _ACTION_CODES[record["action"]], record["delay_s"]

    def retry(self, t_us: int, customer_id: str) -> float | None:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        delay: float | None = self._next("retry", t_us=t_us, customer=customer_id)["delay_s"]
        return delay

    def withdraw(self, t_us: int, driver_id: str, order_id: str) -> float | None:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        record = self._next("withdraw", t_us=t_us, driver=driver_id, order=order_id)
        after: float | None = record["after_s"]
        return after

    def bid(self, t_us: int, driver_id: str, order_id: str, km: float, fare_mid: float) -> BidPlan:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        r = self._next("bid", t_us=t_us, driver=driver_id, order=order_id)
        return BidPlan(_ACTION_CODES[r["action"]], r["delay_s"], r["factor"], r["valid_for_s"])

    def order_plan(self, t_us: int, customer_id: str) -> OrderPlan:
        """See :class:`~vtc_dispatch.sim.behaviour.Decider`."""
        record = self._next("plan", t_us=t_us, customer=customer_id)
        return OrderPlan(**record["plan"])

    def outcome(self, t_us: int, customer_id: str, order_id: str | None, outcome: str) -> None:
        """Check that the request ended as recorded."""
        self._next("outcome", t_us=t_us, customer=customer_id, order=order_id, outcome=outcome)

    def recorded_kpis(self) -> dict[str, Any]:
        """The KPIs at the end of the log."""
        record = self._next("kpis")
        kpis: dict[str, Any] = record["kpis"]
        return kpis


def _describe(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in fields.items() if k != "k")
