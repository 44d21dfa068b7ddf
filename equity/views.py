"""Project-level views that belong to no part of the book."""

from django.http import HttpResponse
from django.views.decorators.http import require_http_methods


@require_http_methods(["GET", "HEAD"])
def healthz(request):
    """Liveness check for a load balancer or uptime monitor: "ok" from a running app,
    without reading the database or the session (docs/operations.md). The benchmarks use it
    as the trivial view the pages are compared with (docs/performance.md)."""
    return HttpResponse("ok\n", content_type="text/plain")
