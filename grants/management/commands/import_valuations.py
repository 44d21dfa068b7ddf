"""Grant-date fair values from a CSV file, recorded through ``GrantValuation.record``."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.core.exceptions import ValidationError

from grants.imports import ValuationLine, parse_valuations
from grants.management.feeds import FeedCommand
from grants.models import Grant, GrantValuation


class Command(FeedCommand):
    help = (
        "Record each grant's grant-date fair value (ASC 718) from a CSV file with the columns "
        "grant_number, volatility, risk_free_rate, dividend_yield, expected_term_years, "
        "fair_value_per_share (docs/import-formats.md): the Black-Scholes-Merton inputs, the "
        "share price being the closing price of the grant date and a blank expected term the "
        "SEC's simplified method; or a fair value per share from an outside valuation. Every "
        "line is checked first: if any is wrong, each problem is listed with its line number "
        "and nothing is recorded. A grant valued before is valued again from the file."
    )
    file_help = "The valuations as a CSV file (see docs/import-formats.md)."
    summary_title = "Grant valuations"
    summary_lines = [("recorded", "grants valued")]

    def run(self, as_of: dt.date, report: Counter) -> None:
        with self.opened() as file:
            lines, errors = parse_valuations(file)
        self.recorded = 0
        if self.apply_all_or_nothing(lines, self.apply_line, errors):
            report["recorded"] = self.recorded
        else:
            self.reject(errors)

    def apply_line(self, line: ValuationLine) -> None:
        grant = (
            Grant.objects.filter(plan__company=self.company, number=line.grant_number)
            .select_related("plan__company")
            .first()
        )
        if grant is None:
            raise ValidationError(
                f"there is no grant numbered {line.grant_number} at {self.company}."
            )
        valuation = GrantValuation.record(grant, **line.values)
        self.recorded += 1
        self.say(
            f"Line {line.line}: grant {grant.number} valued at "
            f"${valuation.fair_value_per_share} a share, ${valuation.total:,} in all."
        )
