"""The nightly expiry check: thin over ``grants.services.nightly``, batch by batch."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import Q

from grants.management.base import OperationCommand
from grants.models import Grant
from grants.services import nightly

BATCH = 500  # grants locked, read and written together (docs/performance.md)


class Command(OperationCommand):
    help = (
        "The nightly expiry check. Selects only the grants that are due: outstanding grants "
        "whose stored next-action date (the day after expiration, a day an expiry warning "
        "is due, or the first day of an announced registration suspension) is on or before "
        "the as-of date. Each is re-checked under lock: past its effective expiration date "
        "it becomes expired, a pending request whose price never came lapses, the "
        "unexercised shares return to the plan and the optionee gets a written notice; "
        "before it, the due expiry warning (60, 30, 14, 7 and 1 days before by default; "
        "Company.expiry_warning_days; by mail, deposited early enough to take effect by then) "
        "is given once as a written notice. A grant whose post-termination clock is paused by "
        "an open registration suspension is left for the next night. Safe to run twice, and "
        "two copies at once."
    )
    summary_title = "Nightly expiry check"
    summary_lines = [
        ("due", "grants due"),
        ("expired", "expired"),
        ("warned", "expiry warnings sent"),
        ("paused", "paused (open registration suspension)"),
        ("skipped", "skipped (another run has it)"),
        ("nothing", "re-scheduled, nothing due"),
    ]

    def run(self, as_of: dt.date, report: Counter) -> None:
        due = list(
            Grant.objects.filter(status=Grant.Status.GRANTED)
            .filter(Q(next_action_on__lte=as_of) | Q(next_action_on__isnull=True))
            .order_by("next_action_on", "pk")
            .values_list("pk", "number")
        )
        report["due"] = len(due)
        done = 0
        for start in range(0, len(due), BATCH):
            batch = due[start : start + BATCH]
            outcomes = nightly.run_nightly_many([pk for pk, _ in batch], as_of)
            for pk, number in batch:
                outcome = outcomes[pk]
                if isinstance(outcome, Exception):  # one bad grant must not stop the night
                    self.fail(f"grant {number}", outcome)
                    continue
                report[outcome] += 1
                if outcome not in ("nothing", "skipped"):
                    self.say(f"{number}: {outcome}", level=2)
            done += len(batch)
            self.progress(done, len(due))
