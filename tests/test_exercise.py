"""Every acceptance and refusal rule of ``Grant.request_exercise`` (paragraphs 1–7).

Each refusal must raise a ValidationError with a stable code and a readable message, and
change nothing: ``changes_nothing`` compares row counts, histories and the grant's stored
fields before and after.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from grants.models import Exercise, Grant, Holiday, Notice, Successor
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
UTC = dt.UTC


def at(text: str, zone=CHICAGO) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


def refused(grant, code, *args, **kwargs) -> ValidationError:
    """Ask for an exercise that must be refused with ``code`` and change nothing."""
    kwargs.setdefault("payment_method", "cash")
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        grant.request_exercise(*args, **kwargs)
    assert exc.value.code == code, exc.value
    assert exc.value.messages[0].strip()
    return exc.value


# --------------------------------------------------------------------------- acceptance


def test_an_accepted_exercise_is_recorded_with_its_notice(grant):
    before = Notice.objects.count()
    exercise = grant.request_exercise(1_000, d("2005-08-01"), payment_method="cash")
    assert isinstance(exercise, Exercise)
    assert exercise.exercise_date == d("2005-08-01")
    assert exercise.shares == 1_000
    assert exercise.status == Exercise.Status.REQUESTED  # the price has not come with it
    assert exercise.requested_by is None
    assert Notice.objects.count() == before + 1
    notice = exercise.notice
    assert notice.kind == Notice.Kind.EXERCISE
    assert notice.direction == Notice.Direction.TO_COMPANY
    assert notice.grant == grant
    assert notice.received_on == d("2005-08-01")
    assert notice.effective_on == d("2005-08-01")
    assert notice.received_at is None
    assert grant.exercisable_shares(d("2005-08-01")) == 99_000


# --------------------------------------------------------------------------- paragraph 3


def test_minimum_999_refused_1000_accepted_with_more_to_vest(grant):
    error = refused(grant, "below_minimum", 999, d("2005-08-01"))
    assert "1,000" in str(error)
    exercise = grant.request_exercise(1_000, d("2005-08-01"), payment_method="cash")
    assert exercise.shares == 1_000


@pytest.mark.parametrize("shares", ["1.5", Decimal("1.5"), 1.5, "1000.5"])
def test_fractional_shares_are_refused(grant, shares):
    error = refused(grant, "fractional_shares", shares, d("2005-08-01"))
    assert "whole" in str(error)


@pytest.mark.parametrize(
    ("shares", "code"),
    [
        (0, "shares_not_positive"),
        (-1_000, "shares_not_positive"),
        ("-1000", "shares_not_positive"),
        ("abc", "shares_not_a_number"),
        ("", "shares_not_a_number"),
        (True, "shares_not_a_number"),
        ("NaN", "shares_not_a_number"),
    ],
)
def test_non_positive_and_non_numbers_are_refused(grant, shares, code):
    refused(grant, code, shares, d("2005-08-01"))


def test_whole_numbers_given_as_text_or_decimal_are_accepted(grant):
    assert grant.request_exercise("1,000", d("2005-08-01"), payment_method="cash").shares == 1_000
    assert (
        grant.request_exercise(Decimal("2000.00"), d("2005-08-01"), payment_method="cash").shares
        == 2_000
    )


def test_more_than_exercisable_is_refused(grant):
    error = refused(grant, "more_than_exercisable", 100_001, d("2005-08-01"))
    assert "100,000" in str(error)
    exercise = grant.request_exercise(100_000, d("2005-08-01"), payment_method="cash")
    assert exercise.shares == 100_000


def test_accepted_shares_are_reserved_even_before_payment(grant):
    grant.request_exercise(100_000, d("2005-08-01"), payment_method="regt")
    refused(grant, "nothing_exercisable", 1_000, d("2005-08-02"))
    refused(grant, "nothing_exercisable", 1_000, d("2006-07-12"))
    assert grant.request_exercise(1_000, d("2006-07-13"), payment_method="cash").shares == 1_000


def test_nothing_before_the_first_installment(grant):
    refused(grant, "nothing_exercisable", 1_000, d("2005-07-12"))


def test_the_final_exercise_after_termination_may_be_below_the_minimum(grant, optionee):
    optionee.terminate(d("2007-05-01"), "other")
    grant.request_exercise(493_250, d("2007-05-02"), payment_method="cash", payment_received=True)
    # 499 is below the minimum and not every remaining share: refused.
    refused(grant, "below_minimum", 499, d("2007-05-03"))
    final = grant.request_exercise(500, d("2007-05-03"), payment_method="check")
    assert final.shares == 500
    grant.refresh_from_db()
    assert grant.status == Grant.Status.GRANTED  # a request: made when the price arrives
    final.mark_paid(d("2007-05-04"))
    grant.refresh_from_db()
    assert grant.status == Grant.Status.EXERCISED
    refused(grant, "nothing_exercisable", 1, d("2007-05-04"))


def test_the_last_500_are_refused_while_more_can_still_vest(grant):
    grant.request_exercise(493_250, d("2007-05-01"), payment_method="cash")
    refused(grant, "below_minimum", 500, d("2007-05-02"))


def test_the_final_exercise_once_every_installment_has_vested(grant):
    grant.request_exercise(999_500, d("2009-07-13"), payment_method="cash")
    refused(grant, "below_minimum", 499, d("2009-07-14"))
    assert grant.request_exercise(500, d("2009-07-14"), payment_method="regt").shares == 500
    grant.refresh_from_db()
    assert grant.status == Grant.Status.GRANTED  # the cash request is not yet an exercise
    grant.exercises.get(shares=999_500).mark_paid(d("2009-07-15"))
    grant.refresh_from_db()
    assert grant.status == Grant.Status.EXERCISED


@pytest.fixture
def small_installment_grant(db):
    """15,000 shares: an installment of 500 at grant, then 9,500, then 500, then 4,500."""
    return GrantFactory(
        grant_date=d("2006-01-03"),
        shares=15_000,
        installments=[
            (d("2006-01-03"), 500),
            (d("2006-07-03"), 9_500),
            (d("2007-01-03"), 500),
            (d("2007-07-03"), 4_500),
        ],
    )


def test_an_installment_below_the_minimum_may_be_exercised_whole(small_installment_grant):
    grant = small_installment_grant
    refused(grant, "below_minimum", 499, d("2006-01-04"))  # not the whole installment
    assert grant.request_exercise(500, d("2006-01-04"), payment_method="cash").shares == 500
    # That installment is used up: the next 500 are charged to the 9,500 and refused.
    refused(grant, "below_minimum", 500, d("2006-07-05"))
    assert grant.request_exercise(1_000, d("2006-07-05"), payment_method="cash").shares == 1_000


def test_a_later_small_installment_excuses_one_exercise_of_itself(small_installment_grant):
    grant = small_installment_grant
    first = grant.request_exercise(500, d("2007-01-04"), payment_method="cash")
    assert first.installment.vest_date == d("2006-01-03")  # the first 500, taken whole
    # Exception 3(a) names no order: the 500 of 2007-01-03 may be taken whole while the
    # 9,500 still has shares left, charged to its own installment, once.
    later = grant.request_exercise(500, d("2007-01-04"), payment_method="cash")
    assert later.installment.vest_date == d("2007-01-03")
    refused(grant, "below_minimum", 500, d("2007-01-04"))
    grant.request_exercise(9_500, d("2007-01-04"), payment_method="cash")
    refused(grant, "nothing_exercisable", 500, d("2007-01-08"))


def test_an_unvested_small_installment_excuses_nothing(small_installment_grant):
    grant = small_installment_grant
    grant.request_exercise(10_000, d("2006-07-05"), payment_method="cash")
    refused(grant, "nothing_exercisable", 500, d("2006-12-29"))
    assert grant.request_exercise(500, d("2007-01-03"), payment_method="cash").shares == 500


# --------------------------------------------------------------------------- paragraph 5


def test_the_last_day_of_the_term_is_accepted_and_the_next_day_refused(grant):
    assert grant.expiration_date() == d("2015-07-13")
    error = refused(grant, "expired", 1_000, d("2015-07-14"))
    assert "2015-07-13" in str(error)
    exercise = grant.request_exercise(1_000, d("2015-07-13"), payment_method="cash")
    assert exercise.exercise_date == d("2015-07-13")


def test_the_last_day_runs_to_the_end_of_business_hours(grant):
    refused(grant, "expired", 1_000, at("2015-07-13T17:00:00"))
    refused(grant, "expired", 1_000, at("2015-07-13T22:00:00", UTC))  # 17:00 CDT
    exercise = grant.request_exercise(1_000, at("2015-07-13T16:59:59"), payment_method="cash")
    assert exercise.exercise_date == d("2015-07-13")


def test_after_termination_the_three_month_window_closes(grant, optionee):
    optionee.terminate(d("2007-05-01"), "other")
    error = refused(grant, "expired", 1_000, d("2007-08-02"))
    assert "window" in str(error)
    assert grant.request_exercise(1_000, d("2007-08-01"), payment_method="cash").shares == 1_000


def test_a_grant_marked_expired_is_refused(grant):
    Grant.objects.filter(pk=grant.pk).update(status=Grant.Status.EXPIRED)
    refused(grant, "expired", 1_000, d("2007-05-01"))


# --------------------------------------------------------------------------- paragraphs 4, 7


def test_no_exercise_on_a_day_of_registration_suspension(grant, company):
    company.suspend_registration(d("2007-05-01"), d("2007-05-31"))
    refused(grant, "registration_suspended", 1_000, d("2007-05-01"))
    error = refused(grant, "registration_suspended", 1_000, d("2007-05-31"))
    assert "2007-05-31" in str(error)
    assert grant.request_exercise(1_000, d("2007-04-30"), payment_method="cash").shares == 1_000
    assert grant.request_exercise(1_000, d("2007-06-01"), payment_method="cash").shares == 1_000


def test_no_exercise_while_an_open_ended_suspension_lasts(grant, company):
    suspension = company.suspend_registration(d("2007-05-01"))
    error = refused(grant, "registration_suspended", 1_000, d("2008-03-03"))
    assert "until further notice" in str(error)
    suspension.end_on(d("2007-05-31"))
    assert grant.request_exercise(1_000, d("2008-03-03"), payment_method="cash").shares == 1_000


def test_a_notice_deemed_received_inside_a_suspension_is_refused(grant, company):
    company.suspend_registration(d("2007-05-07"), d("2007-05-07"))
    # Friday evening counts from Monday 2007-05-07, a suspended day.
    refused(grant, "registration_suspended", 1_000, at("2007-05-04T18:00:00"))


# --------------------------------------------------------------------------- paragraph 6a


@pytest.mark.parametrize(
    ("received", "exercise_date"),
    [
        (at("2007-05-01T09:00:00"), "2007-05-01"),
        (at("2007-05-01T08:30:00"), "2007-05-01"),  # before opening: that day's business hours
        (at("2007-05-01T16:59:59"), "2007-05-01"),
        (at("2007-05-01T17:00:00"), "2007-05-02"),  # closing time counts from the next day
        (at("2007-05-01T23:59:59"), "2007-05-02"),
        (at("2007-05-04T16:30:00"), "2007-05-04"),  # Friday afternoon
        (at("2007-05-04T17:00:00"), "2007-05-07"),  # Friday at closing: Monday
        (at("2007-05-04T19:45:00"), "2007-05-07"),  # Friday evening: Monday
        (at("2007-05-05T10:00:00"), "2007-05-07"),  # Saturday: Monday
        (at("2007-05-06T23:00:00"), "2007-05-07"),  # Sunday night: Monday
        (at("2007-05-01T21:59:59", UTC), "2007-05-01"),  # 16:59:59 CDT
        (at("2007-05-01T22:00:00", UTC), "2007-05-02"),  # 17:00:00 CDT
        (at("2008-01-15T22:59:59", UTC), "2008-01-15"),  # 16:59:59 CST
        (at("2008-01-15T23:00:00", UTC), "2008-01-16"),  # 17:00:00 CST
        (at("2007-05-02T06:00:00", ZoneInfo("Asia/Tokyo")), "2007-05-01"),  # 16:00 CDT
        (d("2007-05-01"), "2007-05-01"),  # a date alone: business hours that day
        (d("2007-05-05"), "2007-05-07"),  # a Saturday date: the next business day
    ],
)
def test_deemed_receipt_in_business_hours(grant, received, exercise_date):
    exercise = grant.request_exercise(1_000, received, payment_method="cash")
    assert exercise.exercise_date == d(exercise_date)
    assert exercise.notice.received_on == d(exercise_date)
    if isinstance(received, dt.datetime):
        assert exercise.notice_received_at == received
        assert exercise.notice.received_at == received
    else:
        assert exercise.notice_received_at is None


@pytest.mark.parametrize(
    ("received", "exercise_date"),
    [
        (at("2007-05-25T16:59:59"), "2007-05-25"),
        (at("2007-05-25T17:00:00"), "2007-05-29"),  # Friday before Memorial Day: Tuesday
        (at("2007-05-28T10:00:00"), "2007-05-29"),  # on the holiday, in office hours
        (d("2007-05-28"), "2007-05-29"),
    ],
)
def test_a_company_holiday_is_not_a_business_day(grant, company, received, exercise_date):
    Holiday.objects.create(company=company, date=d("2007-05-28"), name="Memorial Day")
    exercise = grant.request_exercise(1_000, received, payment_method="cash")
    assert exercise.exercise_date == d(exercise_date)


def test_a_holiday_of_another_company_does_not_count(grant):
    other = PlanFactory().company
    Holiday.objects.create(company=other, date=d("2007-05-29"), name="Founders' Day")
    exercise = grant.request_exercise(1_000, d("2007-05-29"), payment_method="cash")
    assert exercise.exercise_date == d("2007-05-29")


def test_a_time_without_a_time_zone_is_refused(grant):
    error = refused(grant, "naive_datetime", 1_000, dt.datetime(2007, 5, 1, 10, 0))
    assert "time zone" in str(error)


@pytest.mark.parametrize("received", ["2007-05-01", None, 20070501])
def test_the_receipt_must_be_a_date_or_datetime(grant, received):
    refused(grant, "bad_date", 1_000, received)


# --------------------------------------------------------------------------- paragraph 7


def test_while_the_optionee_lives_only_the_optionee_exercises(grant, optionee):
    optionee.user = UserFactory()
    optionee.save()
    stranger = UserFactory()
    error = refused(grant, "not_optionee", 1_000, d("2007-05-01"), by=stranger)
    assert "not transferable" in str(error)
    # A successor recorded too early has no right while the optionee lives.
    heir = SuccessorFactory(optionee=optionee)
    refused(grant, "not_optionee", 1_000, d("2007-05-01"), by=heir.user)

    exercise = grant.request_exercise(
        1_000, d("2007-05-01"), payment_method="cash", by=optionee.user
    )
    assert exercise.requested_by == optionee.user
    assert exercise.successor is None
    assert exercise.notice.method == Notice.Method.PORTAL
    # An administrator recording a paper notice acts for the optionee.
    paper = grant.request_exercise(1_000, d("2007-05-01"), payment_method="check", by=None)
    assert paper.requested_by is None
    assert paper.notice.method == Notice.Method.PERSONAL


def test_an_optionee_without_an_account_cannot_be_impersonated(grant):
    refused(grant, "not_optionee", 1_000, d("2007-05-01"), by=UserFactory())


def test_another_optionees_user_cannot_exercise(grant, company):
    colleague = OptioneeFactory(company=company, with_user=True)
    refused(grant, "not_optionee", 1_000, d("2007-05-01"), by=colleague.user)


def test_after_death_only_a_recorded_successor(grant, optionee):
    optionee.user = UserFactory()
    optionee.save()
    optionee.terminate(d("2008-01-31"), "death")
    stranger = UserFactory()
    refused(grant, "not_successor", 1_000, d("2008-03-03"), by=stranger)
    # The deceased optionee's own account is no longer entitled.
    error = refused(grant, "not_successor", 1_000, d("2008-03-03"), by=optionee.user)
    assert "successor" in str(error)
    # A successor of someone else is not this optionee's successor.
    other = SuccessorFactory(optionee=OptioneeFactory(company=optionee.company))
    refused(grant, "not_successor", 1_000, d("2008-03-03"), by=other.user)

    estate = SuccessorFactory(optionee=optionee, document=Successor.Document.WILL)
    exercise = grant.request_exercise(1_000, d("2008-03-03"), payment_method="cash", by=estate.user)
    assert exercise.successor == estate
    assert exercise.requested_by == estate.user
    # An administrator records the estate's paper notice, naming who delivered it...
    paper = grant.request_exercise(
        1_000, d("2008-03-04"), payment_method="cash", delivered_by=estate
    )
    assert paper.successor == estate
    # ...but not one said to come from the late optionee, nor from another's successor.
    refused(grant, "not_successor", 1_000, d("2008-03-04"))
    refused(grant, "not_successor", 1_000, d("2008-03-04"), delivered_by=other)


def test_a_successor_exercises_only_what_vested_at_death_within_the_window(grant, optionee):
    optionee.terminate(d("2008-01-31"), "death")
    heir = SuccessorFactory(optionee=optionee, document=Successor.Document.DESCENT)
    assert grant.exercisable_shares(d("2009-07-31")) == 662_500
    refused(grant, "more_than_exercisable", 662_501, d("2009-07-31"), by=heir.user)
    refused(grant, "expired", 1_000, d("2009-08-03"), by=heir.user)
    exercise = grant.request_exercise(662_500, d("2009-07-31"), payment_method="regt", by=heir.user)
    assert exercise.exercise_date == d("2009-07-31")


# --------------------------------------------------------------------------- paragraph 2


def test_aggregate_price_is_an_exact_decimal(grant):
    exercise = grant.request_exercise(1_000, d("2007-05-01"), payment_method="cash")
    exercise.refresh_from_db()
    assert exercise.price_per_share == Decimal("2.99")
    assert exercise.aggregate_price == Decimal("2990.00")
    assert isinstance(exercise.aggregate_price, Decimal)
    assert str(exercise.aggregate_price) == "2990.00"
    odd = grant.request_exercise(1_234, d("2007-05-01"), payment_method="check")
    odd.refresh_from_db()
    assert odd.aggregate_price == Decimal("3689.66")


def test_the_price_is_a_snapshot_taken_at_exercise(grant):
    exercise = grant.request_exercise(1_000, d("2007-05-01"), payment_method="cash")
    grant.exercise_price = Decimal("5.00")
    grant.save(update_fields=["exercise_price"])
    exercise.refresh_from_db()
    assert exercise.price_per_share == Decimal("2.99")
    assert exercise.aggregate_price == Decimal("2990.00")
    later = grant.request_exercise(1_000, d("2007-05-02"), payment_method="cash")
    later.refresh_from_db()
    assert later.price_per_share == Decimal("5.00")
    assert later.aggregate_price == Decimal("5000.00")


def test_an_unknown_payment_method_is_refused(grant):
    error = refused(grant, "bad_payment_method", 1_000, d("2007-05-01"), payment_method="bitcoin")
    assert "regt" in str(error)


@pytest.mark.parametrize("method", ["cash", "check", "regt"])
def test_each_payment_method_is_accepted(grant, method):
    exercise = grant.request_exercise(1_000, d("2007-05-01"), payment_method=method)
    assert exercise.payment_method == method
    # Cash and check without the price: a pending request; Regulation T: made by the notice.
    assert exercise.status == (
        Exercise.Status.AWAITING_PAYMENT if method == "regt" else Exercise.Status.REQUESTED
    )


def test_issue_is_refused_before_payment(grant):
    exercise = grant.request_exercise(1_000, d("2007-05-01"), payment_method="regt")
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        exercise.issue_shares(d("2007-05-02"))
    assert exc.value.code == "not_paid"
    assert "payment" in str(exc.value)

    exercise.mark_paid(d("2007-05-04"))
    assert exercise.status == Exercise.Status.PAID
    assert exercise.payment_received_on == d("2007-05-04")
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        exercise.issue_shares(d("2007-05-03"))
    assert exc.value.code == "issue_before_payment"
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        exercise.mark_paid(d("2007-05-05"))
    assert exc.value.code == "not_awaiting_payment"

    exercise.issue_shares(d("2007-05-04"))
    assert exercise.status == Exercise.Status.ISSUED
    assert exercise.shares_issued_on == d("2007-05-04")


def test_payment_received_with_the_notice(grant):
    exercise = grant.request_exercise(
        1_000, d("2007-05-01"), payment_method="check", payment_received=True
    )
    assert exercise.status == Exercise.Status.PAID
    assert exercise.payment_received_on == d("2007-05-01")
    exercise.issue_shares(d("2007-05-01"))
    assert exercise.status == Exercise.Status.ISSUED


def test_a_cancelled_exercise_cannot_be_paid_or_issued(grant):
    exercise = grant.request_exercise(1_000, d("2007-05-01"), payment_method="cash")
    exercise.cancel(d("2007-05-02"))
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        exercise.mark_paid(d("2007-05-03"))
    assert exc.value.code == "not_awaiting_payment"
    with changes_nothing(grant), pytest.raises(ValidationError) as exc:
        exercise.issue_shares(d("2007-05-03"))
    assert exc.value.code == "not_paid"


def test_exercise_verbs_take_dates(grant):
    exercise = grant.request_exercise(1_000, d("2007-05-01"), payment_method="cash")
    for verb in (exercise.mark_paid, exercise.issue_shares, exercise.cancel):
        with changes_nothing(grant), pytest.raises(ValidationError) as exc:
            verb("2007-05-02")
        assert exc.value.code == "bad_date"
