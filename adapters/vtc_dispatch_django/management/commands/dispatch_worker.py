"""``manage.py dispatch_worker``: run the offers' deadlines (``expire_due`` at each one).

Run one (or several: ``expire_due`` is idempotent and the repositories'
versions keep concurrent workers safe) beside the web processes.  It sleeps
until the earliest deadline, never longer than ``--max-sleep``; with
``--once`` it handles what is due now and exits (for cron).  The ORM being
synchronous, this is a plain loop rather than
:func:`vtc_dispatch.pool.runner.run_deadlines`, with the same rule.  Once
an hour (and at each ``--once``) it forgets the commands' records older
than :data:`KEEP_COMMANDS` (no client retries a command that late).
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from vtc_dispatch_django.runtime import get_service
from vtc_dispatch_django.unit_of_work import DjangoCommandLog

__all__ = ["KEEP_COMMANDS", "Command", "forget_old_commands", "run_until"]

KEEP_COMMANDS = timedelta(days=1)
_FORGET_EVERY_S = 3600.0


def forget_old_commands() -> int:
    """Delete the command records older than :data:`KEEP_COMMANDS`; how many went."""
    return DjangoCommandLog().forget(timezone.now() - KEEP_COMMANDS)


def run_until(stop: threading.Event, max_sleep_s: float = 1.0) -> int:
    """Call ``expire_due`` at each deadline until ``stop`` is set; how many were handled."""
    handled = 0
    forgot_at = -_FORGET_EVERY_S
    while not stop.is_set():
        if time.monotonic() - forgot_at >= _FORGET_EVERY_S:
            forget_old_commands()
            forgot_at = time.monotonic()
        service = get_service()  # fetched anew: the configuration may change
        handled += service.expire_due()
        deadline = service.orders.next_deadline()
        delay = max_sleep_s
        if deadline is not None:
            delay = min(delay, max(0.0, (deadline - service.clock.now()).total_seconds()))
        stop.wait(delay)
    return handled


class Command(BaseCommand):
    help = "Call expire_due at each offer deadline (the pool's timeouts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="handle what is due and exit")
        parser.add_argument(
            "--max-sleep", type=float, default=1.0, help="longest sleep between two checks (s)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            handled = get_service().expire_due()
            forgotten = forget_old_commands()
            self.stdout.write(
                f"{handled} offer deadline(s) handled, {forgotten} old command record(s) forgotten"
            )
            return
        if not options["max_sleep"] > 0:
            raise CommandError(f"--max-sleep must be > 0, got {options['max_sleep']}")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("dispatch_worker: running the offer deadlines (Ctrl-C stops)")
        handled = run_until(stop, options["max_sleep"])
        self.stdout.write(f"dispatch_worker: stopped, {handled} offer deadline(s) handled")
