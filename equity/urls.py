from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Equity administration"
admin.site.site_title = "Equity administration"
admin.site.index_title = "Stock plan back office"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("grants.urls")),
]
