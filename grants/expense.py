"""Stock-compensation expense (ASC 718): how a grant's fair value is recognised over time.

Pure, like ``grants/rules/`` and ``grants/valuation.py``: dates, ints and Decimals in,
Decimals out, no ORM and no clock. ``Grant`` gathers the rows (``grants.reporting`` does
it for many grants at once) and calls these functions; the expense report is the
difference of the cumulative expense at the ends of each period.

The definitions (``docs/reports.md`` states them for people):

- Each installment of the vesting schedule is a tranche worth ``shares x fair value per
  share``. It vests as the rules say (``rules.is_vested``): on its vesting date, while
  service lasts, or on the termination date when the agreement form accelerates vesting
  for the reason (ASC 718: expensed when it vests). A tranche that has not vested when
  service ends is forfeited on that day and what was booked for it is reversed.
- **Graded** attribution (ASC 718-10-35-8, each installment a separate award): a tranche
  is recognised evenly, day by day, from the grant date to its own vesting date.
- **Straight-line** attribution (the same paragraph's alternative): the whole grant is
  recognised evenly from the grant date to its last vesting date, and never less than the
  fair value of the shares vested by then.
- **Forfeitures**: recognised as they occur (ASC 718-10-35-3, the rate ``None``), or
  estimated at an annual ``forfeiture_rate``: an unvested tranche vesting ``y`` years after
  the grant date is expected to vest in the proportion ``(1 - rate) ** y``; it is trued up
  to its full value when it vests and to nothing when it is forfeited.

Whatever the policy, the cumulative expense on a day is never less than the fair value of
the shares vested by that day, and once nothing is left to vest it equals that value.
Amounts are rounded half-up to the cent once, at the end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from grants import rules

STRAIGHT_LINE = "straight"
GRADED = "graded"
ATTRIBUTIONS = (STRAIGHT_LINE, GRADED)
CENT = Decimal("0.01")
DAYS_PER_YEAR = Decimal("365.25")


@dataclass(frozen=True)
class Award:
    """What the expense of one grant depends on."""

    grant_date: dt.date
    fair_value: Decimal  # per share, at the grant date
    installments: Sequence[rules.Installment]
    # The last day of service: tranches vesting after it are forfeited on it, unless
    # ``accelerated``, when they all vest on it (paragraph 5c; the agreement form).
    service_end: dt.date | None = None
    accelerated: bool = False


@dataclass(frozen=True)
class Recognition:
    """Where one grant's expense stands at the end of a day."""

    cumulative: Decimal  # expense recognised from the grant date through the day
    unrecognised: Decimal  # cost still to recognise for the shares expected to vest
    # unrecognised x years left until it is recognised: summed over grants and divided by
    # the total unrecognised, the weighted-average period (ASC 718-10-50-2(i)).
    unrecognised_years: Decimal


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _elapsed(value: Decimal, start: dt.date, end: dt.date, on: dt.date) -> Decimal:
    """The part of ``value`` earned over the service period from ``start`` to ``end`` by
    the end of ``on``: nothing before it starts, all of it from its last day (a period of
    no days is all rendered), else ``value x days elapsed / days in the period``. The
    product is taken before the division, so the result is the exact quotient wherever
    that matters for rounding to the cent (``straight_line_totals`` computes the same
    figure in integers)."""
    if on >= end:
        return value
    if on < start:
        return value * 0
    return value * (on - start).days / (end - start).days


def _years(start: dt.date, end: dt.date) -> Decimal:
    return Decimal(max(0, (end - start).days)) / DAYS_PER_YEAR


def _expected_proportion(award: Award, tranche: rules.Installment, rate: Decimal | None):
    """The proportion of an unvested tranche expected to vest."""
    if not rate:
        return Decimal(1)
    return (1 - rate) ** _years(award.grant_date, tranche.vest_date)


def check_policy(attribution: str, forfeiture_rate: Decimal | None) -> None:
    if attribution not in ATTRIBUTIONS:
        raise rules.ValidationError(
            f"The attribution must be one of {', '.join(ATTRIBUTIONS)}, not “{attribution}”.",
            code="attribution_unknown",
        )
    if forfeiture_rate is not None and not Decimal(0) <= forfeiture_rate < 1:
        raise rules.ValidationError(
            f"The estimated forfeiture rate must be at least 0 and below 1, not {forfeiture_rate}.",
            code="forfeiture_rate_range",
        )


