"""The book of stock option grants.

Models hold the facts (grants, installments, exercises, terminations, notices and the
company facts the rules need). Reading methods gather rows and ask ``grants.rules`` for
the answer; state-changing verbs (``Grant.request_exercise``, ``Optionee.terminate``,
``Company.suspend_registration``, ...) run in a transaction, lock what they change,
re-validate with the same rule functions, store the recomputed expiration date and leave
an audit history (django-simple-history) of every row they touch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history

from grants import events, rules
from grants.audit import AuditSource


def _bulk_set(objects: list[models.Model], fields: list[str]) -> None:
    """Store ``fields`` of many rows of one model, each with its own values, in one
    statement. On PostgreSQL: ``UPDATE ... FROM unnest(<one array per column>)``, a
    fraction of the cost of ``bulk_update``'s ``CASE WHEN`` per row (measured in
    docs/performance.md); elsewhere ``bulk_update``."""
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, fields)
        return
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    pk = model._meta.pk
    arrays = [[pk.get_db_prep_value(o.pk, connection) for o in objects]] + [
        [field.get_db_prep_save(getattr(o, field.attname), connection) for o in objects]
        for field in columns
    ]
    types = [pk.rel_db_type(connection), *(field.db_type(connection) for field in columns)]
    names = [quote(pk.column), *(quote(field.column) for field in columns)]
    sql = (
        f"UPDATE {quote(model._meta.db_table)} AS target SET "
        + ", ".join(f"{name} = source.{name}" for name in names[1:])
        + " FROM unnest("
        + ", ".join(f"%s::{kind}[]" for kind in types)
        + f") AS source({', '.join(names)}) WHERE target.{names[0]} = source.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)


IN_LIST_SIZE = 5_000  # values in one IN (...) list: within SQLite's limit on parameters


def in_lists(values: list, kind: str = "text") -> list:
    """What ``field__in=`` takes to look ``values`` up, in as few queries as the database
    allows: one array parameter of SQL type ``kind`` on PostgreSQL (an IN list of 100,000
    parameters costs seconds to compose), lists of ``IN_LIST_SIZE`` values elsewhere."""
    if connection.vendor == "postgresql":
        array = models.expressions.RawSQL(f"SELECT unnest(%s::{kind}[])", [values])
        return [array] if values else []
    return [values[start : start + IN_LIST_SIZE] for start in range(0, len(values), IN_LIST_SIZE)]


def _validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(
            f"“{value}” is not a time zone name; use one such as America/Chicago.",
            code="bad_time_zone",
        )


# The dates the book keeps: far wider than any agreement, and far enough from the ends of
# the calendar (0001-01-01, 9999-12-31) that every period the rules add or subtract
# (months after termination, tolling, expiry warnings) is still a date. A date outside is
# a typo in the year (9999-12-31), refused with a message rather than a crash.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


def _require_date(value: object, what: str) -> dt.date:
    """Contract dates are dates: refuse datetimes, strings and None with a clear message."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError(f"{what} must be a date (YYYY-MM-DD).", code="bad_date")
    return _within_calendar(value, what)


def _within_calendar(day: dt.date, what: str) -> dt.date:
    """Refuse a date outside ``EARLIEST_DATE`` .. ``LATEST_DATE`` (a mistyped year)."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(
            f"{what} {day.isoformat()} is too far in the "
            f"{'past' if day < EARLIEST_DATE else 'future'}; check the year (the book keeps "
            f"dates from {EARLIEST_DATE:%Y-%m-%d} through {LATEST_DATE:%Y-%m-%d}).",
            code="date_out_of_range",
        )
    return day


# --------------------------------------------------------------------------- company


class Company(models.Model):
    name = models.CharField(max_length=200, unique=True)
    time_zone = models.CharField(
        max_length=64, default="America/Chicago", validators=[_validate_time_zone]
    )
    opens_at = models.TimeField(default=dt.time(9, 0), help_text="Start of business hours.")
    closes_at = models.TimeField(
        default=dt.time(17, 0),
        help_text="End of business hours (a notice at this time counts "
        "from the next business day).",
    )
    business_days = models.CharField(
        max_length=7,
        default="12345",
        validators=[
            RegexValidator(
                r"^[1-7]{1,7}$",
                "Give the business days as ISO weekday digits, e.g. 12345 for Monday to Friday.",
            )
        ],
        help_text="ISO weekday digits of the business days: 1 = Monday ... 7 = Sunday.",
    )
    secretary = models.CharField(
        max_length=200, blank=True, help_text="Who receives notices of exercise (paragraph 6a)."
    )
    address = models.TextField(blank=True, help_text="Where written notices are delivered.")
    expiry_warning_days = models.CharField(
        max_length=100,
        default="60,30,14,7,1",
        validators=[
            RegexValidator(
                r"^\d{1,4}(,\d{1,4})*$",
                "Give the days before expiration as whole numbers separated by commas, "
                "e.g. 60,30,14,7,1.",
            )
        ],
        help_text="When the nightly job warns an optionee that an option is about to expire.",
    )

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__lt=F("closes_at")), name="company_opens_before_closing"
            ),
            models.CheckConstraint(
                condition=Q(business_days__regex=r"^[1-7]{1,7}$"), name="company_business_days"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def calendar(self) -> rules.BusinessCalendar:
        return rules.BusinessCalendar(
            time_zone=self.time_zone,
            opens=self.opens_at,
            closes=self.closes_at,
            workdays=frozenset(int(d) for d in self.business_days),
            holidays=frozenset(self.holidays.values_list("date", flat=True)),
        )

    def now(self) -> dt.datetime:
        return timezone.now().astimezone(ZoneInfo(self.time_zone))

    def today(self) -> dt.date:
        """Today in the company's time zone: the date every contract rule is read on."""
        return self.now().date()

    def warning_offsets(self) -> list[int]:
        return sorted(
            {int(part) for part in self.expiry_warning_days.split(",") if part}, reverse=True
        )

    def deemed_receipt(self, at: dt.date | dt.datetime) -> dt.date:
        """The day a notice delivered at ``at`` counts from (paragraph 6a)."""
        return rules.deemed_received(at, self.calendar())

    def suspension_periods(self) -> list[rules.Period]:
        return [rules.Period(s.start, s.end) for s in self.registration_suspensions.all()]

    def closing_price(self, on: dt.date) -> ClosingPrice | None:
        """The latest recorded closing price on or before ``on``."""
        return self.closing_prices.filter(date__lte=on).order_by("-date").first()

    def withholding_rates(self) -> list[tuple[str, Decimal]]:
        return [(r.name, r.rate) for r in self.withholding_rate_set.all()]

    def suspend_registration(
        self, start: dt.date, end: dt.date | None = None, *, note: str = ""
    ) -> RegistrationSuspension:
        """Record days on which the plan shares are not registered (paragraphs 4 and 7).

        Open-ended while ``end`` is None. Every grant whose post-termination clock it can
        pause gets its stored expiration date recomputed (paragraph 5b(iii)).
        """
        start = _require_date(start, "The first day of the suspension")
        if end is not None:
            end = _require_date(end, "The last day of the suspension")
            if end < start:
                raise ValidationError(
                    "The suspension cannot end before it starts.", code="suspension_order"
                )
        with transaction.atomic():
            suspension = RegistrationSuspension.objects.create(
                company=self, start=start, end=end, note=note
            )
            self.refresh_post_termination_expirations()
        return suspension

    def refresh_post_termination_expirations(self) -> None:
        """Recompute the stored expiration of every outstanding grant whose optionee has
        left service: only a post-termination clock can be tolled (paragraph 5b(iii)), and an
        expired or fully exercised grant has no clock left. One prefetch for all of them."""
        terminated = Termination.objects.filter(reversed_at__isnull=True).values("optionee_id")
        grants = (
            Grant.objects.select_for_update(of=("self",))
            .filter(plan__company=self, optionee_id__in=terminated, status=Grant.Status.GRANTED)
            .with_facts()
        )
        for grant in grants:
            grant.refresh_expiration()


