"""The optionee portal, end to end through the test client, on the seed grant.

"Now" is fixed with time-machine: Tuesday 2007-05-01, 10:00 in Austin, when the seed
grant has 493,750 vested shares.
"""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from grants.models import (
    Acknowledgement,
    ClosingPrice,
    Exercise,
    Grant,
    Notice,
    WithholdingRate,
)
from tests.conftest import d
from tests.factories import GrantFactory, OptioneeFactory, SuccessorFactory, UserFactory

CHICAGO = ZoneInfo("America/Chicago")
TUESDAY_10AM = dt.datetime(2007, 5, 1, 10, 0, tzinfo=CHICAGO)


@pytest.fixture
def at_10am():
    with time_machine.travel(TUESDAY_10AM, tick=False):
        yield


@pytest.fixture
def akridge(grant):
    optionee = grant.optionee
    optionee.user = UserFactory(username="jakridge", email="james@example.com")
    optionee.save()
    ClosingPrice.objects.create(company=grant.company, date=d("2007-04-30"), price=Decimal("4.10"))
    WithholdingRate.objects.create(company=grant.company, name="Federal", rate=Decimal("0.22"))
    return optionee.user


@pytest.fixture
def signed_in(client, akridge, at_10am):
    client.force_login(akridge)
    return client


def page(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --------------------------------------------------------------------------- dashboard


def test_dashboard_shows_each_number_of_the_grant(signed_in, grant):
    html = page(signed_in.get(reverse("dashboard")))
    assert "Grant VLNC-2005-0001" in html
    assert "1,000,000" in html  # total
    assert "493,750" in html  # vested on 2007-05-01
    assert "506,250" in html  # unvested
    assert "56,250 on Jul 13, 2007" in html  # next vesting
    assert "$2.99" in html
    # The intrinsic value: 493,750 exercisable x ($4.10 closing price - $2.99 exercise price).
    assert "$548,062.50" in html
    assert "Jul 13, 2015" in html  # expiration


def test_after_termination_the_dashboard_counts_down_with_the_clause(signed_in, grant):
    grant.optionee.terminate(d("2007-04-20"), "other")
    html = page(signed_in.get(reverse("dashboard")))
    assert "80 days left to exercise" in html  # 2007-05-01 → 2007-07-20
    assert "Friday, July 20, 2007" in html
    assert "3 months after termination on 2007-04-20 (involuntary termination window)." in html


def test_dashboard_queries_do_not_grow_with_the_number_of_grants(
    client, akridge, at_10am, django_assert_max_num_queries, grant
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(akridge)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("dashboard"))
    for _ in range(4):
        GrantFactory(plan=grant.plan, optionee=grant.optionee)
    with CaptureQueriesContext(connection) as five:
        response = client.get(reverse("dashboard"))
    assert response.content.decode().count("card-title") == 5
    assert len(five) == len(one)


def test_grant_page_queries_do_not_grow_with_the_exercises(signed_in, grant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("grant_detail", args=[grant.number])
    grant.request_exercise(1_000, d("2007-05-01"), payment_method="cash")
    with CaptureQueriesContext(connection) as one:
        signed_in.get(url)
    paid = grant.request_exercise(2_000, d("2007-05-01"), payment_method="check")
    paid.mark_paid(d("2007-05-01"))
    grant.request_exercise(3_000, d("2007-05-01"), payment_method="cash").cancel(d("2007-05-01"))
    grant.request_exercise(4_000, d("2007-05-01"), payment_method="regt")
    with CaptureQueriesContext(connection) as four:
        html = page(signed_in.get(url))
    assert html.count("shares on May 1, 2007") == 4
    assert len(four) == len(one)


# --------------------------------------------------------------------------- grant page


def test_grant_page_has_schedule_chart_terms_and_documents(signed_in, grant):
    html = page(signed_in.get(reverse("grant_detail", args=[grant.number])))
    assert html.count("56,250") >= 12
    assert "<svg" in html
    assert 'class="vested"' in html
    assert "at least 1,000 shares at a time" in html
    assert reverse("agreement", args=[grant.number]) in html
    agreement = page(signed_in.get(reverse("agreement", args=[grant.number])))
    assert "Shares: 1,000,000, at $2.99 per share" in agreement
    assert "The term of the option ends on July 13, 2015" in agreement
    # The form's own text, as filed (the seed form carries the seed agreement).
    assert "Date of Earliest Exercise" in agreement


# --------------------------------------------------------------------------- exercise


def test_exercise_preview_then_submit_creates_one_notice_and_one_exercise(
    signed_in, grant, django_capture_on_commit_callbacks
):
    url = reverse("exercise", args=[grant.number])
    form_page = signed_in.get(url)
    key = form_page.context["form"].initial["submission_key"]
    data = {"shares": "10,000", "payment_method": "cash", "submission_key": key}
    preview = page(signed_in.post(url, {**data, "action": "preview"}))
    assert "$29,900.00" in preview  # 10,000 x $2.99
    assert "$11,100.00" in preview  # spread at $4.10
    assert "$2,442.00" in preview  # 22% withholding
    assert "today, Tuesday, May 1, 2007" in preview
    assert not Exercise.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url, {**data, "action": "submit"})
    exercise = Exercise.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exercise_detail", args=[exercise.pk])
    assert (exercise.shares, exercise.exercise_date) == (10_000, d("2007-05-01"))
    assert exercise.requested_by == grant.optionee.user
    assert Notice.objects.filter(kind="exercise", method="portal").count() == 1
    assert len(mail.outbox) == 1
    assert "received" in mail.outbox[0].subject


def test_submitting_twice_never_creates_two_exercises(signed_in, grant):
    url = reverse("exercise", args=[grant.number])
    key = signed_in.get(url).context["form"].initial["submission_key"]
    data = {"shares": "1000", "payment_method": "regt", "submission_key": key, "action": "submit"}
    first = signed_in.post(url, data)
    second = signed_in.post(url, data)  # double click / back button / second tab
    assert first["Location"] == second["Location"]
    assert Exercise.objects.count() == 1
    assert Notice.objects.count() == 1


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ("999", "The minimum exercise is 1,000 shares"),
        ("1.5", "whole shares only"),
        ("lots", "is not a number of shares"),
        ("600000", "Only 493,750 shares are exercisable"),
    ],
)
def test_a_refused_exercise_shows_the_rule_on_the_form_and_writes_nothing(
    signed_in, grant, shares, message
):
    url = reverse("exercise", args=[grant.number])
    data = {"shares": shares, "payment_method": "cash", "submission_key": "k", "action": "submit"}
    response = signed_in.post(url, data)
    assert response.status_code == 200
    assert message in page(response)
    assert not Exercise.objects.exists()
    assert not Notice.objects.exists()


