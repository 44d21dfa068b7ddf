"""The auditors' reports read from the book: the 10-K option table (``option_rollforward``)
and the ASC 718 expense (``expense_report``), for one company and optionally one plan.

A fixed number of queries whatever the size of the book, and no model object per grant.
The grants whose service continues (almost all) are summed in the database, grouped by
what they share (``_add_plain``, ``_plain_straight_line``); the others (a termination, a
forfeiture, a change recorded after the period) are read as flat tuples (grants,
installments in grant order, exercises, terminations, closing prices) and handed grant by
grant to the pure functions of ``grants.rollforward`` and ``grants.expense``. Tests hold
the two ways equal. ``docs/reports.md`` states the definitions.

"As it stood": the table of a closed period reads the book as it was at the end of its
last day (midnight in the company's time zone). A fact about a grant that was already on
the book then, recorded afterwards (a late termination or its reversal, a late exercise,
a late forfeiture; any later change of the grant's stored expiration date), is left out,
unless ``restate``. A grant recorded after the period (a book loaded afterwards) counts
with all its facts: the period never had a table without it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db.models import Case, Exists, F, Max, OuterRef, Q, Sum, Value, When

from grants import expense, rules
from grants.models import (
    ClosingPrice,
    Company,
    Exercise,
    Grant,
    GrantTerms,
    Installment,
    Optionee,
    Plan,
    Termination,
)
from grants.rollforward import Option, Table, table, vesting_end


def period_end(company: Company, end: dt.date) -> dt.datetime:
    """The moment the day ``end`` ends in the company's time zone."""
    midnight = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0))
    return midnight.replace(tzinfo=ZoneInfo(company.time_zone))


