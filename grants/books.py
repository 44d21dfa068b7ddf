"""Ledger integrity: recompute the book from its rows and compare with what is stored.

Every stored figure that the rules derive (a grant's effective expiration date and clause,
its shares returned to the plan, its status; each exercise's price and aggregate) is
recomputed here from the rows and every difference is reported. ``python manage.py
check_books`` runs it; the UI tests run it after every test.

It must get through a book of a million grants (sixteen million installments) in well
under a minute, so the rows are not loaded as model objects. One aggregate query streams,
for each grant, its stored figures beside the sums of its rows: shares scheduled in its
installments, shares exercised (cancelled exercises aside), shares forfeited (installments
vesting after the standing termination, paragraph 5c, as ``rules.forfeited_shares``
reads them) and the standing termination. Each row is then checked in Python with the same
rule functions the verbs use (``rules.expiration`` for the date and clause). The test
suite checks that these sums equal what ``Grant.facts()`` gives for every grant of random
books (tests/test_books_properties.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, F, OuterRef, Subquery

from grants import rules
from grants.models import (
    Exercise,
    ExerciseHold,
    Grant,
    GrantTerms,
    Installment,
    Plan,
    RegistrationSuspension,
    Section16Window,
    Termination,
)


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
    forfeited = facts.forfeited
    expired = (
        rules.unexercised_shares(shares=grant.shares, exercised=facts.made, forfeited=forfeited)
        if grant.status in Grant.ENDED
        else 0
    )
    return GrantFigures(
        shares=grant.shares,
        vested=facts.vested(on),
        exercised=facts.exercised,
        forfeited=forfeited,
        expired=expired,
    )


class LedgerRow(NamedTuple):
    """One grant's stored figures beside the sums of its rows (a tuple: a million of them
    are made in a check)."""

    pk: int
    number: str
    shares: int
    status: str
    returned_shares: int
    expires_on: dt.date
    expiration_clause: str
    term_end: dt.date
    terms_id: int
    company_id: int
    optionee_id: int
    scheduled: int
    exercised: int  # exercised or reserved by a pending request
    pending: int  # of ``exercised``, reserved by pending requests
    latest_unreviewed: dt.date | None  # the latest exercise made and not reviewed
    forfeited: int
    termination: rules.Termination | None

    @classmethod
    def of(cls, grant: Grant) -> LedgerRow:
        """The same row, from a grant's ``facts()`` (what the aggregate query must equal)."""
        facts = grant.facts()
        return cls(
            pk=grant.pk,
            number=grant.number,
            shares=grant.shares,
            status=grant.status,
            returned_shares=grant.returned_shares,
            expires_on=grant.expires_on,
            expiration_clause=grant.expiration_clause,
            term_end=grant.term_end,
            terms_id=grant.terms_id,
            company_id=grant.plan.company_id,
            optionee_id=grant.optionee_id,
            scheduled=sum(i.shares for i in facts.installments),
            exercised=facts.exercised,
            pending=facts.pending,
            latest_unreviewed=max(
                grant.exercises.filter(
                    status__in=Exercise.MADE, reviewed_on__isnull=True
                ).values_list("exercise_date", flat=True),
                default=None,
            ),
            # As the ledger query sums them: installments after the termination (``check_row``
            # then reads the form, which may accelerate them).
            forfeited=rules.forfeited_shares(facts.installments, facts.service_end),
            termination=facts.termination,
        )


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def ledger_query() -> str:
    grant, plan = _table(Grant), _table(Plan)
    installment, exercise, termination = _table(Installment), _table(Exercise), _table(Termination)
    made = ", ".join(f"'{status}'" for status in Exercise.MADE)
    taken = ", ".join(f"'{status}'" for status in Exercise.TAKEN)
    return f"""
        WITH scheduled AS (
            SELECT grant_id, SUM(shares) AS shares FROM {installment} GROUP BY grant_id
        ), exercised AS (
            SELECT grant_id, SUM(shares) AS shares,
                   SUM(CASE WHEN status = '{Exercise.Status.REQUESTED}' THEN shares ELSE 0 END)
                       AS pending,
                   MAX(CASE WHEN status IN ({made}) AND reviewed_on IS NULL
                       THEN exercise_date END) AS latest_unreviewed
            FROM {exercise}
            WHERE status IN ({taken}) GROUP BY grant_id
        ), standing AS (
            SELECT optionee_id, "on", reason FROM {termination} WHERE reversed_at IS NULL
        ), forfeited AS (
            SELECT i.grant_id, SUM(i.shares) AS shares
            FROM {installment} i
            JOIN {grant} g ON g.id = i.grant_id
            JOIN standing t ON t.optionee_id = g.optionee_id
            WHERE i.vest_date > t."on"
            GROUP BY i.grant_id
        )
        SELECT g.id, g.number, g.shares, g.status, g.returned_shares, g.expires_on,
               g.expiration_clause, g.term_end, g.terms_id, p.company_id, g.optionee_id,
               COALESCE(s.shares, 0), COALESCE(e.shares, 0), COALESCE(e.pending, 0),
               e.latest_unreviewed, COALESCE(f.shares, 0), t."on", t.reason
        FROM {grant} g
        JOIN {plan} p ON p.id = g.plan_id
        LEFT JOIN scheduled s ON s.grant_id = g.id
        LEFT JOIN exercised e ON e.grant_id = g.id
        LEFT JOIN forfeited f ON f.grant_id = g.id
        LEFT JOIN standing t ON t.optionee_id = g.optionee_id
        ORDER BY g.id
    """


