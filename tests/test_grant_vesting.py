"""Vesting and exercisable shares of the seed grant, through the model API (paragraphs 1, 4, 5c).

Seed schedule: 100,000 on 2005-07-13; 225,000 on 2006-07-13; 56,250 on the 13th of every
third month from 2006-10-13 to 2009-07-13.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from grants.models import Exercise, Grant
from tests.conftest import d


@pytest.mark.parametrize(
    ("on", "vested"),
    [
        ("2005-07-12", 0),  # the day before the grant
        ("2005-07-13", 100_000),  # on the vesting date itself it counts
        ("2006-07-12", 100_000),
        ("2006-07-13", 325_000),
        ("2006-10-12", 325_000),
        ("2006-10-13", 381_250),
        ("2007-05-01", 493_750),  # DOMAIN.md's example
        ("2009-04-13", 943_750),
        ("2009-07-12", 943_750),
        ("2009-07-13", 1_000_000),
        ("2015-07-13", 1_000_000),
        ("2020-01-01", 1_000_000),  # vesting is not expiry: vested shares stay vested
    ],
)
def test_vested_shares_follow_the_schedule(grant, on, vested):
    assert grant.vested_shares(d(on)) == vested


def test_the_seed_grant_is_what_the_agreement_says(grant):
    grant = Grant.objects.get(number="VLNC-2005-0001")
    assert grant.optionee.legal_name == "James R. Akridge"
    assert grant.company.name == "Valence Technology, Inc."
    assert grant.optionee.user is None
    assert grant.shares == 1_000_000
    assert grant.grant_date == d("2005-07-13")
    assert grant.term_end == d("2015-07-13")
    assert grant.installments.count() == 14
    assert sum(grant.installments.values_list("shares", flat=True)) == 1_000_000
    assert grant.expires_on == d("2015-07-13")
    assert grant.expiration_clause == "term"
    assert grant.expiration_date() == d("2015-07-13")


def test_the_2007_05_01_example(grant):
    on = d("2007-05-01")
    assert grant.vested_shares(on) == 493_750
    assert grant.exercisable_shares(on) == 493_750
    assert isinstance(grant.vested_shares(on), int)
    assert isinstance(grant.exercisable_shares(on), int)


def test_exercisable_is_vested_minus_every_accepted_exercise_whatever_its_date(grant):
    grant.request_exercise(10_000, d("2007-05-01"), payment_method="cash")
    grant.request_exercise(5_000, d("2007-06-01"), payment_method="check")
    # The exercise dated 2007-06-01 reserves its shares on earlier days too.
    assert grant.exercisable_shares(d("2007-05-15")) == 493_750 - 15_000
    assert grant.exercisable_shares(d("2009-07-13")) == 1_000_000 - 15_000
    assert grant.vested_shares(d("2007-05-15")) == 493_750
    assert grant.exercised_shares() == 15_000


def test_dates_must_be_dates(grant):
    for bad in ("2007-05-01", None, dt.datetime(2007, 5, 1, 12, tzinfo=dt.UTC)):
        with pytest.raises(ValidationError) as exc:
            grant.vested_shares(bad)
        assert exc.value.code == "bad_date"
        with pytest.raises(ValidationError) as exc:
            grant.exercisable_shares(bad)
        assert exc.value.code == "bad_date"


# --------------------------------------------------------------------------- forfeiture (5c)


def test_vesting_stops_at_termination_and_the_rest_is_forfeited(grant, optionee):
    optionee.terminate(d("2007-05-01"), "other")
    assert grant.vested_shares(d("2007-05-01")) == 493_750
    # Installments dated after the termination never vest.
    assert grant.vested_shares(d("2007-07-13")) == 493_750
    assert grant.vested_shares(d("2009-07-13")) == 493_750
    assert grant.forfeited_shares() == 1_000_000 - 493_750
    # Exercisable through the last day (three months later), nothing after.
    assert grant.exercisable_shares(d("2007-07-31")) == 493_750
    assert grant.exercisable_shares(d("2007-08-01")) == 493_750
    assert grant.exercisable_shares(d("2007-08-02")) == 0


def test_an_installment_vesting_on_the_termination_date_counts(grant, optionee):
    optionee.terminate(d("2007-04-13"), "other")
    assert grant.vested_shares(d("2007-06-01")) == 493_750
    assert grant.forfeited_shares() == 506_250


def test_an_installment_vesting_the_day_after_termination_is_forfeited(grant, optionee):
    optionee.terminate(d("2007-04-12"), "other")
    assert grant.vested_shares(d("2007-06-01")) == 437_500
    assert grant.forfeited_shares() == 562_500


def test_nothing_is_forfeited_without_a_termination(grant):
    assert grant.forfeited_shares() == 0


def test_a_reversed_termination_restores_vesting(grant, optionee):
    termination = optionee.terminate(d("2007-05-01"), "other")
    termination.reverse("Recorded for the wrong employee.")
    assert grant.vested_shares(d("2009-07-13")) == 1_000_000
    assert grant.forfeited_shares() == 0


def test_a_change_of_role_does_not_stop_vesting(grant, optionee):
    optionee.change_role("consultant")
    assert grant.vested_shares(d("2009-07-13")) == 1_000_000
    assert grant.exercisable_shares(d("2009-07-13")) == 1_000_000


# --------------------------------------------------------------------------- zero days


def test_a_suspended_day_has_nothing_exercisable(grant, company):
    company.suspend_registration(d("2007-05-01"), d("2007-05-31"))
    assert grant.exercisable_shares(d("2007-04-30")) == 493_750
    assert grant.exercisable_shares(d("2007-05-01")) == 0
    assert grant.exercisable_shares(d("2007-05-15")) == 0
    assert grant.exercisable_shares(d("2007-05-31")) == 0
    assert grant.exercisable_shares(d("2007-06-01")) == 493_750
    # A suspension stops exercise, not vesting.
    assert grant.vested_shares(d("2007-05-15")) == 493_750


def test_an_open_ended_suspension_has_nothing_exercisable_until_it_ends(grant, company):
    suspension = company.suspend_registration(d("2007-05-01"))
    assert grant.exercisable_shares(d("2007-05-01")) == 0
    assert grant.exercisable_shares(d("2012-01-03")) == 0
    suspension.end_on(d("2007-05-10"))
    assert grant.exercisable_shares(d("2007-05-10")) == 0
    assert grant.exercisable_shares(d("2007-05-11")) == 493_750
    assert grant.exercisable_shares(d("2012-01-03")) == 1_000_000


def test_nothing_is_exercisable_after_expiration(grant):
    assert grant.exercisable_shares(d("2015-07-13")) == 1_000_000
    assert grant.exercisable_shares(d("2015-07-14")) == 0
    assert grant.exercisable_shares(d("2030-01-01")) == 0
    assert grant.vested_shares(d("2015-07-14")) == 1_000_000


def test_a_grant_the_nightly_job_marked_expired_has_nothing_exercisable(grant):
    Grant.objects.filter(pk=grant.pk).update(status=Grant.Status.EXPIRED)
    grant.refresh_from_db()
    assert grant.exercisable_shares(d("2007-05-01")) == 0


def test_nothing_is_exercisable_before_the_grant(grant):
    assert grant.exercisable_shares(d("2005-07-12")) == 0


# --------------------------------------------------------------------------- cancellation


def test_a_cancelled_exercise_releases_its_shares(grant):
    exercise = grant.request_exercise(93_750, d("2007-05-01"), payment_method="cash")
    assert grant.exercisable_shares(d("2007-05-01")) == 400_000
    exercise.cancel(d("2007-05-02"))
    assert exercise.status == Exercise.Status.CANCELLED
    assert exercise.cancelled_on == d("2007-05-02")
    assert grant.exercisable_shares(d("2007-05-01")) == 493_750
    assert grant.exercised_shares() == 0
    # The released shares can be exercised again.
    again = grant.request_exercise(493_750, d("2007-05-03"), payment_method="check")
    assert again.shares == 493_750
    assert grant.exercisable_shares(d("2007-05-03")) == 0


def test_cancelling_the_exercise_that_completed_the_grant_reopens_it(grant):
    exercise = grant.request_exercise(1_000_000, d("2009-07-13"), payment_method="regt")
    grant.refresh_from_db()
    assert grant.status == Grant.Status.EXERCISED
    assert grant.exercisable_shares(d("2009-07-14")) == 0
    exercise.cancel(d("2009-07-15"))
    grant.refresh_from_db()
    assert grant.status == Grant.Status.GRANTED
    assert grant.exercisable_shares(d("2009-07-15")) == 1_000_000


def test_issued_or_cancelled_exercises_cannot_be_cancelled(grant):
    exercise = grant.request_exercise(1_000, d("2007-05-01"), payment_method="cash")
    exercise.mark_paid(d("2007-05-01"))
    exercise.issue_shares(d("2007-05-02"))
    with pytest.raises(ValidationError) as exc:
        exercise.cancel(d("2007-05-03"))
    assert exc.value.code == "not_cancellable"
    assert grant.exercisable_shares(d("2007-05-03")) == 492_750

    other = grant.request_exercise(1_000, d("2007-05-01"), payment_method="cash")
    other.cancel(d("2007-05-02"))
    with pytest.raises(ValidationError) as exc:
        other.cancel(d("2007-05-03"))
    assert exc.value.code == "not_cancellable"
    assert grant.exercisable_shares(d("2007-05-03")) == 492_750