def check_period(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise ValidationError(
            f"The period must start on or before its end: --from {start:%Y-%m-%d} is after "
            f"--to {end:%Y-%m-%d}.",
            code="period_reversed",
        )


@dataclass(frozen=True)
class _Book:
    company: Company
    plan: Plan | None
    end: dt.date
    restate: bool

    @property
    def cutoff(self) -> dt.datetime:
        return period_end(self.company, self.end)

    def grants(self):
        grants = Grant.objects.filter(plan__company=self.company, grant_date__lte=self.end)
        if self.plan is not None:
            grants = grants.filter(plan=self.plan)
        # A grant cancelled as recorded in error was never granted.
        return grants.exclude(status=Grant.Status.CANCELLED)

    def late(self, grant_recorded: dt.datetime, fact_recorded: dt.datetime | None) -> bool:
        """Whether a fact recorded at ``fact_recorded`` is left out of the period."""
        cutoff = self.cutoff
        return (
            not self.restate
            and fact_recorded is not None
            and grant_recorded < cutoff <= fact_recorded
        )

    def terminations(self) -> dict[int, list[tuple]]:
        """Each optionee's terminations that may stand (as of the period's end, or now)."""
        rows = Termination.objects.filter(optionee__company=self.company)
        if self.restate:
            rows = rows.filter(reversed_at__isnull=True)
        else:
            rows = rows.filter(Q(reversed_at__isnull=True) | Q(reversed_at__gte=self.cutoff))
        found: dict[int, list[tuple]] = {}
        for optionee_id, *row in rows.values_list(
            "optionee_id", "on", "reason", "recorded_at", "reversed_at"
        ):
            found.setdefault(optionee_id, []).append(tuple(row))
        return found

    def standing(self, terminations: list[tuple], grant_recorded: dt.datetime):
        """The termination that stood for a grant: the one not reversed, or, as it stood,
        the one recorded and not yet reversed by the period's end."""
        for on, reason, recorded_at, reversed_at in terminations:
            if self.late(grant_recorded, recorded_at):
                continue
            if reversed_at is not None and not self.late(grant_recorded, reversed_at):
                continue
            return rules.Termination(on, reason)
        return None

    def special(self):
        """The grants read one by one: those with a termination that may stand, a
        forfeiture, or (as it stood) a change recorded since the period's end although the
        grant was on the book by then. The others are added up in the database
        (``_add_plain``)."""
        return self.grants().filter(self._special_condition())

    def plain(self):
        return self.grants().filter(~self._special_condition())

    def _special_condition(self) -> Q:
        terminations = Termination.objects.filter(optionee=OuterRef("optionee"))
        if self.restate:
            terminations = terminations.filter(reversed_at__isnull=True)
        else:
            terminations = terminations.filter(
                Q(reversed_at__isnull=True) | Q(reversed_at__gte=self.cutoff)
            )
        condition = Q(Exists(terminations)) | Q(forfeited_on__isnull=False)
        if not self.restate:
            changed = Grant.history.model.objects.filter(
                id=OuterRef("pk"), history_date__gte=self.cutoff
            )
            condition |= Q(Exists(changed), created_at__lt=self.cutoff)
        return condition

    def known_exercises(self):
        """Exercises made, as it stood: one recorded after the period's end on a grant that
        was on the book by then is left out (unless restating)."""
        exercises = Exercise.objects.filter(status__in=Exercise.MADE)
        if not self.restate:
            exercises = exercises.exclude(
                created_at__gte=self.cutoff, grant__created_at__lt=self.cutoff
            )
        return exercises

    def as_stood(self, grants) -> dict[int, tuple]:
        """(expires_on, forfeited_on) of each of ``grants`` as its history held them at
        the period's end (the last version recorded before it)."""
        if self.restate:
            return {}
        found = {}
        for grant_id, expires_on, forfeited_on in (
            Grant.history.model.objects.filter(
                id__in=grants.values("pk"), history_date__lt=self.cutoff
            )
            .order_by("id", "history_date", "history_id")
            .values_list("id", "expires_on", "forfeited_on")
        ):
            found[grant_id] = (expires_on, forfeited_on)
        return found


def _prices(company: Company) -> tuple[list[dt.date], list[Decimal]]:
    rows = list(
        ClosingPrice.objects.filter(company=company).order_by("date").values_list("date", "price")
    )
    return [r[0] for r in rows], [r[1] for r in rows]


def _price_on(prices, on: dt.date) -> Decimal | None:
    """The latest closing price on or before ``on``."""
    dates, values = prices
    at = bisect.bisect_right(dates, on)
    return values[at - 1] if at else None


def options(book: _Book, selected) -> Iterator[tuple[int, Option]]:
    """Each grant of ``selected`` (grants of ``book``) as the table reads it, in order."""
    grants = list(
        selected.order_by("pk").values_list(
            "pk",
            "optionee_id",
            "terms_id",
            "grant_date",
            "shares",
            "exercise_price",
            "expires_on",
            "forfeited_on",
            "created_at",
            "valuation__fair_value_per_share",
        )
    )
    recorded = {row[0]: row[8] for row in grants}
    exercises: dict[int, list] = {}
    prices = _prices(book.company)
    for grant_id, on, shares, created_at in (
        Exercise.objects.filter(grant__in=selected, status__in=Exercise.MADE)
        .order_by("exercise_date", "pk")
        .values_list("grant_id", "exercise_date", "shares", "created_at")
    ):
        if not book.late(recorded[grant_id], created_at):
            exercises.setdefault(grant_id, []).append((on, shares, _price_on(prices, on)))
    terminations = book.terminations()
    stood = book.as_stood(selected)
    terms = {}
    installments = (
        Installment.objects.filter(grant__in=selected)
        .order_by("grant_id", "vest_date")
        .values_list("grant_id", "vest_date", "shares")
        .iterator(chunk_size=10_000)
    )
    pending = next(installments, None)
    for (
        pk,
        optionee_id,
        terms_id,
        granted,
        shares,
        price,
        expires_on,
        forfeited_on,
        at,
        fv,
    ) in grants:
        schedule = []
        while pending is not None and pending[0] <= pk:
            if pending[0] == pk:
                schedule.append(rules.Installment(pending[1], pending[2]))
            pending = next(installments, None)
        expires_on, forfeited_on = stood.get(pk, (expires_on, forfeited_on))
        termination = book.standing(terminations.get(optionee_id, []), at)
        accelerated = False
        if termination is not None:
            if (terms_id, termination.reason) not in terms:
                form = GrantTerms.objects.get(pk=terms_id).as_rules()
                terms[terms_id, termination.reason] = form.accelerates(termination)
            accelerated = terms[terms_id, termination.reason]
        yield (
            pk,
            Option(
                grant_date=granted,
                shares=shares,
                exercise_price=price,
                installments=schedule,
                expires_on=expires_on,
                exercises=exercises.get(pk, []),
                termination_on=termination.on if termination else None,
                accelerated=accelerated,
                forfeited_on=forfeited_on,
                fair_value=fv,
            ),
        )


def option_rollforward(
    company: Company,
    start: dt.date,
    end: dt.date,
    *,
    plan: Plan | None = None,
    restate: bool = False,
) -> Table:
    """The 10-K option table of ``company`` (or of one ``plan``) for ``start`` to ``end``,
    intrinsic values at the closing price of ``end`` (the latest on or before it)."""
    check_period(start, end)
    closing = company.closing_price(end)
    book = _Book(company, plan, end, restate)
    price = closing.price if closing else None
    result = table((option for _, option in options(book, book.special())), start, end, price)
    _add_plain(result, book)
    return result


def _side_by_side(primary, *others):
    """Rows of grouped queries ordered by the same two-column key, read together:
    ``(key, primary's values, each other's values)`` for each row of ``primary``, an other's
    ``absent`` values where it has no row of that key (each other is ``(rows, absent)``; its
    keys are among ``primary``'s)."""
    others = [(iter(rows), absent) for rows, absent in others]
    pending = [next(rows, None) for rows, _ in others]
    for first, second, *values in primary:
        key = (first, second)
        found = []
        for index, (rows, absent) in enumerate(others):
            row = pending[index]
            if row is not None and (row[0], row[1]) == key:
                found.append(tuple(row[2:]))
                pending[index] = next(rows, None)
            else:
                found.append(absent)
        yield key, tuple(values), *found


def _add_plain(result: Table, book: _Book) -> None:
    """Add the grants with no termination and no forfeiture, summed in the database.

    Such a grant's shares leave by exercise, or lapse on the day after its last day; all
    the grants of one exercise price and one last day move together, so a few grouped
    sums (grants, exercises, installments still to vest after the end) give the same figures as
    ``grants.rollforward.movements`` grant by grant (a test compares the two)."""
    start, end = result.start, result.end
    before = start - dt.timedelta(days=1)
    plain = book.plain()

    def upto(field: str, day: dt.date, column: str = "shares"):
        return Sum(Case(When(**{f"{field}__lte": day}, then=F(column)), default=Value(0)))

    # Three grouped queries in the same order, read side by side: the grants, their
    # exercises (as it stood) and the shares of the grants outstanding at the end still to
    # vest after it. Every grant's exercisable shares are all its shares but those (its
    # installments add up to its shares, as Grant.create makes sure and check_books
    # checks), so only the installments still to vest are read, a small part of a book of
    # many years. Nothing is held per group: memory stays flat whatever the book's size.
    key = ("grant__exercise_price", "grant__expires_on")
    exercises = book.known_exercises().filter(grant__in=plain)
    groups = (
        plain.values_list("exercise_price", "expires_on")
        .annotate(total=Sum("shares"), granted_before=upto("grant_date", before))
        .order_by("exercise_price", "expires_on")
    )
    exercised_by_group = (
        exercises.values_list(*key)
        .annotate(
            total=Sum("shares"),
            by_before=upto("exercise_date", before),
            by_end=upto("exercise_date", end),
        )
        .order_by(*key)
    )
    unvested_by_group = (
        Installment.objects.filter(grant__in=plain, grant__expires_on__gte=end, vest_date__gt=end)
        .values_list(*key)
        .annotate(unvested=Sum("shares"))
        .order_by(*key)
    )
    side_by_side = _side_by_side(
        groups.iterator(chunk_size=10_000),
        (exercised_by_group.iterator(chunk_size=10_000), (0, 0, 0)),
        (unvested_by_group.iterator(chunk_size=10_000), (0,)),
    )
    spread_at = result.price
    for (price, expires_on), (total, granted_before), made, (unvested,) in side_by_side:
        exercised_total, exercised_before, exercised_end = made
        lapses = expires_on + dt.timedelta(days=1)
        lapsing = total - exercised_total
        result.granted.add(total - granted_before, price)
        result.exercised.add(exercised_end - exercised_before, price)
        lapsed_before = lapsing if lapses <= before else 0
        if start <= lapses <= end:
            result.expired.add(lapsing, price)
        outstanding_start = granted_before - exercised_before - lapsed_before
        outstanding_end = total - exercised_end - (lapsing if lapses <= end else 0)
        result.outstanding_start.add(outstanding_start, price)
        result.outstanding_end.add(outstanding_end, price)
        if not outstanding_end:
            continue
        vested_end = total - unvested if expires_on >= end else 0
        exercisable = min(outstanding_end, max(0, vested_end - exercised_end))
        result.exercisable_end.add(exercisable, price)
        days_left = max(0, (expires_on - end).days)
        spread = max(Decimal(0), spread_at - price) if spread_at is not None else Decimal(0)
        for line, shares in (
            (result.outstanding_end, outstanding_end),
            (result.exercisable_end, exercisable),
        ):
            line.term_weight += shares * days_left
            line.intrinsic += shares * spread
    prices = _prices(book.company)
    for price, on, shares in (
        exercises.filter(exercise_date__range=(start, end))
        .values_list("grant__exercise_price", "exercise_date")
        .annotate(shares=Sum("shares"))
        .order_by()
    ):
        value = _price_on(prices, on)
        if value is not None:
            result.exercised_intrinsic += shares * max(Decimal(0), value - price)
    for fair_value, shares in (
        plain.filter(grant_date__gte=start, valuation__isnull=False)
        .values_list("valuation__fair_value_per_share")
        .annotate(shares=Sum("shares"))
        .order_by()
    ):
        result.granted_fair_value += shares * fair_value
        result.granted_valued += shares


# -- expense


@dataclass
class ExpenseLine:
    """The expense of one period (or one grant in one period)."""

    start: dt.date
    end: dt.date
    amount: Decimal


@dataclass
class ExpenseReport:
    start: dt.date
    end: dt.date
    attribution: str
    forfeiture_rate: Decimal | None
    periods: list[ExpenseLine]
    by_grant: dict[str, list[Decimal]]  # grant number -> expense per period
    unrecognised: Decimal
    unrecognised_years: Decimal | None  # weighted-average period, years
    unvalued: list[str]  # grants with no fair value recorded: left out

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.periods), Decimal("0.00"))


