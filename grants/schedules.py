"""Common shapes of vesting schedules, built into explicit installments.

Not a contract rule: a convenience for the administrator (the admin's schedule builder
and the grant import). What it builds is checked by ``rules.check_schedule`` like any
hand-written schedule.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

from grants.rules import add_months


def build_schedule(
    *,
    grant_date: dt.date,
    total_shares: int,
    immediate_shares: int = 0,
    cliff_months: int = 0,
    vesting_months: int,
    every_months: int,
    vesting_start: dt.date | None = None,
) -> list[tuple[dt.date, int]]:
    """An optional tranche on the grant date, then the rest over ``vesting_months``.

    The rest vests evenly by time from ``vesting_start`` (the grant date unless given):
    after a cliff of ``cliff_months`` (the cliff installment carries the cliff's share),
    then every ``every_months`` months until ``vesting_months`` after the start. Shares are
    whole, so each installment is the whole shares earned to its date less those already
    scheduled, and the last takes the remainder. The seed grant is
    ``immediate_shares=100_000, cliff_months=12, vesting_months=48, every_months=3`` of
    1,000,000.

    A vesting start before the grant date (service credited from the hire date) earns the
    installments dated before the grant too, but nothing vests before the grant (seed
    paragraph 1a): they are one installment on the grant date.
    """
    start = vesting_start or grant_date
    if total_shares <= 0:
        raise ValidationError("A grant must be for at least one share.", code="no_shares")
    if not 0 <= immediate_shares <= total_shares:
        raise ValidationError(
            f"The immediate tranche must be between 0 and {total_shares:,} shares.",
            code="bad_immediate",
        )
    rest = total_shares - immediate_shares
    if rest and (vesting_months <= 0 or every_months <= 0):
        raise ValidationError(
            "Give the vesting period and how often installments vest, in months.",
            code="bad_period",
        )
    if rest and every_months > vesting_months:
        raise ValidationError(
            f"Installments every {every_months} months do not fit a {vesting_months}-month "
            f"vesting period; shorten the interval or lengthen the period.",
            code="bad_period",
        )
    if rest and not 0 <= cliff_months <= vesting_months:
        raise ValidationError(
            f"The cliff must be between 0 and the {vesting_months}-month vesting period.",
            code="bad_cliff",
        )
    if rest:
        try:
            add_months(start, vesting_months)
        except (ValueError, OverflowError):  # past 9999-12-31: a mistyped number of months
            raise ValidationError(
                f"A vesting period of {vesting_months:,} months from {start:%Y-%m-%d} "
                f"ends past the end of the calendar; check the dates and the months.",
                code="bad_period",
            ) from None
    schedule: list[tuple[dt.date, int]] = []
    if immediate_shares:
        schedule.append((grant_date, immediate_shares))
    if not rest:
        return schedule
    first = cliff_months or every_months
    offsets = [first, *range(first + every_months, vesting_months + 1, every_months)]
    if offsets[-1] != vesting_months:
        offsets.append(vesting_months)
    scheduled = 0
    for offset in offsets:
        earned = rest * offset // vesting_months
        if earned > scheduled:
            schedule.append((max(grant_date, add_months(start, offset)), earned - scheduled))
            scheduled = earned
    merged: dict[dt.date, int] = {}
    for day, shares in schedule:
        merged[day] = merged.get(day, 0) + shares
    return list(merged.items())