class Holiday(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["company", "date"], name="holiday_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class WithholdingRate(models.Model):
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="withholding_rate_set"
    )
    name = models.CharField(max_length=100, help_text="e.g. Federal supplemental wages")
    rate = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text="As a fraction: 0.2200 is 22%.",
    )

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=1), name="withholding_rate_fraction"
            ),
            models.UniqueConstraint(fields=["company", "name"], name="withholding_rate_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.rate:%}"


class RegistrationSuspension(models.Model):
    """Days on which the plan shares are not registered and no exemption applies."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="registration_suspensions"
    )
    start = models.DateField()
    end = models.DateField(null=True, blank=True, help_text="Empty while it lasts.")
    note = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="suspension_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"
            if self.end
            else (f"{self.start:%Y-%m-%d} – (open)")
        )

    def end_on(self, end: dt.date) -> None:
        """Close an open-ended suspension; the last suspended day is ``end``."""
        end = _require_date(end, "The last day of the suspension")
        if end < self.start:
            raise ValidationError(
                "The suspension cannot end before it starts.", code="suspension_order"
            )
        with transaction.atomic():
            self.end = end
            self.save(update_fields=["end"])
            self.company.refresh_post_termination_expirations()


class ClosingPrice(models.Model):
    """Fair market value: the company's recorded closing price on a trading day."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="closing_prices")
    date = models.DateField()
    price = models.DecimalField(max_digits=14, decimal_places=4)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["company", "date"], name="closing_price_once_a_day"),
            models.CheckConstraint(condition=Q(price__gt=0), name="closing_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} ${self.price}"

    def clean(self):
        """A closing price exists once the day's trading has closed: a date after the
        company's today is refused, as the price upload refuses it (``grants.prices``)."""
        if self.date is None or self.company_id is None:
            return
        today = self.company.today()
        if self.date > today:
            raise ValidationError(
                {
                    "date": ValidationError(
                        f"{self.date:%Y-%m-%d} is after today ({today:%Y-%m-%d}); a closing "
                        f"price is recorded once the day's trading has closed.",
                        code="price_after_today",
                    )
                }
            )


# --------------------------------------------------------------------------- plan and terms


class Plan(models.Model):
    """The plan a grant belongs to; where they conflict, the plan controls (paragraph 10)."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=200)
    share_reserve = models.PositiveBigIntegerField()
    max_term_years = models.PositiveSmallIntegerField(default=10)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="plan_name_once"),
            models.CheckConstraint(condition=Q(share_reserve__gt=0), name="plan_reserve_positive"),
            models.CheckConstraint(condition=Q(max_term_years__gt=0), name="plan_term_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def used_by_plan(grants: models.QuerySet[Grant]) -> models.QuerySet:
        """Paragraph 10, the one statement of a plan's reserve used: the shares granted less
        those returned to the reserve (expired or forfeited), summed over ``grants`` by
        plan, as rows of ``plan`` and ``used``."""
        return (
            grants.order_by().values("plan").annotate(used=Sum("shares") - Sum("returned_shares"))
        )

    def reserve_used(self, *, excluding: Grant | None = None) -> int:
        """Shares granted, less those returned to the reserve (expired or forfeited)."""
        grants = self.grants.exclude(pk=excluding.pk) if excluding else self.grants.all()
        return sum(Plan.used_by_plan(grants).values_list("used", flat=True))  # one row, or none

    def reserve_available(self, *, excluding: Grant | None = None) -> int:
        return self.share_reserve - self.reserve_used(excluding=excluding)

    @classmethod
    def with_reserve(cls) -> models.QuerySet[Plan]:
        """Plans annotated with ``reserve_used_shares``, the value of ``reserve_used``
        (paragraph 10) for a whole list in one query, so a page of plans makes no query per
        plan; ``reserve_available_shares`` follows from it.

        The sum is a subquery over each plan's grants, not an aggregate of plans joined to
        grants: a list of plans is counted without it (Django counts an aggregate
        annotation by running it), and it is computed once a plan. At a million grants the
        plan list took 425 ms, three sums of the whole book."""
        used = cls.used_by_plan(Grant.objects.filter(plan=OuterRef("pk"))).values("used")
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
                condition=Q(minimum_exercise__gt=0), name="terms_minimum_positive"
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


# --------------------------------------------------------------------------- optionee


class OptioneeQuerySet(models.QuerySet):
    def for_user(self, user) -> OptioneeQuerySet:
        """The optionees whose options ``user`` may see: their own, or as a recorded
        successor after a death (paragraph 7)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(pk__in=self.ids_for_user(user))

    def ids_for_user(self, user) -> set[int]:
        """The ids of ``for_user(user)``: two lookups by index, not one OR across a join
        (which PostgreSQL answers by scanning every optionee)."""
        if not user.is_authenticated:
            return set()
        own = self.filter(user=user).values_list("pk", flat=True)
        inherited = self.filter(successors__user=user, date_of_death__isnull=False).values_list(
            "pk", flat=True
        )
        return {*own, *inherited}


class Optionee(models.Model):
    class Relationship(models.TextChoices):
        EMPLOYEE = "employee", "Employee"
        OFFICER = "officer", "Officer"
        DIRECTOR = "director", "Director"
        CONSULTANT = "consultant", "Consultant"

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="optionees")
    legal_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    employee_id = models.CharField(max_length=50, blank=True)
    relationship = models.CharField(
        max_length=20, choices=Relationship.choices, default=Relationship.EMPLOYEE
    )
    is_section16_insider = models.BooleanField(
        "Section 16 insider",
        default=False,
        help_text="An officer or director subject to short-swing profit rules.",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="optionee",
        help_text="The optionee's portal account.",
    )
    date_of_death = models.DateField(null=True, blank=True)

    history = HistoricalRecords(bases=[AuditSource])
    objects = OptioneeQuerySet.as_manager()

    class Meta:
        ordering = ["legal_name"]
        # The admin's list, by name with the newest of equal names first: the first page of
        # 500,000 optionees from the index, not a sort of the table (150 ms).
        indexes = [models.Index(fields=["legal_name", "-id"], name="optionee_by_name")]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "employee_id"],
                condition=~Q(employee_id=""),
                name="optionee_employee_id_once",
            )
        ]

    def __str__(self) -> str:
        return self.legal_name

    # -- reading

    def active_termination(self) -> Termination | None:
        """The standing (not reversed) termination; reads prefetched rows when present."""
        return next((t for t in self.terminations.all() if t.reversed_at is None), None)

    def notice_address(self, on: dt.date | None = None) -> str:
        """The address on file for notices on ``on`` (paragraph 9); today when None."""
        on = on or self.company.today()
        return Optionee.notice_addresses_on({self.pk}, on).get(self.pk, "")

    @staticmethod
    def notice_addresses_on(optionee_ids: set[int], on: dt.date) -> dict[int, str]:
        """``notice_address(on)`` of many optionees in one query (those with none left out):
        the latest address in effect on ``on``, the last recorded of a day."""
        addresses: dict[int, str] = {}
        for optionee_id, address in (
            NoticeAddress.objects.filter(optionee_id__in=optionee_ids, effective_on__lte=on)
            .order_by("optionee_id", "-effective_on", "-id")
            .values_list("optionee_id", "address")
        ):
            addresses.setdefault(optionee_id, address)
        return addresses

    def liability_periods(self) -> list[rules.Period]:
        return [rules.Period(w.start, w.end) for w in self.section16_windows.all()]

    # -- verbs

    def _check_termination(self, on: object, reason: str, grants: list[Grant]) -> dt.date:
        """The checks a termination must pass before it is recorded or previewed."""
        on = _require_date(on, "The termination date")
        if reason not in rules.TERMINATION_REASONS:
            raise ValidationError(
                f"“{reason}” is not a termination reason; use other, disability or death.",
                code="bad_reason",
            )
        standing = self.active_termination()
        if standing is not None:
            raise ValidationError(
                f"{self.legal_name}'s service already ended on {standing.on:%Y-%m-%d}. "
                f"To correct it, reverse that termination first.",
                code="already_terminated",
            )
        for grant in grants:
            if on < grant.grant_date and grant.status == Grant.Status.GRANTED:
                # Service cannot end before a grant made during it; say so plainly.
                raise ValidationError(
                    f"The termination date {on:%Y-%m-%d} is before grant {grant.number} "
                    f"was made on {grant.grant_date:%Y-%m-%d}; check the date.",
                    code="termination_before_grant",
                )
        return on

    def preview_termination(self, on: dt.date, reason: str) -> list[TerminationEffect]:
        """What a termination on ``on`` would do to each grant, before it is recorded:
        shares vested at termination, forfeited, and the new expiration with its clause."""
        grants = list(Grant.objects.filter(optionee=self).with_facts())
        on = self._check_termination(on, reason, grants)
        hypothetical = rules.Termination(on, reason)
        effects = []
        for grant in grants:
            facts = dataclasses.replace(grant.facts(), termination=hypothetical)
            effects.append(
                TerminationEffect(
                    grant=grant,
                    vested=rules.vested_shares(facts.installments, on, on),
                    exercised=facts.exercised,
                    forfeited=rules.forfeited_shares(facts.installments, on),
                    expires_before=grant.expiration(),
                    expires=grant.expiration(facts=facts),
                )
            )
        return effects

    def terminate(
        self, on: dt.date, reason: str = rules.REASON_OTHER, *, note: str = ""
    ) -> Termination:
        """Record the end of continuous service (paragraph 5b).

        ``reason`` is "other", "disability" or "death" (then ``on`` is the date of death).
        Vesting stops on ``on``; unvested shares are forfeited on it (5c); every grant's
        expiration date is recomputed. A second termination while one stands is refused:
        reverse the first (``Termination.reverse``) to correct it.
        """
        with transaction.atomic():
            # FOR NO KEY UPDATE: an exercise holding a grant's lock inserts its notice, which
            # takes a key-share lock on the optionee; FOR UPDATE here would deadlock with it.
            optionee = Optionee.objects.select_for_update(no_key=True).get(pk=self.pk)
            grants = list(Grant.objects.select_for_update().filter(optionee=optionee))
            on = optionee._check_termination(on, reason, grants)
            termination = Termination.objects.create(
                optionee=optionee,
                on=on,
                reason=reason,
                date_of_death=on if reason == rules.REASON_DEATH else None,
                note=note,
            )
            if reason == rules.REASON_DEATH:
                optionee.date_of_death = on
                optionee.save(update_fields=["date_of_death"])
            for grant in grants:
                grant.refresh_expiration()
        self.refresh_from_db()
        return termination

    def record_death(self, on: dt.date) -> None:
        """Record the death of an optionee whose service had already ended.

        Paragraph 7: from then on only a recorded successor may exercise. The expiration
        stays the one the earlier termination set: clause 5b(ii) applies only when the
        termination itself is due to death. While the optionee is in service, record the
        death with ``terminate(on, "death")`` instead.
        """
        on = _require_date(on, "The date of death")
        with transaction.atomic():
            optionee = Optionee.objects.select_for_update().get(pk=self.pk)
            standing = optionee.active_termination()
            if standing is None:
                raise ValidationError(
                    f"{optionee.legal_name} is still in service: record the death as a "
                    f"termination for death.",
                    code="in_service",
                )
            if on < standing.on:
                raise ValidationError(
                    f"The date of death {on:%Y-%m-%d} is before the end of service on "
                    f"{standing.on:%Y-%m-%d}; record it as a termination for death instead.",
                    code="death_before_termination",
                )
            optionee.date_of_death = on
            optionee.save(update_fields=["date_of_death"])
        self.refresh_from_db()

    def change_role(self, relationship: str) -> None:
        """A change of role (employee to consultant or director) is not a termination:
        service is continuous (paragraph 8 and 5b). The history keeps the old role."""
        if relationship not in self.Relationship.values:
            raise ValidationError(
                f"“{relationship}” is not a relationship; use one of "
                f"{', '.join(self.Relationship.values)}.",
                code="bad_relationship",
            )
        self.relationship = relationship
        self.save(update_fields=["relationship"])

    def record_section16_liability(self, start: dt.date, end: dt.date) -> Section16Window:
        """Record the days on which an exercise would give rise to Section 16(b) liability
        (paragraph 5b(iv)); the stored expiration dates are recomputed."""
        start = _require_date(start, "The first day of liability")
        end = _require_date(end, "The last day of liability")
        if end < start:
            raise ValidationError(
                "The liability window cannot end before it starts.", code="window_order"
            )
        with transaction.atomic():
            window = Section16Window.objects.create(optionee=self, start=start, end=end)
            for grant in Grant.objects.select_for_update().filter(optionee=self):
                grant.refresh_expiration()
        return window

    def change_notice_address(
        self, address: str, *, received_on: dt.date, method: str = "mail"
    ) -> Notice:
        """The optionee designates a new address by written notice (paragraph 9).

        The new address applies from the day the notice takes effect; the old ones stay
        in the history. The same notice received again on the same day (a retry, a double
        submission) is the notice already recorded, not a second one.
        """
        address = (address or "").strip()
        if not address:
            raise ValidationError("Enter the new notice address.", code="empty_address")
        received_on = _require_date(received_on, "The date the notice was received")
        with transaction.atomic():
            # Serialize notices of one optionee, so two copies of one submission see each other.
            Optionee.objects.select_for_update(no_key=True).filter(pk=self.pk).exists()
            same = Notice.objects.filter(
                optionee=self,
                kind=Notice.Kind.ADDRESS_CHANGE,
                body=address,
                received_on=received_on,
            ).first()
            if same is not None:
                return same
            notice = Notice.objects.create(
                company=self.company,
                optionee=self,
                direction=Notice.Direction.TO_COMPANY,
                method=method,
                kind=Notice.Kind.ADDRESS_CHANGE,
                subject="Change of notice address",
                body=address,
                received_on=received_on,
            )
            NoticeAddress.objects.create(
                optionee=self, address=address, effective_on=notice.effective_on, notice=notice
            )
        return notice


