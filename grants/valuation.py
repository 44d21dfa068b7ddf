"""Grant-date fair value of an option: the Black-Scholes-Merton formula and the expected term.

Pure, like ``grants/rules/``: Decimals, ints and dates in, Decimals out, no ORM and no
clock. Numbers are ``Decimal`` (or an int or str that ``Decimal`` takes); a float is refused
with ``TypeError``, since it has already lost digits. A value that the formula cannot take
raises ``django.core.exceptions.ValidationError`` with a message a person can act on and a
stable ``code``.

Sources: F. Black and M. Scholes, "The Pricing of Options and Corporate Liabilities" (1973),
and R. Merton, "Theory of Rational Option Pricing" (1973), for a stock paying a continuous
dividend yield, as in J. Hull, *Options, Futures, and Other Derivatives*; ASC 718-10-55
names the formula as one that meets the standard. The expected term is the SEC staff's
"simplified method" of Staff Accounting Bulletin Topic 14.D.2 (SAB 107, question 6),
extended by SAB 110.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from statistics import NormalDist

from django.core.exceptions import ValidationError

from grants.rules import Installment

VALUE_PLACES = Decimal("0.0001")
DAYS_PER_YEAR = Decimal("365.25")

_N = NormalDist()  # the standard normal distribution: N(x) = _N.cdf(x)


def _number(name: str, value: Decimal | int | str) -> Decimal:
    """``value`` as a finite Decimal; a float is refused, as ``rules._money`` refuses it."""
    if isinstance(value, float):
        raise TypeError(f"Pass {name} as Decimal (or int or str), never float.")
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(
            f"The {name} “{value}” is not a number.", code="not_a_number"
        ) from None
    if not number.is_finite():
        raise ValidationError(f"The {name} must be a finite number.", code="not_finite")
    return number


def _positive(name: str, value: Decimal, code: str) -> Decimal:
    number = _number(name, value)
    if number <= 0:
        raise ValidationError(f"The {name} must be more than zero, not {number}.", code=code)
    return number


def black_scholes_call(
    spot: Decimal,
    strike: Decimal,
    years: Decimal,
    volatility: Decimal,
    risk_free_rate: Decimal,
    dividend_yield: Decimal = Decimal(0),
) -> Decimal:
    """The Black-Scholes-Merton value of a European call on one share, in dollars, rounded
    half-up to four places:

        c = S e^(-qT) N(d1) - K e^(-rT) N(d2)
        d1 = (ln(S/K) + (r - q + sigma^2 / 2) T) / (sigma sqrt(T)),  d2 = d1 - sigma sqrt(T)

    with S the share price (``spot``), K the exercise price (``strike``), T the term in
    years (``years``: for a grant-date fair value, the expected term), sigma the annual
    volatility, r the continuously compounded risk-free rate and q the continuous dividend
    yield, all as fractions (20% is ``Decimal("0.20")``). N is the standard normal
    distribution function (``statistics.NormalDist``).

    Limits: spot, strike and volatility must be more than zero (as sigma goes to zero the
    value would be the discounted intrinsic value, but a zero volatility is no estimate of
    anything and is refused); years may not be negative, and at zero years the value is the
    limit of the formula, the intrinsic value max(S - K, 0). Rates may be negative.
    """
    spot = _positive("share price", spot, "spot_not_positive")
    strike = _positive("exercise price", strike, "strike_not_positive")
    volatility = _positive("volatility", volatility, "volatility_not_positive")
    years = _number("term in years", years)
    rate = _number("risk-free rate", risk_free_rate)
    dividend_yield = _number("dividend yield", dividend_yield)
    if years < 0:
        raise ValidationError(
            f"The term cannot be negative ({years} years).", code="years_negative"
        )
    if years == 0:
        return max(spot - strike, Decimal(0)).quantize(VALUE_PLACES, rounding=ROUND_HALF_UP)
    with localcontext() as context:
        context.prec = 34
        spread = volatility * years.sqrt()
        d1 = ((spot / strike).ln() + (rate - dividend_yield + volatility**2 / 2) * years) / spread
        d2 = d1 - spread
        value = spot * (-dividend_yield * years).exp() * _cdf(d1) - strike * (
            -rate * years
        ).exp() * _cdf(d2)
        # The formula is never below zero; float rounding in N() may leave a trace below.
        value = max(value, Decimal(0))
    return value.quantize(VALUE_PLACES, rounding=ROUND_HALF_UP)


def _cdf(x: Decimal) -> Decimal:
    return Decimal(repr(_N.cdf(float(x))))


def simplified_expected_term(
    grant_date: dt.date, installments: Iterable[Installment], term_end: dt.date
) -> Decimal:
    """The expected term of a "plain vanilla" option in years, by the SEC staff's simplified
    method (SAB Topic 14.D.2, question 6; SAB 110): the midpoint of the weighted-average
    vesting term and the contractual term,

        expected term = (weighted-average vesting term + contractual term) / 2

    where the weighted-average vesting term weights each installment's vesting period (from
    the grant date to its vesting date) by its shares, and the contractual term runs from
    the grant date to ``term_end``. An installment vesting on the grant date counts with a
    vesting period of zero.

    Day count: a period is its number of calendar days divided by 365.25 (the average year
    of the Julian calendar, so that leap days count without favouring any year). The result
    is rounded half-up to four places (about an hour).
    """
    installments = list(installments)
    if not installments:
        raise ValidationError("The grant has no vesting installments.", code="no_installments")
    if term_end <= grant_date:
        raise ValidationError(
            f"The term must end after the grant date {grant_date:%Y-%m-%d}, not on "
            f"{term_end:%Y-%m-%d}.",
            code="term_not_after_grant",
        )
    for installment in installments:
        if installment.shares <= 0:
            raise ValidationError(
                f"The installment of {installment.vest_date:%Y-%m-%d} must vest a positive "
                f"number of shares, not {installment.shares}.",
                code="installment_not_positive",
            )
        if not grant_date <= installment.vest_date <= term_end:
            raise ValidationError(
                f"The installment of {installment.vest_date:%Y-%m-%d} must vest between the "
                f"grant date {grant_date:%Y-%m-%d} and the end of the term "
                f"{term_end:%Y-%m-%d}.",
                code="installment_outside_term",
            )
    with localcontext() as context:
        context.prec = 34
        total_shares = sum(installment.shares for installment in installments)
        share_days = sum(
            installment.shares * (installment.vest_date - grant_date).days
            for installment in installments
        )
        vesting_term = Decimal(share_days) / total_shares / DAYS_PER_YEAR
        contractual_term = Decimal((term_end - grant_date).days) / DAYS_PER_YEAR
        expected = (vesting_term + contractual_term) / 2
    return expected.quantize(VALUE_PLACES, rounding=ROUND_HALF_UP)
