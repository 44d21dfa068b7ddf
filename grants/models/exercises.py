"""Exercises of an option (paragraphs 2, 3 and 6): the checks an exercise passes, and its
steps from notice to payment, issue or cancellation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from simple_history.models import HistoricalRecords

from grants import events, rules
from grants.audit import AuditSource
from grants.models.dates import require_date
from grants.models.facts import GrantFacts
from grants.models.people import Successor


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
