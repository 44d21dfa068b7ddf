"""How many shares: vesting and forfeiture (paragraph 1), plan limits (paragraph 10),
whole shares and the minimum exercise (paragraph 3), registration suspensions
(paragraphs 4 and 7)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from grants.rules.terms import Installment, Period, add_months

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


def is_vested(
    item: Installment, on: dt.date, service_end: dt.date | None, accelerated: bool = False
) -> bool:
    """Paragraphs 1a and 5c: whether an installment has vested on ``on``: on or after its
    vesting date (on the date itself it counts), and not after the end of service, when
    vesting stops; unless the agreement form accelerates vesting for the termination's
    reason (``ACCELERATE_ALL``), when every installment vests on the termination date."""
    if service_end is not None and accelerated and on >= service_end:
        return True
    cutoff = on if service_end is None else min(on, service_end)
    return item.vest_date <= cutoff


def vested_shares(
    installments: Iterable[Installment],
    on: dt.date,
    service_end: dt.date | None = None,
    accelerated: bool = False,
) -> int:
    """Paragraphs 1a and 5c: shares vested on ``on`` (see ``is_vested``)."""
    return sum(
        item.shares for item in installments if is_vested(item, on, service_end, accelerated)
    )


def forfeited_shares(
    installments: Iterable[Installment], service_end: dt.date | None, accelerated: bool = False
) -> int:
    """Paragraph 5c: shares not vested on the termination date are forfeited on it; none
    when the form accelerates vesting for the termination's reason."""
    if service_end is None or accelerated:
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
    accelerated: bool = False,
) -> int:
    """Paragraphs 1, 4, 5 and 7: shares that may be exercised on ``on``.

    Vested shares minus every share of every accepted (not cancelled) exercise, whatever
    its date; zero on a day inside a registration suspension and after expiration. Never
    negative (a termination reported late may leave more exercised than vested).
    """
    if on > expires_on or is_suspended(on, suspensions):
        return 0
    return max(0, vested_shares(installments, on, service_end, accelerated) - exercised)


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
    accelerated: bool = False,
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
                and is_vested(item, on, service_end, accelerated)
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
