"""The rules engine: the contract rules of a stock option grant, one clause per function.

Everything here is pure: plain dates, datetimes, ints and Decimals in, plain values
out, no ORM and no clock. Model methods (``grants/models.py``) gather the rows and call
these functions; the admin, the portal and the commands call the model methods. Each
function's docstring cites the paragraph of the seed agreement
(``shared/seed/stock-option-agreement.txt``) it enforces, and ``docs/contract-rules.md``
maps every paragraph to its function and tests.

A broken rule raises ``django.core.exceptions.ValidationError`` with a message a person
can act on and a stable ``code`` (Django's exception class carries no ORM with it).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

CENT = Decimal("0.01")

REASON_OTHER = "other"
REASON_DISABILITY = "disability"
REASON_DEATH = "death"
TERMINATION_REASONS = (REASON_OTHER, REASON_DISABILITY, REASON_DEATH)

PAYMENT_CASH = "cash"
PAYMENT_CHECK = "check"
PAYMENT_REG_T = "regt"
PAYMENT_METHODS = (PAYMENT_CASH, PAYMENT_CHECK, PAYMENT_REG_T)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Terms:
    """The terms of one grant; the defaults are the seed agreement's."""

    minimum_exercise: int = 1000  # paragraph 3
    months_after_termination: int = 3  # paragraph 5b
    months_after_disability: int = 12  # paragraph 5b(i)
    months_after_death: int = 18  # paragraph 5b(ii)
    registration_tolling: bool = True  # paragraph 5b(iii)
    section16_extension: bool = True  # paragraph 5b(iv)
    section16_days_after_liability: int = 10  # paragraph 5b(iv)(ii)
    section16_cap_months: int = 6  # paragraph 5b(iv)(iii)
    section16_cap_days: int = 10  # paragraph 5b(iv)(iii)
    mail_notice_days: int = 5  # paragraph 9


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


# --------------------------------------------------------------------------- paragraph 1


def check_schedule(
    *, grant_date: dt.date, total_shares: int, installments: Sequence[Installment]
) -> None:
    """Paragraph 1a: the installments are the whole grant, none vests before the grant.

    Refuses an empty schedule, a non-positive installment, two installments on one date,
    an installment dated before the grant date, and installments that do not add up to the
    shares granted.
    """
    if total_shares <= 0:
        raise ValidationError("A grant must be for at least one share.", code="no_shares")
    if not installments:
        raise ValidationError(
            "Add the vesting schedule: at least one installment.", code="no_installments"
        )
    seen: set[dt.date] = set()
    for item in installments:
        if item.shares <= 0:
            raise ValidationError(
                f"The installment of {item.vest_date:%Y-%m-%d} must be for at least one share.",
                code="installment_not_positive",
            )
        if item.vest_date < grant_date:
            raise ValidationError(
                f"The installment of {item.vest_date:%Y-%m-%d} vests before the grant date "
                f"{grant_date:%Y-%m-%d}; move it to the grant date or later.",
                code="installment_before_grant",
            )
        if item.vest_date in seen:
            raise ValidationError(
                f"Two installments vest on {item.vest_date:%Y-%m-%d}; merge them into one.",
                code="installment_duplicate_date",
            )
        seen.add(item.vest_date)
    scheduled = sum(item.shares for item in installments)
    if scheduled != total_shares:
        raise ValidationError(
            f"The installments add up to {scheduled:,} shares but the grant is for "
            f"{total_shares:,}; correct the schedule so that they match.",
            code="schedule_total_mismatch",
        )


def vested_shares(
    installments: Iterable[Installment], on: dt.date, service_end: dt.date | None = None
) -> int:
    """Paragraphs 1a and 5c: shares vested on ``on``.

    An installment counts on or after its vesting date (on the date itself it counts).
    Vesting stops at the end of service: an installment dated after the termination date
    never vests.
    """
    cutoff = on if service_end is None else min(on, service_end)
    return sum(item.shares for item in installments if item.vest_date <= cutoff)


def forfeited_shares(installments: Iterable[Installment], service_end: dt.date | None) -> int:
    """Paragraph 5c: shares not vested on the termination date are forfeited on it."""
    if service_end is None:
        return 0
    return sum(item.shares for item in installments if item.vest_date > service_end)


def unexercised_shares(*, shares: int, exercised: int, forfeited: int) -> int:
    """The shares of the option neither exercised nor forfeited: outstanding while the
    option lasts, returned to the plan when it expires."""
    return max(0, shares - exercised - forfeited)