def recognition(
    award: Award,
    on: dt.date,
    *,
    attribution: str = STRAIGHT_LINE,
    forfeiture_rate: Decimal | None = None,
) -> Recognition:
    """The expense of ``award`` recognised through the end of ``on``, what is left to
    recognise and over how long (see the module's docstring for the definitions)."""
    check_policy(attribution, forfeiture_rate)
    if on < award.grant_date or not award.installments:
        expected = _cents(sum((t.shares for t in award.installments), 0) * award.fair_value)
        years = _years(on, max((t.vest_date for t in award.installments), default=on))
        return Recognition(Decimal("0.00"), expected, expected * years)
    with localcontext() as context:
        context.prec = 34
        ended = award.service_end is not None and on >= award.service_end
        vested, pending = Decimal(0), []  # pending: (tranche, expected value)
        for tranche in award.installments:
            value = tranche.shares * award.fair_value
            if rules.is_vested(tranche, on, award.service_end, award.accelerated):
                vested += value
            elif not ended:
                expected = _expected_proportion(award, tranche, forfeiture_rate)
                pending.append((tranche, value * expected))
        if attribution == GRADED:
            cumulative = vested + sum(
                (_elapsed(value, award.grant_date, t.vest_date, on) for t, value in pending),
                Decimal(0),
            )
            remaining = [
                (value - _elapsed(value, award.grant_date, t.vest_date, on), t.vest_date)
                for t, value in pending
            ]
        else:
            last = max(t.vest_date for t in award.installments)
            expected = vested + sum((value for _, value in pending), Decimal(0))
            cumulative = max(vested, _elapsed(expected, award.grant_date, last, on))
            remaining = [(expected - cumulative, last)] if pending else []
        unrecognised = sum((amount for amount, _ in remaining), Decimal(0))
        weighted = sum(
            (amount * _years(on, vest_date) for amount, vest_date in remaining), Decimal(0)
        )
    cumulative = _cents(cumulative)
    return Recognition(cumulative, _cents(unrecognised), weighted)


@dataclass(frozen=True)
class Totals:
    """The expense of many grants added up (``straight_line_totals``)."""

    cumulatives: list[Decimal]  # on each day asked for
    unrecognised: Decimal  # on the last day
    unrecognised_years: Decimal  # on the last day; see ``Recognition``


def straight_line_totals(grants: Iterable[tuple], days: Sequence[dt.date]) -> Totals:
    """The sum over ``grants`` of ``recognition`` on each of ``days`` (in order; the
    unrecognised cost on the last), for grants whose service continues, under
    straight-line attribution with forfeitures as they occur, from what the database can
    sum per grant: each of ``grants`` is ``(grant_date, last_vest, shares, fair_value,
    vested)``, ``vested`` the shares vested by each of ``days``.

    The expense report adds up most of a book this way (``grants.services.reports``), so
    it is written for speed: whole numbers of ten-thousandths of a dollar (the fair value's
    precision), exact fractions compared and rounded half up to the cent by integer
    division, the same figures as ``recognition`` (a test holds them equal)."""
    cents = [0] * len(days)
    left_cents, left_years = 0, Decimal(0)
    last_index, last_day = len(days) - 1, days[-1]
    scales: dict[Decimal, tuple[int, int]] = {}
    for grant_date, last_vest, shares, fair_value, vested in grants:
        if fair_value not in scales:
            scale = 10 ** max(4, -fair_value.as_tuple().exponent)
            scales[fair_value] = (int(fair_value * scale), scale)
        per_share, scale = scales[fair_value]
        value = shares * per_share  # in 1/scale of a dollar
        period = (last_vest - grant_date).days
        for index, on in enumerate(days):
            if on < grant_date:
                continue  # nothing recognised yet
            vested_value = vested[index] * per_share
            if on >= last_vest:
                numerator, denominator = value, 1
            else:
                elapsed = value * (on - grant_date).days
                if vested_value * period >= elapsed:
                    numerator, denominator = vested_value, 1
                else:
                    numerator, denominator = elapsed, period
            # half up: floor(x / scale x 100 + 1/2), x = numerator / denominator
            cents[index] += (numerator * 200 + scale * denominator) // (2 * scale * denominator)
            if index == last_index and vested_value < value:
                remaining = value * denominator - numerator  # over denominator x scale
                left_cents += (remaining * 200 + scale * denominator) // (2 * scale * denominator)
                with localcontext() as context:
                    context.prec = 34
                    left_years += (
                        Decimal(remaining) / (denominator * scale) * _years(last_day, last_vest)
                    )
        if last_day < grant_date:
            left = (value * 200 + scale) // (2 * scale)
            left_cents += left
            with localcontext() as context:
                context.prec = 34
                left_years += Decimal(left) / 100 * _years(last_day, last_vest)
    return Totals(
        [Decimal(amount).scaleb(-2) for amount in cents], Decimal(left_cents).scaleb(-2), left_years
    )


def cumulative_expense(award: Award, on: dt.date, **policy) -> Decimal:
    """The expense of ``award`` recognised from its grant date through the end of ``on``."""
    return recognition(award, on, **policy).cumulative


def vested_fair_value(award: Award, on: dt.date) -> Decimal:
    """The fair value of the shares of ``award`` vested by the end of ``on``, to the cent."""
    shares = rules.vested_shares(award.installments, on, award.service_end, award.accelerated)
    return _cents(shares * award.fair_value)


def period_expense(award: Award, start: dt.date, end: dt.date, **policy) -> Decimal:
    """The expense of ``award`` for the days ``start`` through ``end``: the cumulative
    expense at the end less that of the day before the start (negative when a forfeiture
    reverses more than the period adds)."""
    before = start - dt.timedelta(days=1)
    return cumulative_expense(award, end, **policy) - cumulative_expense(award, before, **policy)
