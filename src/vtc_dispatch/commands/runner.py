"""Running a command: decide, commit once, publish after the commit, replay by ``command_id``.

A command is a ``decide(now)`` function returning a
:class:`~vtc_dispatch.commands.context.Decision`.  The runner commits its
change set through the unit of work; a commit that finds the state moved
underneath it (:class:`~vtc_dispatch.errors.ConcurrencyConflict`) makes it
decide again, a few times.  The events are published only once the change
set is stored: to the listeners, and as wire messages to the notifier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from vtc_dispatch.changes import Command, CommandRecord
from vtc_dispatch.commands.context import Context, Decision
from vtc_dispatch.errors import ConcurrencyConflict, DispatchError, IdempotencyConflict, shown
from vtc_dispatch.events import Event
from vtc_dispatch.order import Order
from vtc_dispatch.ports import Notifier, UnitOfWork
from vtc_dispatch.validation import check_command_id
from vtc_dispatch.wire import to_wire

__all__ = ["CommandRunner"]

A = TypeVar("A")
D = TypeVar("D")

# A command that keeps losing races reads and decides again this many times.
ATTEMPTS = 8


class CommandRunner:
    """Runs the commands of one service (see the module's documentation)."""

    def __init__(
        self, context: Context, unit_of_work: UnitOfWork, notifier: Notifier, *, wired: bool
    ) -> None:
        self.ctx = context
        self.uow = unit_of_work
        self.notifier = notifier
        self.listeners: list[Callable[[Event], None]] = []
        self._wired = wired

    def publish(self, events: Sequence[Event]) -> None:
        """Tell the listeners, and the notifier each event's wire messages."""
        for event in events:
            for listener in self.listeners:
                listener(event)
            if self._wired:
                for recipient, message in to_wire(event):
                    self.notifier.send(recipient, message)

    def run(
        self,
        command_id: str | None,
        fingerprint: Callable[[], str],
        decide: Callable[[datetime], Decision],
    ) -> Order | None:
        """Decide, commit once, publish; again when the commit lost a race; replays by id."""
        if command_id is not None:
            check_command_id(command_id)
            record = self.uow.commands.get(command_id)
            if record is not None:
                return _replayed(record, fingerprint())
        for attempt in range(ATTEMPTS):
            decision = self._decide(decide)
            command = None
            if command_id is not None:
                result_id = None if decision.result is None else decision.result.id
                command = Command(command_id, fingerprint(), result_id)
            elif decision.changes.is_empty:
                return decision.result
            try:
                stored = self.uow.commit(decision.changes, command=command)
            except ConcurrencyConflict:
                record = None if command_id is None else self.uow.commands.get(command_id)
                if record is not None:  # another worker ran this very command meanwhile
                    return _replayed(record, fingerprint())
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            self.publish(decision.changes.events)
            result = decision.result
            return None if result is None else stored.get(result.id, result)
        raise AssertionError("unreachable")

    def run_answered(self, decide: Callable[[datetime], tuple[Decision, A]]) -> A:
        """:meth:`run` for a command without ``command_id`` whose decision comes with its
        own answer (a GPS fix): the answer that came with the decision committed.

        Without an id there is nothing to replay and no fingerprint to make:
        this is the same loop (decide, commit once, publish after the commit,
        decide again when the commit lost a race) without the bookkeeping of
        replays, for the commands that every driver sends every few seconds.
        """
        for attempt in range(ATTEMPTS):
            decision, answer = self._decide(decide)
            changes = decision.changes
            if changes.is_empty:
                return answer
            try:
                self.uow.commit(changes)
            except ConcurrencyConflict:
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            if changes.events:
                self.publish(changes.events)
            return answer
        raise AssertionError("unreachable")

    def run_batch(self, decide: Callable[[datetime], Decision], alone: Callable[[], None]) -> None:
        """A batch of commands without ``command_id`` (``decide`` decides them all, as one
        change set) stored in one write; published after it.

        The commands must be independent (none reads what another writes),
        so that each one alone would have decided the same.  When the one
        commit loses a race, nothing was written and ``alone()`` is called
        instead, on fresh reads: the caller's fallback (the fixes of a
        batch read and decided once more whole, then each by itself).
        """
        changes = self._decide(decide).changes
        if changes.is_empty:
            return
        try:
            self.uow.commit(changes)
        except ConcurrencyConflict:
            self.ctx.rides.refresh()
            alone()
            return
        self.publish(changes.events)

    def _decide(self, decide: Callable[[datetime], D]) -> D:
        try:
            return decide(self.ctx.clock.now())
        except ConcurrencyConflict:
            raise
        except DispatchError:
            # Refused on a ride the reader kept (see RideReader.refresh): the
            # ride may have moved since; a refusal stands only on fresh reads.
            if not self.ctx.rides.refresh():
                raise
            return decide(self.ctx.clock.now())

    def run_order(
        self,
        command_id: str | None,
        fingerprint: Callable[[], str],
        decide: Callable[[datetime], Decision],
    ) -> Order:
        """:meth:`run` for a command that answers with an order."""
        order = self.run(command_id, fingerprint, decide)
        assert order is not None
        return order


def _replayed(record: CommandRecord, fingerprint: str) -> Order | None:
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict(
            record.command_id,
            f"command_id {shown(record.command_id)} was used for {record.fingerprint},"
            f" not for {fingerprint}",
        )
    return record.result
