"""Grant-date fair value (``grants/valuation.py``): the Black-Scholes-Merton value of a call
against published worked examples and an independent float computation, its limits and
refusals, its monotonicity, and the SEC's simplified expected term of the seed grant."""

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from grants.rules import Installment
from grants.valuation import black_scholes_call, simplified_expected_term

D = Decimal


def float_call(spot, strike, years, volatility, rate, dividend_yield):
    """The formula once more, in floats with math.erf: a cross-check written apart from the
    module (which works in Decimal with statistics.NormalDist)."""
    spot, strike, years, volatility, rate, dividend_yield = map(
        float, (spot, strike, years, volatility, rate, dividend_yield)
    )

    def n(x):
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    d1 = (math.log(spot / strike) + (rate - dividend_yield + volatility**2 / 2) * years) / (
        volatility * math.sqrt(years)
    )
    d2 = d1 - volatility * math.sqrt(years)
    return spot * math.exp(-dividend_yield * years) * n(d1) - strike * math.exp(-rate * years) * n(
        d2
    )


# --------------------------------------------------------------------------- published values


def test_hulls_example_gives_4_7594():
    """J. Hull, Options, Futures, and Other Derivatives, the worked example of the
    Black-Scholes-Merton formulas (Example 15.6 in the 8th edition): a stock at $42, strike
    $40, six months, 20% volatility, 10% risk-free rate; Hull gives c = 4.76."""
    assert black_scholes_call(D(42), D(40), D("0.5"), D("0.2"), D("0.1"), D(0)) == D("4.7594")


def test_hulls_stock_index_example_with_a_dividend_yield():
    """Hull, the European call on a stock index (Example 17.1 in the 8th edition): index at
    930, strike 900, two months, 8% rate, 20% volatility, dividend yield 3% a year; Hull
    gives 51.83."""
    value = black_scholes_call(D(930), D(900), D(2) / 12, D("0.2"), D("0.08"), D("0.03"))
    assert value.quantize(D("0.01")) == D("51.83")
    assert value == D("51.8330")


def test_haugs_black_scholes_example():
    """E. G. Haug, The Complete Guide to Option Pricing Formulas, 2nd ed., section 1.1.1: a
    stock at 60, strike 65, three months, 8% rate, 30% volatility; Haug gives 2.1334."""
    assert black_scholes_call(D(60), D(65), D("0.25"), D("0.30"), D("0.08"), D(0)) == D("2.1334")


@pytest.mark.parametrize(
    ("spot", "strike", "years", "volatility", "rate", "dividend_yield"),
    [
        ("42", "40", "0.5", "0.2", "0.1", "0"),
        ("3.05", "3.05", "5.9981", "0.65", "0.0425", "0"),  # the seed grant, at the money
        ("100", "95", "0.5", "0.2", "0.1", "0.05"),  # dividend-paying
        ("50", "80", "10", "0.9", "0.03", "0.02"),  # far out of the money, long and volatile
        ("250", "10", "1", "0.3", "0.05", "0.04"),  # deep in the money
        ("20", "21", "0.01", "0.15", "-0.005", "0"),  # days to expiry, a negative rate
    ],
)
def test_values_agree_with_a_float_computation_to_four_places(
    spot, strike, years, volatility, rate, dividend_yield
):
    ours = black_scholes_call(spot, strike, years, volatility, rate, dividend_yield)
    expected = float_call(spot, strike, years, volatility, rate, dividend_yield)
    assert abs(float(ours) - expected) <= 0.00005 + 1e-9


def test_a_dividend_yield_lowers_the_value():
    without = black_scholes_call(D(100), D(95), D("0.5"), D("0.2"), D("0.1"), D(0))
    with_dividends = black_scholes_call(D(100), D(95), D("0.5"), D("0.2"), D("0.1"), D("0.05"))
    assert with_dividends < without
    assert with_dividends == D(str(round(float_call(100, 95, 0.5, 0.2, 0.1, 0.05), 4)))


# --------------------------------------------------------------------------- inputs and limits


