"""The auditors' pages in the back office show the figures the commands print, on the
book of tests/test_option_rollforward.py, to an auditor (who changes nothing)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from grants.models import ClosingPrice, Grant, GrantValuation
from grants.roles import AUDITOR, STOCK_ADMINISTRATOR, assign_role
from grants.seed import SEED_GRANT_DATE
from tests.factories import UserFactory
from tests.test_option_rollforward import book  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
ROLLFORWARD = reverse("admin:report_option_rollforward")
EXPENSE = reverse("admin:report_expense")
FORM3921 = reverse("admin:report_form3921")


@pytest.fixture
def auditor(client):
    user = UserFactory()
    assign_role(user, AUDITOR)
    client.force_login(user)
    return client


def period(company, **more) -> dict:
    return {"company": company.pk, "start": "2007-01-01", "end": "2007-12-31", **more}


def test_the_option_table_page_shows_the_figures_worked_out_on_paper(auditor, book):  # noqa: F811
    page = auditor.get(ROLLFORWARD, period(book)).content.decode()
    for text in (
        "as the book stood at the end of 2007-12-31",
        "78,000",
        "23,000",
        "58,000",
        "27,500",
        "$2.47",
        "7.70",
        "$147,000.00",
        "$75,000.00",
        "Weighted-average grant-date fair value of options granted: $1.50",
        "Intrinsic value of options exercised: $4,000.00",
    ):
        assert text in page, text
    restated = auditor.get(ROLLFORWARD, period(book, restate="on")).content.decode()
    assert "restated: with every fact recorded since" in restated
    assert "52,000" in restated
    assert "-6,000" in restated


def test_the_option_table_downloads_as_csv_and_json(auditor, book):  # noqa: F811
    response = auditor.get(ROLLFORWARD, period(book, format="csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[6] == ["outstanding_end", "58000", "2.47", "7.70", "147000.00"]
    data = json.loads(auditor.get(ROLLFORWARD, period(book, format="json")).content)
    assert data["outstanding_start"] == {
        "shares": "78000",
        "weighted_average_exercise_price": "2.45",
    }


def test_a_reversed_period_is_an_error_on_the_page(auditor, book):  # noqa: F811
    response = auditor.get(ROLLFORWARD, {**period(book), "start": "2008-01-01"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "2008-01-01 is after 2007-12-31" in page
    assert 'id="rollforward"' not in page


def test_the_expense_page_has_its_chart_and_numbers(auditor, book):  # noqa: F811
    GrantValuation.record(Grant.objects.get(number="C-LEAVER"), fair_value_per_share=Decimal(1))
    page = auditor.get(EXPENSE, period(book, by="quarter", per_grant="on")).content.decode()
    assert "<svg" in page
    assert "2007 Q2: -6,174.54" in page  # the reversal's bar
    assert 'class="negative"' in page
    for text in ("$6,215.75", "$7,582.19", "$2,500.00", "0.17 years", "-7383.56", "C-LEAVER"):
        assert text in page, text
    assert "3 grant(s) have no fair value recorded" in page
    download = auditor.get(EXPENSE, period(book, by="quarter", format="csv")).content.decode()
    assert "2007-04-01,2007-06-30,-6174.54" in download.splitlines()  # a number, not text


def test_form_3921_page(auditor, grant):
    page = auditor.get(FORM3921, {"company": grant.company.pk, "year": 2007}).content.decode()
    assert "No incentive stock option was exercised in 2007." in page


def test_the_administrator_values_a_grant_on_its_screen(client, grant):
    user = UserFactory()
    assign_role(user, STOCK_ADMINISTRATOR)
    client.force_login(user)
    add = reverse("admin:grants_grantvaluation_add")
    form = {
        "grant": grant.pk,
        "volatility": "0.5",
        "risk_free_rate": "0.04",
        "dividend_yield": "",
        "expected_term_years": "",
        "given_fair_value": "",
    }
    refused = client.post(add, form).content.decode()
    assert "No closing price is recorded for the grant date 2005-07-13" in refused
    assert not GrantValuation.objects.exists()
    ClosingPrice.objects.create(company=grant.company, date=SEED_GRANT_DATE, price=Decimal("2.99"))
    assert client.post(add, form).status_code == 302
    valuation = GrantValuation.objects.get()
    assert valuation.expected_term_years == Decimal("5.9981")
    page = client.get(reverse("admin:grants_grant_change", args=[grant.pk])).content.decode()
    assert f"${valuation.fair_value_per_share} a share" in page
    assert "(simplified method)" in page
