"""The nightly job's batch work (paragraphs 5 and 9): claiming the grants that are due,
deciding each one's outcome, expiring them and giving the expiry warnings and notices."""

from __future__ import annotations

import datetime as dt

from django.db import DatabaseError, transaction
from simple_history.utils import bulk_create_with_history

from grants import events, rules
from grants.db import bulk_set
from grants.models import Exercise, Grant, GrantFacts, Notice, Optionee


def run_nightly_many(pks: list[int], as_of: dt.date) -> dict[int, str | Exception]:
    """The nightly expiry check (paragraphs 5 and 9) for a batch of grants on ``as_of``.

    Locks the grants that no other copy of the job holds, reads them and every fact
    the rules need in a fixed number of queries, decides each grant's outcome, then
    writes every notice and every changed grant, each with its history, in one insert
    and one update. The outcomes, by grant:
    - "paused": an open-ended registration suspension pauses the post-termination
      clock (5b(iii)): the date is not final, so nothing expires and no warning goes.
    - "expired": past expiration: status expired, unexercised shares back to the plan
      (those of a pending request whose price never came included: the request lapses),
      and a written notice to the optionee.
    - "warned": an expiry warning was due and is sent as a written notice.
    - "nothing" / "skipped": nothing was due, or another copy of the job has the grant
      (or it is no longer outstanding).
    - an exception: that grant's check failed; it is left as it was, and the rest of
      the batch goes on (one bad grant must not stop the night).
    """
    outcomes: dict[int, str | Exception] = {}
    try:
        with transaction.atomic():
            grants = list(
                # Lock the grant rows alone (of=self): the joined plan and company rows
                # are shared by every grant, and locking them would make a second copy
                # of the job skip grants nobody is working on.
                Grant.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__in=pks, status=Grant.Status.GRANTED)
                .with_facts()
                .order_by("pk")
            )
            sent: dict[int, set] = {g.pk: set() for g in grants}
            for grant_id, about, days in Notice.objects.filter(
                grant_id__in=list(sent), kind=Notice.Kind.EXPIRY_WARNING
            ).values_list("grant_id", "about_expiration", "days_before"):
                sent[grant_id].add((about, days))
            for grant in grants:
                grant._warnings_sent = sent[grant.pk]
            notices, changed_grants, changed_fields = [], [], set()
            for grant in grants:
                try:
                    outcome, changed, notice = plan_grant(grant, as_of)
                except Exception as error:  # reported by the caller, by grant
                    outcomes[grant.pk] = error
                    continue
                outcomes[grant.pk] = outcome
                if notice is not None:
                    notices.append(notice)
                if changed:
                    changed_grants.append(grant)
                    changed_fields.update(changed)
            if notices:
                addresses = Optionee.notice_addresses_on({n.optionee_id for n in notices}, as_of)
                for notice in notices:
                    notice.prepare(address=addresses.get(notice.optionee_id, ""))
                bulk_create_with_history(notices, Notice)
            if changed_grants:
                bulk_set(changed_grants, sorted(changed_fields))
                Grant.history.bulk_history_create(changed_grants, update=True)
            lapse_pending_requests(
                [pk for pk, outcome in outcomes.items() if outcome == "expired"], as_of
            )
            events.notices_given.send(sender=Notice, notices=notices)
    except DatabaseError as error:
        if len(pks) == 1:
            return {pks[0]: error}
        # One grant's write failed and took the batch with it: redo them one by one,
        # so only that grant is reported.
        outcomes = {}
        for pk in pks:
            outcomes.update(run_nightly_many([pk], as_of))
        return outcomes
    for pk in pks:
        outcomes.setdefault(pk, "skipped")
    return outcomes


