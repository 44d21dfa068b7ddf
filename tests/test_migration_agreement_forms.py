"""Existing forms are migrated to agreement-form data with no change to any grant's dates or
share counts (issue 15): a book written under the old schema (terms as a handful of months,
the reasons "other", "disability" and "death", clauses named by the seed's paragraphs) is
migrated, and every grant's recomputed expiration is the one it had stored."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from grants import rules

BEFORE = [("grants", "0016_identifiers_safe_characters")]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.django_db(transaction=True)
def test_old_terms_become_forms_and_no_grant_moves():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    company = old.get_model("grants", "Company").objects.create(name="Old Book Inc.")
    plan = old.get_model("grants", "Plan").objects.create(
        company=company, name="Old plan", share_reserve=10_000_000
    )
    Terms = old.get_model("grants", "GrantTerms")
    seed = Terms.objects.create(name="Old standard")  # the seed's numbers, as defaults
    longer = Terms.objects.create(
        name="Old generous",
        months_after_termination=6,
        months_after_disability=24,
        months_after_death=12,
        registration_tolling=False,
        section16_extension=False,
    )
    Optionee = old.get_model("grants", "Optionee")
    Grant = old.get_model("grants", "Grant")
    Termination = old.get_model("grants", "Termination")
    stored = {}
    cases = [
        (seed, "other", d("2008-01-31"), d("2008-04-30"), "5b"),
        (seed, "disability", d("2008-02-29"), d("2009-02-28"), "5b(i)"),
        (seed, "death", d("2008-01-31"), d("2009-07-31"), "5b(ii)"),
        (longer, "other", d("2008-01-31"), d("2008-07-31"), "5b"),
        (longer, "disability", d("2008-01-31"), d("2010-01-31"), "5b(i)"),
        (longer, None, None, d("2015-07-13"), "5a"),
    ]
    for i, (terms, reason, on, expires, clause) in enumerate(cases):
        optionee = Optionee.objects.create(company=company, legal_name=f"Person {i}")
        grant = Grant.objects.create(
            number=f"OLD-{i}",
            plan=plan,
            optionee=optionee,
            terms=terms,
            grant_date=d("2005-07-13"),
            shares=1_000,
            exercise_price=Decimal("2.99"),
            term_end=d("2015-07-13"),
            expires_on=expires,
            expiration_clause=clause,
        )
        grant.installments.create(vest_date=d("2006-07-13"), shares=1_000)
        if reason:
            Termination.objects.create(
                optionee=optionee,
                on=on,
                reason=reason,
                date_of_death=on if reason == "death" else None,
            )
        stored[grant.number] = expires

    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from grants.models import Grant as NewGrant
    from grants.models import GrantTerms
    from grants.models import Termination as NewTermination

    assert set(NewTermination.objects.values_list("reason", flat=True)) == {
        "INVOLUNTARY_OTHER",
        "INVOLUNTARY_DISABILITY",
        "INVOLUNTARY_DEATH",
    }
    for grant in NewGrant.objects.filter(number__startswith="OLD-"):
        expires = grant.expiration(as_of=d("2026-01-01"))
        assert expires.on == stored[grant.number], grant.number
        assert grant.expiration_clause in ("term", "window")
        assert grant.vested_shares(d("2007-01-01")) == 1_000
    seed_form = GrantTerms.objects.get(name="Old standard").as_rules()
    assert set(seed_form.windows) == set(rules.Terms().windows)
    generous = GrantTerms.objects.get(name="Old generous").as_rules()
    assert generous.window("VOLUNTARY_RETIREMENT").words == "6 months"
    assert generous.window("INVOLUNTARY_DISABILITY").words == "2 years"
    assert not any(w.tolling or w.section16 for w in generous.windows)
