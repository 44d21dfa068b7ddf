"""What people read is true: every time in the company's zone and labelled, the status the
rules give for today on every screen, and values that are intrinsic values (issue 14)."""

import datetime as dt
import re
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from grants.models import ClosingPrice, Grant, Notice
from grants.roles import STOCK_ADMINISTRATOR, assign_role
from grants.seed import seed_grant
from tests.conftest import d
from tests.factories import GrantFactory, UserFactory

UTC = dt.UTC


def page(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def signed_in_staff(client):
    user = UserFactory()
    assign_role(user, STOCK_ADMINISTRATOR)
    client.force_login(user)
    return client


@pytest.fixture
def live_grant(db):
    """A grant that is still exercisable in 2026, to an optionee with a portal account."""
    with time_machine.travel(dt.datetime(2026, 1, 5, 15, tzinfo=UTC), tick=False):
        seed = seed_grant()
        grant = GrantFactory(
            plan=seed.plan,
            grant_date=d("2026-01-05"),
            shares=10_000,
            exercise_price=Decimal("3.00"),
            optionee__user=UserFactory(username="pat"),
        )
    return grant


def test_the_portal_prints_the_companys_hour_not_utc(client, live_grant):
    client.force_login(live_grant.optionee.user)
    # Monday 2026-11-30 02:56 UTC is Sunday 2026-11-29 8:56 PM in Austin.
    with time_machine.travel(dt.datetime(2026, 11, 30, 2, 56, tzinfo=UTC), tick=False):
        text = page(client.get(f"/grants/{live_grant.number}/exercise/"))
    assert "It is outside business hours (Sunday, November 29, 8:56 PM, America/Chicago)" in text
    assert "2:56 AM" not in text
    assert "Monday, November 30, 2026" in text  # when a notice sent now counts


def test_a_notice_time_is_shown_in_the_companys_zone_and_labelled(client, live_grant):
    at = dt.datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 9:30 AM in Austin
    with time_machine.travel(at, tick=False):
        client.force_login(live_grant.optionee.user)
        exercise = live_grant.request_exercise(1_000, at, payment_method="regt")
        text = page(client.get(f"/exercises/{exercise.pk}/"))
    assert "Nov 30, 2026 9:30 AM CST" in text


def test_the_back_office_shows_times_in_the_companys_zone_labelled(client, live_grant):
    at = dt.datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        staff = signed_in_staff(client)
        exercise = live_grant.request_exercise(1_000, at, payment_method="regt")
        text = page(staff.get(f"/admin/grants/notice/{exercise.notice.pk}/change/"))
    assert "Nov. 30, 2026, 9:30 a.m. CST" in text


@pytest.fixture
def past_its_last_day(db):
    """The seed grant in 2026: its term ended on 2015-07-13, and the nightly job has not
    run since, so its stored status is still "granted"; a closing price of $10."""
    grant = seed_grant()
    ClosingPrice.objects.create(company=grant.company, date=d("2026-11-27"), price=Decimal("10"))
    grant.optionee.user = UserFactory(username="jakridge")
    grant.optionee.save()
    assert grant.status == Grant.Status.GRANTED
    return grant


NOW = dt.datetime(2026, 11, 30, 16, tzinfo=UTC)


def test_every_screen_shows_a_grant_past_its_last_day_as_expired(client, past_its_last_day):
    grant = past_its_last_day
    with time_machine.travel(NOW, tick=False):
        staff = signed_in_staff(client)
        listing = page(staff.get("/admin/grants/grant/"))
        detail = page(staff.get(f"/admin/grants/grant/{grant.pk}/change/"))
        optionee = page(staff.get(f"/admin/grants/optionee/{grant.optionee.pk}/change/"))
        index = page(staff.get("/admin/"))
        client.force_login(grant.optionee.user)
        dashboard = page(client.get("/"))
        portal_grant = page(client.get(f"/grants/{grant.number}/"))
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*VLNC-2005-0001(?:(?!</tr>).)*</tr>", listing).group(0)
    assert '<td class="field-status_today">Expired</td>' in row
    assert "Status today</th><td>Expired (the nightly job stores it at its next run)" in detail
    assert "<td>Expired</td>" in optionee
    assert 'Status</dt><dd class="col-5 col-md-3">Expired' in dashboard
    assert "This option expired on July 13, 2015" in dashboard
    assert "$0.00" in dashboard
    assert "$7,010,000" not in dashboard
    assert "Status: <strong>Expired</strong>" in portal_grant
    # The plan's reserve: every share of the ended grant is back (nothing was exercised).
    plans = index.split('id="dashboard-plans"')[1]
    assert re.search(r"Compensatory Benefit Plan.*?20,000,000</td>\s*<td[^>]*>0</td>", plans)


def test_the_outstanding_options_report_leaves_out_a_grant_past_its_last_day(
    client, past_its_last_day
):
    with time_machine.travel(NOW, tick=False):
        staff = signed_in_staff(client)
        text = page(staff.get("/admin/reports/outstanding-options/?format=csv"))
    assert "VLNC" not in text


def test_the_value_is_the_intrinsic_value_of_the_exercisable_shares(client, live_grant):
    ClosingPrice.objects.create(
        company=live_grant.company, date=d("2026-11-27"), price=Decimal("4.25")
    )
    with time_machine.travel(NOW, tick=False):
        client.force_login(live_grant.optionee.user)
        position = live_grant.position()
        text = page(client.get("/"))
    assert position.intrinsic_value == Decimal("12500.00")  # (4.25 - 3.00) x 10,000
    assert "$12,500.00" in text
    assert "at the closing price of $4.25 on Nov 27, 2026" in text


def test_an_option_under_water_is_worth_nothing(live_grant):
    ClosingPrice.objects.create(
        company=live_grant.company, date=d("2026-11-27"), price=Decimal("2")
    )
    with time_machine.travel(NOW, tick=False):
        assert live_grant.position().intrinsic_value == Decimal("0.00")


def test_make_run_runs_the_nightly_job_so_the_demo_looks_like_a_real_book(db):
    call_command("load_demo", stdout=StringIO())
    call_command("expire_options", stdout=StringIO(), stderr=StringIO())
    seed = Grant.objects.get(number="VLNC-2005-0001")
    assert seed.status == Grant.Status.EXPIRED
    assert Notice.objects.filter(grant=seed, kind=Notice.Kind.EXPIRED).exists()
