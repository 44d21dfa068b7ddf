"""Public holidays from a maintained calendar (the ``holidays`` package): the days a company's
office is closed unless its administrator says otherwise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache

import holidays

# The calendars a company may take its holidays from, by the ``holidays`` package's code.
CALENDARS = {"US": "United States federal holidays, as observed"}


@lru_cache(maxsize=512)
def public_holidays(calendar: str, year: int) -> Mapping[dt.date, str]:
    """The holidays of ``calendar`` in ``year``, on the days they are observed (Independence
    Day 2026 falls on a Saturday and is observed on Friday 2026-07-03); none for ``""``."""
    if not calendar:
        return {}
    return dict(holidays.country_holidays(calendar, years=year, observed=True))


@lru_cache(maxsize=64)
def _exchange_holidays(year: int) -> Mapping[dt.date, str]:
    return dict(holidays.financial_holidays("NYSE", years=year))


def trading_day_problem(day: dt.date) -> str | None:
    """Why there is no closing price on ``day``: a weekend or a New York Stock Exchange
    holiday (from the ``holidays`` package); None on a trading day."""
    if day.isoweekday() > 5:
        return f"{day:%Y-%m-%d} is a {day:%A}: the exchange does not trade"
    closed = _exchange_holidays(day.year).get(day)
    if closed:
        return f"{day:%Y-%m-%d} is an exchange holiday ({closed}): the exchange does not trade"
    return None


class CompanyHolidays:
    """The days a company's office is closed for a holiday (paragraph 6a): its calendar's
    public holidays, with the days its administrator added and without those it removed.
    Read lazily, year by year, for any year a rule asks about."""

    def __init__(
        self, calendar: str, added: Mapping[dt.date, str], removed: frozenset[dt.date]
    ) -> None:
        self.calendar, self.added, self.removed = calendar, dict(added), frozenset(removed)

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, dt.date):
            return False
        if day in self.added:
            return True
        return day not in self.removed and day in public_holidays(self.calendar, day.year)

    def __repr__(self) -> str:
        added, removed = len(self.added), len(self.removed)
        return f"CompanyHolidays({self.calendar!r}, {added} added, {removed} removed)"

    def in_year(self, year: int) -> list[tuple[dt.date, str, str]]:
        """Each holiday of ``year`` as (date, name, where it comes from), in date order; the
        removed days are listed too, marked so."""
        days = {
            day: (name, "calendar") for day, name in public_holidays(self.calendar, year).items()
        }
        for day in self.removed:
            if day.year == year and day in days:
                days[day] = (days[day][0], "removed")
        for day, name in self.added.items():
            if day.year == year:
                days[day] = (name, "added")
        return [(day, name, source) for day, (name, source) in sorted(days.items())]
