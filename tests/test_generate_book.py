import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from grants.books import check_books
from grants.models import Grant, Installment

pytestmark = pytest.mark.django_db


def test_a_generated_book_is_balanced_and_exactly_m_grants_are_due():
    as_of = dt.date(2026, 3, 2)
    out = StringIO()
    call_command(
        "generate_book", "--grants", "400", "--due", "20", "--as-of", "2026-03-02", stdout=out
    )
    assert "Generated 400 grants" in out.getvalue()
    assert Grant.objects.count() == 400
    assert 10 * 400 < Installment.objects.count() < 25 * 400
    problems = [str(m) for m in check_books(as_of) if not isinstance(m, int)]
    assert problems == []
    due = Grant.objects.filter(status="granted", next_action_on__lte=as_of)
    assert due.count() == 20
    summary = StringIO()
    call_command("expire_options", "--as-of", "2026-03-02", stdout=summary)
    assert "grants due: 20" in summary.getvalue()
    expired = Grant.objects.filter(status="expired", expires_on=dt.date(2026, 3, 1)).count()
    warned = Grant.objects.filter(notices__kind="expiry_warning").count()
    assert expired > 0
    assert warned > 0
    assert expired + warned == 20


@pytest.mark.skipif(connection.vendor != "postgresql", reason="VACUUM is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_book_generated_outside_a_transaction_is_vacuumed():
    """A settled book: its tables' visibility maps set, as autovacuum would leave them, so
    the back office's counts read indexes alone (docs/operations.md)."""
    call_command("generate_book", "--grants", "200", "--due", "5", stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT relallvisible FROM pg_class WHERE relname = 'grants_grant'")
        assert cursor.fetchone()[0] > 0