def ledger_rows(chunk_size: int = 10_000) -> Iterator[LedgerRow]:
    """Every grant's ledger row, streamed (a server-side cursor on PostgreSQL)."""
    if connection.vendor == "postgresql":
        # One big read: enough memory to hash and sort in RAM, and no JIT compilation
        # (it costs more than it saves here; see docs/performance.md).
        with connection.cursor() as cursor:
            cursor.execute("SET work_mem = '256MB'; SET jit = off")
        try:
            yield from _stream(chunk_size)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET work_mem; RESET jit")
    else:
        yield from _stream(chunk_size)


def _stream(chunk_size: int) -> Iterator[LedgerRow]:
    with connection.chunked_cursor() as cursor:
        cursor.execute(ledger_query())
        while rows := cursor.fetchmany(chunk_size):
            for pk, number, shares, status, returned, expires_on, clause, term_end, *rest in rows:
                terms_id, company_id, optionee_id, scheduled, exercised, pending = rest[:6]
                latest, forfeited, on, reason = rest[6:]
                yield LedgerRow(
                    pk,
                    number,
                    shares,
                    status,
                    returned,
                    _date(expires_on),
                    clause,
                    _date(term_end),
                    terms_id,
                    company_id,
                    optionee_id,
                    scheduled,
                    exercised,
                    pending,
                    _date(latest) if latest else None,
                    forfeited,
                    termination=rules.Termination(_date(on), reason) if on else None,
                )


def _date(value) -> dt.date:
    # SQLite hands back text for a column read through a CTE.
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


