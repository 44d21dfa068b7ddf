"""Optionees and the end of their service, in the back office.

The optionee page shows every grant with where it stands today, the terminations, the
Section 16(b) liability windows, the notice address history and the recorded successors.
Service events go through the model verbs: ``Optionee.preview_termination`` and
``terminate`` (the administrator sees what a termination does to each grant before
confirming it), ``Termination.reverse``, ``Optionee.record_death`` and
``Optionee.change_role`` (a change of role is not a termination). A refusal shows the
rule's message and writes nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Subquery, prefetch_related_objects
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.views.decorators.http import require_POST

from grants import notifications, rules
from grants.admin.base import (
    AutocompleteSelect,
    EventAdmin,
    HistoryAdmin,
    form_error,
    object_or_404,
    optionee_label,
    per_share,
    render_admin_form,
    user_may,
    verb_screen,
)
from grants.models import (
    Exercise,
    ExerciseHold,
    Grant,
    NoticeAddress,
    Optionee,
    Successor,
    Termination,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _standing_termination_on():
    """The date of the optionee's standing (not reversed) termination, as an annotation."""
    return Subquery(
        Termination.objects.filter(optionee=OuterRef("pk"), reversed_at__isnull=True).values("on")[
            :1
        ]
    )


# --------------------------------------------------------------------------- optionees


class SuccessorInline(admin.TabularInline):
    """The estate or heirs who may exercise after the optionee's death (paragraph 7)."""

    model = Successor
    extra = 0
    fields = ["name", "user", "document", "document_reference", "recorded_on"]
    raw_id_fields = ["user"]


class TerminatedFilter(admin.SimpleListFilter):
    title = "service"
    parameter_name = "terminated"

    def lookups(self, request, model_admin):
        return [("yes", "Terminated"), ("no", "In service")]

    def queryset(self, request, queryset):
        # Not the column's subquery, run for every optionee: the terminated are those the
        # standing terminations name (20,000 counted in 10 ms, not 530), the rest in
        # service (an estimate of 480,000, by NOT EXISTS).
        standing = Termination.objects.filter(reversed_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(pk__in=standing.values("optionee_id"))
        if self.value() == "no":
            return queryset.exclude(Exists(standing.filter(optionee=OuterRef("pk"))))
        return queryset


class ChangeRoleForm(forms.Form):
    relationship = forms.ChoiceField(
        label="New role", choices=Optionee.Relationship.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, optionee: Optionee, **kwargs):
        super().__init__(*args, **kwargs)
        self.optionee = optionee

    def clean_relationship(self):
        relationship = self.cleaned_data["relationship"]
        if relationship == self.optionee.relationship:
            raise ValidationError(
                f"{self.optionee.legal_name}'s role is already "
                f"{self.optionee.get_relationship_display().lower()}; choose the new role."
            )
        return relationship


class DateOfDeathForm(forms.Form):
    on = forms.DateField(label="Date of death", widget=DATE_INPUT)


class HoldForm(forms.Form):
    start = forms.DateField(label="First day of the hold", widget=DATE_INPUT)
    end = forms.DateField(
        label="Last day of the hold",
        widget=DATE_INPUT,
        required=False,
        help_text="Leave empty for a hold that lasts until it is lifted.",
    )
    why = forms.CharField(
        label="Why",
        max_length=300,
        help_text="For example, a pending determination of cause. The optionee is told.",
    )


class LiftHoldForm(forms.Form):
    hold = forms.ModelChoiceField(label="Hold", queryset=ExerciseHold.objects.none())
    end = forms.DateField(label="Its last day", widget=DATE_INPUT)

    def __init__(self, *args, optionee: Optionee, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hold"].queryset = optionee.holds.filter(end__isnull=True)


class OptioneeAddForm(forms.ModelForm):
    """A new hire: the optionee with the address for written notices (paragraph 9)."""

    notice_address = forms.CharField(
        label="Address for notices",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40}),
        max_length=1000,
        help_text="The full postal address, as it should appear on an envelope; later "
        "changes are made by the optionee's written notice.",
    )

    class Meta:
        model = Optionee
        fields = [
            "company",
            "legal_name",
            "email",
            "employee_id",
            "relationship",
            "is_section16_insider",
            "user",
        ]

    def clean_notice_address(self):
        address = self.cleaned_data["notice_address"].strip()
        if len(address.splitlines()) < 2:
            raise ValidationError(
                "Give the full postal address on separate lines: name or street, then city, "
                "state and ZIP code."
            )
        return address


