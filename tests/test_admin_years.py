"""A list's date hierarchy finds its years by probing the date's index year by year
(``grants.admin.base.YearsByProbe``): the same years, in the same order, as Django's
DISTINCT over every row, gaps and filters included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.test import RequestFactory

from grants.models import ClosingPrice

pytestmark = pytest.mark.django_db


def test_the_years_are_django_s_years(company):
    for day in ["2001-03-05", "2001-11-30", "2004-01-01", "2004-12-31", "2009-06-15"]:
        ClosingPrice.objects.create(company=company, date=dt.date.fromisoformat(day), price=1)
    model_admin = admin.site._registry[ClosingPrice]
    assert model_admin.date_hierarchy == "date"
    request = RequestFactory().get("/")
    request.user = type("Staff", (), {"is_active": True, "is_staff": True})()
    listed = model_admin.get_queryset(request)
    for queryset, plain in [
        (listed, ClosingPrice.objects.all()),
        (
            listed.filter(date__gte="2002-01-01"),
            ClosingPrice.objects.filter(date__gte="2002-01-01"),
        ),
        (listed.none(), ClosingPrice.objects.none()),
    ]:
        for order in ["ASC", "DESC"]:
            assert list(queryset.dates("date", "year", order)) == list(
                plain.dates("date", "year", order)
            )
    assert [d.year for d in listed.dates("date", "year")] == [2001, 2004, 2009]
    assert list(listed.dates("date", "month")) == list(ClosingPrice.objects.dates("date", "month"))


def test_a_date_mistyped_by_centuries_is_read_by_django_s_query(company):
    """A span of more than a hundred years is not probed year by year."""
    for day in ["1026-03-05", "2004-01-01"]:
        ClosingPrice.objects.create(company=company, date=dt.date.fromisoformat(day), price=1)
    model_admin = admin.site._registry[ClosingPrice]
    request = RequestFactory().get("/")
    request.user = type("Staff", (), {"is_active": True, "is_staff": True})()
    listed = model_admin.get_queryset(request)
    assert [d.year for d in listed.dates("date", "year")] == [1026, 2004]
