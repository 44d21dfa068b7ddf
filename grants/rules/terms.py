"""The vocabulary of the rules: reasons, periods, windows, an agreement form's ``Terms``,
and calendar-month arithmetic (paragraph 5's "N months after")."""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections.abc import Container
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

CENT = Decimal("0.01")

# The Open Cap Format's termination reasons (``TerminationWindowType``), in its order.
VOLUNTARY_OTHER = "VOLUNTARY_OTHER"
VOLUNTARY_GOOD_CAUSE = "VOLUNTARY_GOOD_CAUSE"
VOLUNTARY_RETIREMENT = "VOLUNTARY_RETIREMENT"
INVOLUNTARY_OTHER = "INVOLUNTARY_OTHER"
INVOLUNTARY_DEATH = "INVOLUNTARY_DEATH"
INVOLUNTARY_DISABILITY = "INVOLUNTARY_DISABILITY"
INVOLUNTARY_WITH_CAUSE = "INVOLUNTARY_WITH_CAUSE"
TERMINATION_REASONS = (
    VOLUNTARY_OTHER,
    VOLUNTARY_GOOD_CAUSE,
    VOLUNTARY_RETIREMENT,
    INVOLUNTARY_OTHER,
    INVOLUNTARY_DEATH,
    INVOLUNTARY_DISABILITY,
    INVOLUNTARY_WITH_CAUSE,
)
REASON_LABELS = {
    VOLUNTARY_OTHER: "voluntary termination",
    VOLUNTARY_GOOD_CAUSE: "voluntary termination for good cause",
    VOLUNTARY_RETIREMENT: "retirement",
    INVOLUNTARY_OTHER: "involuntary termination",
    INVOLUNTARY_DEATH: "death",
    INVOLUNTARY_DISABILITY: "permanent and total disability",
    INVOLUNTARY_WITH_CAUSE: "termination for cause",
}
# The short names used before the agreement forms, still accepted (DOMAIN.md).
SHORT_REASONS = {
    "other": INVOLUNTARY_OTHER,
    "disability": INVOLUNTARY_DISABILITY,
    "death": INVOLUNTARY_DEATH,
}
REASON_OTHER = INVOLUNTARY_OTHER
REASON_DISABILITY = INVOLUNTARY_DISABILITY
REASON_DEATH = INVOLUNTARY_DEATH

# OCF's ``PeriodType``, as the windows use it.
DAYS, MONTHS, YEARS = "DAYS", "MONTHS", "YEARS"
PERIOD_TYPES = (DAYS, MONTHS, YEARS)
# Vesting on termination, per reason.
STOP, ACCELERATE_ALL = "STOP", "ACCELERATE_ALL"

PAYMENT_CASH = "cash"
PAYMENT_CHECK = "check"
PAYMENT_REG_T = "regt"
PAYMENT_NET = "net"
PAYMENT_METHODS = (PAYMENT_CASH, PAYMENT_CHECK, PAYMENT_REG_T, PAYMENT_NET)


def termination_reason(value: object) -> str:
    """One of OCF's seven termination reasons; ``other``, ``disability`` and ``death`` (the
    short names) are read as the involuntary ones. Anything else is refused."""
    reason = SHORT_REASONS.get(value, value) if isinstance(value, str) else value
    if reason not in TERMINATION_REASONS:
        raise ValidationError(
            f"“{value}” is not a termination reason; use one of {', '.join(TERMINATION_REASONS)} "
            f"(or other, disability, death).",
            code="bad_reason",
        )
    return reason


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Window:
    """The exercise window after a termination for one reason (OCF's ``TerminationWindow``),
    with what the agreement form says of vesting, tolling and Section 16(b) for it."""

    reason: str
    period: int
    period_type: str
    vesting: str = STOP  # STOP, or ACCELERATE_ALL: every unvested share vests at termination
    tolling: bool = False  # registration tolling (seed 5b(iii)) counts this window in days
    section16: bool = False  # the Section 16(b) extension (seed 5b(iv)) applies

    def end(self, termination_date: dt.date) -> dt.date:
        """The window's normal last day. Days are calendar days (2010-01-31 + 60 days is
        2010-04-01); months and years follow the month-end rule (``add_months``); a period
        of 0 ends on the termination date itself."""
        if self.period_type == DAYS:
            return termination_date + dt.timedelta(days=self.period)
        months = self.period * (12 if self.period_type == YEARS else 1)
        return add_months(termination_date, months)

    @property
    def words(self) -> str:
        """ "3 months", "60 days", "1 year"."""
        unit = {DAYS: "day", MONTHS: "month", YEARS: "year"}[self.period_type]
        return f"{self.period} {unit}{'' if self.period == 1 else 's'}"

    @property
    def label(self) -> str:
        """For example "3 months after termination (retirement window)"."""
        if self.period == 0:
            return f"the termination date itself ({REASON_LABELS[self.reason]} window)"
        return f"{self.words} after termination ({REASON_LABELS[self.reason]} window)"

    def explain(self, termination_date: dt.date) -> str:
        """The window as the explanation of a date, for example "3 months after termination
        on 2008-01-31 (retirement window)."."""
        name = f"({REASON_LABELS[self.reason]} window)"
        if self.period == 0:
            return f"The termination date itself, {termination_date:%Y-%m-%d} {name}."
        on = f"{termination_date:%Y-%m-%d}"
        return f"{self.words.capitalize()} after termination on {on} {name}."


