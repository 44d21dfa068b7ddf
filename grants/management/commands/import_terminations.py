"""The HR feed of terminations, applied through ``Optionee.terminate`` line by line."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from django.core.exceptions import ValidationError

from grants.imports import TerminationLine, parse_terminations
from grants.management.feeds import FeedCommand
from grants.models import Exercise, Grant, Optionee


class Command(FeedCommand):
    help = (
        "Apply the HR feed of terminations (CSV; the format is in docs/import-formats.md): "
        "one line per person who left, named by employee id or e-mail, with the termination "
        "date (for a death, the date of death) and the reason: other, disability or death. "
        "Each is recorded through Optionee.terminate, which stops vesting, forfeits the "
        "unvested shares and moves each grant's expiration date. A person whose standing "
        "termination has the same date and reason is skipped as already recorded; one with "
        "a different standing termination is reported as a conflict and left alone (reverse "
        "the recorded one in the back office if the feed is right). An unknown person or a "
        "termination the book refuses is an error: every error is listed with its line "
        "number and nothing is applied. For a termination reported late, the exercises "
        "accepted after the termination date are listed for review (they are not changed). "
        "A termination dated after --as-of is refused."
    )
    file_help = "The HR feed of terminations as a CSV file (see docs/import-formats.md)."
    summary_title = "Termination feed"
    summary_lines = [
        ("recorded", "terminations recorded"),
        ("already", "already recorded (skipped)"),
        ("conflicts", "conflicts (not applied)"),
        ("review", "exercises after the termination date to review"),
    ]

    def run(self, as_of: dt.date, report: Counter) -> None:
        self.as_of = as_of
        with self.opened() as file:
            parsed = parse_terminations(file, today=as_of)
        errors = list(parsed.errors)
        self.counts: Counter = Counter()
        self.notes: list[str] = []
        self.conflicts: list[tuple[int, str]] = []
        if self.apply_all_or_nothing(parsed.lines, self.apply_line, errors):
            for note in self.notes:
                self.say(note)
            report.update(self.counts)
            for line, conflict in self.conflicts:
                self.fail(f"{self.path}, line {line}", conflict)
        else:
            self.reject(errors)

    def apply_line(self, line: TerminationLine) -> None:
        as_of = self.as_of
        optionee = self.find(line)
        standing = optionee.active_termination()
        if standing is not None:
            if (standing.on, standing.reason) == (line.on, line.reason):
                self.counts["already"] += 1
                self.notes.append(
                    f"Line {line.line}: {optionee.legal_name}'s termination on "
                    f"{line.on:%Y-%m-%d} ({line.reason}) is already recorded; skipped."
                )
            else:
                self.counts["conflicts"] += 1
                self.conflicts.append(
                    (
                        line.line,
                        f"conflict, not applied: the book has {optionee.legal_name}'s service "
                        f"ending on {standing.on:%Y-%m-%d} ({standing.reason}), the feed says "
                        f"{line.on:%Y-%m-%d} ({line.reason}). If the feed is right, reverse the "
                        f"recorded termination in the back office and import the feed again.",
                    )
                )
            return
        optionee.terminate(
            line.on,
            line.reason,
            note=line.note or f"HR feed {Path(self.path).name}, line {line.line}",
        )
        self.counts["recorded"] += 1
        verb = "would be recorded" if self.options["dry_run"] else "recorded"
        expirations = "; ".join(
            f"grant {number} now expires {expires_on:%Y-%m-%d} ({clause})"
            + (
                ", already past: the next expire_options run expires it"
                if expires_on < as_of
                else ""
            )
            for number, expires_on, clause in Grant.objects.filter(optionee=optionee)
            .exclude(status=Grant.Status.EXPIRED)
            .order_by("number")
            .values_list("number", "expires_on", "expiration_clause")
        )
        self.notes.append(
            f"Line {line.line}: {optionee.legal_name}'s termination on {line.on:%Y-%m-%d} "
            f"({line.reason}) {verb}" + (f": {expirations}." if expirations else ".")
        )
        for exercise in (
            Exercise.objects.filter(grant__optionee=optionee, exercise_date__gt=line.on)
            .exclude(status=Exercise.Status.CANCELLED)
            .select_related("grant")
            .order_by("exercise_date", "pk")
        ):
            self.counts["review"] += 1
            self.notes.append(
                f"  Review: exercise #{exercise.pk} of grant {exercise.grant.number}, "
                f"{exercise.shares:,} shares on {exercise.exercise_date:%Y-%m-%d} "
                f"({exercise.get_status_display().lower()}), was accepted after the "
                f"termination date {line.on:%Y-%m-%d}; it is left as it is."
            )

    def find(self, line: TerminationLine) -> Optionee:
        """The company's optionee the line names: by employee id (then the e-mail, if given,
        must be theirs), or by an e-mail only one optionee has."""
        people = Optionee.objects.filter(company=self.company)
        if line.employee_id:
            optionee = people.filter(employee_id=line.employee_id).first()
            if optionee is None:
                raise ValidationError(
                    f"there is no optionee with employee id {line.employee_id} at {self.company}."
                )
            if line.email and line.email.lower() != optionee.email.lower():
                raise ValidationError(
                    f"employee {line.employee_id} is {optionee.legal_name}, whose e-mail in the "
                    f"book is “{optionee.email}”, not {line.email}; correct the line."
                )
            return optionee
        matches = list(people.filter(email__iexact=line.email)[:2])
        if not matches:
            raise ValidationError(
                f"there is no optionee with the e-mail {line.email} at {self.company}."
            )
        if len(matches) > 1:
            raise ValidationError(
                f"several optionees have the e-mail {line.email}; give the employee id."
            )
        return matches[0]
