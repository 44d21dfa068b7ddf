"""The people of the book: optionees with their notice addresses, successors after death
(paragraph 7), terminations of service (paragraph 5b) and Section 16(b) liability windows."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from grants import events, rules
from grants.audit import AuditSource
from grants.models.company import Company
from grants.models.dates import require_date
from grants.models.notices import Notice
from grants.validators import validate_identifier

if TYPE_CHECKING:
    from grants.models.grant import Grant


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
    employee_id = models.CharField(max_length=50, blank=True, validators=[validate_identifier])
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
        indexes = [
            models.Index(fields=["legal_name", "-id"], name="optionee_by_name"),
            # The list filtered by role, or to Section 16 insiders, in the same order: a
            # role few optionees hold is found from these, not by reading all 500,000
            # (25 ms for the officers of a book of employees).
            models.Index(
                fields=["relationship", "legal_name", "-id"], name="optionee_role_by_name"
            ),
            models.Index(
                fields=["legal_name", "-id"],
                condition=Q(is_section16_insider=True),
                name="optionee_insiders_by_name",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "employee_id"],
                condition=~Q(employee_id=""),
                name="optionee_employee_id_once",
                violation_error_message=(
                    "Another optionee of this company has this employee id; check the id."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.legal_name

    def save(self, *args, **kwargs):
        """Saved as usual; when the way written notices reach the optionee changes (an
        e-mail address added or removed), the nightly job's warning days of their
        outstanding grants follow, since a warning by mail goes earlier (paragraph 9)."""
        fields = kwargs.get("update_fields")
        watched = self.pk is not None and (fields is None or {"email", "user"} & set(fields))
        before = Optionee.objects.filter(pk=self.pk).first() if watched else None
        super().save(*args, **kwargs)
        if before is not None and bool(before.email_address) != bool(self.email_address):
            self.refresh_warning_days()

    # -- reading

    @property
    def email_address(self) -> str:
        """Where e-mail to the optionee goes: the address on file, else the portal
        account's; empty when there is neither (then notices go by mail)."""
        return self.email or (self.user.email if self.user else "")

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

    def hold_periods(self) -> list[rules.Period]:
        return [rules.Period(h.start, h.end) for h in self.holds.all()]

    # -- verbs

    def open_portal_account(self):
        """Give the optionee a portal account (paragraph 7: they see only their own grants),
        with no password until they set one from the invitation's link; returns the user.
        Refused without an e-mail address or when an account is already linked."""
        from django.contrib.auth import get_user_model

        if self.user_id is not None:
            raise ValidationError(
                f"{self.legal_name} already has a portal account ({self.user}).",
                code="has_account",
            )
        if not self.email:
            raise ValidationError(
                f"Record {self.legal_name}'s e-mail address first: the invitation goes there.",
                code="no_email",
            )
        users = get_user_model()
        base = self.email.split("@")[0][:140] or f"optionee{self.pk}"
        username, n = base, 1
        while users.objects.filter(username__iexact=username).exists():
            n += 1
            username = f"{base}{n}"
        with transaction.atomic():
            user = users(username=username, email=self.email)
            user.set_unusable_password()
            user.save()
            self.user = user
            self.save(update_fields=["user"])
        return user

    def hold_exercise(
        self, start: dt.date, end: dt.date | None = None, why: str = ""
    ) -> ExerciseHold:
        """Hold the optionee's exercises from ``start`` (through ``end``, or until lifted):
        no exercise of any of their grants on a day inside the hold (a pending for-cause
        determination, say). It extends no window. The optionee is told in writing."""
        start = require_date(start, "The first day of the hold")
        if end is not None:
            end = require_date(end, "The last day of the hold")
            if end < start:
                raise ValidationError("The hold cannot end before it starts.", code="hold_order")
        why = (why or "").strip()
        if not why:
            raise ValidationError("Say why the exercises are held.", code="no_reason")
        with transaction.atomic():
            hold = ExerciseHold.objects.create(optionee=self, start=start, end=end, reason=why)
            until = f"through {end:%B %-d, %Y}" if end else "until the company lifts it"
            notice = _tell(
                self,
                "Your option exercises are on hold",
                f"The company holds the exercise of your options from {start:%B %-d, %Y} "
                f"{until} ({why}). No notice of exercise can be accepted on those days. "
                f"The hold does not extend the last day of any option.",
            )
            hold.notice = notice
            hold.save(update_fields=["notice"])
        return hold

    def refresh_warning_days(self) -> None:
        """Recompute the next nightly action of the optionee's outstanding grants, after
        the way notices reach them changed (``Grant.warning_lead_days``)."""
        with transaction.atomic():
            for grant in self.grants.select_for_update().filter(status="granted"):
                grant.refresh_expiration()

    @staticmethod
    def portal_account_saved(sender, instance, update_fields=None, **kwargs) -> None:
        """A portal account's e-mail may be where an optionee's notices go: when it is saved,
        the warning days of the optionees without an address of their own follow."""
        if update_fields is not None and "email" not in update_fields:
            return
        for optionee in Optionee.objects.filter(user=instance, email=""):
            optionee.refresh_warning_days()

    def _check_termination(
        self, on: object, reason: str, grants: list[Grant]
    ) -> tuple[dt.date, str]:
        """The checks a termination must pass before it is recorded or previewed; returns
        the date and the reason as one of OCF's seven."""
        on = require_date(on, "The termination date")
        reason = rules.termination_reason(reason)
        standing = self.active_termination()
        if standing is not None:
            raise ValidationError(
                f"{self.legal_name}'s service already ended on {standing.on:%Y-%m-%d}. "
                f"To correct it, reverse that termination first.",
                code="already_terminated",
            )
        rules.check_service_end(  # a grant cancelled as recorded in error was never made
            on, [(g.number, g.grant_date) for g in grants if g.status != g.Status.CANCELLED]
        )
        return on, reason

    def preview_termination(self, on: dt.date, reason: str) -> list[TerminationEffect]:
        """What a termination on ``on`` would do to each grant, before it is recorded:
        shares vested at termination, forfeited, and the new expiration with its clause."""
        grants = list(self.grants.with_facts())
        on, reason = self._check_termination(on, reason, grants)
        hypothetical = rules.Termination(on, reason)
        effects = []
        for grant in grants:
            facts = dataclasses.replace(grant.facts(), termination=hypothetical)
            accelerated = grant.terms.as_rules().accelerates(hypothetical)
            effects.append(
                TerminationEffect(
                    grant=grant,
                    vested=rules.vested_shares(facts.installments, on, on, accelerated),
                    exercised=facts.exercised,
                    forfeited=rules.forfeited_shares(facts.installments, on, accelerated),
                    expires_before=grant.expiration(),
                    expires=grant.expiration(facts=facts),
                )
            )
        return effects

    def terminate(
        self, on: dt.date, reason: str = rules.REASON_OTHER, *, note: str = ""
    ) -> Termination:
        """Record the end of continuous service (seed paragraph 5b).

        ``reason`` is one of OCF's seven termination reasons (``rules.TERMINATION_REASONS``;
        "other", "disability" and "death" are read as the involuntary ones); for a death,
        ``on`` is the date of death. Vesting stops on ``on`` and unvested shares are
        forfeited on it (5c), unless the grant's agreement form accelerates vesting for the
        reason; every grant's expiration date is recomputed from its form's window. A
        second termination while one stands is refused: reverse the first
        (``Termination.reverse``) to correct it.
        """
        with transaction.atomic():
            # FOR NO KEY UPDATE: an exercise holding a grant's lock inserts its notice, which
            # takes a key-share lock on the optionee; FOR UPDATE here would deadlock with it.
            optionee = Optionee.objects.select_for_update(no_key=True).get(pk=self.pk)
            grants = list(optionee.grants.select_for_update())
            on, reason = optionee._check_termination(on, reason, grants)
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
        on = require_date(on, "The date of death")
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
        start = require_date(start, "The first day of liability")
        end = require_date(end, "The last day of liability")
        if end < start:
            raise ValidationError(
                "The liability window cannot end before it starts.", code="window_order"
            )
        with transaction.atomic():
            window = Section16Window.objects.create(optionee=self, start=start, end=end)
            for grant in self.grants.select_for_update():
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
        received_on = require_date(received_on, "The date the notice was received")
        today = self.company.today()
        if received_on > today:
            raise ValidationError(
                f"The notice cannot have been received after today ({today:%Y-%m-%d}).",
                code="after_today",
            )
        with transaction.atomic():
            # Serialize notices of one optionee, so two copies of one submission see each other.
            Optionee.objects.select_for_update(no_key=True).filter(pk=self.pk).exists()
            # The latest change of that day: the same address again is a repeat of it (A, B,
            # then A again is a change back to A, recorded).
            latest = (
                Notice.objects.filter(
                    optionee=self, kind=Notice.Kind.ADDRESS_CHANGE, received_on=received_on
                )
                .order_by("-pk")
                .first()
            )
            if latest is not None and latest.body == address:
                return latest
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
        # The Open Cap Format's ``TerminationWindowType``.
        VOLUNTARY_OTHER = rules.VOLUNTARY_OTHER, "Voluntary: other reason, or none"
        VOLUNTARY_GOOD_CAUSE = rules.VOLUNTARY_GOOD_CAUSE, "Voluntary: for good cause"
        VOLUNTARY_RETIREMENT = rules.VOLUNTARY_RETIREMENT, "Voluntary: retirement"
        INVOLUNTARY_OTHER = rules.INVOLUNTARY_OTHER, "Involuntary: other reason, or none"
        INVOLUNTARY_DEATH = rules.INVOLUNTARY_DEATH, "Death"
        INVOLUNTARY_DISABILITY = rules.INVOLUNTARY_DISABILITY, "Permanent and total disability"
        INVOLUNTARY_WITH_CAUSE = rules.INVOLUNTARY_WITH_CAUSE, "Involuntary: for cause"

    optionee = models.ForeignKey(Optionee, on_delete=models.PROTECT, related_name="terminations")
    on = models.DateField("termination date")
    reason = models.CharField(max_length=30, choices=Reason.choices)
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
                violation_error_message=(
                    "This optionee's service already ended; reverse that termination first to "
                    "correct it."
                ),
            ),
            models.CheckConstraint(
                # date_of_death IS NOT NULL too: a NULL comparison would pass the check.
                condition=~Q(reason=rules.REASON_DEATH)
                | Q(date_of_death__isnull=False, date_of_death=F("on")),
                name="death_termination_on_date_of_death",
                violation_error_message="A termination for death is dated on the date of death.",
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
        from grants.models.grant import Grant

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


class TerminationWindow(models.Model):
    """The last day on which a termination's optionee can still exercise something: the
    latest effective expiration date among their outstanding grants (None when none is
    outstanding). Kept by the database's triggers on grants and terminations
    (``grants/usage_triggers.py``, migration 0024), like ``PlanUsage``: the dashboard lists
    the terminations still inside their window from it by an index, instead of asking
    every termination's grants (37 ms over 20,000 terminations); ``check_books``
    compares it with the grants."""

    termination = models.OneToOneField(
        Termination,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        related_name="window",
        db_constraint=False,
    )
    last_day = models.DateField(null=True)

    class Meta:
        managed = False
        db_table = "grants_terminationwindow"

    def __str__(self) -> str:
        return f"{self.termination_id}: {self.last_day}"


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
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="window_ends_after_start",
                violation_error_message="The liability window cannot end before it starts.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.optionee}: {self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


class ExerciseHold(models.Model):
    """Days on which the company holds an optionee's exercises (a pending for-cause
    determination, say): no exercise of any of their grants on a day inside it. It extends
    no window (DOMAIN.md)."""

    optionee = models.ForeignKey(Optionee, on_delete=models.CASCADE, related_name="holds")
    start = models.DateField()
    end = models.DateField(null=True, blank=True, help_text="Empty while it lasts.")
    reason = models.CharField(max_length=300)
    notice = models.OneToOneField(
        "Notice", on_delete=models.PROTECT, null=True, blank=True, related_name="hold"
    )

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        ordering = ["start"]
        verbose_name = "exercise hold"
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="hold_ends_after_start",
                violation_error_message="The hold cannot end before it starts.",
            )
        ]

    def __str__(self) -> str:
        until = f"{self.end:%Y-%m-%d}" if self.end else "(open)"
        return f"{self.optionee}: held {self.start:%Y-%m-%d} – {until}"

    def end_on(self, end: dt.date) -> None:
        """Lift the hold: ``end`` is its last day. The optionee is told in writing."""
        end = require_date(end, "The last day of the hold")
        if end < self.start:
            raise ValidationError(
                f"The hold started on {self.start:%Y-%m-%d}; its last day cannot be before.",
                code="hold_order",
            )
        with transaction.atomic():
            self.end = end
            self.save(update_fields=["end"])
            _tell(
                self.optionee,
                "The hold on your option exercises is lifted",
                f"The hold on the exercise of your options that began on "
                f"{self.start:%B %-d, %Y} ends with {end:%B %-d, %Y}. From the next day "
                f"your notices of exercise are accepted again, within each option's terms.",
            )


def _tell(optionee: Optionee, subject: str, body: str) -> Notice:
    """A general notice to the optionee about their exercises: e-mailed today when they
    have an address, else a letter to mail today. Call inside the verb's transaction."""
    today = optionee.company.today()
    e_mail = bool(optionee.email_address)
    notice = Notice.objects.create(
        company=optionee.company,
        optionee=optionee,
        direction=Notice.Direction.TO_OPTIONEE,
        method=Notice.Method.EMAIL if e_mail else Notice.Method.MAIL,
        kind=Notice.Kind.GENERAL,
        subject=subject,
        body=body,
        sent_on=today if e_mail else None,
        mail_by=None if e_mail else today,
    )
    events.notices_given.send(sender=Notice, notices=[notice])
    return notice
