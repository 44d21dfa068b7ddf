"""factory-boy factories for rows beyond the seed grant, and a guard for refusals.

Grants are made through ``Grant.create`` (the verb that checks the schedule and the plan),
never by writing rows directly, so a factory-made grant is one the software would accept.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

import factory
from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from grants import rules
from grants.models import (
    Company,
    Exercise,
    Grant,
    GrantTerms,
    Installment,
    Notice,
    NoticeAddress,
    Optionee,
    Plan,
    RegistrationSuspension,
    Section16Window,
    Successor,
    Termination,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}, Inc.")
    time_zone = "America/Chicago"


class PlanFactory(DjangoModelFactory):
    class Meta:
        model = Plan

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Plan {n}")
    share_reserve = 5_000_000
    max_term_years = 10


class GrantTermsFactory(DjangoModelFactory):
    """An agreement form: the seed's terms unless ``terms`` (a ``rules.Terms``) says
    otherwise, e.g. ``rules.Terms().with_window("INVOLUNTARY_OTHER", period=12)``."""

    class Meta:
        model = GrantTerms

    class Params:
        terms = factory.LazyFunction(rules.Terms)

    name = factory.Sequence(lambda n: f"Terms {n}")
    minimum_exercise = factory.LazyAttribute(lambda o: o.terms.minimum_exercise)
    small_installment_exception = factory.LazyAttribute(
        lambda o: o.terms.small_installment_exception
    )
    final_exercise_exception = factory.LazyAttribute(lambda o: o.terms.final_exercise_exception)
    windows = factory.LazyAttribute(lambda o: GrantTerms.fields_of(o.terms)["windows"])
    section16_days_after_liability = factory.LazyAttribute(
        lambda o: o.terms.section16_days_after_liability
    )
    section16_cap_months = factory.LazyAttribute(lambda o: o.terms.section16_cap_months)
    section16_cap_days = factory.LazyAttribute(lambda o: o.terms.section16_cap_days)
    payment_methods = factory.LazyAttribute(lambda o: list(o.terms.payment_methods))
    mail_notice_days = factory.LazyAttribute(lambda o: o.terms.mail_notice_days)


class OptioneeFactory(DjangoModelFactory):
    class Meta:
        model = Optionee

    company = factory.SubFactory(CompanyFactory)
    legal_name = factory.Sequence(lambda n: f"Optionee {n}")
    employee_id = factory.Sequence(lambda n: f"F-{n:04d}")
    relationship = Optionee.Relationship.EMPLOYEE
    user = None

    class Params:
        with_user = factory.Trait(user=factory.SubFactory(UserFactory))


class SuccessorFactory(DjangoModelFactory):
    class Meta:
        model = Successor

    optionee = factory.SubFactory(OptioneeFactory)
    name = factory.Sequence(lambda n: f"Estate {n}")
    user = factory.SubFactory(UserFactory)
    document = Successor.Document.WILL
    document_reference = factory.Sequence(lambda n: f"Probate No. {1000 + n}")
    recorded_on = dt.date(2008, 3, 1)


class GrantFactory(factory.Factory):
    """A grant made through ``Grant.create``; by default one installment at grant date."""

    class Meta:
        model = Grant

    number = factory.Sequence(lambda n: f"TEST-{n:05d}")
    plan = factory.SubFactory(PlanFactory)
    optionee = factory.SubFactory(OptioneeFactory, company=factory.SelfAttribute("..plan.company"))
    grant_date = dt.date(2006, 1, 3)
    shares = 10_000
    exercise_price = Decimal("3.50")
    term_end = factory.LazyAttribute(lambda o: o.grant_date + relativedelta(years=10))
    installments = factory.LazyAttribute(lambda o: [(o.grant_date, o.shares)])
    option_type = Grant.Type.NSO
    grant_terms = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.create(**kwargs)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):  # pragma: no cover - not used
        raise NotImplementedError("Grants are only made through Grant.create.")


# --------------------------------------------------------------------------- refusals


def book_state(*grants: Grant) -> dict:
    """Everything a refused verb must leave alone: row counts and each grant's stored fields."""
    state: dict = {
        model.__name__: model.objects.count()
        for model in (
            Grant,
            Installment,
            Exercise,
            Notice,
            NoticeAddress,
            Termination,
            RegistrationSuspension,
            Section16Window,
        )
    }
    state["Grant.history"] = Grant.history.count()
    state["Exercise.history"] = Exercise.history.count()
    state["Termination.history"] = Termination.history.count()
    for grant in grants:
        state[grant.number] = Grant.objects.filter(pk=grant.pk).values(
            "status",
            "expires_on",
            "expiration_clause",
            "returned_shares",
            "shares",
            "exercise_price",
            "term_end",
        )[0]
        state[f"{grant.number}.exercises"] = list(
            Exercise.objects.filter(grant=grant)
            .order_by("pk")
            .values_list("pk", "status", "shares", "payment_received_on", "shares_issued_on")
        )
    return state


@contextmanager
def changes_nothing(*grants: Grant):
    """Assert the block leaves the book exactly as it found it (use around a refusal)."""
    before = book_state(*grants)
    yield
    assert book_state(*grants) == before
