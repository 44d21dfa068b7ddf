"""Project-level views that belong to no part of the book."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods


@require_http_methods(["GET", "HEAD"])
def healthz(request):
    """Liveness check for a load balancer or uptime monitor: "ok" from a running app,
    without reading the database or the session (docs/operations.md). The benchmarks use it
    as the trivial view the pages are compared with (docs/performance.md)."""
    return HttpResponse("ok\n", content_type="text/plain")


def csrf_failure(request, reason=""):
    """A form sent without its security token (``CSRF_FAILURE_VIEW``): most often a page
    left open too long; the page says what to do, in the site's layout. The technical
    ``reason`` is for the log, not the person."""
    return render(request, "403_csrf.html", status=403)
