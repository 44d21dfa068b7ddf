"""The dashboard on the admin index: what needs the stock administrator's attention today.

Exercises awaiting payment or issuance, grants that expire in the next 30 days (those that
expire after a termination first), terminations inside their exercise window, and each
plan's reserve; in a constant number of queries however large the book.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grants.demo import load_demo
from grants.models import Grant
from tests.conftest import d
from tests.factories import GrantFactory, OptioneeFactory, PlanFactory, UserFactory

CHICAGO = ZoneInfo("America/Chicago")
INDEX_URL = reverse("admin:index")


def noon(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(hour=12, tzinfo=CHICAGO)


@pytest.fixture
def today():
    with time_machine.travel(noon("2007-05-01"), tick=False):
        yield d("2007-05-01")


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def leaver(plan, name: str, terminated: str, shares: int = 1_000) -> Grant:
    """A grant (vested at grant, 2006-01-03) to an optionee whose service ended."""
    optionee = OptioneeFactory(company=plan.company, legal_name=name)
    made = GrantFactory(number=f"D-{name.upper()}", plan=plan, optionee=optionee, shares=shares)
    optionee.terminate(d(terminated))
    return made


@pytest.fixture
def book(grant, company, today):
    """On 2007-05-01."""
    insider = OptioneeFactory(company=company, legal_name="Eleanor Walsh")
    exercised = GrantFactory(number="D-EXERCISES", plan=grant.plan, optionee=insider)
    unpaid = exercised.request_exercise(1_000, d("2007-04-02"), payment_method="regt")
    paid = exercised.request_exercise(
        2_000, d("2007-04-03"), payment_method="cash", payment_received=True
    )
    issued = exercised.request_exercise(
        3_000, d("2007-04-04"), payment_method="check", payment_received=True
    )
    issued.issue_shares(d("2007-04-10"))
    cancelled = exercised.request_exercise(1_000, d("2007-04-05"), payment_method="regt")
    cancelled.cancel(d("2007-04-06"))
    made = {
        "unpaid": unpaid,
        "paid": paid,
        # Terminated 2007-02-15: expires 2007-05-15 (paragraph 5b).
        "late": leaver(grant.plan, "Patel", "2007-02-15"),
        # Terminated 2007-02-25: expires 2007-05-25.
        "later": leaver(grant.plan, "Okafor", "2007-02-25"),
        # Terminated 2007-03-10: expires 2007-06-10, outside the next 30 days.
        "outside": leaver(grant.plan, "Nguyen", "2007-03-10"),
        # Terminated 2006-06-01: the window closed on 2006-09-01.
        "closed": leaver(grant.plan, "Brown", "2006-06-01"),
        # The term ends on 2007-05-20, without a termination.
        "term": GrantFactory(
            number="D-TERM",
            plan=grant.plan,
            optionee=insider,
            grant_date=d("2006-01-03"),
            term_end=d("2007-05-20"),
        ),
    }
    reversed_optionee = OptioneeFactory(company=company, legal_name="Reversed")
    GrantFactory(number="D-REVERSED", plan=grant.plan, optionee=reversed_optionee)
    reversed_optionee.terminate(d("2007-04-01")).reverse("Recorded for the wrong person.")
    return made


def test_the_dashboard_lists_what_needs_attention(admin_client, book):
    response = admin_client.get(INDEX_URL)
    assert response.status_code == 200
    context = response.context

    pending = context["pending_exercises"]
    assert [e.pk for e in pending["rows"]] == [book["unpaid"].pk, book["paid"].pk]
    assert pending["count"] == 2

    expiring = context["expiring_grants"]
    # Post-termination first, each group by date.
    assert [g.number for g in expiring["rows"]] == ["D-PATEL", "D-OKAFOR", "D-TERM"]
    assert [g.days_left for g in expiring["rows"]] == [14, 24, 19]

    windows = context["terminations_in_window"]
    assert [(t.optionee.legal_name, t.on, t.last_day, t.days_left) for t in windows["rows"]] == [
        ("Patel", d("2007-02-15"), d("2007-05-15"), 14),
        ("Okafor", d("2007-02-25"), d("2007-05-25"), 24),
        ("Nguyen", d("2007-03-10"), d("2007-06-10"), 40),
    ]

    plans = {plan.name: plan for plan in context["plans"]}
    plan = plans["Compensatory Benefit Plan"]
    # As the rules read today: Brown's window closed on 2006-09-01, so the 1,000 shares of
    # that grant are back in the reserve although the nightly job has not stored it yet.
    assert (plan.reserve_used_shares, plan.reserve_available_shares) == (
        plan.reserve_used() - 1_000,
        plan.reserve_available() + 1_000,
    )

    page = response.content.decode()
    for link in (
        reverse("admin:grants_exercise_change", args=[book["unpaid"].pk]),
        reverse("admin:grants_exercise_change", args=[book["paid"].pk]),
        reverse("admin:grants_grant_change", args=[book["late"].pk]),
        reverse("admin:report_outstanding_options"),
    ):
        assert link in page
    for text in (
        "Exercises awaiting payment or issuance (2)",
        "Payment (Regulation T broker-assisted program)",
        "Issuance of the shares",
        "Grants that expire in the next 30 days (3)",
        "Window after termination",
        "End of the term",
        "Terminations inside their exercise window (3)",
        "2007-06-10",
        "Plan reserves",
    ):
        assert text in page
    # The app list is still there below the dashboard.
    assert reverse("admin:grants_grant_changelist") in page


def test_the_dashboard_makes_the_same_number_of_queries_for_a_larger_book(
    admin_client, book, grant, company
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(INDEX_URL).status_code == 200
        return len(captured)

    small = queries()
    PlanFactory(company=company, name="Another plan")
    for n in range(10):
        made = leaver(grant.plan, f"Leaver{n}", "2007-03-01", shares=2_000)
        made.request_exercise(1_000, d("2007-04-02"), payment_method="regt")
    response = admin_client.get(INDEX_URL)
    assert response.context["pending_exercises"]["count"] == 12
    assert response.context["terminations_in_window"]["count"] == 13
    assert queries() == small


def test_each_panel_needs_the_permission_to_view_its_rows(client, book):
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_plan"))
    client.force_login(clerk)
    response = client.get(INDEX_URL)
    assert response.status_code == 200
    assert "plans" in response.context
    for panel in ("pending_exercises", "expiring_grants", "terminations_in_window"):
        assert panel not in response.context
    assert "Exercises awaiting payment" not in response.content.decode()


def test_the_demo_book_on_the_dashboard(client, db):
    """The demo's director has a broker-assisted exercise waiting for the cash; its
    terminated employee is inside the three-month window."""
    load_demo()
    client.force_login(get_user_model().objects.get(username="stockadmin"))
    response = client.get(INDEX_URL)
    pending = response.context["pending_exercises"]["rows"]
    assert [e.grant.number for e in pending] == ["VLNC-DEMO-0103"]
    windows = response.context["terminations_in_window"]["rows"]
    assert [t.optionee.legal_name for t in windows] == ["Thomas Nguyen"]
    page = response.content.decode()
    assert "VLNC-DEMO-0103" in page
    assert "Thomas Nguyen" in page
