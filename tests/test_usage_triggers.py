"""The sums behind each plan's reserve and the count of grants under each agreement form
are kept by database triggers (``grants/usage_triggers.py``): whatever writes the grants
table, in the app or around it, they stay what the book adds up to, and ``check_books``
says so when they do not."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Sum

from grants import usage_triggers
from grants.books import check_books
from grants.demo import load_demo
from grants.models import (
    Grant,
    GrantTerms,
    Plan,
    PlanUsage,
    Termination,
    TerminationWindow,
    TermsUsage,
)
from tests.factories import GrantFactory, PlanFactory

pytestmark = pytest.mark.django_db


def kept() -> tuple[dict, dict, dict]:
    plans = {u.plan_id: (u.granted, u.returned) for u in PlanUsage.objects.all()}
    terms = dict(TermsUsage.objects.values_list("terms_id", "grants"))
    windows = dict(
        TerminationWindow.objects.filter(termination__isnull=False).values_list(
            "termination_id", "last_day"
        )
    )
    return plans, terms, windows


def added_up() -> tuple[dict, dict, dict]:
    sums = {
        pk: (granted or 0, returned or 0)
        for pk, granted, returned in Plan.objects.annotate(
            granted=Sum("grants__shares"), returned=Sum("grants__returned_shares")
        ).values_list("pk", "granted", "returned")
    }
    counts = dict(GrantTerms.objects.annotate(n=Count("grants")).values_list("pk", "n"))
    # Each termination's last day, read from its optionee's grants one by one.
    windows = {}
    for termination in Termination.objects.all():
        outstanding = [
            g.expires_on
            for g in Grant.objects.filter(optionee_id=termination.optionee_id)
            if g.status == Grant.Status.GRANTED
        ]
        windows[termination.pk] = max(outstanding, default=None)
    return sums, counts, windows


def test_every_trigger_is_in_place_after_the_migrations():
    assert usage_triggers.installed(connection) == set(usage_triggers.TRIGGERS)


def test_the_verbs_of_the_demo_and_the_nightly_job_keep_the_sums():
    load_demo()
    assert kept() == added_up()
    assert any(kept()[2].values())  # a termination still inside its window
    call_command("expire_options", stdout=StringIO())
    assert kept() == added_up()
    assert PlanUsage.objects.filter(returned__gt=0).exists()  # expiries returned shares


def test_writes_around_the_app_keep_the_sums_too():
    grant = GrantFactory()
    other_plan = PlanFactory(company=grant.company)
    assert kept() == added_up()
    Grant.objects.filter(pk=grant.pk).update(returned_shares=F("shares"))  # an UPDATE
    assert kept() == added_up()
    Grant.objects.filter(pk=grant.pk).update(plan=other_plan, shares=F("shares") + 0)
    assert kept() == added_up()
    assert PlanUsage.objects.get(plan=other_plan).granted == grant.shares
    second = GrantFactory(plan=other_plan, optionee=grant.optionee)
    assert kept() == added_up()
    second.installments.all().delete()
    Grant.objects.filter(pk=second.pk).delete()  # a DELETE
    assert kept() == added_up()
    ended = grant.optionee.terminate(grant.grant_date + dt.timedelta(days=400))
    assert kept() == added_up()
    assert kept()[2][ended.pk] == Grant.objects.get(pk=grant.pk).expires_on
    Grant.objects.filter(pk=grant.pk).update(status=Grant.Status.EXPIRED)  # around the app
    assert kept()[2][ended.pk] is None
    Grant.objects.filter(pk=grant.pk).update(status=Grant.Status.GRANTED)
    ended.reverse("recorded in error")  # an UPDATE of the termination
    assert kept() == added_up()
    Termination.objects.filter(pk=ended.pk).delete()
    assert kept() == added_up()
    assert TermsUsage.objects.get(terms=grant.terms).grants == 1


def test_a_generated_book_written_in_bulk_keeps_the_sums():
    call_command("generate_book", "--grants", "300", "--due", "10", "--as-of", "2026-03-02")
    assert kept() == added_up()
    assert sum(granted for granted, _ in kept()[0].values()) == sum(
        Grant.objects.values_list("shares", flat=True)
    )


def test_check_books_says_when_the_kept_sums_are_wrong():
    grant = GrantFactory()
    assert [m for m in check_books(grant.company.today()) if not isinstance(m, int)] == []
    PlanUsage.objects.filter(plan=grant.plan).update(granted=F("granted") + 1)
    TermsUsage.objects.filter(terms=grant.terms).update(grants=F("grants") + 1)
    ended = grant.optionee.terminate(grant.grant_date + dt.timedelta(days=400))
    TerminationWindow.objects.filter(termination=ended).update(last_day=dt.date(2099, 1, 1))
    found = [str(m) for m in check_books(grant.company.today()) if not isinstance(m, int)]
    assert any("kept sums say" in text for text in found), found
    assert any("kept count says 2 grants, but 1" in text for text in found), found
    assert any("kept last day is 2099-01-01" in text for text in found), found
    usage_triggers.recount(connection)  # what mends them
    assert kept() == added_up()


def test_the_reserve_is_read_from_the_kept_sums():
    grant = GrantFactory()
    on = grant.grant_date
    plan = Plan.with_reserve({on: [grant.company.pk]}).get(pk=grant.plan.pk)
    assert plan.reserve_used_shares == grant.shares
    assert plan.reserve_available_shares == plan.share_reserve - grant.shares
    # A grant past its last day not yet expired by the nightly job uses only what was
    # exercised from it (nothing here), as the rules read the reserve today.
    later = grant.expires_on + dt.timedelta(days=1)
    plan = Plan.with_reserve({later: [grant.company.pk]}).get(pk=grant.plan.pk)
    assert plan.reserve_used_shares == 0
