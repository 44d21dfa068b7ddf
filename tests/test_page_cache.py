"""The portal's cached pages are never stale (grants/page_stamps.py, grants/portal/cache.py).

A person's dashboard, grant pages and acknowledgement banner are drawn once and served
again under a key of their stamps and the company's day. These tests hold that: every
table those pages read is stamped by a trigger, every kind of write to each of them
changes the key, a served page is the page drawn afresh, and what a person sees follows
each change, made by the app or around it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from grants import page_stamps
from grants.demo import load_demo
from grants.models import (
    Acknowledgement,
    ClosingPrice,
    ExerciseHold,
    Grant,
    Holiday,
    Installment,
    RegistrationSuspension,
)
from grants.portal.cache import _person_key
from tests.factories import SuccessorFactory, UserFactory

# Committed transactions, as in production: nothing is kept from inside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)
CHICAGO = dt.timezone(dt.timedelta(hours=-6))
NOON = dt.datetime(2007, 3, 1, 12, 0, tzinfo=CHICAGO)  # the demo's and seed's working day
# Read by every signed-in request, and by the key itself; none of them shows a fact.
NOT_FACTS = {"django_session", "auth_user", page_stamps.TABLE}


@pytest.fixture
def seed(transactional_db):
    """The demo book, with its seed grant's holder signed in to the portal."""
    with time_machine.travel(NOON):
        load_demo()
    return Grant.objects.select_related("optionee__user").get(number="VLNC-2005-0001")


@pytest.fixture
def akridge(client, seed):
    with time_machine.travel(NOON):
        client.force_login(seed.optionee.user)
    return client


def key_of(grant) -> str:
    return _person_key(grant.optionee.user_id)


def page(client, url="/") -> str:
    response = client.get(url, secure=True)
    assert response.status_code == 200, (url, response.status_code)
    return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", response.content.decode())


def tables_read(sql: str) -> set[str]:
    return set(re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?', sql))


def test_every_trigger_is_in_place_after_the_migrations():
    assert page_stamps.installed(connection) == page_stamps.expected_triggers(connection.vendor)


@time_machine.travel(NOON)
def test_the_cached_pages_read_only_stamped_tables(akridge, seed):
    """Drawn afresh, the dashboard, the grant page and the banner read nothing that a
    trigger does not stamp: a fact read anywhere else could change under a cached page."""
    caches["pages"].clear()
    read = set()
    for url in ["/", f"/grants/{seed.number}/", "/accounts/password/change/done/"]:
        with CaptureQueriesContext(connection) as queries:
            page(akridge, url)
        read |= {t for q in queries.captured_queries for t in tables_read(q["sql"])}
    assert read - NOT_FACTS <= set(page_stamps.TABLES), read - NOT_FACTS - set(page_stamps.TABLES)
    assert {"grants_grant", "grants_installment", "grants_exercise"} <= read


@time_machine.travel(NOON)
def test_a_page_served_again_is_the_page_drawn_afresh_and_reads_no_fact(akridge, seed):
    for url in ["/", f"/grants/{seed.number}/"]:
        caches["pages"].clear()
        drawn = page(akridge, url)
        with CaptureQueriesContext(connection) as queries:
            served = page(akridge, url)
        assert served == drawn
        read = {t for q in queries.captured_queries for t in tables_read(q["sql"])}
        assert read <= NOT_FACTS | {"grants_optionee", "grants_company", "grants_successor"}
        assert len(queries) == 3  # the session, the user and the person's stamps


@time_machine.travel(NOON)
def test_every_write_to_a_stamped_table_changes_the_key(seed):
    """An UPDATE of each table (even one that changes no value, written around the app),
    and the app's own inserts and deletes, each give the person a new key."""
    optionee, user = seed.optionee, seed.optionee.user
    hold = ExerciseHold.objects.create(optionee=optionee, start=dt.date(2007, 6, 1), reason="x")
    optionee.record_section16_liability(dt.date(2007, 7, 1), dt.date(2007, 7, 31))
    seed.acknowledge(user)
    seed.request_exercise(1000, NOON, payment_method="cash", payment_received=True)
    SuccessorFactory(optionee=optionee)
    Holiday.objects.create(company=seed.company, date=dt.date(2007, 12, 24))
    RegistrationSuspension.objects.create(company=seed.company, start=dt.date(2008, 1, 1))
    seed.optionee.terminate(dt.date(2007, 3, 1))
    rows_of = {
        "id": f"id = {optionee.pk}",
        "optionee_id": f"optionee_id = {optionee.pk}",
        "grant_id": f"grant_id = {seed.pk}",
    }
    for table in page_stamps.TABLES:
        column = page_stamps.BY_OPTIONEE.get(table)
        where = rows_of[column] if column else "1 = 1"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}")
            assert cursor.fetchone()[0], f"no row of {table} to change"
            before = _person_key(user.pk)
            cursor.execute(f"UPDATE {table} SET id = id WHERE {where}")
        assert _person_key(user.pk) != before, table

    def changes_the_key(write) -> None:
        before = _person_key(user.pk)
        write()
        assert _person_key(user.pk) != before, write

    company = seed.company
    changes_the_key(
        lambda: ClosingPrice.objects.create(
            company=company, date=dt.date(2007, 3, 2), price=Decimal("2.50")
        )
    )
    changes_the_key(lambda: ClosingPrice.objects.filter(date=dt.date(2007, 3, 2)).delete())
    changes_the_key(lambda: Holiday.objects.create(company=company, date=dt.date(2007, 3, 5)))
    changes_the_key(lambda: Holiday.objects.filter(date=dt.date(2007, 3, 5)).delete())
    changes_the_key(
        lambda: RegistrationSuspension.objects.create(company=company, start=dt.date(2007, 4, 1))
    )
    changes_the_key(hold.delete)
    changes_the_key(lambda: Acknowledgement.objects.filter(grant=seed).delete())
    changes_the_key(lambda: Installment.objects.filter(grant=seed).update(shares=1))


