"""When: expiration and its warnings
(paragraph 5), notices (paragraphs 6 and 9), money at exercise, net exercise and holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError

from grants.rules.shares import is_suspended
from grants.rules.terms import (
    CENT,
    REASON_LABELS,
    BusinessCalendar,
    Expiration,
    Period,
    Termination,
    Terms,
    add_months,
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
    """The date on which the option terminates (its last day of exercise; seed paragraph 5).

    Without a termination, the end of the term. After a termination, the earlier of the
    term's end and the end of the agreement form's window for the termination's reason
    (the seed: 3 months for any reason or none, 1 year after disability, 18 months after
    death). For the reasons the form lists, registration tolling (seed 5b(iii)) and the
    Section 16(b) extension (seed 5b(iv)) only ever extend that date, the later of them
    wins, and nothing passes the term's end. ``today`` is the company's local date, used
    only to read an open-ended suspension (see ``_tolled_expiration``).

    The clause is the kind of rule that set the date ("term", "window", "tolling",
    "section16"); the explanation says it in the form's own words.
    """
    if termination is None:
        return Expiration(term_end, "term", f"The term ends on {term_end:%Y-%m-%d}.")
    t = termination.on
    window = terms.window(termination.reason)
    normal_end = window.end(t)
    if normal_end >= term_end:
        return Expiration(
            term_end,
            "term",
            f"The term ends on {term_end:%Y-%m-%d}, before the window of {window.label} would.",
        )
    result = Expiration(normal_end, "window", window.explain(t))
    if window.tolling:
        tolled = _tolled_expiration(t, normal_end, term_end, suspensions, today)
        if tolled is not None and tolled > result.on:
            result = Expiration(
                tolled,
                "tolling",
                f"{window.words.capitalize()} after termination on {t:%Y-%m-%d} "
                f"({REASON_LABELS[window.reason]} window), counted in days on which the option "
                f"could be exercised (registration was suspended).",
            )
    if window.section16:
        s16 = _section16_expiration(t, normal_end, liability_windows, term_end, terms)
        if s16 is not None and s16 > result.on:
            result = Expiration(
                s16,
                "section16",
                f"{terms.section16_days_after_liability} days after the last day on which an "
                f"exercise would give rise to Section 16(b) liability, at most "
                f"{terms.section16_cap_months} months and {terms.section16_cap_days} days "
                f"after termination on {t:%Y-%m-%d}.",
            )
    if result.on >= term_end:
        # An extension that reaches the term's end is cut by it: the term sets the date.
        return Expiration(term_end, "term", f"The term ends on {term_end:%Y-%m-%d}.")
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
            f"({expires.explanation}); an exercise dated "
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


def check_service_end(on: dt.date, grants_made: Iterable[tuple[str, dt.date]]) -> None:
    """Paragraph 5b: a termination ends the continuous service during which the grants
    were made, so it cannot be dated before any of them, whether the grant is outstanding
    or has ended (an ended grant's last day would otherwise move to before its grant date,
    and the 10-K option table of its year would start below zero). ``grants_made`` are the
    optionee's grants as (number, grant date); a grant cancelled as recorded in error was
    never made and is left out by the caller."""
    for number, grant_date in grants_made:
        if on < grant_date:
            raise ValidationError(
                f"The termination date {on:%Y-%m-%d} is before grant {number} was made on "
                f"{grant_date:%Y-%m-%d}; check the date.",
                code="termination_before_grant",
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


def net_exercise(shares: int, price_per_share: Decimal, closing_price: Decimal) -> int:
    """A net exercise (when the agreement form allows it): the shares withheld to pay the
    price, valued at the exercise date's closing price and rounded up to whole shares; the
    rest are issued. Refused when the price is not below the closing price (nothing would be
    left) or when every share would be withheld."""
    price, closing = _money(price_per_share), _money(closing_price)
    if price >= closing:
        raise ValidationError(
            f"A net exercise pays the price with shares: at a closing price of ${closing} it "
            f"needs an exercise price below that (it is ${price}). Pay by another method.",
            code="net_not_in_the_money",
        )
    # Rounded up to whole shares. (Not ``-(-a // b)``: Decimal's ``//`` truncates toward
    # zero, so that idiom rounds down.)
    withheld = (Decimal(shares) * price / closing).to_integral_value(rounding=ROUND_CEILING)
    if withheld >= shares:
        raise ValidationError(
            f"A net exercise of {shares:,} shares would withhold every one of them; exercise "
            f"more shares, or pay by another method.",
            code="net_nothing_left",
        )
    return int(withheld)


def check_hold(on: dt.date, holds: Iterable[Period], reasons: Sequence[str] = ()) -> None:
    """No exercise by an optionee on a day inside a hold the company placed on their
    exercises (a pending for-cause determination, DOMAIN.md)."""
    for period in holds:
        if period.contains(on):
            until = f"through {period.end:%Y-%m-%d}" if period.end else "until it is lifted"
            raise ValidationError(
                f"The company holds this optionee's exercises from {period.start:%Y-%m-%d} "
                f"{until}, so the option cannot be exercised on {on:%Y-%m-%d}.",
                code="exercise_held",
            )


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
