"""The outstanding-options report reads the grants whose service continues as flat rows
and adds them up (``grants.admin.reports._continuing``): the same report, to the digit, as
reading every grant through ``Grant.position``, on the demo book on many days and on a
generated book."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from grants.admin.reports import csv_rows, outstanding_options
from grants.demo import load_demo
from grants.models import Company, ExerciseHold, Optionee, RegistrationSuspension
from tests.conftest import d

pytestmark = pytest.mark.django_db


def same_either_way(company: Company, on: dt.date, price: Decimal | None) -> list[list[str]]:
    summed = csv_rows(outstanding_options(company, price, on))
    assert summed == csv_rows(outstanding_options(company, price, on, summed=False)), on
    return summed


def test_the_demo_s_report_is_the_same_either_way():
    load_demo()
    for company in Company.objects.all():
        today = company.today()
        for on in (d("2005-08-01"), d("2007-05-01"), d("2009-07-13"), today):
            for price in (None, Decimal("4.00"), Decimal("0.50")):
                same_either_way(company, on, price)


def test_a_hold_and_a_suspension_are_read_as_the_rules_read_them():
    load_demo()
    company = Company.objects.order_by("name").first()
    today = company.today()
    optionee = Optionee.objects.filter(company=company, terminations__isnull=True).first()
    ExerciseHold.objects.create(optionee=optionee, start=today, reason="under review")
    same_either_way(company, today, Decimal("4.00"))
    RegistrationSuspension.objects.create(company=company, start=today)
    rows = same_either_way(company, today, Decimal("4.00"))
    assert rows[-1][5] == "0"  # nothing is exercisable during a suspension


def test_a_generated_book_s_report_is_the_same_either_way():
    call_command("generate_book", "--grants", "300", "--due", "10", "--as-of", "2026-03-02")
    company = Company.objects.get(name__startswith="Synthetic")
    for on in (d("2018-06-30"), d("2026-03-02"), d("2030-01-01")):
        same_either_way(company, on, Decimal("30.00"))
