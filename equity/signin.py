"""Sign-in throttling with django-axes: the address a request comes from (behind the
proxies ``TRUSTED_PROXY_COUNT`` names), and a handler that locks an address trying many
user names as well as one user name tried too often."""

from __future__ import annotations

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum


def client_address(request) -> str:
    """The address of the person at the browser (``AXES_CLIENT_IP_CALLABLE``).

    Without a proxy (``TRUSTED_PROXY_COUNT`` 0, the default) it is the connection's own,
    and ``X-Forwarded-For`` is ignored: anyone can send that header. Behind N trusted
    proxies, each of which appends to the header the address it received the request
    from, the person's address is the Nth entry from the right; entries further left were
    written by the client and are not believed. A header with fewer entries, or an entry
    that is not an address, falls back to the connection's own.
    """
    own = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return own
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [entry.strip() for entry in header.split(",") if entry.strip()]
    if len(forwarded) < count:
        return own
    try:
        return str(ipaddress.ip_address(forwarded[-count]))
    except ValueError:
        return own


class SignInThrottle(AxesDatabaseHandler):
    """django-axes' database handler, with two limits where axes has one.

    ``AXES_LOCKOUT_PARAMETERS`` counts failures two ways: by user name at one address, and
    by address whatever the name. Axes compares the larger count with one limit
    (``AXES_FAILURE_LIMIT``, 5); an address's count is scaled so that it reaches that
    limit at ``ADDRESS_FAILURE_LIMIT`` (20) failures, since people behind one office
    address mistype their passwords too.
    """

    def get_failures(self, request, credentials=None) -> int:
        by_name, by_address = (
            attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        scaled = by_address * settings.AXES_FAILURE_LIMIT // settings.ADDRESS_FAILURE_LIMIT
        return max(by_name, scaled)

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A successful sign-in clears that name's failures at that address only; clearing
        the address's (as axes does) would let anyone with an account clear it between
        guesses at other people's names."""
        by_name = self.filter_user_attempts(request, credentials)[0]
        count, _ = by_name.delete()
        return count
