"""The back office's exercise screens, end to end through the admin as a stock administrator.

A paper or e-mailed notice of exercise is recorded with ``Grant.request_exercise``; the
preview shows what ``Grant.preview_exercise`` computes; a refusal shows the rule's own
message and writes nothing (``changes_nothing`` compares row counts, histories and the
grant's stored fields). Payment, issue and cancellation call the ``Exercise`` verbs.
"""

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from grants.models import ClosingPrice, Exercise, Notice, WithholdingRate
from grants.roles import AUDITOR, STOCK_ADMINISTRATOR, assign_role
from tests.conftest import d
from tests.factories import (
    GrantFactory,
    OptioneeFactory,
    PlanFactory,
    SuccessorFactory,
    UserFactory,
    changes_nothing,
)

CHICAGO = ZoneInfo("America/Chicago")
RECORD_URL = reverse("admin:grants_exercise_add")
CHANGELIST_URL = reverse("admin:grants_exercise_changelist")


@pytest.fixture
def staff(db):
    return UserFactory(username="stockadmin", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, grant, staff):
    client.force_login(staff)
    return client


def notice(grant, button="record", **fields):
    """The record-exercise form as the administrator fills it in."""
    data = {
        "grant": grant.pk,
        "received_on": "2005-08-01",
        "received_time": "",
        "shares": "1000",
        "payment_method": "cash",
        "notice_method": "personal",
        "delivered_by": "",
        "submission_key": uuid.uuid4().hex,
        button: "1",
    }
    data.update(fields)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def rule_message(grant, shares, at) -> str:
    """What the rules engine says about this exercise, to compare with the screen."""
    with pytest.raises(ValidationError) as refused:
        grant.preview_exercise(shares, at, payment_method="cash")
    return refused.value.messages[0]


def record(admin_client, grant, **fields) -> Exercise:
    response = admin_client.post(RECORD_URL, notice(grant, **fields))
    exercise = Exercise.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:grants_exercise_change", args=[exercise.pk])
    return exercise


# --------------------------------------------------------------------------- the screen


def test_add_on_the_changelist_opens_the_record_screen(admin_client, grant):
    changelist = admin_client.get(CHANGELIST_URL)
    assert RECORD_URL in changelist.content.decode()
    page = admin_client.get(RECORD_URL, {"grant": grant.pk})
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="record"' in content
    assert 'name="preview"' in content
    assert "VLNC-2005-0001 — James R. Akridge" in content
    assert page.context["form"]["grant"].value() == str(grant.pk)


# --------------------------------------------------------------------------- accepted


def test_a_notice_with_a_date_alone_counts_on_that_business_day(admin_client, grant):
    exercise = record(admin_client, grant, received_on="2005-08-01", shares="1,000")
    assert exercise.exercise_date == d("2005-08-01")
    assert exercise.notice_received_at is None
    assert exercise.shares == 1_000
    assert exercise.aggregate_price == Decimal("2990.00")
    assert exercise.status == Exercise.Status.REQUESTED  # cash without the price: a request
    assert exercise.requested_by is None
    assert exercise.notice.method == Notice.Method.PERSONAL
    assert exercise.notice.kind == Notice.Kind.EXERCISE


def test_a_notice_dated_a_saturday_counts_from_monday(admin_client, grant):
    exercise = record(admin_client, grant, received_on="2005-07-16")
    assert exercise.exercise_date == d("2005-07-18")


def test_a_notice_with_a_time_is_read_in_the_company_time_zone(admin_client, grant):
    exercise = record(admin_client, grant, received_on="2005-08-01", received_time="16:59")
    assert exercise.exercise_date == d("2005-08-01")
    assert exercise.notice_received_at == dt.datetime(2005, 8, 1, 16, 59, tzinfo=CHICAGO)


def test_a_notice_at_or_after_five_counts_from_the_next_business_day(admin_client, grant):
    friday_five = record(admin_client, grant, received_on="2005-08-05", received_time="17:00")
    assert friday_five.exercise_date == d("2005-08-08")
    assert friday_five.notice_received_at == dt.datetime(2005, 8, 5, 17, 0, tzinfo=CHICAGO)


