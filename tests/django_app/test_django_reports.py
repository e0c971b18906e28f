"""The reports page of the admin, in process: staff only, the table, its CSV, the charts."""

from __future__ import annotations

import csv
import io
from datetime import date
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django_demo import Demo
from report_orders import two_days_of_orders

from vtc_dispatch.memory import InMemoryOrderRepository
from vtc_dispatch.reports import COLUMNS, ReportQuery, build_report

PAGE = "/admin/vtc_dispatch/report/"
CSV = "/admin/vtc_dispatch/report/csv/"
TWO_DAYS = {"start": "2026-11-21", "end": "2026-11-22"}


class _Page(HTMLParser):
    """The report's table (headings and cells) and the charts' marks of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.rows: list[list[str]] = []
        self.marks: dict[str, list[dict[str, str | None]]] = {}
        self._chart: str | None = None
        self._cell: list[str] | None = None
        self._in_table = self._in_body = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id") == "vtc-report-table":
            self._in_table = True
        elif tag == "svg" and found.get("data-chart"):
            self._chart = str(found["data-chart"])
            self.marks[self._chart] = []
        elif self._chart and "data-value" in found:
            self.marks[self._chart].append(found)
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = self._in_body = False
        elif tag == "svg":
            self._chart = None
        elif self._cell is not None and tag in ("td", "th"):
            (self.headings if tag == "th" else self.rows[-1]).append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def two_days(demo: Demo) -> list[list[str]]:
    """The hand-built orders stored by the service; the cells the core makes of them."""
    memory = InMemoryOrderRepository()
    for order in two_days_of_orders():
        demo.service.orders.add(order)
        memory.add(order)
    query = ReportQuery(date.fromisoformat(TWO_DAYS["start"]), date.fromisoformat(TWO_DAYS["end"]))
    report = build_report(memory, query, demo.service.pricer.config.time_zones())
    return [list(row.cells()) for row in report.rows]


def test_the_table_and_its_csv_are_the_reports_rows(
    operator: Client, two_days: list[list[str]]
) -> None:
    page = _Page(operator.get(PAGE, TWO_DAYS).content.decode())
    assert page.headings == list(COLUMNS)
    assert page.rows == two_days
    assert len(page.rows) == 6
    answer = operator.get(CSV, TWO_DAYS)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="report-2026-11-21-2026-11-22.csv"' in answer["Content-Disposition"]
    table = list(csv.reader(io.StringIO(answer.content.decode())))
    assert table == [page.headings, *page.rows]
    # The CSV link of the page asks for the same rows.
    assert "csv/?start=2026-11-21&amp;end=2026-11-22&amp;city=&amp;vehicle_type=" in (
        operator.get(PAGE, TWO_DAYS).content.decode()
    )


def test_the_charts_carry_the_figures(operator: Client, two_days: list[list[str]]) -> None:
    page = _Page(operator.get(PAGE, TWO_DAYS).content.decode())
    bars = [m for m in page.marks["daily"] if m.get("class") == "vtc-chart__bar"]
    points = [m for m in page.marks["daily"] if m.get("class") == "vtc-chart__point"]
    assert [(b["data-day"], b["data-value"]) for b in bars] == [
        ("2026-11-21", "10"),
        ("2026-11-22", "5"),
    ]
    assert [p["data-value"] for p in points] == ["50.0", "80.0"]
    assert sum(int(str(m["data-value"])) for m in page.marks["waits"]) == 10
    revenue = {
        (m["data-vehicle-type"], m["data-currency"]): m["data-value"] for m in page.marks["revenue"]
    }
    assert revenue == {
        ("confort", "EUR"): "20.30",
        ("confort", "XAF"): "5000",
        ("taxi_jaune", "XAF"): "11650",
        ("taxi_jaune", "XOF"): "2500",
    }


def test_filters_narrow_the_rows_and_bad_dates_are_explained(
    operator: Client, two_days: list[list[str]]
) -> None:
    answer = operator.get(CSV, {**TWO_DAYS, "city": "douala", "vehicle_type": "taxi_jaune"})
    rows = list(csv.reader(io.StringIO(answer.content.decode())))[1:]
    assert rows == [r for r in two_days if r[1:3] == ["douala", "taxi_jaune"]]
    assert len(rows) == 2
    backwards = {"start": "2026-11-22", "end": "2026-11-21"}
    page = operator.get(PAGE, backwards).content.decode()
    assert "end must not be before start 2026-11-22, got 2026-11-21" in page
    assert 'id="vtc-report-table"' not in page
    answer = operator.get(CSV, backwards)
    assert answer.status_code == 400
    assert "end must not be before start 2026-11-22" in answer.content.decode()
    assert operator.get(CSV, {"start": "someday", "end": "2026-11-21"}).status_code == 400


def test_without_dates_the_page_shows_the_last_seven_days(operator: Client) -> None:
    from django.utils import timezone

    answer = operator.get(PAGE)
    assert answer.status_code == 200
    page = _Page(answer.content.decode())
    today = timezone.localdate()
    assert page.rows == [["No order was made on these days with these filters."]]
    assert answer.context["filters"].cleaned_data["end"] == today
    assert (today - answer.context["filters"].cleaned_data["start"]).days == 6
    # Every chart is drawn, with no mark, and says there is nothing to show.
    assert sorted(page.marks) == ["daily", "revenue", "waits"]
    assert not any(page.marks.values())


def _client(username: str, *, staff: bool, allowed: bool = False) -> Client:
    user = User.objects.create_user(username, password=username, is_staff=staff)
    if allowed:
        user.user_permissions.add(Permission.objects.get(codename="view_report"))
    client = Client()
    client.login(username=username, password=username)
    return client


@pytest.mark.parametrize("url", [PAGE, CSV])
def test_only_staff_allowed_to_view_reports_reach_them(demo: Demo, url: str) -> None:
    for client in (Client(), _client("nobody", staff=False)):
        answer = client.get(url)
        assert answer.status_code == 302
        assert answer["Location"].startswith(f"/admin/login/?next={url}")
    assert _client("clerk", staff=True).get(url).status_code == 403
    assert _client("analyst", staff=True, allowed=True).get(url).status_code == 200


def test_the_admin_index_links_the_reports_for_whom_may_see_them(operator: Client) -> None:
    link = f'href="{PAGE}"'
    assert link in _client("analyst", staff=True, allowed=True).get("/admin/").content.decode()
    assert link not in _client("clerk", staff=True).get("/admin/").content.decode()
    # The proxy's other admin pages do not exist: orders are not shown by this door.
    assert operator.get(f"{PAGE}1/change/").status_code == 404
    assert operator.get(f"{PAGE}add/").status_code == 404
