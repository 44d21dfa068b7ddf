"""The company's time zone for every request: each time people read is the company's, and
labelled with it (DOMAIN.md, paragraph 6a), in the portal and the back office alike."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import CharField, F, IntegerField, Value
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


def company_time_zone(user) -> str:
    """The zone of the signed-in optionee's company (or, after a death, the company of the
    grants the successor holds; the first of them by name), else of the book's first
    company; UTC with no company.

    One query on every page that shows a time: the person's optionees (each way looked up
    by its own index) and the first company, in one UNION ALL, the first row winning."""
    from grants.models import Company, Optionee

    def ranked(rows, rank: int, name, zone: str):
        rows = rows.order_by().annotate(rank=Value(rank, IntegerField()), sort_name=name)
        return rows.values_list("rank", "sort_name", "pk", zone)

    people = Optionee.objects.all()
    parts = []
    if user is not None and user.is_authenticated:
        ids = getattr(user, "_optionee_ids", None)  # read once a request by the portal
        if ids is not None:
            ways = [people.filter(pk__in=ids)]
        else:
            own = people.filter(user=user)
            inherited = people.filter(successors__user=user, date_of_death__isnull=False)
            ways = [own, inherited]
        parts += [ranked(way, 0, F("legal_name"), "company__time_zone") for way in ways]
    parts.append(ranked(Company.objects.all(), 1, Value("", CharField()), "time_zone"))
    first, *rest = parts
    rows = first.union(*rest, all=True) if rest else first
    row = rows.order_by("rank", "sort_name", "pk").first()
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