def test_a_notice_in_the_evening_counts_from_the_next_day(admin_client, grant):
    exercise = record(admin_client, grant, received_on="2005-08-01", received_time="18:30")
    assert exercise.exercise_date == d("2005-08-02")


def test_payment_received_and_the_notice_method_are_recorded(admin_client, grant):
    exercise = record(
        admin_client,
        grant,
        received_on="2005-08-01",
        payment_received="on",
        payment_method="check",
        notice_method="email",
    )
    assert exercise.status == Exercise.Status.PAID
    assert exercise.payment_received_on == d("2005-08-01")
    assert exercise.payment_method == Exercise.PaymentMethod.CHECK
    assert exercise.notice.method == Notice.Method.EMAIL


def test_a_success_message_names_the_exercise_date_and_price(admin_client, grant):
    response = admin_client.post(RECORD_URL, notice(grant, payment_received="on"), follow=True)
    assert (
        "Exercise of 1,000 shares of VLNC-2005-0001 recorded: exercise date 2005-08-01, "
        "aggregate price $2,990.00." in messages_of(response)
    )


def test_a_notice_without_its_price_is_recorded_as_a_pending_request(admin_client, grant):
    response = admin_client.post(RECORD_URL, notice(grant), follow=True)
    [said] = messages_of(response)
    assert said.startswith(
        "Notice of exercise of 1,000 shares of VLNC-2005-0001 recorded as a pending request, "
        "counting from 2005-08-01: the shares are reserved"
    )


def test_submitting_the_same_form_twice_records_one_exercise(admin_client, grant):
    data = notice(grant, submission_key="double-click")
    admin_client.post(RECORD_URL, data)
    admin_client.post(RECORD_URL, data)
    assert Exercise.objects.count() == 1


def test_a_recorded_successor_delivers_after_death(admin_client, grant):
    optionee = grant.optionee
    estate = SuccessorFactory(optionee=optionee, name="Estate of James R. Akridge")
    optionee.terminate(d("2008-01-31"), "death")
    exercise = record(admin_client, grant, received_on="2008-03-03", delivered_by=str(estate.pk))
    assert exercise.successor == estate
    assert exercise.requested_by is None  # an administrator recorded the paper notice


def test_after_death_a_paper_notice_from_the_optionee_is_refused(admin_client, grant):
    grant.optionee.terminate(d("2008-01-31"), "death")
    with changes_nothing(grant):
        response = admin_client.post(RECORD_URL, notice(grant, received_on="2008-03-03"))
    assert "only by the estate or an heir" in response.content.decode()


def test_while_the_optionee_lives_a_successor_cannot_deliver(admin_client, grant):
    estate = SuccessorFactory(optionee=grant.optionee)
    with changes_nothing(grant):
        response = admin_client.post(RECORD_URL, notice(grant, delivered_by=str(estate.pk)))
    assert "during the optionee" in response.content.decode()


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("shares", "received_on", "setup"),
    [
        pytest.param("999", "2005-08-01", None, id="below-minimum"),
        pytest.param("100001", "2005-08-01", None, id="more-than-exercisable"),
        pytest.param("1000", "2015-07-14", None, id="after-expiration"),
        pytest.param("1000", "2006-02-15", "suspend", id="suspended-day"),
        pytest.param("1000.5", "2005-08-01", None, id="fraction"),
    ],
)
@pytest.mark.parametrize("button", ["record", "preview"])
def test_a_refused_exercise_shows_the_rule_and_writes_nothing(
    admin_client, grant, shares, received_on, setup, button
):
    if setup == "suspend":
        grant.company.suspend_registration(d("2006-02-01"), d("2006-02-28"))
    expected = rule_message(grant, shares, d(received_on))
    exercises, notices = Exercise.objects.count(), Notice.objects.count()
    with changes_nothing(grant):
        response = admin_client.post(
            RECORD_URL, notice(grant, button, shares=shares, received_on=received_on)
        )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [expected]
    assert expected in response.content.decode().replace("&#x27;", "'")
    assert (Exercise.objects.count(), Notice.objects.count()) == (exercises, notices)
    assert response.context["preview"] is None


