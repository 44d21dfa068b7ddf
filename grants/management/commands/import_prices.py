"""The closing-price import: the company's daily closing prices from a CSV file."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from grants.management.feeds import FeedCommand
from grants.prices import import_closing_prices, parse_closing_prices


class Command(FeedCommand):
    help = (
        "Record the company's daily closing prices from a CSV file with the header "
        "date,price (docs/import-formats.md), as the back office's price upload does. Every "
        "line is checked first: if any is wrong, each problem is listed with its line number "
        "and nothing is imported. New dates are added; a date already recorded is updated to "
        "the file's price (the old price stays in its history); importing the same file again "
        "changes nothing. A price dated after --as-of is refused (a closing price exists once "
        "the day's trading has closed)."
    )
    file_help = "The closing prices as a CSV file: date,price (see docs/import-formats.md)."
    summary_title = "Closing prices"
    summary_lines = [
        ("added", "prices added"),
        ("updated", "prices updated"),
        ("unchanged", "unchanged"),
    ]

    def run(self, as_of: dt.date, report: Counter) -> None:
        with self.opened() as file:
            parsed = parse_closing_prices(file, today=as_of)
        if not parsed.ok:
            self.reject(parsed.errors)
            return
        result = import_closing_prices(self.company, parsed.rows)
        report.update(added=result.added, updated=result.updated, unchanged=result.unchanged)
        dates = [row.date for row in parsed.rows]
        self.say(
            f"{len(dates):,} closing price(s) of {self.company}, "
            f"{min(dates):%Y-%m-%d} to {max(dates):%Y-%m-%d}."
        )
