"""The company and its calendar facts: business hours and holidays, closing prices,
registration suspensions (paragraphs 4 and 7) and tax-withholding rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from grants import rules
from grants.audit import AuditSource
from grants.calendars import CALENDARS, CompanyHolidays, trading_day_problem
from grants.models.dates import require_date

if TYPE_CHECKING:
    pass


def _validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(
            f"“{value}” is not a time zone name; use one such as America/Chicago.",
            code="bad_time_zone",
        )


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
    holiday_calendar = models.CharField(
        max_length=10,
        blank=True,
        default="US",
        choices=[*CALENDARS.items(), ("", "None: only the holidays listed below")],
        help_text="The public holidays the office is closed on, from a maintained calendar; "
        "add or remove a day below.",
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
    # ASC 718 expense: how the grant-date fair value is spread over the service period.
    expense_attribution = models.CharField(
        max_length=12,
        choices=[
            ("straight", "Straight-line over the whole schedule"),
            ("graded", "Graded: each installment over its own vesting period"),
        ],
        default="straight",
        help_text="ASC 718-10-35-8: how stock-compensation expense is attributed.",
    )
    forfeiture_rate = models.DecimalField(
        "estimated annual forfeiture rate",
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("0.9999"))],
        help_text="Empty: forfeitures are recognised as they occur (ASC 718-10-35-3). A rate "
        "(0.05 for 5% a year): expense is estimated net of it and trued up as shares vest or "
        "are forfeited.",
    )

    # The issuer's facts the Open Cap Format requires (docs/ocf.md); not used by the rules.
    formation_date = models.DateField(
        null=True, blank=True, help_text="The day the company was formed (incorporated)."
    )
    country_of_formation = models.CharField(
        max_length=2,
        default="US",
        validators=[
            RegexValidator(r"^[A-Z]{2}$", "Give the country as its ISO 3166-1 code, e.g. US.")
        ],
        help_text="ISO 3166-1 alpha-2 code, e.g. US.",
    )
    country_subdivision_of_formation = models.CharField(
        max_length=3,
        blank=True,
        validators=[RegexValidator(r"^[A-Z0-9]{1,3}$", "Give the state as its code, e.g. DE.")],
        help_text="The state or province of formation (its ISO 3166-2 code, e.g. DE).",
    )

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__lt=F("closes_at")),
                name="company_opens_before_closing",
                violation_error_message="Business hours must open before they close.",
            ),
            models.CheckConstraint(
                condition=Q(business_days__regex=r"^[1-7]{1,7}$"),
                name="company_business_days",
                violation_error_message=(
                    "Give the business days as ISO weekday digits, e.g. 12345 for Monday to Friday."
                ),
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
            holidays=self.holiday_list(),
        )

    def holiday_list(self) -> CompanyHolidays:
        """The days the office is closed for a holiday: the holiday calendar's, with the
        days added here and without those removed (``Holiday`` rows)."""
        added, removed = {}, set()
        for day, name, closed in self.holidays.values_list("date", "name", "closed"):
            if closed:
                added[day] = name
            else:
                removed.add(day)
        return CompanyHolidays(self.holiday_calendar, added, frozenset(removed))

    @classmethod
    def todays(cls) -> dict[dt.date, list[int]]:
        """Company ids grouped by their local today (one query): what the rules read as
        "today" for each company's grants."""
        todays: dict[dt.date, list[int]] = {}
        for company in cls.objects.only("pk", "time_zone"):
            todays.setdefault(company.today(), []).append(company.pk)
        return todays

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
        start = require_date(start, "The first day of the suspension")
        if end is not None:
            end = require_date(end, "The last day of the suspension")
            if end < start:
                raise ValidationError(
                    "The suspension cannot end before it starts.", code="suspension_order"
                )
        with transaction.atomic():
            suspension = RegistrationSuspension.objects.create(
                company=self, start=start, end=end, note=note
            )
            self.refresh_post_termination_expirations(since=start)
        return suspension

    def refresh_post_termination_expirations(self, *, since: dt.date | None = None) -> None:
        """Recompute the stored expiration of every grant whose optionee has left service:
        only a post-termination clock can be tolled (paragraph 5b(iii)). Outstanding grants,
        and, when a suspension from ``since`` is recorded late, the grants that expired on
        or after that day, which it may bring back. One prefetch for all of them."""
        from grants.models.grant import Grant
        from grants.models.people import Termination

        terminated = Termination.objects.filter(reversed_at__isnull=True).values("optionee_id")
        which = Q(status=Grant.Status.GRANTED)
        if since is not None:
            which |= Q(status=Grant.Status.EXPIRED, expires_on__gte=since)
        grants = (
            Grant.objects.select_for_update(of=("self",))
            .filter(which, plan__company=self, optionee_id__in=terminated)
            .with_facts()
        )
        for grant in grants:
            grant.refresh_expiration()


