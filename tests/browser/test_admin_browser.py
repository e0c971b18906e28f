"""The admin in headless Chromium, as an operator uses it (the example project under daphne)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_an_operator_logs_into_the_admin(operator_page: Page, tmp_path: Path) -> None:
    page = operator_page
    page.screenshot(path=tmp_path / "admin-index.png", full_page=True)
    assert page.title().startswith("Site administration")
    # The dispatch configuration is there to edit.
    assert page.get_by_role("link", name="Zones").is_visible()
