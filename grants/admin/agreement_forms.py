"""Agreement forms in the back office: every window of a form on one screen, a new form that
starts empty, and a form in use by grants that cannot change under them.

A form that grants were made under is read-only here: its agreements are signed, and a
change could move their dates silently. New terms are a new form (here, or
``import_terms``). ``import_terms`` alone accepts one change to a form in use: a corrected
agreement text with the same terms, which moves nothing (``grants.agreement_forms.save``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.html import format_html, format_html_join

from grants import rules
from grants.admin.base import HistoryAdmin
from grants.models import GrantTerms

PERIOD_TYPES = [(unit, unit.lower()) for unit in rules.PERIOD_TYPES]
VESTING = [
    (rules.STOP, "vesting stops"),
    (rules.ACCELERATE_ALL, "every unvested share vests"),
]
PAYMENTS = [
    (rules.PAYMENT_CASH, "Cash"),
    (rules.PAYMENT_CHECK, "Check"),
    (rules.PAYMENT_REG_T, "Regulation T broker-assisted program"),
    (rules.PAYMENT_NET, "Net exercise (shares withheld to pay the price)"),
]
WINDOW_FIELDS = ("period", "period_type", "vesting", "tolling", "section16")


class AgreementFormForm(forms.ModelForm):
    """The form's terms, the seven windows as a table of fields (``window_rows``)."""

    payment_methods = forms.MultipleChoiceField(
        choices=PAYMENTS, widget=forms.CheckboxSelectMultiple, label="Payment methods"
    )

    class Meta:
        model = GrantTerms
        fields = [
            "name",
            "minimum_exercise",
            "small_installment_exception",
            "final_exercise_exception",
            "section16_days_after_liability",
            "section16_cap_months",
            "section16_cap_days",
            "payment_methods",
            "mail_notice_days",
            "agreement_text",
        ]
        labels = {
            "section16_days_after_liability": "Section 16(b): days after the last liability day",
            "section16_cap_months": "Section 16(b): at most months after termination",
            "section16_cap_days": "… and days",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        existing = {row["reason"]: row for row in (self.instance.windows or [])}
        for reason in rules.TERMINATION_REASONS:
            row = existing.get(reason, {})
            prefix = f"window_{reason}"
            self.fields[f"{prefix}_period"] = forms.IntegerField(
                min_value=0, initial=row.get("period"), label="period"
            )
            self.fields[f"{prefix}_period_type"] = forms.ChoiceField(
                choices=[("", "—"), *PERIOD_TYPES], initial=row.get("period_type"), label="unit"
            )
            self.fields[f"{prefix}_vesting"] = forms.ChoiceField(
                choices=VESTING, initial=row.get("vesting", rules.STOP), label="vesting"
            )
            self.fields[f"{prefix}_tolling"] = forms.BooleanField(
                required=False, initial=row.get("tolling", False), label="tolled"
            )
            self.fields[f"{prefix}_section16"] = forms.BooleanField(
                required=False, initial=row.get("section16", False), label="Section 16(b)"
            )
        if self.instance.pk:
            self.initial["payment_methods"] = self.instance.payment_methods

    def window_rows(self) -> list[tuple[str, list]]:
        """For the template: each reason with its five fields."""
        return [
            (
                rules.REASON_LABELS[reason].capitalize(),
                [self[f"window_{reason}_{name}"] for name in WINDOW_FIELDS],
            )
            for reason in rules.TERMINATION_REASONS
        ]

    def clean(self):
        cleaned = super().clean()
        windows = []
        for reason in rules.TERMINATION_REASONS:
            prefix = f"window_{reason}"
            period, unit = cleaned.get(f"{prefix}_period"), cleaned.get(f"{prefix}_period_type")
            if period is None or not unit:
                self.add_error(
                    f"{prefix}_period" if period is None else f"{prefix}_period_type",
                    f"State the window after {rules.REASON_LABELS[reason]}: every form states "
                    f"all seven.",
                )
                continue
            windows.append(
                {
                    "reason": reason,
                    "period": period,
                    "period_type": unit,
                    "vesting": cleaned.get(f"{prefix}_vesting") or rules.STOP,
                    "tolling": bool(cleaned.get(f"{prefix}_tolling")),
                    "section16": bool(cleaned.get(f"{prefix}_section16")),
                }
            )
        if any(w["section16"] for w in windows):
            for name in (
                "section16_days_after_liability",
                "section16_cap_months",
                "section16_cap_days",
            ):
                if cleaned.get(name) is None:
                    self.add_error(name, "Needed: a window above has the Section 16(b) extension.")
        self.instance.windows = windows
        return cleaned

    def clean_payment_methods(self):
        return list(self.cleaned_data["payment_methods"])


@admin.register(GrantTerms)
class GrantTermsAdmin(HistoryAdmin):
    """Agreement forms. Every window of a form on one screen; a new form starts empty; a
    form that grants were made under is read-only (its agreements are signed): add a new
    form for new terms."""

    form = AgreementFormForm
    list_display = ["name", "minimum_exercise", "windows_in_words", "grants_using"]
    search_fields = ["name"]
    change_form_template = "admin/grants/grantterms/change_form.html"
    readonly_when_used = ["windows_in_words", "payment_methods_in_words"]

    def get_queryset(self, request):
        # The count the database keeps (TermsUsage): counting a million grants took
        # 110 ms a page.
        return super().get_queryset(request).annotate(grant_count=Coalesce(F("usage__grants"), 0))

    def get_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return [
                "name",
                "minimum_exercise",
                "small_installment_exception",
                "final_exercise_exception",
                "windows_in_words",
                "section16_days_after_liability",
                "section16_cap_months",
                "section16_cap_days",
                "payment_methods_in_words",
                "mail_notice_days",
                "agreement_text",
            ]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return self.get_fields(request, obj)
        return ["windows_in_words"] if obj is not None else []

    @admin.display(description="grants", ordering="grant_count")
    def grants_using(self, terms: GrantTerms) -> int:
        return terms.grant_count

    @admin.display(description="windows after termination")
    def windows_in_words(self, terms: GrantTerms):
        rows = []
        for window in terms.as_rules().windows:
            extras = [
                "every unvested share vests" if window.vesting == rules.ACCELERATE_ALL else "",
                "tolled during a registration suspension" if window.tolling else "",
                "Section 16(b) extension" if window.section16 else "",
            ]
            rows.append((window.label, "; ".join(e for e in extras if e)))
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} {}</li>", rows))

    @admin.display(description="payment methods")
    def payment_methods_in_words(self, terms: GrantTerms) -> str:
        words = dict(PAYMENTS)
        return ", ".join(words[m] for m in terms.payment_methods)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.grants.exists():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.grants.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form

        class UnusedFormOnly(form):
            def clean(self):
                """A form saved while a grant is made under it: the row is locked (the admin
                saves in a transaction), so a grant made since the page opened has been
                committed and is seen here, and one made after waits for this save
                (``granting.create_many`` locks the forms it uses)."""
                cleaned = super().clean()
                GrantTerms.objects.select_for_update().filter(pk=self.instance.pk).exists()
                if self.instance.grants.exists():
                    raise ValidationError(
                        "Grants were made under this form after you opened it, so its terms "
                        "are now part of their agreements and cannot change. Add a new form "
                        "for new terms.",
                        code="form_in_use",
                    )
                return cleaned

        return UnusedFormOnly
