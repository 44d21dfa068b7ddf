"""The outstanding-options report: what the book still owes, by plan and exercise price.

Each grant's numbers come from ``Grant.position`` (the rules engine) on a page of grants
loaded with ``Grant.objects.with_facts()``, except those of the grants whose service
continues, almost all of a book: they are read as flat rows of the same facts (shares
exercised and taken, shares vested by the day) and added up by plan and price, which a test
holds equal to reading every grant through ``Grant.position``. A million grants took
minutes one by one. Arithmetic is Decimal throughout and each figure is rounded once, when
it is shown. The definitions are
stated on the page itself (``templates/admin/grants/report_outstanding.html``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.template.response import TemplateResponse

from grants import rules, spreadsheet
from grants.admin.grants import price_text
from grants.models import (
    Company,
    Exercise,
    ExerciseHold,
    Grant,
    Installment,
    Plan,
    Termination,
    people_facts,
)

CENT = Decimal("0.01")
DAYS_PER_YEAR = Decimal("365.25")


@dataclass
class Line:
    """One line of the report: the grants of a plan at one exercise price, a plan's
    subtotal (``price`` None) or the total of the book (``plan`` None too)."""

    plan: Plan | None
    price: Decimal | None
    grants: int = 0
    outstanding: int = 0
    vested: int = 0
    exercisable: int = 0
    price_weight: Decimal = field(default_factory=Decimal)  # sum of outstanding x price
    days_weight: int = 0  # sum of outstanding x days to expiration
    intrinsic_outstanding: Decimal = field(default_factory=Decimal)
    intrinsic_vested: Decimal = field(default_factory=Decimal)

    def add(self, other: Line) -> None:
        for name in (
            "grants",
            "outstanding",
            "vested",
            "exercisable",
            "price_weight",
            "days_weight",
            "intrinsic_outstanding",
            "intrinsic_vested",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def is_subtotal(self) -> bool:
        return self.price is None

    @property
    def price_text(self) -> str:
        return price_text(self.price)

    @property
    def weighted_average_price(self) -> Decimal | None:
        if not self.outstanding:
            return None
        return (self.price_weight / self.outstanding).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def weighted_average_years(self) -> Decimal | None:
        if not self.outstanding:
            return None
        years = Decimal(self.days_weight) / self.outstanding / DAYS_PER_YEAR
        return years.quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def intrinsic_outstanding_value(self) -> Decimal:
        return self.intrinsic_outstanding.quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def intrinsic_vested_value(self) -> Decimal:
        return self.intrinsic_vested.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Report:
    company: Company
    on: dt.date
    price: Decimal | None
    lines: list[Line]
    total: Line

    @property
    def price_text(self) -> str:
        return price_text(self.price)


def grant_line(grant: Grant, on: dt.date, price: Decimal | None) -> Line | None:
    """What one grant contributes on ``on``, or None when nothing of it is outstanding.

    Outstanding = granted - exercised - forfeited, nothing once expired; vested = vested
    and not exercised; exercisable as the rules allow today (zero during a registration
    suspension). All read from ``Grant.position``.
    """
    if grant.status in Grant.ENDED:
        return None
    position = grant.position(on, closing_price=None)
    if position.is_expired:
        return None
    made = position.exercised - position.pending  # a pending request is not yet exercised
    outstanding = rules.unexercised_shares(
        shares=position.total, exercised=made, forfeited=position.forfeited
    )
    if not outstanding:
        return None
    vested = max(0, position.vested - made)
    spread = max(Decimal(0), price - grant.exercise_price) if price is not None else Decimal(0)
    return Line(
        plan=grant.plan,
        price=grant.exercise_price,
        grants=1,
        outstanding=outstanding,
        vested=vested,
        exercisable=position.exercisable,
        price_weight=outstanding * grant.exercise_price,
        days_weight=outstanding * (position.expiration.on - on).days,
        intrinsic_outstanding=outstanding * spread,
        intrinsic_vested=vested * spread,
    )


def _read_one_by_one(on: dt.date) -> Q:
    """The open grants whose figures need every fact the rules read (``Grant.position``):
    a standing termination, a forfeiture, a last day already past, or a hold on exercises
    that covers ``on``. The others are read as flat rows (``_continuing``)."""
    holds = ExerciseHold.objects.filter(optionee=OuterRef("optionee"), start__lte=on).filter(
        Q(end__isnull=True) | Q(end__gte=on)
    )
    terminations = Termination.objects.filter(
        optionee=OuterRef("optionee"), reversed_at__isnull=True
    )
    return (
        Q(Exists(terminations))
        | Q(forfeited_on__isnull=False)
        | Q(expires_on__lt=on)
        | Q(Exists(holds))
    )


def _sum_of(rows, on_field: str, **conditions):
    """The shares of the outer grant's ``rows`` (installments, exercises) meeting
    ``conditions``, 0 for none: a subquery by the index on the grant."""
    found = (
        rows.filter(grant=OuterRef("pk"), **conditions)
        .order_by()
        .values("grant")
        .annotate(total=Sum(on_field))
        .values("total")
    )
    return Coalesce(Subquery(found), 0)


def _continuing(grants, on: dt.date, suspended: bool):
    """``(plan_id, exercise_price, outstanding, vested, exercisable, days_weight)`` of each
    of ``grants`` whose service continues, from one streamed query: its shares, the shares
    of its exercises made and taken, and of its installments vested by ``on``. The same
    figures as ``grant_line`` reads from ``Grant.position`` (a test compares the two):
    with service continuing, a share vests on its installment's date, and nothing is
    exercisable on a day of registration suspension."""
    rows = grants.annotate(
        made=_sum_of(Exercise.objects, "shares", status__in=Exercise.MADE),
        taken=_sum_of(Exercise.objects, "shares", status__in=Exercise.TAKEN),
        vested_shares=_sum_of(Installment.objects, "shares", vest_date__lte=on),
    ).values_list(
        "plan_id", "exercise_price", "expires_on", "shares", "made", "taken", "vested_shares"
    )
    for plan_id, price, expires_on, shares, made, taken, vested in rows.order_by().iterator(
        chunk_size=10_000
    ):
        outstanding = rules.unexercised_shares(shares=shares, exercised=made, forfeited=0)
        if not outstanding:
            continue
        exercisable = 0 if suspended else max(0, vested - taken)
        yield (
            plan_id,
            price,
            outstanding,
            max(0, vested - made),
            exercisable,
            outstanding * (expires_on - on).days,
        )


def outstanding_options(
    company: Company, price: Decimal | None, on: dt.date | None = None, *, summed: bool = True
) -> Report:
    """The report for ``company`` on ``on`` (its local today by default), intrinsic values
    at ``price``. The grants whose service continues (almost all of a book) are read as
    flat rows, the others through ``Grant.position``; ``summed=False`` reads every grant
    through ``Grant.position`` (what the tests compare with)."""
    on = on or company.today()
    by_plan: dict[int, dict[Decimal, Line]] = {}
    plans = {plan.pk: plan for plan in Plan.objects.filter(company=company)}

    def line_of(plan_id: int, exercise_price: Decimal) -> Line:
        prices = by_plan.setdefault(plan_id, {})
        if exercise_price not in prices:
            prices[exercise_price] = Line(plan=plans[plan_id], price=exercise_price)
        return prices[exercise_price]

    grants = (
        Grant.objects.filter(plan__company=company).exclude(status__in=Grant.ENDED).order_by("pk")
    )
    one_by_one = grants.filter(_read_one_by_one(on)) if summed else grants
    for grant in one_by_one.with_facts().iterator(chunk_size=2000):
        contribution = grant_line(grant, on, price)
        if contribution is not None:
            line_of(grant.plan_id, grant.exercise_price).add(contribution)
    if summed:
        suspended = rules.is_suspended(
            on, people_facts(set(), {company.pk}).suspensions[company.pk]
        )
        sums: dict[tuple[int, Decimal], list[int]] = {}
        for plan_id, exercise_price, *figures in _continuing(
            grants.exclude(_read_one_by_one(on)), on, suspended
        ):
            found = sums.setdefault((plan_id, exercise_price), [0, 0, 0, 0, 0])
            found[0] += 1
            for index, figure in enumerate(figures, start=1):
                found[index] += figure
        for (plan_id, exercise_price), (
            count,
            outstanding,
            vested,
            exercisable,
            days,
        ) in sums.items():
            # what grant_line gives grant by grant, added up: every weight is linear in
            # the shares at one exercise price
            spread = max(Decimal(0), price - exercise_price) if price is not None else Decimal(0)
            line_of(plan_id, exercise_price).add(
                Line(
                    plan=plans[plan_id],
                    price=exercise_price,
                    grants=count,
                    outstanding=outstanding,
                    vested=vested,
                    exercisable=exercisable,
                    price_weight=outstanding * exercise_price,
                    days_weight=days,
                    intrinsic_outstanding=outstanding * spread,
                    intrinsic_vested=vested * spread,
                )
            )

    lines: list[Line] = []
    total = Line(plan=None, price=None)
    for prices in sorted(by_plan.values(), key=lambda p: next(iter(p.values())).plan.name):
        plan_lines = [prices[price] for price in sorted(prices)]
        subtotal = Line(plan=plan_lines[0].plan, price=None)
        for line in plan_lines:
            subtotal.add(line)
        lines += [*plan_lines, subtotal]
        total.add(subtotal)
    return Report(company=company, on=on, price=price, lines=lines, total=total)


class ReportForm(forms.Form):
    company = forms.ModelChoiceField(Company.objects.order_by("name"), empty_label=None)
    price = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=4,
        label="Intrinsic value at ($ per share)",
        help_text="Empty: the latest recorded closing price.",
    )


CSV_HEADER = [
    "plan",
    "exercise_price",
    "grants",
    "shares_outstanding",
    "shares_vested",
    "shares_exercisable",
    "weighted_average_exercise_price",
    "weighted_average_remaining_term_years",
    "intrinsic_value_outstanding",
    "intrinsic_value_vested",
]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def csv_rows(report: Report) -> list[list[str]]:
    """The report's lines as the CSV carries them: plain numbers, no separators."""
    valued = report.price is not None
    return [
        [
            line.plan.name if line.plan else "All plans",
            line.price_text or "All prices",
            str(line.grants),
            str(line.outstanding),
            str(line.vested),
            str(line.exercisable),
            _text(line.weighted_average_price),
            _text(line.weighted_average_years),
            _text(line.intrinsic_outstanding_value if valued else None),
            _text(line.intrinsic_vested_value if valued else None),
        ]
        for line in [*report.lines, report.total]
    ]


