"""A backup made with ``dumpdata`` restores the book exactly (docs/backups.md).

The demo book, with exercises (paid, issued, cancelled, awaiting payment), terminations,
notices, a change of address, company facts, a nightly run and an acknowledgement, is
dumped with the documented command, the database is emptied (``flush``, which recreates
the content types, permissions and roles as ``migrate`` does), and the dump is loaded.
Every row of the grants app, its audit history included, comes back equal, field by
field; so do the users and their roles, and ``check_books`` says the same (nothing).

The test commits for real (``transaction=True``), as a restore does.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import serializers
from django.core.management import call_command

from grants.books import check_books
from grants.demo import load_demo
from grants.models import Exercise, Grant, Notice, Optionee
from tests.conftest import d

pytestmark = pytest.mark.django_db(transaction=True)

CHICAGO = ZoneInfo("America/Chicago")
TODAY = d("2026-03-02")  # a Monday

# The documented backup command (docs/backups.md), without the file name.
DUMP = [
    "dumpdata",
    "--natural-foreign",
    "--natural-primary",
    "--exclude=contenttypes",
    "--exclude=auth.permission",
    "--exclude=sessions",
    "--format=xml",
    "--indent=1",
]


@pytest.fixture
def book():
    """The demo book with one of each kind of event recorded against it."""
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, tzinfo=CHICAGO), tick=False):
        load_demo()
        seed = Grant.objects.get(number="VLNC-2005-0001")
        issued = seed.request_exercise(
            100_000, d("2006-01-03"), payment_method="cash", payment_received=True
        )
        issued.issue_shares(d("2006-01-10"))
        garcia = Grant.objects.get(number="VLNC-DEMO-0101")
        garcia.request_exercise(2_000, TODAY, payment_method="check").cancel(TODAY)
        garcia.request_exercise(1_000, TODAY, payment_method="cash", submission_key="k-1")
        Exercise.objects.get(grant__number="VLNC-DEMO-0103").mark_paid(TODAY)
        patel = Optionee.objects.get(employee_id="V-1004")
        patel.terminate(TODAY - dt.timedelta(days=1), "disability")
        akridge = seed.optionee
        akridge.change_notice_address(
            "James R. Akridge\n1 Congress Avenue\nAustin, Texas 78701", received_on=TODAY
        )
        Notice.objects.create(
            company=seed.company,
            optionee=akridge,
            grant=seed,
            direction=Notice.Direction.TO_OPTIONEE,
            method=Notice.Method.MAIL,
            kind=Notice.Kind.GENERAL,
            subject="Your option statement",
            body="Enclosed.",
            sent_on=TODAY,
        )
        seed.company.suspend_registration(d("2025-06-02"), d("2025-06-13"), note="S-8 late")
        walsh = Optionee.objects.get(employee_id="V-1003")
        walsh.record_section16_liability(d("2026-01-05"), d("2026-02-27"))
        for grant in Grant.objects.all():
            grant.run_nightly(TODAY)
        seed.acknowledge(akridge.user)
    return TODAY


def snapshot() -> dict:
    """Every row of the grants app (its historical models too) field by field, with users
    named by user name; the users, their roles and the roles' permissions."""
    User = get_user_model()
    usernames = dict(User.objects.values_list("pk", "username"))
    rows: dict = {}
    for model in apps.get_app_config("grants").get_models():
        to_users = [
            field.attname
            for field in model._meta.concrete_fields
            if field.is_relation and field.related_model is User
        ]
        table = []
        for row in model._default_manager.order_by("pk").values():
            table.append({**row, **{name: usernames.get(row[name]) for name in to_users}})
        rows[model._meta.label] = table
    rows["users"] = sorted(
        (
            user.username,
            user.password,
            user.email,
            user.is_staff,
            user.is_superuser,
            user.date_joined,
            sorted(user.groups.values_list("name", flat=True)),
        )
        for user in User.objects.all()
    )
    rows["roles"] = sorted(
        (group.name, sorted(p.natural_key() for p in group.permissions.all()))
        for group in Group.objects.all()
    )
    return rows


def problems(on: dt.date) -> list[str]:
    return [str(item) for item in check_books(on) if not isinstance(item, int)]


def test_dumpdata_and_loaddata_round_trip_the_book_exactly(book, tmp_path):
    before = snapshot()
    books_before = problems(book)
    for audited in ("Grant", "Installment", "Exercise", "Termination", "Notice", "Company"):
        assert before[f"grants.Historical{audited}"], f"{audited} has history to round-trip"
    assert len(before["grants.Exercise"]) == 4
    assert len(before["grants.Termination"]) == 2

    backup = tmp_path / "book.xml"
    call_command(*DUMP, f"--output={backup}", stdout=StringIO())
    call_command("flush", "--no-input", stdout=StringIO())
    assert not Grant.objects.exists()
    call_command("loaddata", str(backup), stdout=StringIO())

    after = snapshot()
    assert after.keys() == before.keys()
    for label in before:
        assert after[label] == before[label], label
    assert problems(book) == books_before == []
    call_command("check_books", "--as-of", f"{book:%Y-%m-%d}", stdout=StringIO())


def test_the_restored_book_takes_new_rows_after_the_old_ones(book, tmp_path):
    """loaddata moves the id sequences past the restored rows (PostgreSQL keeps them apart
    from the rows), so the first exercise after a restore does not collide."""
    backup = tmp_path / "book.xml"
    call_command(*DUMP, f"--output={backup}", stdout=StringIO())
    last = Exercise.objects.order_by("-pk").values_list("pk", flat=True).first()
    call_command("flush", "--no-input", stdout=StringIO())
    call_command("loaddata", str(backup), stdout=StringIO())
    garcia = Grant.objects.get(number="VLNC-DEMO-0101")
    with time_machine.travel(dt.datetime(2026, 3, 3, 10, tzinfo=CHICAGO), tick=False):
        new = garcia.request_exercise(1_000, d("2026-03-03"), payment_method="cash")
    assert new.pk > last
    assert garcia.exercised_shares() == 2_000
    assert problems(d("2026-03-03")) == []


def test_json_would_lose_the_microseconds_of_the_audit_trail(book):
    """Why the backup is XML: Django's JSON format keeps only milliseconds of a datetime
    (ECMA-262), so when each change happened would not come back exactly."""
    record = Exercise.history.order_by("pk").first()
    record.history_date = record.history_date.replace(microsecond=123_456)
    for format_, exact in (("json", False), ("xml", True)):
        data = serializers.serialize(format_, [record])
        (restored,) = serializers.deserialize(format_, data)
        assert (restored.object.history_date == record.history_date) is exact, format_


def test_the_round_trip_keeps_money_and_dates_exactly(book, tmp_path):
    exercise = Exercise.objects.get(grant__number="VLNC-2005-0001")
    assert exercise.aggregate_price == Decimal("299000.00")
    backup = tmp_path / "book.xml"
    call_command(*DUMP, f"--output={backup}", stdout=StringIO())
    call_command("flush", "--no-input", stdout=StringIO())
    call_command("loaddata", str(backup), stdout=StringIO())
    restored = Exercise.objects.get(pk=exercise.pk)
    assert (restored.aggregate_price, restored.price_per_share) == (
        Decimal("299000.00"),
        Decimal("2.9900"),
    )
    assert (restored.exercise_date, restored.created_at) == (
        exercise.exercise_date,
        exercise.created_at,
    )
