"""The 10-K option table (ASC 718-10-50-2): options outstanding, granted, exercised,
forfeited and expired over a period, read from the book as it stood at its end."""

from __future__ import annotations

from grants.management.reporting import ReportCommand
from grants.rollforward import Table
from grants.services.report_data import LABELS, rollforward_csv_rows, rollforward_data


class Command(ReportCommand):
    help = (
        "The 10-K option table (ASC 718-10-50-2) for --from to --to: options outstanding at "
        "the start, granted, exercised, forfeited, expired and outstanding and exercisable at "
        "the end, with weighted-average exercise prices, remaining terms and intrinsic values "
        "at the closing price of --to. Reads the book as it stood at the end of --to: a fact "
        "recorded later changes the table only with --restate, which shows the difference. "
        "Definitions: docs/reports.md."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--restate",
            action="store_true",
            help="Include facts recorded after --to (late terminations, exercises, "
            "forfeitures) and show how the table differs from the one as it stood.",
        )

    def report(self, company, plan, start, end, options) -> None:
        data = rollforward_data(company, plan, start, end, options["restate"])
        if options["format"] == "json":
            self.write_json(data)
        elif options["format"] == "csv":
            self.write_csv(rollforward_csv_rows(data))
        else:
            self.write_table(data)

    def write_table(self, data: dict) -> None:
        scope = data["company"] + (f", {data['plan']}" if data["plan"] else "")
        price = data["closing_price"] or "none recorded"
        self.stdout.write(
            f"Option activity of {scope}, {data['from']} to {data['to']}"
            f"{' (restated)' if data['restated'] else ' (as it stood)'}; closing price "
            f"{price}"
        )
        self.stdout.write(
            f"{'':24}{'shares':>16}{'w.a. price':>12}{'term (yrs)':>12}{'intrinsic value':>20}"
            + (f"{'restated by':>14}" if data["restated"] else "")
        )
        for name in Table.LINES:
            line = data[name]
            self.stdout.write(
                f"{LABELS[name]:24}{int(line['shares']):>16,}"
                f"{line['weighted_average_exercise_price'] or '':>12}"
                f"{line.get('remaining_term_years') or '':>12}"
                f"{line.get('intrinsic_value') or '':>20}"
                + (
                    f"{int(data['difference_from_as_stood'][name]):>+14,}"
                    if data["restated"]
                    else ""
                )
            )
        self.stdout.write(
            f"Weighted-average grant-date fair value of options granted: "
            f"{data['weighted_average_grant_date_fair_value'] or 'n/a'}"
        )
        self.stdout.write(
            f"Intrinsic value of options exercised: {data['intrinsic_value_exercised']}"
        )
        if data["granted_shares_without_fair_value"] != "0":
            self.stdout.write(
                f"{int(data['granted_shares_without_fair_value']):,} granted shares have no "
                f"fair value recorded (import_valuations)."
            )
