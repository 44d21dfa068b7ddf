from __future__ import annotations

import datetime as dt
from collections import Counter

from django.core.exceptions import ValidationError

from grants.imports import (
    GrantLine,
    GrantRecord,
    OptioneeDetails,
    grant_differences,
    optionee_differences,
    parse_grants,
)
from grants.management.feeds import FeedCommand
from grants.models import Grant, GrantTerms, Optionee


class Command(FeedCommand):
    help = (
        "Onboard grants from the administrator's spreadsheet (CSV; the format is in "
        "docs/import-formats.md): one grant per line, with its optionee (matched by employee "
        "id within the company, created if new), plan, terms and vesting schedule, given as "
        "a shape or as explicit installments. Every line is checked, then each grant is made "
        "through Grant.create, with the same checks as the back office (schedule adds up, "
        "plan reserve and term, price at least the closing price on the grant date), all in "
        "one transaction: if any line is wrong, every problem is listed with its line number "
        "and nothing is imported. A grant number already in the book with the same data is "
        "skipped as already imported; with other data it is an error. A grant dated after "
        "--as-of is refused."
    )
    file_help = "The grant spreadsheet as a CSV file (see docs/import-formats.md)."
    summary_title = "Grant import"
    summary_lines = [
        ("imported", "grants imported"),
        ("optionees", "new optionees"),
        ("already", "already imported (skipped)"),
    ]

    def run(self, as_of: dt.date, report: Counter) -> None:
        parsed = parse_grants(self.data, today=as_of)
        errors = list(parsed.errors)
        self.plans = {plan.name: plan for plan in self.company.plans.all()}
        self.terms = {terms.name: terms for terms in GrantTerms.objects.all()}
        self.counts: Counter = Counter()
        self.notes: list[str] = []
        if self.apply_all_or_nothing(parsed.lines, self.import_line, errors):
            for note in self.notes:
                self.say(note)
            report.update(self.counts)
        else:
            self.reject(errors)

    def import_line(self, line: GrantLine) -> None:
        record = line.grant
        existing = (
            Grant.objects.select_related("plan__company", "optionee", "terms")
            .prefetch_related("installments")
            .filter(number=record.number)
            .first()
        )
        if existing is not None:
            self.check_same(existing, record)
            self.counts["already"] += 1
            self.notes.append(f"Line {line.line}: grant {record.number} already imported; skipped.")
            return
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
                    f"terms: there are no grant terms named “{record.terms}”; the terms are: "
                    f"{', '.join(self.terms) or 'none yet'}."
                )
        optionee, created = self.optionee_for(line.optionee)
        grant = Grant.create(
            number=record.number,
            plan=plan,
            optionee=optionee,
            grant_date=record.grant_date,
            shares=record.shares,
            exercise_price=record.exercise_price,
            term_end=record.term_end,
            installments=list(record.installments),
            option_type=record.option_type,
            grant_terms=terms,
        )
        self.counts["imported"] += 1
        self.counts["optionees"] += created
        verb = "would be imported" if self.options["dry_run"] else "imported"
        self.notes.append(
            f"Line {line.line}: grant {grant.number} {verb}: {grant.shares:,} shares to "
            f"{optionee.legal_name}{' (new optionee)' if created else ''}, "
            f"{len(record.installments)} installment(s), expires {grant.expires_on:%Y-%m-%d}."
        )

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
                installments=tuple(
                    sorted((i.vest_date, i.shares) for i in grant.installments.all())
                ),
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
        of the back office for what the line leaves blank)."""
        optionee = Optionee.objects.filter(
            company=self.company, employee_id=details.employee_id
        ).first()
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
        optionee = Optionee(
            company=self.company,
            employee_id=details.employee_id,
            legal_name=details.legal_name,
            email=details.email or "",
            relationship=details.relationship or Optionee.Relationship.EMPLOYEE,
            is_section16_insider=bool(details.insider),
        )
        optionee.full_clean()
        optionee.save()
        return optionee, True
