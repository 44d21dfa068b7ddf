"""The 10-K option table (``option_rollforward``) on a small book worked out on paper.

The book of "Rollforward Co." (America/Chicago, the seed agreement form), each fact
recorded on its day; the period is 2007; closing prices $6.00 on 2007-06-01 and $5.00 on
2007-12-31.

- A-OLD: 2006-01-03, 40,000 at $2.00, 10,000 a year from grant; nothing happens.
  Outstanding all year; 20,000 vested at the end; last day 2016-01-03 (2,925 days after
  2007-12-31).
- B-NEW: 2007-03-01, 10,000 at $4.00 (2,500 at grant, 7,500 on 2008-03-01), fair value
  $1.50 a share; 2,000 exercised on 2007-06-01 (intrinsic 2,000 x $2.00). 8,000 left, 500
  exercisable; last day 2017-03-01 (3,348 days).
- C-LEAVER: 2006-01-03, 20,000 at $3.00 (5,000 at grant, 15,000 on 2008-01-03); service
  ends 2007-04-02: 15,000 forfeited that day; the 5,000 vested lapse after the three-month
  window (last day 2007-07-02).
- D-DEATH: 2006-01-03, 12,000 at $2.50 (4,000 at grant, 8,000 on 2009-01-03); dies
  2007-09-01: 8,000 forfeited; the 4,000 vested stay outstanding for 18 months (last day
  2009-03-01, 426 days).
- E-LATE: 2006-01-03, 6,000 at $3.50 (3,000 at grant, 3,000 on 2008-01-03); a termination
  dated 2007-05-01 is recorded only on 2008-02-15. As it stood at the end of 2007 the
  option was outstanding (last day 2016-01-03); restated, 3,000 were forfeited on
  2007-05-01 and 3,000 lapsed after 2007-08-01.

As it stood (shares; dollars = shares x price):
  start     40,000 + 20,000 + 12,000 + 6,000 = 78,000; $191,000 -> $2.45
  granted   10,000 at $4.00
  exercised  2,000 at $4.00
  forfeited 15,000 + 8,000 = 23,000; $45,000 + $20,000 = $65,000 -> $2.83
  expired    5,000 at $3.00
  end       40,000 + 8,000 + 4,000 + 6,000 = 58,000 (= 78,000 + 10,000 - 2,000 - 23,000
            - 5,000); $143,000 -> $2.47; term (40,000 x 2,925 + 8,000 x 3,348 + 4,000 x 426
            + 6,000 x 2,925) / 58,000 = 2,811 days = 7.70 years; intrinsic at $5.00:
            40,000 x 3 + 8,000 x 1 + 4,000 x 2.5 + 6,000 x 1.5 = $147,000
  exercisable 20,000 + 500 + 4,000 + 3,000 = 27,500; $62,500 -> $2.27; term 70,653,000 /
            27,500 = 2,569.2 days = 7.03 years; intrinsic $60,000 + $500 + $10,000 + $4,500
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from grants.models import ClosingPrice, Company, GrantValuation
from tests.conftest import d
from tests.factories import CompanyFactory, GrantFactory, OptioneeFactory, PlanFactory

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")


def on(text: str):
    """Travel to noon of a day in Chicago, so that facts are recorded on their day."""
    return time_machine.travel(
        dt.datetime.fromisoformat(text).replace(hour=12, tzinfo=CHICAGO), tick=False
    )


def make_grant(plan, number, granted, shares, price, installments):
    with on(granted):
        return GrantFactory(
            number=number,
            plan=plan,
            optionee=OptioneeFactory(company=plan.company),
            grant_date=d(granted),
            shares=shares,
            exercise_price=Decimal(price),
            installments=[(d(day), n) for day, n in installments],
        )


@pytest.fixture
def book(db):
    company = CompanyFactory(name="Rollforward Co.")
    plan = PlanFactory(company=company, name="2005 Plan")
    year = ["2006-01-03", "2007-01-03", "2008-01-03", "2009-01-03"]
    make_grant(plan, "A-OLD", "2006-01-03", 40_000, "2.00", [(y, 10_000) for y in year])
    leaver = make_grant(
        plan, "C-LEAVER", "2006-01-03", 20_000, "3.00", [(year[0], 5_000), (year[2], 15_000)]
    )
    death = make_grant(
        plan, "D-DEATH", "2006-01-03", 12_000, "2.50", [(year[0], 4_000), (year[3], 8_000)]
    )
    late = make_grant(
        plan, "E-LATE", "2006-01-03", 6_000, "3.50", [(year[0], 3_000), (year[2], 3_000)]
    )
    new = make_grant(
        plan,
        "B-NEW",
        "2007-03-01",
        10_000,
        "4.00",
        [("2007-03-01", 2_500), ("2008-03-01", 7_500)],
    )
    GrantValuation.record(new, fair_value_per_share=Decimal("1.5"))
    with on("2007-04-02"):
        leaver.optionee.terminate(d("2007-04-02"))
    ClosingPrice.objects.create(company=company, date=d("2007-06-01"), price=Decimal("6.00"))
    with on("2007-06-01"):
        new.request_exercise(2_000, d("2007-06-01"), payment_method="cash", payment_received=True)
    with on("2007-09-01"):
        death.optionee.terminate(d("2007-09-01"), "death")
    ClosingPrice.objects.create(company=company, date=d("2007-12-31"), price=Decimal("5.00"))
    with on("2008-02-15"):
        late.optionee.terminate(d("2007-05-01"))
    return company


def run(*arguments: str) -> str:
    out = io.StringIO()
    call_command("option_rollforward", *arguments, stdout=out)
    return out.getvalue()


def line(shares, price, term=None, value=None, end=False):
    found = {"shares": shares, "weighted_average_exercise_price": price}
    if end:
        found |= {"remaining_term_years": term, "intrinsic_value": value}
    return found


AS_STOOD = {
    "company": "Rollforward Co.",
    "plan": None,
    "from": "2007-01-01",
    "to": "2007-12-31",
    "closing_price": "5.0000",
    "outstanding_start": line("78000", "2.45"),
    "granted": line("10000", "4.00"),
    "exercised": line("2000", "4.00"),
    "forfeited": line("23000", "2.83"),
    "expired": line("5000", "3.00"),
    "outstanding_end": line("58000", "2.47", "7.70", "147000.00", end=True),
    "exercisable_end": line("27500", "2.27", "7.03", "75000.00", end=True),
    "weighted_average_grant_date_fair_value": "1.50",
    "granted_shares_without_fair_value": "0",
    "intrinsic_value_exercised": "4000.00",
    "restated": False,
}


def test_the_table_as_it_stood_is_the_one_worked_out_on_paper(book):
    assert json.loads(run("--from", "2007-01-01", "--to", "2007-12-31", "--format", "json")) == (
        AS_STOOD
    )


def test_restated_the_late_termination_forfeits_and_expires_e_late(book):
    data = json.loads(
        run("--from", "2007-01-01", "--to", "2007-12-31", "--format", "json", "--restate")
    )
    # E-LATE: 3,000 unvested forfeited on 2007-05-01, 3,000 vested lapse after 2007-08-01.
    assert data["forfeited"] == line("26000", "2.90")  # $75,500 / 26,000
    assert data["expired"] == line("8000", "3.19")  # $25,500 / 8,000
    assert data["outstanding_end"]["shares"] == "52000"
    assert data["outstanding_end"]["weighted_average_exercise_price"] == "2.35"
    assert data["exercisable_end"]["shares"] == "24500"
    assert data["difference_from_as_stood"] == {
        "outstanding_start": "0",
        "granted": "0",
        "exercised": "0",
        "forfeited": "3000",
        "expired": "3000",
        "outstanding_end": "-6000",
        "exercisable_end": "-3000",
    }
    page = run("--from", "2007-01-01", "--to", "2007-12-31", "--restate")
    assert "(restated)" in page
    assert "-6,000" in page


def test_a_later_period_includes_the_late_fact(book):
    data = json.loads(run("--from", "2008-01-01", "--to", "2008-03-31", "--format", "json"))
    assert data["outstanding_start"]["shares"] == "52000"  # as the book stands now
    assert data["granted"]["shares"] == "0"


def test_the_csv_and_the_table(book):
    csv_text = run("--from", "2007-01-01", "--to", "2007-12-31", "--format", "csv")
    assert csv_text.splitlines() == [
        "line,shares,weighted_average_exercise_price,remaining_term_years,intrinsic_value",
        "outstanding_start,78000,2.45,,",
        "granted,10000,4.00,,",
        "exercised,2000,4.00,,",
        "forfeited,23000,2.83,,",
        "expired,5000,3.00,,",
        "outstanding_end,58000,2.47,7.70,147000.00",
        "exercisable_end,27500,2.27,7.03,75000.00",
        "weighted_average_grant_date_fair_value,,1.50,,",
        "intrinsic_value_exercised,,,,4000.00",
    ]
    table = run("--from", "2007-01-01", "--to", "2007-12-31")
    assert "Option activity of Rollforward Co., 2007-01-01 to 2007-12-31 (as it stood)" in table
    assert "Outstanding at end" in table
    assert "58,000" in table
    assert "147000.00" in table


def test_one_plan(book):
    other = PlanFactory(company=book, name="Directors plan")
    make_grant(other, "F-DIR", "2007-02-01", 1_000, "1.00", [("2007-02-01", 1_000)])
    data = json.loads(
        run("--from", "2007-01-01", "--to", "2007-12-31", "--plan", "2005 Plan", "--format", "json")
    )
    assert data["granted"]["shares"] == "10000"
    everything = json.loads(run("--from", "2007-01-01", "--to", "2007-12-31", "--format", "json"))
    assert everything["granted"]["shares"] == "11000"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "2007-13-01", "--to", "2007-12-31"], "--from “2007-13-01” is not a date"),
        (["--from", "2007-01-01", "--to", "31/12/2007"], "--to “31/12/2007” is not a date"),
        (["--from", "2008-01-01", "--to", "2007-12-31"], "--from 2008-01-01 is after --to"),
        (
            ["--from", "2007-01-01", "--to", "2007-12-31", "--company", "Nope"],
            "There is no company named “Nope”",
        ),
        (
            ["--from", "2007-01-01", "--to", "2007-12-31", "--plan", "Nope"],
            "Rollforward Co. has no plan named “Nope”; its plans are: “2005 Plan”.",
        ),
        (
            ["--from", "2007-01-01", "--to", "2007-12-31", "--format", "xml"],
            "--format “xml” is not one of: table, csv, json.",
        ),
    ],
)
def test_bad_arguments_are_refused_with_what_to_fix(book, arguments, message):
    with pytest.raises(CommandError) as error:
        run(*arguments)
    assert message in str(error.value)


def test_the_seed_company_and_another_need_company(book, grant):
    with pytest.raises(CommandError, match="give --company"):
        run("--from", "2007-01-01", "--to", "2007-12-31")
    assert Company.objects.count() == 2