def test_outside_business_hours_the_portal_says_when_the_notice_counts(client, akridge, grant):
    client.force_login(akridge)
    friday_evening = dt.datetime(2007, 5, 4, 18, 30, tzinfo=CHICAGO)
    with time_machine.travel(friday_evening, tick=False):
        html = page(client.get(reverse("exercise", args=[grant.number])))
    assert "counts from the next business day, <strong>Monday, May 7, 2007</strong>" in html


def test_on_the_last_day_after_hours_the_portal_warns_before_submitting(client, akridge, grant):
    grant.optionee.terminate(d("2007-04-20"), "other")  # last day Friday 2007-07-20
    client.force_login(akridge)
    last_day_evening = dt.datetime(2007, 7, 20, 17, 0, tzinfo=CHICAGO)
    with time_machine.travel(last_day_evening, tick=False):
        url = reverse("exercise", args=[grant.number])
        html = page(client.get(url))
        assert "Too late to exercise" in html
        assert "after the last day to exercise, July 20, 2007" in html
        response = client.post(
            url, {"shares": "1000", "payment_method": "cash", "submission_key": "k"}
        )
    assert "The option expired" in page(response)
    assert not Exercise.objects.exists()


def test_the_optionee_is_emailed_at_each_step(signed_in, grant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        exercise = grant.request_exercise(
            1_000, d("2007-05-01"), payment_method="check", by=grant.optionee.user
        )
        exercise.mark_paid(d("2007-05-01"))
        exercise.issue_shares(d("2007-05-01"))
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "Your notice of exercise was received: grant VLNC-2005-0001",
        "Payment received for your exercise: grant VLNC-2005-0001",
        "Your shares have been issued: grant VLNC-2005-0001",
    ]
    assert all(m.to == [grant.optionee.email] for m in mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        other = grant.request_exercise(2_000, d("2007-05-01"), payment_method="cash")
        other.cancel(d("2007-05-01"))
    assert mail.outbox[-1].subject.startswith("Your exercise was cancelled")


def test_exercise_list_and_detail_show_the_status(signed_in, grant):
    exercise = grant.request_exercise(1_000, d("2007-05-01"), payment_method="regt")
    html = page(signed_in.get(reverse("exercise_list")))
    assert "Awaiting payment" in html
    exercise.mark_paid(d("2007-05-01"))
    detail = page(signed_in.get(reverse("exercise_detail", args=[exercise.pk])))
    assert "Status: <strong>Paid</strong>" in detail


# --------------------------------------------------------------------------- notices


def test_notice_inbox_and_change_of_address(signed_in, grant):
    url = reverse("change_address")
    refused = signed_in.post(url, {"address": "just one line"})
    assert "separate lines" in page(refused)
    response = signed_in.post(url, {"address": "J. R. Akridge\n1 Main Street\nAustin, TX 78701"})
    assert response.status_code == 302
    notice = Notice.objects.get(kind="address_change")
    assert notice.effective_on == d("2007-05-01")
    assert grant.optionee.notice_address(d("2007-05-01")).startswith("J. R. Akridge")
    inbox = page(signed_in.get(reverse("notice_list")))
    assert "Change of notice address" in inbox
    assert "May 1, 2007" in inbox


# --------------------------------------------------------------------------- acknowledgement


def test_acknowledgement_is_reminded_until_done_and_records_who_when_which(signed_in, grant):
    html = page(signed_in.get(reverse("dashboard")))
    assert "Please read and acknowledge receipt" in html
    url = reverse("acknowledge", args=[grant.number])
    assert "This field is required" in page(signed_in.post(url, {"receipt": "on"}))
    assert not Acknowledgement.objects.exists()
    signed_in.post(url, {"receipt": "on", "entire_understanding": "on"})
    ack = Acknowledgement.objects.get()
    assert ack.user == grant.optionee.user
    assert ack.documents_version == grant.documents_version
    assert ack.acknowledged_at == TUESDAY_10AM
    assert "Please read and acknowledge" not in page(signed_in.get(reverse("dashboard")))


def test_new_documents_bring_the_reminder_back(signed_in, grant, akridge):
    other = GrantFactory(plan=grant.plan, optionee=grant.optionee)
    grant.acknowledge(akridge)
    other.acknowledge(akridge)
    assert "Please read and acknowledge" not in page(signed_in.get(reverse("dashboard")))
    Grant.objects.filter(pk=other.pk).update(documents_version="2")  # a new agreement
    html = page(signed_in.get(reverse("dashboard")))
    assert "Please read and acknowledge" in html
    waiting = Grant.objects.filter(optionee=grant.optionee).awaiting_acknowledgement()
    assert [g.number for g in waiting] == [other.number]
    assert [g.number for g in Grant.objects.all() if g.acknowledgement() is None] == [other.number]


# --------------------------------------------------------------------------- successors


def test_a_successor_sees_and_exercises_only_after_a_recorded_death(client, grant, at_10am):
    successor = SuccessorFactory(optionee=grant.optionee)
    client.force_login(successor.user)
    assert client.get(reverse("grant_detail", args=[grant.number])).status_code == 404
    grant.optionee.terminate(d("2007-04-25"), "death")
    assert client.get(reverse("grant_detail", args=[grant.number])).status_code == 200
    assert "recorded successor for James R. Akridge" in page(client.get(reverse("dashboard")))
    url = reverse("exercise", args=[grant.number])
    response = client.post(
        url,
        {"shares": "1000", "payment_method": "cash", "submission_key": "s", "action": "submit"},
    )
    assert response.status_code == 302
    assert Exercise.objects.get().successor == successor


# --------------------------------------------------------------------------- scoping


def test_every_portal_url_of_one_optionee_is_a_404_for_another(client, grant, akridge, at_10am):
    exercise = grant.request_exercise(1_000, d("2007-05-01"), payment_method="cash")
    own = [
        reverse("grant_detail", args=[grant.number]),
        reverse("agreement", args=[grant.number]),
        reverse("acknowledge", args=[grant.number]),
        reverse("exercise", args=[grant.number]),
        reverse("exercise_detail", args=[exercise.pk]),
        reverse("notice_detail", args=[exercise.notice.pk]),
    ]
    other = OptioneeFactory(company=grant.company, with_user=True)
    client.force_login(other.user)
    for url in own:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"shares": "1000", "payment_method": "cash"}).status_code == 404
    for url in [reverse("dashboard"), reverse("exercise_list"), reverse("notice_list")]:
        html = page(client.get(url))
        assert grant.number not in html
    assert Exercise.objects.count() == 1


def test_every_portal_page_needs_sign_in(client, grant):
    for url in [
        reverse("dashboard"),
        reverse("grant_detail", args=[grant.number]),
        reverse("exercise", args=[grant.number]),
        reverse("exercise_list"),
        reverse("notice_list"),
        reverse("change_address"),
        reverse("password_change"),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_change_of_address_submitted_twice_is_one_notice(signed_in, grant):
    data = {"address": "J. R. Akridge\n1 Main Street\nAustin, TX 78701"}
    signed_in.post(reverse("change_address"), data)
    signed_in.post(reverse("change_address"), data)  # a double click
    assert Notice.objects.filter(kind="address_change").count() == 1
    assert grant.optionee.notice_addresses.count() == 2  # the one at grant, and the new one
