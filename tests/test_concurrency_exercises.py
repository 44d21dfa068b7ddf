"""Exercises racing each other, a termination and the nightly expiry, on PostgreSQL.

Each request runs in its own thread with its own database connection, released together
by a barrier, as simultaneous requests from several browsers or a browser and cron would.
Whatever order the database puts them in, the book stays consistent: never more shares
exercised than were exercisable, never an exercise accepted after expiration, one exercise
per submission, and ``check_books`` clean (or, for an exercise accepted before a late
termination was recorded, flagging exactly that exercise for review).

SQLite serializes writers, so the races only mean something on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from grants.books import check_books
from grants.models import Exercise, Grant, Notice, Termination
from grants.seed import seed_grant, seed_installments
from tests.conftest import d
from tests.factories import GrantFactory, OptioneeFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serializes)"
    ),
]

CHICAGO = ZoneInfo("America/Chicago")
MAY_1_2007 = d("2007-05-01")  # the seed grant has 493,750 vested shares, none exercised


def race(*calls):
    """Run every call at the same moment, each in its own thread and connection; return
    what each returned or raised, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as error:  # a refusal is an outcome; anything else fails below
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    unexpected = [
        o for o in outcomes if isinstance(o, Exception) and not isinstance(o, ValidationError)
    ]
    assert unexpected == [], "a racing request failed with something other than a refusal"
    return outcomes


def problems(on: dt.date) -> list[str]:
    return [str(item) for item in check_books(on) if not isinstance(item, int)]


def exercise_of(grant: Grant, shares: int, at: dt.date, **options):
    """An exercise paid by cash with its notice (unless ``options`` say otherwise)."""
    options.setdefault("payment_received", True)
    return lambda: Grant(pk=grant.pk).request_exercise(shares, at, payment_method="cash", **options)


# --------------------------------------------------------------------------- many at once