@dataclass(frozen=True)
class TerminationEffect:
    """What a termination does to one grant (shown before the administrator confirms)."""

    grant: Grant
    vested: int
    exercised: int
    forfeited: int
    expires_before: rules.Expiration
    expires: rules.Expiration

    @property
    def exercisable_after(self) -> int:
        return max(0, self.vested - self.exercised)


class NoticeAddress(models.Model):
    """One address on file for notices, from ``effective_on``; the rows are its history."""

    optionee = models.ForeignKey(
        Optionee, on_delete=models.CASCADE, related_name="notice_addresses"
    )
    address = models.TextField()
    effective_on = models.DateField()
    notice = models.OneToOneField(
        "Notice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="The written notice that designated it (none for the address at grant).",
    )

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["-effective_on", "-id"]
        verbose_name_plural = "notice addresses"

    def __str__(self) -> str:
        return f"{self.address.splitlines()[0] if self.address else ''} (from {self.effective_on})"


class Successor(models.Model):
    """Who may exercise after the optionee's death (paragraph 7)."""

    class Document(models.TextChoices):
        WILL = "will", "Will"
        DESCENT = "descent", "Laws of descent and distribution"

    optionee = models.ForeignKey(Optionee, on_delete=models.CASCADE, related_name="successors")
    name = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="successions",
    )
    document = models.CharField(max_length=20, choices=Document.choices)
    document_reference = models.CharField(
        max_length=300, help_text="The document that shows the right, e.g. probate case number."
    )
    recorded_on = models.DateField(default=timezone.localdate)

    history = HistoricalRecords(bases=[AuditSource])

    def __str__(self) -> str:
        return f"{self.name} (successor of {self.optionee})"


