"""Shared test set-up: import paths for the property helpers and service checks; Django."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "property"))
sys.path.insert(0, str(Path(__file__).parent / "contract"))
sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "stored"))


def pytest_configure() -> None:
    # Settings only: core tests never touch Django; the Django adapter's
    # tests (tests/django_app, the contract suites) get its database.
    import django_support

    django_support.configure()
