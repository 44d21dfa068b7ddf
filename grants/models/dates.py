"""The dates the book keeps: contract dates must be dates, within a calendar wide enough for
every agreement, refused with a message a person can act on."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

# The dates the book keeps: far wider than any agreement, and far enough from the ends of
# the calendar (0001-01-01, 9999-12-31) that every period the rules add or subtract
# (months after termination, tolling, expiry warnings) is still a date. A date outside is
# a typo in the year (9999-12-31), refused with a message rather than a crash.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


def require_date(value: object, what: str) -> dt.date:
    """Contract dates are dates: refuse datetimes, strings and None with a clear message."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError(f"{what} must be a date (YYYY-MM-DD).", code="bad_date")
    return within_calendar(value, what)


def within_calendar(day: dt.date, what: str) -> dt.date:
    """Refuse a date outside ``EARLIEST_DATE`` .. ``LATEST_DATE`` (a mistyped year)."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(
            f"{what} {day.isoformat()} is too far in the "
            f"{'past' if day < EARLIEST_DATE else 'future'}; check the year (the book keeps "
            f"dates from {EARLIEST_DATE:%Y-%m-%d} through {LATEST_DATE:%Y-%m-%d}).",
            code="date_out_of_range",
        )
    return day
