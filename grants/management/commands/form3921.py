"""IRS Form 3921 data: each incentive stock option exercise of a calendar year."""

from __future__ import annotations

from django.core.management.base import CommandError

from grants.management.reporting import ReportCommand
from grants.services.reports import form3921

CSV_HEADER = [
    "optionee",
    "address",
    "grant_number",
    "date_granted",
    "date_exercised",
    "exercise_price_per_share",
    "fair_market_value_per_share",
    "shares_transferred",
]


class Command(ReportCommand):
    help = (
        "The data of IRS Form 3921 for each incentive stock option (ISO) exercise made in "
        "--year: grant date, exercise date, exercise price per share, fair market value per "
        "share on the exercise date (its closing price), shares transferred, and the "
        "optionee's name and address on file. Printable copies per optionee are in the back "
        "office (Reports > Form 3921)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="The calendar year, e.g. 2024.")
        parser.add_argument(
            "--company", help="The company, by name. Needed only when the book holds more."
        )
        parser.add_argument("--format", default="csv", help="csv (the default).")

    def handle(self, *args, **options):
        text = options["year"]
        if not (text.isascii() and text.isdigit() and len(text) == 4 and int(text) >= 1):
            raise CommandError(f"--year “{text}” is not a year: give four digits, e.g. 2024.")
        if options["format"] != "csv":
            raise CommandError(f"--format “{options['format']}” is not one of: csv.")
        company = self.company(options["company"])
        rows = [CSV_HEADER] + [
            [
                form.optionee,
                form.address,
                form.grant_number,
                form.granted_on.isoformat(),
                form.exercised_on.isoformat(),
                str(form.exercise_price),
                "" if form.fair_market_value is None else str(form.fair_market_value),
                str(form.shares),
            ]
            for form in form3921(company, int(text))
        ]
        self.write_csv(rows)
