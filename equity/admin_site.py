"""The back office's admin site: its dashboard index, reports and sign-in with a second factor."""

from functools import partial, wraps

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path


class EquityAdminSite(admin.AdminSite):
    """The back office: a dashboard of what needs attention on the index, and reports."""

    site_header = "Equity administration"
    site_title = "Equity administration"
    index_title = "Stock plan back office"

    # Every list of the back office shows fifty rows a page, those of other apps' screens
    # too (django-axes' sign-in logs, users; Django's default is a hundred): the grants
    # app's lists set it themselves (grants.admin.base.HistoryAdmin).
    LIST_PER_PAGE = 50

    def register(self, model_or_iterable, admin_class=None, **options):
        super().register(model_or_iterable, admin_class, **options)
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models:
            model_admin = self._registry[model]
            model_admin.list_per_page = min(model_admin.list_per_page, self.LIST_PER_PAGE)

    def has_permission(self, request):
        """Active staff, verified by their authenticator app when ``ADMIN_REQUIRE_2FA`` is on."""
        from grants.admin.two_factor import awaiting_second_factor

        return super().has_permission(request) and not awaiting_second_factor(request.user)

    def login(self, request, extra_context=None):
        """The password step; staff past it who still owe the second factor go on to it."""
        from grants.admin.two_factor import awaiting_second_factor, next_step

        if request.method == "GET" and awaiting_second_factor(request.user):
            return next_step(request, self)
        context = {"second_factor_required": settings.ADMIN_REQUIRE_2FA}
        return super().login(request, {**context, **(extra_context or {})})

    def index(self, request, extra_context=None):
        # Imported here: the admin site is built before the grants app's models load.
        # The dashboard is served again while nothing in the database has changed.
        from grants.admin.dashboard import dashboard
        from grants.admin.list_cache import served_again

        if extra_context is not None:
            return super().index(request, {**dashboard(request), **extra_context})
        return served_again(
            request, lambda: super(EquityAdminSite, self).index(request, dashboard(request))
        )

    def autocomplete_view(self, request):
        """Search-as-you-type, each choice labelled as the forms label it."""
        from grants.admin.base import LabelledAutocomplete

        return LabelledAutocomplete.as_view(admin_site=self)(request)

    def admin_view(self, view, cacheable=False):
        """Every screen of the back office, whose URL parameters (row keys) must be plain
        ASCII: Python reads "١" (an Arabic-Indic digit) as 1, and the admin would open row
        1 for it. Such an address is a 404, as a key that names no row."""
        guarded = super().admin_view(view, cacheable)

        @wraps(view)
        def checked(request, *args, **kwargs):
            if not all(str(value).isascii() for value in (*args, *kwargs.values())):
                raise Http404("A key in this address is not written in ASCII digits.")
            return guarded(request, *args, **kwargs)

        return checked

    def get_urls(self):
        from grants.admin import two_factor
        from grants.admin.auditors import expense_view, form3921_view, option_rollforward_view
        from grants.admin.reports import outstanding_options_view

        reports = [
            path(
                "reports/outstanding-options/",
                self.admin_view(partial(outstanding_options_view, site=self)),
                name="report_outstanding_options",
            ),
            path(
                "reports/option-rollforward/",
                self.admin_view(partial(option_rollforward_view, site=self)),
                name="report_option_rollforward",
            ),
            path(
                "reports/expense/",
                self.admin_view(partial(expense_view, site=self)),
                name="report_expense",
            ),
            path(
                "reports/form-3921/",
                self.admin_view(partial(form3921_view, site=self)),
                name="report_form3921",
            ),
        ]
        # The second factor's pages serve staff the site does not admit yet (see has_permission).
        second_factor = [path("otp/", include(two_factor.urls(self)))]
        return reports + second_factor + super().get_urls()
