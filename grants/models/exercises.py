"""Exercises of an option (paragraphs 2, 3 and 6): the checks an exercise passes, and its
steps from notice to payment, issue or cancellation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from simple_history.models import HistoricalRecords

from grants import events, rules
from grants.audit import AuditSource
from grants.models.dates import require_date, within_calendar
from grants.models.facts import GrantFacts
from grants.models.notices import Notice
from grants.models.people import Successor

if TYPE_CHECKING:
    from grants.models.grant import Grant


@dataclass(frozen=True)
class ExerciseCheck:
    """An exercise that passed every rule, with what the checks computed."""

    shares: int
    exercise_date: dt.date
    exercisable: int
    expires: rules.Expiration
    aggregate_price: Decimal
    successor: Successor | None
    facts: GrantFacts
    charged_to: dt.date | None = None  # the installment taken whole under exception 3(a)
    shares_withheld: int = 0  # a net exercise: withheld to pay the price


@dataclass(frozen=True)
class ExercisePreview:
    """What an exercise would cost and when it would count, shown before it is submitted."""

    shares: int
    exercise_date: dt.date
    exercisable: int
    expires: rules.Expiration
    aggregate_price: Decimal
    fair_market_value: Decimal | None
    fair_market_value_date: dt.date | None
    taxable_spread: Decimal | None
    withholding: list[tuple[str, Decimal]]
    payment_terms: str  # when the exercise is made, in words (``payment_terms``)
    shares_withheld: int = 0  # a net exercise: the shares that pay the price

    @property
    def shares_issued(self) -> int:
        return self.shares - self.shares_withheld

    @property
    def withholding_total(self) -> Decimal:
        return sum((amount for _, amount in self.withholding), Decimal("0.00"))

    @classmethod
    def of(
        cls, grant: Grant, check: ExerciseCheck, payment_method: str, payment_received: bool
    ) -> ExercisePreview:
        """The preview of an exercise of ``grant`` that passed ``check``."""
        company = grant.company
        price = company.closing_price(check.exercise_date)
        spread = withholding = None
        if price is not None:
            spread = rules.taxable_spread(check.shares, grant.exercise_price, price.price)
            withholding = rules.withholding_estimate(
                check.shares, grant.exercise_price, price.price, company.withholding_rates()
            )
        return cls(
            shares=check.shares,
            exercise_date=check.exercise_date,
            exercisable=check.exercisable,
            expires=check.expires,
            aggregate_price=check.aggregate_price,
            fair_market_value=price.price if price else None,
            fair_market_value_date=price.date if price else None,
            taxable_spread=spread,
            withholding=withholding or [],
            shares_withheld=check.shares_withheld,
            payment_terms=payment_terms(
                payment_method=payment_method,
                payment_received=payment_received,
                shares=check.shares,
                withheld=check.shares_withheld,
                aggregate_price=check.aggregate_price,
                exercise_date=check.exercise_date,
                expires=check.expires,
                closes_at=company.closes_at,
                time_zone=company.time_zone,
            ),
        )


def payment_terms(
    *,
    payment_method: str,
    payment_received: bool,
    shares: int,
    aggregate_price: Decimal,
    exercise_date: dt.date,
    expires: rules.Expiration,
    closes_at: dt.time,
    time_zone: str,
    withheld: int = 0,
) -> str:
    """What a notice paid this way makes, in the words the portal and the back office show
    before it is submitted (paragraphs 2b and 6a, as DOMAIN.md reads them)."""
    price = f"${aggregate_price:,.2f}"
    if payment_method == rules.PAYMENT_NET:
        return (
            f"A net exercise: this notice makes the exercise, dated {exercise_date:%B %-d, %Y}; "
            f"{withheld:,} of the {shares:,} shares are withheld to pay the price of {price} "
            f"at that day's closing price, and {shares - withheld:,} are issued."
        )
    if payment_method == rules.PAYMENT_REG_T:
        return (
            f"Under the Regulation T broker-assisted program this notice makes the exercise, "
            f"dated {exercise_date:%B %-d, %Y}. The broker pays the company the full price of "
            f"{price}, and no share is issued before the company has that cash."
        )
    if payment_received:
        return (
            f"Paid by {payment_method} with the notice: the company has both, so the exercise "
            f"is made, dated {exercise_date:%B %-d, %Y}."
        )
    closing = f"{closes_at:%-I:%M %p} ({time_zone})"
    return (
        f"Paying by {payment_method}: this notice reserves the {shares:,} shares, but the "
        f"exercise is made only when the company has received the full price of {price}, "
        f"and it is dated the day the price arrives (or the notice's day, if later). If the "
        f"price has not arrived by the end of business hours, {closing}, on "
        f"{expires.on:%A, %B %-d, %Y}, the option's last day, the request lapses with the "
        f"option."
    )


PAYMENT_WORDS = {
    rules.PAYMENT_CASH: "cash",
    rules.PAYMENT_CHECK: "check",
    rules.PAYMENT_REG_T: "regt (the Regulation T broker-assisted program)",
    rules.PAYMENT_NET: "net (shares withheld to pay the price)",
}


class Exercise(models.Model):
    class PaymentMethod(models.TextChoices):
        CASH = rules.PAYMENT_CASH, "Cash"
        CHECK = rules.PAYMENT_CHECK, "Check"
        REG_T = rules.PAYMENT_REG_T, "Regulation T broker-assisted program"
        NET = rules.PAYMENT_NET, "Net exercise (shares withheld to pay the price)"

    class Status(models.TextChoices):
        # A notice paid by cash or check without its price: the shares are reserved, but
        # the exercise is made only when the price arrives (paragraphs 2b and 6a).
        REQUESTED = "requested", "Requested: price not yet received"
        # Regulation T: the exercise is made by the notice; the broker's cash is awaited.
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment: exercised, the broker pays"
        PAID = "paid", "Paid"
        ISSUED = "issued", "Shares issued"
        CANCELLED = "cancelled", "Cancelled"
        # A pending request whose price had not arrived when the option ended.
        LAPSED = "lapsed", "Lapsed: price not received in time"

    # Statuses whose shares are taken from the option (exercised or reserved), and those of
    # an exercise made.
    TAKEN = (Status.REQUESTED, Status.AWAITING_PAYMENT, Status.PAID, Status.ISSUED)
    MADE = (Status.AWAITING_PAYMENT, Status.PAID, Status.ISSUED)

    grant = models.ForeignKey("Grant", on_delete=models.PROTECT, related_name="exercises")
    shares = models.PositiveBigIntegerField()
    exercise_date = models.DateField(
        help_text="The day the exercise is made: the later of the notice's and the price's "
        "receipt (for a pending request, the notice's, until the price arrives)."
    )
    installment = models.ForeignKey(
        "Installment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="charged_exercises",
        verbose_name="charged to installment",
        help_text="Set when the exercise takes the whole remainder of an installment smaller "
        "than the minimum (exception 3(a)); other exercises are charged oldest first.",
    )
    notice_received_at = models.DateTimeField(null=True, blank=True)
    payment_method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    price_per_share = models.DecimalField(max_digits=14, decimal_places=4)
    shares_withheld = models.PositiveBigIntegerField(
        default=0,
        help_text="A net exercise: shares withheld at the exercise date's closing price to pay "
        "the price; the rest are issued.",
    )
    aggregate_price = models.DecimalField(max_digits=18, decimal_places=2)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    payment_received_on = models.DateField(null=True, blank=True)
    shares_issued_on = models.DateField(null=True, blank=True)
    cancelled_on = models.DateField(null=True, blank=True)
    lapsed_on = models.DateField(null=True, blank=True)
    reviewed_on = models.DateField(
        null=True,
        blank=True,
        help_text="Set when the administrator has reviewed an exercise dated after a last day "
        "that a late-reported fact moved earlier, and decided that it stands.",
    )
    review_note = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    successor = models.ForeignKey(
        Successor, on_delete=models.PROTECT, null=True, blank=True, related_name="exercises"
    )
    notice = models.OneToOneField(
        "Notice", on_delete=models.PROTECT, null=True, blank=True, related_name="exercise"
    )
    submission_key = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="Set by the form that submitted it, so a repeated submission is not a "
        "second exercise.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["-exercise_date", "-id"]
        # The admin's list, newest first: its first page from the index (35 ms as a sort).
        indexes = [
            models.Index(fields=["-exercise_date", "-id"], name="exercise_newest_first"),
            # The dashboard's panel of exercises waiting for their price or their shares:
            # a few rows among every exercise ever made.
            models.Index(
                fields=["exercise_date", "id"],
                condition=Q(status__in=["requested", "awaiting_payment", "paid"]),
                name="exercise_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(shares__gt=0),
                name="exercise_shares_positive",
                violation_error_message="An exercise is for at least one share.",
            ),
            models.CheckConstraint(
                condition=Q(shares_issued_on__isnull=True) | Q(payment_received_on__isnull=False),
                name="exercise_no_issue_before_payment",
                violation_error_message="Shares are issued only after the payment is recorded.",
            ),
            models.CheckConstraint(
                condition=~Q(status="requested") | Q(payment_received_on__isnull=True),
                name="exercise_requested_unpaid",
                violation_error_message=(
                    "A pending request has no payment yet; record the payment with Mark payment "
                    "received."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grant.number}: {self.shares:,} shares on {self.exercise_date:%Y-%m-%d}"

    @classmethod
    def record(
        cls,
        grant: Grant,
        check: ExerciseCheck,
        at: dt.date | dt.datetime,
        *,
        payment_method: str,
        by,
        payment_received: bool,
        notice_method: str | None,
        submission_key: str | None,
    ) -> Exercise:
        """Write an exercise that passed ``check`` with its notice of exercise (paragraph 6a);
        for ``Grant.request_exercise``, which holds the grant's lock.

        Paid by cash or check with the price, the exercise is made on the notice's day
        (paid); without it, the notice is a pending request that reserves the shares until
        the price arrives (``mark_paid``). Under the Regulation T program the notice makes
        the exercise, and the broker's cash is awaited before any share is issued.
        """
        shares = check.shares
        received_at = at if isinstance(at, dt.datetime) else None
        notice = Notice.objects.create(
            company=grant.company,
            optionee=grant.optionee,
            grant=grant,
            direction=Notice.Direction.TO_COMPANY,
            method=notice_method or (Notice.Method.PORTAL if by else Notice.Method.PERSONAL),
            kind=Notice.Kind.EXERCISE,
            subject=f"Notice of exercise: {shares:,} shares of grant {grant.number}",
            body=(
                f"Exercise of {shares:,} shares at ${grant.exercise_price} per share, "
                f"paid by {dict(cls.PaymentMethod.choices)[payment_method]}."
            ),
            received_on=check.exercise_date,
            received_at=received_at,
        )
        if payment_received or payment_method == cls.PaymentMethod.NET:
            # A net exercise pays the price with the shares withheld: made and paid at once.
            status = cls.Status.PAID
        elif payment_method == cls.PaymentMethod.REG_T:
            status = cls.Status.AWAITING_PAYMENT
        else:
            status = cls.Status.REQUESTED
        return cls.objects.create(
            grant=grant,
            shares=shares,
            exercise_date=check.exercise_date,
            installment=(
                grant.installments.get(vest_date=check.charged_to) if check.charged_to else None
            ),
            notice_received_at=received_at,
            payment_method=payment_method,
            price_per_share=grant.exercise_price,
            aggregate_price=check.aggregate_price,
            payment_received_on=check.exercise_date if status == cls.Status.PAID else None,
            shares_withheld=check.shares_withheld,
            status=status,
            requested_by=by,
            successor=check.successor,
            notice=notice,
            submission_key=submission_key or None,
        )

    def _locked(self) -> Exercise:
        return Exercise.objects.select_for_update().get(pk=self.pk)

    @property
    def is_made(self) -> bool:
        """Whether the exercise is made (not a pending request, cancelled or lapsed)."""
        return self.status in self.MADE

    @classmethod
    def tally(cls, rows) -> tuple[int, int, dict[dt.date, int]]:
        """From ``(status, shares, charged installment's vesting date)`` of a grant's
        exercises: the shares taken (exercised or reserved), those of pending requests, and
        the shares charged to single installments under exception 3(a)."""
        taken, pending, charged = 0, 0, {}
        for status, shares, charged_to in rows:
            if status not in cls.TAKEN:
                continue
            taken += shares
            if status == cls.Status.REQUESTED:
                pending += shares
            if charged_to is not None:
                charged[charged_to] = charged.get(charged_to, 0) + shares
        return taken, pending, charged

    def mark_paid(self, on: dt.date | dt.datetime) -> None:
        """Record that the company has the full price (paragraph 2b).

        For a pending request (cash or check), this makes the exercise: its exercise date is
        the later of the notice's and the price's receipt, each counted by business hours
        as a notice is (paragraph 6a). A price received after the end of business hours on
        the option's last day is refused: the request lapsed with the option. Under the
        Regulation T program the exercise was made by the notice, and the broker's cash may
        arrive later.
        """
        if isinstance(on, dt.datetime):
            within_calendar(on.date(), "The date payment was received")
        else:
            on = require_date(on, "The date payment was received")
        from grants.models.grant import Grant

        with transaction.atomic():
            grant = Grant.objects.select_for_update(of=("self",)).get(pk=self.grant_id)
            me = self._locked()
            if me.status not in (self.Status.REQUESTED, self.Status.AWAITING_PAYMENT):
                raise ValidationError(
                    f"This exercise is {me.get_status_display().lower()}, not awaiting payment.",
                    code="not_awaiting_payment",
                )
            calendar = grant.company.calendar()
            paid_on = calendar.local_date(on) if isinstance(on, dt.datetime) else on
            not_after_today(paid_on, grant.company, "The payment")
            fields = ["payment_received_on", "status"]
            if me.status == self.Status.REQUESTED:
                received = rules.deemed_received(on, calendar)
                made_on = max(me.exercise_date, received)
                facts = grant.facts()
                expires = grant.expiration(facts=facts)
                if grant.status == Grant.Status.EXPIRED or made_on > expires.on:
                    raise ValidationError(
                        f"The price counts as received on {received:%Y-%m-%d}, after the "
                        f"option's last day, {expires.on:%Y-%m-%d} ({expires.explanation}): "
                        f"the exercise was not made in time, and the request lapses with the "
                        f"option. Return the payment.",
                        code="paid_after_expiry",
                    )
                rules.check_registration(made_on, facts.suspensions)
                me.exercise_date = made_on
                fields.append("exercise_date")
            me.payment_received_on = paid_on
            me.status = self.Status.PAID
            me.save(update_fields=fields)
            grant.refresh_expiration()  # fully exercised, perhaps, now that it is made
            events.exercise_step.send(sender=Exercise, exercise=me, step="paid")
        self.refresh_from_db()

    def confirm_after_review(self, note: str) -> None:
        """The administrator has reviewed an exercise dated after the option's last day (a
        termination or other fact reported late moved the last day before it) and decided
        that it stands: ``check_books`` no longer lists it. Cancel it instead if it does
        not stand."""
        note = (note or "").strip()
        if not note:
            raise ValidationError(
                "Say why the exercise stands (for example, the board's decision).",
                code="no_reason",
            )
        with transaction.atomic():
            me = self._locked()
            me.reviewed_on = me.grant.company.today()
            me.review_note = note[:300]
            me.save(update_fields=["reviewed_on", "review_note"])
        self.refresh_from_db()

    def issue_shares(self, on: dt.date) -> None:
        """Issue the shares; never before the company has the cash (paragraph 2b)."""
        on = require_date(on, "The issue date")
        with transaction.atomic():
            me = self._locked()
            not_after_today(on, me.grant.company, "The shares")
            if me.status != self.Status.PAID:
                raise ValidationError(
                    "Shares are issued only after the company has received the full exercise "
                    "price; record the payment first.",
                    code="not_paid",
                )
            if on < me.payment_received_on:
                raise ValidationError(
                    f"Shares cannot be issued before payment was received on "
                    f"{me.payment_received_on:%Y-%m-%d}.",
                    code="issue_before_payment",
                )
            me.shares_issued_on = on
            me.status = self.Status.ISSUED
            me.save(update_fields=["shares_issued_on", "status"])
            events.exercise_step.send(sender=Exercise, exercise=me, step="issued")
        self.refresh_from_db()

    def cancel(self, on: dt.date) -> None:
        """Cancel an exercise whose shares were not issued; its shares become exercisable
        again (paragraph 2: reserved from acceptance, released on cancellation)."""
        on = require_date(on, "The cancellation date")
        from grants.models.grant import Grant

        with transaction.atomic():
            grant = Grant.objects.select_for_update().get(pk=self.grant_id)
            me = self._locked()
            if me.status in (self.Status.ISSUED, self.Status.CANCELLED, self.Status.LAPSED):
                raise ValidationError(
                    f"This exercise is {me.get_status_display().lower()} and cannot be cancelled.",
                    code="not_cancellable",
                )
            me.status = self.Status.CANCELLED
            me.cancelled_on = on
            me.save(update_fields=["status", "cancelled_on"])
            # Outstanding again, or, on an expired grant, returned to the plan.
            grant.refresh_expiration()
            events.exercise_step.send(sender=Exercise, exercise=me, step="cancelled")
        self.refresh_from_db()


def check_exercise(
    grant: Grant,
    shares: object,
    at: dt.date | dt.datetime,
    payment_method: str,
    by,
    delivered_by: Successor | None = None,
) -> ExerciseCheck:
    """Apply every rule an exercise of ``grant`` must pass (paragraphs 1–7) as of ``at``;
    write nothing. Called by ``Grant.preview_exercise`` as is, and by
    ``Grant.request_exercise`` on the locked row.
    """
    shares = rules.whole_shares(shares)
    terms = grant.terms.as_rules()
    if payment_method not in terms.payment_methods:
        allowed = ", ".join(PAYMENT_WORDS[m] for m in terms.payment_methods)
        asked = PAYMENT_WORDS.get(payment_method, f"“{payment_method}”")
        raise ValidationError(
            f"Paying by {asked} is not allowed by grant {grant.number}'s agreement form "
            f"“{grant.terms.name}”; use {allowed}.",
            code="bad_payment_method",
        )
    company = grant.company
    if isinstance(at, dt.date):  # a datetime too; anything else deemed_received refuses
        day = company.calendar().local_date(at) if isinstance(at, dt.datetime) else at
        within_calendar(day, "The date the notice was received")
        not_after_today(day, company, "The notice")
    exercise_date = rules.deemed_received(at, company.calendar())
    optionee = grant.optionee
    if by is not None:  # the portal: the person signed in exercises
        successor = optionee.successors.filter(user=by).first()
        acting_is_optionee = by.pk == optionee.user_id
    else:  # a paper notice an administrator records: who delivered it
        successor = delivered_by
        if successor is not None and successor.optionee_id != optionee.pk:
            raise ValidationError(
                f"{successor.name} is not a recorded successor of {optionee.legal_name}.",
                code="not_successor",
            )
        acting_is_optionee = successor is None
    rules.check_exerciser(
        acting_is_optionee=acting_is_optionee,
        acting_is_successor=successor is not None,
        deceased=optionee.date_of_death is not None,
    )
    if grant.status == grant.Status.EXPIRED:
        raise ValidationError(
            f"Grant {grant.number} expired on {grant.expires_on:%Y-%m-%d}.", code="expired"
        )
    if grant.status == grant.Status.CANCELLED:
        raise ValidationError(
            f"Grant {grant.number} was cancelled as recorded in error "
            f"({grant.cancellation_reason}).",
            code="cancelled",
        )
    facts = grant.facts()
    if facts.forfeited_by_then(exercise_date):  # a notice received before it still counts
        raise ValidationError(
            f"Grant {grant.number} was forfeited on {grant.forfeited_on:%Y-%m-%d} "
            f"({grant.forfeiture_reason}): nothing of it can be exercised from that day.",
            code="forfeited",
        )
    expires = grant.expiration(facts=facts)
    rules.check_not_expired(exercise_date, expires)
    rules.check_registration(exercise_date, facts.suspensions)
    rules.check_hold(exercise_date, facts.holds)
    exercisable = rules.exercisable_shares(
        installments=facts.installments,
        on=exercise_date,
        exercised=facts.exercised,
        service_end=facts.service_end,
        expires_on=expires.on,
        suspensions=facts.blocked,
        accelerated=facts.accelerated,
    )
    charged_to = rules.check_minimum_exercise(
        shares=shares,
        installments=facts.installments,
        on=exercise_date,
        exercised=facts.exercised,
        exercisable=exercisable,
        service_end=facts.service_end,
        minimum=terms.minimum_exercise,
        charged=facts.charged,
        small_installment_exception=terms.small_installment_exception,
        final_exercise_exception=terms.final_exercise_exception,
        accelerated=facts.accelerated,
    )
    withheld = 0
    if payment_method == rules.PAYMENT_NET:
        closing = company.closing_prices.filter(date=exercise_date).first()
        if closing is None:
            raise ValidationError(
                f"A net exercise withholds shares at the closing price of the exercise date, "
                f"{exercise_date:%Y-%m-%d}, which is not recorded yet (it is, once the day's "
                f"trading has closed).",
                code="net_no_price",
            )
        withheld = rules.net_exercise(shares, grant.exercise_price, closing.price)
    return ExerciseCheck(
        charged_to=charged_to,
        shares_withheld=withheld,
        shares=shares,
        exercise_date=exercise_date,
        exercisable=exercisable,
        expires=expires,
        aggregate_price=rules.aggregate_price(shares, grant.exercise_price),
        successor=successor,
        facts=facts,
    )


class ExerciseVerbs:
    """The verbs by which a grant is exercised (paragraphs 1–7), part of ``Grant``: the
    preview shown before a notice is submitted and the notice itself."""

    def preview_exercise(
        self,
        shares: object,
        at: dt.date | dt.datetime,
        *,
        payment_method: str,
        by=None,
        delivered_by: Successor | None = None,
        payment_received: bool = False,
    ) -> ExercisePreview:
        """What an exercise would be, before it is submitted: its exercise date, aggregate
        price, the tax estimate at the latest closing price (paragraphs 2 and 6b) and, in
        words, when the exercise is made by this way of paying. Raises the same
        ValidationError that ``request_exercise`` would."""
        check = check_exercise(self, shares, at, payment_method, by, delivered_by)
        return ExercisePreview.of(self, check, payment_method, payment_received)

    def request_exercise(
        self,
        shares: int,
        at: dt.date | dt.datetime,
        *,
        payment_method: str,
        by=None,
        payment_received: bool = False,
        notice_method: str | None = None,
        submission_key: str | None = None,
        delivered_by: Successor | None = None,
    ) -> Exercise:
        """Exercise the option by a written notice delivered at ``at`` (paragraphs 1–7).

        ``at`` is a date (a notice received during business hours that day) or an aware
        datetime (the business-hours rule decides the exercise date). ``by`` is the user
        acting: the optionee or, after death, a recorded successor; None when a stock
        administrator records a paper notice, which ``delivered_by`` then names (None: the
        optionee; after a death, the recorded successor who delivered it). The grant row
        is locked, so two requests
        can never exercise the same shares. Refused exercises raise ValidationError and
        write nothing. A ``submission_key`` makes the request idempotent: a second request
        with the same key (a double click, the back button, a retry) returns the exercise
        the first one recorded.
        """
        with transaction.atomic():
            grant = (
                # The grant row alone: exercises of different grants must not queue up
                # behind a lock on the company row they share.
                type(self)
                .objects.select_for_update(of=("self",))
                .select_related("plan__company", "optionee", "terms")
                .get(pk=self.pk)
            )
            if submission_key:
                # Checked under the grant's lock, so two racing copies see each other.
                earlier = Exercise.objects.filter(submission_key=submission_key).first()
                if earlier is not None:
                    if earlier.grant_id != grant.pk:
                        raise ValidationError(
                            "This form was already used for another grant; start again.",
                            code="submission_key_reused",
                        )
                    self.refresh_from_db()
                    return earlier
            check = check_exercise(grant, shares, at, payment_method, by, delivered_by)
            exercise = Exercise.record(
                grant,
                check,
                at,
                payment_method=payment_method,
                by=by,
                payment_received=payment_received,
                notice_method=notice_method,
                submission_key=submission_key,
            )
            shares = check.shares
            facts = check.facts
            made = facts.made + (shares if exercise.is_made else 0)
            forfeited = facts.forfeited
            if rules.fully_exercised(shares=grant.shares, exercised=made, forfeited=forfeited):
                grant.status = grant.Status.EXERCISED
                grant.save(update_fields=["status"])
            events.exercise_step.send(sender=Exercise, exercise=exercise, step="recorded")
        self.refresh_from_db()
        return exercise


def not_after_today(day: dt.date, company, what: str) -> None:
    """A thing that has happened (a notice or a payment received, shares issued) cannot be
    dated after the company's today: a date in the future is a typing error."""
    today = company.today()
    if day > today:
        raise ValidationError(
            f"{what} cannot be dated {day:%Y-%m-%d}, after today ({today:%Y-%m-%d}); check the "
            f"date.",
            code="after_today",
        )
