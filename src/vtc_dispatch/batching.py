"""Single fixes from many connections, stored in batches: what a server does with its GPS stream.

Every online driver's phone sends a fix every few seconds, each on its own
connection.  Stored one by one, each fix is a write of its own (a Redis
round trip, a transaction); :class:`FixBatcher` holds the fixes that
arrive within a short window (``window_s``, 100 ms by default) and stores
them with one :meth:`~vtc_dispatch.service.DispatchService.update_positions`,
answering each sender with its own fix's answer.  A fix waits at most the
window plus the batch's write.

>>> from vtc_dispatch.geo import LatLng
>>> from vtc_dispatch.pricing import douala_config
>>> from vtc_dispatch.service import DispatchService
>>> service = DispatchService(pricing=douala_config())
>>> service.driver_online("amadou", "taxi_jaune", LatLng(4.05, 9.70))
>>> with FixBatcher(service, window_s=0.01) as batcher:
...     heard = batcher.submit(Fix("amadou", LatLng(4.051, 9.70))).result(timeout=5)
>>> heard.answer.accepted, service.drivers.get("amadou").position
(True, LatLng(4.051, 9.7))
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from types import TracebackType
from typing import Self

import attrs

from vtc_dispatch.errors import InvalidArgument, shown
from vtc_dispatch.order import Fix, PositionAnswer
from vtc_dispatch.service import DispatchService

__all__ = ["BatchThread", "FixBatcher", "Heard", "check_window", "service_getter"]

_log = logging.getLogger(__name__)


@attrs.frozen
class Heard:
    """A batched fix's answer, and the service's time when its batch was stored."""

    answer: PositionAnswer
    at: datetime


def check_window(window_s: object, max_s: float) -> float:
    """A batching window: a number of seconds within ``(0, max_s]``.

    >>> check_window(0.1, 10)
    0.1
    >>> check_window(0, 10)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: window_s must be within (0, 10] seconds, got 0
    """
    if isinstance(window_s, bool) or not isinstance(window_s, int | float):
        raise InvalidArgument(
            f"window_s must be a number of seconds, got {shown(window_s)}", argument="window_s"
        )
    if not 0 < window_s <= max_s:
        raise InvalidArgument(
            f"window_s must be within (0, {max_s:g}] seconds, got {shown(window_s)}",
            argument="window_s",
        )
    return float(window_s)


def service_getter(
    service: DispatchService | Callable[[], DispatchService],
) -> Callable[[], DispatchService]:
    """A function giving the service: ``service`` itself when it is one (a host that
    rebuilds its service passes a function giving the current one)."""
    return (lambda: service) if isinstance(service, DispatchService) else service


class BatchThread:
    """The background thread of a batcher: started when built, woken through one condition
    (``_wake``), stopped by :meth:`close` once its last batch is done.

    A subclass sets what its :meth:`_run` reads, then calls this constructor
    (the thread starts at once), and ends :meth:`_run` when ``_closing`` is
    set and nothing is left.
    """

    def __init__(self, name: str) -> None:
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Handle what was given, then stop the thread (idempotent)."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class FixBatcher(BatchThread):
    """Groups fixes submitted from any thread into batches, one background thread storing them.

    ``service`` is the service, or a function giving it (a host that
    rebuilds its service when its configuration changes).  A batch holds
    at most the service's ``limits.fixes_per_batch_max`` fixes; more wait
    for the next one.  When a batch cannot be stored (the storage is
    down), each of its fixes' futures gets the error.  :meth:`close`
    stores what was submitted, then stops the thread.  ``after_batch`` is
    called in that thread after each batch (a host frees what the thread
    holds between batches there, such as its database connection).
    """

    def __init__(
        self,
        service: DispatchService | Callable[[], DispatchService],
        *,
        window_s: float = 0.1,
        after_batch: Callable[[], None] | None = None,
    ) -> None:
        self._window_s = check_window(window_s, 10)
        self._service = service_getter(service)
        self._after_batch = after_batch
        self._pending: list[tuple[Fix, Future[Heard]]] = []
        super().__init__("vtc-fix-batcher")

    def submit(self, fix: Fix) -> Future[Heard]:
        """Queue ``fix`` for the next batch; the future gives its answer once stored."""
        if not isinstance(fix, Fix):
            raise InvalidArgument(f"fix must be a Fix, got {shown(fix)}", argument="fix")
        future: Future[Heard] = Future()
        with self._wake:
            if self._closing:
                raise RuntimeError("this FixBatcher is closed")
            self._pending.append((fix, future))
            self._wake.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closing:
                    self._wake.wait()
                if not self._pending:
                    return  # closing, nothing left
                closing = self._closing
            if not closing:
                # The window starts with the first fix: what arrives meanwhile joins it.
                with self._wake:
                    self._wake.wait_for(lambda: self._closing, timeout=self._window_s)
            self._store()
            if self._after_batch is not None:
                try:
                    self._after_batch()
                except Exception:  # the batches must go on: the next fixes are waiting
                    _log.exception("after_batch of a FixBatcher failed")

    def _store(self) -> None:
        try:
            service = self._service()
            limit = service.settings.limits.fixes_per_batch_max
        except BaseException as exc:  # the host's service cannot be had: tell every sender
            self._fail(self._take(None), exc)
            return
        batch = self._take(limit)
        try:
            now = service.clock.now()
            answers = service.update_positions([fix for fix, _ in batch])
        except BaseException as exc:
            self._fail(batch, exc)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            future.set_result(Heard(answer, now))

    def _take(self, limit: int | None) -> list[tuple[Fix, Future[Heard]]]:
        with self._wake:
            cut = len(self._pending) if limit is None else limit
            batch, self._pending = self._pending[:cut], self._pending[cut:]
        return batch

    @staticmethod
    def _fail(batch: list[tuple[Fix, Future[Heard]]], exc: BaseException) -> None:
        for _, future in batch:
            future.set_exception(exc)
