"""What needs the stock administrator's attention, shown on the admin index.

Each panel is one query (plus one count), whatever the size of the book; a panel is shown
only to a user who may view its rows.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Q, Window

from grants import outbox
from grants.admin.grants import company_todays, expiring_within, standing_termination
from grants.models import Exercise, Grant, Notice, Plan, Termination

PANEL_ROWS = 25


def _may_view(request, model) -> bool:
    return request.user.has_perm(f"grants.view_{model._meta.model_name}")


def _panel(queryset) -> dict:
    """The first rows of a panel and how many there are, in one query: the count is a
    window over the same rows, so the panel's conditions are evaluated once, not twice
    (the terminations panel probes each standing termination's grants: 23 ms a pass at
    20,000 terminations)."""
    rows = list(queryset.annotate(panel_count=Window(Count("pk")))[:PANEL_ROWS])
    return {"rows": rows, "count": rows[0].panel_count if rows else 0}


def pending_exercises():
    """Accepted exercises still waiting for the cash (paragraph 2b) or for their shares."""
    return (
        Exercise.objects.filter(
            status__in=[
                Exercise.Status.REQUESTED,
                Exercise.Status.AWAITING_PAYMENT,
                Exercise.Status.PAID,
            ]
        )
        .select_related("grant__optionee")
        .order_by("exercise_date", "pk")
    )


def expiring_grants(days: int = 30):
    """Outstanding grants whose effective expiration is within ``days`` days; those that
    expire after a termination first, then by date."""
    return (
        Grant.objects.filter(expiring_within(days))
        .annotate(after_termination=standing_termination())
        .select_related("optionee", "plan")
        .order_by("-after_termination", "expires_on", "number")
    )


def terminations_in_window(todays: dict[dt.date, list[int]]):
    """Standing terminations whose optionee can still exercise an outstanding grant: the
    termination date has passed and the latest stored expiration has not. That latest
    expiration is kept by the database for each termination (``TerminationWindow``), so
    the few inside their window are found by its index, not by asking every
    termination's grants."""
    inside = Q(pk__in=[])
    for today, company_ids in todays.items():
        inside |= Q(optionee__company__in=company_ids, on__lte=today, window__last_day__gte=today)
    return (
        Termination.objects.filter(reversed_at__isnull=True)
        .filter(inside)
        .annotate(last_day=F("window__last_day"))
        .select_related("optionee")
        .order_by("last_day", "pk")
    )


def dashboard(request) -> dict:
    """The dashboard's context for the admin index."""
    todays = company_todays()
    today_of = {pk: today for today, pks in todays.items() for pk in pks}
    context: dict = {"dashboard": True}
    if _may_view(request, Exercise):
        context["pending_exercises"] = _panel(pending_exercises())
    if _may_view(request, Grant):
        expiring = _panel(expiring_grants(30))
        for grant in expiring["rows"]:
            grant.days_left = (grant.expires_on - today_of[grant.plan.company_id]).days
        context["expiring_grants"] = expiring
    if _may_view(request, Termination):
        windows = _panel(terminations_in_window(todays))
        for termination in windows["rows"]:
            today = today_of[termination.optionee.company_id]
            termination.days_left = (termination.last_day - today).days
        context["terminations_in_window"] = windows
    if _may_view(request, Plan):
        context["plans"] = list(
            Plan.with_reserve(todays).select_related("company").order_by("name")
        )
    if _may_view(request, Notice):
        waiting, oldest = outbox.waiting()
        context["mail"] = {
            "waiting": waiting,
            "oldest": oldest,
            "letters": Notice.objects.filter(
                direction=Notice.Direction.TO_OPTIONEE,
                method=Notice.Method.MAIL,
                sent_on__isnull=True,
            ).count(),
        }
    return context