class _Rules:
    """What the expiration rule needs besides the row, read once for the whole book."""

    def __init__(self, on: dt.date):
        self.on, self.tomorrow = on, on + dt.timedelta(days=1)
        self.terms = {t.pk: t.as_rules() for t in GrantTerms.objects.all()}
        self.suspensions = defaultdict(list)
        for company_id, start, end in RegistrationSuspension.objects.values_list(
            "company_id", "start", "end"
        ):
            self.suspensions[company_id].append(rules.Period(start, end))
        self.windows = defaultdict(list)
        for optionee_id, start, end in Section16Window.objects.values_list(
            "optionee_id", "start", "end"
        ):
            self.windows[optionee_id].append(rules.Period(start, end))

        # Many grants share an end of term and have no termination: their expirations are
        # the same call to the same pure rule, so it is made once.
        self._expiration = lru_cache(maxsize=100_000)(self._compute)

    def expiration(self, row: LedgerRow, today: dt.date) -> rules.Expiration:
        windowed = row.optionee_id if row.optionee_id in self.windows else None
        return self._expiration(
            row.term_end, row.terms_id, row.company_id, row.termination, windowed, today
        )

    def _compute(self, term_end, terms_id, company_id, termination, optionee_id, today):
        return rules.expiration(
            term_end=term_end,
            terms=self.terms[terms_id],
            termination=termination,
            suspensions=self.suspensions[company_id],
            liability_windows=self.windows.get(optionee_id, ()),
            today=today,
        )


def check_row(row: LedgerRow, context: _Rules) -> Iterator[Mismatch]:
    """Every difference between a grant's stored figures and those recomputed from its
    rows."""
    what = f"grant {row.number}"
    if context.terms[row.terms_id].accelerates(row.termination):
        row = row._replace(forfeited=0)  # every unvested share vested at termination
    if row.scheduled != row.shares:
        yield Mismatch(what, f"installments add up to {row.scheduled:,}, not {row.shares:,}")
    ever_vest = row.shares - row.forfeited
    made = row.exercised - row.pending
    if row.exercised > ever_vest:
        yield Mismatch(
            what,
            f"{row.exercised:,} shares exercised but only {ever_vest:,} "
            f"ever vest (a termination recorded after the exercises?): review the exercises",
        )
    expired = row.status in Grant.ENDED
    returned = rules.returned_shares(
        shares=row.shares, exercised=made, forfeited=row.forfeited, expired=expired
    )
    if row.returned_shares != returned:
        yield Mismatch(
            what, f"stored returned shares {row.returned_shares:,}, recomputed {returned:,}"
        )
    expires = context.expiration(row, context.on)
    paused = expires != context.expiration(row, context.tomorrow)
    if not paused and not expired:
        stored = (row.expires_on, row.expiration_clause)
        if stored != (expires.on, expires.clause):
            yield Mismatch(
                what,
                f"stored expiration {stored[0]:%Y-%m-%d} ({stored[1]}), recomputed "
                f"{expires.on:%Y-%m-%d} ({expires.clause})",
            )
    if row.status == Grant.Status.EXPIRED and context.on <= expires.on and not paused:
        yield Mismatch(what, f"marked expired but exercisable through {expires.on:%Y-%m-%d}")
    if expired and row.pending:
        yield Mismatch(what, f"expired with {row.pending:,} shares still in pending requests")
    done = rules.fully_exercised(shares=row.shares, exercised=made, forfeited=row.forfeited)
    if row.status == Grant.Status.EXERCISED and not done:
        yield Mismatch(what, "marked fully exercised but shares remain unexercised")
    if row.status == Grant.Status.GRANTED and done:
        yield Mismatch(what, "every share is exercised but the grant is not marked exercised")


def last_day_passed_by_an_exercise(row: LedgerRow, context: _Rules) -> rules.Expiration | None:
    """The grant's last day, when an exercise made and not yet reviewed is dated after it
    (a fact reported late moved the last day before the exercise); else None."""
    if row.latest_unreviewed is None:
        return None
    expires = context.expiration(row, context.on)
    paused = expires != context.expiration(row, context.tomorrow)
    return expires if row.latest_unreviewed > expires.on and not paused else None