def periods(start: dt.date, end: dt.date, by: str) -> list[tuple[dt.date, dt.date]]:
    """The calendar months, quarters or years that ``start`` to ``end`` cuts into, the
    first and last cut at ``start`` and ``end``."""
    steps = {"month": 1, "quarter": 3, "year": 12}
    if by not in steps:
        raise ValidationError(
            f"The periods are months, quarters or years, not “{by}”.", code="period_unknown"
        )
    months = steps[by]
    cuts, day = [], start
    while day <= end:
        first_month = (day.month - 1) // months * months + 1
        following = dt.date(day.year, first_month, 1) + relativedelta(months=months)
        last = min(end, following - dt.timedelta(days=1))
        cuts.append((day, last))
        day = last + dt.timedelta(days=1)
    return cuts


def expense_report(
    company: Company,
    start: dt.date,
    end: dt.date,
    *,
    by: str = "quarter",
    plan: Plan | None = None,
    per_grant: bool = False,
) -> ExpenseReport:
    """ASC 718 expense of ``company`` (or one ``plan``) for each period of ``start`` to
    ``end``, with the cost left to recognise at the end and the weighted-average period
    over which it will be; the company's attribution and forfeiture policy; the book as it
    is now (a restatement)."""
    check_period(start, end)
    policy = {
        "attribution": company.expense_attribution,
        "forfeiture_rate": company.forfeiture_rate,
    }
    cuts = periods(start, end, by)
    totals = [Decimal("0.00")] * len(cuts)
    by_grant: dict[str, list[Decimal]] = {}
    unrecognised, weighted = Decimal("0.00"), Decimal(0)
    book = _Book(company, plan, end, restate=True)
    unvalued = list(
        book.grants()
        .filter(valuation__isnull=True)
        .order_by("number")
        .values_list("number", flat=True)
    )
    # The default policy adds up the grants whose service continues in the database; the
    # others, and every grant when asked for per grant, are computed one by one.
    summed = (
        not per_grant
        and company.expense_attribution == expense.STRAIGHT_LINE
        and company.forfeiture_rate is None
    )
    selected = book.special() if summed else book.grants()
    numbers = dict(selected.values_list("pk", "number")) if per_grant else {}
    for pk, option in options(book, selected.filter(valuation__isnull=False)):
        last, _, accelerated = vesting_end(option)
        award = expense.Award(
            grant_date=option.grant_date,
            fair_value=option.fair_value,
            installments=option.installments,
            service_end=last,
            accelerated=accelerated,
        )
        before = expense.cumulative_expense(award, start - dt.timedelta(days=1), **policy)
        amounts = []
        for index, (_, cut_end) in enumerate(cuts):
            left = expense.recognition(award, cut_end, **policy)  # the last cut ends at end
            amounts.append(left.cumulative - before)
            totals[index] += left.cumulative - before
            before = left.cumulative
        if per_grant and any(amounts):
            by_grant[numbers[pk]] = amounts
        unrecognised += left.unrecognised
        weighted += left.unrecognised_years
    if summed:
        days = [start - dt.timedelta(days=1), *(cut_end for _, cut_end in cuts)]
        summed_up = _plain_straight_line(book, days)
        cumulatives = summed_up.cumulatives
        for index in range(len(cuts)):
            totals[index] += cumulatives[index + 1] - cumulatives[index]
        unrecognised += summed_up.unrecognised
        weighted += summed_up.unrecognised_years
    return ExpenseReport(
        start=start,
        end=end,
        attribution=company.expense_attribution,
        forfeiture_rate=company.forfeiture_rate,
        periods=[ExpenseLine(a, b, total) for (a, b), total in zip(cuts, totals, strict=True)],
        by_grant=by_grant,
        unrecognised=unrecognised,
        unrecognised_years=(weighted / unrecognised).quantize(Decimal("0.01"))
        if unrecognised
        else None,
        unvalued=unvalued,
    )


