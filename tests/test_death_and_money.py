"""Paragraph 7 after a death that follows an earlier end of service; money is never float."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from grants import rules
from tests.conftest import d
from tests.factories import UserFactory


def test_death_after_termination_keeps_the_window_and_hands_exercise_to_the_successor(grant):
    optionee = grant.optionee
    optionee.user = UserFactory()
    optionee.save()
    optionee.terminate(d("2008-01-31"), "other")
    optionee.record_death(d("2008-02-15"))
    assert grant.expiration_date() == d("2008-04-30")  # 5b(ii) is for a termination by death
    heir = UserFactory()
    optionee.successors.create(
        name="Estate of J. R. Akridge",
        user=heir,
        document="will",
        document_reference="Probate 2008-123",
    )
    with pytest.raises(ValidationError) as refused:
        grant.request_exercise(1_000, d("2008-03-03"), payment_method="cash", by=optionee.user)
    assert refused.value.code == "not_successor"
    exercise = grant.request_exercise(1_000, d("2008-03-03"), payment_method="cash", by=heir)
    assert exercise.successor.name == "Estate of J. R. Akridge"


def test_record_death_is_refused_while_in_service(grant):
    with pytest.raises(ValidationError) as refused:
        grant.optionee.record_death(d("2008-02-15"))
    assert refused.value.code == "in_service"
    grant.optionee.refresh_from_db()
    assert grant.optionee.date_of_death is None


def test_record_death_before_the_end_of_service_is_refused(grant):
    grant.optionee.terminate(d("2008-01-31"), "other")
    with pytest.raises(ValidationError) as refused:
        grant.optionee.record_death(d("2008-01-15"))
    assert refused.value.code == "death_before_termination"


@pytest.mark.parametrize(
    "call",
    [
        lambda: rules.aggregate_price(1000, 2.99),
        lambda: rules.taxable_spread(1000, Decimal("2.99"), 3.5),
        lambda: rules.withholding_estimate(1000, Decimal("2.99"), Decimal("3.50"), [("x", 0.22)]),
    ],
)
def test_money_as_float_is_refused(call):
    with pytest.raises(TypeError):
        call()
