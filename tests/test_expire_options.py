"""The nightly expiry check, run as cron runs it, twice, across skipped nights.

The seed grant is created while "today" is 2015-01-02 (time-machine), so its stored
next-action date is what it would have been in 2015.
"""

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.db.models import Q

from grants.models import Grant, Notice
from grants.seed import seed_grant
from grants.services import nightly as nightly_service
from tests.conftest import d

CHICAGO = ZoneInfo("America/Chicago")


def at(day: str, hour: int = 1):
    """Travel to ``day`` at ``hour`` o'clock in Austin (the job runs after midnight)."""
    return time_machine.travel(
        dt.datetime.combine(d(day), dt.time(hour), tzinfo=CHICAGO), tick=False
    )


@pytest.fixture
def book(db):
    with at("2015-01-02", 10):
        grant = seed_grant()
    return grant


def nightly(day: str, *extra) -> str:
    out = StringIO()
    with at(day):
        call_command("expire_options", *extra, stdout=out, stderr=StringIO())
    return out.getvalue()


def run(day, django_capture_on_commit_callbacks, *extra) -> str:
    """The nightly job, then the outbox's delivery after its commit, both that night."""
    out = StringIO()
    with at(day), django_capture_on_commit_callbacks(execute=True):
        call_command("expire_options", *extra, stdout=out, stderr=StringIO())
    return out.getvalue()


def warnings(grant):
    return list(
        grant.notices.filter(kind=Notice.Kind.EXPIRY_WARNING)
        .order_by("sent_on")
        .values_list("days_before", "sent_on")
    )


def test_the_stored_next_action_is_the_first_warning_day(book):
    assert book.next_action_on == d("2015-05-14")  # 60 days before 2015-07-13


def test_nothing_is_due_before_the_first_warning(book, django_capture_on_commit_callbacks):
    out = run("2015-05-13", django_capture_on_commit_callbacks)
    assert "grants due: 0" in out
    assert not Notice.objects.exists()


def test_each_warning_is_sent_once_as_a_written_notice_and_emailed(
    book, django_capture_on_commit_callbacks
):
    out = run("2015-05-14", django_capture_on_commit_callbacks)
    assert "expiry warnings sent: 1" in out
    run("2015-05-14", django_capture_on_commit_callbacks)  # cron ran twice
    assert warnings(book) == [(60, d("2015-05-14"))]
    notice = book.notices.get()
    assert notice.direction == Notice.Direction.TO_OPTIONEE
    assert notice.effective_on == d("2015-05-14")
    assert "Monday, July 13, 2015" in notice.body
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Your option VLNC-2005-0001 expires on July 13, 2015"
    book.refresh_from_db()
    assert book.next_action_on == d("2015-06-13")


def test_every_offset_in_turn_then_expiry(book, django_capture_on_commit_callbacks):
    for day in ["2015-05-14", "2015-06-13", "2015-06-29", "2015-07-06", "2015-07-12"]:
        run(day, django_capture_on_commit_callbacks)
    assert [days for days, _ in warnings(book)] == [60, 30, 14, 7, 1]
    run("2015-07-13", django_capture_on_commit_callbacks)  # the last day: still exercisable
    book.refresh_from_db()
    assert book.status == Grant.Status.GRANTED
    out = run("2015-07-14", django_capture_on_commit_callbacks)
    assert "expired: 1" in out
    book.refresh_from_db()
    assert book.status == Grant.Status.EXPIRED
    assert book.returned_shares == 1_000_000
    assert book.next_action_on is None
    expired = book.notices.get(kind=Notice.Kind.EXPIRED)
    assert "expired at the end of business hours on July 13, 2015" in expired.body
    assert mail.outbox[-1].subject == "Your option VLNC-2005-0001 has expired"
    before = (Notice.objects.count(), len(mail.outbox))
    out = run("2015-07-14", django_capture_on_commit_callbacks)  # a second run changes nothing
    assert "grants due: 0" in out
    assert (Notice.objects.count(), len(mail.outbox)) == before


def test_skipped_nights_are_caught_up_with_the_current_warning_only(
    book, django_capture_on_commit_callbacks
):
    run("2015-07-08", django_capture_on_commit_callbacks)  # cron was down since May
    assert warnings(book) == [(7, d("2015-07-08"))]
    run("2015-07-20", django_capture_on_commit_callbacks)  # and down again past expiry
    book.refresh_from_db()
    assert book.status == Grant.Status.EXPIRED
    assert book.notices.filter(kind=Notice.Kind.EXPIRED).count() == 1