def test_ints_and_strings_are_taken_and_floats_refused():
    assert black_scholes_call(42, 40, "0.5", "0.2", "0.1", 0) == D("4.7594")
    with pytest.raises(TypeError, match="never float"):
        black_scholes_call(42.0, 40, "0.5", "0.2", "0.1", 0)
    with pytest.raises(TypeError, match="never float"):
        black_scholes_call(42, 40, "0.5", 0.2, "0.1", 0)


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ((0, 40, "0.5", "0.2", "0.1", 0), "spot_not_positive"),
        (("-1", 40, "0.5", "0.2", "0.1", 0), "spot_not_positive"),
        ((42, 0, "0.5", "0.2", "0.1", 0), "strike_not_positive"),
        ((42, "-40", "0.5", "0.2", "0.1", 0), "strike_not_positive"),
        ((42, 40, "-0.5", "0.2", "0.1", 0), "years_negative"),
        ((42, 40, "0.5", 0, "0.1", 0), "volatility_not_positive"),
        ((42, 40, "0.5", "-0.2", "0.1", 0), "volatility_not_positive"),
        ((42, 40, "0.5", "0.2", "ten percent", 0), "not_a_number"),
        ((42, 40, "0.5", "0.2", "0.1", "NaN"), "not_finite"),
        (("Infinity", 40, "0.5", "0.2", "0.1", 0), "not_finite"),
    ],
)
def test_values_the_formula_cannot_take_are_refused(arguments, code):
    with pytest.raises(ValidationError) as refused:
        black_scholes_call(*arguments)
    assert refused.value.code == code


def test_at_zero_years_the_value_is_the_intrinsic_value():
    assert black_scholes_call(42, 40, 0, "0.2", "0.1", 0) == D("2.0000")
    assert black_scholes_call(38, 40, 0, "0.2", "0.1", 0) == D("0.0000")


@pytest.mark.parametrize("spot", ["38", "40", "42"])
def test_the_value_tends_to_the_intrinsic_value_as_years_go_to_zero(spot):
    nearly_expired = black_scholes_call(spot, 40, "1e-12", "0.2", "0.1", "0.03")
    assert nearly_expired == black_scholes_call(spot, 40, 0, "0.2", "0.1", "0.03")


# --------------------------------------------------------------------------- properties

prices = st.decimals(min_value="0.50", max_value="500", places=2)
terms = st.decimals(min_value="0.02", max_value="10", places=2)
volatilities = st.decimals(min_value="0.05", max_value="1.50", places=2)
rates = st.decimals(min_value="-0.01", max_value="0.15", places=3)
yields = st.decimals(min_value="0", max_value="0.08", places=3)
HALF_A_UNIT = D("0.00005")  # the value is rounded to four places


@given(prices, prices, prices, terms, volatilities, rates, yields)
def test_the_value_rises_with_the_share_price(spot, other, strike, years, volatility, r, q):
    low, high = sorted((spot, other))
    assert black_scholes_call(low, strike, years, volatility, r, q) <= black_scholes_call(
        high, strike, years, volatility, r, q
    )


@given(prices, prices, prices, terms, volatilities, rates, yields)
def test_the_value_falls_as_the_strike_rises(spot, strike, other, years, volatility, r, q):
    low, high = sorted((strike, other))
    assert black_scholes_call(spot, low, years, volatility, r, q) >= black_scholes_call(
        spot, high, years, volatility, r, q
    )


@given(prices, prices, terms, volatilities, volatilities, rates, yields)
def test_the_value_rises_with_volatility(spot, strike, years, volatility, other, r, q):
    low, high = sorted((volatility, other))
    assert black_scholes_call(spot, strike, years, low, r, q) <= black_scholes_call(
        spot, strike, years, high, r, q
    )


@given(prices, prices, terms, volatilities, rates, yields)
def test_the_value_lies_between_the_discounted_intrinsic_value_and_the_share(
    spot, strike, years, volatility, r, q
):
    """max(0, S e^(-qT) - K e^(-rT)) <= c <= S e^(-qT), up to the rounding to four places."""
    value = black_scholes_call(spot, strike, years, volatility, r, q)
    share = spot * (-q * years).exp()
    floor = max(D(0), share - strike * (-r * years).exp())
    assert floor - HALF_A_UNIT <= value <= share + HALF_A_UNIT