@admin.register(Optionee)
class OptioneeAdmin(HistoryAdmin):
    list_display = [
        "legal_name",
        "employee_id",
        "email",
        "relationship",
        "is_section16_insider",
        "standing_termination",
        "user",
    ]
    list_filter = ["relationship", "is_section16_insider", TerminatedFilter, "company"]
    list_select_related = ["user"]
    search_fields = ["legal_name", "email", "employee_id"]
    raw_id_fields = ["user"]
    # The terminations, the Section 16(b) windows and the notice address history are read
    # only here: tables drawn from the rows (``_service_context``), not three read-only
    # inline formsets (9 ms of form machinery on every visit). Successors are edited here.
    inlines = [SuccessorInline]
    # Half a million optionees: the unfiltered list takes PostgreSQL's estimate of the
    # count, and a filtered one is not counted a second time for the "of N" total.

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(standing_termination_on=_standing_termination_on())
        )

    @admin.display(description="terminated on", ordering="standing_termination_on")
    def standing_termination(self, optionee: Optionee):
        return optionee.standing_termination_on

    def get_readonly_fields(self, request, obj=None):
        # Recorded by the verbs: the role by change_role, the date of death by terminate or
        # record_death. An optionee stays with the company whose plan granted the options.
        return ["company", "relationship", "date_of_death"] if obj else ["date_of_death"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = OptioneeAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None and "notice_address" not in fields:
            fields = [*fields, "notice_address"]
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            with transaction.atomic():
                super().save_model(request, obj, form, change)
                NoticeAddress.objects.create(
                    optionee=obj,
                    address=form.cleaned_data["notice_address"],
                    effective_on=obj.company.today(),
                )
            return
        # Only the fields on the form: a verb may have changed the role or the date of
        # death since this page was opened, and those belong to the verbs.
        obj._history_user = request.user
        obj.save(update_fields=form.changed_data)

    def revert_disabled(self, request, obj=None):
        """Reverting to an old version would rewrite the role and the date of death, which
        only the verbs change (``change_role``, ``terminate``, ``record_death``)."""
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/change-role/",
                self.admin_site.admin_view(self.change_role_view),
                name="grants_optionee_change_role",
            ),
            path(
                "<path:object_id>/record-death/",
                self.admin_site.admin_view(self.record_death_view),
                name="grants_optionee_record_death",
            ),
            path(
                "<path:object_id>/hold-exercises/",
                self.admin_site.admin_view(self.hold_view),
                name="grants_optionee_hold",
            ),
            path(
                "<path:object_id>/lift-hold/",
                self.admin_site.admin_view(self.lift_hold_view),
                name="grants_optionee_lift_hold",
            ),
            path(
                "<path:object_id>/invite/",
                self.admin_site.admin_view(require_POST(self.invite_view)),
                name="grants_optionee_invite",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        optionee = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if optionee is not None:
            context.update(self._service_context(request, optionee))
        return super().change_view(request, object_id, form_url, context)

    def _service_context(self, request, optionee: Optionee) -> dict:
        """The grants with their positions today, the role history and what may be done."""
        company = optionee.company
        today = company.today()
        price = company.closing_price(today)
        grants = (
            Grant.objects.filter(optionee=optionee).with_facts().order_by("grant_date", "number")
        )
        prefetch_related_objects(
            [optionee],
            "terminations",
            "section16_windows",
            "holds",
            Prefetch("notice_addresses", NoticeAddress.objects.select_related("notice")),
        )
        standing = optionee.active_termination()
        holds = list(optionee.holds.all())
        may_change = user_may(request, "change", Optionee)
        roles, previous = [], None
        for record in optionee.history.select_related("history_user").order_by("history_date"):
            if record.relationship != previous:
                roles.append(record)
                previous = record.relationship
        return {
            "today": today,
            "grant_positions": [
                (grant, grant.position(today, closing_price=price), per_share(grant.exercise_price))
                for grant in grants
            ],
            "role_history": roles,
            "standing_termination": standing,
            "may_change_role": may_change,
            "may_record_death": may_change
            and standing is not None
            and optionee.date_of_death is None,
            "may_terminate": standing is None and user_may(request, "add", Termination),
            "may_invite": may_change and optionee.user_id is None and bool(optionee.email),
            "may_reverse": standing is not None and user_may(request, "change", Termination),
            "may_exercise": user_may(request, "add", Exercise),
            "holds": holds,
            "may_hold": may_change,
            "may_lift_hold": may_change and any(hold.end is None for hold in holds),
            "terminations": list(optionee.terminations.all()),
            "liability_windows": list(optionee.section16_windows.all()),
            "notice_addresses": list(optionee.notice_addresses.all()),
        }

    def _optionee_or_404(self, request, object_id) -> Optionee:
        if not user_may(request, "change", Optionee):
            raise PermissionDenied
        return object_or_404(Optionee.objects.select_related("company"), object_id)

    def change_role_view(self, request, object_id):
        optionee = self._optionee_or_404(request, object_id)

        def act(data):
            old = optionee.get_relationship_display().lower()
            optionee.change_role(data["relationship"])
            return (
                f"{optionee.legal_name}'s role changed from {old} to "
                f"{optionee.get_relationship_display().lower()}; service continues and no "
                f"expiration date moved."
            )

        return verb_screen(
            request,
            self,
            form=ChangeRoleForm(request.POST or None, optionee=optionee),
            act=act,
            done="Record the change of role",
            title=f"Change of role: {optionee.legal_name}",
            intro=(
                f"{optionee.legal_name} is now {optionee.get_relationship_display().lower()}. "
                f"A change of role (for example from employee to consultant or director) is "
                f"not a termination: continuous service goes on, vesting continues and the "
                f"options keep their expiration dates. The history keeps the old role."
            ),
            next_url=reverse("admin:grants_optionee_change", args=[optionee.pk]),
        )

    def record_death_view(self, request, object_id):
        optionee = self._optionee_or_404(request, object_id)

        def act(data):
            optionee.record_death(data["on"])
            return (
                f"Death of {optionee.legal_name} on {data['on']:%Y-%m-%d} recorded; from now on "
                f"only a recorded successor may exercise."
            )

        return verb_screen(
            request,
            self,
            form=DateOfDeathForm(request.POST or None),
            act=act,
            done="Record the death",
            title=f"Record the death of {optionee.legal_name}",
            intro=(
                "For an optionee whose service had already ended. From the date of death only "
                "the estate or an heir recorded as successor may exercise (paragraph 7); the "
                "expiration date stays the one the earlier termination set. If the optionee "
                "was still in service, record a termination for death instead."
            ),
            next_url=reverse("admin:grants_optionee_change", args=[optionee.pk]),
        )

    def hold_view(self, request, object_id):
        optionee = self._optionee_or_404(request, object_id)

        def act(data):
            hold = optionee.hold_exercise(data["start"], data["end"], data["why"])
            until = f"through {hold.end:%Y-%m-%d}" if hold.end else "until it is lifted"
            return (
                f"{optionee.legal_name}'s exercises are held from {hold.start:%Y-%m-%d} "
                f"{until}; {optionee.legal_name} has been told in writing."
            )

        return verb_screen(
            request,
            self,
            form=HoldForm(request.POST or None),
            act=act,
            done="Hold the exercises",
            title=f"Hold the exercises of {optionee.legal_name}",
            intro=(
                "No notice of exercise of any of the optionee's grants is accepted on a day "
                "inside the hold (a pending for-cause determination, say). The hold extends "
                "no window: an option still ends on its last day. A company-wide suspension "
                "of registration is recorded under Registration suspensions instead."
            ),
            next_url=reverse("admin:grants_optionee_change", args=[optionee.pk]),
        )

    def lift_hold_view(self, request, object_id):
        optionee = self._optionee_or_404(request, object_id)

        def act(data):
            data["hold"].end_on(data["end"])
            return (
                f"The hold from {data['hold'].start:%Y-%m-%d} ends with "
                f"{data['end']:%Y-%m-%d}; {optionee.legal_name} has been told in writing."
            )

        return verb_screen(
            request,
            self,
            form=LiftHoldForm(request.POST or None, optionee=optionee),
            act=act,
            done="Lift the hold",
            title=f"Lift a hold on the exercises of {optionee.legal_name}",
            intro="From the day after its last day, exercises are accepted again.",
            next_url=reverse("admin:grants_optionee_change", args=[optionee.pk]),
        )

    def invite_view(self, request, object_id):
        """Open the optionee's portal account and e-mail the link to set a password. The
        stock administrator needs no rights over user accounts: the account can do nothing
        but see this optionee's own grants."""
        if not user_may(request, "change", Optionee):
            raise PermissionDenied
        optionee = self._optionee_or_404(request, object_id)
        try:
            with transaction.atomic():
                user = optionee.open_portal_account()
                link = request.build_absolute_uri(
                    reverse(
                        "password_reset_confirm",
                        args=[
                            urlsafe_base64_encode(force_bytes(user.pk)),
                            default_token_generator.make_token(user),
                        ],
                    )
                )
                notifications.portal_invitation(optionee, link)
        except ValidationError as refused:
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
        else:
            self.message_user(
                request,
                f"{optionee.legal_name} is invited to the portal as “{user.username}”: the "
                f"link to set a password goes to {optionee.email}.",
                messages.SUCCESS,
            )
        return redirect(reverse("admin:grants_optionee_change", args=[optionee.pk]))


# --------------------------------------------------------------------------- terminations


class OptioneeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, optionee: Optionee) -> str:
        return optionee_label(optionee)


