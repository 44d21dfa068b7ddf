"""The Django admin app configured with the back office's own site."""

from django.contrib.admin.apps import AdminConfig


class EquityAdminConfig(AdminConfig):
    """The Django admin, with the back office's own site (dashboard on the index)."""

    default_site = "equity.admin_site.EquityAdminSite"