def test_a_window_shorter_than_the_first_offset_gets_one_warning(
    book, django_capture_on_commit_callbacks
):
    with at("2015-06-22", 10):
        book.optionee.terminate(d("2015-06-22"), "other")  # expires with the term, 21 days
    book.refresh_from_db()
    assert book.next_action_on == d("2015-06-22")  # due at once
    run("2015-06-23", django_capture_on_commit_callbacks)
    run("2015-06-24", django_capture_on_commit_callbacks)
    assert warnings(book) == [(30, d("2015-06-23"))]


def test_unvested_shares_return_to_the_plan_at_termination_and_the_rest_at_expiry(
    book, django_capture_on_commit_callbacks
):
    with at("2008-01-31", 10):
        book.request_exercise(
            100_000, d("2008-01-31"), payment_method="cash", payment_received=True
        )
        book.optionee.terminate(d("2008-01-31"), "other")
    book.refresh_from_db()
    assert book.returned_shares == 337_500  # forfeited on the termination date
    run("2008-05-01", django_capture_on_commit_callbacks)
    book.refresh_from_db()
    assert book.status == Grant.Status.EXPIRED
    assert book.returned_shares == 900_000  # everything but the 100,000 exercised


def test_an_open_suspension_pauses_the_clock_and_nothing_expires(
    book, django_capture_on_commit_callbacks
):
    with at("2008-02-10", 10):
        book.optionee.terminate(d("2008-01-31"), "other")
        book.company.suspend_registration(d("2008-02-10"))  # open-ended
    out = run("2008-06-01", django_capture_on_commit_callbacks)
    assert "paused (open registration suspension): 1" in out
    book.refresh_from_db()
    assert book.status == Grant.Status.GRANTED
    assert not Notice.objects.filter(kind=Notice.Kind.EXPIRY_WARNING).exists()
    with at("2008-06-01", 10):
        book.company.registration_suspensions.get().end_on(d("2008-06-01"))
    book.refresh_from_db()
    # 90 days of the normal period: 9 before the suspension, 81 from 2008-06-02.
    assert book.expires_on == d("2008-08-21")
    run("2008-08-21", django_capture_on_commit_callbacks)
    book.refresh_from_db()
    assert book.status == Grant.Status.GRANTED
    run("2008-08-22", django_capture_on_commit_callbacks)
    book.refresh_from_db()
    assert book.status == Grant.Status.EXPIRED


def test_a_regulation_t_exercise_on_the_last_day_stands_when_the_option_expires(
    book, django_capture_on_commit_callbacks
):
    # Made by its notice (paragraph 2b): it does not hold the option open, and the broker's
    # cash may arrive after the last day (DOMAIN.md, notice and price).
    with at("2015-07-13", 10):
        exercise = book.request_exercise(1_000, d("2015-07-13"), payment_method="regt")
    out = run("2015-07-14", django_capture_on_commit_callbacks)
    assert "expired: 1" in out
    book.refresh_from_db()
    assert book.status == Grant.Status.EXPIRED
    assert book.returned_shares == 999_000
    exercise.mark_paid(d("2015-07-14"))
    assert exercise.status == exercise.Status.PAID
    assert exercise.exercise_date == d("2015-07-13")


def test_a_dry_run_reports_and_changes_nothing(book, django_capture_on_commit_callbacks):
    out = run("2015-07-14", django_capture_on_commit_callbacks, "--dry-run")
    assert "dry run: nothing was committed or sent" in out
    assert "expired: 1" in out
    book.refresh_from_db()
    assert book.status == Grant.Status.GRANTED
    assert not Notice.objects.exists()
    assert mail.outbox == []


def test_as_of_runs_for_another_day_and_a_bad_date_is_refused(book):
    out = StringIO()
    call_command("expire_options", "--as-of", "2015-07-14", stdout=out)
    assert "Nightly expiry check for 2015-07-14" in out.getvalue()
    with pytest.raises(CommandError, match="not a date"):
        call_command("expire_options", "--as-of", "14/07/2015", stdout=StringIO())


