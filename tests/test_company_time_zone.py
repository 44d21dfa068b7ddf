"""Whose time zone a request reads (grants/timezones.py): the company of the signed-in
optionee, or of the grants a successor holds after a death, else the book's first
company's; in one query."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grants.timezones import company_time_zone
from tests.factories import CompanyFactory, OptioneeFactory, SuccessorFactory, UserFactory

pytestmark = pytest.mark.django_db


def zone_of(user) -> str:
    with CaptureQueriesContext(connection) as queries:
        zone = company_time_zone(user)
    assert len(queries) <= 1, [q["sql"] for q in queries]
    return zone


def test_with_no_company_the_zone_is_utc():
    assert zone_of(UserFactory(is_staff=True)) == "UTC"
    assert zone_of(AnonymousUser()) == "UTC"
    assert zone_of(None) == "UTC"


def test_staff_and_visitors_read_the_first_company_s_zone():
    CompanyFactory(time_zone="America/Chicago")
    CompanyFactory(time_zone="Europe/Paris")
    assert zone_of(UserFactory(is_staff=True)) == "America/Chicago"
    assert zone_of(AnonymousUser()) == "America/Chicago"


def test_an_optionee_reads_their_own_company_s_zone():
    CompanyFactory(time_zone="America/Chicago")
    user = UserFactory()
    OptioneeFactory(user=user, company=CompanyFactory(time_zone="Asia/Tokyo"))
    assert zone_of(user) == "Asia/Tokyo"
    user._optionee_ids = set()  # as the portal reads them: none
    assert zone_of(user) == "America/Chicago"


def test_an_optionee_who_is_also_a_successor_reads_the_first_record_by_name():
    CompanyFactory(time_zone="America/Chicago")
    user = UserFactory()
    OptioneeFactory(user=user, legal_name="Zed", company=CompanyFactory(time_zone="Asia/Tokyo"))
    deceased = OptioneeFactory(
        legal_name="Abe",
        company=CompanyFactory(time_zone="Europe/Rome"),
        date_of_death=dt.date(2026, 1, 5),
    )
    SuccessorFactory(optionee=deceased, user=user)
    assert zone_of(user) == "Europe/Rome"


def test_a_successor_reads_the_zone_of_the_grants_they_hold_after_the_death():
    CompanyFactory(time_zone="America/Chicago")
    deceased = OptioneeFactory(company=CompanyFactory(time_zone="Europe/Paris"))
    successor = SuccessorFactory(optionee=deceased)
    assert zone_of(successor.user) == "America/Chicago"  # alive: not theirs yet
    deceased.date_of_death = dt.date(2026, 1, 5)
    deceased.save()
    assert zone_of(successor.user) == "Europe/Paris"
    successor.user._optionee_ids = {deceased.pk}  # as the portal reads them
    assert zone_of(successor.user) == "Europe/Paris"
