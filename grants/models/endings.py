"""How an option ends before its time: forfeited (cause found, a competitor joined, a
clawback), or cancelled as recorded in error; verbs of ``Grant``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from grants import events, rules
from grants.models.dates import require_date
from grants.models.exercises import Exercise
from grants.models.notices import Notice

if TYPE_CHECKING:
    from grants.models.facts import GrantFacts


class EndingVerbs:
    """The verbs that end an option early, and how an ending reads, part of ``Grant``."""

    def ended_note(self, on: dt.date, facts: GrantFacts) -> str:
        """Why nothing can be exercised on ``on`` when the option ended early, for people."""
        if self.status == self.Status.FORFEITED and facts.forfeited_by_then(on):
            return (
                f"This option was forfeited on {self.forfeited_on:%B %-d, %Y} "
                f"({self.forfeiture_reason}) and can no longer be exercised; exercises made "
                f"before that day stand."
            )
        if self.status == self.Status.CANCELLED:
            return (
                f"This grant was cancelled as recorded in error ({self.cancellation_reason}); "
                f"nothing of it can be exercised."
            )
        return ""

    def closed_on(self, on: dt.date, facts: GrantFacts) -> bool:
        """Whether an ending the book has recorded leaves nothing exercisable on ``on``:
        expiry stored by the nightly job, cancellation, or forfeiture from its day on."""
        if self.status == self.Status.FORFEITED:
            return facts.forfeited_by_then(on)
        return self.status in self.ENDED

    def status_on(self, on: dt.date, expires: rules.Expiration | None = None) -> str:
        """The status people see on ``on``: the rules' answer, not a stored field that the
        nightly job has not caught up with. A grant past its last day is expired from the
        next day on, whether or not the job has stored it yet (DOMAIN.md, paragraph 5)."""
        if self.status not in self.ENDED:
            expires = expires or self.expiration(as_of=on)
            if on > expires.on:
                return self.Status.EXPIRED
        return self.status

    def forfeit(self, on: dt.date, why: str, *, tell: bool = True) -> None:
        """The option is forfeited from ``on`` (cause found, joining a competitor, a
        clawback): from that day nothing of it is exercisable, its unexercised shares return
        to the plan, exercises made before stand, and a pending request lapses. The
        optionee is told in writing, unless ``tell`` is false (a forfeiture that happened
        in another system and is only being recorded here, by ``import_ocf``)."""
        on = require_date(on, "The date of the forfeiture")
        why = (why or "").strip()
        if not why:
            raise ValidationError("Say why the option is forfeited.", code="no_reason")
        with transaction.atomic():
            grant = type(self).objects.select_for_update(of=("self",)).get(pk=self.pk)
            today = grant.company.today()
            if on > today:
                raise ValidationError(
                    f"Record the forfeiture on the day it takes effect (today is "
                    f"{today:%Y-%m-%d}, not {on:%Y-%m-%d}).",
                    code="after_today",
                )
            if grant.status in (
                self.Status.FORFEITED,
                self.Status.CANCELLED,
                self.Status.EXPIRED,
                self.Status.EXERCISED,
            ):
                raise ValidationError(
                    f"Grant {grant.number} is already {grant.get_status_display().lower()}: "
                    f"nothing of it is left to forfeit.",
                    code="already_ended",
                )
            made_after = grant.exercises.filter(status__in=Exercise.MADE, exercise_date__gte=on)
            if made_after.exists():
                raise ValidationError(
                    f"An exercise of grant {grant.number} was made on or after "
                    f"{on:%Y-%m-%d}: cancel it first, or date the forfeiture after it.",
                    code="exercised_after",
                )
            lapsed = list(grant.exercises.filter(status=Exercise.Status.REQUESTED))
            for request in lapsed:
                request.status, request.lapsed_on = Exercise.Status.LAPSED, on
                request.save(update_fields=["status", "lapsed_on"])
            grant.status, grant.forfeited_on, grant.forfeiture_reason = (
                self.Status.FORFEITED,
                on,
                why[:300],
            )
            changed = grant.derive(grant.facts(), today)
            grant.save(update_fields=[*{*changed, "status", "forfeited_on", "forfeiture_reason"}])
            if not tell:
                self.refresh_from_db()
                return
            notice = Notice.to_optionee(
                grant,
                kind=Notice.Kind.FORFEITED,
                subject=f"Your option {grant.number} is forfeited",
                body=(
                    f"Your option under grant {grant.number} is forfeited from "
                    f"{on:%B %-d, %Y} ({why}): from that day none of it can be exercised, and "
                    f"its {grant.returned_shares:,} unexercised shares return to the plan. "
                    f"Exercises made before stand."
                ),
                sent_on=today,
            )
            notice.save()
            events.notices_given.send(sender=Notice, notices=[notice])
        self.refresh_from_db()

    def cancel(self, why: str) -> None:
        """Cancel a grant recorded in error, with the reason, while nothing of it has been
        exercised or requested: every share returns to the plan's reserve and nothing is
        exercisable; the grant stays in the book with its history. A correction is a
        cancellation and a new grant."""
        why = (why or "").strip()
        if not why:
            raise ValidationError("Say why the grant is cancelled.", code="no_reason")
        with transaction.atomic():
            grant = type(self).objects.select_for_update(of=("self",)).get(pk=self.pk)
            if grant.status == self.Status.CANCELLED:
                raise ValidationError(
                    f"Grant {grant.number} is already cancelled.", code="already_cancelled"
                )
            if grant.exercises.filter(status__in=Exercise.TAKEN).exists():
                raise ValidationError(
                    f"Shares of grant {grant.number} have been exercised or requested: a "
                    f"grant is cancelled as recorded in error only while nothing of it has "
                    f"been exercised. Cancel its exercises first, if they too were in error.",
                    code="exercised",
                )
            grant.status, grant.cancellation_reason = self.Status.CANCELLED, why[:300]
            grant.returned_shares, grant.next_action_on = grant.shares, None
            grant.save(
                update_fields=["status", "cancellation_reason", "returned_shares", "next_action_on"]
            )
        self.refresh_from_db()
