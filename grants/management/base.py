"""What every operations command shares: ``--as-of``, ``--dry-run``, a summary, logging,
and a non-zero exit when anything failed."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from grants.audit import audit_source
from grants.models import Company

logger = logging.getLogger("grants.operations")


class DryRunRollback(Exception):
    """Raised at the end of a dry run so its single transaction rolls back."""


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"“{value}” is not a date; give it as YYYY-MM-DD.") from None


class OperationCommand(BaseCommand):
    """A nightly or operations command. Subclasses implement ``run(as_of, report)``.

    ``--dry-run`` does all the work in one transaction and rolls it back at the end, so it
    reports exactly what a real run would do and commits (and e-mails) nothing.
    """

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            type=parse_date,
            help="The day to run for (YYYY-MM-DD). Default: today in the company's time zone.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Do everything and print what would change, but commit and send nothing.",
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        self.options = options
        as_of = options["as_of"] or self.default_as_of()
        report = Counter()
        self.failures: list[str] = []
        dry_run = options["dry_run"]
        command = self.__module__.rsplit(".", 1)[-1]
        try:
            with audit_source(f"command {command}"):
                if dry_run:
                    with transaction.atomic():
                        self.run(as_of, report)
                        raise DryRunRollback
                else:
                    self.run(as_of, report)
        except DryRunRollback:
            pass
        self.print_summary(as_of, report, dry_run)
        if self.failures:
            raise CommandError(f"{len(self.failures)} item(s) failed; see the messages above.")

    def default_as_of(self) -> dt.date:
        company = Company.objects.order_by("pk").first()
        if company is None:
            return dt.date.today()
        return company.today()

    def fail(self, what: str, error: Exception) -> None:
        message = f"{what}: {error}"
        self.failures.append(message)
        logger.error(message)
        self.stderr.write(self.style.ERROR(message))

    def say(self, message: str, level: int = 1) -> None:
        logger.info(message)
        if self.verbosity >= level:
            self.stdout.write(message)

    def progress(self, done: int, total: int) -> None:
        if self.verbosity >= 1 and total >= 1000 and (done % 1000 == 0 or done == total):
            self.stdout.write(f"  … {done:,} of {total:,}")

    def print_summary(self, as_of: dt.date, report: Counter, dry_run: bool) -> None:
        heading = f"{self.summary_title} for {as_of:%Y-%m-%d}"
        if dry_run:
            heading += " (dry run: nothing was committed or sent)"
        self.stdout.write(heading)
        for key, label in self.summary_lines:
            self.stdout.write(f"  {label}: {report[key]:,}")
        if self.failures:
            self.stdout.write(self.style.ERROR(f"  failed: {len(self.failures):,}"))
        logger.info("%s: %s", heading, dict(report))

    summary_title = "Summary"
    summary_lines: list[tuple[str, str]] = []

    def run(self, as_of: dt.date, report: Counter) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
