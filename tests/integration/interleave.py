"""Deterministic interleavings of two workers' commands: run B's command inside A's.

:class:`Interleave` wraps the stores of worker A's service; once A's
orders store has answered a ``get`` of a chosen order (A has loaded it and
is deciding), the callback runs (worker B's whole command), then A goes on
with the version it read.  Worker B runs on its own thread
(:class:`Worker`): on Django that thread has its own database connection,
as a second worker process would.

>>> from types import SimpleNamespace
>>> hook = Interleave()
>>> store = hook.wrap({"o1": SimpleNamespace(id="o1")})
>>> hook.arm("o1", lambda: print("B runs now"))
>>> store.get("o1")
B runs now
namespace(id='o1')
>>> hook.ran
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["Interleave", "Worker"]

T = TypeVar("T")

_WAIT_S = 30.0
"""How long A waits for B's command: B blocked on something A holds is a deadlock."""


class Interleave:
    """Runs a callback once, right after a wrapped store's ``get`` returned the armed order."""

    def __init__(self, *, after: str = "get") -> None:
        self.after = after
        self._target: str | None = None
        self._then: Callable[[], object] | None = None
        self.ran = False
        self._lock = threading.Lock()

    def arm(self, order_id: str, then: Callable[[], object]) -> None:
        """Run ``then()`` after the next ``get`` of ``order_id`` through a wrapped store."""
        self._target, self._then, self.ran = order_id, then, False

    def wrap(self, store: Any) -> Any:
        """``store`` with the hook in its ``get`` (every other attribute passes through)."""
        return _Hooked(store, self)

    def _returned(self, method: str, result: object) -> None:
        if method != self.after or self._then is None:
            return
        if getattr(result, "id", None) != self._target:
            return
        with self._lock:
            then, self._then = self._then, None
        if then is not None:
            self.ran = True
            then()


class _Hooked:
    """A store whose ``get`` (the hook's method) calls the hook after answering."""

    def __init__(self, inner: Any, hook: Interleave) -> None:
        self._inner = inner
        self._hook = hook

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name != self._hook.after or not callable(attribute):
            return attribute
        hook = self._hook

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            hook._returned(name, result)
            return result

        return call


class Worker:
    """A second worker: its commands run on one thread of its own, one at a time.

    >>> worker = Worker("B")
    >>> worker.run(lambda: threading.current_thread().name.startswith("worker-B"))
    True
    >>> worker.close()
    """

    def __init__(self, name: str, *, on_close: Callable[[], object] | None = None) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"worker-{name}")
        self._on_close = on_close

    def run(self, command: Callable[[], T]) -> T:
        """Run ``command`` on the worker's thread and wait for it (its errors are raised here)."""
        future = self._pool.submit(command)
        try:
            return future.result(timeout=_WAIT_S)
        except TimeoutError:
            raise AssertionError(
                f"worker {self.name}'s command did not end within {_WAIT_S} s while the other"
                " worker waited for it: the other worker holds something (a lock, a transaction)"
                " between loading the order and writing it"
            ) from None

    def close(self) -> None:
        """Stop the thread (after closing what it opened, e.g. its database connection)."""
        if self._on_close is not None:
            self._pool.submit(self._on_close).result(timeout=_WAIT_S)
        self._pool.shutdown(wait=True)
