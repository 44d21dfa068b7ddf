"""A server-rendered SVG chart of a vesting schedule (no JavaScript, nothing external)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class StepChart:
    width: int
    height: int
    vested_points: str  # SVG polyline points of cumulative vested shares
    exercised_points: str  # SVG polyline points of cumulative exercised-by-installment
    today_x: float | None
    x_labels: list[tuple[float, str]]
    y_labels: list[tuple[float, str]]


def vesting_chart(
    rows, total: int, today: dt.date, granted: dt.date, width: int = 640, height: int = 240
):
    """Cumulative shares vesting over time as a step line, with a marker for today.

    ``rows`` are ``grants.models.ScheduleRow``s in vesting order; forfeited installments
    do not add to the line. The time axis runs from the grant date.
    """
    pad_left, pad_bottom, pad_top, pad_right = 64, 28, 12, 12
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    rows = sorted(rows, key=lambda r: r.vest_date)
    start, end = min(granted, rows[0].vest_date), rows[-1].vest_date
    span = max(1, (end - start).days)
    end_padding = max(30, span // 20)
    span += end_padding

    def x(day: dt.date) -> float:
        return round(pad_left + plot_w * (day - start).days / span, 1)

    def y(shares: int) -> float:
        return round(pad_top + plot_h * (1 - shares / total), 1) if total else pad_top

    def steps(values: list[tuple[dt.date, int]]) -> str:
        points, level = [(x(start), y(0))], 0
        for day, cumulative in values:
            points += [(x(day), y(level)), (x(day), y(cumulative))]
            level = cumulative
        points.append((pad_left + plot_w, y(level)))
        return " ".join(f"{px},{py}" for px, py in points)

    vested, exercised = [], []
    running_vested = running_exercised = 0
    for row in rows:
        if not row.forfeited:
            running_vested += row.shares
            vested.append((row.vest_date, running_vested))
        running_exercised += row.exercised
        exercised.append((row.vest_date, running_exercised))
    years = sorted({row.vest_date.year for row in rows} | {end.year + 1})
    x_labels = [
        (x(dt.date(year, 1, 1)), str(year))
        for year in years
        if start <= dt.date(year, 1, 1) <= start + dt.timedelta(days=span)
    ]
    y_labels = [(y(total * q // 4), f"{total * q // 4:,}") for q in range(5)]
    today_x = x(today) if start <= today <= start + dt.timedelta(days=span) else None
    return StepChart(
        width=width,
        height=height,
        vested_points=steps(vested),
        exercised_points=steps(exercised) if running_exercised else "",
        today_x=today_x,
        x_labels=x_labels,
        y_labels=y_labels,
    )


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    negative: bool


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    zero_y: float
    y_labels: list[tuple[float, str]]


def bar_chart(values, width: int = 640, height: int = 240) -> BarChart:
    """Bars of ``(label, amount)`` (amounts may be negative: a reversal), with a zero line.
    The expense report's expense by quarter."""
    pad_left, pad_bottom, pad_top, pad_right = 80, 28, 12, 12
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    amounts = [amount for _, amount in values]
    top = max([0, *amounts])
    bottom = min([0, *amounts])
    span = (top - bottom) or 1

    def y(amount) -> float:
        return round(pad_top + float(plot_h * (top - amount) / span), 1)

    slot = plot_w / max(1, len(values))
    bars = [
        Bar(
            x=round(pad_left + slot * index + slot * 0.15, 1),
            y=min(y(amount), y(0)),
            width=round(slot * 0.7, 1),
            height=round(abs(y(amount) - y(0)), 1),
            label=label,
            value=f"{amount:,.2f}",
            negative=amount < 0,
        )
        for index, (label, amount) in enumerate(values)
    ]
    y_labels = [(y(level), f"{level:,.0f}") for level in sorted({top, 0, bottom})]
    return BarChart(width=width, height=height, bars=bars, zero_y=y(0), y_labels=y_labels)
