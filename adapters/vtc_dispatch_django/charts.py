"""The reports' charts as SVG drawn on the server: no script, nothing loaded from elsewhere.

Three charts of a :class:`~vtc_dispatch.reports.Report`:
:func:`daily_chart` (requests as bars, the served share as a line, day by
day), :func:`wait_chart` (how long customers waited for their driver) and
:func:`revenue_chart` (revenue by vehicle type, one scale per currency:
amounts in two currencies are never drawn against each other).

Each data mark carries its figure in ``data-value`` (and its day, bin or
vehicle type) and a ``<title>`` the browser shows on hover, so a page, a
test or an assistive tool reads the numbers, not only the picture.  The
colours come from the stylesheet (``vtc_dispatch_django/reports.css``).

>>> from datetime import date
>>> svg = daily_chart([DayTotal(date(2026, 11, 21), 4, 3), DayTotal(date(2026, 11, 22), 0, 0)])
>>> svg.count('class="vtc-chart__bar"'), svg.count('class="vtc-chart__point"')
(2, 1)
>>> 'data-day="2026-11-21" data-value="75.0"><title>2026-11-21: 75.0 % served' in svg
True
>>> "No data" in revenue_chart([])
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from vtc_dispatch.pricing.quote import format_amount
from vtc_dispatch.reports import DayTotal, RevenueTotal, WaitBin

__all__ = ["daily_chart", "revenue_chart", "wait_chart"]

_WIDTH, _HEIGHT = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 48, 16, 40
_PLOT_W = _WIDTH - _LEFT - _RIGHT
_PLOT_H = _HEIGHT - _TOP - _BOTTOM
_GRID = [(share, _TOP + _PLOT_H * (1 - share)) for share in (0, 0.5, 1)]
"""The gridlines: at the bottom, the middle and the top of the plot (share of the scale, y)."""
_MAX_LABELS = 14
"""At most this many day labels under the daily chart (every k-th day beyond)."""


def _ceiling(value: float) -> float:
    """The scale's top: ``value`` rounded up to an even digit times a power of ten (2 at
    least), so that the middle gridline is a whole number too.

    >>> [_ceiling(v) for v in (1, 3, 5, 12, 45, 900)]
    [2, 4, 6, 20, 60, 1000]
    """
    power = 10 ** math.floor(math.log10(max(value, 1)))
    return next(step * power for step in (2, 4, 6, 8, 10) if step * power >= value)


def _number(value: float) -> str:
    return f"{value:g}"


def _f(value: float) -> str:
    """A coordinate, to the tenth of a unit (format_html formats text only)."""
    return f"{value:.1f}"


def _svg(chart: str, label: str, body: SafeString, height: int = _HEIGHT) -> SafeString:
    return format_html(
        '<svg class="vtc-chart" data-chart="{}" role="img" aria-label="{}"'
        ' viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}</svg>',
        chart,
        label,
        _WIDTH,
        height,
        label,
        body,
    )


def _y_axis(top: float, x: float, anchor: str, unit: str = "") -> SafeString:
    """Labels at 0, half and the top of a scale, at the left or right of the plot."""
    return format_html_join(
        "",
        '<text class="vtc-chart__tick" x="{}" y="{}" text-anchor="{}">{}{}</text>',
        ((x, _f(y + 4), anchor, _number(top * share), unit) for share, y in _GRID),
    )


def _grid() -> SafeString:
    return format_html_join(
        "",
        '<line class="vtc-chart__grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>',
        ((_LEFT, _LEFT + _PLOT_W, _f(y), _f(y)) for _, y in _GRID),
    )


def _empty(chart: str, label: str) -> SafeString:
    return _svg(
        chart,
        label,
        format_html(
            '<text class="vtc-chart__empty" x="{}" y="{}" text-anchor="middle">{}</text>',
            _WIDTH / 2,
            _HEIGHT / 2,
            "No data for these days and filters",
        ),
    )


def _slot(count: int) -> float:
    return _PLOT_W / count


def _columns(bars: Sequence[tuple[str, str, int, str]], top: float, fill: float) -> SafeString:
    """Vertical bars side by side, each ``(key attribute, key, figure, hover text)``,
    ``fill`` of their slot wide."""
    slot = _slot(len(bars))
    marks = []
    for i, (attribute, key, value, title) in enumerate(bars):
        height = _PLOT_H * value / top
        x = _LEFT + slot * (i + (1 - fill) / 2)
        y = _TOP + _PLOT_H - height
        marks.append((_f(x), _f(y), _f(slot * fill), _f(height), attribute, key, value, title))
    return format_html_join(
        "",
        '<rect class="vtc-chart__bar" x="{}" y="{}" width="{}" height="{}" {}="{}"'
        ' data-value="{}"><title>{}</title></rect>',
        marks,
    )


def _x_labels(texts: Sequence[str | None]) -> SafeString:
    """Labels under the slots (``None``: none under that one)."""
    slot = _slot(len(texts))
    return format_html_join(
        "",
        '<text class="vtc-chart__label" x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (_f(_LEFT + slot * (i + 0.5)), _HEIGHT - _BOTTOM + 16, text)
            for i, text in enumerate(texts)
            if text is not None
        ),
    )


def daily_chart(days: Sequence[DayTotal]) -> SafeString:
    """Requests per day as bars (left scale) and the served share as a line (right, 0-100 %)."""
    label = "Requests and served share by day"
    if not any(d.requests for d in days):
        return _empty("daily", label)
    top = _ceiling(max(d.requests for d in days))
    slot = _slot(len(days))
    every = math.ceil(len(days) / _MAX_LABELS)
    points = [
        (
            _f(_LEFT + slot * (i + 0.5)),
            _f(_TOP + _PLOT_H * (1 - day.served_pct / 100)),
            day.day.isoformat(),
            day.served_pct,
            f"{day.day.isoformat()}: {day.served_pct} % served",
        )
        for i, day in enumerate(days)
        if day.requests
    ]
    body = format_html(
        "{}{}{}{}{}{}{}",
        _grid(),
        _y_axis(top, _LEFT - 6, "end"),
        _y_axis(100, _WIDTH - _RIGHT + 6, "start", " %"),
        _columns(
            [
                (
                    "data-day",
                    d.day.isoformat(),
                    d.requests,
                    f"{d.day.isoformat()}: {d.requests} requests, {d.done} served",
                )
                for d in days
            ],
            top,
            0.7,
        ),
        format_html(
            '<polyline class="vtc-chart__line" points="{}"></polyline>',
            " ".join(f"{x},{y}" for x, y, *_ in points),
        ),
        format_html_join(
            "",
            '<circle class="vtc-chart__point" cx="{}" cy="{}" r="4" data-day="{}"'
            ' data-value="{}"><title>{}</title></circle>',
            points,
        ),
        _x_labels(
            [d.day.strftime("%d %b") if i % every == 0 else None for i, d in enumerate(days)]
        ),
    )
    return _svg("daily", label, body)


def _minutes(seconds: float) -> str:
    return _number(seconds / 60)


def _span(one: WaitBin) -> str:
    if one.to_s is None:
        return f"{_minutes(one.from_s)} min or more"
    return f"{_minutes(one.from_s)}-{_minutes(one.to_s)} min"


def wait_chart(bins: Sequence[WaitBin]) -> SafeString:
    """How many customers waited for their driver how long: one bar per bin."""
    label = "Customer wait for the driver (assignment to arrival)"
    if not any(b.count for b in bins):
        return _empty("waits", label)
    top = _ceiling(max(b.count for b in bins))
    bars = [
        ("data-from-s", _number(b.from_s), b.count, f"{_span(b)}: {b.count} customers")
        for b in bins
    ]
    body = format_html(
        "{}{}{}{}",
        _grid(),
        _y_axis(top, _LEFT - 6, "end"),
        _columns(bars, top, 0.8),
        _x_labels([_span(b).replace(" or more", "+") for b in bins]),
    )
    return _svg("waits", label, body)


_ROW_H = 28


def revenue_chart(totals: Sequence[RevenueTotal]) -> SafeString:
    """Revenue by vehicle type as horizontal bars, each currency on its own scale, with the
    exact amounts written beside them."""
    label = "Revenue by vehicle type"
    if not any(t.revenue for t in totals):
        return _empty("revenue", label)
    tops: dict[str, Decimal] = {}
    for total in totals:
        tops[total.currency] = max(tops.get(total.currency, Decimal(0)), total.revenue)
    left, width = 160, _WIDTH - 160 - 200
    bars = []
    for i, total in enumerate(totals):
        top = tops[total.currency]
        # A share for the drawing only: the amount itself is written out exactly.
        length = width * float(total.revenue / top) if top else 0.0
        y = _TOP + i * _ROW_H
        amount = format_amount(total.revenue, total.currency)
        bars.append(
            (
                left - 8,
                y + 17,
                f"{total.vehicle_type} ({total.currency})",
                left,
                y + 4,
                _f(length),
                _ROW_H - 8,
                total.vehicle_type,
                total.currency,
                f"{total.revenue:f}",
                f"{total.vehicle_type}: {amount}",
                _f(left + length + 8),
                y + 17,
                amount,
            )
        )
    body = format_html_join(
        "",
        '<text class="vtc-chart__label" x="{}" y="{}" text-anchor="end">{}</text>'
        '<rect class="vtc-chart__bar" x="{}" y="{}" width="{}" height="{}"'
        ' data-vehicle-type="{}" data-currency="{}" data-value="{}"><title>{}</title></rect>'
        '<text class="vtc-chart__amount" x="{}" y="{}">{}</text>',
        bars,
    )
    return _svg("revenue", label, body, height=_TOP * 2 + _ROW_H * len(totals))
