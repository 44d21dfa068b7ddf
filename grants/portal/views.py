"""The optionee portal's views: every lookup is scoped to the person signed in, their own
grants or, after a death, those they hold as the recorded successor.

Another person's grant, exercise or notice is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from grants import rules
from grants.charts import vesting_chart
from grants.models import Exercise, Grant, Notice, Optionee
from grants.portal import cache
from grants.portal.forms import AcknowledgementForm, ExerciseForm, NoticeAddressForm


def person_optionees(user) -> set[int]:
    """The optionees ``user`` may act for, read once per request. Looked up first, by id,
    so the grants, exercises and notices are then found through their indexes (as a
    subquery, PostgreSQL scanned the whole book for them)."""
    if not hasattr(user, "_optionee_ids"):
        user._optionee_ids = Optionee.objects.ids_for_user(user)
    return user._optionee_ids


def person_grants(user):
    return Grant.objects.filter(optionee_id__in=person_optionees(user)).with_facts()


def person_exercises(user):
    return Exercise.objects.filter(grant__optionee_id__in=person_optionees(user)).select_related(
        "grant__plan__company", "grant__optionee", "successor"
    )


def person_notices(user):
    return Notice.objects.filter(optionee_id__in=person_optionees(user)).select_related(
        "grant", "optionee"
    )


def _own_grant(user, number: str) -> Grant:
    return get_object_or_404(
        person_grants(user).prefetch_related("acknowledgements"), number=number
    )


@login_required
def dashboard(request):
    body = cache.fragment(request, "dashboard", lambda: _dashboard_body(request.user))
    return render(request, "portal/dashboard.html", {"body": mark_safe(body)})


def _dashboard_body(user) -> str:
    grants = list(person_grants(user).prefetch_related("acknowledgements"))
    price = grants[0].company.closing_price(grants[0].company.today()) if grants else None
    rows = [{"grant": grant, "position": grant.position(closing_price=price)} for grant in grants]
    optionees = {grant.optionee for grant in grants}
    acting_for = sorted(o.legal_name for o in optionees if o.user_id != user.pk)
    return render_to_string(
        "portal/dashboard_body.html",
        {"rows": rows, "closing_price": price, "acting_for": acting_for},
    )


@login_required
def grant_detail(request, number: str):
    body = cache.fragment(request, f"grant {number}", lambda: _grant_body(request.user, number))
    return render(request, "portal/grant_detail.html", {"number": number, "body": mark_safe(body)})


def _grant_body(user, number: str) -> str:
    grant = _own_grant(user, number)
    today = grant.company.today()
    schedule = grant.schedule(today)
    position = grant.position(today)
    termination = grant.facts().termination
    window = grant.terms.as_rules().window(termination.reason) if termination else None
    return render_to_string(
        "portal/grant_detail_body.html",
        {
            "user": user,
            "grant": grant,
            "position": position,
            "schedule": schedule,
            "chart": vesting_chart(schedule, grant.shares, today, grant.grant_date),
            "terms": grant.terms,
            "exercises": grant.exercises.all(),
            "acknowledgement": grant.acknowledgement(),
            "window": window,
            "termination_reason": rules.REASON_LABELS[termination.reason] if termination else "",
        },
    )


@login_required
def agreement(request, number: str):
    grant = _own_grant(request.user, number)
    return render(
        request,
        "portal/agreement.html",
        {"grant": grant, "schedule": grant.schedule(), "terms": grant.terms},
    )


@login_required
@require_http_methods(["GET", "POST"])
def acknowledge(request, number: str):
    grant = _own_grant(request.user, number)
    if grant.optionee.user_id != request.user.pk:
        raise Http404("Only the optionee acknowledges a grant.")
    form = AcknowledgementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        grant.acknowledge(request.user)
        messages.success(request, f"Thank you: your acknowledgement of grant {number} is recorded.")
        return redirect("grant_detail", number=number)
    return render(
        request,
        "portal/acknowledge.html",
        {"grant": grant, "form": form, "acknowledgement": grant.acknowledgement()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def exercise(request, number: str):
    """Choose shares and payment, see the price, tax estimate and deemed receipt date,
    then submit. Submitting creates the notice and the exercise in one transaction."""
    grant = _own_grant(request.user, number)
    now = timezone.now()
    company = grant.company
    deemed = company.deemed_receipt(now)
    position = grant.position(company.today())
    form = ExerciseForm(request.POST or None, grant=grant, user=request.user, at=now)
    context = {
        "grant": grant,
        "form": form,
        "position": position,
        "now_local": company.now(),
        "deemed": deemed,
        "deemed_is_later": deemed != company.today(),
        "deemed_after_expiry": deemed > position.expiration.on,
    }
    key = request.POST.get("submission_key") if request.method == "POST" else None
    earlier = grant.exercises.filter(submission_key=key).first() if key else None
    if earlier is not None and request.POST.get("action") == "submit":
        # The same form sent again (a retry after an error, the back button): the notice it
        # recorded, not a refusal of shares it already took.
        messages.info(request, "This notice of exercise was already recorded; here it is.")
        return redirect("exercise_detail", pk=earlier.pk)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") != "submit":
            return render(
                request, "portal/exercise_confirm.html", {**context, "preview": form.preview}
            )
        try:
            recorded = form.submit()
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            if recorded.status == recorded.Status.REQUESTED:
                said = (
                    f"Your notice of exercise of {recorded.shares:,} shares is recorded and "
                    f"reserves them; the exercise is made when the company receives the price "
                    f"of ${recorded.aggregate_price:,}, by the end of business hours on "
                    f"{grant.expires_on:%B %-d, %Y} at the latest."
                )
            else:
                said = (
                    f"Your notice of exercise of {recorded.shares:,} shares is recorded; "
                    f"the exercise date is {recorded.exercise_date:%B %-d, %Y}."
                )
            messages.success(request, said)
            return redirect("exercise_detail", pk=recorded.pk)
    return render(request, "portal/exercise_form.html", context)


@login_required
def exercise_list(request):
    exercises = person_exercises(request.user).order_by("-exercise_date", "-id")
    return render(request, "portal/exercise_list.html", {"exercises": exercises})


@login_required
def exercise_detail(request, pk: int):
    exercise = get_object_or_404(person_exercises(request.user).select_related("notice"), pk=pk)
    return render(request, "portal/exercise_detail.html", {"exercise": exercise})


@login_required
def notice_list(request):
    notices = person_notices(request.user).order_by("-created_at", "-id")
    return render(request, "portal/notice_list.html", {"notices": notices})


@login_required
def notice_detail(request, pk: int):
    notice = get_object_or_404(person_notices(request.user), pk=pk)
    return render(request, "portal/notice_detail.html", {"notice": notice})


@login_required
@require_http_methods(["GET", "POST"])
def change_address(request):
    optionee = Optionee.objects.filter(user=request.user).select_related("company").first()
    if optionee is None:
        raise Http404("Only an optionee designates a notice address.")
    form = NoticeAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            optionee.change_notice_address(
                form.cleaned_data["address"],
                received_on=optionee.company.today(),
                method=Notice.Method.PORTAL,
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            messages.success(request, "Your new address for notices is recorded.")
            return redirect("notice_list")
    history = optionee.notice_addresses.all()
    return render(
        request,
        "portal/change_address.html",
        {"form": form, "current": optionee.notice_address(), "history": history},
    )


def signed_out(request):
    """Where signing out leads: a page that says so. Someone signed in goes to their options."""
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "portal/registration/signed_out.html")


def pending_acknowledgements(request) -> list[str]:
    """The numbers of the signed-in optionee's grants whose current documents are not yet
    acknowledged (the layout's banner)."""
    if not request.user.is_authenticated:
        return []
    return cache.fragment(
        request,
        "pending acknowledgements",
        lambda: list(
            Grant.objects.filter(optionee__user=request.user)
            .awaiting_acknowledgement()
            .values_list("number", flat=True)
        ),
    )
