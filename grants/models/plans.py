"""Plans with their share reserve (paragraph 10), and the grant terms another agreement may
set differently."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Sum, When
from django.db.models.functions import Coalesce
from simple_history.models import HistoricalRecords

from grants import rules
from grants.audit import AuditSource
from grants.models.company import Company

if TYPE_CHECKING:
    from grants.models.grant import Grant


class Plan(models.Model):
    """The plan a grant belongs to; where they conflict, the plan controls (paragraph 10)."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=200)
    share_reserve = models.PositiveBigIntegerField()
    max_term_years = models.PositiveSmallIntegerField(default=10)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"],
                name="plan_name_once",
                violation_error_message="The company already has a plan of this name.",
            ),
            models.CheckConstraint(
                condition=Q(share_reserve__gt=0),
                name="plan_reserve_positive",
                violation_error_message="A plan's share reserve is at least one share.",
            ),
            models.CheckConstraint(
                condition=Q(max_term_years__gt=0),
                name="plan_term_positive",
                violation_error_message="A plan's maximum term is at least one year.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def used_by_plan(
        grants: models.QuerySet[Grant], todays: dict[dt.date, list[int]] | None = None
    ) -> models.QuerySet:
        """Paragraph 10, the one statement of a plan's reserve used: the shares granted less
        those returned to the reserve (expired or forfeited), summed over ``grants`` by
        plan, as rows of ``plan`` and ``used``.

        With ``todays`` (company ids by their local date), read as the rules answer today:
        a grant past its last day that the nightly job has not yet expired uses only the
        shares exercised from it; the rest are back in the reserve."""
        from grants.models.exercises import Exercise

        each = F("shares") - F("returned_shares")
        if todays:
            exercised = (
                Exercise.objects.filter(grant=OuterRef("pk"), status__in=Exercise.MADE)
                .order_by()
                .values("grant")
                .annotate(shares=Sum("shares"))
                .values("shares")
            )
            past = Q(pk__in=[])
            for today, company_ids in todays.items():
                past |= Q(plan__company__in=company_ids, expires_on__lt=today)
            each = Case(
                When(past & Q(status="granted"), then=Coalesce(Subquery(exercised), 0)),
                default=each,
                output_field=models.BigIntegerField(),
            )
        return grants.order_by().values("plan").annotate(used=Sum(each))

    def reserve_used(self, *, excluding: Grant | None = None) -> int:
        """Shares granted, less those returned to the reserve (expired or forfeited)."""
        grants = self.grants.exclude(pk=excluding.pk) if excluding else self.grants.all()
        return sum(Plan.used_by_plan(grants).values_list("used", flat=True))  # one row, or none

    def reserve_available(self, *, excluding: Grant | None = None) -> int:
        return self.share_reserve - self.reserve_used(excluding=excluding)

    @classmethod
    def with_reserve(cls, todays: dict[dt.date, list[int]] | None = None) -> models.QuerySet[Plan]:
        """Plans annotated with ``reserve_used_shares``, the value of ``reserve_used``
        (paragraph 10) for a whole list in one query, so a page of plans makes no query per
        plan; ``reserve_available_shares`` follows from it.

        The sum is a subquery over each plan's grants, not an aggregate of plans joined to
        grants: a list of plans is counted without it (Django counts an aggregate
        annotation by running it), and it is computed once a plan. At a million grants the
        plan list took 425 ms, three sums of the whole book."""
        from grants.models.grant import Grant

        used = cls.used_by_plan(Grant.objects.filter(plan=OuterRef("pk")), todays).values("used")
        return cls.objects.annotate(
            reserve_used_shares=Coalesce(Subquery(used), 0, output_field=models.BigIntegerField())
        )

    @property
    def reserve_available_shares(self) -> int:
        """``reserve_available()`` from the sum ``with_reserve()`` read with the plan."""
        return self.share_reserve - self.reserve_used_shares


class GrantTerms(models.Model):
    """The terms of a grant that another agreement may set differently.

    The defaults are the seed agreement's (see ``grants.rules.Terms``).
    """

    _seed = rules.Terms()

    name = models.CharField(max_length=200, unique=True)
    minimum_exercise = models.PositiveIntegerField(default=_seed.minimum_exercise)
    months_after_termination = models.PositiveSmallIntegerField(
        default=_seed.months_after_termination
    )
    months_after_disability = models.PositiveSmallIntegerField(
        default=_seed.months_after_disability
    )
    months_after_death = models.PositiveSmallIntegerField(default=_seed.months_after_death)
    registration_tolling = models.BooleanField(default=_seed.registration_tolling)
    section16_extension = models.BooleanField(default=_seed.section16_extension)
    section16_days_after_liability = models.PositiveSmallIntegerField(
        default=_seed.section16_days_after_liability
    )
    section16_cap_months = models.PositiveSmallIntegerField(default=_seed.section16_cap_months)
    section16_cap_days = models.PositiveSmallIntegerField(default=_seed.section16_cap_days)
    mail_notice_days = models.PositiveSmallIntegerField(default=_seed.mail_notice_days)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        verbose_name_plural = "grant terms"
        constraints = [
            models.CheckConstraint(
                condition=Q(minimum_exercise__gt=0),
                name="terms_minimum_positive",
                violation_error_message="The minimum exercise is at least one share.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def as_rules(self) -> rules.Terms:
        return rules.Terms(
            minimum_exercise=self.minimum_exercise,
            months_after_termination=self.months_after_termination,
            months_after_disability=self.months_after_disability,
            months_after_death=self.months_after_death,
            registration_tolling=self.registration_tolling,
            section16_extension=self.section16_extension,
            section16_days_after_liability=self.section16_days_after_liability,
            section16_cap_months=self.section16_cap_months,
            section16_cap_days=self.section16_cap_days,
            mail_notice_days=self.mail_notice_days,
        )
