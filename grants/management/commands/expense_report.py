"""ASC 718 stock-compensation expense per month, quarter or year, with the cost left to
recognise at the end and the weighted-average period over which it will be."""

from __future__ import annotations

from django.core.management.base import CommandError

from grants.management.reporting import ReportCommand
from grants.services.report_data import expense_csv_rows, expense_data
from grants.services.reports import expense_report

BY = ("month", "quarter", "year")


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
        data = expense_data(report, company, plan, by)
        if options["format"] == "json":
            self.write_json(data)
        elif options["format"] == "csv":
            self.write_csv(expense_csv_rows(data))
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
