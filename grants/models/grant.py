"""The grant with its vesting installments (paragraph 1): its facts read for a page or a
batch, the values derived from them and the verbs that change it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from simple_history.models import HistoricalRecords

from grants import events, rules
from grants.audit import AuditSource
from grants.models.company import ClosingPrice, Company
from grants.models.dates import require_date
from grants.models.endings import EndingVerbs
from grants.models.exercises import Exercise, ExerciseVerbs
from grants.models.facts import GrantFacts, Position, ScheduleRow, people_facts
from grants.models.notices import Acknowledgement, AcknowledgementVerbs, Notice
from grants.models.people import Optionee
from grants.models.plans import GrantTerms, Plan
from grants.validators import validate_identifier


class GrantQuerySet(models.QuerySet):
    """Grants; ``with_facts()`` reads every fact the rules need for a whole page or batch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._gather_facts = False

    def with_facts(self) -> GrantQuerySet:
        """Load every row the rules read in a fixed number of queries, however many grants:
        use it for any page or job that computes positions for many grants.

        When the grants are fetched, their installments, exercises, standing terminations,
        liability windows and registration suspensions are read in five flat queries (as
        tuples, not model objects) and each grant keeps them as its ``facts()``. Like a
        prefetch, the facts are those of the moment of reading: a verb that changes them
        reads the grant again.
        """
        clone = self.select_related("plan__company", "optionee__user", "terms")
        clone._gather_facts = True
        return clone

    def awaiting_acknowledgement(self) -> GrantQuerySet:
        """The grants whose current documents the optionee has not acknowledged: those
        whose ``acknowledgement()`` is None, found in the query."""
        acknowledged = Acknowledgement.objects.filter(
            grant=OuterRef("pk"), documents_version=OuterRef("documents_version")
        )
        return self.exclude(Exists(acknowledged))

    def _clone(self):
        clone = super()._clone()
        clone._gather_facts = self._gather_facts
        return clone

    def _fetch_all(self):
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._gather_facts:
            gather_facts([g for g in self._result_cache if isinstance(g, Grant)])

    def iterator(self, chunk_size=None):
        if not self._gather_facts:
            yield from super().iterator(chunk_size)
            return
        chunk_size = chunk_size or 2000
        chunk = []
        for item in super().iterator(chunk_size):
            chunk.append(item)
            if len(chunk) == chunk_size:
                gather_facts([g for g in chunk if isinstance(g, Grant)])
                yield from chunk
                chunk = []
        gather_facts([g for g in chunk if isinstance(g, Grant)])
        yield from chunk


def gather_facts(grants: list[Grant]) -> None:
    """Read the facts of many grants at once and keep them on each (see ``with_facts``)."""
    if not grants:
        return
    ids = [g.pk for g in grants]
    optionee_ids = {g.optionee_id for g in grants}
    installments: dict[int, list[rules.Installment]] = {pk: [] for pk in ids}
    for grant_id, vest_date, shares in (
        Installment.objects.filter(grant_id__in=ids)
        .order_by("grant_id", "vest_date", "pk")
        .values_list("grant_id", "vest_date", "shares")
    ):
        installments[grant_id].append(rules.Installment(vest_date, shares))
    exercises: dict[int, list[tuple]] = {pk: [] for pk in ids}
    for grant_id, *row in Exercise.objects.filter(grant_id__in=ids).values_list(
        "grant_id", "status", "shares", "installment__vest_date"
    ):
        exercises[grant_id].append(row)
    people = people_facts(optionee_ids, {g.plan.company_id for g in grants})
    for grant in grants:
        grant._facts = facts_of(grant, installments[grant.pk], exercises[grant.pk], people)


def facts_of(grant: Grant, installments, exercise_rows, people) -> GrantFacts:
    """The facts the rules read of ``grant`` (its ``plan`` and ``terms`` loaded), from its
    installments in vesting order, its exercises as ``(status, shares, charged
    installment's vesting date)`` and ``people_facts`` of its optionee and company: the one
    place that assembles them, for ``gather_facts`` and the OCF export alike."""
    exercised, pending, charged = Exercise.tally(exercise_rows)
    termination = people.terminations.get(grant.optionee_id)
    return GrantFacts(
        installments=installments,
        exercised=exercised,
        pending=pending,
        charged=charged,
        termination=termination,
        suspensions=people.suspensions[grant.plan.company_id],
        liability_windows=people.windows.get(grant.optionee_id, []),
        accelerated=grant.terms.as_rules().accelerates(termination),
        holds=people.holds.get(grant.optionee_id, []),
        forfeited_on=grant.forfeited_on,
    )


