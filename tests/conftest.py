"""Shared test set-up: import paths for the property helpers and service checks."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "property"))
sys.path.insert(0, str(Path(__file__).parent / "contract"))
