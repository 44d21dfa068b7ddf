"""Previews show what an exercise or a termination would do, and write nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from grants.models import ClosingPrice, Exercise, Notice, Termination, WithholdingRate
from tests.conftest import d


@pytest.fixture
def priced(grant):
    ClosingPrice.objects.create(company=grant.company, date=d("2007-04-30"), price=Decimal("4.10"))
    WithholdingRate.objects.create(company=grant.company, name="Federal", rate=Decimal("0.22"))
    WithholdingRate.objects.create(company=grant.company, name="Medicare", rate=Decimal("0.0145"))
    return grant


def test_exercise_preview_shows_price_spread_and_withholding_and_writes_nothing(priced):
    preview = priced.preview_exercise(10_000, d("2007-05-01"), payment_method="cash")
    assert preview.exercise_date == d("2007-05-01")
    assert preview.aggregate_price == Decimal("29900.00")
    assert preview.fair_market_value == Decimal("4.10")  # latest close on or before the day
    assert preview.fair_market_value_date == d("2007-04-30")
    assert preview.taxable_spread == Decimal("11100.00")
    assert preview.withholding == [("Federal", Decimal("2442.00")), ("Medicare", Decimal("160.95"))]
    assert preview.withholding_total == Decimal("2602.95")
    assert not Exercise.objects.exists()
    assert not Notice.objects.exists()


def test_exercise_preview_gives_the_deemed_receipt_date(priced):
    friday_evening = dt.datetime(2007, 5, 4, 17, 0, tzinfo=priced.company.calendar().zone)
    preview = priced.preview_exercise(1_000, friday_evening, payment_method="regt")
    assert preview.exercise_date == d("2007-05-07")


def test_exercise_preview_refuses_what_the_exercise_would_refuse(priced):
    with pytest.raises(ValidationError) as refused:
        priced.preview_exercise(999, d("2005-07-13"), payment_method="cash")
    assert refused.value.code == "below_minimum"


def test_exercise_preview_without_a_closing_price_has_no_tax_estimate(grant):
    preview = grant.preview_exercise(1_000, d("2007-05-01"), payment_method="check")
    assert preview.fair_market_value is None
    assert preview.taxable_spread is None
    assert preview.withholding == []


def test_termination_preview_shows_vested_forfeited_and_the_new_expiration(grant):
    grant.request_exercise(100_000, d("2006-01-03"), payment_method="cash")
    [effect] = grant.optionee.preview_termination(d("2008-01-31"), "other")
    assert effect.grant == grant
    assert effect.vested == 662_500  # 100,000 + 225,000 + 6 x 56,250
    assert effect.forfeited == 337_500
    assert effect.exercised == 100_000
    assert effect.exercisable_after == 562_500
    assert effect.expires_before.on == d("2015-07-13")
    assert (effect.expires.on, effect.expires.clause) == (d("2008-04-30"), "window")
    assert not Termination.objects.exists()
    grant.refresh_from_db()
    assert grant.expires_on == d("2015-07-13")


def test_termination_preview_for_disability_and_death(grant):
    [disability] = grant.optionee.preview_termination(d("2008-01-31"), "disability")
    assert (disability.expires.on, disability.expires.clause) == (d("2009-01-31"), "window")
    [death] = grant.optionee.preview_termination(d("2008-01-31"), "death")
    assert (death.expires.on, death.expires.clause) == (d("2009-07-31"), "window")


def test_termination_preview_refuses_a_second_termination(grant):
    grant.optionee.terminate(d("2008-01-31"), "other")
    with pytest.raises(ValidationError) as refused:
        grant.optionee.preview_termination(d("2008-02-28"), "other")
    assert refused.value.code == "already_terminated"


def test_a_grant_priced_below_the_closing_price_on_its_grant_date_is_refused(grant):
    from grants.models import Grant

    ClosingPrice.objects.create(company=grant.company, date=d("2026-03-02"), price=Decimal("5.00"))
    args = {
        "plan": grant.plan,
        "optionee": grant.optionee,
        "grant_date": d("2026-03-02"),
        "shares": 1_000,
        "term_end": d("2036-03-02"),
        "installments": [(d("2026-03-02"), 1_000)],
    }
    with pytest.raises(ValidationError) as refused:
        Grant.create(number="LOW-1", exercise_price=Decimal("4.99"), **args)
    assert refused.value.code == "price_below_fmv"
    assert not Grant.objects.filter(number="LOW-1").exists()
    assert Grant.create(number="AT-FMV", exercise_price=Decimal("5.00"), **args).pk
