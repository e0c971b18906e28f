"""A clock for end-to-end tests: the wall clock moved forward by the seconds in a file.

``VTC_CLOCK_FILE=/path`` (see ``demo/settings.py``) makes the service read
its time through :class:`FileClock`: a test writes ``61`` into the file and
the server's clock is a minute ahead, at once, without sleeping.  The file
holds seconds as a decimal number; a missing or empty file means 0.  Not
for production: any process that can write the file moves the server's time.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["FileClock"]


class FileClock:
    """The wall clock plus the offset in ``VTC_CLOCK_FILE``; it never goes back."""

    def __init__(self) -> None:
        self._path = Path(os.environ["VTC_CLOCK_FILE"])
        self._last = datetime.now(UTC)
        self._lock = threading.Lock()

    def _offset_s(self) -> float:
        try:
            text = self._path.read_text().strip()
        except FileNotFoundError:
            return 0.0
        return float(text) if text else 0.0

    def now(self) -> datetime:
        """The current instant, aware, UTC."""
        moment = datetime.now(UTC) + timedelta(seconds=self._offset_s())
        with self._lock:
            self._last = max(self._last, moment)
            return self._last
