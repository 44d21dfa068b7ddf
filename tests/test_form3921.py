"""Form 3921: one line per incentive stock option exercise of the year, NSOs left out."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from grants.models import ClosingPrice, NoticeAddress, Optionee
from grants.roles import AUDITOR, assign_role
from tests.conftest import d
from tests.factories import GrantFactory, OptioneeFactory, UserFactory
from tests.test_option_rollforward import on

pytestmark = pytest.mark.django_db


@pytest.fixture
def exercises(grant):
    company = grant.company
    holder = OptioneeFactory(company=company, legal_name="Ada Iso")
    NoticeAddress.objects.create(
        optionee=holder, address="1 Main St\nAustin, TX", effective_on=d("2006-01-01")
    )
    with on("2006-01-03"):
        iso = GrantFactory(
            number="ISO-1", plan=grant.plan, optionee=holder, option_type="ISO",
            exercise_price=Decimal("3.50"),
        )  # fmt: skip
        nso = GrantFactory(number="NSO-1", plan=grant.plan, optionee=holder)
    ClosingPrice.objects.create(company=company, date=d("2007-05-01"), price=Decimal("7.25"))
    with on("2007-05-01"):
        iso.request_exercise(2_000, d("2007-05-01"), payment_method="cash", payment_received=True)
        nso.request_exercise(1_000, d("2007-05-01"), payment_method="cash", payment_received=True)
    with on("2008-02-01"):
        iso.request_exercise(1_000, d("2008-02-01"), payment_method="cash", payment_received=True)
    return company


def test_the_iso_exercises_of_the_year(exercises):
    out = StringIO()
    call_command("form3921", "--year", "2007", stdout=out)
    assert out.getvalue().splitlines() == [
        "optionee,address,grant_number,date_granted,date_exercised,exercise_price_per_share,"
        "fair_market_value_per_share,shares_transferred",
        'Ada Iso,"1 Main St',
        'Austin, TX",ISO-1,2006-01-03,2007-05-01,3.5000,7.2500,2000',
    ]


def test_a_bad_year_is_refused(exercises):
    with pytest.raises(CommandError, match="--year “07” is not a year"):
        call_command("form3921", "--year", "07", stdout=StringIO())


def test_the_back_office_lists_each_optionee_with_a_printable_copy(client, exercises):
    user = UserFactory()
    assign_role(user, AUDITOR)
    client.force_login(user)
    url = reverse("admin:report_form3921")
    page = client.get(url, {"company": exercises.pk, "year": "2007"}).content.decode()
    assert "Ada Iso" in page
    assert "Printable copy" in page
    holder = Optionee.objects.get(legal_name="Ada Iso")
    printable = client.get(
        url, {"company": exercises.pk, "year": "2007", "optionee": holder.pk}
    ).content.decode()
    for text in ("1 Main St", "05/01/2007", "01/03/2006", "$3.5000", "$7.2500", "2,000"):
        assert text in printable, text
    assert "Printable copy" not in printable