# --------------------------------------------------------------------------- expected term

GRANT_DATE = dt.date(2005, 7, 13)
TERM_END = dt.date(2015, 7, 13)
QUARTERS = [
    dt.date(2006, 10, 13),
    dt.date(2007, 1, 13),
    dt.date(2007, 4, 13),
    dt.date(2007, 7, 13),
    dt.date(2007, 10, 13),
    dt.date(2008, 1, 13),
    dt.date(2008, 4, 13),
    dt.date(2008, 7, 13),
    dt.date(2008, 10, 13),
    dt.date(2009, 1, 13),
    dt.date(2009, 4, 13),
    dt.date(2009, 7, 13),
]
SEED_SCHEDULE = [
    Installment(GRANT_DATE, 100_000),
    Installment(dt.date(2006, 7, 13), 225_000),
    *(Installment(day, 56_250) for day in QUARTERS),
]


def test_the_seed_grants_simplified_expected_term():
    """Worked apart from the module: days from 2005-07-13 counted on a calendar (2008 is a
    leap year), share-days summed in integers, then exact fractions of 365.25-day years.

    Vesting: 100,000 at 0 days; 225,000 at 365; 56,250 at each of 457, 549, 639, 730, 822,
    914, 1005, 1096, 1188, 1280, 1370 and 1461 days (sum 11,511). Share-days:
    225,000 x 365 + 56,250 x 11,511 = 82,125,000 + 647,493,750 = 729,618,750, over
    1,000,000 shares = 729.61875 days = 1.99759 years. The term is 3,652 days = 9.99863
    years. The midpoint: 5.99811 years.
    """
    days = [457, 549, 639, 730, 822, 914, 1005, 1096, 1188, 1280, 1370, 1461]
    assert [(day - GRANT_DATE).days for day in QUARTERS] == days
    share_days = 225_000 * 365 + 56_250 * sum(days)
    assert share_days == 729_618_750
    year = Fraction(36525, 100)
    vesting_term = Fraction(share_days, 1_000_000) / year
    contractual_term = Fraction(3652) / year
    midpoint = (vesting_term + contractual_term) / 2
    assert round(float(midpoint), 5) == 5.99811
    assert simplified_expected_term(GRANT_DATE, SEED_SCHEDULE, TERM_END) == D("5.9981")


def test_a_single_cliff_gives_the_midpoint_of_the_cliff_and_the_term():
    """A four-year cliff and an eight-year term: (4 + 8) / 2 = 6 years. Spans of four years
    hold one leap day, so 1,461 and 2,922 days are exactly 4 and 8 years of 365.25 days."""
    grant = dt.date(2020, 1, 1)
    cliff = Installment(dt.date(2024, 1, 1), 4000)
    assert simplified_expected_term(grant, [cliff], dt.date(2028, 1, 1)) == D("6.0000")


def test_the_expected_term_in_the_fair_value():
    """The seed grant at the money, on its grant-date price of $3.05: its expected term goes
    straight into the formula."""
    years = simplified_expected_term(GRANT_DATE, SEED_SCHEDULE, TERM_END)
    value = black_scholes_call(D("3.05"), D("3.05"), years, D("0.65"), D("0.0425"), D(0))
    assert abs(float(value) - float_call(3.05, 3.05, 5.9981, 0.65, 0.0425, 0)) <= 0.00005


@pytest.mark.parametrize(
    ("installments", "term_end", "code"),
    [
        ([], TERM_END, "no_installments"),
        ([Installment(dt.date(2006, 7, 13), 0)], TERM_END, "installment_not_positive"),
        ([Installment(dt.date(2005, 7, 12), 10)], TERM_END, "installment_outside_term"),
        ([Installment(dt.date(2016, 7, 13), 10)], TERM_END, "installment_outside_term"),
        ([Installment(GRANT_DATE, 10)], GRANT_DATE, "term_not_after_grant"),
    ],
)
def test_schedules_the_method_cannot_take_are_refused(installments, term_end, code):
    with pytest.raises(ValidationError) as refused:
        simplified_expected_term(GRANT_DATE, installments, term_end)
    assert refused.value.code == code
