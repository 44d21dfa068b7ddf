"""The outbox: an e-mail is stored with the event it reports and delivered after the commit;
a mail server that is down delays it, never loses it, never doubles it and never changes
the answer to the request or command that queued it."""

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from mailer.models import Message

from grants.models import Exercise, Grant, Notice
from grants.seed import seed_grant
from tests.conftest import d
from tests.factories import GrantFactory, UserFactory

CHICAGO = ZoneInfo("America/Chicago")
SMTP = "django.core.mail.backends.smtp.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def at(day: str, hour: int = 10):
    return time_machine.travel(
        dt.datetime.combine(d(day), dt.time(hour), tzinfo=CHICAGO), tick=False
    )


@pytest.fixture
def mail_server_down(settings):
    """A real SMTP connection to a port where nothing listens: refused at once."""
    settings.MAILER_EMAIL_BACKEND = SMTP
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    return settings


def deliver() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("deliver_mail", stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), ""


@pytest.fixture
def portal(client, db):
    with at("2007-05-01"):
        grant = seed_grant()
    optionee = grant.optionee
    optionee.user = UserFactory(username="jakridge", email="james@example.com")
    optionee.save()
    client.force_login(optionee.user)
    return client, grant


@pytest.mark.django_db(transaction=True)
def test_a_portal_exercise_with_the_mail_server_down_is_recorded_once_and_mailed_later(
    portal, mail_server_down
):
    client, grant = portal
    url = f"/grants/{grant.number}/exercise/"
    form = {"shares": "1000", "payment_method": "regt", "submission_key": "one-form"}
    with at("2007-05-01"):
        answer = client.post(url, {**form, "action": "submit"})
        again = client.post(url, {**form, "action": "submit"})  # the optionee retries
    exercise = Exercise.objects.get()
    assert answer.status_code == again.status_code == 302
    assert answer["Location"] == again["Location"] == f"/exercises/{exercise.pk}/"
    assert mail.outbox == []
    assert Message.objects.count() == 1  # stored with the exercise, waiting

    out, refused = deliver()
    assert "The mail server did not take the mail" in refused
    assert "1 message(s) wait" in refused
    assert Message.objects.count() == 1

    mail_server_down.MAILER_EMAIL_BACKEND = LOCMEM  # the server is back
    out, refused = deliver()
    assert refused == ""
    assert "sent: 1" in out
    assert [m.subject for m in mail.outbox] == [
        f"Your notice of exercise was received: grant {grant.number}"
    ]
    deliver()
    assert len(mail.outbox) == 1  # never twice
    assert Exercise.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_nightly_job_finishes_every_batch_with_the_mail_server_down(mail_server_down):
    with at("2015-01-02"):
        book = seed_grant()
        grants = [
            GrantFactory(
                plan=book.plan,
                grant_date=book.grant_date,
                term_end=book.term_end,
                shares=1_000,
                optionee__email="someone@example.com",
            )
            for _ in range(3)
        ]
    out, err = StringIO(), StringIO()
    with at("2015-05-14", 1):
        # Batches of two: the job must get past the first batch's mail.
        from grants.management.commands import expire_options

        expire_options.BATCH, before = 2, expire_options.BATCH
        try:
            call_command("expire_options", stdout=out, stderr=err)
        finally:
            expire_options.BATCH = before
    assert "expiry warnings sent: 4" in out.getvalue()
    assert err.getvalue() == ""
    warned = Notice.objects.filter(kind=Notice.Kind.EXPIRY_WARNING)
    assert warned.count() == 4
    assert not warned.filter(emailed_at__isnull=False).exists()  # not received yet
    assert Message.objects.count() == 4

    mail_server_down.MAILER_EMAIL_BACKEND = LOCMEM
    with at("2015-05-14", 3):
        out, refused = deliver()
    assert refused == ""
    assert "sent: 4" in out
    assert len(mail.outbox) == 4
    assert not warned.filter(emailed_at__isnull=True).exists()
    assert set(warned.values_list("received_on", flat=True)) == {d("2015-05-14")}
    assert {g.pk for g in grants} | {book.pk} == set(
        Grant.objects.filter(notices__in=warned).values_list("pk", flat=True)
    )


def test_a_refused_exercise_queues_nothing(portal):
    client, grant = portal
    with at("2007-05-01"):
        client.post(
            f"/grants/{grant.number}/exercise/",
            {"shares": "999", "payment_method": "regt", "submission_key": "k", "action": "submit"},
        )
    assert not Exercise.objects.exists()
    assert not Message.objects.exists()


def test_a_dry_run_of_deliver_mail_says_what_waits(portal, mail_server_down):
    _, grant = portal
    with at("2007-05-01"):
        grant.request_exercise(1_000, d("2007-05-01"), payment_method="regt")
    out = StringIO()
    call_command("deliver_mail", "--dry-run", stdout=out)
    assert "Outbox: 1 waiting" in out.getvalue()
    assert Message.objects.count() == 1


def test_the_same_form_sent_again_shows_the_exercise_it_recorded(portal):
    client, grant = portal
    url = f"/grants/{grant.number}/exercise/"
    every_share = {"shares": "493750", "payment_method": "regt", "submission_key": "all"}
    with at("2007-05-01"):
        first = client.post(url, {**every_share, "action": "submit"})
        again = client.post(url, {**every_share, "action": "submit"}, follow=True)
    exercise = Exercise.objects.get()
    assert first["Location"] == f"/exercises/{exercise.pk}/"
    assert again.redirect_chain == [(f"/exercises/{exercise.pk}/", 302)]
    assert "This notice of exercise was already recorded" in again.content.decode()