def seed_windows() -> tuple[Window, ...]:
    """The seed agreement's windows: 3 months for any reason or none, tolled and extended
    by Section 16(b); 1 year after disability and 18 months after death."""
    windows = []
    for reason in TERMINATION_REASONS:
        if reason == INVOLUNTARY_DISABILITY:
            windows.append(Window(reason, 1, YEARS))
        elif reason == INVOLUNTARY_DEATH:
            windows.append(Window(reason, 18, MONTHS))
        else:
            windows.append(Window(reason, 3, MONTHS, tolling=True, section16=True))
    return tuple(windows)


@dataclass(frozen=True)
class Terms:
    """The terms of one grant, read from its agreement form (DOMAIN.md, "agreement forms as
    data"); the defaults are the seed agreement's."""

    minimum_exercise: int = 1000  # seed paragraph 3
    small_installment_exception: bool = True  # 3(a)
    final_exercise_exception: bool = True  # 3(b)
    windows: tuple[Window, ...] = field(default_factory=seed_windows)  # seed 5b, 5b(i), 5b(ii)
    section16_days_after_liability: int = 10  # seed 5b(iv)(ii)
    section16_cap_months: int = 6  # seed 5b(iv)(iii)
    section16_cap_days: int = 10  # seed 5b(iv)(iii)
    payment_methods: tuple[str, ...] = (PAYMENT_CASH, PAYMENT_CHECK, PAYMENT_REG_T)  # seed 2b
    mail_notice_days: int = 5  # seed paragraph 9

    def window(self, reason: str) -> Window:
        """The window for ``reason`` (every form states all seven)."""
        reason = termination_reason(reason)
        for window in self.windows:
            if window.reason == reason:
                return window
        raise ValidationError(
            f"The agreement form has no window for {reason}; every form states all seven.",
            code="no_window",
        )

    def with_window(self, reason: str, **changes) -> Terms:
        """These terms with the window for ``reason`` changed (``period``, ``vesting``, ...)."""
        reason = termination_reason(reason)
        windows = tuple(
            dataclasses.replace(w, **changes) if w.reason == reason else w for w in self.windows
        )
        return dataclasses.replace(self, windows=windows)

    def accelerates(self, termination: Termination | None) -> bool:
        """Whether every unvested share vests at ``termination`` (``ACCELERATE_ALL``)."""
        return termination is not None and self.window(termination.reason).vesting == ACCELERATE_ALL


@dataclass(frozen=True)
class Installment:
    vest_date: dt.date
    shares: int


@dataclass(frozen=True)
class Period:
    """A run of whole days, both ends included; ``end`` None means it has not ended."""

    start: dt.date
    end: dt.date | None = None

    def contains(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def through(self, today: dt.date) -> Period:
        """The period with an open end read as lasting through ``today``."""
        if self.end is not None:
            return self
        return Period(self.start, max(self.start, today))


@dataclass(frozen=True)
class Termination:
    """End of continuous service; for a death, ``on`` is the date of death."""

    on: dt.date
    reason: str = REASON_OTHER


@dataclass(frozen=True)
class BusinessCalendar:
    """The company's regular business hours (paragraph 6a)."""

    time_zone: str = "America/Chicago"
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(17, 0)
    workdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays, Monday = 1
    # The days the office is closed for a holiday: anything that answers ``day in holidays``
    # (a set of dates, or a company's calendar read year by year).
    holidays: Container[dt.date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_business_day(self, day: dt.date) -> bool:
        return day.isoweekday() in self.workdays and day not in self.holidays

    def next_business_day(self, day: dt.date) -> dt.date:
        """The first business day on or after ``day``."""
        if not self.workdays:
            raise ValidationError("The company has no business days set.", code="no_business_days")
        while not self.is_business_day(day):
            day += dt.timedelta(days=1)
        return day

    def local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()


@dataclass(frozen=True)
class Expiration:
    """An effective expiration date and the clause that set it."""

    on: dt.date
    clause: str
    explanation: str


# --------------------------------------------------------------------------- months


def add_months(day: dt.date, months: int, days: int = 0) -> dt.date:
    """``months`` calendar months after ``day``, then ``days`` days (paragraph 5).

    When the day of the month does not exist in the target month, the last day of that
    month is used (2008-01-31 + 3 months = 2008-04-30); "six months and ten days" steps the
    months first, then the days.
    """
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = 29 if month == 1 and calendar.isleap(year) else _MONTH_DAYS[month]
    return dt.date(year, month + 1, min(day.day, last)) + dt.timedelta(days=days)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
