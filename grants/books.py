"""Ledger integrity: recompute the book from its rows and compare with what is stored.

Every stored figure that the rules derive (a grant's effective expiration date and clause,
its shares returned to the plan, its status; each exercise's price and aggregate) is
recomputed here from the rows with the same rule functions, and every difference is
reported. ``python manage.py check_books`` runs it; the UI tests run it after every test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from grants import rules
from grants.models import Exercise, Grant, Plan


@dataclass(frozen=True)
class Mismatch:
    what: str  # "grant VLNC-2005-0001", "plan Compensatory Benefit Plan"
    problem: str

    def __str__(self) -> str:
        return f"{self.what}: {self.problem}"


@dataclass(frozen=True)
class GrantFigures:
    """A grant's shares by state, recomputed from its rows."""

    shares: int
    vested: int
    exercised: int
    forfeited: int
    expired: int

    @property
    def outstanding(self) -> int:
        return self.shares - self.exercised - self.forfeited - self.expired


def grant_figures(grant: Grant, on: dt.date) -> GrantFigures:
    facts = grant.facts()
    forfeited = rules.forfeited_shares(facts.installments, facts.service_end)
    expired = (
        max(0, grant.shares - facts.exercised - forfeited)
        if grant.status == Grant.Status.EXPIRED
        else 0
    )
    return GrantFigures(
        shares=grant.shares,
        vested=rules.vested_shares(facts.installments, on, facts.service_end),
        exercised=facts.exercised,
        forfeited=forfeited,
        expired=expired,
    )


def check_grant(grant: Grant, on: dt.date) -> Iterator[Mismatch]:
    """Every difference between a grant's stored figures and its recomputed ones."""
    what = f"grant {grant.number}"
    facts = grant.facts()
    figures = grant_figures(grant, on)
    scheduled = sum(i.shares for i in facts.installments)
    if scheduled != grant.shares:
        yield Mismatch(what, f"installments add up to {scheduled:,}, not {grant.shares:,}")
    if figures.exercised > grant.shares - figures.forfeited:
        yield Mismatch(
            what,
            f"{figures.exercised:,} shares exercised but only {grant.shares - figures.forfeited:,} "
            f"ever vest (a termination recorded after the exercises?): review the exercises",
        )
    returned = figures.forfeited + figures.expired
    if grant.returned_shares != returned:
        yield Mismatch(
            what, f"stored returned shares {grant.returned_shares:,}, recomputed {returned:,}"
        )
    expires = grant.expiration(as_of=on, facts=facts)
    paused = expires != grant.expiration(as_of=on + dt.timedelta(days=1), facts=facts)
    if not paused and grant.status != Grant.Status.EXPIRED:
        stored = (grant.expires_on, grant.expiration_clause)
        if stored != (expires.on, expires.clause):
            yield Mismatch(
                what,
                f"stored expiration {stored[0]:%Y-%m-%d} ({stored[1]}), recomputed "
                f"{expires.on:%Y-%m-%d} ({expires.clause})",
            )
    if grant.status == Grant.Status.EXPIRED and on <= expires.on and not paused:
        yield Mismatch(what, f"marked expired but exercisable through {expires.on:%Y-%m-%d}")
    fully_exercised = figures.exercised >= grant.shares - figures.forfeited
    if grant.status == Grant.Status.EXERCISED and not fully_exercised:
        yield Mismatch(what, "marked fully exercised but shares remain unexercised")
    if grant.status == Grant.Status.GRANTED and fully_exercised and figures.exercised:
        yield Mismatch(what, "every share is exercised but the grant is not marked exercised")
    for exercise in grant.exercises.all():
        yield from check_exercise(grant, exercise)


def check_exercise(grant: Grant, exercise: Exercise) -> Iterator[Mismatch]:
    what = f"exercise {exercise.pk} of grant {grant.number}"
    expected = rules.aggregate_price(exercise.shares, exercise.price_per_share)
    if exercise.aggregate_price != expected:
        yield Mismatch(what, f"aggregate price {exercise.aggregate_price}, recomputed {expected}")
    if exercise.price_per_share != grant.exercise_price:
        yield Mismatch(
            what,
            f"price {exercise.price_per_share} differs from the grant's {grant.exercise_price}",
        )
    if exercise.status == Exercise.Status.ISSUED and exercise.payment_received_on is None:
        yield Mismatch(what, "shares issued without a recorded payment")


def check_plan(plan: Plan) -> Iterator[Mismatch]:
    used = plan.reserve_used()
    if used > plan.share_reserve:
        yield Mismatch(
            f"plan {plan.name}",
            f"{used:,} shares in use exceed the reserve of {plan.share_reserve:,}",
        )


def check_books(on: dt.date, *, chunk_size: int = 2000) -> Iterator[Mismatch | int]:
    """Every mismatch in the book on ``on``; yields the number of grants checked as it goes
    (an int after each chunk) so a command can show progress."""
    checked = 0
    grants = Grant.objects.with_facts().order_by("pk")
    for grant in grants.iterator(chunk_size=chunk_size):
        yield from check_grant(grant, on)
        checked += 1
        if checked % chunk_size == 0:
            yield checked
    yield checked
    for plan in Plan.objects.all():
        yield from check_plan(plan)
