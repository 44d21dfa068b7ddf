"""Written notices in the back office (paragraph 9).

The administrator records notices in both directions with their method and dates; the
model computes the date each takes effect (``Notice.compute_effective_on``), shown
read-only. A change of the notice address is recorded with
``Optionee.change_notice_address``, and a notice to an optionee is printed to be sent to
the address on file when it was sent. Notices of exercise and of a change of address are
written by those verbs only: here they can be read, not edited.
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from grants import events
from grants.admin.base import (
    AutocompleteSelect,
    EventAdmin,
    HistoryAdmin,
    form_error,
    render_admin_form,
    user_may,
)
from grants.models import Acknowledgement, Notice, Optionee
from grants.models.dates import LATEST_DATE

HAND_METHODS = [Notice.Method.PERSONAL, Notice.Method.MAIL, Notice.Method.EMAIL]
# Notices of exercise and of a change of address come with the rows their verb writes.
VERB_KINDS = {Notice.Kind.EXERCISE, Notice.Kind.ADDRESS_CHANGE}
HAND_KINDS = [kind for kind in Notice.Kind if kind not in VERB_KINDS]
SHORT_DIRECTIONS = {
    Notice.Direction.TO_COMPANY: "to the company",
    Notice.Direction.TO_OPTIONEE: "to the optionee",
}


def _choices(members) -> list[tuple[str, str]]:
    return [(member.value, member.label) for member in members]


class NoticeForm(forms.ModelForm):
    """A notice recorded by hand, checked so its effective date can be computed."""

    # One key per form shown: the same form sent twice records one notice, not two.
    form_key = forms.CharField(
        widget=forms.HiddenInput,
        required=False,
        max_length=Notice._meta.get_field("submission_key").max_length,
    )

    class Meta:
        model = Notice
        fields = [
            "optionee",
            "grant",
            "direction",
            "method",
            "kind",
            "subject",
            "body",
            "address",
            "sent_on",
            "received_on",
        ]
        help_texts = {
            "sent_on": "For a mailed notice: the day it was deposited in the mail, postage "
            "prepaid.",
            "address": "For a notice to the optionee, leave it empty to use the address on "
            "file on the day it is sent.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.instance.pk is None:
            self.initial.setdefault("form_key", secrets.token_urlsafe(24))
        # On a read-only page (a notice written by a verb) the admin leaves these out.
        if "method" in self.fields:
            self.fields["method"].choices = _choices(HAND_METHODS)
        if "kind" in self.fields:
            self.fields["kind"].choices = _choices(HAND_KINDS)
            self.fields["kind"].help_text = (
                "Notices of exercise are recorded with the exercise; a change of address "
                "with “Record a change of address”."
            )

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            self.instance.submission_key = cleaned.get("form_key") or None
        optionee, grant = cleaned.get("optionee"), cleaned.get("grant")
        direction, method = cleaned.get("direction"), cleaned.get("method")
        sent, received = cleaned.get("sent_on"), cleaned.get("received_on")
        if optionee is not None:
            self.instance.company = optionee.company
            if grant is not None and grant.optionee_id != optionee.pk:
                self.add_error("grant", f"Grant {grant.number} is not one of {optionee}'s grants.")
            if received and received > optionee.company.today():
                self.add_error("received_on", "A notice cannot be received after today.")
        if sent and received and received < sent:
            self.add_error(
                "received_on",
                f"A notice cannot be received ({received:%Y-%m-%d}) before it was sent "
                f"({sent:%Y-%m-%d}).",
            )
        if direction == Notice.Direction.TO_COMPANY and not received:
            self.add_error(
                "received_on",
                "A notice from the optionee takes effect when the company receives it: "
                "enter the date it was received.",
            )
        today = optionee.company.today() if optionee is not None else None
        if sent and today and today < sent <= LATEST_DATE:
            self.add_error("sent_on", f"A notice cannot be sent after today ({today:%Y-%m-%d}).")
        if direction == Notice.Direction.TO_OPTIONEE and method == Notice.Method.MAIL:
            # Left empty, the letter waits in "Letters to print" until it is marked mailed.
            on = sent or today
            if optionee and on and not cleaned.get("address") and not optionee.notice_address(on):
                self.add_error(
                    "address",
                    f"{optionee} has no notice address on file on {on:%Y-%m-%d}: record "
                    f"one with “Record a change of address”, or type where it is sent.",
                )
        if direction == Notice.Direction.TO_OPTIONEE and method == Notice.Method.EMAIL:
            if optionee and not optionee.email_address:
                self.add_error(
                    "method",
                    f"{optionee} has no e-mail address on file: send the notice by mail, or "
                    f"add an address on the optionee's page first.",
                )
            if received:
                self.add_error(
                    "received_on",
                    "An e-mailed notice is received when the mail server takes it: the "
                    "software sends it and records that; leave this empty.",
                )
            if today and not sent:
                cleaned["sent_on"] = self.instance.sent_on = today
        return cleaned


class LettersToPrintFilter(admin.SimpleListFilter):
    """The company's letters to the optionee that are not yet mailed: print and post them,
    then mark them mailed (the deposit date starts the mailing delay, paragraph 9)."""

    title = "letters to print"
    parameter_name = "to_print"

    def lookups(self, request, model_admin):
        return [("yes", "Not yet mailed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(
                direction=Notice.Direction.TO_OPTIONEE,
                method=Notice.Method.MAIL,
                sent_on__isnull=True,
            ).order_by("mail_by", "pk")
        return queryset


class MailedOnForm(forms.Form):
    on = forms.DateField(
        label="Mailed on (empty: today)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class MailedActionForm(ActionForm, MailedOnForm):
    """The changelist's action bar, with the day the letters were mailed."""


