"""The URLs: the back office at ``/admin/``, the liveness check and the portal at ``/``."""

from django.contrib import admin
from django.urls import include, path

from equity.views import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("grants.portal.urls")),
]