@time_machine.travel(NOON)
def test_someone_elses_writes_leave_the_key_alone(seed):
    other = Grant.objects.exclude(optionee=seed.optionee).first()
    before = key_of(seed)
    Installment.objects.filter(grant=other).update(shares=F("shares"))
    Grant.objects.filter(pk=other.pk).update(documents_version="2")
    assert key_of(seed) == before


def test_the_key_names_the_company_s_day(seed):
    with time_machine.travel(dt.datetime(2007, 3, 1, 23, 30, tzinfo=CHICAGO)):
        late = key_of(seed)
    with time_machine.travel(dt.datetime(2007, 3, 2, 0, 30, tzinfo=CHICAGO)):  # 06:30 UTC
        assert key_of(seed) != late
    with time_machine.travel(dt.datetime(2007, 3, 1, 8, 0, tzinfo=CHICAGO)):
        assert key_of(seed) == late


def test_what_the_dashboard_shows_follows_every_change(client, seed):
    def dashboard() -> str:
        return page(client, "/")

    with time_machine.travel(NOON):
        client.force_login(seed.optionee.user)
        first = dashboard()
        assert dashboard() == first  # served again
        seed.request_exercise(1000, NOON, payment_method="cash", payment_received=True)
        after_exercise = dashboard()
        assert after_exercise != first
        assert seed.position().exercised == 1000
        assert re.search(r"Exercised</dt><dd[^>]*>1,000<", after_exercise)
        ClosingPrice.objects.create(
            company=seed.company, date=dt.date(2007, 3, 1), price=Decimal("9.99")
        )
        assert "$9.99" in dashboard()
        assert "Valence Technology, Inc." in page(client, f"/grants/{seed.number}/")
        with connection.cursor() as cursor:  # a write around the app
            cursor.execute("UPDATE grants_company SET name = 'Renamed Battery Co.'")
        assert "Renamed Battery Co." in page(client, f"/grants/{seed.number}/")
    with time_machine.travel(NOON + dt.timedelta(days=1)):
        client.force_login(seed.optionee.user)
        next_day = dashboard()
        assert next_day != after_exercise  # today's values, not yesterday's


@time_machine.travel(NOON)
def test_a_cached_grant_page_is_still_a_404_for_anyone_else(client, seed):
    client.force_login(seed.optionee.user)
    page(client, f"/grants/{seed.number}/")
    client.force_login(UserFactory())
    assert client.get(f"/grants/{seed.number}/", secure=True).status_code == 404


@time_machine.travel(NOON)
def test_a_person_without_every_stamp_gets_pages_drawn_afresh(akridge, seed):
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {page_stamps.TABLE} WHERE kind = 'o'")
    assert key_of(seed) is None
    caches["pages"].clear()
    first = page(akridge, "/")
    assert "VLNC-2005-0001" in first
    assert len(caches["pages"]._cache) == 0  # nothing kept
    seed.request_exercise(1000, NOON, payment_method="cash", payment_received=True)
    assert key_of(seed) is not None  # the write stamped the optionee again
    assert page(akridge, "/") != first


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE")
@time_machine.travel(NOON)
def test_a_truncate_stamps_everyone(seed):
    seed.optionee.record_section16_liability(dt.date(2007, 7, 1), dt.date(2007, 7, 31))
    before = key_of(seed)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE grants_section16window")
    assert key_of(seed) != before


@time_machine.travel(NOON)
def test_inside_a_transaction_nothing_is_kept(akridge, seed):
    """A page drawn from a transaction's own writes would outlive its rollback."""
    caches["pages"].clear()
    with transaction.atomic():
        page(akridge, "/")
        page(akridge, f"/grants/{seed.number}/")
    assert len(caches["pages"]._cache) == 0
    page(akridge, "/")
    assert len(caches["pages"]._cache) == 2  # the dashboard and the banner
