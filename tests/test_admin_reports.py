"""The outstanding-options report, as a page and as CSV, against numbers computed by hand.

The book on 2007-05-01 (the company's today):
- VLNC-2005-0001 (the seed): plan "Compensatory Benefit Plan", 1,000,000 at $2.99, vested
  493,750 (DOMAIN.md, paragraph 1), nothing exercised; expires 2015-07-13 (2,995 days).
- R-EXERCISED: same plan, 10,000 at $2.99 vested at grant (2006-01-03), 4,000 exercised:
  6,000 outstanding, all vested; expires 2016-01-03 (3,169 days).
- R-LEAVER: same plan, 20,000 at $5.00 (5,000 vested 2006-05-01, 15,000 due 2008-05-01);
  service ended 2007-03-01, so 15,000 are forfeited: 5,000 outstanding, all vested;
  expires 2007-06-01 (31 days).
- R-DIRECTOR: plan "Directors plan", 8,000 at $1.50 (2,000 vested 2007-01-02, 6,000 due
  2008-01-02): 8,000 outstanding, 2,000 vested; expires 2017-01-02 (3,534 days).
- R-GONE: service ended 2006-06-01, expired 2006-09-01: nothing outstanding.
- R-CLOSED: expired by the nightly job: nothing outstanding.
"""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grants.admin.reports import outstanding_options
from grants.models import ClosingPrice, Grant
from tests.conftest import d
from tests.factories import GrantFactory, OptioneeFactory, PlanFactory, UserFactory

CHICAGO = ZoneInfo("America/Chicago")
REPORT_URL = reverse("admin:report_outstanding_options")

HEADER = [
    "plan",
    "exercise_price",
    "grants",
    "shares_outstanding",
    "shares_vested",
    "shares_exercisable",
    "weighted_average_exercise_price",
    "weighted_average_remaining_term_years",
    "intrinsic_value_outstanding",
    "intrinsic_value_vested",
]

# At $4.00 a share. Weighted averages by hand:
# - plan 1 at $2.99: term (1,000,000 x 2,995 + 6,000 x 3,169) / 1,006,000 = 2,996.04 days
#   = 8.20 years; intrinsic 1,006,000 x $1.01 = $1,016,060.00, vested 499,750 x $1.01.
# - plan 1 at $5.00: 31 days = 0.08 years; under water, no intrinsic value.
# - plan 1: price (1,006,000 x 2.99 + 5,000 x 5.00) / 1,011,000 = $2.99994 = $3.00;
#   term (3,014,014,000 + 155,000) / 1,011,000 = 2,981.37 days = 8.16 years.
# - plan 2 at $1.50: 3,534 days = 9.68 years; intrinsic 8,000 x $2.50, vested 2,000 x $2.50.
# - all: price (3,032,940 + 12,000) / 1,019,000 = $2.98816 = $2.99;
#   term (3,014,169,000 + 28,272,000) / 1,019,000 = 2,985.71 days = 8.17 years.
EXPECTED_AT_4 = [
    ["Compensatory Benefit Plan", "2.99", "2", "1006000", "499750", "499750", "2.99", "8.20",
     "1016060.00", "504747.50"],
    ["Compensatory Benefit Plan", "5.00", "1", "5000", "5000", "5000", "5.00", "0.08",
     "0.00", "0.00"],
    ["Compensatory Benefit Plan", "All prices", "3", "1011000", "504750", "504750", "3.00",
     "8.16", "1016060.00", "504747.50"],
    ["Directors plan", "1.50", "1", "8000", "2000", "2000", "1.50", "9.68",
     "20000.00", "5000.00"],
    ["Directors plan", "All prices", "1", "8000", "2000", "2000", "1.50", "9.68",
     "20000.00", "5000.00"],
    ["All plans", "All prices", "4", "1019000", "506750", "506750", "2.99", "8.17",
     "1036060.00", "509747.50"],
]  # fmt: skip


