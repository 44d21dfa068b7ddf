"""Two middlewares of our own, beside the content security policy (``equity.security``): a
request whose address holds a NUL character is refused before any view reads it, and the
pages are not kept by browsers or proxies (``Cache-Control: no-store``)."""

from django.conf import settings
from django.http import Http404, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers


class RefuseNulMiddleware:
    """A NUL character (``%00``) has no place in an address: no page, id or search holds
    one, and PostgreSQL refuses it in text, so a view that passed it to a query would fail
    with a server error. In the path it names no page (404); in the query string the
    request is malformed (400, saying why)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info:
            raise Http404("The address holds a NUL character.")
        if any("\x00" in key or "\x00" in value for key, value in _pairs(request.GET)):
            reason = (
                "The address holds a NUL character (%00), which no page of this site "
                "accepts. Check the link, or type the address again."
            )
            return HttpResponseBadRequest(
                render_to_string("400.html", {"reason": reason}, request=request)
            )
        return self.get_response(request)


def _pairs(query):
    for key, values in query.lists():
        for value in values:
            yield key, value


class NoStoreMiddleware:
    """Every page shows a person's options or the book: no browser or proxy may keep a copy
    (the back button after signing out, a shared computer, a caching proxy show nothing).
    Static files, which WhiteNoise serves before this, and the liveness check ``/healthz``
    are left to be cached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = request.resolver_match
        if match and match.url_name == "healthz":
            return response
        if request.path.startswith(settings.STATIC_URL):
            return response
        add_never_cache_headers(response)
        return response
