"""The stock administrator's back office.

Rows whose creation is a contract event (grants with their schedule, exercises,
terminations, suspensions, liability windows) are written only through the model verbs,
so the admin can never record what the agreement forbids; here they are shown with their
history and computed values.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from grants import models
from grants.admin.base import EventAdmin, ReadOnlyInline


class HolidayInline(admin.TabularInline):
    model = models.Holiday
    extra = 0


class WithholdingRateInline(admin.TabularInline):
    model = models.WithholdingRate
    extra = 0


@admin.register(models.Company)
class CompanyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "time_zone", "opens_at", "closes_at", "business_days"]
    inlines = [HolidayInline, WithholdingRateInline]


@admin.register(models.Plan)
class PlanAdmin(SimpleHistoryAdmin):
    list_display = ["name", "company", "share_reserve", "max_term_years"]
    list_select_related = ["company"]


@admin.register(models.GrantTerms)
class GrantTermsAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "minimum_exercise",
        "months_after_termination",
        "months_after_disability",
        "months_after_death",
    ]


class NoticeAddressInline(ReadOnlyInline):
    model = models.NoticeAddress
    fields = ["address", "effective_on", "notice"]
    readonly_fields = fields


class SuccessorInline(admin.TabularInline):
    model = models.Successor
    extra = 0


class TerminationInline(ReadOnlyInline):
    model = models.Termination
    fields = ["on", "reason", "reversed_at", "reversal_reason"]
    readonly_fields = fields


class Section16WindowInline(ReadOnlyInline):
    model = models.Section16Window
    fields = ["start", "end"]
    readonly_fields = fields


@admin.register(models.Optionee)
class OptioneeAdmin(SimpleHistoryAdmin):
    list_display = ["legal_name", "employee_id", "email", "relationship", "is_section16_insider"]
    list_filter = ["relationship", "is_section16_insider", "company"]
    search_fields = ["legal_name", "email", "employee_id"]
    raw_id_fields = ["user"]
    readonly_fields = ["date_of_death"]
    inlines = [NoticeAddressInline, TerminationInline, Section16WindowInline, SuccessorInline]


class InstallmentInline(ReadOnlyInline):
    model = models.Installment
    fields = ["vest_date", "shares"]
    readonly_fields = fields


class ExerciseInline(ReadOnlyInline):
    model = models.Exercise
    fields = ["exercise_date", "shares", "payment_method", "aggregate_price", "status"]
    readonly_fields = fields
    show_change_link = True


@admin.register(models.Grant)
class GrantAdmin(EventAdmin):
    list_display = [
        "number",
        "optionee",
        "grant_date",
        "shares",
        "exercise_price",
        "status",
        "expires_on",
    ]
    list_filter = ["status", "option_type", "plan"]
    list_select_related = ["optionee", "plan"]
    search_fields = ["number", "optionee__legal_name", "optionee__email"]
    date_hierarchy = "grant_date"
    inlines = [InstallmentInline, ExerciseInline]


@admin.register(models.Exercise)
class ExerciseAdmin(EventAdmin):
    list_display = [
        "grant",
        "exercise_date",
        "shares",
        "payment_method",
        "aggregate_price",
        "status",
    ]
    list_filter = ["status", "payment_method"]
    list_select_related = ["grant"]
    search_fields = ["grant__number", "grant__optionee__legal_name"]


@admin.register(models.Termination)
class TerminationAdmin(EventAdmin):
    list_display = ["optionee", "on", "reason", "reversed_at"]
    list_filter = ["reason"]
    list_select_related = ["optionee"]


@admin.register(models.RegistrationSuspension)
class RegistrationSuspensionAdmin(EventAdmin):
    list_display = ["company", "start", "end", "note"]


@admin.register(models.Section16Window)
class Section16WindowAdmin(EventAdmin):
    list_display = ["optionee", "start", "end"]
    list_select_related = ["optionee"]


@admin.register(models.Notice)
class NoticeAdmin(EventAdmin):
    list_display = [
        "subject",
        "optionee",
        "direction",
        "method",
        "sent_on",
        "received_on",
        "effective_on",
    ]
    list_filter = ["direction", "method", "kind"]
    list_select_related = ["optionee"]
    search_fields = ["subject", "optionee__legal_name"]


@admin.register(models.ClosingPrice)
class ClosingPriceAdmin(SimpleHistoryAdmin):
    list_display = ["date", "price", "company"]
    list_filter = ["company"]
    date_hierarchy = "date"


@admin.register(models.Acknowledgement)
class AcknowledgementAdmin(EventAdmin):
    list_display = ["grant", "user", "acknowledged_at", "documents_version"]
    list_select_related = ["grant", "user"]
