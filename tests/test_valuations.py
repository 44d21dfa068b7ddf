"""Grant-date fair values: ``GrantValuation.record`` and ``import_valuations`` (all or
nothing, every bad line named with its number)."""

from __future__ import annotations

from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from grants import rules
from grants.models import ClosingPrice, GrantValuation
from grants.seed import SEED_GRANT_DATE, SEED_TERM_END, seed_installments
from grants.valuation import black_scholes_call, simplified_expected_term
from tests.factories import GrantFactory

pytestmark = pytest.mark.django_db
HEADER = (
    "grant_number,volatility,risk_free_rate,dividend_yield,expected_term_years,fair_value_per_share"
)


@pytest.fixture
def priced(grant):
    ClosingPrice.objects.create(company=grant.company, date=SEED_GRANT_DATE, price=D("2.99"))
    return grant


def test_the_simplified_term_and_black_scholes_value_the_seed_grant(priced):
    valuation = GrantValuation.record(priced, volatility=D("0.5"), risk_free_rate=D("0.04"))
    term = simplified_expected_term(
        SEED_GRANT_DATE,
        [rules.Installment(on, n) for on, n in seed_installments()],
        SEED_TERM_END,
    )
    # Average vesting: (225,000 x 365 + 56,250 x 11,511 days) / 1,000,000 = 729.62 days
    # = 1.9976 years; the term: 3,652 days = 9.9986 years; the midpoint 5.9981 years.
    assert term == D("5.9981")
    assert valuation.simplified_term
    assert valuation.expected_term_years == term
    assert valuation.spot == D("2.99")
    assert valuation.fair_value_per_share == black_scholes_call(
        D("2.99"), D("2.99"), term, D("0.5"), D("0.04"), D(0)
    )
    assert valuation.total == (valuation.fair_value_per_share * 1_000_000).quantize(D("0.01"))


def test_without_the_grant_date_s_closing_price_the_value_is_refused(grant):
    with pytest.raises(ValidationError) as error:
        GrantValuation.record(grant, volatility=D("0.5"), risk_free_rate=D("0.04"))
    assert error.value.code == "no_grant_date_price"
    assert "2005-07-13" in error.value.messages[0]
    assert not GrantValuation.objects.exists()


def test_an_outside_valuation_is_taken_as_given(grant):
    valuation = GrantValuation.record(grant, fair_value_per_share=D("1.2345"))
    assert valuation.outside_valuation
    assert valuation.fair_value_per_share == D("1.2345")
    assert valuation.total == D("1234500.00")


def csv_file(tmp_path, *lines: str) -> str:
    path = tmp_path / "valuations.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return str(path)


def test_the_import_values_each_grant(priced, tmp_path):
    other = GrantFactory(plan=priced.plan, number="OTHER-1")
    path = csv_file(
        tmp_path,
        "VLNC-2005-0001,0.5,0.04,,,",
        "OTHER-1,,,,,0.75",
        "",
    )
    out = StringIO()
    call_command("import_valuations", path, stdout=out)
    assert "grants valued: 2" in out.getvalue()
    assert GrantValuation.objects.get(grant=priced).expected_term_years == D("5.9981")
    assert GrantValuation.objects.get(grant=other).fair_value_per_share == D("0.75")
    # Again: the same values.
    call_command("import_valuations", path, stdout=StringIO())
    assert GrantValuation.objects.count() == 2


def test_every_bad_line_is_named_and_nothing_is_recorded(priced, tmp_path):
    path = csv_file(
        tmp_path,
        "VLNC-2005-0001,0.5,0.04,,,",  # good
        "NOPE-1,,,,,1.00",
        "VLNC-2005-0001,45%,0.04,,,",
        "VLNC-2005-0001,,0.04,,,",
        "VLNC-2005-0001,0.5,0.04,,,1.00",
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("import_valuations", path, stdout=out, stderr=err)
    errors = err.getvalue()
    assert "line 3: there is no grant numbered NOPE-1" in errors
    assert "line 4: volatility: “45%” is not a number" in errors
    assert "line 5: volatility missing" in errors
    assert "line 6: give either fair_value_per_share" in errors
    assert "Nothing was imported" in out.getvalue() + errors
    assert not GrantValuation.objects.exists()