def late_exercises(numbers: dict[str, rules.Expiration]) -> Iterator[Mismatch]:
    """Each exercise made after its grant's last day and not yet reviewed, for the grants
    ``last_day_passed_by_an_exercise`` found (by number): the administrator cancels it, or
    confirms that it stands (``Exercise.confirm_after_review``); docs/operations.md."""
    rows = (
        Exercise.objects.filter(
            grant__number__in=list(numbers), status__in=Exercise.MADE, reviewed_on__isnull=True
        )
        .order_by("grant__number", "exercise_date", "pk")
        .values_list("pk", "grant__number", "shares", "exercise_date")
    )
    for pk, number, shares, on in rows:
        expires = numbers[number]
        if on > expires.on:
            yield Mismatch(
                f"exercise {pk} of grant {number}",
                f"{shares:,} shares exercised on {on:%Y-%m-%d}, after the last day "
                f"{expires.on:%Y-%m-%d} ({expires.explanation}): review it, then cancel it or "
                f"confirm that it stands",
            )


def check_exercises() -> Iterator[Mismatch]:
    """Each exercise's price and aggregate (paragraph 2), and no issue without payment."""
    rows = Exercise.objects.values_list(
        "pk",
        "grant__number",
        "grant__exercise_price",
        "shares",
        "price_per_share",
        "aggregate_price",
        "status",
        "payment_received_on",
    ).order_by("pk")
    for pk, number, grant_price, shares, price, aggregate, status, paid_on in rows.iterator(
        chunk_size=10_000
    ):
        what = f"exercise {pk} of grant {number}"
        expected = rules.aggregate_price(shares, price)
        if aggregate != expected:
            yield Mismatch(what, f"aggregate price {aggregate}, recomputed {expected}")
        if price != grant_price:
            yield Mismatch(what, f"price {price} differs from the grant's {grant_price}")
        if status == Exercise.Status.ISSUED and paid_on is None:
            yield Mismatch(what, "shares issued without a recorded payment")


def check_endings() -> Iterator[Mismatch]:
    """Forfeitures and holds (DOMAIN.md, events outside termination): no exercise made on or
    after the day its grant was forfeited, and no exercise made on a day its optionee's
    exercises were held, unless an administrator reviewed it and confirmed that it stands.
    (A request pending on a forfeited grant is not listed: the forfeiture lapsed those it
    found, and a notice received before the forfeiture but recorded after it still counts.)"""
    after_forfeiture = (
        Exercise.objects.filter(
            grant__status=Grant.Status.FORFEITED,
            status__in=Exercise.MADE,
            exercise_date__gte=F("grant__forfeited_on"),
            reviewed_on__isnull=True,
        )
        .order_by("grant__number", "pk")
        .values_list("pk", "grant__number", "exercise_date", "grant__forfeited_on")
    )
    for pk, number, on, forfeited_on in after_forfeiture:
        yield Mismatch(
            f"exercise {pk} of grant {number}",
            f"made on {on:%Y-%m-%d}, on or after the forfeiture of {forfeited_on:%Y-%m-%d}: "
            f"review it, then cancel it or confirm that it stands",
        )
    for hold in ExerciseHold.objects.select_related("optionee").order_by("start", "pk"):
        held = Exercise.objects.filter(
            grant__optionee_id=hold.optionee_id,
            status__in=Exercise.MADE,
            exercise_date__gte=hold.start,
            reviewed_on__isnull=True,
        )
        if hold.end is not None:
            held = held.filter(exercise_date__lte=hold.end)
        for pk, number, on in held.order_by("pk").values_list(
            "pk", "grant__number", "exercise_date"
        ):
            yield Mismatch(
                f"exercise {pk} of grant {number}",
                f"made on {on:%Y-%m-%d}, while {hold.optionee}'s exercises were held "
                f"({hold.reason}): review it, then cancel it or confirm that it stands",
            )


def check_plan(plan: Plan, used: int) -> Iterator[Mismatch]:
    """The plan's reserve is not overdrawn (paragraph 10), and the sums the database keeps
    for it (``PlanUsage``) are what its grants add up to, ``used``; ``plan`` from
    ``Plan.with_reserve()``."""
    if plan.reserve_used_shares != used:
        yield Mismatch(
            f"plan {plan.name}",
            f"the kept sums say {plan.reserve_used_shares:,} shares of the reserve are in "
            f"use, but its grants add up to {used:,}: find what wrote around the triggers, "
            f"then add them up again (grants.usage_triggers.recount)",
        )
    if used > plan.share_reserve:
        yield Mismatch(
            f"plan {plan.name}",
            f"{used:,} shares in use exceed the reserve of {plan.share_reserve:,}",
        )


