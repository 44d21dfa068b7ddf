"""Two copies of the nightly job at once, on PostgreSQL: no double expiry, no double notice."""

import datetime as dt
import threading
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections

from grants.models import Grant, Notice
from grants.seed import seed_grant
from tests.factories import GrantFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serializes)"
    ),
]


def test_two_concurrent_runs_expire_and_notify_each_grant_once():
    with time_machine.travel(dt.datetime(2015, 1, 2, 10, tzinfo=ZoneInfo("America/Chicago"))):
        seed = seed_grant()
        for _ in range(40):
            GrantFactory(plan=seed.plan, grant_date=dt.date(2005, 7, 13))  # ends 2015-07-13
    barrier = threading.Barrier(2)
    errors = []

    def nightly():
        try:
            barrier.wait()
            call_command("expire_options", "--as-of", "2015-07-14", stdout=StringIO())
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=nightly) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Grant.objects.filter(status=Grant.Status.EXPIRED).count() == 41
    assert Notice.objects.filter(kind=Notice.Kind.EXPIRED).count() == 41
    assert len(mail.outbox) == len({m.to[0] + m.subject for m in mail.outbox})
