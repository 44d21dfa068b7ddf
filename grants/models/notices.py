"""Written notices between the company and an optionee (paragraph 9), and the optionee's
acknowledgement of the grant and its attachments."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from grants import rules
from grants.audit import AuditSource
from grants.models.company import Company
from grants.models.dates import require_date, within_calendar


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
        REINSTATED = "reinstated", "Option exercisable again"
        FORFEITED = "forfeited", "Option forfeited"
        GENERAL = "general", "General"

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="notices")
    optionee = models.ForeignKey("Optionee", on_delete=models.PROTECT, related_name="notices")
    grant = models.ForeignKey(
        "Grant", on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    direction = models.CharField(max_length=20, choices=Direction.choices)
    method = models.CharField(max_length=20, choices=Method.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.GENERAL)
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    address = models.TextField(blank=True, help_text="Where it was sent or delivered.")
    sent_on = models.DateField(
        null=True,
        blank=True,
        help_text="Mailed (deposited) or sent. Empty for a letter still to be printed and mailed.",
    )
    mail_by = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="For a letter the company must mail: the day to deposit it by, so that it "
        "takes effect in time.",
    )
    emailed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="For a notice by e-mail: when the mail server took it (it is received then).",
    )
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
    submission_key = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="Set by the form that submitted it, so a repeated submission is not a "
        "second notice.",
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
                violation_error_message="A notice cannot be received before it was sent.",
            ),
            # The nightly job's idempotency, enforced by the database: one warning per
            # offset per expiration date, one expiry notice per grant and date, even when
            # two copies of the job run at once.
            models.UniqueConstraint(
                fields=["grant", "kind", "about_expiration", "days_before"],
                condition=Q(kind__in=["expiry_warning", "expired"]),
                name="expiry_notice_once",
                violation_error_message="This expiry notice was already given.",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

    def save(self, *args, **kwargs):
        self.prepare()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "effective_on", "address"}
        super().save(*args, **kwargs)

    @classmethod
    def to_optionee(
        cls,
        grant,
        *,
        kind: str,
        subject: str,
        body: str,
        sent_on: dt.date,
        about_expiration: dt.date | None = None,
        days_before: int | None = None,
    ) -> Notice:
        """A written notice to the optionee of ``grant`` (paragraph 9), not yet saved: by
        e-mail when an address is on file, sent on ``sent_on`` through the outbox and
        received (effective) when the mail server takes it; otherwise a letter to the
        notice address, to be mailed by ``sent_on``, left in the administrator's letters to
        print (effective after the mailing delay once it is marked mailed)."""
        optionee = grant.optionee
        emailed = bool(optionee.email_address)
        return cls(
            company=grant.company,
            optionee=optionee,
            grant=grant,
            direction=cls.Direction.TO_OPTIONEE,
            method=cls.Method.EMAIL if emailed else cls.Method.MAIL,
            kind=kind,
            subject=subject,
            body=body,
            sent_on=sent_on if emailed else None,
            mail_by=None if emailed else sent_on,
            about_expiration=about_expiration,
            days_before=days_before,
        )

    @property
    def to_print(self) -> bool:
        """A letter the company must still print and mail."""
        return (
            self.direction == self.Direction.TO_OPTIONEE
            and self.method == self.Method.MAIL
            and self.sent_on is None
        )

    def mark_mailed(self, on: dt.date) -> None:
        """Record that the letter was deposited in the mail, postage prepaid, on ``on``: it
        takes effect after the mailing delay (paragraph 9)."""
        on = require_date(on, "The date the letter was mailed")
        if not self.to_print:
            raise ValidationError(
                "Only a letter to the optionee that is not yet mailed can be marked mailed.",
                code="not_a_letter_to_mail",
            )
        today = self.company.today()
        if on > today:
            raise ValidationError(
                f"The letter cannot have been mailed after today ({today:%Y-%m-%d}).",
                code="after_today",
            )
        self.sent_on = on
        self.save(update_fields=["sent_on"])

    @classmethod
    def email_delivered(cls, pk: int, at: dt.datetime) -> None:
        """The mail server took the e-mail that delivers notice ``pk`` at ``at``: the notice
        is received then (paragraph 9), on the company's date."""
        notice = cls.objects.select_related("company").filter(pk=pk).first()
        if notice is None:
            return
        notice.emailed_at = at
        fields = ["emailed_at"]
        if notice.received_on is None:
            notice.received_on = at.astimezone(ZoneInfo(notice.company.time_zone)).date()
            fields.append("received_on")
        notice.save(update_fields=fields)

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
        return rules.notice_effective_date(
            received_on=self.received_on, mailed_on=mailed, mail_notice_days=self.mail_notice_days()
        )

    def mail_notice_days(self) -> int:
        """How long after deposit a mailed notice takes effect: the grant's agreement form
        (five days for the seed). A notice about no one grant (an exercise hold, a change of
        address) takes the longest delay among the forms of the optionee's grants, so it
        counts no earlier than any of their agreements allows; the seed form's when there
        is none."""
        if self.grant_id:
            return self.grant.terms.mail_notice_days
        days = None
        if self.optionee_id:
            days = self.optionee.grants.aggregate(days=models.Max("terms__mail_notice_days"))[
                "days"
            ]
        return rules.Terms().mail_notice_days if days is None else days

    def clean(self):
        """Paragraph 9: the dates a notice takes effect from must be dates the book keeps
        (a mistyped year such as 9999 would put its effective date past the calendar)."""
        errors = {}
        for name in ("sent_on", "received_on"):
            day = getattr(self, name)
            if day is not None:
                try:
                    within_calendar(day, self._meta.get_field(name).verbose_name.capitalize())
                except ValidationError as error:
                    errors[name] = error
        if errors:
            raise ValidationError(errors)


class Acknowledgement(models.Model):
    """The optionee's acknowledgement of receipt of the grant and its attachments."""

    grant = models.ForeignKey("Grant", on_delete=models.PROTECT, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)
    documents_version = models.CharField(max_length=100)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grant", "documents_version"],
                name="acknowledged_once_per_version",
                violation_error_message="These documents were already acknowledged.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.grant} acknowledged {self.acknowledged_at:%Y-%m-%d}"


class AcknowledgementVerbs:
    """The optionee's acknowledgement of a grant's documents, part of ``Grant``."""

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