def plan_grant(grant: Grant, as_of: dt.date) -> tuple[str, list[str], Notice | None]:
    """Decide this grant's nightly outcome from the rules as of ``as_of`` and set its
    derived fields; return the outcome, the changed field names and the notice to give
    (unsaved). Reads the facts ``run_nightly_many`` gathered for the batch."""
    facts = grant.facts()
    expires = grant.expiration(as_of=as_of, facts=facts)
    tomorrow = as_of + dt.timedelta(days=1)
    paused = expires != grant.expiration(as_of=tomorrow, facts=facts)
    outcome, notice = "nothing", None
    if paused:
        outcome = "paused"
    elif as_of > expires.on:
        return "expired", expire(grant, expires, facts), expiry_notice(grant, expires, facts, as_of)
    else:
        offsets, lead = grant.company.warning_offsets(), grant.warning_lead_days()
        due = rules.due_expiry_warning(expires.on, as_of, offsets, lead)
        if due is not None and not grant.warning_sent(expires.on, due):
            notice = warning_notice(grant, expires, as_of, due)
            grant._warnings_sent = {*grant.__dict__.get("_warnings_sent", ()), (expires.on, due)}
            outcome = "warned"
    changed = grant.derive(facts, as_of)
    if outcome == "paused":
        grant.next_action_on = tomorrow
        changed = [*{*changed, "next_action_on"}]
    return outcome, changed, notice


def expire(grant: Grant, expires: rules.Expiration, facts: GrantFacts) -> list[str]:
    """Mark the grant expired: its unexercised shares return to the plan."""
    grant.status = Grant.Status.EXPIRED
    grant.expires_on, grant.expiration_clause = expires.on, expires.clause
    grant.returned_shares = rules.returned_shares(
        shares=grant.shares,
        exercised=facts.made,
        forfeited=facts.forfeited,
        expired=True,
    )
    grant.next_action_on = None
    return ["status", "expires_on", "expiration_clause", "returned_shares", "next_action_on"]


def lapse_pending_requests(grant_ids: list[int], as_of: dt.date) -> None:
    """Paragraphs 2b and 6a: a request whose price had not arrived by the end of the last
    day lapses with the option; its shares went back to the plan with the rest."""
    lapsed = list(Exercise.objects.filter(grant_id__in=grant_ids, status=Exercise.Status.REQUESTED))
    if not lapsed:
        return
    for exercise in lapsed:
        exercise.status, exercise.lapsed_on = Exercise.Status.LAPSED, as_of
    bulk_set(lapsed, ["status", "lapsed_on"])
    Exercise.history.bulk_history_create(lapsed, update=True)


def expiry_notice(
    grant: Grant, expires: rules.Expiration, facts: GrantFacts, as_of: dt.date
) -> Notice:
    lapsed = (
        f" Your request to exercise {facts.pending:,} shares lapsed with it: the company did "
        f"not receive the price by the end of that day."
        if facts.pending
        else ""
    )
    return Notice.to_optionee(
        grant,
        kind=Notice.Kind.EXPIRED,
        subject=f"Your option {grant.number} has expired",
        body=(
            f"Your option under grant {grant.number} expired at the end of business hours "
            f"on {expires.on:%B %-d, %Y} ({expires.explanation}) and can no longer be "
            f"exercised.{lapsed} "
            f"{grant.returned_shares:,} unexercised shares returned to the plan."
        ),
        sent_on=as_of,
        about_expiration=expires.on,
        days_before=0,
    )


def warning_notice(
    grant: Grant, expires: rules.Expiration, as_of: dt.date, days_before: int
) -> Notice:
    days_left = (expires.on - as_of).days
    return Notice.to_optionee(
        grant,
        kind=Notice.Kind.EXPIRY_WARNING,
        subject=f"Your option {grant.number} expires on {expires.on:%B %-d, %Y}",
        body=(
            f"Your option under grant {grant.number} can be exercised through the end of "
            f"business hours on {expires.on:%A, %B %-d, %Y}: "
            f"{days_left} day{'s' if days_left != 1 else ''} from {as_of:%B %-d, %Y}. "
            f"Why this date: {expires.explanation} "
            f"A notice of exercise counts from the business day it is received during "
            f"business hours."
        ),
        sent_on=as_of,
        about_expiration=expires.on,
        days_before=days_before,
    )
