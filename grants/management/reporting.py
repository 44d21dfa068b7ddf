"""What the report commands share: ``--from``, ``--to``, ``--company``, ``--plan`` and
``--format``, each checked before anything is read, with an error naming what to fix."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from grants import spreadsheet
from grants.models import Company, Plan

FORMATS = ("table", "csv", "json")


def parse_day(option: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise CommandError(
            f"{option} “{text}” is not a date: give it as YYYY-MM-DD, e.g. 2024-12-31."
        ) from None


class ReportCommand(BaseCommand):
    """A report over one company's book (or one plan's) for a period. Reads only."""

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", required=True, help="Last day, YYYY-MM-DD.")
        parser.add_argument(
            "--company",
            help="The company, by name. Needed only when the book holds more than one.",
        )
        parser.add_argument("--plan", help="Only this plan of the company, by name.")
        parser.add_argument("--format", default="table", help="table (default), csv or json.")

    def handle(self, *args, **options):
        start = parse_day("--from", options["start"])
        end = parse_day("--to", options["end"])
        if start > end:
            raise CommandError(
                f"--from {start:%Y-%m-%d} is after --to {end:%Y-%m-%d}: give the first day "
                f"of the period first."
            )
        if options["format"] not in FORMATS:
            raise CommandError(
                f"--format “{options['format']}” is not one of: {', '.join(FORMATS)}."
            )
        company = self.company(options["company"])
        plan = self.plan(company, options["plan"])
        self.report(company, plan, start, end, options)

    def company(self, name: str | None) -> Company:
        companies = list(Company.objects.order_by("name"))
        names = ", ".join(f"“{c.name}”" for c in companies)
        if name:
            match = next((c for c in companies if c.name == name), None)
            if match is None:
                raise CommandError(
                    f"There is no company named “{name}”; the companies are: {names}."
                )
            return match
        if not companies:
            raise CommandError("The book has no company yet; set it up in the back office first.")
        if len(companies) > 1:
            raise CommandError(
                f"The book holds several companies; give --company (one of: {names})."
            )
        return companies[0]

    def plan(self, company: Company, name: str | None) -> Plan | None:
        if not name:
            return None
        plans = list(company.plans.order_by("name"))
        match = next((p for p in plans if p.name == name), None)
        if match is None:
            names = ", ".join(f"“{p.name}”" for p in plans)
            raise CommandError(f"{company} has no plan named “{name}”; its plans are: {names}.")
        return match

    def report(self, company, plan, start, end, options) -> None:
        raise NotImplementedError

    def write_json(self, data) -> None:
        self.stdout.write(json.dumps(data, indent=2))

    def write_csv(self, rows: list[list[str]]) -> None:
        writer = spreadsheet.writer(self.stdout, lineterminator="\n")
        writer.writerows(rows)