def returned_shares(*, shares: int, exercised: int, forfeited: int, expired: bool) -> int:
    """Paragraphs 5c and 10: the shares back in the plan's reserve. Those forfeited at the
    end of service; once the option has expired, also those that vested and were never
    exercised."""
    unexercised = unexercised_shares(shares=shares, exercised=exercised, forfeited=forfeited)
    return forfeited + (unexercised if expired else 0)


def fully_exercised(*, shares: int, exercised: int, forfeited: int) -> bool:
    """Every share that will ever vest has been exercised (at least one was): nothing of
    the option is left."""
    return 0 < exercised >= shares - forfeited


def exercisable_shares(
    *,
    installments: Iterable[Installment],
    on: dt.date,
    exercised: int,
    service_end: dt.date | None,
    expires_on: dt.date,
    suspensions: Iterable[Period] = (),
) -> int:
    """Paragraphs 1, 4, 5 and 7: shares that may be exercised on ``on``.

    Vested shares minus every share of every accepted (not cancelled) exercise, whatever
    its date; zero on a day inside a registration suspension and after expiration. Never
    negative (a termination reported late may leave more exercised than vested).
    """
    if on > expires_on or is_suspended(on, suspensions):
        return 0
    return max(0, vested_shares(installments, on, service_end) - exercised)


# --------------------------------------------------------------------------- paragraph 10


def check_plan_limits(
    *,
    shares: int,
    grant_date: dt.date,
    term_end: dt.date,
    reserve_available: int,
    max_term_years: int,
) -> None:
    """Paragraph 10 (and 5a): the plan controls where it conflicts with a grant.

    A grant may not take more shares than the plan's reserve still has, and its term must
    end after the grant date and no later than the plan's maximum term (ten years for the
    seed: "no more than ten (10) years from the date this option is granted").
    """
    if shares > reserve_available:
        raise ValidationError(
            f"The plan has {reserve_available:,} shares left in its reserve; a grant of "
            f"{shares:,} shares would exceed it. Reduce the grant or increase the reserve.",
            code="reserve_exceeded",
        )
    if term_end <= grant_date:
        raise ValidationError(
            f"The term must end after the grant date {grant_date:%Y-%m-%d}.",
            code="term_before_grant",
        )
    latest = add_months(grant_date, 12 * max_term_years)
    if term_end > latest:
        raise ValidationError(
            f"The plan allows a term of at most {max_term_years} years: end it on or before "
            f"{latest:%Y-%m-%d}.",
            code="term_too_long",
        )


# --------------------------------------------------------------------------- paragraph 3


SHARES_TEXT = re.compile(r"[+-]?[0-9][0-9,]*(\.[0-9]+)?", re.ASCII)


