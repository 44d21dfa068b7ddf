"""Exercises in the back office.

The administrator records a notice of exercise that arrived on paper or by e-mail, sees
what it would cost and when it counts before saving (``Grant.preview_exercise``), and
records it with ``Grant.request_exercise``. Each recorded exercise then moves on through
``Exercise.mark_paid``, ``issue_shares`` or ``cancel``, from the changelist (actions) or
from the exercise's page (buttons). A refusal shows the rule's message and writes nothing;
exercise rows are never edited by hand.
"""

from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from grants.admin.base import (
    AutocompleteSelect,
    EventAdmin,
    form_error,
    grant_label,
    object_or_404,
    per_share,
    render_admin_form,
    user_may,
)
from grants.models import Company, Exercise, Grant, Notice, Successor

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# The verbs an exercise moves through after it is recorded, with what the person reads.
VERBS = {
    "mark_paid": ("Mark payment received", "Payment recorded"),
    "issue_shares": ("Issue shares", "Shares issued"),
    "cancel": ("Cancel exercise", "Cancelled"),
}


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def recorded_message(exercise: Exercise) -> str:
    """What the administrator reads once a notice of exercise is recorded."""
    what = f"{exercise.shares:,} shares of {exercise.grant.number}"
    if exercise.status == Exercise.Status.REQUESTED:
        return (
            f"Notice of exercise of {what} recorded as a pending request, counting from "
            f"{exercise.exercise_date:%Y-%m-%d}: the shares are reserved, and the exercise is "
            f"made when the price of ${exercise.aggregate_price:,} is received (record it with "
            f"Mark payment received), by the end of business hours on "
            f"{exercise.grant.expires_on:%Y-%m-%d} at the latest."
        )
    return (
        f"Exercise of {what} recorded: exercise date {exercise.exercise_date:%Y-%m-%d}, "
        f"aggregate price ${exercise.aggregate_price:,}."
    )


class GrantChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, grant: Grant) -> str:
        return grant_label(grant)


class SuccessorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, successor: Successor) -> str:
        return (
            f"{successor.name}, successor of {successor.optionee.legal_name} "
            f"({successor.get_document_display().lower()})"
        )


