"""The operator's reports in the admin: filters, a table, three charts and the CSV of the table.

"Reports" is listed under Dispatch on the admin's index for staff with the
permission ``vtc_dispatch.view_report`` (superusers have every
permission); anyone else is sent to the admin's login (not staff) or
refused (403, staff without the permission).  The figures are the core's
(:func:`vtc_dispatch.reports.build_report`, where the definitions are),
read from the service's order store and dated on each city's clock; the
charts are SVG drawn here (:mod:`vtc_dispatch_django.charts`); the CSV has
the table's headings and cells, exactly.

By default the page shows the last 7 days up to today on the site's clock
(``TIME_ZONE``), every city and vehicle type.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from vtc_dispatch.errors import DispatchError, InvalidDateRange
from vtc_dispatch.ports import OrderHistory
from vtc_dispatch.reports import COLUMNS, Report, ReportQuery, build_report
from vtc_dispatch_django import charts
from vtc_dispatch_django import models as m

__all__ = ["DEFAULT_DAYS", "ReportFilters", "report_context", "report_csv"]

DEFAULT_DAYS = 7
"""Days the page shows when no dates are asked for, today included."""

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReportFilters(forms.Form):
    """The days (first and last, included), a city and a vehicle type (blank: all)."""

    start = forms.DateField(label="From", widget=_DATE)
    end = forms.DateField(label="To", widget=_DATE)
    city = forms.ChoiceField(required=False)
    vehicle_type = forms.ChoiceField(label="Vehicle type", required=False)

    def __init__(self, data: Any, *, today: date) -> None:
        if not any(name in data for name in ("start", "end", "city", "vehicle_type")):
            start = today - timedelta(days=DEFAULT_DAYS - 1)
            data = {"start": start.isoformat(), "end": today.isoformat()}
        super().__init__(data)
        cities = m.City.objects.order_by("code").values_list("code", "name")
        self.fields["city"].choices = [("", "All cities"), *cities]
        types = m.VehicleType.objects.order_by("code").values_list("code", "label")
        self.fields["vehicle_type"].choices = [("", "All vehicle types"), *types]

    def query(self) -> ReportQuery | None:
        """The report asked for, or ``None`` with the errors on the form (the core's
        :class:`~vtc_dispatch.errors.InvalidDateRange` on the field it names)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        try:
            return ReportQuery(
                data["start"], data["end"], data["city"] or None, data["vehicle_type"] or None
            )
        except InvalidDateRange as exc:
            self.add_error(exc.argument if exc.argument in self.fields else None, str(exc))
            return None


def _report(request: HttpRequest) -> tuple[ReportFilters, Report | None, str | None]:
    """The filters of ``request``, the report they ask for and why there is none."""
    from vtc_dispatch_django.runtime import get_service

    filters = ReportFilters(request.GET, today=timezone.localdate())
    query = filters.query()
    if query is None:
        return filters, None, None
    service = get_service()
    orders = service.orders
    if not isinstance(orders, OrderHistory):
        return (
            filters,
            None,
            f"The order store ({type(orders).__name__}) cannot list orders by date:"
            " reports need the database's (or another OrderHistory).",
        )
    try:
        report = build_report(orders, query, service.pricer.config.time_zones())
    except DispatchError as exc:
        return filters, None, str(exc)
    return filters, report, None


def report_context(request: HttpRequest) -> dict[str, Any]:
    """What the reports page shows: the filters, the table, the charts, the CSV's link."""
    filters, report, problem = _report(request)
    context: dict[str, Any] = {
        "filters": filters,
        "problem": problem,
        "columns": COLUMNS,
        "shown": report is not None,
    }
    if report is not None:
        query = report.query
        context.update(
            # The CSV of exactly these days, even past midnight.
            query_string=urlencode(
                {
                    "start": query.start.isoformat(),
                    "end": query.end.isoformat(),
                    "city": query.city or "",
                    "vehicle_type": query.vehicle_type or "",
                }
            ),
            rows=[row.cells() for row in report.rows],
            daily_chart=charts.daily_chart(report.days()),
            wait_chart=charts.wait_chart(report.wait_histogram()),
            revenue_chart=charts.revenue_chart(report.revenue_by_vehicle_type()),
        )
    return context


def report_csv(request: HttpRequest) -> HttpResponse:
    """The table of the report ``request`` asks for, as CSV (400 with the reasons when the
    filters are wrong, 503 when the orders cannot be read)."""
    filters, report, problem = _report(request)
    if report is None:
        reasons = problem or "; ".join(
            f"{field}: {' '.join(errors)}" for field, errors in filters.errors.items()
        )
        status = 503 if problem else 400
        return HttpResponse(reasons, status=status, content_type="text/plain; charset=utf-8")
    query = report.query
    answer = HttpResponse(content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = (
        f'attachment; filename="report-{query.start.isoformat()}-{query.end.isoformat()}.csv"'
    )
    writer = csv.writer(answer)
    writer.writerow(COLUMNS)
    writer.writerows(row.cells() for row in report.rows)
    return answer
