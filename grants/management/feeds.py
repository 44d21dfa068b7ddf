"""What the import commands share on top of ``OperationCommand``: the file argument, the
``--company`` option, and applying a file all or nothing with every bad line reported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction

from grants.csvfiles import RowError
from grants.management.base import OperationCommand, logger
from grants.models import Company


class _RollBack(Exception):
    """Raised inside the import's transaction when a line failed, to undo every line."""


class FeedCommand(OperationCommand):
    """An import of one CSV file into one company's book.

    Subclasses implement ``run(as_of, report)``: read the file (``opened``), hand the lines to
    ``apply_all_or_nothing`` (line by line) or ``apply_file_all_or_nothing`` (in one
    batch) and report what is wrong with ``reject``.
    """

    file_help = "The CSV file to import."

    def add_arguments(self, parser):
        parser.add_argument("file", help=self.file_help)
        super().add_arguments(parser)
        parser.add_argument(
            "--company",
            help="The company whose book the file is for, by name. Needed only when the book "
            "holds more than one company.",
        )

    def handle(self, *args, **options):
        self.path = options["file"]
        self.nothing_imported = False
        super().handle(*args, **options)

    def default_as_of(self) -> dt.date:
        return self.company.today()

    @cached_property
    def company(self) -> Company:
        name = self.options.get("company")
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

    @contextmanager
    def opened(self) -> Iterator[BinaryIO]:
        """The file to import, open to be read as a stream (a large file is never held
        whole in memory)."""
        try:
            file = open(self.path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as error:
            raise CommandError(f"Cannot read {self.path}: {error.strerror}.") from None
        with file:
            yield file

    def reject(self, errors: list[RowError]) -> None:
        """Report each problem with the file's name and its line (line 0: the whole file);
        the file was not imported."""
        self.nothing_imported = bool(errors)
        for error in sorted(errors, key=lambda e: e.line):
            where = f"{self.path}, line {error.line}" if error.line else self.path
            self.fail(where, error.message)

    def apply_all_or_nothing(
        self, lines: list, apply: Callable[[object], None], errors: list[RowError]
    ) -> bool:
        """Apply every line in one transaction; if any line (or ``errors``, the lines that
        could not be read) failed, undo them all. A line's failure is the model's refusal
        (``ValidationError``) recorded against the line in ``errors``. Returns whether the
        lines were kept."""
        try:
            with transaction.atomic():
                for done, line in enumerate(lines, start=1):
                    try:
                        with transaction.atomic():
                            apply(line)
                    except ValidationError as error:
                        errors.append(RowError(line.line, " ".join(error.messages)))
                    except DatabaseError as error:  # a constraint the checks did not foresee
                        errors.append(RowError(line.line, f"the database refused it ({error})."))
                    self.progress(done, len(lines))
                if errors:
                    raise _RollBack
        except _RollBack:
            return False
        return True

    def apply_file_all_or_nothing(self, apply: Callable[[], None], errors: list[RowError]) -> bool:
        """Apply a whole file in one batch and one transaction: ``apply`` checks every line,
        records each refusal against its line in ``errors`` and writes only when nothing
        failed; if anything did (or ``errors``, the lines that could not be read, holds
        anything), the transaction is undone. Returns whether the lines were kept."""
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        apply()
                except DatabaseError as error:  # a constraint the checks did not foresee
                    errors.append(
                        RowError(
                            0,
                            f"the database refused the file ({error}). The lines were checked "
                            f"against the book as it was when the import began; most often "
                            f"someone added the same grant number or employee id meanwhile. "
                            f"Import the file again: it is checked against the book as it is "
                            f"then, and any line in conflict is named.",
                        )
                    )
                if errors:
                    raise _RollBack
        except _RollBack:
            return False
        return True

    def print_summary(self, as_of, report, dry_run) -> None:
        super().print_summary(as_of, report, dry_run)
        if self.nothing_imported:
            message = "Nothing was imported: correct the lines above and import the file again."
            logger.error(message)
            self.stdout.write(self.style.ERROR(f"  {message}"))
