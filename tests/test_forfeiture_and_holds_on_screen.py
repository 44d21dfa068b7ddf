"""Forfeitures, exercise holds and agreement forms as people see them: the back-office
screens that record them, the history that keeps who did it, the notice the optionee
receives and the portal's wording."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from grants.models import ClosingPrice, ExerciseHold, Grant, GrantTerms, Notice
from grants.roles import STOCK_ADMINISTRATOR, assign_role
from tests.conftest import d
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MAY_2007 = "2007-05-01 10:00 -05:00"


@pytest.fixture
def staff(client, grant):
    user = UserFactory()
    assign_role(user, STOCK_ADMINISTRATOR)
    client.force_login(user)
    return client


@pytest.fixture
def akridge_portal(grant):
    """James Akridge's portal, on 2007-05-01 at 10 a.m. in Austin."""
    from django.test import Client

    optionee = grant.optionee
    optionee.user = UserFactory(username="jakridge", email="james@example.com")
    optionee.save()
    ClosingPrice.objects.create(company=grant.company, date=d("2007-04-30"), price=Decimal("4.10"))
    portal = Client()
    portal.force_login(optionee.user)
    return portal


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_grant_page_forfeits_the_option_with_the_day_and_why(
    staff, grant, akridge_portal, django_capture_on_commit_callbacks
):
    with time_machine.travel(MAY_2007, tick=False):
        screen = staff.get(reverse("admin:grants_grant_forfeit", args=[grant.pk]))
        assert "its unexercised shares (1,000,000 today) return to the plan" in text(screen)
        refused = staff.post(
            reverse("admin:grants_grant_forfeit", args=[grant.pk]), {"on": "2007-05-01"}
        )
        assert refused.status_code == 200  # no reason: the form asks for it
        with django_capture_on_commit_callbacks(execute=True):
            done = staff.post(
                reverse("admin:grants_grant_forfeit", args=[grant.pk]),
                {"on": "2007-05-01", "why": "Cause found by the board"},
                follow=True,
            )
        assert "Grant VLNC-2005-0001 is forfeited from 2007-05-01" in text(done)
        assert "Forfeited from 2007-05-01 (Cause found by the board)" in text(done)
        grant.refresh_from_db()
        assert grant.status == Grant.Status.FORFEITED
        assert grant.returned_shares == 1_000_000
        record = grant.history.order_by("-history_id").first()
        assert record.forfeiture_reason == "Cause found by the board"
        assert record.history_source.startswith("admin ")

        notice = Notice.objects.get(grant=grant, kind=Notice.Kind.FORFEITED)
        assert "Cause found by the board" in notice.body

        dashboard = text(akridge_portal.get(reverse("dashboard")))
        assert (
            "This option was forfeited on May 1, 2007 (Cause found by the board) and can no "
            "longer be exercised" in dashboard
        )
        assert "$0.00" in dashboard  # an ended option is worth nothing
        assert reverse("exercise", args=[grant.number]) not in dashboard
        detail = text(akridge_portal.get(reverse("grant_detail", args=[grant.number])))
        assert "Status: <strong>Forfeited</strong>. This option was forfeited" in detail
        assert "You can exercise through" not in detail


def test_the_optionee_page_holds_and_lifts_exercises(staff, grant, akridge_portal):
    optionee = grant.optionee
    with time_machine.travel(MAY_2007, tick=False):
        page = text(staff.get(reverse("admin:grants_optionee_change", args=[optionee.pk])))
        assert reverse("admin:grants_optionee_hold", args=[optionee.pk]) in page
        mail.outbox.clear()
        staff.post(
            reverse("admin:grants_optionee_hold", args=[optionee.pk]),
            {"start": "2007-04-25", "end": "", "why": "Pending determination of cause"},
        )
        hold = ExerciseHold.objects.get(optionee=optionee)
        assert (hold.start, hold.end) == (d("2007-04-25"), None)
        assert hold.history.first().history_source.startswith("admin ")
        page = text(staff.get(reverse("admin:grants_optionee_change", args=[optionee.pk])))
        assert (
            "<td>2007-04-25</td><td>until lifted</td><td>Pending determination of cause</td>"
        ) in page

        detail = text(akridge_portal.get(reverse("grant_detail", args=[grant.number])))
        assert (
            "The company holds your exercises from April 25, 2007 until it lifts the hold: "
            "no exercise is accepted on those days." in detail
        )
        dashboard = akridge_portal.get(reverse("dashboard"))
        assert dashboard.context["rows"][0]["position"].exercisable == 0

        staff.post(
            reverse("admin:grants_optionee_lift_hold", args=[optionee.pk]),
            {"hold": hold.pk, "end": "2007-04-30"},
        )
        hold.refresh_from_db()
        assert hold.end == d("2007-04-30")
        assert grant.exercisable_shares(d("2007-05-01")) == 493_750
        subjects = Notice.objects.filter(optionee=optionee).values_list("subject", flat=True)
        assert "The hold on your option exercises is lifted" in set(subjects)


def test_a_lift_before_the_hold_began_is_refused_on_the_form(staff, grant):
    optionee = grant.optionee
    hold = optionee.hold_exercise(d("2007-04-25"), why="Pending determination")
    response = staff.post(
        reverse("admin:grants_optionee_lift_hold", args=[optionee.pk]),
        {"hold": hold.pk, "end": "2007-04-01"},
    )
    assert "The hold started on 2007-04-25; its last day cannot be before." in text(response)
    hold.refresh_from_db()
    assert hold.end is None


def test_a_new_agreement_form_starts_empty(staff, grant):
    page = staff.get(reverse("admin:grants_grantterms_add"))
    form = page.context["adminform"].form
    assert not form.initial.get("name")
    for reason in ("VOLUNTARY_OTHER", "INVOLUNTARY_DEATH"):
        assert form[f"window_{reason}_period"].value() in (None, "")
    assert "Exercise windows after termination, by reason" in text(page)


def test_the_portal_shows_the_grant_s_own_form_text_and_windows(grant, akridge_portal):
    other = GrantTerms.objects.create(
        name="Northwind 2010 employee option",
        minimum_exercise=100,
        windows=[
            {"reason": r, "period": 60, "period_type": "DAYS", "vesting": "STOP"}
            for r in (
                "VOLUNTARY_OTHER",
                "VOLUNTARY_GOOD_CAUSE",
                "VOLUNTARY_RETIREMENT",
                "INVOLUNTARY_OTHER",
                "INVOLUNTARY_DEATH",
                "INVOLUNTARY_DISABILITY",
                "INVOLUNTARY_WITH_CAUSE",
            )
        ],
        payment_methods=["cash"],
        mail_notice_days=5,
        agreement_text="NORTHWIND, INC. STOCK OPTION AGREEMENT",
    )
    Grant.objects.filter(pk=grant.pk).update(terms=other)
    with time_machine.travel(MAY_2007, tick=False):
        agreement = text(akridge_portal.get(reverse("agreement", args=[grant.number])))
        assert "NORTHWIND, INC. STOCK OPTION AGREEMENT" in agreement
        assert "Valence" not in agreement.split("The text of the agreement form")[1]
        detail = text(akridge_portal.get(reverse("grant_detail", args=[grant.number])))
        assert "After retirement: 60 days after the termination date" in detail
        assert "at least 100 shares at a time" in detail
