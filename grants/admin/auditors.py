"""The auditors' reports in the back office: the 10-K option table, the ASC 718 expense
with its chart by quarter, and Form 3921 per optionee. Each page reads the same service
(``grants.services.reports``) as its command, so the numbers are the same; the
definitions are in docs/reports.md and on each page."""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, QueryDict
from django.template.response import TemplateResponse

from grants import spreadsheet
from grants.charts import bar_chart
from grants.models import Company, Optionee, Plan
from grants.rollforward import Table
from grants.services.report_data import (
    LABELS,
    expense_csv_rows,
    expense_data,
    rollforward_csv_rows,
    rollforward_data,
)
from grants.services.reports import expense_report, form3921


class PeriodForm(forms.Form):
    company = forms.ModelChoiceField(Company.objects.order_by("name"), empty_label=None)
    plan = forms.ModelChoiceField(
        Plan.objects.order_by("name"), required=False, empty_label="All plans"
    )
    start = forms.DateField(label="From", help_text="YYYY-MM-DD")
    end = forms.DateField(label="To", help_text="YYYY-MM-DD")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(
                f"The period must start on or before its end: {start:%Y-%m-%d} is after "
                f"{end:%Y-%m-%d}."
            )
        plan, company = data.get("plan"), data.get("company")
        if plan and company and plan.company_id != company.pk:
            self.add_error("plan", f"{plan} is not a plan of {company}.")
        return data


class RollforwardForm(PeriodForm):
    restate = forms.BooleanField(
        required=False,
        label="Restate",
        help_text="Include facts recorded after the period's end, and show the difference.",
    )


class ExpenseForm(PeriodForm):
    by = forms.ChoiceField(
        choices=[("quarter", "Quarter"), ("month", "Month"), ("year", "Year")], initial="quarter"
    )
    per_grant = forms.BooleanField(required=False, label="Per grant")


def _last_year() -> dict:
    """The first company and its last calendar year (by its own today)."""
    company = Company.objects.order_by("name").first()
    year = (company.today() if company else dt.date.today()).year - 1
    return {"company": company, "start": dt.date(year, 1, 1), "end": dt.date(year, 12, 31)}


def _bound(request, form_class):
    """The form bound to the query, and its cleaned data when valid; with no query, the
    form filled in with last calendar year and no data: each report reads the whole book
    (seconds on a large one), so it runs when asked for, not on opening the page."""
    if "company" in request.GET:
        form = form_class(request.GET)
        return form, (form.cleaned_data if form.is_valid() else None)
    initial = _last_year()
    return form_class(initial={**initial, "by": "quarter"}), None


def _download(request, name: str, data: dict, rows) -> HttpResponse | None:
    fmt = request.GET.get("format")
    if fmt == "json":
        response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        spreadsheet.writer(response).writerows(rows)
        return response
    return None


def _query(request, fmt: str, form) -> str:
    query = QueryDict(mutable=True)
    query.update(request.GET if "company" in request.GET else form.data)
    query["format"] = fmt
    return query.urlencode()


def _require_reader(request) -> None:
    if not request.user.has_perm("grants.view_grant"):
        raise PermissionDenied


def option_rollforward_view(request, *, site):
    """/admin/reports/option-rollforward/: the 10-K option table, as a page, CSV or JSON."""
    _require_reader(request)
    form, data = _bound(request, RollforwardForm)
    table = None
    if data is not None:
        table = rollforward_data(
            data["company"], data["plan"], data["start"], data["end"], data["restate"]
        )
        name = f"option-rollforward-{data['start']:%Y-%m-%d}-{data['end']:%Y-%m-%d}"
        download = _download(request, name, table, rollforward_csv_rows(table))
        if download is not None:
            return download
    lines = (
        [
            {"name": name, "label": LABELS[name], **table[name]}
            | (
                {"difference": int(table["difference_from_as_stood"][name])}
                if table["restated"]
                else {}
            )
            for name in Table.LINES
        ]
        if table
        else []
    )
    return TemplateResponse(
        request,
        "admin/grants/report_rollforward.html",
        {
            **site.each_context(request),
            "title": "Option activity (10-K table)",
            "form": form,
            "table": table,
            "lines": lines,
            "csv_query": _query(request, "csv", form),
            "json_query": _query(request, "json", form),
        },
    )


def expense_view(request, *, site):
    """/admin/reports/expense/: ASC 718 expense per period with a chart by quarter."""
    _require_reader(request)
    form, data = _bound(request, ExpenseForm)
    report = chart = None
    if data is not None:
        company, plan, by = data["company"], data["plan"], data["by"] or "quarter"
        found = expense_report(
            company, data["start"], data["end"], by=by, plan=plan, per_grant=data["per_grant"]
        )
        report = expense_data(found, company, plan, by)
        name = f"expense-{data['start']:%Y-%m-%d}-{data['end']:%Y-%m-%d}"
        download = _download(request, name, report, expense_csv_rows(report))
        if download is not None:
            return download
        quarters = (
            found
            if by == "quarter"
            else expense_report(company, data["start"], data["end"], by="quarter", plan=plan)
        )
        chart = bar_chart(
            [
                (f"{p.start.year} Q{(p.start.month - 1) // 3 + 1}", p.amount)
                for p in quarters.periods
            ]
        )
    return TemplateResponse(
        request,
        "admin/grants/report_expense.html",
        {
            **site.each_context(request),
            "title": "Stock-compensation expense (ASC 718)",
            "form": form,
            "report": report,
            "rows": [
                (period, [amounts[index] for amounts in report.get("grants", {}).values()])
                for index, period in enumerate(report["periods"])
            ]
            if report
            else [],
            "chart": chart,
            "csv_query": _query(request, "csv", form),
            "json_query": _query(request, "json", form),
        },
    )


class Form3921Form(forms.Form):
    company = forms.ModelChoiceField(Company.objects.order_by("name"), empty_label=None)
    year = forms.IntegerField(min_value=1900, max_value=9999)
    optionee = forms.ModelChoiceField(Optionee.objects.all(), required=False)


def form3921_view(request, *, site):
    """/admin/reports/form-3921/: the ISO exercises of a year by optionee; with
    ``optionee``, that person's printable copies."""
    _require_reader(request)
    if "company" in request.GET:
        form = Form3921Form(request.GET)
    else:
        company = Company.objects.order_by("name").first()
        form = Form3921Form(
            {"company": company.pk if company else "", "year": _last_year()["end"].year}
        )
    forms_of_year, company, chosen = [], None, None
    if form.is_valid():
        company, chosen = form.cleaned_data["company"], form.cleaned_data["optionee"]
        forms_of_year = form3921(company, form.cleaned_data["year"])
        if chosen is not None:
            forms_of_year = [f for f in forms_of_year if f.optionee_id == chosen.pk]
    people: dict[int, dict] = {}
    for item in forms_of_year:
        person = people.setdefault(item.optionee_id, {"name": item.optionee, "forms": []})
        person["forms"].append(item)
    return TemplateResponse(
        request,
        "admin/grants/report_form3921.html",
        {
            **site.each_context(request),
            "title": "Form 3921 (ISO exercises)",
            "form": form,
            "company": company,
            "people": people,
            "printable": chosen is not None,
            "year": form.cleaned_data.get("year") if form.is_valid() else None,
        },
    )