def _plain_straight_line(book: _Book, days: list[dt.date]) -> expense.Totals:
    """The straight-line expense on each of ``days`` (the last is the report's end) of the
    valued grants whose service continues, with what is left at the end and its years:
    one query over their installments grouped by grant (shares, shares vested by each
    day, last vesting date), added up by ``expense.straight_line_totals``.

    Only the differences between the days' figures are reported, so a grant fully vested
    by the first of ``days`` is left out: its whole value is recognised on each of them,
    and nothing is left. On a book of many years that is most grants."""
    vested_by = {
        f"vested_{index}": Sum(Case(When(vest_date__lte=day, then=F("shares")), default=Value(0)))
        for index, day in enumerate(days)
    }
    vesting = Installment.objects.filter(grant=OuterRef("pk"), vest_date__gt=days[0])
    grants = book.plain().filter(Exists(vesting), valuation__isnull=False)
    rows = (
        Installment.objects.filter(grant__in=grants)
        .values_list("grant_id", "grant__grant_date", "grant__valuation__fair_value_per_share")
        .annotate(last=Max("vest_date"), total=Sum("shares"), **vested_by)
        .order_by()
        .iterator(chunk_size=10_000)
    )
    return expense.straight_line_totals(
        (
            (granted, last, total, fair_value, vested)
            for _, granted, fair_value, last, total, *vested in rows
        ),
        days,
    )


