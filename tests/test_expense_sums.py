"""The expense report adds up the grants whose service continues in the database
(straight-line, forfeitures as they occur): the same figures as computing every grant one
by one, on the demo book and on a generated book."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from grants.demo import load_demo
from grants.models import Company, Grant, GrantValuation
from grants.services.reports import expense_report

pytestmark = pytest.mark.django_db


def same_either_way(company: Company, start: dt.date, end: dt.date, by: str) -> None:
    summed = expense_report(company, start, end, by=by)
    one_by_one = expense_report(company, start, end, by=by, per_grant=True)
    assert [p.amount for p in summed.periods] == [p.amount for p in one_by_one.periods]
    assert summed.unrecognised == one_by_one.unrecognised
    assert summed.unrecognised_years == one_by_one.unrecognised_years
    assert summed.unvalued == one_by_one.unvalued
    per_grant = [sum(amounts) for amounts in zip(*one_by_one.by_grant.values(), strict=True)]
    if per_grant:  # the grants' own figures add up to the periods
        assert per_grant == [p.amount for p in one_by_one.periods]


def test_the_demo_s_expense_is_the_same_either_way():
    load_demo()
    company = Grant.objects.get(number="VLNC-DEMO-0101").company
    today = company.today()
    for start, end, by in (
        (dt.date(2005, 1, 1), dt.date(2010, 12, 31), "year"),
        (today - dt.timedelta(days=500), today, "quarter"),
        (today - dt.timedelta(days=90), today + dt.timedelta(days=400), "month"),
    ):
        same_either_way(company, start, end, by)


def test_a_generated_book_s_expense_is_the_same_either_way():
    call_command("generate_book", "--grants", "300", "--due", "10", "--as-of", "2026-03-02")
    company = Company.objects.get(name__startswith="Synthetic")
    grants = list(Grant.objects.filter(plan__company=company).order_by("pk"))
    GrantValuation.objects.bulk_create(
        GrantValuation(grant=grant, fair_value_per_share=Decimal("1.2345") + index % 7)
        for index, grant in enumerate(grants[:-5])
    )
    same_either_way(company, dt.date(2024, 1, 1), dt.date(2025, 12, 31), "quarter")
    same_either_way(company, dt.date(2016, 1, 1), dt.date(2026, 3, 2), "year")