def outstanding_options_view(request, *, site):
    """/admin/reports/outstanding-options/: the report as a page, or as CSV with
    ``format=csv``; the same numbers either way."""
    if not request.user.has_perm("grants.view_grant"):
        raise PermissionDenied
    first_company = Company.objects.order_by("name").first()
    form = ReportForm(
        request.GET if "company" in request.GET else None, initial={"company": first_company}
    )
    company = price = None
    # The report reads every open grant of the company (minutes on a book of a million):
    # opening the page shows the form; the report runs when asked for, or downloaded.
    if not form.is_bound and "format" in request.GET:
        company = first_company
    elif form.is_valid():
        company, price = form.cleaned_data["company"], form.cleaned_data["price"]
    report = None
    if company is not None:
        if price is None:
            closing = company.closing_price(company.today())
            price = closing.price if closing else None
        report = outstanding_options(company, price)

    if report is not None and request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="outstanding-options-{report.on:%Y-%m-%d}.csv"'
        )
        writer = spreadsheet.writer(response)
        writer.writerow(CSV_HEADER)
        writer.writerows(csv_rows(report))
        return response

    query = request.GET.copy()
    query["format"] = "csv"
    if report is not None:
        query.setdefault("company", str(report.company.pk))
    return TemplateResponse(
        request,
        "admin/grants/report_outstanding.html",
        {
            **site.each_context(request),
            "title": "Outstanding options",
            "form": form,
            "report": report,
            "csv_query": query.urlencode(),
        },
    )
