"""The stock administrator's back office.

Rows whose creation is a contract event (grants with their schedule, exercises,
terminations, suspensions, liability windows) are written only through the model verbs,
so the admin can never record what the agreement forbids; here they are shown with their
history and computed values.
"""

from django.contrib import admin

from grants import models
from grants.admin.base import HistoryAdmin


class HolidayInline(admin.TabularInline):
    model = models.Holiday
    extra = 0


class WithholdingRateInline(admin.TabularInline):
    model = models.WithholdingRate
    extra = 0


@admin.register(models.Company)
class CompanyAdmin(HistoryAdmin):
    list_display = ["name", "time_zone", "opens_at", "closes_at", "business_days"]
    inlines = [HolidayInline, WithholdingRateInline]