class Grant(ExerciseVerbs, EndingVerbs, AcknowledgementVerbs, models.Model):
    class Type(models.TextChoices):
        NSO = "NSO", "Non-qualified stock option"
        ISO = "ISO", "Incentive stock option"

    class Status(models.TextChoices):
        GRANTED = "granted", "Granted"
        EXERCISED = "exercised", "Fully exercised"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled (recorded in error)"
        FORFEITED = "forfeited", "Forfeited"

    # Statuses of an option that has ended: nothing is exercisable, and every share not
    # exercised is back in the plan's reserve.
    ENDED = (Status.EXPIRED, Status.CANCELLED, Status.FORFEITED)

    number = models.CharField(max_length=50, unique=True, validators=[validate_identifier])
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="grants")
    optionee = models.ForeignKey(Optionee, on_delete=models.PROTECT, related_name="grants")
    terms = models.ForeignKey(GrantTerms, on_delete=models.PROTECT, related_name="grants")
    option_type = models.CharField(max_length=3, choices=Type.choices, default=Type.NSO)
    grant_date = models.DateField()
    shares = models.PositiveBigIntegerField()
    exercise_price = models.DecimalField(max_digits=14, decimal_places=4)
    term_end = models.DateField("end of term")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.GRANTED)
    expires_on = models.DateField(
        "effective expiration date",
        help_text="Recomputed by every change that can move it; read by the nightly job.",
    )
    expiration_clause = models.CharField(
        max_length=10,
        default="term",
        choices=[
            ("term", "end of the term"),
            ("window", "window after termination"),
            ("tolling", "window after termination, counted in days registration allowed"),
            ("section16", "Section 16(b) extension of the window"),
        ],
        help_text="The kind of rule that set the expiration date: term, window, tolling or "
        "section16.",
    )
    returned_shares = models.PositiveBigIntegerField(
        default=0, help_text="Shares returned to the plan reserve (forfeited or expired)."
    )
    next_action_on = models.DateField(
        null=True,
        blank=True,
        help_text="The next night the nightly job must look at this grant (an expiry warning "
        "or the expiry itself); empty once nothing more is due.",
    )
    forfeited_on = models.DateField(null=True, blank=True)
    forfeiture_reason = models.CharField(max_length=300, blank=True)
    cancellation_reason = models.CharField(
        max_length=300,
        blank=True,
        help_text="Why the grant was cancelled as recorded in error (a correction is a "
        "cancellation and a new grant).",
    )
    documents_version = models.CharField(
        max_length=100, default="1", help_text="Version of the agreement and attachments."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[AuditSource])
    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shares__gt=0),
                name="grant_shares_positive",
                violation_error_message="A grant is for at least one share.",
            ),
            models.CheckConstraint(
                condition=Q(exercise_price__gt=0),
                name="grant_price_positive",
                violation_error_message="The exercise price must be above zero.",
            ),
            models.CheckConstraint(
                condition=Q(term_end__gt=F("grant_date")),
                name="grant_term_after_grant_date",
                violation_error_message="The term must end after the grant date.",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__lte=F("term_end")),
                name="grant_expires_within_term",
                violation_error_message="An option never expires after the end of its term.",
            ),
            models.CheckConstraint(
                condition=Q(returned_shares__lte=F("shares")),
                name="grant_returned_within_grant",
                violation_error_message=(
                    "No more shares can return to the plan than the grant holds."
                ),
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_on"],
                condition=Q(status="granted"),
                name="grant_outstanding_expiry",
            ),
            # The grants no longer outstanding (a few in a hundred), by status then number:
            # the grant list filtered to expired, exercised, forfeited or cancelled grants
            # counts them from this index and reads its page in order from it, instead of
            # reading every grant (67 ms at a million).
            models.Index(
                fields=["status", "number"],
                condition=~Q(status="granted"),
                name="grant_ended_by_number",
            ),
            # The grant list filtered by option type, in number order: a type that few or
            # no grants have (ISOs in a book of NSOs) is found from this index instead of
            # by reading every grant (52 ms at a million).
            models.Index(fields=["option_type", "number"], name="grant_type_by_number"),
            models.Index(
                fields=["next_action_on"],
                condition=Q(status="granted"),
                name="grant_next_action",
            ),
            # An optionee's outstanding grants and their last day, read from the index alone
            # (the dashboard's terminated-but-still-exercisable panel, 20,000 terminations).
            models.Index(
                fields=["optionee", "expires_on"],
                condition=Q(status="granted"),
                name="grant_outstanding_by_optionee",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def company(self) -> Company:
        return self.plan.company

    def refresh_from_db(self, *args, **kwargs):
        self.__dict__.pop("_facts", None)  # read again with the row
        self.__dict__.pop("_warnings_sent", None)
        super().refresh_from_db(*args, **kwargs)

    # -- creating

    @classmethod
    def create(
        cls,
        *,
        number: str,
        plan: Plan,
        optionee: Optionee,
        grant_date: dt.date,
        shares: int,
        exercise_price: Decimal,
        term_end: dt.date,
        installments: list[tuple[dt.date, int]],
        option_type: str = Type.NSO,
        grant_terms: GrantTerms | None = None,
        discount_confirmed: bool = False,
    ) -> Grant:
        """Grant an option with its vesting schedule, checked against the plan (paragraphs
        1a and 10). Nothing is written unless every check passes. One grant of
        ``grants.services.granting.create_many``: the same checks, the same rows, the same
        history."""
        from grants.services.granting import create_many

        [outcome] = create_many(
            [
                {
                    "number": number,
                    "plan": plan,
                    "optionee": optionee,
                    "grant_date": grant_date,
                    "shares": shares,
                    "exercise_price": exercise_price,
                    "term_end": term_end,
                    "installments": installments,
                    "option_type": option_type,
                    "grant_terms": grant_terms,
                    "discount_confirmed": discount_confirmed,
                }
            ]
        )
        if isinstance(outcome, ValidationError):
            raise outcome
        return outcome

    # -- reading

    def facts(self) -> GrantFacts:
        """Gather the rows the rules read (or those ``with_facts()`` read with the grant)."""
        gathered = self.__dict__.get("_facts")
        if gathered is not None:
            return gathered
        termination = self.optionee.active_termination()
        exercised, pending, charged = Exercise.tally(
            self.exercises.values_list("status", "shares", "installment__vest_date")
        )
        return GrantFacts(
            installments=[
                rules.Installment(i.vest_date, i.shares) for i in self.installments.all()
            ],
            exercised=exercised,
            pending=pending,
            charged=charged,
            termination=termination.as_rules() if termination else None,
            suspensions=self.company.suspension_periods(),
            liability_windows=self.optionee.liability_periods(),
            accelerated=self.terms.as_rules().accelerates(
                termination.as_rules() if termination else None
            ),
            holds=self.optionee.hold_periods(),
            forfeited_on=self.forfeited_on,
        )

    def expiration(
        self, as_of: dt.date | None = None, facts: GrantFacts | None = None
    ) -> rules.Expiration:
        """The effective expiration date with the clause that sets it (paragraph 5)."""
        facts = facts or self.facts()
        return rules.expiration(
            term_end=self.term_end,
            terms=self.terms.as_rules(),
            termination=facts.termination,
            suspensions=facts.suspensions,
            liability_windows=facts.liability_windows,
            today=as_of or self.company.today(),
        )

    def expiration_date(self, as_of: dt.date | None = None) -> dt.date:
        """The last day on which the option may be exercised, through business hours."""
        return self.expiration(as_of).on

    def vested_shares(self, on: dt.date) -> int:
        on = require_date(on, "The date")
        facts = self.facts()
        return facts.vested(on)

    def forfeited_shares(self) -> int:
        facts = self.facts()
        return facts.forfeited

    def exercised_shares(self) -> int:
        """Shares exercised or reserved by a pending request (see ``pending_shares``)."""
        return self.facts().exercised

    def pending_shares(self) -> int:
        """Shares reserved by pending requests: notices whose price has not arrived."""
        return self.facts().pending

    def exercisable_shares(self, on: dt.date) -> int:
        on = require_date(on, "The date")
        facts = self.facts()
        if self.closed_on(on, facts):
            return 0
        return rules.exercisable_shares(
            installments=facts.installments,
            on=on,
            exercised=facts.exercised,
            service_end=facts.service_end,
            expires_on=self.expiration(facts=facts).on,
            suspensions=facts.blocked,
            accelerated=facts.accelerated,
        )

    def position(
        self, on: dt.date | None = None, *, closing_price: ClosingPrice | bool | None = False
    ) -> Position:
        """Vested, exercised, exercisable, unvested and the next vesting on ``on`` (today).

        Pass ``closing_price`` (a ClosingPrice or None) when the caller has already looked it
        up, so a page of many grants asks for it once.
        """
        on = on or self.company.today()
        facts = self.facts()
        expires = self.expiration(facts=facts)
        vested = facts.vested(on)
        forfeited = facts.forfeited
        upcoming = [
            i
            for i in sorted(facts.installments, key=lambda i: i.vest_date)
            if not rules.is_vested(i, on, facts.service_end, facts.accelerated)
            and (facts.service_end is None or facts.accelerated or i.vest_date <= facts.service_end)
        ]
        exercisable = (
            0
            if self.closed_on(on, facts)
            else rules.exercisable_shares(
                installments=facts.installments,
                on=on,
                exercised=facts.exercised,
                service_end=facts.service_end,
                expires_on=expires.on,
                suspensions=facts.blocked,
                accelerated=facts.accelerated,
            )
        )
        price = self.company.closing_price(on) if closing_price is False else closing_price
        status = self.status_on(on, expires)
        return Position(
            on=on,
            total=self.shares,
            vested=vested,
            exercised=facts.exercised,
            pending=facts.pending,
            exercisable=exercisable,
            unvested=self.shares - vested - forfeited,
            forfeited=forfeited,
            next_vest_date=upcoming[0].vest_date if upcoming else None,
            next_vest_shares=upcoming[0].shares if upcoming else 0,
            expiration=expires,
            terminated_on=facts.service_end,
            closing_price=price.price if price else None,
            price_date=price.date if price else None,
            intrinsic_value=(
                rules.intrinsic_value(
                    0 if status in Grant.ENDED else exercisable,
                    self.exercise_price,
                    price.price,
                )
                if price
                else None
            ),
            status=status,
            status_label=Grant.Status(status).label,
            ended_note=self.ended_note(on, facts),
            hold=next((h for h in facts.holds if h.end is None or h.end >= on), None),
        )

    def schedule(self, on: dt.date | None = None) -> list[ScheduleRow]:
        """Each installment with what is vested, forfeited and exercised of it."""
        on = on or self.company.today()
        facts = self.facts()
        return [
            ScheduleRow(
                vest_date=item.vest_date,
                shares=item.shares,
                vested=rules.is_vested(item, on, facts.service_end, facts.accelerated),
                forfeited=facts.service_end is not None
                and not facts.accelerated
                and item.vest_date > facts.service_end,
                exercised=item.shares - remainder,
            )
            for item, remainder in rules.unexercised_by_installment(
                facts.installments, facts.exercised, facts.charged
            )
        ]

    # -- verbs

    def refresh_expiration(self, as_of: dt.date | None = None) -> None:
        """Store what the rules derive from every event so far: the effective expiration
        date and its clause, the status, the shares returned to the plan (forfeited at
        termination, paragraph 5c) and the next night the nightly job must look at the
        grant. A grant that a fact recorded late brings back from expiry (its last day moved
        to today or later) is live again, and the optionee is told in writing.

        Called inside the transaction of each verb that can move them, with the row locked.
        """
        today = as_of or self.company.today()
        was_expired = self.status == Grant.Status.EXPIRED
        changed = self.derive(self.facts(), today)
        if changed:
            self.save(update_fields=changed)
        if was_expired and self.status != Grant.Status.EXPIRED:
            notice = reinstatement_notice(self, today)
            notice.save()
            events.notices_given.send(sender=Notice, notices=[notice])

    def derive(self, facts: GrantFacts, today: dt.date) -> list[str]:
        """Set the stored derived fields from ``facts``; return the names that changed.

        The status follows the rows too: a termination (or its reversal, or a cancelled
        exercise) can make every share that will ever vest exercised, or no longer so. An
        expired grant returns its forfeited and its unexercised shares to the plan; a fact
        recorded late that moves its last day to today or later makes it live again.
        """
        changed = []
        expires = self.expiration(as_of=today, facts=facts)
        forfeited = facts.forfeited
        if self.status in (Grant.Status.CANCELLED, Grant.Status.FORFEITED):
            unexercised = rules.unexercised_shares(
                shares=self.shares, exercised=facts.made, forfeited=forfeited
            )
            derived = {"returned_shares": forfeited + unexercised, "next_action_on": None}
            for name, value in derived.items():
                if getattr(self, name) != value:
                    setattr(self, name, value)
                    changed.append(name)
            return changed
        revived = (
            self.status == Grant.Status.EXPIRED
            and expires.on >= today
            and expires.on > self.expires_on
        )
        if self.status != Grant.Status.EXPIRED or revived:
            done = rules.fully_exercised(
                shares=self.shares, exercised=facts.made, forfeited=forfeited
            )
            status = Grant.Status.EXERCISED if done else Grant.Status.GRANTED
            if self.status != status:
                self.status = status  # before the next action: it depends on the status
                changed.append("status")
        derived = {
            "returned_shares": rules.returned_shares(
                shares=self.shares,
                exercised=facts.made,
                forfeited=forfeited,
                expired=self.status == Grant.Status.EXPIRED,
            ),
            "expires_on": expires.on,
            "expiration_clause": expires.clause,
            "next_action_on": self._next_action_on(expires.on, today, facts),
        }
        for name, value in derived.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        return changed

    def warning_lead_days(self) -> int:
        """How much earlier than its day an expiry warning is given: none by e-mail (it
        takes effect that day), and the mailing delay by mail (paragraph 9), so that a
        mailed warning takes effect by the day it announces."""
        return 0 if self.optionee.email_address else self.terms.mail_notice_days

    def _next_action_on(self, expires_on: dt.date, today: dt.date, facts: GrantFacts):
        if self.status != Grant.Status.GRANTED:
            return None
        offsets = self.company.warning_offsets()
        lead = self.warning_lead_days()
        due = rules.due_expiry_warning(expires_on, today, offsets, lead)
        return rules.next_nightly_action(
            expires_on,
            today,
            offsets,
            due_warning_sent=due is not None and self.warning_sent(expires_on, due),
            lead_days=lead,
            changes_on=[p.start for p in facts.suspensions] if facts.termination else (),
        )

    def warning_sent(self, expires_on: dt.date, days_before: int) -> bool:
        if self.pk is None:
            return False
        sent = self.__dict__.get("_warnings_sent")  # read with the batch by the nightly job
        if sent is not None:
            return (expires_on, days_before) in sent
        return self.notices.filter(
            kind=Notice.Kind.EXPIRY_WARNING, about_expiration=expires_on, days_before=days_before
        ).exists()

    def run_nightly(self, as_of: dt.date) -> str:
        """The nightly expiry check for this grant on ``as_of``; see
        ``grants.services.nightly.run_nightly_many``."""
        from grants.services.nightly import run_nightly_many

        outcome = run_nightly_many([self.pk], as_of)[self.pk]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def reinstatement_notice(grant: Grant, today: dt.date) -> Notice:
    """The written notice that a fact recorded late brought an expired grant back (not yet
    saved)."""
    return Notice.to_optionee(
        grant,
        kind=Notice.Kind.REINSTATED,
        subject=f"Your option {grant.number} can be exercised again",
        body=(
            f"A fact recorded on {today:%B %-d, %Y} moves the last day of your option under "
            f"grant {grant.number} to {grant.expires_on:%A, %B %-d, %Y}: "
            f"{grant.expiration(as_of=today).explanation} The option did not expire when we "
            f"wrote that it had; it can be exercised through the end of business hours on "
            f"that day. A request whose price had not arrived lapsed then and stays lapsed: "
            f"send a new notice of exercise."
        ),
        sent_on=today,
        about_expiration=grant.expires_on,
    )


class Installment(models.Model):
    """One installment of the vesting schedule (paragraph 1a)."""

    # No index of its own: the unique (grant, vest_date) index below serves every lookup by
    # grant, and a second index over 18 million rows slowed every bulk write.
    grant = models.ForeignKey(
        Grant, on_delete=models.CASCADE, related_name="installments", db_index=False
    )
    vest_date = models.DateField("date of earliest exercise (vesting)")
    shares = models.PositiveBigIntegerField()

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["vest_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shares__gt=0),
                name="installment_shares_positive",
                violation_error_message="An installment is for at least one share.",
            ),
            models.UniqueConstraint(
                fields=["grant", "vest_date"],
                name="installment_once_a_day",
                violation_error_message=(
                    "Two installments vest on the same day; merge them into one."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shares:,} on {self.vest_date:%Y-%m-%d}"
