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

    @property
    def withholding_total(self) -> Decimal:
        return sum((amount for _, amount in self.withholding), Decimal("0.00"))


class Exercise(models.Model):
    class PaymentMethod(models.TextChoices):
        CASH = rules.PAYMENT_CASH, "Cash"
        CHECK = rules.PAYMENT_CHECK, "Check"
        REG_T = rules.PAYMENT_REG_T, "Regulation T broker-assisted program"

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        PAID = "paid", "Paid"
        ISSUED = "issued", "Shares issued"
        CANCELLED = "cancelled", "Cancelled"

    grant = models.ForeignKey("Grant", on_delete=models.PROTECT, related_name="exercises")
    shares = models.PositiveBigIntegerField()
    exercise_date = models.DateField()
    notice_received_at = models.DateTimeField(null=True, blank=True)
    payment_method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    price_per_share = models.DecimalField(max_digits=14, decimal_places=4)
    aggregate_price = models.DecimalField(max_digits=18, decimal_places=2)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_PAYMENT
    )
    payment_received_on = models.DateField(null=True, blank=True)
    shares_issued_on = models.DateField(null=True, blank=True)
    cancelled_on = models.DateField(null=True, blank=True)
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
        indexes = [models.Index(fields=["-exercise_date", "-id"], name="exercise_newest_first")]
        constraints = [
            models.CheckConstraint(condition=Q(shares__gt=0), name="exercise_shares_positive"),
            models.CheckConstraint(
                condition=Q(shares_issued_on__isnull=True) | Q(payment_received_on__isnull=False),
                name="exercise_no_issue_before_payment",
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
        for ``Grant.request_exercise``, which holds the grant's lock."""
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
        today = grant.company.today()
        return cls.objects.create(
            grant=grant,
            shares=shares,
            exercise_date=check.exercise_date,
            notice_received_at=received_at,
            payment_method=payment_method,
            price_per_share=grant.exercise_price,
            aggregate_price=check.aggregate_price,
            payment_received_on=min(today, check.exercise_date) if payment_received else None,
            status=cls.Status.PAID if payment_received else cls.Status.AWAITING_PAYMENT,
            requested_by=by,
            successor=check.successor,
            notice=notice,
            submission_key=submission_key or None,
        )

    def _locked(self) -> Exercise:
        return Exercise.objects.select_for_update().get(pk=self.pk)

    def mark_paid(self, on: dt.date) -> None:
        """Record that the company has the cash for the aggregate price (paragraph 2b)."""
        on = require_date(on, "The date payment was received")
        with transaction.atomic():
            me = self._locked()
            if me.status != self.Status.AWAITING_PAYMENT:
                raise ValidationError(
                    f"This exercise is {me.get_status_display().lower()}, not awaiting payment.",
                    code="not_awaiting_payment",
                )
            me.payment_received_on = on
            me.status = self.Status.PAID
            me.save(update_fields=["payment_received_on", "status"])
            events.exercise_step.send(sender=Exercise, exercise=me, step="paid")
        self.refresh_from_db()

    def issue_shares(self, on: dt.date) -> None:
        """Issue the shares; never before the company has the cash (paragraph 2b)."""
        on = require_date(on, "The issue date")
        with transaction.atomic():
            me = self._locked()
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
            if me.status in (self.Status.ISSUED, self.Status.CANCELLED):
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
    if payment_method not in rules.PAYMENT_METHODS:
        raise ValidationError(
            f"“{payment_method}” is not a payment method; use cash, check or regt "
            f"(the Regulation T broker-assisted program).",
            code="bad_payment_method",
        )
    company = grant.company
    if isinstance(at, dt.date):  # a datetime too; anything else deemed_received refuses
        day = at.date() if isinstance(at, dt.datetime) else at
        within_calendar(day, "The date the notice was received")
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
    facts = grant.facts()
    expires = grant.expiration(facts=facts)
    rules.check_not_expired(exercise_date, expires)
    rules.check_registration(exercise_date, facts.suspensions)
    exercisable = rules.exercisable_shares(
        installments=facts.installments,
        on=exercise_date,
        exercised=facts.exercised,
        service_end=facts.service_end,
        expires_on=expires.on,
        suspensions=facts.suspensions,
    )
    rules.check_minimum_exercise(
        shares=shares,
        installments=facts.installments,
        on=exercise_date,
        exercised=facts.exercised,
        exercisable=exercisable,
        service_end=facts.service_end,
        minimum=grant.terms.minimum_exercise,
    )
    return ExerciseCheck(
        shares=shares,
        exercise_date=exercise_date,
        exercisable=exercisable,
        expires=expires,
        aggregate_price=rules.aggregate_price(shares, grant.exercise_price),
        successor=successor,
        facts=facts,
    )
