from django.contrib import admin


class EquityAdminSite(admin.AdminSite):
    site_header = "Equity administration"
    site_title = "Equity administration"
    index_title = "Stock plan back office"