def check_terms_usage() -> Iterator[Mismatch]:
    """The count of grants the database keeps for each agreement form (``TermsUsage``) is
    the number of grants made under it."""
    counted = dict(
        Grant.objects.order_by().values("terms").annotate(n=Count("pk")).values_list("terms", "n")
    )
    for terms_id, name, kept in GrantTerms.objects.values_list("pk", "name", "usage__grants"):
        if (kept or 0) != counted.get(terms_id, 0):
            yield Mismatch(
                f"agreement form {name}",
                f"the kept count says {kept or 0:,} grants, but {counted.get(terms_id, 0):,} "
                f"were made under it",
            )


def termination_last_days():
    """Each termination's last day as its optionee's grants give it: the latest effective
    expiration date among their outstanding grants (None when none is outstanding)."""
    latest = Subquery(
        Grant.objects.filter(optionee=OuterRef("optionee_id"), status=Grant.Status.GRANTED)
        .order_by("-expires_on")
        .values("expires_on")[:1]
    )
    return Termination.objects.annotate(computed=latest)


def check_termination_windows() -> Iterator[Mismatch]:
    """The last day the database keeps for each termination (``TerminationWindow``, which
    the dashboard reads) is the one its optionee's grants give."""
    rows = termination_last_days().values_list(
        "pk", "optionee__legal_name", "computed", "window__last_day"
    )
    for pk, name, computed, kept in rows.order_by("pk"):
        if computed != kept:
            yield Mismatch(
                f"termination {pk} of {name}",
                f"the kept last day is {kept or 'none'}, but the outstanding grants give "
                f"{computed or 'none'}: find what wrote around the triggers, then add them up "
                f"again (grants.usage_triggers.recount)",
            )


def check_books(on: dt.date, *, chunk_size: int = 10_000) -> Iterator[Mismatch | int]:
    """Every mismatch in the book on ``on``; yields the number of grants checked as it goes
    (an int after each chunk) so a command can show progress."""
    context = _Rules(on)
    checked = 0
    late: dict[str, rules.Expiration] = {}
    for row in ledger_rows(chunk_size):
        yield from check_row(row, context)
        if (last_day := last_day_passed_by_an_exercise(row, context)) is not None:
            late[row.number] = last_day
        checked += 1
        if checked % chunk_size == 0:
            yield checked
    yield checked
    yield from late_exercises(late)
    yield from check_exercises()
    yield from check_endings()
    used = dict(Plan.used_by_plan(Grant.objects.all()).values_list("plan", "used"))
    for plan in Plan.with_reserve():
        yield from check_plan(plan, used.get(plan.pk, 0))
    yield from check_terms_usage()
    yield from check_termination_windows()
    yield from check_rollforward(on)


def check_rollforward(on: dt.date) -> Iterator[Mismatch]:
    """The 10-K option table of the last closed year (the calendar year before ``on``),
    as it stood, balances for every company: start + granted - exercised - forfeited -
    expired = end, in shares and in share-dollars, and no line is negative."""
    from grants.models import Company
    from grants.services.reports import option_rollforward

    start, end = dt.date(on.year - 1, 1, 1), dt.date(on.year - 1, 12, 31)
    for company in Company.objects.order_by("name"):
        table = option_rollforward(company, start, end)
        what = f"company {company.name}"
        if not table.balances:
            yield Mismatch(
                what,
                f"the option table of {start.year} does not balance: start + granted - "
                f"exercised - forfeited - expired differs from the end.",
            )
        for name in table.LINES:
            if getattr(table, name).shares < 0:
                yield Mismatch(what, f"the option table of {start.year} has negative {name}.")
