"""The option table always balances: start + granted - exercised - forfeited - expired =
end, in shares and in share-dollars, on random books (hypothesis), on the demo and on a
generated book; and each grant's movements account for all its shares."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from dateutil.relativedelta import relativedelta
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from grants import rules
from grants.books import check_rollforward
from grants.demo import load_demo
from grants.models import Company
from grants.rollforward import EXERCISED, GRANTED, Option, movements, table, vested
from grants.services import reports
from grants.services.reports import option_rollforward

BASE = dt.date(2015, 1, 1)


@st.composite
def options(draw):
    """A grant that could be in the book: exercises only of vested shares while the option
    lasts; a termination or forfeiture perhaps."""
    granted = BASE + dt.timedelta(days=draw(st.integers(0, 2000)))
    months = sorted(draw(st.sets(st.integers(0, 48), min_size=1, max_size=6)))
    installments = [
        rules.Installment(granted + relativedelta(months=m), draw(st.integers(1, 5000)))
        for m in months
    ]
    shares = sum(i.shares for i in installments)
    termination = draw(st.none() | st.integers(0, 3000))
    termination_on = None if termination is None else granted + dt.timedelta(days=termination)
    forfeiture = draw(st.none() | st.integers(1, 3000))
    forfeited_on = None if forfeiture is None else granted + dt.timedelta(days=forfeiture)
    term_end = granted + relativedelta(years=10)
    expires_on = term_end
    if termination_on is not None:
        expires_on = min(term_end, termination_on + relativedelta(months=3))
    option = Option(
        grant_date=granted,
        shares=shares,
        exercise_price=draw(st.decimals(D("0.01"), D("99"), places=2)),
        installments=installments,
        expires_on=expires_on,
        termination_on=termination_on,
        accelerated=termination_on is not None and draw(st.booleans()),
        forfeited_on=forfeited_on,
    )
    exercises, taken = [], 0
    last = expires_on if forfeited_on is None else min(expires_on, forfeited_on - dt.timedelta(1))
    for offset in sorted(draw(st.lists(st.integers(0, 4000), max_size=4))):
        on = granted + dt.timedelta(days=offset)
        available = vested(option, on) - taken
        if on > last or available <= 0:
            continue
        count = draw(st.integers(1, available))
        exercises.append((on, count, draw(st.none() | st.decimals(D("0.01"), D("99"), places=2))))
        taken += count
    return Option(**{**option.__dict__, "exercises": exercises})


PERIOD = st.tuples(st.integers(0, 6000), st.integers(0, 2000))


@settings(max_examples=300, deadline=None)
@given(st.lists(options(), max_size=12), PERIOD, st.none() | st.decimals(D(1), D(50), places=2))
def test_the_table_balances_on_random_books(book, period, price):
    start = BASE + dt.timedelta(days=period[0])
    end = start + dt.timedelta(days=period[1])
    result = table(book, start, end, price)
    assert result.balances
    for name in result.LINES:
        assert getattr(result, name).shares >= 0, name
    assert result.exercisable_end.shares <= result.outstanding_end.shares


@settings(max_examples=300, deadline=None)
@given(options())
def test_every_share_of_a_grant_leaves_once(option):
    moves = movements(option)
    granted = sum(m.shares for m in moves if m.kind == GRANTED)
    left = sum(m.shares for m in moves if m.kind != GRANTED)
    assert granted == left == option.shares
    assert all(m.shares > 0 for m in moves)
    assert sum(m.shares for m in moves if m.kind == EXERCISED) <= option.shares


def balanced_over_the_years(company: Company, first: int, last: int) -> None:
    """Each year's table balances, and the sums in the database (``_add_plain``) give the
    table that reading every grant one by one gives."""
    for year in range(first, last + 1):
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        for restate in (False, True):
            result = option_rollforward(company, start, end, restate=restate)
            assert result.balances, (company, year)
            assert all(getattr(result, n).shares >= 0 for n in result.LINES), (company, year)
            book = reports._Book(company, None, end, restate)
            every_grant = reports.options(book, book.grants())
            one_by_one = table((option for _, option in every_grant), start, end, result.price)
            assert one_by_one.as_dict() == result.as_dict(), (company, year, restate)


@pytest.mark.django_db
def test_the_demo_book_balances_every_year():
    load_demo()
    for company in Company.objects.all():
        balanced_over_the_years(company, 2004, company.today().year)


@pytest.mark.django_db
def test_a_generated_book_balances_and_check_books_says_so():
    call_command("generate_book", "--grants", "300", "--due", "10", "--as-of", "2026-03-02")
    company = Company.objects.get(name__startswith="Synthetic")
    balanced_over_the_years(company, 2014, 2026)
    assert list(check_rollforward(dt.date(2026, 3, 2))) == []
