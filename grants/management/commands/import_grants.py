"""The grant import: onboarding grants from the administrator's spreadsheet, all or nothing."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from collections import Counter
from collections.abc import Iterator

from django.core.exceptions import ValidationError

from grants.csvfiles import RowError
from grants.db import in_lists
from grants.imports import (
    GrantLine,
    GrantRecord,
    OptioneeDetails,
    grant_differences,
    optionee_differences,
    read_grants,
)
from grants.management.feeds import FeedCommand
from grants.models import Grant, GrantTerms, Installment, Optionee
from grants.services import granting

CHUNK = 5_000  # lines checked and made together: what memory holds of the file


class Command(FeedCommand):
    help = (
        "Onboard grants from the administrator's spreadsheet (CSV; the format is in "
        "docs/import-formats.md): one grant per line, with its optionee (matched by employee "
        "id within the company, created if new), plan, terms and vesting schedule, given as "
        "a shape or as explicit installments. Every line is checked, then the grants are made "
        "through the bulk grant writer, with the same checks as the back office's Grant.create "
        "(schedule adds up, plan reserve and term, price at least the closing price on the "
        "grant date), all in one transaction: if any line is wrong, every problem is listed "
        "with its line number and nothing is imported. A grant number already in the book "
        "with the same data is skipped as already imported; with other data it is an error. "
        "A grant dated after --as-of is refused."
    )
    file_help = "The grant spreadsheet as a CSV file (see docs/import-formats.md)."
    summary_title = "Grant import"
    summary_lines = [
        ("imported", "grants imported"),
        ("optionees", "new optionees"),
        ("already", "already imported (skipped)"),
    ]

    def run(self, as_of: dt.date, report: Counter) -> None:
        self.plans = {plan.name: plan for plan in self.company.plans.all()}
        self.terms = {terms.name: terms for terms in GrantTerms.objects.all()}
        self.counts: Counter = Counter()
        errors: list[RowError] = []
        # A line per grant, said once the file is in: kept on disk beyond the first MB.
        with (
            self.opened() as file,
            tempfile.SpooledTemporaryFile(
                max_size=1024 * 1024, mode="w+", encoding="utf-8"
            ) as self.notes,
        ):
            lines = read_grants(file, today=as_of, errors=errors)
            if self.apply_file_all_or_nothing(lambda: self.import_lines(lines, errors), errors):
                self.notes.seek(0)
                for note in self.notes:
                    self.say(note.rstrip("\n"))
                report.update(self.counts)
            else:
                self.reject(errors)

    def import_lines(self, lines: Iterator[GrantLine], errors: list[RowError]) -> None:
        """Check the file's lines against the book and make the new grants, ``CHUNK`` lines
        at a time as the file is read, inside the transaction of the whole file, so that
        memory holds one chunk and not the file (docs/performance.md). Each chunk goes
        through ``granting.create_many``, which writes nothing of it unless every one of
        its lines passes; the book then holds the earlier chunks' grants, so the plan's
        reserve and the grant numbers are counted across the file as one batch counts
        them. Every bad line is added to ``errors``, and then the file's transaction is
        undone (``apply_file_all_or_nothing``): nothing is kept."""
        done = 0
        while chunk := list(itertools.islice(lines, CHUNK)):
            self.import_chunk(chunk, errors)
            done += len(chunk)
            if len(chunk) == CHUNK:  # a long file: say how far it has got
                self.say(f"  … {done:,} lines checked")

    def import_chunk(self, lines: list[GrantLine], errors: list[RowError]) -> None:
        """Check lines against the book and make their grants in one batch
        (``granting.create_many``). Lines that failed here, or when the file was read,
        are left out of the batch; a batch in which a line failed is refused whole, and
        then its lines that passed are made alone, for the next chunks to count them."""
        self.in_book = self.grants_in_book([line.grant.number for line in lines])
        self.optionees = self.optionees_in_book([line.optionee.employee_id for line in lines])
        self.new_optionees: dict[str, Optionee] = {}
        # By line number ("at"): "already", or (spec, whether it brings a new optionee).
        outcomes: dict[int, str | tuple[dict, bool]] = {}
        for line in lines:
            try:
                outcomes[line.line] = self.check_line(line)
            except ValidationError as error:
                errors.append(RowError(line.line, " ".join(error.messages)))
        grant_numbers = {line.line: line.grant.number for line in lines}
        batch = [(at, *outcome) for at, outcome in outcomes.items() if outcome != "already"]
        results = granting.create_many([spec for _, spec, _ in batch])
        made = {}
        for (at, spec, created), result in zip(batch, results, strict=True):
            if isinstance(result, ValidationError):
                errors.append(RowError(at, " ".join(result.messages)))
            else:
                made[at] = (result, spec, created)
        if len(made) < len(batch):
            granting.create_many([made[at][1] for at in made])
        if errors:
            return
        verb = "would be imported" if self.options["dry_run"] else "imported"
        for at, outcome in outcomes.items():
            if outcome == "already":
                self.counts["already"] += 1
                self.notes.write(
                    f"Line {at}: grant {grant_numbers[at]} already imported; skipped.\n"
                )
                continue
            grant, spec, created = made[at]
            self.counts["imported"] += 1
            self.counts["optionees"] += created
            self.notes.write(
                f"Line {at}: grant {grant.number} {verb}: {grant.shares:,} shares to "
                f"{grant.optionee.legal_name}{' (new optionee)' if created else ''}, "
                f"{len(spec['installments'])} installment(s), expires "
                f"{grant.expires_on:%Y-%m-%d}.\n"
            )

    def check_line(self, line: GrantLine) -> str | tuple[dict, bool]:
        """What the book says of one line: "already" (the same grant is in the book), or
        the spec for ``granting.create_many`` with whether it brings a new optionee."""
        record = line.grant
        existing = self.in_book.get(record.number)
        if existing is not None:
            self.check_same(existing, record)
            return "already"
        plan = self.plans.get(record.plan)
        if plan is None:
            raise ValidationError(
                f"plan: there is no plan named “{record.plan}” at {self.company}; the plans "
                f"are: {', '.join(self.plans) or 'none yet'}."
            )
        terms = None  # Grant.create's default: the standard terms
        if line.terms_given:
            terms = self.terms.get(record.terms)
            if terms is None:
                raise ValidationError(
                    f"terms: there is no agreement form named “{record.terms}”; the forms are: "
                    f"{', '.join(self.terms) or 'none yet'}."
                )
        optionee, created = self.optionee_for(line.optionee)
        spec = {
            "number": record.number,
            "plan": plan,
            "optionee": optionee,
            "grant_date": record.grant_date,
            "shares": record.shares,
            "exercise_price": record.exercise_price,
            "term_end": record.term_end,
            "installments": list(record.installments),
            "option_type": record.option_type,
            "grant_terms": terms,
        }
        return spec, created

    def grants_in_book(self, numbers: list[str]) -> dict[str, Grant]:
        """The grants of the book with these numbers (of any company), with what
        ``check_same`` compares: their schedules, read as plain (date, shares) rows in one
        more query (a file sent again may name 100,000 grants and 1.8 million
        installments)."""
        grants = {
            grant.number: grant
            for values in in_lists(numbers)
            for grant in Grant.objects.select_related("plan__company", "optionee", "terms").filter(
                number__in=values
            )
        }
        schedules: dict[int, list] = {grant.pk: [] for grant in grants.values()}
        for values in in_lists(list(schedules), kind="bigint"):
            for grant_id, vest_date, shares in Installment.objects.filter(
                grant_id__in=values
            ).values_list("grant_id", "vest_date", "shares"):
                schedules[grant_id].append((vest_date, shares))
        self.schedules = schedules
        return grants

    def optionees_in_book(self, employee_ids: list[str]) -> dict[str, Optionee]:
        """The company's optionees with these employee ids."""
        return {
            optionee.employee_id: optionee
            for values in in_lists(sorted(set(employee_ids)))
            for optionee in Optionee.objects.filter(company=self.company, employee_id__in=values)
        }

    def check_same(self, grant: Grant, record: GrantRecord) -> None:
        """A grant number already in the book: the line must state exactly that grant."""
        if grant.plan.company_id != self.company.pk:
            raise ValidationError(
                f"grant number {record.number} is already used by {grant.company}."
            )
        differences = grant_differences(
            record,
            GrantRecord(
                number=grant.number,
                employee_id=grant.optionee.employee_id,
                plan=grant.plan.name,
                terms=grant.terms.name,
                option_type=grant.option_type,
                grant_date=grant.grant_date,
                shares=grant.shares,
                exercise_price=grant.exercise_price,
                term_end=grant.term_end,
                installments=tuple(sorted(self.schedules[grant.pk])),
            ),
        )
        if differences:
            raise ValidationError(
                f"grant {record.number} is already in the book with other data: "
                f"{'; '.join(differences)}. Correct the line, or give the new grant its own "
                f"number."
            )

    def optionee_for(self, details: OptioneeDetails) -> tuple[Optionee, bool]:
        """The company's optionee with this employee id, or a new one (with the defaults
        of the back office for what the line leaves blank), saved with the grants by
        ``granting.create_many``. Returns whether this line brings the new optionee (its
        first line does)."""
        optionee = self.optionees.get(details.employee_id)
        if optionee is not None:
            differences = optionee_differences(
                details,
                OptioneeDetails(
                    employee_id=optionee.employee_id,
                    legal_name=optionee.legal_name,
                    email=optionee.email,
                    relationship=optionee.relationship,
                    insider=optionee.is_section16_insider,
                ),
            )
            if differences:
                raise ValidationError(
                    f"employee {details.employee_id} differs from the book "
                    f"({', '.join(differences)}); make the line match the book, or correct "
                    f"the optionee in the back office first."
                )
            return optionee, False
        optionee = self.new_optionees.get(details.employee_id)
        if optionee is not None:  # the file checked that the lines of one person agree
            return optionee, False
        optionee = Optionee(
            company=self.company,
            employee_id=details.employee_id,
            legal_name=details.legal_name,
            email=details.email or "",
            relationship=details.relationship or Optionee.Relationship.EMPLOYEE,
            is_section16_insider=bool(details.insider),
        )
        # Without a query: the company is this import's own, and the employee id was
        # looked up in the company above (the uniqueness that validate_unique would query).
        optionee.full_clean(exclude=["company"], validate_unique=False, validate_constraints=False)
        self.new_optionees[details.employee_id] = optionee
        return optionee, True