def test_a_failing_grant_is_reported_and_the_command_exits_non_zero(book, monkeypatch):
    def broken(grant, as_of):
        raise RuntimeError("disk full")

    monkeypatch.setattr(nightly_service, "plan_grant", broken)
    err = StringIO()
    with pytest.raises(CommandError, match="1 item"):
        call_command("expire_options", "--as-of", "2015-07-14", stdout=StringIO(), stderr=err)
    assert "grant VLNC-2005-0001: disk full" in err.getvalue()


def test_the_work_follows_what_is_due_not_the_size_of_the_book(
    book, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    from tests.factories import GrantFactory

    with at("2015-01-02", 10):
        for _ in range(20):
            GrantFactory(plan=book.plan, grant_date=d("2014-01-02"))  # expire in 2024
    out = run("2015-07-14", django_capture_on_commit_callbacks)
    assert "grants due: 1" in out


def test_without_an_email_address_the_warning_is_a_mailed_notice_effective_in_five_days(
    book, django_capture_on_commit_callbacks
):
    with at("2015-01-02", 10):
        book.optionee.email = ""
        book.optionee.save()
    book.refresh_from_db()
    # Mailed five days before the e-mail would go, to take effect on the 60th day.
    assert book.next_action_on == d("2015-05-09")
    run("2015-05-09", django_capture_on_commit_callbacks)
    notice = book.notices.get()
    assert notice.method == Notice.Method.MAIL
    assert notice.to_print  # a letter in the print queue, to mail that day
    assert (notice.mail_by, notice.sent_on, notice.effective_on) == (d("2015-05-09"), None, None)
    with at("2015-05-09", 10):
        notice.mark_mailed(d("2015-05-09"))
    assert notice.received_on is None
    assert notice.effective_on == d("2015-05-14")  # paragraph 9: five days after deposit
    assert notice.address.startswith("James R. Akridge")
    assert mail.outbox == []


def _due_grants(book, n):
    from tests.factories import GrantFactory

    with at("2015-01-02", 10):
        return [
            GrantFactory(
                plan=book.plan,
                grant_date=book.grant_date,
                term_end=book.term_end,
                shares=1_000,
            )
            for _ in range(n)
        ]


def _count_queries(day, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        run(day, django_capture_on_commit_callbacks)
    return len(queries)


def test_a_batch_of_due_grants_costs_the_same_queries_as_one(
    book, django_capture_on_commit_callbacks
):
    """Grants due the same night are locked, read and written together: the queries do
    not grow with the number due (a warning night, then an expiry night)."""
    alone = _count_queries("2015-05-15", django_capture_on_commit_callbacks)
    assert warnings(book) == [(60, d("2015-05-15"))]
    others = _due_grants(book, 12)
    together = _count_queries("2015-06-14", django_capture_on_commit_callbacks)
    assert together <= alone + 2  # the same statements, whatever the batch holds
    given = Notice.objects.filter(kind=Notice.Kind.EXPIRY_WARNING)
    assert given.filter(Q(sent_on=d("2015-06-14")) | Q(mail_by=d("2015-06-14"))).count() == 13
    out = run("2015-07-15", django_capture_on_commit_callbacks)
    assert "expired: 13" in out
    for grant in [book, *others]:
        grant.refresh_from_db()
        assert grant.status == Grant.Status.EXPIRED
        assert grant.history.first().history_source == "command expire_options"
    assert {m.to[0] for m in mail.outbox} >= {book.optionee.email}


def test_a_grant_whose_write_fails_is_reported_and_the_rest_of_the_batch_is_done(
    book, django_capture_on_commit_callbacks
):
    others = _due_grants(book, 3)
    # An expiry notice for one grant already exists (as if typed in by hand), so the
    # database's once-only constraint refuses the batch's insert.
    Notice.objects.create(
        company=book.company,
        optionee=book.optionee,
        grant=book,
        direction=Notice.Direction.TO_OPTIONEE,
        method=Notice.Method.EMAIL,
        kind=Notice.Kind.EXPIRED,
        subject="typed by hand",
        sent_on=d("2015-07-15"),
        received_on=d("2015-07-15"),
        about_expiration=book.expires_on,
        days_before=0,
    )
    err = StringIO()
    with (
        pytest.raises(CommandError, match="1 item"),
        at("2015-07-15"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("expire_options", stdout=StringIO(), stderr=err)
    assert "grant VLNC-2005-0001:" in err.getvalue()
    book.refresh_from_db()
    assert book.status == Grant.Status.GRANTED
    for grant in others:
        grant.refresh_from_db()
        assert grant.status == Grant.Status.EXPIRED
