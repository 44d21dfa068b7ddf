"""``expense_report`` on the book of tests/test_option_rollforward.py, worked out on paper.

Straight-line, forfeitures as they occur (the company's default policy):

- B-NEW: 10,000 x $1.50 = $15,000 from 2007-03-01 to 2008-03-01 (366 days). 2007-03-31:
  time gives 15,000 x 30/366 = $1,229.51, below the $3,750 vested at grant: $3,750.00.
  2007-06-30: 121 days, $4,959.02; 2007-09-30: 213 days, $8,729.51; 2007-12-31: 305
  days, $12,500.00. Left: $2,500.00 over 61 days (0.17 years).
- C-LEAVER, valued at $1.00: 20,000 from 2006-01-03 to 2008-01-03 (730 days), 5,000
  vested at grant. 2006-12-31: 362 days, $9,917.81; 2007-03-31: 452 days, $12,383.56;
  service ends 2007-04-02: the 15,000 unvested are forfeited and only the $5,000 vested
  stays, so the second quarter reverses $7,383.56.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from grants.models import Grant, GrantValuation
from tests.test_option_rollforward import book  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def valued(book):  # noqa: F811
    GrantValuation.record(Grant.objects.get(number="C-LEAVER"), fair_value_per_share=Decimal(1))
    return book


def run(*arguments: str) -> str:
    out = io.StringIO()
    call_command("expense_report", *arguments, stdout=out)
    return out.getvalue()


def test_expense_by_quarter_as_worked_out_on_paper(valued):
    data = json.loads(
        run("--from", "2007-01-01", "--to", "2007-12-31", "--format", "json", "--per-grant")
    )
    assert data == {
        "company": "Rollforward Co.",
        "plan": None,
        "from": "2007-01-01",
        "to": "2007-12-31",
        "by": "quarter",
        "attribution": "straight",
        "forfeiture_rate": None,
        "periods": [
            {"from": "2007-01-01", "to": "2007-03-31", "expense": "6215.75"},
            {"from": "2007-04-01", "to": "2007-06-30", "expense": "-6174.54"},
            {"from": "2007-07-01", "to": "2007-09-30", "expense": "3770.49"},
            {"from": "2007-10-01", "to": "2007-12-31", "expense": "3770.49"},
        ],
        "total": "7582.19",
        "unrecognised_cost": "2500.00",
        "weighted_average_years": "0.17",
        "grants_without_fair_value": ["A-OLD", "D-DEATH", "E-LATE"],
        "grants": {
            "B-NEW": ["3750.00", "1209.02", "3770.49", "3770.49"],
            "C-LEAVER": ["2465.75", "-7383.56", "0.00", "0.00"],
        },
    }


def test_by_year_and_the_csv(valued):
    lines = run("--from", "2007-01-01", "--to", "2007-12-31", "--by", "year", "--format", "csv")
    assert lines.splitlines() == [
        "from,to,expense",
        "2007-01-01,2007-12-31,7582.19",
        "total,,7582.19",
        "unrecognised_cost,2007-12-31,2500.00",
        "weighted_average_years,2007-12-31,0.17",
    ]


def test_graded_attribution_is_the_company_s_choice(valued):
    valued.expense_attribution = "graded"
    valued.save()
    data = json.loads(
        run("--from", "2007-03-01", "--to", "2007-03-31", "--by", "month", "--format", "json")
    )
    # B-NEW graded on 2007-03-31: $3,750 + 7,500 x 1.5 x 30/366 = $4,672.13; C-LEAVER's
    # 15,000 over 730 days: 15,000 x (452 - 421)/730 = $636.99 in March.
    assert data["attribution"] == "graded"
    assert data["periods"] == [{"from": "2007-03-01", "to": "2007-03-31", "expense": "5309.12"}]


def test_the_table_names_the_policy_and_the_grants_left_out(valued):
    page = run("--from", "2007-01-01", "--to", "2007-12-31")
    assert "(straight; forfeitures as they occur)" in page
    assert "Unrecognised cost at 2007-12-31: 2500.00, over a weighted-average 0.17 years" in page
    assert "3 grant(s) have no fair value recorded" in page


def test_a_bad_period_is_refused(valued):
    with pytest.raises(CommandError, match="--by “week” is not one of: month, quarter, year"):
        run("--from", "2007-01-01", "--to", "2007-12-31", "--by", "week")


# -- one grant's expense from the book, against its vested fair value on random dates


@pytest.mark.parametrize(
    "termination",
    [None, ("2007-01-01", "other"), ("2006-06-30", "death"), ("2009-07-13", "disability")],
)
@pytest.mark.parametrize("policy", [("straight", None), ("graded", None), ("graded", "0.08")])
def test_a_grant_s_expense_is_never_below_its_vested_fair_value(grant, termination, policy):
    company = grant.company
    company.expense_attribution, rate = policy
    company.forfeiture_rate = None if rate is None else Decimal(rate)
    company.save()
    if termination is not None:
        on, reason = termination
        with time_machine.travel(dt.datetime(2015, 1, 1, 12), tick=False):
            grant.optionee.terminate(dt.date.fromisoformat(on), reason)
    valuation = GrantValuation.record(grant, fair_value_per_share=Decimal("1.1111"))
    grant = Grant.objects.get(pk=grant.pk)
    valuation = GrantValuation.objects.get(pk=valuation.pk)

    @settings(max_examples=60, deadline=None)
    @given(st.dates(dt.date(2005, 1, 1), dt.date(2016, 1, 1)))
    def check(day):
        vested = (grant.vested_shares(day) * Decimal("1.1111")).quantize(Decimal("0.01"))
        assert valuation.expense(day).cumulative >= vested

    check()
    end = dt.date(2016, 1, 1)
    final = valuation.expense(end)
    assert final.cumulative == (grant.vested_shares(end) * Decimal("1.1111")).quantize(
        Decimal("0.01")
    )
    assert final.unrecognised == Decimal("0.00")
