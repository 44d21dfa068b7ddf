"""ASC 718 stock-compensation expense per month, quarter or year, with the cost left to
recognise at the end and the weighted-average period over which it will be."""

from __future__ import annotations

from django.core.management.base import CommandError

from grants.management.reporting import ReportCommand
from grants.services.reports import ExpenseReport, expense_report

BY = ("month", "quarter", "year")


def report_data(report: ExpenseReport, company, plan, by: str) -> dict:
    """The report as the command writes it in JSON: numbers as strings of decimals."""
    data = {
        "company": company.name,
        "plan": plan.name if plan else None,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "by": by,
        "attribution": report.attribution,
        "forfeiture_rate": None if report.forfeiture_rate is None else str(report.forfeiture_rate),
        "periods": [
            {"from": p.start.isoformat(), "to": p.end.isoformat(), "expense": str(p.amount)}
            for p in report.periods
        ],
        "total": str(report.total),
        "unrecognised_cost": str(report.unrecognised),
        "weighted_average_years": (
            None if report.unrecognised_years is None else str(report.unrecognised_years)
        ),
        "grants_without_fair_value": report.unvalued,
    }
    if report.by_grant:
        data["grants"] = {
            number: [str(amount) for amount in amounts]
            for number, amounts in sorted(report.by_grant.items())
        }
    return data


class Command(ReportCommand):
    help = (
        "ASC 718 stock-compensation expense of --from to --to per --by period (month, quarter "
        "or year), per grant with --per-grant, with the cost not yet recognised at the end and "
        "the weighted-average period over which it will be; by the company's attribution and "
        "forfeiture policy, from each grant's recorded fair value (import_valuations). "
        "Definitions: docs/reports.md."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--by", default="quarter", help="month, quarter (default) or year.")
        parser.add_argument(
            "--per-grant", action="store_true", help="Also each grant's expense per period."
        )

    def report(self, company, plan, start, end, options) -> None:
        by = options["by"]
        if by not in BY:
            raise CommandError(f"--by “{by}” is not one of: {', '.join(BY)}.")
        report = expense_report(
            company, start, end, by=by, plan=plan, per_grant=options["per_grant"]
        )
        data = report_data(report, company, plan, by)
        if options["format"] == "json":
            self.write_json(data)
        elif options["format"] == "csv":
            self.write_csv(csv_rows(data))
        else:
            self.write_table(data)

    def write_table(self, data: dict) -> None:
        scope = data["company"] + (f", {data['plan']}" if data["plan"] else "")
        rate = data["forfeiture_rate"]
        self.stdout.write(
            f"Stock-compensation expense of {scope}, {data['from']} to {data['to']} "
            f"({data['attribution']}; forfeitures "
            f"{'as they occur' if rate is None else f'estimated at {rate} a year'})"
        )
        for period in data["periods"]:
            self.stdout.write(f"{period['from']} to {period['to']}{period['expense']:>20}")
        self.stdout.write(f"{'Total':24}{data['total']:>20}")
        for number, amounts in data.get("grants", {}).items():
            self.stdout.write(f"  {number}: {', '.join(amounts)}")
        years = data["weighted_average_years"]
        self.stdout.write(
            f"Unrecognised cost at {data['to']}: {data['unrecognised_cost']}"
            + (f", over a weighted-average {years} years" if years else "")
        )
        if data["grants_without_fair_value"]:
            self.stdout.write(
                f"{len(data['grants_without_fair_value']):,} grant(s) have no fair value "
                f"recorded and are left out (import_valuations): "
                f"{', '.join(data['grants_without_fair_value'][:10])}"
            )


def csv_rows(data: dict) -> list[list[str]]:
    header = ["from", "to", "expense"]
    numbers = list(data.get("grants", {}))
    rows = [header + numbers]
    for index, period in enumerate(data["periods"]):
        rows.append(
            [period["from"], period["to"], period["expense"]]
            + [data["grants"][n][index] for n in numbers]
        )
    rows.append(["total", "", data["total"]] + [""] * len(numbers))
    rows.append(["unrecognised_cost", data["to"], data["unrecognised_cost"]] + [""] * len(numbers))
    rows.append(
        ["weighted_average_years", data["to"], data["weighted_average_years"] or ""]
        + [""] * len(numbers)
    )
    return rows