# -- Form 3921


@dataclass(frozen=True)
class Form3921:
    """The data of one IRS Form 3921 (exercise of an incentive stock option under
    section 422(b)), one per ISO exercise made in the calendar year."""

    optionee_id: int
    optionee: str  # recipient's name
    address: str  # recipient's address on file (for notices) at the end of the year
    grant_number: str
    granted_on: dt.date  # box 1
    exercised_on: dt.date  # box 2
    exercise_price: Decimal  # box 3, per share
    fair_market_value: Decimal | None  # box 4, per share: the closing price of that day
    shares: int  # box 5, shares transferred


def form3921(company: Company, year: int) -> list[Form3921]:
    """Every ISO exercise of ``company`` made in ``year`` as Form 3921 data, by optionee."""
    exercises = list(
        Exercise.objects.filter(
            grant__plan__company=company,
            grant__option_type=Grant.Type.ISO,
            status__in=Exercise.MADE,
            exercise_date__year=year,
        )
        .order_by("grant__optionee__legal_name", "exercise_date", "pk")
        .values_list(
            "grant__optionee_id",
            "grant__optionee__legal_name",
            "grant__number",
            "grant__grant_date",
            "exercise_date",
            "price_per_share",
            "shares",
        )
    )
    addresses = Optionee.notice_addresses_on({row[0] for row in exercises}, dt.date(year, 12, 31))
    prices = _prices(company)
    return [
        Form3921(
            optionee_id=optionee_id,
            optionee=name,
            address=addresses.get(optionee_id, ""),
            grant_number=number,
            granted_on=granted,
            exercised_on=exercised,
            exercise_price=price,
            fair_market_value=_price_on(prices, exercised),
            shares=shares,
        )
        for optionee_id, name, number, granted, exercised, price, shares in exercises
    ]
