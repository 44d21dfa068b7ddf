"""The optionee portal: every lookup is scoped to the person signed in."""

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from grants.models import Exercise, Grant, Optionee


def _person_grants(user):
    """The grants the signed-in person may see: their own, or as a recorded successor."""
    return (
        Grant.objects.filter(optionee__in=Optionee.objects.for_user(user))
        .select_related("optionee", "plan__company", "terms")
        .prefetch_related(
            "installments",
            Prefetch("exercises", queryset=Exercise.objects.order_by("-exercise_date")),
        )
    )


@login_required
def dashboard(request):
    grants = list(_person_grants(request.user))
    rows = [{"grant": grant, "position": grant.position()} for grant in grants]
    return render(request, "portal/dashboard.html", {"rows": rows})


@login_required
def grant_detail(request, number: str):
    grant = get_object_or_404(_person_grants(request.user), number=number)
    return render(
        request,
        "portal/grant_detail.html",
        {"grant": grant, "position": grant.position(), "schedule": grant.schedule()},
    )