class ExerciseNoticeForm(forms.Form):
    """A written notice of exercise as it reached the company (paragraph 6a)."""

    NOTICE_METHODS = [
        (method.value, method.label)
        for method in (Notice.Method.PERSONAL, Notice.Method.MAIL, Notice.Method.EMAIL)
    ]

    # Searched as the person types (by number, optionee's name or e-mail): a select of
    # every grant took 55 seconds to draw on a book of a million grants.
    grant = GrantChoiceField(
        queryset=Grant.objects.select_related("optionee").order_by("number"),
        widget=AutocompleteSelect(Exercise._meta.get_field("grant"), admin.site),
    )
    received_on = forms.DateField(label="Date received", widget=DATE_INPUT)
    received_time = forms.TimeField(
        label="Time received",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Local time at the company, in its time zone. Leave it empty when only "
        "the date is known: the notice then counts as received during business hours "
        "that day (or the next business day).",
    )
    shares = forms.CharField(
        label="Number of shares",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    payment_method = forms.ChoiceField(
        label="Payment of the exercise price",
        choices=Exercise.PaymentMethod.choices,
        widget=forms.RadioSelect,
        help_text="Cash or check: the exercise is made when the company has both the notice "
        "and the full price, dated the later of the two; a notice without the price only "
        "reserves the shares, and lapses if the price has not arrived by the end of business "
        "hours on the option's last day. Regulation T: the notice makes the exercise; no "
        "share is issued before the broker's cash arrives.",
    )
    payment_received = forms.BooleanField(
        label="Payment received with the notice",
        required=False,
        help_text="Tick when the full price came with the notice: the exercise is then made "
        "on the notice's day.",
    )
    notice_method = forms.ChoiceField(
        label="Notice delivered by",
        choices=NOTICE_METHODS,
        initial=Notice.Method.PERSONAL,
        widget=forms.RadioSelect,
    )
    delivered_by = SuccessorChoiceField(
        label="Delivered by",
        queryset=Successor.objects.select_related("optionee").order_by("optionee", "name"),
        required=False,
        empty_label="The optionee",
        help_text="After the optionee's death, the recorded successor who delivered it.",
    )
    submission_key = forms.CharField(
        max_length=Exercise._meta.get_field("submission_key").max_length,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # One key per form shown: a double click records one exercise, not two.
            self.initial.setdefault("submission_key", secrets.token_urlsafe(24))
        zones = sorted(set(Company.objects.values_list("time_zone", flat=True)))
        if zones:
            self.fields["received_time"].help_text += f" Time zone: {', '.join(zones)}."

    def clean(self):
        cleaned = super().clean()
        grant, successor = cleaned.get("grant"), cleaned.get("delivered_by")
        if grant and successor and successor.optionee_id != grant.optionee_id:
            self.add_error(
                "delivered_by",
                f"{successor.name} is not a recorded successor of {grant.optionee.legal_name}.",
            )
        return cleaned

    def received_at(self) -> dt.date | dt.datetime:
        """The date alone, or the date and time as an aware datetime in the company's zone."""
        day, time = self.cleaned_data["received_on"], self.cleaned_data["received_time"]
        if time is None:
            return day
        zone = ZoneInfo(self.cleaned_data["grant"].company.time_zone)
        return dt.datetime.combine(day, time, tzinfo=zone)

    def preview(self):
        data = self.cleaned_data
        return data["grant"].preview_exercise(
            data["shares"],
            self.received_at(),
            payment_method=data["payment_method"],
            delivered_by=data["delivered_by"],
            payment_received=data["payment_received"],
        )

    def record(self) -> Exercise:
        data = self.cleaned_data
        return data["grant"].request_exercise(
            data["shares"],
            self.received_at(),
            payment_method=data["payment_method"],
            delivered_by=data["delivered_by"],
            payment_received=data["payment_received"],
            notice_method=data["notice_method"],
            submission_key=data["submission_key"],
        )


class VerbDateForm(forms.Form):
    on = forms.DateField(
        label="Date (empty: today)",
        required=False,
        widget=DATE_INPUT,
        help_text="The day payment was received, the shares issued or the exercise cancelled.",
    )


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="Why it stands",
        max_length=300,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="For example, the board's decision to honour an exercise accepted before "
        "the termination was reported.",
    )


class ExerciseActionForm(ActionForm, VerbDateForm):
    """The changelist's action bar, with the date the action happened."""

    field_order = ["action", "select_across", "on"]


class AwaitingPaymentFilter(admin.SimpleListFilter):
    title = "awaiting payment"
    parameter_name = "awaiting_payment"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        # A pending request (cash or check) and a Regulation T exercise both await the price.
        awaiting = {"status__in": [Exercise.Status.REQUESTED, Exercise.Status.AWAITING_PAYMENT]}
        if self.value() == "yes":
            return queryset.filter(**awaiting)
        if self.value() == "no":
            return queryset.exclude(**awaiting)
        return queryset


class AwaitingIssuanceFilter(admin.SimpleListFilter):
    title = "awaiting issuance"
    parameter_name = "awaiting_issuance"

    def lookups(self, request, model_admin):
        return [("yes", "Paid, shares not yet issued"), ("no", "No")]

    def queryset(self, request, queryset):
        awaiting = {"status": Exercise.Status.PAID}
        if self.value() == "yes":
            return queryset.filter(**awaiting)
        if self.value() == "no":
            return queryset.exclude(**awaiting)
        return queryset


@admin.register(Exercise)
class ExerciseAdmin(EventAdmin):
    list_display = [
        "grant",
        "optionee",
        "exercise_date",
        "shares_display",
        "payment_method",
        "aggregate_price_display",
        "status",
    ]
    list_filter = ["status", "payment_method", AwaitingPaymentFilter, AwaitingIssuanceFilter]
    list_select_related = ["grant__optionee"]
    search_fields = [
        "grant__number",
        "grant__optionee__legal_name",
        "grant__optionee__email",
        "grant__optionee__employee_id",
    ]
    date_hierarchy = "exercise_date"
    fields = [
        "grant",
        "shares_display",
        "exercise_date",
        "notice_received_at",
        "payment_method",
        "price_per_share_display",
        "aggregate_price_display",
        "status",
        "installment",
        "payment_received_on",
        "shares_issued_on",
        "cancelled_on",
        "lapsed_on",
        "reviewed_on",
        "review_note",
        "requested_by",
        "successor",
        "notice",
        "created_at",
    ]
    readonly_fields = fields
    action_form = ExerciseActionForm
    actions = ["mark_paid", "issue_shares", "cancel"]

    # -- columns

    @admin.display(ordering="grant__optionee__legal_name")
    def optionee(self, exercise: Exercise):
        return exercise.grant.optionee

    @admin.display(description="shares", ordering="shares")
    def shares_display(self, exercise: Exercise) -> str:
        return f"{exercise.shares:,}"

    @admin.display(description="price per share")
    def price_per_share_display(self, exercise: Exercise) -> str:
        return per_share(exercise.price_per_share)

    @admin.display(description="aggregate price", ordering="aggregate_price")
    def aggregate_price_display(self, exercise: Exercise) -> str:
        return f"${exercise.aggregate_price:,}"

    # -- permissions: rows are written only by the verbs

    def has_add_permission(self, request):
        """The "Add" button opens the screen that records a notice through the verb."""
        return user_may(request, "add", Exercise)

    def has_record_permission(self, request) -> bool:
        """May move exercises through payment, issue and cancellation."""
        return user_may(request, "change", Exercise)

    # -- recording a notice of exercise

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        preview = None
        if request.method == "POST":
            form = ExerciseNoticeForm(request.POST)
            if form.is_valid():
                try:
                    if "record" in request.POST:
                        exercise = form.record()
                        self.message_user(request, recorded_message(exercise), messages.SUCCESS)
                        return redirect("admin:grants_exercise_change", exercise.pk)
                    preview = form.preview()
                except ValidationError as refused:
                    form_error(form, refused)
        else:
            form = ExerciseNoticeForm(initial={"grant": request.GET.get("grant")})
        return render_admin_form(
            request,
            self,
            title="Record a notice of exercise",
            form=form,
            template="admin/grants/exercise/record.html",
            preview=preview,
            fair_market_value=per_share(preview.fair_market_value)
            if preview and preview.fair_market_value is not None
            else None,
        )

    # -- payment, issue, cancellation

    def get_urls(self):
        review = path(
            "<path:object_id>/review/",
            self.admin_site.admin_view(require_POST(self.review_view)),
            name="grants_exercise_review",
        )
        urls = [review] + [
            path(
                f"<path:object_id>/{verb.replace('_', '-')}/",
                self.admin_site.admin_view(require_POST(self.verb_view)),
                {"verb": verb},
                name=f"grants_exercise_{verb}",
            )
            for verb in VERBS
        ]
        return urls + super().get_urls()

    def _apply(self, request, exercises, verb: str, on: dt.date | None) -> None:
        """Call ``verb`` on each exercise; report every refusal with its message."""
        done = 0
        for exercise in exercises:
            try:
                getattr(exercise, verb)(on or exercise.grant.company.today())
            except ValidationError as refused:
                self.message_user(
                    request, f"{exercise}: {' '.join(refused.messages)}", messages.ERROR
                )
            else:
                done += 1
        if done:
            self.message_user(
                request, f"{VERBS[verb][1]}: {_plural(done, 'exercise')}.", messages.SUCCESS
            )

    def _apply_with_date(self, request, exercises, verb: str) -> None:
        form = VerbDateForm(request.POST)
        if not form.is_valid():
            self.message_user(
                request, f"Enter a valid date: {form.errors['on'][0]}", messages.ERROR
            )
            return
        self._apply(request, exercises, verb, form.cleaned_data["on"])

    def verb_view(self, request, object_id, verb):
        if not self.has_record_permission(request):
            raise PermissionDenied
        exercise = object_or_404(Exercise.objects.select_related("grant__plan__company"), object_id)
        self._apply_with_date(request, [exercise], verb)
        return redirect("admin:grants_exercise_change", exercise.pk)

    def review_view(self, request, object_id):
        """The administrator confirms that an exercise dated after the last day stands."""
        if not self.has_record_permission(request):
            raise PermissionDenied
        exercise = object_or_404(Exercise.objects.select_related("grant"), object_id)
        form = ReviewForm(request.POST)
        try:
            if not form.is_valid():
                raise ValidationError(form.errors["note"][0])
            exercise.confirm_after_review(form.cleaned_data["note"])
        except ValidationError as refused:
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
        else:
            self.message_user(
                request, "Reviewed: the exercise stands, and check_books no longer lists it."
            )
        return redirect("admin:grants_exercise_change", exercise.pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        exercise = self.get_object(request, object_id)
        verbs, review = [], None
        if exercise is not None and self.has_record_permission(request):
            if exercise.is_made and exercise.reviewed_on is None:
                last_day = exercise.grant.expiration()
                if exercise.exercise_date > last_day.on:
                    review = {
                        "url": reverse("admin:grants_exercise_review", args=[exercise.pk]),
                        "last_day": last_day,
                        "form": ReviewForm(),
                    }
            today = exercise.grant.company.today()
            verbs = [
                {
                    "label": VERBS[verb][0],
                    "url": reverse(f"admin:grants_exercise_{verb}", args=[exercise.pk]),
                    "form": VerbDateForm(initial={"on": today}, auto_id=f"id_{verb}_%s"),
                }
                for verb in self._verbs_for(exercise)
            ]
        return super().change_view(
            request,
            object_id,
            form_url,
            {**(extra_context or {}), "exercise_verbs": verbs, "exercise_review": review},
        )

    @staticmethod
    def _verbs_for(exercise: Exercise) -> list[str]:
        """The buttons worth showing; the verbs themselves decide what is allowed."""
        if exercise.status == Exercise.Status.REQUESTED:
            return ["mark_paid", "cancel"]
        if exercise.status == Exercise.Status.AWAITING_PAYMENT:
            return ["mark_paid", "issue_shares", "cancel"]
        if exercise.status == Exercise.Status.PAID:
            return ["issue_shares", "cancel"]
        return []

    @admin.action(description="Mark payment received", permissions=["record"])
    def mark_paid(self, request, queryset):
        self._apply_with_date(request, queryset.select_related("grant__plan__company"), "mark_paid")

    @admin.action(description="Issue shares (only once paid in full)", permissions=["record"])
    def issue_shares(self, request, queryset):
        self._apply_with_date(
            request, queryset.select_related("grant__plan__company"), "issue_shares"
        )

    @admin.action(description="Cancel (returns the shares to the grant)", permissions=["record"])
    def cancel(self, request, queryset):
        self._apply_with_date(request, queryset.select_related("grant__plan__company"), "cancel")