class TerminationForm(forms.Form):
    """The end of an optionee's continuous service (paragraph 5b)."""

    # Searched as the person types: a select of every optionee took 17 seconds to draw
    # on a book of 500,000 optionees.
    optionee = OptioneeChoiceField(
        queryset=Optionee.objects.order_by("legal_name"),
        widget=AutocompleteSelect(Termination._meta.get_field("optionee"), admin.site),
    )
    on = forms.DateField(
        label="Termination date",
        widget=DATE_INPUT,
        help_text="The last day of continuous service; for a termination due to death, the "
        "date of death.",
    )
    reason = forms.ChoiceField(
        choices=Termination.Reason.choices,
        initial=Termination.Reason.INVOLUNTARY_OTHER,
        widget=forms.RadioSelect,
        help_text="The Open Cap Format's reasons: each grant's agreement form sets the window "
        "(and whether unvested shares vest) for each.",
    )
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The short names used before the agreement forms are still accepted.
        reason = self.data.get(self.add_prefix("reason"))
        if reason in rules.SHORT_REASONS:
            self.data = self.data.copy()
            self.data[self.add_prefix("reason")] = rules.SHORT_REASONS[reason]

    def signature(self) -> str:
        """What the preview showed; a confirmation of anything else is previewed again."""
        data = self.cleaned_data
        return f"{data['optionee'].pk}|{data['on']:%Y-%m-%d}|{data['reason']}"