def test_a_successor_cannot_exercise_while_the_optionee_lives(admin_client, grant):
    heir = SuccessorFactory(optionee=grant.optionee)
    with changes_nothing(grant):
        response = admin_client.post(RECORD_URL, notice(grant, delivered_by=str(heir.pk)))
    [error] = response.context["form"].non_field_errors()
    assert "only the optionee may exercise" in error


def test_a_successor_of_someone_else_is_refused_on_the_form(admin_client, grant):
    stranger = SuccessorFactory(optionee=OptioneeFactory(company=grant.company))
    with changes_nothing(grant):
        response = admin_client.post(RECORD_URL, notice(grant, delivered_by=str(stranger.pk)))
    assert response.context["form"].errors["delivered_by"] == [
        f"{stranger.name} is not a recorded successor of James R. Akridge."
    ]


# --------------------------------------------------------------------------- preview


@pytest.fixture
def priced(grant):
    ClosingPrice.objects.create(company=grant.company, date=d("2007-04-30"), price=Decimal("4.10"))
    WithholdingRate.objects.create(company=grant.company, name="Federal", rate=Decimal("0.22"))
    WithholdingRate.objects.create(company=grant.company, name="Medicare", rate=Decimal("0.0145"))
    return grant


def test_preview_shows_price_value_spread_and_withholding_without_saving(admin_client, priced):
    with changes_nothing(priced):
        response = admin_client.post(
            RECORD_URL, notice(priced, "preview", shares="10000", received_on="2007-05-01")
        )
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.exercise_date == d("2007-05-01")
    html = response.content.decode()
    for shown in [
        "Exercise date (deemed receipt)</th><td>2007-05-01",
        "Aggregate price</th><td>$29,900.00",
        "$4.10 per share (closing price of 2007-04-30)",
        "Taxable spread</th><td>$11,100.00",
        "Withholding: Federal</th><td>$2,442.00",
        "Withholding: Medicare</th><td>$160.95",
        "Withholding estimate, total</th><td>$2,602.95",
    ]:
        assert shown in html, shown
    assert not Exercise.objects.exists()


def test_preview_gives_the_deemed_receipt_of_an_evening_notice(admin_client, priced):
    response = admin_client.post(
        RECORD_URL,
        notice(priced, "preview", received_on="2007-05-04", received_time="17:15"),
    )
    assert response.context["preview"].exercise_date == d("2007-05-07")
    assert "Exercise date (deemed receipt)</th><td>2007-05-07" in response.content.decode()


def test_preview_without_a_closing_price_says_there_is_no_tax_estimate(admin_client, grant):
    response = admin_client.post(RECORD_URL, notice(grant, "preview"))
    assert "No closing price is recorded on or before 2005-08-01" in response.content.decode()


# --------------------------------------------------------------------------- actions


def action(admin_client, name, exercises, on=""):
    return admin_client.post(
        CHANGELIST_URL,
        {"action": name, "_selected_action": [e.pk for e in exercises], "on": on},
        follow=True,
    )


@pytest.fixture
def pending(grant):
    return grant.request_exercise(10_000, d("2005-08-01"), payment_method="regt")


def test_mark_payment_received_from_the_changelist(admin_client, pending):
    response = action(admin_client, "mark_paid", [pending], on="2005-08-04")
    pending.refresh_from_db()
    assert pending.status == Exercise.Status.PAID
    assert pending.payment_received_on == d("2005-08-04")
    assert "Payment recorded: 1 exercise." in messages_of(response)


def test_issue_is_refused_before_payment_with_the_rule_message(admin_client, grant, pending):
    with changes_nothing(grant):
        response = action(admin_client, "issue_shares", [pending], on="2005-08-04")
    assert messages_of(response) == [
        "VLNC-2005-0001: 10,000 shares on 2005-08-01: Shares are issued only after the "
        "company has received the full exercise price; record the payment first."
    ]


