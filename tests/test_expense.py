"""ASC 718 expense of one grant (``grants.expense``), worked out by hand on the seed
grant's schedule, and its invariants on random schedules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from grants import rules
from grants.expense import (
    GRADED,
    STRAIGHT_LINE,
    Award,
    cumulative_expense,
    period_expense,
    recognition,
    straight_line_totals,
    vested_fair_value,
)
from grants.seed import SEED_GRANT_DATE, seed_installments
from tests.conftest import d

SEED = [rules.Installment(on, shares) for on, shares in seed_installments()]


def seed_award(**changes) -> Award:
    return Award(grant_date=SEED_GRANT_DATE, fair_value=D("1.0000"), installments=SEED, **changes)


# -- straight-line: 1,000,000 shares at $1 from 2005-07-13 to 2009-07-13 (1,461 days)


def test_straight_line_on_the_grant_date_is_the_share_vested_at_grant():
    assert cumulative_expense(seed_award(), SEED_GRANT_DATE) == D("100000.00")


def test_straight_line_before_the_first_anniversary_is_time_elapsed():
    # 352 days of 1,461: 1,000,000 x 352 / 1461 = 240,930.869...
    assert cumulative_expense(seed_award(), d("2006-06-30")) == D("240930.87")


def test_straight_line_is_never_below_the_vested_fair_value():
    # The cliff: 325,000 vested; time alone gives 1,000,000 x 365 / 1461 = 249,828.88.
    assert cumulative_expense(seed_award(), d("2006-07-13")) == D("325000.00")


def test_straight_line_ends_at_the_fair_value_of_the_grant():
    assert cumulative_expense(seed_award(), d("2009-07-13")) == D("1000000.00")
    assert cumulative_expense(seed_award(), d("2012-01-01")) == D("1000000.00")


def test_nothing_before_the_grant_date():
    assert cumulative_expense(seed_award(), d("2005-07-12")) == D("0.00")


# -- graded: each installment over its own period


def test_graded_before_the_cliff():
    # 100,000 vested; 225,000 x 352/365 = 216,986.30; each quarterly 56,250 over its own
    # period: 2006-10-13 is 457 days after the grant, then 549, 639, 730, 822, 914, 1005
    # (2008 is a leap year), 1096, 1188, 1280, 1370 and 1461 days.
    periods = [457, 549, 639, 730, 822, 914, 1005, 1096, 1188, 1280, 1370, 1461]
    quarterly = sum(D(56_250) * 352 / days for days in periods)
    expected = (100_000 + D(225_000) * 352 / 365 + quarterly).quantize(D("0.01"))
    got = cumulative_expense(seed_award(), d("2006-06-30"), attribution=GRADED)
    assert got == expected == D("598145.25")
    assert got > cumulative_expense(seed_award(), d("2006-06-30"))  # front-loaded


# -- forfeiture, acceleration


def test_a_termination_reverses_the_unvested_and_keeps_the_vested():
    # Service ends 2006-06-30, before the cliff: only the 100,000 of the grant date vested.
    award = seed_award(service_end=d("2006-06-30"))
    for attribution, booked in ((STRAIGHT_LINE, "240246.41"), (GRADED, "596730.06")):
        before = cumulative_expense(award, d("2006-06-29"), attribution=attribution)
        after = cumulative_expense(award, d("2006-06-30"), attribution=attribution)
        assert before == D(booked)  # straight-line: 1,000,000 x 351 / 1461
        assert after == D("100000.00")  # the rest reversed
        assert period_expense(
            award, d("2006-04-01"), d("2006-06-30"), attribution=attribution
        ) == after - cumulative_expense(award, d("2006-03-31"), attribution=attribution)
        assert cumulative_expense(award, d("2015-01-01"), attribution=attribution) == after


def test_accelerated_vesting_is_expensed_when_it_vests():
    award = seed_award(service_end=d("2007-01-01"), accelerated=True)
    assert cumulative_expense(award, d("2007-01-01")) == D("1000000.00")
    assert recognition(award, d("2007-01-01")).unrecognised == D("0.00")


def test_an_estimated_rate_lowers_expense_until_vesting_trues_it_up():
    as_occur = cumulative_expense(seed_award(), d("2006-06-30"), attribution=GRADED)
    estimated = cumulative_expense(
        seed_award(), d("2006-06-30"), attribution=GRADED, forfeiture_rate=D("0.10")
    )
    assert estimated < as_occur
    assert cumulative_expense(
        seed_award(), d("2009-07-13"), attribution=GRADED, forfeiture_rate=D("0.10")
    ) == D("1000000.00")


def test_unrecognised_cost_and_its_period():
    # Straight-line on 2006-06-30: 759,069.13 left, all of it recognised by 2009-07-13,
    # 1,109 days (3.0363 years) later.
    left = recognition(seed_award(), d("2006-06-30"))
    assert left.unrecognised == D("759069.13")
    assert (left.unrecognised_years / left.unrecognised).quantize(D("0.0001")) == D("3.0363")


def test_a_bad_policy_is_refused():
    with pytest.raises(rules.ValidationError) as error:
        cumulative_expense(seed_award(), d("2006-06-30"), attribution="sideways")
    assert error.value.code == "attribution_unknown"
    with pytest.raises(rules.ValidationError) as error:
        cumulative_expense(seed_award(), d("2006-06-30"), forfeiture_rate=D("1.5"))
    assert error.value.code == "forfeiture_rate_range"


# -- invariants on random schedules

GRANTED = dt.date(2020, 1, 15)


@st.composite
def awards(draw):
    count = draw(st.integers(1, 8))
    months = sorted(draw(st.sets(st.integers(0, 60), min_size=count, max_size=count)))
    installments = [
        rules.Installment(GRANTED + relativedelta(months=m), draw(st.integers(1, 50_000)))
        for m in months
    ]
    service_end = draw(st.none() | st.dates(GRANTED, GRANTED + dt.timedelta(days=2000)))
    return Award(
        grant_date=GRANTED,
        fair_value=draw(st.decimals(D("0.0001"), D("80"), places=4)),
        installments=installments,
        service_end=service_end,
        accelerated=service_end is not None and draw(st.booleans()),
    )


POLICIES = st.fixed_dictionaries(
    {
        "attribution": st.sampled_from([STRAIGHT_LINE, GRADED]),
        "forfeiture_rate": st.none() | st.decimals(D(0), D("0.5"), places=3),
    }
)
DAYS = st.dates(GRANTED - dt.timedelta(days=30), GRANTED + dt.timedelta(days=2500))


@settings(max_examples=300, deadline=None)
@given(awards(), POLICIES, DAYS, DAYS)
def test_cumulative_expense_is_never_below_the_vested_fair_value(award, policy, day, other):
    assert cumulative_expense(award, day, **policy) >= vested_fair_value(award, day)
    # and rises with time, except on the day service ends without acceleration
    early, late = sorted((day, other))
    ends = award.service_end
    if ends is None or award.accelerated or not early < ends <= late:
        assert cumulative_expense(award, early, **policy) <= cumulative_expense(
            award, late, **policy
        )


@settings(max_examples=200, deadline=None)
@given(awards(), POLICIES)
def test_in_the_end_the_expense_is_the_fair_value_of_what_vested(award, policy):
    end = GRANTED + dt.timedelta(days=4000)
    assert cumulative_expense(award, end, **policy) == vested_fair_value(award, end)
    assert recognition(award, end, **policy).unrecognised == D("0.00")


def test_a_half_cent_reached_through_a_third_of_the_period_rounds_up():
    # 1 share at $0.015, vesting after 3 days: a third of it, $0.005 exactly, is earned
    # after the first day. Dividing last keeps the half cent exact (a third taken first
    # as 0.3333... would fall short of it and round down).
    award = Award(
        grant_date=GRANTED,
        fair_value=D("0.0150"),
        installments=[rules.Installment(GRANTED + dt.timedelta(days=3), 1)],
    )
    assert cumulative_expense(award, GRANTED + dt.timedelta(days=1)) == D("0.01")
    totals = straight_line_totals(
        [(GRANTED, GRANTED + dt.timedelta(days=3), 1, D("0.0150"), [0])],
        [GRANTED + dt.timedelta(days=1)],
    )
    assert totals.cumulatives == [D("0.01")]
    assert totals.unrecognised == D("0.01")  # $0.010 left


@st.composite
def continuing_awards(draw):
    """Awards whose service continues, granted on different days."""
    award = draw(awards())
    shift = dt.timedelta(days=draw(st.integers(-400, 400)))
    return Award(
        grant_date=award.grant_date + shift,
        fair_value=award.fair_value,
        installments=[rules.Installment(t.vest_date + shift, t.shares) for t in award.installments],
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(continuing_awards(), max_size=6), st.sets(DAYS, min_size=1, max_size=6))
def test_straight_line_totals_are_the_sum_of_each_grant_s_recognition(awards_, days):
    days = sorted(days)
    totals = straight_line_totals(
        (
            (
                award.grant_date,
                max(t.vest_date for t in award.installments),
                sum(t.shares for t in award.installments),
                award.fair_value,
                [sum(t.shares for t in award.installments if t.vest_date <= on) for on in days],
            )
            for award in awards_
        ),
        days,
    )
    each = [[recognition(award, on) for award in awards_] for on in days]
    assert totals.cumulatives == [sum((r.cumulative for r in rs), D("0.00")) for rs in each]
    assert totals.unrecognised == sum((r.unrecognised for r in each[-1]), D("0.00"))
    weighted = sum((r.unrecognised_years for r in each[-1]), D(0))
    # the same to 25 significant digits (each side rounds at 34): the report divides it by
    # the cost left and shows the years to the hundredth
    assert abs(totals.unrecognised_years - weighted) <= (abs(weighted) + 1) * D("1e-25")