def noon(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(hour=12, tzinfo=CHICAGO)


@pytest.fixture
def today():
    with time_machine.travel(noon("2007-05-01"), tick=False):
        yield d("2007-05-01")


@pytest.fixture
def book(grant, company, today):
    plan = grant.plan
    directors = PlanFactory(company=company, name="Directors plan")
    exercised = GrantFactory(
        number="R-EXERCISED", plan=plan, optionee=grant.optionee, exercise_price=Decimal("2.99")
    )
    exercised.request_exercise(4_000, d("2007-04-02"), payment_method="cash", payment_received=True)
    leaver = OptioneeFactory(company=company)
    GrantFactory(
        number="R-LEAVER",
        plan=plan,
        optionee=leaver,
        shares=20_000,
        exercise_price=Decimal("5.00"),
        grant_date=d("2006-05-01"),
        installments=[(d("2006-05-01"), 5_000), (d("2008-05-01"), 15_000)],
    )
    leaver.terminate(d("2007-03-01"))
    GrantFactory(
        number="R-DIRECTOR",
        plan=directors,
        optionee=OptioneeFactory(company=company),
        shares=8_000,
        exercise_price=Decimal("1.50"),
        grant_date=d("2007-01-02"),
        installments=[(d("2007-01-02"), 2_000), (d("2008-01-02"), 6_000)],
    )
    gone = OptioneeFactory(company=company)
    GrantFactory(
        number="R-GONE", plan=plan, optionee=gone, shares=3_000, exercise_price=Decimal("2.00")
    )
    gone.terminate(d("2006-06-01"))
    GrantFactory(number="R-CLOSED", plan=directors, optionee=OptioneeFactory(company=company))
    Grant.objects.filter(number="R-CLOSED").update(status=Grant.Status.EXPIRED)
    ClosingPrice.objects.create(company=company, date=d("2007-04-30"), price=Decimal("4.00"))
    ClosingPrice.objects.create(company=company, date=d("2007-05-02"), price=Decimal("9.99"))
    return company


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def csv_of(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_carries_the_hand_computed_numbers_at_the_latest_closing_price(admin_client, book):
    response = admin_client.get(REPORT_URL, {"company": book.pk, "format": "csv"})
    rows = csv_of(response)
    assert rows[0] == HEADER
    assert rows[1:] == EXPECTED_AT_4
    assert "outstanding-options-2007-05-01.csv" in response["Content-Disposition"]


def test_opening_the_page_shows_the_form_and_runs_nothing(admin_client, book):
    response = admin_client.get(REPORT_URL)
    assert response.status_code == 200
    assert response.context["report"] is None
    assert 'value="Show report"' in response.content.decode()


def test_the_page_shows_the_same_numbers(admin_client, book):
    response = admin_client.get(REPORT_URL, {"company": book.pk})
    assert response.status_code == 200
    report = response.context["report"]
    assert report.price == Decimal("4.00")
    assert report.on == d("2007-05-01")
    total = report.total
    assert (total.grants, total.outstanding, total.vested, total.exercisable) == (
        4,
        1_019_000,
        506_750,
        506_750,
    )
    assert total.weighted_average_price == Decimal("2.99")
    assert total.weighted_average_years == Decimal("8.17")
    assert total.intrinsic_outstanding_value == Decimal("1036060.00")
    page = response.content.decode()
    for text in (
        "1,019,000",
        "506,750",
        "$1,036,060.00",
        "$509,747.50",
        "$3.00",
        "8.16",
        "9.68",
        "Directors plan: all prices",
        "Intrinsic values at $4.00 per share.",
    ):
        assert text in page
    # The CSV link carries the same choices.
    assert "format=csv" in page
    # The definitions are on the page.
    for term in ("Shares outstanding", "Weighted-average remaining term", "365.25"):
        assert term in page


def test_a_chosen_price_values_the_book_at_that_price(admin_client, book):
    response = admin_client.get(REPORT_URL, {"company": book.pk, "price": "6", "format": "csv"})
    rows = {(row[0], row[1]): row for row in csv_of(response)[1:]}
    # 1,006,000 x $3.01; 5,000 x $1.00; 8,000 x $4.50.
    assert rows[("Compensatory Benefit Plan", "2.99")][8] == "3028060.00"
    assert rows[("Compensatory Benefit Plan", "5.00")][8] == "5000.00"
    assert rows[("Directors plan", "1.50")][8] == "36000.00"
    assert rows[("All plans", "All prices")][8] == "3069060.00"
    # Vested: 499,750 x $3.01 + 5,000 x $1.00 + 2,000 x $4.50.
    assert rows[("All plans", "All prices")][9] == "1518247.50"
    page = admin_client.get(REPORT_URL, {"company": book.pk, "price": "6"}).content.decode()
    assert "$3,069,060.00" in page


def test_the_report_agrees_with_each_grant_s_position(book):
    """Outstanding, vested and exercisable are the sum of what ``Grant.position`` says."""
    report = outstanding_options(book, Decimal("4.00"))
    today = book.today()
    outstanding = vested = exercisable = 0
    for grant in Grant.objects.exclude(status=Grant.Status.EXPIRED):
        position = grant.position(today)
        if position.is_expired:
            continue
        outstanding += position.total - position.exercised - position.forfeited
        vested += position.vested - position.exercised
        exercisable += position.exercisable
    assert (report.total.outstanding, report.total.vested, report.total.exercisable) == (
        outstanding,
        vested,
        exercisable,
    )


def test_during_a_registration_suspension_nothing_is_exercisable(admin_client, book):
    book.suspend_registration(d("2007-04-20"))
    rows = csv_of(admin_client.get(REPORT_URL, {"company": book.pk, "format": "csv"}))
    total = rows[-1]
    assert (total[3], total[4], total[5]) == ("1019000", "506750", "0")


def test_without_any_closing_price_intrinsic_values_are_left_out(admin_client, book):
    ClosingPrice.objects.all().delete()
    response = admin_client.get(REPORT_URL, {"company": book.pk})
    assert "No closing price is recorded" in response.content.decode()
    rows = csv_of(admin_client.get(REPORT_URL, {"company": book.pk, "format": "csv"}))
    assert rows[-1][3] == "1019000"
    assert rows[-1][8:] == ["", ""]


def test_a_negative_price_is_refused_on_the_form(admin_client, book):
    response = admin_client.get(REPORT_URL, {"company": book.pk, "price": "-1"})
    assert response.status_code == 200
    assert response.context["report"] is None
    assert "price" in response.context["form"].errors


def test_the_report_makes_the_same_number_of_queries_for_3_and_30_grants(
    admin_client, grant, company, today
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(REPORT_URL, {"company": company.pk})
        assert response.status_code == 200
        return len(captured)

    optionee = OptioneeFactory(company=company)
    for _ in range(2):
        GrantFactory(plan=grant.plan, optionee=optionee)
    small = queries()
    for _ in range(27):
        GrantFactory(plan=grant.plan, optionee=optionee)
    assert queries() == small


def test_the_report_is_linked_from_the_index_and_needs_the_view_permission(
    admin_client, client, book
):
    assert REPORT_URL in admin_client.get(reverse("admin:index")).content.decode()
    clerk = UserFactory(is_staff=True)
    client.force_login(clerk)
    assert client.get(REPORT_URL).status_code == 403
    assert REPORT_URL not in client.get(reverse("admin:index")).content.decode()
    clerk.user_permissions.add(Permission.objects.get(codename="view_grant"))
    assert client.get(REPORT_URL).status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(REPORT_URL)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