class Holiday(models.Model):
    """A change to the company's holiday calendar: a day the office is closed besides the
    calendar's holidays, or a calendar holiday on which it is open (``closed`` off)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100)
    closed = models.BooleanField(
        "office closed",
        default=True,
        help_text="Ticked: a holiday (the office is closed). Unticked: the office is open on "
        "this day although the holiday calendar lists it.",
    )

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "date"],
                name="holiday_once_a_day",
                violation_error_message="This day is already listed; change that line instead.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}" + ("" if self.closed else " (office open)")


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
                condition=Q(rate__gte=0) & Q(rate__lte=1),
                name="withholding_rate_fraction",
                violation_error_message=(
                    "A withholding rate is a fraction from 0 to 1: 0.2200 is 22%."
                ),
            ),
            models.UniqueConstraint(
                fields=["company", "name"],
                name="withholding_rate_once",
                violation_error_message=(
                    "A withholding rate of this name is already recorded; change that one."
                ),
            ),
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
                violation_error_message="The suspension cannot end before it starts.",
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
        end = require_date(end, "The last day of the suspension")
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
            models.UniqueConstraint(
                fields=["company", "date"],
                name="closing_price_once_a_day",
                violation_error_message=(
                    "A closing price of this day is already recorded; change that one."
                ),
            ),
            models.CheckConstraint(
                condition=Q(price__gt=0),
                name="closing_price_positive",
                violation_error_message="A closing price must be above zero.",
            ),
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
        closed = trading_day_problem(self.date)
        if closed:
            raise ValidationError(
                {
                    "date": ValidationError(
                        f"{closed}, so there is no closing price.", code="not_trading"
                    )
                }
            )

    def used_by(self) -> list:
        """The exercises whose fair market value (paragraph 6b) this price is: those dated
        on or after it with no later price before their date."""
        from grants.models.exercises import Exercise

        later = (
            ClosingPrice.objects.filter(company=self.company_id, date__gt=self.date)
            .order_by("date")
            .values_list("date", flat=True)
            .first()
        )
        exercises = Exercise.objects.filter(
            grant__plan__company=self.company_id, exercise_date__gte=self.date
        ).exclude(status__in=[Exercise.Status.CANCELLED, Exercise.Status.LAPSED])
        if later is not None:
            exercises = exercises.filter(exercise_date__lt=later)
        return list(exercises.select_related("grant")[:10])

    def delete(self, *args, **kwargs):
        """A price an exercise used as its fair market value stays in the book: the tax
        figures of that exercise were computed from it."""
        used = self.used_by()
        if used:
            raise ValidationError(
                f"The closing price of {self.date:%Y-%m-%d} is the fair market value of "
                f"{len(used)} exercise(s) (first: {used[0]}); it cannot be deleted. Record a "
                f"corrected price instead.",
                code="price_in_use",
            )
        return super().delete(*args, **kwargs)
