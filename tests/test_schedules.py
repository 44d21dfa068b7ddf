import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given
from hypothesis import strategies as st

from grants import rules
from grants.schedules import build_schedule
from grants.seed import SEED_GRANT_DATE, seed_installments


def test_the_seed_schedule_is_an_immediate_tranche_a_one_year_cliff_then_quarterly():
    built = build_schedule(
        grant_date=SEED_GRANT_DATE,
        total_shares=1_000_000,
        immediate_shares=100_000,
        cliff_months=12,
        vesting_months=48,
        every_months=3,
    )
    assert built == seed_installments()


def test_monthly_after_a_cliff_puts_the_remainder_on_the_last_installment():
    built = build_schedule(
        grant_date=dt.date(2024, 1, 31),
        total_shares=1_000,
        cliff_months=12,
        vesting_months=48,
        every_months=1,
    )
    assert built[0] == (dt.date(2025, 1, 31), 250)
    assert built[1] == (dt.date(2025, 2, 28), 20)  # month end steps to the last day
    assert len(built) == 37
    assert sum(shares for _, shares in built) == 1_000


def test_everything_at_once():
    assert build_schedule(
        grant_date=dt.date(2024, 1, 1),
        total_shares=500,
        immediate_shares=500,
        vesting_months=0,
        every_months=0,
    ) == [(dt.date(2024, 1, 1), 500)]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"total_shares": 0}, "no_shares"),
        ({"immediate_shares": 2_000}, "bad_immediate"),
        ({"vesting_months": 0}, "bad_period"),
        ({"cliff_months": 60}, "bad_cliff"),
        ({"vesting_months": 2, "every_months": 3}, "bad_period"),
    ],
)
def test_bad_shapes_are_refused_with_what_to_fix(kwargs, code):
    args = {
        "grant_date": dt.date(2024, 1, 1),
        "total_shares": 1_000,
        "vesting_months": 48,
        "every_months": 1,
        **kwargs,
    }
    with pytest.raises(ValidationError) as refused:
        build_schedule(**args)
    assert refused.value.code == code


@given(
    total=st.integers(1, 10_000_000),
    immediate_fraction=st.fractions(0, 1),
    vesting_months=st.integers(1, 120),
    every_months=st.sampled_from([1, 3, 6, 12]),
    cliff=st.integers(0, 24),
    grant_date=st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)),
)
def test_every_built_schedule_passes_the_schedule_rule(
    total, immediate_fraction, vesting_months, every_months, cliff, grant_date
):
    assume(every_months <= vesting_months)
    immediate = int(total * immediate_fraction)
    built = build_schedule(
        grant_date=grant_date,
        total_shares=total,
        immediate_shares=immediate,
        cliff_months=min(cliff, vesting_months),
        vesting_months=vesting_months,
        every_months=every_months,
    )
    rules.check_schedule(
        grant_date=grant_date,
        total_shares=total,
        installments=[rules.Installment(day, shares) for day, shares in built],
    )


@pytest.mark.parametrize(
    ("every", "count", "first"),
    [(1, 36, dt.date(2021, 2, 1)), (3, 12, dt.date(2021, 4, 1)), (6, 6, dt.date(2021, 7, 1)),
     (12, 3, dt.date(2022, 1, 1))],
)  # fmt: skip
def test_equal_installments_every_1_3_6_or_12_months_from_the_vesting_start(every, count, first):
    built = build_schedule(
        grant_date=dt.date(2021, 1, 15),
        vesting_start=dt.date(2021, 1, 1),
        total_shares=36_000,
        vesting_months=36,
        every_months=every,
    )
    assert len(built) == count
    assert built[0] == (first, 36_000 // count)
    assert {shares for _, shares in built} == {36_000 // count}
    assert built[-1][0] == dt.date(2024, 1, 1)


def test_a_vesting_start_before_the_grant_vests_what_was_earned_on_the_grant_date():
    """Service credited from the hire date, 2020-01-01; granted 2020-08-20. Nothing vests
    before the grant (paragraph 1a): the installments of 2020-04-01 and 2020-07-01 vest
    together on the grant date."""
    built = build_schedule(
        grant_date=dt.date(2020, 8, 20),
        vesting_start=dt.date(2020, 1, 1),
        total_shares=16_000,
        vesting_months=48,
        every_months=3,
    )
    assert built[:2] == [(dt.date(2020, 8, 20), 2_000), (dt.date(2020, 10, 1), 1_000)]
    assert sum(shares for _, shares in built) == 16_000
    rules.check_schedule(
        grant_date=dt.date(2020, 8, 20),
        total_shares=16_000,
        installments=[rules.Installment(day, shares) for day, shares in built],
    )


def test_a_cliff_counts_from_the_vesting_start():
    built = build_schedule(
        grant_date=dt.date(2022, 3, 10),
        vesting_start=dt.date(2022, 2, 1),
        total_shares=4_800,
        cliff_months=12,
        vesting_months=48,
        every_months=12,
    )
    assert built == [
        (dt.date(2023, 2, 1), 1_200),
        (dt.date(2024, 2, 1), 1_200),
        (dt.date(2025, 2, 1), 1_200),
        (dt.date(2026, 2, 1), 1_200),
    ]
