"""The app's URLs plus one that exists only for the benchmarks (``serve.py``).

``/bench/signed-in/`` does nothing but know who is asking: the session and user lookups
and the middleware of every signed-in request, then a two-word answer. Its requests per
second are the ceiling for any page that must know who is asking, on the same server in
the same run, and so show how far a page's own work is from that ceiling, apart from the
cost of signing in."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from equity.urls import urlpatterns as app_urlpatterns


@login_required
def signed_in_nothing(request):
    return HttpResponse(f"ok {request.user.pk}", content_type="text/plain")


urlpatterns = [path("bench/signed-in/", signed_in_nothing), *app_urlpatterns]
