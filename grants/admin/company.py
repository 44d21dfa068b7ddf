"""The company facts the rules read: registration suspensions, Section 16(b) liability
windows and closing prices.

A suspension or a liability window moves the stored expiration date of grants, so each is
recorded only through its verb (``Company.suspend_registration``,
``RegistrationSuspension.end_on``, ``Optionee.record_section16_liability``), which
recomputes those dates; the rows are never edited or deleted by hand. Closing prices are
plain facts: edited by hand, or uploaded as a CSV file that is checked row by row
(``grants.prices``) and imported all or nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from grants.admin.base import (
    AutocompleteSelect,
    HistoryAdmin,
    form_error,
    render_admin_form,
    user_may,
)
from grants.models import (
    ClosingPrice,
    Company,
    Holiday,
    Optionee,
    RegistrationSuspension,
    Section16Window,
    WithholdingRate,
)
from grants.prices import MAX_BYTES, import_closing_prices, parse_closing_prices

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
FACT_FORM = "admin/grants/fact_form.html"


class VerbOnlyAdmin(HistoryAdmin):
    """Rows that only a verb writes: added through ``add_view``, which calls the verb, then
    read with their history; never changed or deleted by hand.

    A subclass sets ``add_intro`` (what the row means) and defines ``add_form(request)``
    and ``record(request, form)``, which calls the verb and returns the row it wrote.
    """

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = self.add_form(request)
        if request.method == "POST" and form.is_valid():
            try:
                row = self.record(request, form)
            except ValidationError as error:
                form_error(form, error)
            else:
                self.log_addition(request, row, [{"added": {}}])
                self.message_user(
                    request, f"Recorded the {self.opts.verbose_name} {row}.", messages.SUCCESS
                )
                return redirect(f"admin:grants_{self.opts.model_name}_changelist")
        return render_admin_form(
            request,
            self,
            title=f"Record a {self.opts.verbose_name}",
            form=form,
            template=FACT_FORM,
            submit_label="Record",
            intro=self.add_intro,
        )


# --------------------------------------------------------------------------- suspensions


class SuspensionForm(forms.Form):
    company = forms.ModelChoiceField(queryset=Company.objects.all())
    start = forms.DateField(label="First suspended day", widget=DATE_INPUT)
    end = forms.DateField(
        label="Last suspended day",
        required=False,
        widget=DATE_INPUT,
        help_text="Leave it empty while the suspension lasts; end it later with “End”.",
    )
    note = forms.CharField(
        max_length=300, required=False, help_text="e.g. Form S-8 not effective; 10-K late."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        companies = list(Company.objects.all()[:2])
        if len(companies) == 1:
            self.initial.setdefault("company", companies[0].pk)


class EndSuspensionForm(forms.Form):
    end = forms.DateField(label="Last suspended day", widget=DATE_INPUT)


class OpenSuspensionFilter(admin.SimpleListFilter):
    title = "still suspended"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open (no end date)"), ("no", "Ended")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(end__isnull=True)
        if self.value() == "no":
            return queryset.filter(end__isnull=False)
        return queryset


@admin.register(RegistrationSuspension)
class RegistrationSuspensionAdmin(VerbOnlyAdmin):
    list_display = ["company", "start", "end", "note", "end_action"]
    list_filter = [OpenSuspensionFilter, "company"]
    list_select_related = ["company"]
    readonly_fields = ["company", "start", "end", "note", "end_action"]
    date_hierarchy = "start"
    add_intro = (
        "Days on which the plan shares are not registered and no exemption applies "
        "(paragraphs 4 and 7): no exercise is accepted on them, and a terminated "
        "optionee's post-termination period is extended by them (paragraph 5b(iii)). "
        "Recording one recomputes the expiration dates it moves."
    )

    @admin.display(description="to end it")
    def end_action(self, suspension: RegistrationSuspension) -> str:
        if suspension.end is not None:
            return "ended"
        url = reverse("admin:grants_registrationsuspension_end", args=[suspension.pk])
        return format_html('<a class="button" href="{}">End suspension</a>', url)

    def add_form(self, request):
        return SuspensionForm(request.POST or None)

    def record(self, request, form):
        data = form.cleaned_data
        return data["company"].suspend_registration(data["start"], data["end"], note=data["note"])

    def get_urls(self):
        return [
            path(
                "<path:object_id>/end/",
                self.admin_site.admin_view(self.end_view),
                name="grants_registrationsuspension_end",
            ),
            *super().get_urls(),
        ]

    def end_view(self, request, object_id):
        """End an open suspension on its last suspended day (``RegistrationSuspension.end_on``)."""
        if not user_may(request, "change", RegistrationSuspension):
            raise PermissionDenied
        suspension = self.get_object(request, unquote(object_id))
        if suspension is None:
            raise Http404("No registration suspension with this id.")
        if suspension.end is not None:
            self.message_user(
                request, f"This suspension already ended on {suspension.end:%Y-%m-%d}.", "error"
            )
            return redirect("admin:grants_registrationsuspension_changelist")
        form = EndSuspensionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                suspension.end_on(form.cleaned_data["end"])
            except ValidationError as error:
                form_error(form, error)
            else:
                self.log_change(request, suspension, [{"changed": {"fields": ["end"]}}])
                self.message_user(
                    request,
                    f"Registration suspension {suspension} ended; the expiration dates it "
                    f"moved are recomputed.",
                    messages.SUCCESS,
                )
                return redirect("admin:grants_registrationsuspension_changelist")
        return render_admin_form(
            request,
            self,
            title=f"End the registration suspension from {suspension.start:%Y-%m-%d}",
            form=form,
            template=FACT_FORM,
            submit_label="End suspension",
            intro=f"{suspension.company}: {suspension.note or 'no note'}.",
        )


# --------------------------------------------------------------------------- section 16(b)


class LiabilityWindowForm(forms.Form):
    start = forms.DateField(label="First day of liability", widget=DATE_INPUT)
    end = forms.DateField(label="Last day of liability", widget=DATE_INPUT)

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # Searched as the person types: a select of every optionee would not scale.
        self.fields = {
            "optionee": forms.ModelChoiceField(
                queryset=Optionee.objects.all(),
                widget=AutocompleteSelect(Section16Window._meta.get_field("optionee"), admin_site),
            ),
            **self.fields,
        }


@admin.register(Section16Window)
class Section16WindowAdmin(VerbOnlyAdmin):
    list_display = ["optionee", "start", "end", "insider"]
    list_filter = ["optionee__is_section16_insider"]
    list_select_related = ["optionee"]
    search_fields = ["optionee__legal_name", "optionee__employee_id"]
    readonly_fields = ["optionee", "start", "end"]
    add_intro = (
        "Days on which an exercise by this optionee would give rise to short-swing profit "
        "liability under Section 16(b). If such a day falls in the period after "
        "termination, the option lasts until the 10th day after the last one, at most "
        "6 months and 10 days after termination (paragraph 5b(iv)). Recording one "
        "recomputes the optionee's expiration dates."
    )

    @admin.display(description="Section 16 insider", boolean=True)
    def insider(self, window: Section16Window) -> bool:
        return window.optionee.is_section16_insider

    def add_form(self, request):
        return LiabilityWindowForm(request.POST or None, admin_site=self.admin_site)

    def record(self, request, form):
        data = form.cleaned_data
        return data["optionee"].record_section16_liability(data["start"], data["end"])


# --------------------------------------------------------------------------- closing prices


class ClosingPriceForm(forms.ModelForm):
    class Meta:
        model = ClosingPrice
        fields = ["company", "date", "price"]

    def clean_price(self):
        price = self.cleaned_data["price"]
        if price is not None and price <= 0:
            raise ValidationError("The closing price must be more than zero.")
        return price


class PriceUploadForm(forms.Form):
    company = forms.ModelChoiceField(queryset=Company.objects.all())
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 text, at most {MAX_BYTES // 1024 // 1024} MB.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        companies = list(Company.objects.all()[:2])
        if len(companies) == 1:
            self.initial.setdefault("company", companies[0].pk)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is "
                f"{MAX_BYTES // 1024 // 1024} MB. Split it into smaller files."
            )
        return upload


@admin.register(ClosingPrice)
class ClosingPriceAdmin(HistoryAdmin):
    form = ClosingPriceForm
    list_display = ["date", "price", "company"]
    list_filter = [("date", admin.DateFieldListFilter), "company"]
    list_select_related = ["company"]
    date_hierarchy = "date"

    def get_urls(self):
        return [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="grants_closingprice_upload",
            ),
            *super().get_urls(),
        ]

    def delete_view(self, request, object_id, extra_context=None):
        """A price an exercise used as its fair market value cannot be deleted: say so
        instead of offering to."""
        price = self.get_object(request, unquote(object_id))
        allowed = price is not None and self.has_delete_permission(request, price)
        used = price.used_by() if allowed else []
        if used:
            self.message_user(
                request,
                f"The closing price of {price.date:%Y-%m-%d} is the fair market value of an "
                f"exercise ({used[0]}); it cannot be deleted. Change it instead, if it is wrong.",
                messages.ERROR,
            )
            return redirect(reverse("admin:grants_closingprice_change", args=[price.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request, queryset):
        """Deleted one by one, each through ``ClosingPrice.delete``, all or none."""
        with transaction.atomic():
            for price in queryset:
                price.delete()

    def response_action(self, request, queryset):
        try:
            return super().response_action(request, queryset)
        except ValidationError as refused:
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
            return redirect(reverse("admin:grants_closingprice_changelist"))

    @staticmethod
    def may_upload(request) -> bool:
        """An upload adds new dates and updates known ones."""
        return user_may(request, "add", ClosingPrice) and user_may(request, "change", ClosingPrice)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_upload": self.may_upload(request)}
        return super().changelist_view(request, extra_context)

    def upload_view(self, request):
        """Import a ``date,price`` CSV file: every row checked, all imported or none."""
        if not self.may_upload(request):
            raise PermissionDenied
        form = PriceUploadForm(request.POST or None, request.FILES or None)
        errors = []
        if request.method == "POST" and form.is_valid():
            company = form.cleaned_data["company"]
            parsed = parse_closing_prices(form.cleaned_data["file"].read(), today=company.today())
            errors = parsed.errors
            if parsed.ok:
                result = import_closing_prices(company, parsed.rows, user=request.user)
                self.message_user(
                    request,
                    f"Closing prices of {company} imported: {result.added} added, "
                    f"{result.updated} updated, {result.unchanged} unchanged.",
                    messages.SUCCESS,
                )
                return redirect("admin:grants_closingprice_changelist")
        return render_admin_form(
            request,
            self,
            title="Upload closing prices",
            form=form,
            template="admin/grants/closingprice/upload.html",
            errors=errors,
            max_megabytes=MAX_BYTES // 1024 // 1024,
            submit_label="Check and import",
        )


class HolidayInline(admin.TabularInline):
    """The administrator's changes to the holiday calendar: a day added (office closed), or
    a calendar holiday removed (office open)."""

    model = Holiday
    extra = 0
    fields = ["date", "name", "closed"]
    verbose_name = "change to the holiday calendar"
    verbose_name_plural = "changes to the holiday calendar (add a day, or untick to remove one)"


class WithholdingRateInline(admin.TabularInline):
    model = WithholdingRate
    extra = 0


@admin.register(Company)
class CompanyAdmin(HistoryAdmin):
    """The company facts the rules read: time zone, business hours and days, holidays
    (paragraph 6a) and withholding rates (paragraph 6b)."""

    list_display = ["name", "time_zone", "opens_at", "closes_at", "business_days"]
    inlines = [HolidayInline, WithholdingRateInline]
    # Business hours are times of day in the company's zone, not moments: the admin's
    # clock widget offered "Now" and warned "You are 6 hours ahead of server time".
    formfield_overrides = {models.TimeField: {"widget": forms.TimeInput(format="%H:%M")}}
    readonly_fields = ["holidays_this_year_and_next"]

    @admin.display(description="holidays this year and next (office closed)")
    def holidays_this_year_and_next(self, company: Company) -> str:
        """The days the rules treat as holidays, as observed: the calendar's with the
        changes below."""
        if company.pk is None:
            return "Shown once the company is saved."
        year = company.today().year
        holidays, workdays = company.holiday_list(), company.calendar().workdays
        notes = {"added": " (added)", "removed": " (removed: the office is open)"}
        rows = [
            (day.strftime("%a %Y-%m-%d"), name, notes.get(source, ""))
            for y in (year, year + 1)
            for day, name, source in holidays.in_year(y)
            if day.isoweekday() in workdays
        ]
        if not rows:
            return "None."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} {}{}</li>", rows))