def test_issue_after_payment(admin_client, pending):
    action(admin_client, "mark_paid", [pending], on="2005-08-04")
    response = action(admin_client, "issue_shares", [pending], on="2005-08-05")
    pending.refresh_from_db()
    assert pending.status == Exercise.Status.ISSUED
    assert pending.shares_issued_on == d("2005-08-05")
    assert "Shares issued: 1 exercise." in messages_of(response)


def test_cancel_returns_the_shares(admin_client, grant, pending):
    assert grant.exercisable_shares(d("2005-08-02")) == 90_000
    response = action(admin_client, "cancel", [pending], on="2005-08-02")
    pending.refresh_from_db()
    assert pending.status == Exercise.Status.CANCELLED
    assert pending.cancelled_on == d("2005-08-02")
    assert grant.exercisable_shares(d("2005-08-02")) == 100_000
    assert "Cancelled: 1 exercise." in messages_of(response)


def test_each_row_reports_its_own_failure_and_successes_are_counted(admin_client, grant):
    first = grant.request_exercise(1_000, d("2005-08-01"), payment_method="cash")
    second = grant.request_exercise(1_000, d("2005-08-02"), payment_method="cash")
    third = grant.request_exercise(1_000, d("2005-08-03"), payment_method="cash")
    action(admin_client, "mark_paid", [second], on="2005-08-03")
    response = action(admin_client, "mark_paid", [first, second, third], on="2005-08-04")
    assert messages_of(response) == [
        # The second was made when its price came, on 2005-08-03 (notice on 2005-08-02).
        "VLNC-2005-0001: 1,000 shares on 2005-08-03: This exercise is paid, not awaiting payment.",
        "Payment recorded: 2 exercises.",
    ]
    second.refresh_from_db()
    assert second.payment_received_on == d("2005-08-03")


def test_an_action_without_a_date_uses_the_company_today(admin_client, grant, pending):
    action(admin_client, "mark_paid", [pending])
    pending.refresh_from_db()
    assert pending.payment_received_on == grant.company.today()