class Termination(models.Model):
    """The end of an optionee's continuous service (paragraph 5b)."""

    class Reason(models.TextChoices):
        OTHER = rules.REASON_OTHER, "Any other reason, or none"
        DISABILITY = rules.REASON_DISABILITY, "Permanent and total disability"
        DEATH = rules.REASON_DEATH, "Death"

    optionee = models.ForeignKey(Optionee, on_delete=models.PROTECT, related_name="terminations")
    on = models.DateField("termination date")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    date_of_death = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["-on"]
        # The admin's list, newest first: its first page from the index (65 ms as a sort).
        indexes = [models.Index(fields=["-on", "-id"], name="termination_newest_first")]
        constraints = [
            models.UniqueConstraint(
                fields=["optionee"],
                condition=Q(reversed_at__isnull=True),
                name="one_standing_termination",
            ),
            models.CheckConstraint(
                # date_of_death IS NOT NULL too: a NULL comparison would pass the check.
                condition=~Q(reason=rules.REASON_DEATH)
                | Q(date_of_death__isnull=False, date_of_death=F("on")),
                name="death_termination_on_date_of_death",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.optionee} – {self.get_reason_display()} on {self.on:%Y-%m-%d}"

    def as_rules(self) -> rules.Termination:
        return rules.Termination(self.on, self.reason)

    def reverse(self, why: str) -> None:
        """Undo a termination recorded in error; a corrected one can then be recorded."""
        if not why.strip():
            raise ValidationError("Say why the termination is reversed.", code="no_reason")
        with transaction.atomic():
            me = Termination.objects.select_for_update().get(pk=self.pk)
            if me.reversed_at is not None:
                raise ValidationError(
                    "This termination was already reversed.", code="already_reversed"
                )
            me.reversed_at = timezone.now()
            me.reversal_reason = why.strip()
            me.save(update_fields=["reversed_at", "reversal_reason"])
            if me.reason == rules.REASON_DEATH:
                # Saved, not .update(): the optionee's audit history must show it cleared.
                optionee = Optionee.objects.select_for_update(no_key=True).get(
                    pk=me.optionee_id
                )  # no key: as in ``Optionee.terminate``, not to deadlock with an exercise
                optionee.date_of_death = None
                optionee.save(update_fields=["date_of_death"])
            for grant in Grant.objects.select_for_update().filter(optionee_id=me.optionee_id):
                grant.refresh_expiration()
        self.refresh_from_db()


class Section16Window(models.Model):
    """Days on which an exercise by an insider would give rise to short-swing liability."""

    optionee = models.ForeignKey(
        Optionee, on_delete=models.CASCADE, related_name="section16_windows"
    )
    start = models.DateField()
    end = models.DateField()

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["start"]
        verbose_name = "Section 16(b) liability window"
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=F("start")), name="window_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.optionee}: {self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


# --------------------------------------------------------------------------- grant


@dataclass(frozen=True)
class GrantFacts:
    """Every recorded fact the rules need about one grant, gathered once."""

    installments: list[rules.Installment]
    exercised: int
    termination: rules.Termination | None
    suspensions: list[rules.Period]
    liability_windows: list[rules.Period]
    awaiting_payment: tuple[dt.date, ...] = ()  # dates of exercises awaiting payment

    @property
    def service_end(self) -> dt.date | None:
        return self.termination.on if self.termination else None


@dataclass(frozen=True)
class Position:
    """Where a grant stands on one day, as the optionee and the administrator see it."""

    on: dt.date
    total: int
    vested: int
    exercised: int
    exercisable: int
    unvested: int
    forfeited: int
    next_vest_date: dt.date | None
    next_vest_shares: int
    expiration: rules.Expiration
    terminated_on: dt.date | None
    closing_price: Decimal | None
    vested_value: Decimal | None

    @property
    def days_left(self) -> int:
        return (self.expiration.on - self.on).days

    @property
    def is_expired(self) -> bool:
        return self.on > self.expiration.on


@dataclass(frozen=True)
class ScheduleRow:
    vest_date: dt.date
    shares: int
    vested: bool
    forfeited: bool
    exercised: int


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
    exercised: dict[int, int] = dict.fromkeys(ids, 0)
    awaiting: dict[int, list[dt.date]] = {pk: [] for pk in ids}
    for grant_id, shares, status, on in Exercise.objects.filter(grant_id__in=ids).values_list(
        "grant_id", "shares", "status", "exercise_date"
    ):
        if status != Exercise.Status.CANCELLED:
            exercised[grant_id] += shares
        if status == Exercise.Status.AWAITING_PAYMENT:
            awaiting[grant_id].append(on)
    terminations, windows, suspensions = people_facts(
        optionee_ids, {g.plan.company_id for g in grants}
    )
    for grant in grants:
        grant._facts = GrantFacts(
            installments=installments[grant.pk],
            exercised=exercised[grant.pk],
            termination=terminations.get(grant.optionee_id),
            suspensions=suspensions[grant.plan.company_id],
            liability_windows=windows.get(grant.optionee_id, []),
            awaiting_payment=tuple(awaiting[grant.pk]),
        )


def people_facts(
    optionee_ids: set[int], company_ids: set[int], *, batch_size: int = 5_000
) -> tuple[dict[int, rules.Termination], dict[int, list[rules.Period]], dict[int, list]]:
    """What a grant's expiration reads besides its own rows: the standing termination and
    the Section 16(b) liability windows of each optionee, and the registration suspensions
    of each company; one query each (per ``batch_size`` optionees)."""
    ids = sorted(i for i in optionee_ids if i is not None)
    terminations: dict[int, rules.Termination] = {}
    windows: dict[int, list[rules.Period]] = {}
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        for optionee_id, on, reason in Termination.objects.filter(
            optionee_id__in=chunk, reversed_at__isnull=True
        ).values_list("optionee_id", "on", "reason"):
            terminations.setdefault(optionee_id, rules.Termination(on, reason))
        for optionee_id, begins, ends in (
            Section16Window.objects.filter(optionee_id__in=chunk)
            .order_by("start", "pk")
            .values_list("optionee_id", "start", "end")
        ):
            windows.setdefault(optionee_id, []).append(rules.Period(begins, ends))
    suspensions: dict[int, list[rules.Period]] = {pk: [] for pk in company_ids}
    for company_id, begins, ends in (
        RegistrationSuspension.objects.filter(company_id__in=list(company_ids))
        .order_by("start", "pk")
        .values_list("company_id", "start", "end")
    ):
        suspensions[company_id].append(rules.Period(begins, ends))
    return terminations, windows, suspensions


