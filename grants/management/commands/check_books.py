"""The ledger check: every grant and plan recomputed from its rows and compared with the
stored values."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import Count

from grants.books import check_books
from grants.management.base import OperationCommand
from grants.models import Grant


class Command(OperationCommand):
    help = (
        "Recompute every grant's vested, exercised, forfeited, expired and outstanding "
        "shares, its effective expiration date and status, each exercise's price, and each "
        "plan's reserve from the rows, and report every difference from the stored values; "
        "check that last calendar year's option table (option_rollforward) balances. "
        "Reads only (--dry-run changes nothing either way). Exits non-zero on any mismatch."
    )
    summary_title = "Check of the books"
    summary_lines = [("grants", "grants checked"), ("mismatches", "mismatches")]

    def run(self, as_of: dt.date, report: Counter) -> None:
        total = Grant.objects.aggregate(n=Count("pk"))["n"]
        for item in check_books(as_of):
            if isinstance(item, int):
                report["grants"] = item
                self.progress(item, total)
                continue
            report["mismatches"] += 1
            self.failures.append(str(item))
            self.stderr.write(self.style.ERROR(str(item)))
