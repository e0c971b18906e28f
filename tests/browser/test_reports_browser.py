"""The reports page in headless Chromium: a ride and a cancellation made over REST, then seen
by the operator as charts, a table and the table's CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from browser_support import Site
from django_example import A_TAXI_IN_CASH, call

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _ok(site: Site, who: str, path: str, body: Any = None) -> dict[str, Any]:
    status, answer = call(site.base, who, "POST", path, body)
    assert status in (200, 201), (path, status, answer)
    return dict(answer)


def _a_ride_and_a_cancellation(site: Site) -> Decimal:
    """Amadou drives Chantal from Akwa to Deido; Didier orders and cancels. The fare."""
    _ok(
        site,
        "amadou",
        "driver/toggle-status/",
        {"online": True, "position": A_TAXI_IN_CASH["pickup"]},
    )
    try:
        ride = _ok(site, "chantal", "customer/create/", A_TAXI_IN_CASH)
        for step in ("accept", "arrived", "start", "complete"):
            done = _ok(site, "amadou", f"driver/{step}/{ride['id']}/")
        cancelled = _ok(site, "didier", "customer/create/", A_TAXI_IN_CASH)
        _ok(site, "didier", f"customer/cancel/{cancelled['id']}/", {"reason": "changed my mind"})
    finally:
        _ok(site, "amadou", "driver/toggle-status/", {"online": False})
    assert done["state"] == "done", done
    return Decimal(done["final_fare"]["amount"])


def _table(page: Page) -> list[list[str]]:
    return [
        [cell.strip() for cell in row]
        for row in page.locator("#vtc-report-table tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
        )
    ]


def test_the_reports_page_draws_its_charts_from_the_orders(
    operator_page: Page, site: Site, blocked_requests: list[str], tmp_path: Path
) -> None:
    fare = _a_ride_and_a_cancellation(site)
    page = operator_page
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url("**/admin/vtc_dispatch/report/")
    page.screenshot(path=tmp_path / "reports.png", full_page=True)

    table = _table(page)
    headings, rows = table[0], table[1:]
    today = page.locator("#id_end").input_value()
    records = [dict(zip(headings, row, strict=True)) for row in rows]
    [row] = [r for r in records if r["day"] == today and r["vehicle type"] == "taxi_jaune"]
    # Other browser tests of this server may order too: at least ours are there.
    assert int(row["requests"]) >= 2
    assert int(row["served"]) >= 1
    assert int(row["cancelled by customer"]) >= 1
    assert Decimal(row["revenue"]) >= fare

    # The requests chart: one bar per day of the week shown, today's the table's requests,
    # drawn with a height; the served share as a point on the line.
    bars = page.locator('svg[data-chart="daily"] .vtc-chart__bar')
    assert bars.count() == 7
    todays = page.locator(f'svg[data-chart="daily"] .vtc-chart__bar[data-day="{today}"]')
    requests_today = sum(int(r["requests"]) for r in records if r["day"] == today)
    assert todays.get_attribute("data-value") == str(requests_today)
    box = todays.bounding_box()
    assert box is not None
    assert box["height"] > 10
    point = page.locator(f'svg[data-chart="daily"] .vtc-chart__point[data-day="{today}"]')
    assert float(point.get_attribute("data-value") or "nan") > 0
    # The waits: at least Chantal's, counted in a bar that is drawn.
    waits = page.locator('svg[data-chart="waits"] .vtc-chart__bar')
    counts = [int(v) for v in waits.evaluate_all("bars => bars.map(b => b.dataset.value)")]
    assert sum(counts) >= 1
    heights = waits.evaluate_all("bars => bars.map(b => b.getBoundingClientRect().height)")
    assert max(heights) > 10
    # The revenue of taxi_jaune in XAF: the table's, written beside its bar.
    revenue = page.locator('svg[data-chart="revenue"] .vtc-chart__bar').filter(
        has_text="taxi_jaune: "
    )
    assert revenue.get_attribute("data-currency") == "XAF"
    taxi = [r for r in records if (r["vehicle type"], r["currency"]) == ("taxi_jaune", "XAF")]
    assert Decimal(revenue.get_attribute("data-value") or "") == sum(
        (Decimal(r["revenue"]) for r in taxi), Decimal(0)
    )
    assert (revenue.bounding_box() or {"width": 0})["width"] > 10

    # The CSV the page links is its table.
    link = page.get_by_role("link", name="Export CSV").get_attribute("href")
    answer = page.request.get(f"{site.base}{link}")
    assert answer.status == 200
    assert list(csv.reader(io.StringIO(answer.text()))) == table
    # Nothing was asked of another server: the charts are drawn by this one.
    assert blocked_requests == []
