"""What the browser tests share beside their fixtures (tests/browser/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Site"]


@dataclass(frozen=True)
class Site:
    """The example project served by daphne, and its operator's login."""

    base: str
    operator: str = "operator"
    password: str = "operator-password"
