"""Plans with their share reserve (paragraph 10), and the grant terms another agreement may
set differently."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Case, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum, When
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
        each = F("shares") - F("returned_shares")
        if todays:
            each = Case(
                When(
                    Plan._past_last_day(todays) & Q(status="granted"),
                    then=Plan._exercised_from(),
                ),
                default=each,
                output_field=models.BigIntegerField(),
            )
        return grants.order_by().values("plan").annotate(used=Sum(each))

    @staticmethod
    def _past_last_day(todays: dict[dt.date, list[int]]) -> Q:
        """Grants whose last day has passed in their company's today."""
        past = Q(pk__in=[])
        for today, company_ids in todays.items():
            past |= Q(plan__company__in=company_ids, expires_on__lt=today)
        return past

    @staticmethod
    def _exercised_from():
        """The shares exercised from the grant of the outer query (0 for none)."""
        from grants.models.exercises import Exercise

        exercised = (
            Exercise.objects.filter(grant=OuterRef("pk"), status__in=Exercise.MADE)
            .order_by()
            .values("grant")
            .annotate(shares=Sum("shares"))
            .values("shares")
        )
        return Coalesce(Subquery(exercised), 0)

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

        Read from the sums the database keeps (``PlanUsage``), not by adding up the book:
        at a million grants the sum took 180 ms a page. With ``todays``, the grants past
        their last day that the nightly job has not yet expired (few, found by the index
        ``grant_outstanding_expiry``) count only the shares exercised from them, as
        ``used_by_plan`` reads them."""
        from grants.models.grant import Grant

        used = Coalesce(F("usage__granted") - F("usage__returned"), 0)
        if todays:
            overdue = (
                Grant.objects.filter(plan=OuterRef("pk"), status="granted")
                .filter(cls._past_last_day(todays))
                .order_by()
                .values("plan")
                .annotate(
                    change=Sum(
                        cls._exercised_from() - (F("shares") - F("returned_shares")),
                        output_field=models.BigIntegerField(),
                    )
                )
                .values("change")
            )
            used = used + Coalesce(Subquery(overdue), 0)
        return cls.objects.annotate(
            reserve_used_shares=ExpressionWrapper(used, output_field=models.BigIntegerField())
        )

    @property
    def reserve_available_shares(self) -> int:
        """``reserve_available()`` from the sum ``with_reserve()`` read with the plan."""
        return self.share_reserve - self.reserve_used_shares


class GrantTerms(models.Model):
    """An agreement form: the terms a company's option agreements of one kind state, as data
    in the Open Cap Format's vocabulary (DOMAIN.md, "agreement forms as data"). Every grant
    carries one; the rules read it (``as_rules``). The seed agreement is one form among
    others; files of forms are read and written by ``grants.agreement_forms``."""

    name = models.CharField(max_length=200, unique=True)
    minimum_exercise = models.PositiveIntegerField(help_text="Shares, at the least, per exercise.")
    small_installment_exception = models.BooleanField(
        default=False,
        help_text="The whole of an installment smaller than the minimum may be exercised "
        "(the seed's exception 3(a)).",
    )
    final_exercise_exception = models.BooleanField(
        default=False,
        help_text="The final exercise of every remaining share may be below the minimum "
        "(the seed's exception 3(b)).",
    )
    # One row per OCF termination reason: {"reason", "period", "period_type", "vesting",
    # "tolling", "section16"} (see ``rules.Window``).
    windows = models.JSONField(default=list, help_text="The exercise window for each reason.")
    section16_days_after_liability = models.PositiveSmallIntegerField(null=True, blank=True)
    section16_cap_months = models.PositiveSmallIntegerField(null=True, blank=True)
    section16_cap_days = models.PositiveSmallIntegerField(null=True, blank=True)
    payment_methods = models.JSONField(
        default=list, help_text="How the price may be paid: cash, check, regt, net."
    )
    mail_notice_days = models.PositiveSmallIntegerField(
        help_text="Days after deposit in the mail that a notice the company mails takes effect."
    )
    agreement_text = models.TextField(
        blank=True, help_text="The agreement's own text, shown in the portal with each grant."
    )

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        verbose_name = "agreement form"
        verbose_name_plural = "agreement forms"
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
        """The form as the rules read it (kept with the row: a page of grants under one form
        reads it once)."""
        cached = self.__dict__.get("_rules")
        if cached is None:
            cached = self.__dict__["_rules"] = rules.Terms(
                minimum_exercise=self.minimum_exercise,
                small_installment_exception=self.small_installment_exception,
                final_exercise_exception=self.final_exercise_exception,
                windows=tuple(rules.Window(**row) for row in self.windows),
                section16_days_after_liability=self.section16_days_after_liability or 0,
                section16_cap_months=self.section16_cap_months or 0,
                section16_cap_days=self.section16_cap_days or 0,
                payment_methods=tuple(self.payment_methods),
                mail_notice_days=self.mail_notice_days,
            )
        return cached

    def in_words(self) -> list[str]:
        """The form's terms in plain words, from its data, for the portal and the page of
        a grant (no other agreement's paragraph numbers)."""
        terms = self.as_rules()
        exceptions = [
            *(
                [
                    f"an installment of fewer than {terms.minimum_exercise:,} shares may be "
                    f"exercised as a whole"
                ]
                if terms.small_installment_exception
                else []
            ),
            *(
                ["your final exercise may be for whatever is left"]
                if terms.final_exercise_exception
                else []
            ),
        ]
        lines = [
            "Exercise any number of whole shares."
            if terms.minimum_exercise <= 1
            else f"Exercise at least {terms.minimum_exercise:,} shares at a time, in whole "
            f"shares" + (f"; {' and '.join(exceptions)}." if exceptions else ".")
        ]
        ways = {
            rules.PAYMENT_CASH: "in cash",
            rules.PAYMENT_CHECK: "by check",
            rules.PAYMENT_REG_T: "through the broker-assisted Regulation T program (your "
            "broker pays the company before your shares are issued)",
            rules.PAYMENT_NET: "by a net exercise (shares are withheld at the exercise "
            "date's closing price to pay the price)",
        }
        lines.append(
            "Pay the exercise price " + ", or ".join(ways[m] for m in terms.payment_methods) + "."
        )
        for window in terms.windows:
            extras = []
            if window.vesting == rules.ACCELERATE_ALL:
                extras.append("every unvested share vests on the termination date")
            else:
                extras.append("only the shares vested on the termination date")
            if window.tolling:
                extras.append("days on which registration is suspended do not count")
            if window.section16:
                extras.append(
                    f"if exercising would create short-swing liability under Section 16(b), "
                    f"until {terms.section16_days_after_liability} days after the last such "
                    f"day, at most {terms.section16_cap_months} months and "
                    f"{terms.section16_cap_days} days after termination"
                )
            lines.append(
                f"After {rules.REASON_LABELS[window.reason]}: "
                + (
                    "the option ends on the termination date itself"
                    if window.period == 0
                    else f"{window.words} after the termination date"
                )
                + f" ({'; '.join(extras)})."
            )
        lines.append(
            f"Notices the company mails to you count {terms.mail_notice_days} days after "
            f"mailing, or when you receive them if sooner."
            if terms.mail_notice_days
            else "Notices the company mails to you count from the day they are mailed."
        )
        return lines

    def refresh_from_db(self, *args, **kwargs):
        self.__dict__.pop("_rules", None)
        super().refresh_from_db(*args, **kwargs)

    @staticmethod
    def fields_of(terms: rules.Terms) -> dict:
        """The field values of a form that reads as ``terms``."""
        return {
            "minimum_exercise": terms.minimum_exercise,
            "small_installment_exception": terms.small_installment_exception,
            "final_exercise_exception": terms.final_exercise_exception,
            "windows": [dataclasses.asdict(window) for window in terms.windows],
            "section16_days_after_liability": terms.section16_days_after_liability,
            "section16_cap_months": terms.section16_cap_months,
            "section16_cap_days": terms.section16_cap_days,
            "payment_methods": list(terms.payment_methods),
            "mail_notice_days": terms.mail_notice_days,
        }

    def grants_it_would_move(self, new: rules.Terms, today: dt.date) -> list[tuple]:
        """The grants under this form whose last day or vesting ``new`` terms would change:
        (grant number, old last day, new last day). Only a grant whose optionee's service
        has ended can move (without a termination, the term sets the date)."""
        from grants.models.grant import Grant
        from grants.models.people import Termination

        ended = Termination.objects.filter(reversed_at__isnull=True).values("optionee_id")
        old = self.as_rules()
        moved = []
        for grant in (
            Grant.objects.filter(terms=self, optionee_id__in=ended)
            .exclude(status__in=Grant.ENDED)
            .with_facts()
        ):
            facts = grant.facts()
            before = grant.expiration(as_of=today, facts=facts)
            after = rules.expiration(
                term_end=grant.term_end,
                terms=new,
                termination=facts.termination,
                suspensions=facts.suspensions,
                liability_windows=facts.liability_windows,
                today=today,
            )
            if before.on != after.on or old.accelerates(facts.termination) != new.accelerates(
                facts.termination
            ):
                moved.append((grant.number, before.on, after.on))
        return moved


class PlanUsage(models.Model):
    """The sums behind a plan's reserve (paragraph 10): the shares of its grants and those
    returned to it, kept by the database. Triggers on the grants table
    (``grants/usage_triggers.py``, migration 0022) change them in the same statement that
    adds, changes or removes a grant, however it is written: a verb, an import by COPY,
    the nightly job, SQL by hand. The app never writes them; ``check_books`` adds the
    book up again and compares."""

    plan = models.OneToOneField(
        Plan,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        related_name="usage",
        db_constraint=False,
    )
    granted = models.BigIntegerField(default=0)
    returned = models.BigIntegerField(default=0)

    class Meta:
        # The table and its triggers are the database's (grants/usage_triggers.py): Django
        # neither migrates, flushes nor dumps it, so a restored backup is added up anew
        # by the triggers as its grants load.
        managed = False
        db_table = "grants_planusage"

    def __str__(self) -> str:
        return f"{self.plan}: {self.granted - self.returned:,} shares in use"


class TermsUsage(models.Model):
    """How many grants were made under an agreement form, kept by the database like
    ``PlanUsage``."""

    terms = models.OneToOneField(
        GrantTerms,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        related_name="usage",
        db_constraint=False,
    )
    grants = models.BigIntegerField(default=0)

    class Meta:
        managed = False
        db_table = "grants_termsusage"

    def __str__(self) -> str:
        return f"{self.terms}: {self.grants:,} grants"