@admin.register(Notice)
class NoticeAdmin(HistoryAdmin):
    form = NoticeForm
    list_display = [
        "subject",
        "optionee",
        "grant",
        "way",
        "method",
        "kind",
        "sent_on",
        "received_on",
        "effective_on",
    ]
    list_filter = [
        LettersToPrintFilter,
        "direction",
        "method",
        "kind",
        ("effective_on", admin.DateFieldListFilter),
    ]
    actions = ["mark_mailed"]
    action_form = MailedActionForm
    list_select_related = ["optionee", "grant"]
    search_fields = ["subject", "optionee__legal_name", "grant__number"]
    autocomplete_fields = ["optionee", "grant"]
    readonly_fields = ["effective_on", "received_at", "recorded_by", "created_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "optionee",
                    "grant",
                    "direction",
                    "method",
                    "kind",
                    "recorded_by",
                    "form_key",
                ]
            },
        ),
        ("Notice", {"fields": ["subject", "body", "address"]}),
        (
            "Dates (paragraph 9)",
            {
                "fields": ["sent_on", "received_on", "received_at", "effective_on", "created_at"],
                "description": "A notice takes effect on receipt; one the company mails to "
                "the optionee, a set number of days after deposit (five under the standard "
                "terms), or on receipt if that is earlier.",
            },
        ),
    ]

    @admin.display(description="direction", ordering="direction")
    def way(self, notice: Notice) -> str:
        return SHORT_DIRECTIONS[notice.direction]

    @admin.display(description="recorded with")
    def recorded_by(self, notice: Notice) -> str:
        if notice.kind == Notice.Kind.EXERCISE and hasattr(notice, "exercise"):
            url = reverse("admin:grants_exercise_change", args=[notice.exercise.pk])
            return format_html('the exercise <a href="{}">{}</a>', url, notice.exercise)
        if notice.kind == Notice.Kind.ADDRESS_CHANGE:
            return "the change of notice address it designates"
        return "entered by hand"

    def get_fieldsets(self, request, obj=None):
        """The form's one-time key belongs to the add form only."""
        if obj is None:
            return self.fieldsets
        first, *rest = self.fieldsets
        fields = [f for f in first[1]["fields"] if f != "form_key"]
        return [(first[0], {**first[1], "fields": fields}), *rest]

    def save_model(self, request, obj, form, change):
        """A notice is recorded once: the same add form sent again (a double click, the
        back button, a retry) shows the notice the first one recorded. A new notice to the
        optionee by e-mail is e-mailed (through the outbox, in the same transaction)."""
        if change or not obj.submission_key:
            return self._save(request, obj, form, change)
        earlier = Notice.objects.filter(submission_key=obj.submission_key).first()
        if earlier is None:
            try:
                with transaction.atomic():
                    return self._save(request, obj, form, change)
            except IntegrityError:  # the other copy of the form won the race
                earlier = Notice.objects.get(submission_key=obj.submission_key)
        obj.pk, obj._state.adding = earlier.pk, False
        return None

    def _save(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                events.notices_given.send(sender=Notice, notices=[obj])

    @admin.action(description="Mark mailed (letters to the optionee)", permissions=["change"])
    def mark_mailed(self, request, queryset):
        form = MailedOnForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Enter a valid date.", messages.ERROR)
            return
        done = 0
        for notice in queryset.select_related("company"):
            try:
                notice.mark_mailed(form.cleaned_data["on"] or notice.company.today())
            except ValidationError as refused:
                self.message_user(
                    request, f"{notice}: {' '.join(refused.messages)}", messages.ERROR
                )
            else:
                done += 1
        if done:
            self.message_user(
                request,
                f"Marked mailed: {done:,} letter{'s' if done != 1 else ''}.",
                messages.SUCCESS,
            )

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.kind in VERB_KINDS:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.kind in VERB_KINDS:
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "change-address/",
                view(self.change_address_view),
                name="grants_notice_change_address",
            ),
            path("<path:object_id>/print/", view(self.print_view), name="grants_notice_print"),
            *super().get_urls(),
        ]

    def change_address_view(self, request):
        """Record the optionee's written notice designating a new notice address."""
        if not user_may(request, "add", Notice):
            raise PermissionDenied
        initial = {"optionee": request.GET.get("optionee")}
        form = ChangeAddressForm(request.POST or None, initial=initial, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            optionee = data["optionee"]
            try:
                notice = optionee.change_notice_address(
                    data["address"], received_on=data["received_on"], method=data["method"]
                )
            except ValidationError as error:
                form_error(form, error)
            else:
                self.log_addition(request, notice, [{"added": {}}])
                said = (
                    f"{optionee}'s notice address is the new one from "
                    f"{notice.effective_on:%Y-%m-%d}."
                )
                today = optionee.company.today()
                if notice.effective_on < today:
                    since = optionee.notices.filter(
                        direction=Notice.Direction.TO_OPTIONEE,
                        sent_on__gte=notice.effective_on,
                        sent_on__lte=today,
                    ).exclude(method=Notice.Method.EMAIL)
                    said += (
                        f" It is back-dated: the address on file from "
                        f"{notice.effective_on:%Y-%m-%d} to today is now the new one. "
                        + (
                            f"{since.count()} notice(s) mailed since then went to the old "
                            f"address and keep it as sent; check whether to send them again."
                            if since.exists()
                            else "No notice was mailed since then."
                        )
                    )
                self.message_user(request, said, messages.SUCCESS)
                return redirect("admin:grants_notice_change", notice.pk)
        return render_admin_form(
            request,
            self,
            title="Record a change of notice address",
            form=form,
            template="admin/grants/notice/change_address.html",
            optionee=form.chosen_optionee(),
            submit_label="Record the new address",
        )

    def print_view(self, request, object_id):
        """A notice to the optionee, laid out to print and send (no external assets)."""
        notice = self.get_object(request, unquote(object_id))
        if notice is None or notice.direction != Notice.Direction.TO_OPTIONEE:
            raise Http404("No notice to an optionee with this id.")
        if not self.has_view_permission(request, notice):
            raise PermissionDenied
        return TemplateResponse(
            request,
            "admin/grants/notice/print.html",
            {
                "notice": notice,
                "company": notice.company,
                "is_mail": notice.method == Notice.Method.MAIL,
                "mail_days": notice.mail_notice_days(),
            },
        )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("company", "optionee", "grant")


class ChangeAddressForm(forms.Form):
    """The optionee's written notice of a new address for notices (paragraph 9)."""

    address = forms.CharField(
        label="New notice address",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="As it should appear on an envelope, name first.",
    )
    received_on = forms.DateField(
        label="Date the written notice was received",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The new address applies from the day the notice takes effect: its receipt.",
    )
    method = forms.ChoiceField(
        label="Notice delivered by", choices=_choices(HAND_METHODS), initial=Notice.Method.MAIL
    )

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # Searched as the person types: a select of every optionee would not scale.
        self.fields = {
            "optionee": forms.ModelChoiceField(
                queryset=Optionee.objects.all(),
                widget=AutocompleteSelect(Notice._meta.get_field("optionee"), admin_site),
            ),
            **self.fields,
        }

    def clean_received_on(self):
        received = self.cleaned_data["received_on"]
        optionee = self.cleaned_data.get("optionee")
        if optionee is not None and received > optionee.company.today():
            raise ValidationError("A notice cannot be received after today.")
        return received

    def chosen_optionee(self) -> Optionee | None:
        """The optionee picked (or passed in the address bar), to show the address on file."""
        value = self.data.get("optionee") if self.is_bound else self.initial.get("optionee")
        if not value:
            return None
        try:
            return Optionee.objects.select_related("company").filter(pk=value).first()
        except (ValueError, TypeError):
            return None


@admin.register(Acknowledgement)
class AcknowledgementAdmin(EventAdmin):
    list_display = ["grant", "user", "acknowledged_at", "documents_version"]
    list_select_related = ["grant", "user"]
    search_fields = ["grant__number", "user__username"]