@pytest.mark.parametrize(
    ("shares", "fit", "refusal"),
    [
        # More than half of what is exercisable: exactly one fits.
        (250_000, 1, "Only 243,750 shares are exercisable on 2007-05-01; you asked for 250,000."),
        # 4 x 100,000 fit in 493,750; the fifth would not.
        (100_000, 4, "Only 93,750 shares are exercisable on 2007-05-01; you asked for 100,000."),
    ],
)
def test_simultaneous_exercises_never_take_more_than_is_exercisable(shares, fit, refusal):
    grant = seed_grant()
    outcomes = race(*[exercise_of(grant, shares, MAY_1_2007) for _ in range(8)])

    accepted = [o for o in outcomes if isinstance(o, Exercise)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(accepted) == fit
    assert [(e.code, e.messages) for e in refused] == [("more_than_exercisable", [refusal])] * (
        8 - fit
    )
    assert Exercise.objects.count() == fit
    assert Notice.objects.filter(kind=Notice.Kind.EXERCISE).count() == fit
    assert grant.exercised_shares() == fit * shares <= 493_750
    assert problems(MAY_1_2007) == []


# --------------------------------------------------------------------------- termination


def test_an_exercise_racing_a_late_termination_is_consistent_whichever_wins():
    """A termination reported late (dated 2007-03-01, when 437,500 shares had vested)
    races an exercise of every share vested on 2007-05-01 (493,750).

    Termination first: the exercise is refused, only 437,500 being exercisable, and the
    books balance. Exercise first: it was right when accepted, and the termination is
    still recorded; ``check_books`` then flags exactly that grant for review (the
    exercises exceed what ever vests) and nothing else. Ten rounds, one grant each, so
    both orders are likely to occur; each round is checked for the order it took.
    """
    seed = seed_grant()
    grants = [
        GrantFactory(
            plan=seed.plan,
            grant_date=seed.grant_date,
            shares=1_000_000,
            installments=seed_installments(),
        )
        for _ in range(10)
    ]
    flagged = []
    for grant in grants:
        optionee = grant.optionee
        exercise, termination = race(
            exercise_of(grant, 493_750, MAY_1_2007),
            lambda optionee=optionee: optionee.terminate(d("2007-03-01")),
        )
        assert isinstance(termination, Termination)
        termination.refresh_from_db()
        grant.refresh_from_db()
        assert grant.returned_shares == 562_500  # forfeited after 2007-03-01 either way
        if isinstance(exercise, Exercise):
            assert exercise.created_at < termination.recorded_at
            assert grant.status == Grant.Status.EXERCISED  # nothing more can be exercised
            flagged.append(grant.number)
        else:
            assert exercise.code == "more_than_exercisable"
            assert exercise.messages == [
                "Only 437,500 shares are exercisable on 2007-05-01; you asked for 493,750."
            ]
            assert not grant.exercises.exists()
            assert grant.status == Grant.Status.GRANTED
            assert grant.expires_on == d("2007-06-01")
    assert problems(MAY_1_2007) == [
        f"grant {number}: 493,750 shares exercised but only 437,500 ever vest (a termination "
        f"recorded after the exercises?): review the exercises"
        for number in sorted(flagged)
    ]


# --------------------------------------------------------------------------- nightly expiry


@pytest.fixture
def expiring():
    """Eight grants whose term ends Monday 2015-07-13, 10,000 shares vested at grant."""
    seed = seed_grant()
    return [GrantFactory(plan=seed.plan, grant_date=d("2005-07-13")) for _ in range(8)]


def nightly(grant: Grant, as_of: dt.date):
    return lambda: Grant(pk=grant.pk).run_nightly(as_of)


def test_an_exercise_on_the_last_day_racing_the_nightly_expiry(expiring):
    """The notice and the price arrived on the last day, 2015-07-13, and are recorded
    while the job for the night of the 14th runs. Exercise first: the exercise was made in
    time and stands, and the job expires the rest (or skips the grant it finds locked, and
    expires it when run again). Job first: the grant is expired and the exercise refused."""
    for grant in expiring:
        exercise, outcome = race(
            exercise_of(grant, 1_000, d("2015-07-13")), nightly(grant, d("2015-07-14"))
        )
        grant.refresh_from_db()
        if isinstance(exercise, Exercise):
            assert exercise.exercise_date == d("2015-07-13")
            assert outcome in ("expired", "skipped")
            if outcome == "skipped":
                assert grant.run_nightly(d("2015-07-14")) == "expired"
            grant.refresh_from_db()
            assert grant.status == Grant.Status.EXPIRED
            assert grant.returned_shares == 9_000
        else:
            assert outcome == "expired"
            assert (exercise.code, exercise.messages) == (
                "expired",
                [f"Grant {grant.number} expired on 2015-07-13."],
            )
            assert grant.status == Grant.Status.EXPIRED
            assert grant.returned_shares == 10_000
            assert not grant.exercises.exists()
    assert not Exercise.objects.filter(exercise_date__gt=d("2015-07-13")).exists()
    assert problems(d("2015-07-14")) == []


def test_an_exercise_the_day_after_expiration_never_races_past_the_nightly_expiry(expiring):
    """A notice received 2015-07-14, the day after expiration, is refused whether the job
    has expired the grant yet or not; the job expires every grant (when it found one
    locked by the refused request, on its next run)."""
    for grant in expiring:
        exercise, outcome = race(
            exercise_of(grant, 1_000, d("2015-07-14")), nightly(grant, d("2015-07-14"))
        )
        assert isinstance(exercise, ValidationError)
        assert exercise.code == "expired"
        assert outcome in ("expired", "skipped")
        if outcome == "skipped":
            assert Grant(pk=grant.pk).run_nightly(d("2015-07-14")) == "expired"
    assert not Exercise.objects.exists()
    assert Grant.objects.filter(pk__in=[g.pk for g in expiring], status="expired").count() == 8
    assert problems(d("2015-07-14")) == []


# --------------------------------------------------------------------------- idempotency


def test_one_submission_sent_five_times_at_once_is_one_exercise():
    grant = seed_grant()
    key = uuid.uuid4().hex
    outcomes = race(*[exercise_of(grant, 1_000, MAY_1_2007, submission_key=key)] * 5)
    assert all(isinstance(o, Exercise) for o in outcomes)
    assert {o.pk for o in outcomes} == {Exercise.objects.get().pk}
    assert Notice.objects.filter(kind=Notice.Kind.EXERCISE).count() == 1
    assert grant.exercised_shares() == 1_000
    assert problems(MAY_1_2007) == []


def test_the_portal_form_submitted_five_times_at_once_records_one_exercise():
    """Five tabs (or a quintuple click) post the same confirmed notice of exercise."""
    grant = seed_grant()
    user = UserFactory(username="jakridge")
    optionee = grant.optionee
    optionee.user = user
    optionee.save()
    clients = []
    for _ in range(5):
        client = Client()
        client.force_login(user)
        clients.append(client)
    form = {
        "shares": "1000",
        "payment_method": "cash",
        "submission_key": uuid.uuid4().hex,
        "action": "submit",
    }
    url = reverse("exercise", args=[grant.number])
    with time_machine.travel(dt.datetime(2007, 5, 1, 10, tzinfo=CHICAGO), tick=False):
        responses = race(*[lambda client=client: client.post(url, form) for client in clients])
    exercise = Exercise.objects.get()
    assert [r.status_code for r in responses] == [302] * 5
    assert {r["Location"] for r in responses} == {reverse("exercise_detail", args=[exercise.pk])}
    assert exercise.shares == 1_000
    assert exercise.requested_by == user
    assert problems(MAY_1_2007) == []


def test_other_optionees_are_not_disturbed_by_a_race_on_one_grant():
    """Exercises of different grants do not queue behind each other's locks: eight
    optionees exercising at once all succeed."""
    seed = seed_grant()
    grants = [
        GrantFactory(plan=seed.plan, optionee=OptioneeFactory(company=seed.company))
        for _ in range(8)
    ]
    outcomes = race(*[exercise_of(grant, 10_000, d("2006-02-01")) for grant in grants])
    assert all(isinstance(o, Exercise) for o in outcomes)
    assert Grant.objects.filter(status=Grant.Status.EXERCISED).count() == 8
    assert problems(d("2006-02-01")) == []