class ReverseTerminationForm(forms.Form):
    why = forms.CharField(
        label="Why it is reversed",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StandingFilter(admin.SimpleListFilter):
    title = "standing"
    parameter_name = "standing"

    def lookups(self, request, model_admin):
        return [("yes", "Standing"), ("no", "Reversed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(reversed_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(reversed_at__isnull=False)
        return queryset


@admin.register(Termination)
class TerminationAdmin(EventAdmin):
    list_display = ["optionee", "on", "reason", "date_of_death", "standing", "recorded_at"]
    list_filter = ["reason", StandingFilter]
    list_select_related = ["optionee"]
    search_fields = ["optionee__legal_name", "optionee__employee_id", "optionee__email"]
    date_hierarchy = "on"
    fields = [
        "optionee",
        "on",
        "reason",
        "date_of_death",
        "note",
        "recorded_at",
        "reversed_at",
        "reversal_reason",
    ]
    readonly_fields = fields

    @admin.display(boolean=True, description="standing")
    def standing(self, termination: Termination) -> bool:
        return termination.reversed_at is None

    def has_add_permission(self, request):
        """The "Add" button opens the screen that previews and records a termination."""
        return user_may(request, "add", Termination)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/reverse/",
                self.admin_site.admin_view(self.reverse_view),
                name="grants_termination_reverse",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        effects, previewed, stale = None, "", False
        if request.method == "POST":
            form = TerminationForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                optionee = data["optionee"]
                confirmed = "confirm" in request.POST
                try:
                    if confirmed and request.POST.get("previewed") == form.signature():
                        optionee.terminate(data["on"], data["reason"], note=data["note"])
                        self.message_user(
                            request,
                            f"Termination of {optionee.legal_name} on {data['on']:%Y-%m-%d} "
                            f"recorded; each grant's expiration date was recomputed.",
                            messages.SUCCESS,
                        )
                        return redirect("admin:grants_optionee_change", optionee.pk)
                    effects = optionee.preview_termination(data["on"], data["reason"])
                    previewed, stale = form.signature(), confirmed
                except ValidationError as refused:
                    form_error(form, refused)
        else:
            form = TerminationForm(initial={"optionee": request.GET.get("optionee")})
        return render_admin_form(
            request,
            self,
            title="Record a termination of service",
            form=form,
            template="admin/grants/termination/record.html",
            effects=effects,
            previewed=previewed,
            stale=stale,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        termination = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if termination is not None and termination.reversed_at is None:
            context["may_reverse"] = user_may(request, "change", Termination)
            context["may_record_death"] = termination.optionee.date_of_death is None and user_may(
                request, "change", Optionee
            )
        return super().change_view(request, object_id, form_url, context)

    def reverse_view(self, request, object_id):
        if not user_may(request, "change", Termination):
            raise PermissionDenied
        termination = object_or_404(Termination.objects.select_related("optionee"), object_id)

        def act(data):
            termination.reverse(data["why"])
            return (
                f"The termination of {termination.optionee.legal_name} on "
                f"{termination.on:%Y-%m-%d} was reversed; each grant's expiration date was "
                f"recomputed."
            )

        return verb_screen(
            request,
            self,
            form=ReverseTerminationForm(request.POST or None),
            act=act,
            done="Reverse the termination",
            title=f"Reverse a termination: {termination}",
            intro=(
                "Reverse a termination recorded in error. The record stays in the history with "
                "the reason you give; the optionee is back in service and every grant's "
                "expiration date is recomputed. To correct a date or a reason, reverse the "
                "termination and then record the corrected one."
            ),
            next_url=reverse("admin:grants_optionee_change", args=[termination.optionee_id]),
        )