def whole_shares(value: object) -> int:
    """Paragraph 3: "This option may be exercised for only whole shares."

    Accepts an int, or a Decimal or string that holds a whole number; refuses fractions,
    non-numbers and booleans with a message that says what to enter.
    """
    if isinstance(value, bool):
        raise ValidationError("Enter a whole number of shares.", code="shares_not_a_number")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    # Digits written out (ASCII, optional thousands commas and decimals): "1e3" or other
    # scripts' digits are not how a person writes a number of shares, so they are refused
    # rather than read as something else.
    if isinstance(value, str) and not SHARES_TEXT.fullmatch(text):
        raise ValidationError(
            f"“{value}” is not a number of shares; enter a whole number such as 1000.",
            code="shares_not_a_number",
        )
    try:
        number = Decimal(text.replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError(
            f"“{value}” is not a number of shares; enter a whole number such as 1000.",
            code="shares_not_a_number",
        ) from None
    if not number.is_finite():
        raise ValidationError("Enter a whole number of shares.", code="shares_not_a_number")
    if number != number.to_integral_value():
        raise ValidationError(
            f"{number} is not a whole number; the option may be exercised for whole shares only.",
            code="fractional_shares",
        )
    return int(number)


def unexercised_by_installment(
    installments: Sequence[Installment],
    exercised: int,
    charged: Mapping[dt.date, int] | None = None,
) -> list[tuple[Installment, int]]:
    """Each installment with its unexercised remainder, in vesting order.

    ``exercised`` is every share taken from the option (exercised or reserved by a pending
    request); ``charged`` holds, by vesting date, the shares of exercises charged to one
    installment under exception 3(a), and is part of ``exercised``. Those shares come off
    their own installment; every other exercised share is taken from the installments in
    vesting order, oldest first, as an administrator's ledger applies them.
    """
    charged = charged or {}
    remaining = exercised - sum(charged.values())
    result = []
    for item in sorted(installments, key=lambda i: i.vest_date):
        left = item.shares - charged.get(item.vest_date, 0)
        used = min(left, max(0, remaining))
        remaining -= used
        result.append((item, left - used))
    return result


def check_minimum_exercise(
    *,
    shares: int,
    installments: Sequence[Installment],
    on: dt.date,
    exercised: int,
    exercisable: int,
    service_end: dt.date | None,
    minimum: int,
    charged: Mapping[dt.date, int] | None = None,
    small_installment_exception: bool = True,
    final_exercise_exception: bool = True,
) -> dt.date | None:
    """Paragraph 3: more than zero, no more than exercisable, at least the minimum.

    The minimum does not apply (a) to an exercise of the whole unexercised remainder of any
    vested installment that is itself smaller than the minimum, whichever installment it is
    (the exception names no order), or (b) to the final exercise: one that takes every
    share still exercisable when no further share can ever become exercisable (every
    installment has vested, or service has ended).

    Returns the vesting date of the installment an exercise under exception (a) is charged
    to, so that the ledger records it and the exception is used once per installment (see
    ``unexercised_by_installment``); None for any other exercise, which is charged to the
    installments oldest first. ``exercised`` and ``charged`` are what earlier exercises
    took, as for ``unexercised_by_installment``.
    """
    if shares <= 0:
        raise ValidationError(
            "Enter a number of shares greater than zero.", code="shares_not_positive"
        )
    if exercisable <= 0:
        raise ValidationError(
            f"No shares are exercisable on {on:%Y-%m-%d}.", code="nothing_exercisable"
        )
    if shares > exercisable:
        raise ValidationError(
            f"Only {exercisable:,} shares are exercisable on {on:%Y-%m-%d}; "
            f"you asked for {shares:,}.",
            code="more_than_exercisable",
        )
    if shares >= minimum:
        return None
    if small_installment_exception:
        for item, remainder in unexercised_by_installment(installments, exercised, charged):
            if (
                item.shares < minimum
                and item.vest_date <= on
                and (service_end is None or item.vest_date <= service_end)
                and shares == remainder
            ):
                return item.vest_date
    total = sum(item.shares for item in installments)
    nothing_more_to_come = service_end is not None or vested_shares(installments, on) == total
    if final_exercise_exception and nothing_more_to_come and shares == exercisable:
        return None
    allowed = [
        *(
            ["for the whole of an installment smaller than the minimum"]
            * small_installment_exception
        ),
        *(["for the final exercise of every remaining share"] * final_exercise_exception),
    ]
    raise ValidationError(
        f"The minimum exercise is {minimum:,} shares"
        + (f"; {shares:,} is allowed only {' or '.join(allowed)}." if allowed else "."),
        code="below_minimum",
    )


# --------------------------------------------------------------------------- paragraphs 4, 7


def is_suspended(on: dt.date, suspensions: Iterable[Period]) -> bool:
    """Paragraphs 4 and 7: no exercise on a day the plan shares are not registered."""
    return any(period.contains(on) for period in suspensions)


def check_registration(on: dt.date, suspensions: Iterable[Period]) -> None:
    """Paragraphs 4 and 7: refuse an exercise on a day inside a registration suspension."""
    for period in suspensions:
        if period.contains(on):
            until = f"through {period.end:%Y-%m-%d}" if period.end else "until further notice"
            raise ValidationError(
                f"The plan shares are not registered from {period.start:%Y-%m-%d} {until}, "
                f"so the option cannot be exercised on {on:%Y-%m-%d}. Exercise once "
                f"registration resumes.",
                code="registration_suspended",
            )


# --------------------------------------------------------------------------- paragraph 5


def _tolled_expiration(
    termination_date: dt.date,
    normal_end: dt.date,
    term_end: dt.date,
    suspensions: Sequence[Period],
    today: dt.date,
) -> dt.date | None:
    """Paragraph 5b(iii): count the post-termination period in exercisable days.

    The normal period holds N days (the day after termination through the normal
    expiration date). When any of those days is suspended, the option expires on the day
    it has been exercisable for N days, or at the term's end if that comes first. An
    open-ended suspension is read as lasting through ``today``: the date shown is the one
    that would hold if registration resumed tomorrow. A suspension that has not started by
    ``today`` changes nothing until its first day (until then it is only announced).
    Returns None when no suspension touches the normal period.
    """
    periods = [p.through(today) for p in suspensions if p.start <= today]
    first_day = termination_date + dt.timedelta(days=1)
    if not any(p.start <= normal_end and p.end >= first_day for p in periods):
        return None
    needed = (normal_end - termination_date).days
    day, counted = termination_date, 0
    while counted < needed:
        day += dt.timedelta(days=1)
        if day > term_end:
            return term_end
        if not is_suspended(day, periods):
            counted += 1
    return day


def _section16_expiration(
    termination_date: dt.date,
    normal_end: dt.date,
    windows: Sequence[Period],
    term_end: dt.date,
    terms: Terms,
) -> dt.date | None:
    """Paragraph 5b(iv): an exercise in the normal period would give short-swing liability.

    The option then expires on the earliest of the term's end, the 10th day after the last
    day of any liability window touching the normal period, and the termination date plus
    six months and ten days. Returns None when no window touches the normal period.
    """
    first_day = termination_date + dt.timedelta(days=1)
    touching = [w for w in windows if w.start <= normal_end and (w.end or term_end) >= first_day]
    if not touching:
        return None
    last_liability_day = max((w.end or term_end) for w in touching)
    return min(
        term_end,
        last_liability_day + dt.timedelta(days=terms.section16_days_after_liability),
        add_months(termination_date, terms.section16_cap_months, terms.section16_cap_days),
    )


def expiration(
    *,
    term_end: dt.date,
    terms: Terms = Terms(),
    termination: Termination | None = None,
    suspensions: Sequence[Period] = (),
    liability_windows: Sequence[Period] = (),
    today: dt.date,
) -> Expiration:
    """Paragraph 5: the date on which the option terminates (its last day of exercise).

    Without a termination, the end of the term (5a). After a termination for any reason
    or none, the earlier of the term's end and the termination date plus 3 months (5b);
    1 year for permanent and total disability (5b(i)); 18 months after death (5b(ii)).
    Registration tolling (5b(iii), only against the 3-month period) and Section 16(b)
    (5b(iv)) only ever extend that date, the later of them wins, and nothing passes the
    term's end. ``today`` is the company's local date, used only to read an open-ended
    suspension (see ``_tolled_expiration``).
    """
    if termination is None:
        return Expiration(term_end, "5a", f"The term ends on {term_end:%Y-%m-%d}.")
    t = termination.on
    months, clause, why = {
        REASON_OTHER: (terms.months_after_termination, "5b", "after the end of service"),
        REASON_DISABILITY: (
            terms.months_after_disability,
            "5b(i)",
            "after a termination for disability",
        ),
        REASON_DEATH: (terms.months_after_death, "5b(ii)", "after death"),
    }[termination.reason]
    normal_end = add_months(t, months)
    if normal_end >= term_end:
        return Expiration(
            term_end,
            "5a",
            f"The term ends on {term_end:%Y-%m-%d}, before the {months}-month window {why} would.",
        )
    result = Expiration(normal_end, clause, f"{months} months {why} on {t:%Y-%m-%d}.")
    if terms.registration_tolling and termination.reason == REASON_OTHER:
        tolled = _tolled_expiration(t, normal_end, term_end, suspensions, today)
        if tolled is not None and tolled > result.on:
            result = Expiration(
                tolled,
                "5b(iii)",
                f"{months} months after the end of service on {t:%Y-%m-%d}, counted in days "
                f"on which the option could be exercised (registration was suspended).",
            )
    if terms.section16_extension:
        s16 = _section16_expiration(t, normal_end, liability_windows, term_end, terms)
        if s16 is not None and s16 > result.on:
            result = Expiration(
                s16,
                "5b(iv)",
                f"{terms.section16_days_after_liability} days after the last day on which an "
                f"exercise would give rise to Section 16(b) liability, at most "
                f"{terms.section16_cap_months} months and {terms.section16_cap_days} days "
                f"after the end of service on {t:%Y-%m-%d}.",
            )
    if result.on >= term_end:
        # An extension that reaches the term's end is cut by it: the term sets the date.
        return Expiration(term_end, "5a", f"The term ends on {term_end:%Y-%m-%d}.")
    return result


def due_expiry_warning(
    expires_on: dt.date, on: dt.date, offsets: Sequence[int], lead_days: int = 0
) -> int | None:
    """Which expiry warning is due on ``on``: the offset (days before expiration) whose day
    has come most recently, or None when no offset has been reached or the option has
    expired.

    Company practice, not a clause: the administrator warns optionees in writing at set
    offsets before the last day to exercise (paragraph 9 governs how the warning is given).
    A warning that goes by mail takes effect ``lead_days`` after deposit, so it is
    deposited that much earlier, to take effect by the day it announces; with fewer days
    left than that, it is deposited at once. A window shorter than the first offset (a
    termination 20 days before the end of term, say) gets the warning for the offset it is
    inside, once, rather than every earlier one.
    """
    days_left = (expires_on - on).days
    if days_left < 0:
        return None
    reached = [offset for offset in offsets if offset >= max(0, days_left - lead_days)]
    return min(reached) if reached else None


def next_expiry_warning_on(
    expires_on: dt.date, on: dt.date, offsets: Sequence[int], lead_days: int = 0
) -> dt.date | None:
    """The first day after ``on`` on which a new expiry warning becomes due, if any (see
    ``due_expiry_warning`` for ``lead_days``)."""
    days_left = (expires_on - on).days
    upcoming = [offset + lead_days for offset in offsets if 0 <= offset + lead_days < days_left]
    return expires_on - dt.timedelta(days=max(upcoming)) if upcoming else None


def next_nightly_action(
    expires_on: dt.date,
    today: dt.date,
    offsets: Sequence[int],
    *,
    due_warning_sent: bool,
    lead_days: int = 0,
    changes_on: Iterable[dt.date] = (),
) -> dt.date:
    """The next day the nightly job must look at an outstanding grant: today when a warning
    is due and not yet sent, else the next warning day (given ``lead_days`` early, see
    ``due_expiry_warning``) or the next day a recorded fact starts to move the expiration
    (``changes_on``: the first day of an announced registration suspension), and never later
    than the day after expiration (when the option expires)."""
    candidates = [expires_on + dt.timedelta(days=1)]
    candidates += [day for day in changes_on if today < day <= expires_on]
    due = due_expiry_warning(expires_on, today, offsets, lead_days)
    if due is not None and not due_warning_sent:
        candidates.append(today)
    upcoming = next_expiry_warning_on(expires_on, today, offsets, lead_days)
    if upcoming is not None:
        candidates.append(upcoming)
    return min(candidates)


def check_not_expired(exercise_date: dt.date, expires: Expiration) -> None:
    """Paragraph 5: the option may be exercised through its expiration date, not after."""
    if exercise_date > expires.on:
        raise ValidationError(
            f"The option expired at the end of business hours on {expires.on:%Y-%m-%d} "
            f"(paragraph {expires.clause}: {expires.explanation}); an exercise dated "
            f"{exercise_date:%Y-%m-%d} cannot be accepted.",
            code="expired",
        )


# --------------------------------------------------------------------------- paragraph 6


def deemed_received(at: dt.date | dt.datetime, calendar: BusinessCalendar) -> dt.date:
    """Paragraph 6a: the exercise date of a notice delivered at ``at``.

    A notice must be delivered during regular business hours: from the opening time up to
    but not including the closing time, on a business day, in the company's time zone. A
    notice received outside them (an evening, a weekend, a holiday) is deemed received at
    the start of the next business day. A date alone means "during business hours that
    day" (or the next business day when that day is not one). A time without a time zone
    is refused rather than guessed.
    """
    if isinstance(at, dt.datetime):
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValidationError(
                "The time the notice was received has no time zone; give it with its time "
                "zone (for example 2026-03-02 10:15 America/Chicago).",
                code="naive_datetime",
            )
        local = at.astimezone(calendar.zone)
        day = local.date()
        if calendar.is_business_day(day) and local.time() < calendar.closes:
            return day
        return calendar.next_business_day(day + dt.timedelta(days=1))
    if isinstance(at, dt.date):
        return calendar.next_business_day(at)
    raise ValidationError(
        "Give the date (or aware date and time) the notice was received.", code="bad_date"
    )


def check_price_at_grant(
    price_per_share: Decimal, fair_market_value: Decimal | None, *, discount_confirmed: bool = False
) -> None:
    """Paragraph 2a: the exercise price is "not less than the fair market value of the
    Common Stock on the date of grant". Checked when a closing price is recorded for the
    grant date; without one there is nothing to compare and the grant is accepted. A price
    below it is a discounted option, which some plans allow and which has tax consequences
    (Section 409A): it is refused unless the administrator confirms it after the warning."""
    if (
        fair_market_value is not None
        and _money(price_per_share) < _money(fair_market_value)
        and not discount_confirmed
    ):
        raise ValidationError(
            f"The exercise price ${price_per_share} is below the fair market value "
            f"${fair_market_value} on the grant date: this would be a discounted option "
            f"(paragraph 2a asks for at least that price, and a discount has tax "
            f"consequences). Correct the price, or confirm that the plan allows a discount.",
            code="price_below_fmv",
        )


def _money(value: Decimal) -> Decimal:
    """Money is a Decimal, never a float: a float has already lost cents."""
    if isinstance(value, float):
        raise TypeError("Pass money as Decimal (or str), never float.")
    return Decimal(value)


def aggregate_price(shares: int, price_per_share: Decimal) -> Decimal:
    """Paragraph 2: shares x price per share, in dollars and cents, rounded half-up once."""
    return (Decimal(shares) * _money(price_per_share)).quantize(CENT, rounding=ROUND_HALF_UP)


def taxable_spread(shares: int, price_per_share: Decimal, fair_market_value: Decimal) -> Decimal:
    """Paragraph 6b: (fair market value on the exercise date - price) x shares, never below 0."""
    spread = (_money(fair_market_value) - _money(price_per_share)) * shares
    return max(Decimal(0), spread).quantize(CENT, rounding=ROUND_HALF_UP)


def intrinsic_value(shares: int, price_per_share: Decimal, closing_price: Decimal) -> Decimal:
    """What ``shares`` are worth over their exercise price at ``closing_price``: (closing
    price - exercise price) x shares, rounded half-up to the cent once, never below zero
    (an option under water is worth nothing to exercise)."""
    spread = (_money(closing_price) - _money(price_per_share)) * shares
    return max(Decimal(0), spread).quantize(CENT, rounding=ROUND_HALF_UP)


def withholding_estimate(
    shares: int,
    price_per_share: Decimal,
    fair_market_value: Decimal,
    rates: Iterable[tuple[str, Decimal]],
) -> list[tuple[str, Decimal]]:
    """Paragraph 6b: the cash the company may require for its tax withholding.

    Each rate applies to the unrounded spread and is rounded half-up to the cent once.
    Returns (name, amount) for each rate; the estimate is their sum.
    """
    spread = max(Decimal(0), (_money(fair_market_value) - _money(price_per_share)) * shares)
    return [
        (name, (spread * _money(rate)).quantize(CENT, rounding=ROUND_HALF_UP))
        for name, rate in rates
    ]


# --------------------------------------------------------------------------- paragraph 7


def check_exerciser(*, acting_is_optionee: bool, acting_is_successor: bool, deceased: bool) -> None:
    """Paragraph 7: during life only the optionee; after death only a recorded successor.

    "Acting" is whoever exercises: the person signed in to the portal, or for a paper notice
    recorded by an administrator, the person who delivered it.
    """
    if deceased:
        if not acting_is_successor:
            raise ValidationError(
                "After the optionee's death the option may be exercised only by the estate or "
                "an heir recorded by the stock administrator as successor.",
                code="not_successor",
            )
        return
    if not acting_is_optionee:
        raise ValidationError(
            "The option is not transferable: during the optionee's life only the optionee "
            "may exercise it.",
            code="not_optionee",
        )


# --------------------------------------------------------------------------- paragraph 9


def notice_effective_date(
    *,
    received_on: dt.date | None,
    mailed_on: dt.date | None = None,
    mail_notice_days: int = 5,
) -> dt.date | None:
    """Paragraph 9: a notice takes effect on receipt; one the company mails to the optionee
    (U.S. mail, postage prepaid) takes effect ``mail_notice_days`` calendar days after
    deposit; whichever comes first when both are known. None while neither has happened.
    """
    candidates = [d for d in (received_on,) if d is not None]
    if mailed_on is not None:
        candidates.append(mailed_on + dt.timedelta(days=mail_notice_days))
    return min(candidates) if candidates else None
