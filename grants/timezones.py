"""The company's time zone for every request: each time people read is the company's, and
labelled with it (DOMAIN.md, paragraph 6a), in the portal and the back office alike."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone


class CompanyZone(dt.tzinfo):
    """The time zone of the company a request is about, looked up the first time a page
    shows a time (a page that shows none asks nothing of the database)."""

    def __init__(self, user) -> None:
        self._user, self._zone = user, None

    @property
    def zone(self) -> ZoneInfo:
        if self._zone is None:
            self._zone = ZoneInfo(company_time_zone(self._user))
        return self._zone

    def utcoffset(self, moment):
        return self.zone.utcoffset(moment)

    def dst(self, moment):
        return self.zone.dst(moment)

    def tzname(self, moment):
        return self.zone.tzname(moment)

    def fromutc(self, moment):
        return self.zone.fromutc(moment.replace(tzinfo=self.zone)).replace(tzinfo=self)

    def __str__(self) -> str:
        return self.zone.key


# The person's optionees (their own by the user index, those they succeed to by the
# successors' user index) and every company, the first row winning: one round trip,
# written out because the ORM took a millisecond to build this UNION on every page.
_OWN = (
    "SELECT 0, o.legal_name, o.id, c.time_zone FROM grants_optionee o"
    " JOIN grants_company c ON c.id = o.company_id WHERE o.user_id = %s"
)
_INHERITED = (
    "SELECT 0, o.legal_name, o.id, c.time_zone FROM grants_optionee o"
    " JOIN grants_company c ON c.id = o.company_id"
    " JOIN grants_successor s ON s.optionee_id = o.id"
    " WHERE s.user_id = %s AND o.date_of_death IS NOT NULL"
)
_BY_ID = (
    "SELECT 0, o.legal_name, o.id, c.time_zone FROM grants_optionee o"
    " JOIN grants_company c ON c.id = o.company_id WHERE o.id IN ({})"
)
_FIRST_COMPANY = "SELECT 1, '', c.id, c.time_zone FROM grants_company c"


def company_time_zone(user) -> str:
    """The zone of the signed-in optionee's company (or, after a death, the company of the
    grants the successor holds; the first of them by name), else of the book's first
    company; UTC with no company. One query, on the first time a page shows."""
    parts, params = [_FIRST_COMPANY], []
    if user is not None and user.is_authenticated:
        ids = getattr(user, "_optionee_ids", None)  # read once a request by the portal
        if ids is None:
            parts[:0] = [_OWN, _INHERITED]
            params = [user.pk, user.pk]
        elif ids:
            parts[:0] = [_BY_ID.format(", ".join(["%s"] * len(ids)))]
            params = list(ids)
    union = " UNION ALL ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({union}) AS z ORDER BY 1, 2, 3 LIMIT 1", params)
        row = cursor.fetchone()
    return row[3] if row else "UTC"


class CompanyTimeZoneMiddleware:
    """Activate the company's zone for the request, so the template ``date`` and ``time``
    filters and the admin's timestamps read it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(CompanyZone(getattr(request, "user", None)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