class Grant(models.Model):
    class Type(models.TextChoices):
        NSO = "NSO", "Non-qualified stock option"
        ISO = "ISO", "Incentive stock option"

    class Status(models.TextChoices):
        GRANTED = "granted", "Granted"
        EXERCISED = "exercised", "Fully exercised"
        EXPIRED = "expired", "Expired"

    number = models.CharField(max_length=50, unique=True)
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
    expiration_clause = models.CharField(max_length=10, default="5a")
    returned_shares = models.PositiveBigIntegerField(
        default=0, help_text="Shares returned to the plan reserve (forfeited or expired)."
    )
    next_action_on = models.DateField(
        null=True,
        blank=True,
        help_text="The next night the nightly job must look at this grant (an expiry warning "
        "or the expiry itself); empty once nothing more is due.",
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
            models.CheckConstraint(condition=Q(shares__gt=0), name="grant_shares_positive"),
            models.CheckConstraint(
                condition=Q(exercise_price__gte=0), name="grant_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(term_end__gt=F("grant_date")), name="grant_term_after_grant_date"
            ),
            models.CheckConstraint(
                condition=Q(expires_on__lte=F("term_end")), name="grant_expires_within_term"
            ),
            models.CheckConstraint(
                condition=Q(returned_shares__lte=F("shares")), name="grant_returned_within_grant"
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_on"],
                condition=Q(status="granted"),
                name="grant_outstanding_expiry",
            ),
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

    @staticmethod
    def check_schedule(
        grant_date: dt.date, shares: int, installments: list[tuple[dt.date, int]]
    ) -> list[rules.Installment]:
        """Paragraph 1a: the schedule must be the whole grant, with no installment before the
        grant date. Returns the installments; raises what ``rules.check_schedule`` raises.
        Used by ``create`` and by any screen that previews a schedule before saving."""
        schedule = [
            rules.Installment(_require_date(d, "An installment date"), rules.whole_shares(n))
            for d, n in installments
        ]
        rules.check_schedule(grant_date=grant_date, total_shares=shares, installments=schedule)
        return schedule

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
    ) -> Grant:
        """Grant an option with its vesting schedule, checked against the plan (paragraphs
        1a and 10). Nothing is written unless every check passes. One grant of
        ``create_many``: the same checks, the same rows, the same history."""
        [outcome] = cls.create_many(
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
                }
            ]
        )
        if isinstance(outcome, ValidationError):
            raise outcome
        return outcome

    @classmethod
    def create_many(
        cls, specs: list[dict], *, save: bool = True, batch_size: int = 5_000
    ) -> list[Grant | ValidationError]:
        """Grant many options at once (an import). Each spec holds the keyword arguments of
        ``create`` and is checked exactly as ``create`` checks one grant: the same checks
        in the same order with the same messages (paragraphs 1a, 2a and 10, the grant
        number, the company). The plan's reserve is consumed in the order of the specs by
        those that pass, so the spec that would overflow it is the one refused, as if each
        had been made by ``create`` one after the other.

        The queries do not depend on the number of specs (beyond one per ``batch_size``
        values in a list): the plans are locked once, and the reserves, the closing prices
        on the grant dates, the grant numbers already in the book, the optionees' standing
        terminations and liability windows and the companies' registration suspensions are
        each read in one query.

        Returns, per spec in order, the grant or the ``ValidationError`` that refused it.
        Nothing is written unless every spec passes, and nothing at all when ``save`` is
        false (a check only). Then the optionees not yet saved, the grants and their
        installments are inserted in batches, every row with its history.
        """
        outcomes: list = [None] * len(specs)
        checked = []
        for index, spec in enumerate(specs):
            try:
                grant_date = _require_date(spec["grant_date"], "The grant date")
                term_end = _require_date(spec["term_end"], "The end of the term")
                shares = rules.whole_shares(spec["shares"])
                price = Decimal(str(spec["exercise_price"]))
                if price < 0:
                    raise ValidationError(
                        "The exercise price cannot be negative.", code="bad_price"
                    )
                if spec["optionee"].company_id != spec["plan"].company_id:
                    raise ValidationError(
                        "The optionee and the plan belong to different companies.",
                        code="company_mismatch",
                    )
                schedule = cls.check_schedule(grant_date, shares, spec["installments"])
            except ValidationError as error:
                outcomes[index] = error
                continue
            checked.append((index, spec, grant_date, term_end, shares, price, schedule))
        if not checked:
            return outcomes

        def chunks(values: list) -> list[list]:
            return [values[i : i + batch_size] for i in range(0, len(values), batch_size)]

        made: list[tuple[Grant, list[rules.Installment]]] = []
        with transaction.atomic():
            # Locked once each, in a fixed order; the plan row alone, not its company.
            plans = {
                plan.pk: plan
                for plan in Plan.objects.select_for_update(of=("self",))
                .select_related("company")
                .filter(pk__in={spec["plan"].pk for _, spec, *_ in checked})
                .order_by("pk")
            }
            if len(plans) < len({spec["plan"].pk for _, spec, *_ in checked}):
                raise Plan.DoesNotExist("A plan of these grants is no longer in the book.")
            available = {pk: plan.share_reserve for pk, plan in plans.items()}
            for plan_id, used in Plan.used_by_plan(
                cls.objects.filter(plan_id__in=list(plans))
            ).values_list("plan", "used"):
                available[plan_id] -= used
            companies = {plan.company_id: plan.company for plan in plans.values()}
            closing: dict[tuple[int, dt.date], Decimal] = {}
            for days in chunks(sorted({grant_date for _, _, grant_date, *_ in checked})):
                for company_id, day, value in ClosingPrice.objects.filter(
                    company_id__in=list(companies), date__in=days
                ).values_list("company_id", "date", "price"):
                    closing[company_id, day] = value
            taken: set[str] = set()
            numbers = [spec["number"] for _, spec, *_ in checked]
            for values in in_lists(numbers):
                taken.update(
                    cls.objects.filter(number__in=values)
                    .order_by()
                    .values_list("number", flat=True)
                )
            terminations, windows, suspensions = people_facts(
                {spec["optionee"].pk for _, spec, *_ in checked},
                set(companies),
                batch_size=batch_size,
            )
            today = {pk: company.today() for pk, company in companies.items()}
            standard = None
            for index, spec, grant_date, term_end, shares, price, schedule in checked:
                plan, optionee, number = plans[spec["plan"].pk], spec["optionee"], spec["number"]
                try:
                    rules.check_price_at_grant(price, closing.get((plan.company_id, grant_date)))
                    rules.check_plan_limits(
                        shares=shares,
                        grant_date=grant_date,
                        term_end=term_end,
                        reserve_available=available[plan.pk],
                        max_term_years=plan.max_term_years,
                    )
                    if number in taken:
                        raise ValidationError(
                            f"Grant number {number} is already used; choose another.",
                            code="duplicate",
                        )
                    terms = spec.get("grant_terms")
                    if terms is None:
                        if standard is None:
                            standard = GrantTerms.objects.get_or_create(name="Standard")[0]
                        terms = standard
                    grant = cls(
                        number=number,
                        plan=plan,
                        optionee=optionee,
                        terms=terms,
                        option_type=spec.get("option_type", cls.Type.NSO),
                        grant_date=grant_date,
                        shares=shares,
                        exercise_price=price,
                        term_end=term_end,
                        expires_on=term_end,
                    )
                    # Derived before the grant has a key: no query for warnings sent.
                    grant._derive(
                        GrantFacts(
                            installments=schedule,
                            exercised=0,
                            termination=terminations.get(optionee.pk),
                            suspensions=suspensions[plan.company_id],
                            liability_windows=windows.get(optionee.pk, []),
                        ),
                        today[plan.company_id],
                    )
                except ValidationError as error:
                    outcomes[index] = error
                    continue
                available[plan.pk] -= shares
                taken.add(number)
                outcomes[index] = grant
                made.append((grant, schedule))
            if not save or len(made) < len(specs):
                return outcomes
            new_optionees = list(
                {
                    id(spec["optionee"]): spec["optionee"]
                    for spec in specs
                    if spec["optionee"].pk is None
                }.values()
            )
            connection = transaction.get_connection()
            if connection.vendor == "postgresql" and len(made) > 1:
                # An import: PostgreSQL's COPY, the same rows and history, many times faster.
                for model, objs in ((Optionee, new_optionees), (cls, [g for g, _ in made])):
                    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
                    if model is cls:
                        for grant in objs:
                            grant.optionee = grant.optionee  # its key, if it is new
                    keys = cls._copy_with_history(
                        model, [tuple(f.pre_save(obj, True) for f in fields) for obj in objs]
                    )
                    for obj, key in zip(objs, keys, strict=True):
                        obj.pk = key
                        obj._state.adding, obj._state.db = False, connection.alias
                cls._copy_with_history(
                    Installment,
                    [
                        (grant.pk, i.vest_date, i.shares)
                        for grant, schedule in made
                        for i in schedule
                    ],
                    found_by="grant_id",  # the installments of new grants are all new
                )
                return outcomes
            for batch in chunks(new_optionees):
                bulk_create_with_history(batch, Optionee, batch_size=batch_size)
            for batch in chunks(made):
                # bulk_create takes each new optionee's key, now that it has one.
                bulk_create_with_history([g for g, _ in batch], Grant, batch_size=batch_size)
                # With history: the schedule's creation belongs in the audit trail too.
                bulk_create_with_history(
                    [
                        Installment(grant=grant, vest_date=i.vest_date, shares=i.shares)
                        for grant, schedule in batch
                        for i in schedule
                    ],
                    Installment,
                    batch_size=batch_size,
                )
        return outcomes

    @staticmethod
    def _copy_with_history(
        model: type[models.Model], rows: list[tuple], *, found_by: str | None = None
    ) -> list[int]:
        """For ``create_many`` on PostgreSQL: insert ``rows`` (the values of ``model``'s
        concrete fields but the key, in their order) by COPY, then their creation ("+")
        history rows as ``bulk_create_with_history`` writes them (the user and the source of
        the moment), copied from the new rows by the database.

        Without ``found_by``, the keys are drawn from the table's sequence first and
        returned in row order; with it (a foreign key column such as ``grant_id`` whose
        rows in the table are all new), the table gives the keys and the new rows are
        those with the values of ``found_by`` in ``rows``."""
        connection = transaction.get_connection()
        quote, meta = connection.ops.quote_name, model._meta
        if not rows:
            return []
        table = quote(meta.db_table)
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        with connection.cursor() as cursor:
            if found_by is None:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, meta.pk.column, len(rows)],
                )
                keys = sorted(key for (key,) in cursor.fetchall())
                columns = ", ".join(quote(f.column) for f in [meta.pk, *fields])
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for key, row in zip(keys, rows, strict=True):
                        copy.write_row((key, *row))
                found, values = meta.pk.column, keys
            else:
                keys = []
                columns = ", ".join(quote(f.column) for f in fields)
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                at = [f.attname for f in fields].index(found_by)
                found = meta.get_field(found_by.removesuffix("_id")).column
                values = sorted({row[at] for row in rows})
            if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
                return keys
            history = model.history.model
            user = history.get_default_history_user(model())
            columns_of = {f.attname: f.column for f in meta.concrete_fields}
            fixed = {
                "history_date": timezone.now(),
                "history_change_reason": None,
                "history_type": "+",
                "history_user_id": user.pk if user else None,
            }
            targets, sources, params = [], [], []
            for f in history._meta.concrete_fields:
                if f.primary_key:
                    continue
                targets.append(quote(f.column))
                if f.attname in columns_of:
                    sources.append(f"{table}.{quote(columns_of[f.attname])}")
                else:
                    sources.append("%s")
                    params.append(fixed[f.attname] if f.attname in fixed else f.get_default())
            cursor.execute(
                f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(targets)}) "
                f"SELECT {', '.join(sources)} FROM {table} "
                f"WHERE {table}.{quote(found)} = ANY(%s) ORDER BY {table}.{quote(meta.pk.column)}",
                [*params, values],
            )
        return keys

    # -- reading

    def facts(self) -> GrantFacts:
        """Gather the rows the rules read (or those ``with_facts()`` read with the grant)."""
        gathered = self.__dict__.get("_facts")
        if gathered is not None:
            return gathered
        termination = self.optionee.active_termination()
        exercises = list(self.exercises.all())
        return GrantFacts(
            installments=[
                rules.Installment(i.vest_date, i.shares) for i in self.installments.all()
            ],
            exercised=sum(e.shares for e in exercises if e.status != Exercise.Status.CANCELLED),
            termination=termination.as_rules() if termination else None,
            suspensions=self.company.suspension_periods(),
            liability_windows=self.optionee.liability_periods(),
            awaiting_payment=tuple(
                e.exercise_date for e in exercises if e.status == Exercise.Status.AWAITING_PAYMENT
            ),
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
        on = _require_date(on, "The date")
        facts = self.facts()
        return rules.vested_shares(facts.installments, on, facts.service_end)

    def forfeited_shares(self) -> int:
        facts = self.facts()
        return rules.forfeited_shares(facts.installments, facts.service_end)

    def exercised_shares(self) -> int:
        return self.facts().exercised

    def exercisable_shares(self, on: dt.date) -> int:
        on = _require_date(on, "The date")
        facts = self.facts()
        if self.status == self.Status.EXPIRED:
            return 0
        return rules.exercisable_shares(
            installments=facts.installments,
            on=on,
            exercised=facts.exercised,
            service_end=facts.service_end,
            expires_on=self.expiration(facts=facts).on,
            suspensions=facts.suspensions,
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
        vested = rules.vested_shares(facts.installments, on, facts.service_end)
        forfeited = rules.forfeited_shares(facts.installments, facts.service_end)
        upcoming = [
            i
            for i in sorted(facts.installments, key=lambda i: i.vest_date)
            if i.vest_date > on and (facts.service_end is None or i.vest_date <= facts.service_end)
        ]
        exercisable = (
            0
            if self.status == self.Status.EXPIRED
            else rules.exercisable_shares(
                installments=facts.installments,
                on=on,
                exercised=facts.exercised,
                service_end=facts.service_end,
                expires_on=expires.on,
                suspensions=facts.suspensions,
            )
        )
        price = self.company.closing_price(on) if closing_price is False else closing_price
        return Position(
            on=on,
            total=self.shares,
            vested=vested,
            exercised=facts.exercised,
            exercisable=exercisable,
            unvested=self.shares - vested - forfeited,
            forfeited=forfeited,
            next_vest_date=upcoming[0].vest_date if upcoming else None,
            next_vest_shares=upcoming[0].shares if upcoming else 0,
            expiration=expires,
            terminated_on=facts.service_end,
            closing_price=price.price if price else None,
            vested_value=(
                rules.aggregate_price(max(0, vested - facts.exercised), price.price)
                if price
                else None
            ),
        )

    def schedule(self, on: dt.date | None = None) -> list[ScheduleRow]:
        """Each installment with what is vested, forfeited and exercised of it."""
        on = on or self.company.today()
        facts = self.facts()
        return [
            ScheduleRow(
                vest_date=item.vest_date,
                shares=item.shares,
                vested=item.vest_date <= on
                and (facts.service_end is None or item.vest_date <= facts.service_end),
                forfeited=facts.service_end is not None and item.vest_date > facts.service_end,
                exercised=item.shares - remainder,
            )
            for item, remainder in rules.unexercised_by_installment(
                facts.installments, facts.exercised
            )
        ]

    # -- verbs

    def refresh_expiration(self, as_of: dt.date | None = None) -> None:
        """Store what the rules derive from every event so far: the effective expiration
        date and its clause, the shares returned to the plan (forfeited at termination,
        paragraph 5c) and the next night the nightly job must look at the grant.

        Called inside the transaction of each verb that can move them, with the row locked.
        """
        changed = self._derive(self.facts(), as_of or self.company.today())
        if changed:
            self.save(update_fields=changed)

    def _derive(self, facts: GrantFacts, today: dt.date) -> list[str]:
        """Set the stored derived fields from ``facts``; return the names that changed.

        The status follows the rows too: a termination (or its reversal, or a cancelled
        exercise) can make every share that will ever vest exercised, or no longer so. An
        expired grant returns its forfeited and its unexercised shares to the plan.
        """
        changed = []
        forfeited = rules.forfeited_shares(facts.installments, facts.service_end)
        returned = rules.returned_shares(
            shares=self.shares,
            exercised=facts.exercised,
            forfeited=forfeited,
            expired=self.status == Grant.Status.EXPIRED,
        )
        if self.status != Grant.Status.EXPIRED:
            done = rules.fully_exercised(
                shares=self.shares, exercised=facts.exercised, forfeited=forfeited
            )
            status = Grant.Status.EXERCISED if done else Grant.Status.GRANTED
            if self.status != status:
                self.status = status  # before the next action: it depends on the status
                changed.append("status")
        expires = self.expiration(as_of=today, facts=facts)
        derived = {
            "returned_shares": returned,
            "expires_on": expires.on,
            "expiration_clause": expires.clause,
            "next_action_on": self._next_action_on(expires.on, today),
        }
        for name, value in derived.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        return changed

    def _next_action_on(self, expires_on: dt.date, today: dt.date) -> dt.date | None:
        if self.status != Grant.Status.GRANTED:
            return None
        offsets = self.company.warning_offsets()
        due = rules.due_expiry_warning(expires_on, today, offsets)
        return rules.next_nightly_action(
            expires_on,
            today,
            offsets,
            due_warning_sent=due is not None and self._warned(expires_on, due),
        )

    def _warned(self, expires_on: dt.date, days_before: int) -> bool:
        if self.pk is None:
            return False
        sent = self.__dict__.get("_warnings_sent")  # read with the batch by the nightly job
        if sent is not None:
            return (expires_on, days_before) in sent
        return self.notices.filter(
            kind=Notice.Kind.EXPIRY_WARNING, about_expiration=expires_on, days_before=days_before
        ).exists()

    def run_nightly(self, as_of: dt.date) -> str:
        """The nightly expiry check for this grant on ``as_of``; see ``run_nightly_many``."""
        outcome = Grant.run_nightly_many([self.pk], as_of)[self.pk]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    @classmethod
    def run_nightly_many(cls, pks: list[int], as_of: dt.date) -> dict[int, str | Exception]:
        """The nightly expiry check (paragraphs 5 and 9) for a batch of grants on ``as_of``.

        Locks the grants that no other copy of the job holds, reads them and every fact
        the rules need in a fixed number of queries, decides each grant's outcome, then
        writes every notice and every changed grant, each with its history, in one insert
        and one update. The outcomes, by grant:
        - "paused": an open-ended registration suspension pauses the post-termination
          clock (5b(iii)): the date is not final, so nothing expires and no warning goes.
        - "held": past expiration, but an exercise from before it still awaits payment;
          expiring now would cut across it, so the grant is looked at again tomorrow.
        - "expired": past expiration: status expired, unexercised shares back to the plan,
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
                        outcome, changed, notice = grant._plan_nightly(as_of)
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
                    addresses = Optionee.notice_addresses_on(
                        {n.optionee_id for n in notices}, as_of
                    )
                    for notice in notices:
                        notice.prepare(address=addresses.get(notice.optionee_id, ""))
                    bulk_create_with_history(notices, Notice)
                if changed_grants:
                    _bulk_set(changed_grants, sorted(changed_fields))
                    Grant.history.bulk_history_create(changed_grants, update=True)
                events.notices_given.send(sender=Notice, notices=notices)
        except DatabaseError as error:
            if len(pks) == 1:
                return {pks[0]: error}
            # One grant's write failed and took the batch with it: redo them one by one,
            # so only that grant is reported.
            outcomes = {}
            for pk in pks:
                outcomes.update(Grant.run_nightly_many([pk], as_of))
            return outcomes
        for pk in pks:
            outcomes.setdefault(pk, "skipped")
        return outcomes

    def _plan_nightly(self, as_of: dt.date) -> tuple[str, list[str], Notice | None]:
        """Decide this grant's nightly outcome from the rules as of ``as_of`` and set its
        derived fields; return the outcome, the changed field names and the notice to give
        (unsaved). Reads the facts ``run_nightly_many`` gathered for the batch."""
        facts = self.facts()
        expires = self.expiration(as_of=as_of, facts=facts)
        tomorrow = as_of + dt.timedelta(days=1)
        paused = expires != self.expiration(as_of=tomorrow, facts=facts)
        outcome, notice = "nothing", None
        if paused:
            outcome = "paused"
        elif as_of > expires.on:
            if any(day <= expires.on for day in facts.awaiting_payment):
                outcome = "held"
            else:
                return "expired", self._expire(expires, facts), self._expiry_notice(expires, as_of)
        else:
            due = rules.due_expiry_warning(expires.on, as_of, self.company.warning_offsets())
            if due is not None and not self._warned(expires.on, due):
                notice = self._warning_notice(expires, as_of, due)
                self._warnings_sent = {*self.__dict__.get("_warnings_sent", ()), (expires.on, due)}
                outcome = "warned"
        changed = self._derive(facts, as_of)
        if outcome in ("paused", "held"):
            self.next_action_on = tomorrow
            changed = [*{*changed, "next_action_on"}]
        return outcome, changed, notice

    def _expire(self, expires: rules.Expiration, facts: GrantFacts) -> list[str]:
        """Mark the grant expired: its unexercised shares return to the plan."""
        self.status = Grant.Status.EXPIRED
        self.expires_on, self.expiration_clause = expires.on, expires.clause
        self.returned_shares = rules.returned_shares(
            shares=self.shares,
            exercised=facts.exercised,
            forfeited=rules.forfeited_shares(facts.installments, facts.service_end),
            expired=True,
        )
        self.next_action_on = None
        return ["status", "expires_on", "expiration_clause", "returned_shares", "next_action_on"]

    def _expiry_notice(self, expires: rules.Expiration, as_of: dt.date) -> Notice:
        return self._notice(
            kind=Notice.Kind.EXPIRED,
            subject=f"Your option {self.number} has expired",
            body=(
                f"Your option under grant {self.number} expired at the end of business hours "
                f"on {expires.on:%B %-d, %Y} (paragraph {expires.clause}: "
                f"{expires.explanation}) and can no longer be exercised. "
                f"{self.returned_shares:,} unexercised shares returned to the plan."
            ),
            expires=expires,
            as_of=as_of,
            days_before=0,
        )

    def _warning_notice(
        self, expires: rules.Expiration, as_of: dt.date, days_before: int
    ) -> Notice:
        days_left = (expires.on - as_of).days
        return self._notice(
            kind=Notice.Kind.EXPIRY_WARNING,
            subject=f"Your option {self.number} expires on {expires.on:%B %-d, %Y}",
            body=(
                f"Your option under grant {self.number} can be exercised through the end of "
                f"business hours on {expires.on:%A, %B %-d, %Y}: "
                f"{days_left} day{'s' if days_left != 1 else ''} from {as_of:%B %-d, %Y}. "
                f"Why this date: paragraph {expires.clause}, {expires.explanation} "
                f"A notice of exercise counts from the business day it is received during "
                f"business hours."
            ),
            expires=expires,
            as_of=as_of,
            days_before=days_before,
        )

    def _notice(self, *, kind, subject, body, expires, as_of, days_before) -> Notice:
        """A written notice to the optionee (paragraph 9), not yet saved: by e-mail,
        effective that day, when an address is on file; otherwise by U.S. mail to the
        notice address, effective five days after deposit, left in the administrator's
        print queue (the Notices list, filtered by method "mail", with its print page)."""
        optionee = self.optionee
        emailed = bool(optionee.email or (optionee.user and optionee.user.email))
        return Notice(
            company=self.company,
            optionee=optionee,
            grant=self,
            direction=Notice.Direction.TO_OPTIONEE,
            method=Notice.Method.EMAIL if emailed else Notice.Method.MAIL,
            kind=kind,
            subject=subject,
            body=body,
            sent_on=as_of,
            received_on=as_of if emailed else None,
            about_expiration=expires.on,
            days_before=days_before,
        )

    def _check_exercise(
        self,
        shares: object,
        at: dt.date | dt.datetime,
        payment_method: str,
        by,
        delivered_by: Successor | None = None,
    ) -> ExerciseCheck:
        """Apply every rule an exercise must pass (paragraphs 1–7) as of ``at``; write nothing.

        Called by ``preview_exercise`` as is, and by ``request_exercise`` on the locked row.
        """
        shares = rules.whole_shares(shares)
        if payment_method not in rules.PAYMENT_METHODS:
            raise ValidationError(
                f"“{payment_method}” is not a payment method; use cash, check or regt "
                f"(the Regulation T broker-assisted program).",
                code="bad_payment_method",
            )
        company = self.company
        if isinstance(at, dt.date):  # a datetime too; anything else deemed_received refuses
            day = at.date() if isinstance(at, dt.datetime) else at
            _within_calendar(day, "The date the notice was received")
        exercise_date = rules.deemed_received(at, company.calendar())
        optionee = self.optionee
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
        if self.status == Grant.Status.EXPIRED:
            raise ValidationError(
                f"Grant {self.number} expired on {self.expires_on:%Y-%m-%d}.", code="expired"
            )
        facts = self.facts()
        expires = self.expiration(facts=facts)
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
            minimum=self.terms.minimum_exercise,
        )
        return ExerciseCheck(
            shares=shares,
            exercise_date=exercise_date,
            exercisable=exercisable,
            expires=expires,
            aggregate_price=rules.aggregate_price(shares, self.exercise_price),
            successor=successor,
            facts=facts,
        )

    def preview_exercise(
        self,
        shares: object,
        at: dt.date | dt.datetime,
        *,
        payment_method: str,
        by=None,
        delivered_by: Successor | None = None,
    ) -> ExercisePreview:
        """What an exercise would be, before it is submitted: its exercise date, aggregate
        price and the tax estimate at the latest closing price (paragraphs 2 and 6b).
        Raises the same ValidationError that ``request_exercise`` would."""
        check = self._check_exercise(shares, at, payment_method, by, delivered_by)
        price = self.company.closing_price(check.exercise_date)
        spread = withholding = None
        if price is not None:
            spread = rules.taxable_spread(check.shares, self.exercise_price, price.price)
            withholding = rules.withholding_estimate(
                check.shares, self.exercise_price, price.price, self.company.withholding_rates()
            )
        return ExercisePreview(
            shares=check.shares,
            exercise_date=check.exercise_date,
            exercisable=check.exercisable,
            expires=check.expires,
            aggregate_price=check.aggregate_price,
            fair_market_value=price.price if price else None,
            fair_market_value_date=price.date if price else None,
            taxable_spread=spread,
            withholding=withholding or [],
        )

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
                Grant.objects.select_for_update(of=("self",))
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
            check = grant._check_exercise(shares, at, payment_method, by, delivered_by)
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
                    f"paid by {dict(Exercise.PaymentMethod.choices)[payment_method]}."
                ),
                received_on=check.exercise_date,
                received_at=received_at,
            )
            today = grant.company.today()
            exercise = Exercise.objects.create(
                grant=grant,
                shares=shares,
                exercise_date=check.exercise_date,
                notice_received_at=received_at,
                payment_method=payment_method,
                price_per_share=grant.exercise_price,
                aggregate_price=check.aggregate_price,
                payment_received_on=min(today, check.exercise_date) if payment_received else None,
                status=Exercise.Status.PAID
                if payment_received
                else Exercise.Status.AWAITING_PAYMENT,
                requested_by=by,
                successor=check.successor,
                notice=notice,
                submission_key=submission_key or None,
            )
            facts = check.facts
            if facts.exercised + shares >= grant.shares - rules.forfeited_shares(
                facts.installments, facts.service_end
            ):
                grant.status = Grant.Status.EXERCISED
                grant.save(update_fields=["status"])
            events.exercise_step.send(sender=Exercise, exercise=exercise, step="recorded")
        self.refresh_from_db()
        return exercise

    def acknowledgement(self) -> Acknowledgement | None:
        """The optionee's acknowledgement of the current documents, if given."""
        return next(
            (
                a
                for a in self.acknowledgements.all()
                if a.documents_version == self.documents_version
            ),
            None,
        )

    def acknowledge(self, user) -> Acknowledgement:
        """Record that the optionee acknowledged receipt of the grant and its attachments
        and that it is the entire understanding (the statements closing the agreement):
        who, when, and which version of the documents. Acknowledging twice keeps the first."""
        if user is None or user.pk != self.optionee.user_id:
            raise ValidationError(
                "Only the optionee acknowledges receipt of the grant.", code="not_optionee"
            )
        acknowledgement, _ = Acknowledgement.objects.get_or_create(
            grant=self, documents_version=self.documents_version, defaults={"user": user}
        )
        return acknowledgement


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
            models.CheckConstraint(condition=Q(shares__gt=0), name="installment_shares_positive"),
            models.UniqueConstraint(fields=["grant", "vest_date"], name="installment_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.shares:,} on {self.vest_date:%Y-%m-%d}"


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

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="exercises")
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
        on = _require_date(on, "The date payment was received")
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
        on = _require_date(on, "The issue date")
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
        on = _require_date(on, "The cancellation date")
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


# --------------------------------------------------------------------------- notices


class Notice(models.Model):
    """A written notice between the company and an optionee (paragraph 9)."""

    class Direction(models.TextChoices):
        TO_COMPANY = "to_company", "From the optionee to the company"
        TO_OPTIONEE = "to_optionee", "From the company to the optionee"

    class Method(models.TextChoices):
        PERSONAL = "personal", "Personal delivery"
        MAIL = "mail", "U.S. mail, postage prepaid"
        EMAIL = "email", "E-mail"
        PORTAL = "portal", "Optionee portal"

    class Kind(models.TextChoices):
        EXERCISE = "exercise", "Notice of exercise"
        ADDRESS_CHANGE = "address_change", "Change of notice address"
        EXPIRY_WARNING = "expiry_warning", "Expiry warning"
        EXPIRED = "expired", "Option expired"
        GENERAL = "general", "General"

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="notices")
    optionee = models.ForeignKey(Optionee, on_delete=models.PROTECT, related_name="notices")
    grant = models.ForeignKey(
        Grant, on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    direction = models.CharField(max_length=20, choices=Direction.choices)
    method = models.CharField(max_length=20, choices=Method.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.GENERAL)
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    address = models.TextField(blank=True, help_text="Where it was sent or delivered.")
    sent_on = models.DateField(null=True, blank=True, help_text="Mailed (deposited) or sent.")
    received_on = models.DateField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    effective_on = models.DateField(null=True, blank=True, editable=False)
    about_expiration = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="For an expiry warning or expiry notice: the expiration date it is about.",
    )
    days_before = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="For an expiry warning: the offset (days before expiration) it was sent for.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(received_on__isnull=True)
                | Q(sent_on__isnull=True)
                | Q(received_on__gte=F("sent_on")),
                name="notice_received_after_sent",
            ),
            # The nightly job's idempotency, enforced by the database: one warning per
            # offset per expiration date, one expiry notice per grant and date, even when
            # two copies of the job run at once.
            models.UniqueConstraint(
                fields=["grant", "kind", "about_expiration", "days_before"],
                condition=Q(kind__in=["expiry_warning", "expired"]),
                name="expiry_notice_once",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    def save(self, *args, **kwargs):
        self.prepare()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "effective_on", "address"}
        super().save(*args, **kwargs)

    def prepare(self, address: str | None = None) -> None:
        """Set what a notice derives before it is stored (also for ``bulk_create``): the
        date it takes effect and, for a notice to the optionee, the address on file (pass
        ``address`` when it has been read already)."""
        self.effective_on = self.compute_effective_on()
        if not self.address and self.direction == self.Direction.TO_OPTIONEE:
            self.address = (
                address if address is not None else self.optionee.notice_address(self.sent_on)
            )

    def compute_effective_on(self) -> dt.date | None:
        """Paragraph 9: effective on receipt; a notice the company mails takes effect five
        days after deposit, or on receipt if that is earlier."""
        mailed = (
            self.sent_on
            if self.direction == self.Direction.TO_OPTIONEE and self.method == self.Method.MAIL
            else None
        )
        days = (
            self.grant.terms.mail_notice_days if self.grant_id else rules.Terms().mail_notice_days
        )
        return rules.notice_effective_date(
            received_on=self.received_on, mailed_on=mailed, mail_notice_days=days
        )

    def clean(self):
        """Paragraph 9: the dates a notice takes effect from must be dates the book keeps
        (a mistyped year such as 9999 would put its effective date past the calendar)."""
        errors = {}
        for name in ("sent_on", "received_on"):
            day = getattr(self, name)
            if day is not None:
                try:
                    _within_calendar(day, self._meta.get_field(name).verbose_name.capitalize())
                except ValidationError as error:
                    errors[name] = error
        if errors:
            raise ValidationError(errors)


class Acknowledgement(models.Model):
    """The optionee's acknowledgement of receipt of the grant and its attachments."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)
    documents_version = models.CharField(max_length=100)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grant", "documents_version"], name="acknowledged_once_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.grant} acknowledged {self.acknowledged_at:%Y-%m-%d}"