def test_the_exercise_page_has_buttons_that_call_the_verbs(admin_client, grant, pending):
    page = admin_client.get(reverse("admin:grants_exercise_change", args=[pending.pk]))
    html = page.content.decode()
    for verb in ["mark-paid", "issue-shares", "cancel"]:
        assert f"/admin/grants/exercise/{pending.pk}/{verb}/" in html

    refused = admin_client.post(
        reverse("admin:grants_exercise_issue_shares", args=[pending.pk]),
        {"on": "2005-08-04"},
        follow=True,
    )
    assert "record the payment first" in messages_of(refused)[0]
    admin_client.post(
        reverse("admin:grants_exercise_mark_paid", args=[pending.pk]), {"on": "2005-08-04"}
    )
    done = admin_client.post(
        reverse("admin:grants_exercise_issue_shares", args=[pending.pk]),
        {"on": "2005-08-05"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == reverse("admin:grants_exercise_change", args=[pending.pk])
    pending.refresh_from_db()
    assert (pending.status, pending.shares_issued_on) == (Exercise.Status.ISSUED, d("2005-08-05"))
    assert "Shares issued: 1 exercise." in messages_of(done)
    issued_page = admin_client.get(reverse("admin:grants_exercise_change", args=[pending.pk]))
    assert 'id="exercise-verbs"' not in issued_page.content.decode()


def test_the_verb_buttons_only_accept_post(admin_client, pending):
    url = reverse("admin:grants_exercise_cancel", args=[pending.pk])
    assert admin_client.get(url).status_code == 405
    pending.refresh_from_db()
    assert pending.status == Exercise.Status.AWAITING_PAYMENT


def test_exercise_rows_are_not_editable_by_hand(admin_client, grant, pending):
    url = reverse("admin:grants_exercise_change", args=[pending.pk])
    assert 'name="_save"' not in admin_client.get(url).content.decode()
    with changes_nothing(grant):
        assert admin_client.post(url, {"shares": "1"}).status_code == 403
        delete = reverse("admin:grants_exercise_delete", args=[pending.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403


# --------------------------------------------------------------------------- changelist


def test_changelist_columns_filters_and_search(admin_client, grant):
    paid = grant.request_exercise(1_000, d("2005-08-01"), payment_method="cash")
    paid.mark_paid(d("2005-08-02"))
    grant.request_exercise(2_000, d("2005-08-03"), payment_method="regt")
    plan = PlanFactory()
    other = GrantFactory(
        plan=plan, optionee=OptioneeFactory(company=plan.company, legal_name="Zelda Quist")
    )
    other.request_exercise(3_000, d("2006-01-04"), payment_method="check")

    page = admin_client.get(CHANGELIST_URL)
    html = page.content.decode()
    for shown in ["James R. Akridge", "Zelda Quist", "$2,990.00", "2,000", "Awaiting payment"]:
        assert shown in html
    shares = lambda response: sorted(e.shares for e in response.context["cl"].result_list)  # noqa: E731
    assert shares(admin_client.get(CHANGELIST_URL, {"awaiting_payment": "yes"})) == [2_000, 3_000]
    assert shares(admin_client.get(CHANGELIST_URL, {"awaiting_issuance": "yes"})) == [1_000]
    assert shares(admin_client.get(CHANGELIST_URL, {"payment_method__exact": "regt"})) == [2_000]
    assert shares(admin_client.get(CHANGELIST_URL, {"status__exact": "paid"})) == [1_000]
    assert shares(admin_client.get(CHANGELIST_URL, {"q": "quist"})) == [3_000]
    assert shares(admin_client.get(CHANGELIST_URL, {"q": "VLNC-2005"})) == [1_000, 2_000]


def _book_of_exercises(count: int) -> None:
    plan = PlanFactory()
    for _ in range(count):
        grant = GrantFactory(plan=plan)
        grant.request_exercise(1_000, d("2006-01-04"), payment_method="cash")


def test_changelist_queries_do_not_grow_with_the_rows(admin_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(CHANGELIST_URL).status_code == 200
        return len(captured)

    _book_of_exercises(2)
    few = queries()
    _book_of_exercises(12)
    assert Exercise.objects.count() == 14
    assert queries() == few


# --------------------------------------------------------------------------- permissions


def test_who_may_only_view_cannot_record_or_act(client, grant, pending):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_exercise"))
    client.force_login(viewer)
    assert client.get(CHANGELIST_URL).status_code == 200
    assert client.get(RECORD_URL).status_code == 403
    with changes_nothing(grant):
        assert client.post(RECORD_URL, notice(grant)).status_code == 403
        client.post(CHANGELIST_URL, {"action": "mark_paid", "_selected_action": [pending.pk]})
        url = reverse("admin:grants_exercise_mark_paid", args=[pending.pk])
        assert client.post(url, {"on": "2005-08-04"}).status_code == 403
    page = client.get(reverse("admin:grants_exercise_change", args=[pending.pk]))
    assert 'id="exercise-verbs"' not in page.content.decode()


def test_the_stock_administrator_records_and_acts_and_the_auditor_cannot(client, grant):
    administrator, auditor = UserFactory(), UserFactory()
    assign_role(administrator, STOCK_ADMINISTRATOR)
    assign_role(auditor, AUDITOR)
    client.force_login(auditor)
    with changes_nothing(grant):
        assert client.post(RECORD_URL, notice(grant)).status_code == 403
    client.force_login(administrator)
    exercise = record(client, grant)
    url = reverse("admin:grants_exercise_mark_paid", args=[exercise.pk])
    client.force_login(auditor)
    assert client.post(url, {"on": "2005-08-02"}).status_code == 403
    client.force_login(administrator)
    client.post(url, {"on": "2005-08-02"})
    exercise.refresh_from_db()
    assert exercise.status == Exercise.Status.PAID
