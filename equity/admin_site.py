from functools import partial

from django.contrib import admin
from django.urls import path


class EquityAdminSite(admin.AdminSite):
    """The back office: a dashboard of what needs attention on the index, and reports."""

    site_header = "Equity administration"
    site_title = "Equity administration"
    index_title = "Stock plan back office"

    def index(self, request, extra_context=None):
        # Imported here: the admin site is built before the grants app's models load.
        from grants.admin.dashboard import dashboard

        return super().index(request, {**dashboard(request), **(extra_context or {})})

    def get_urls(self):
        from grants.admin.reports import outstanding_options_view

        reports = [
            path(
                "reports/outstanding-options/",
                self.admin_view(partial(outstanding_options_view, site=self)),
                name="report_outstanding_options",
            )
        ]
        return reports + super().get_urls()
