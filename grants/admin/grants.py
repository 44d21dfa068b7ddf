"""Grants, plans and grant terms in the back office.

A grant and its vesting schedule are written only by ``Grant.create``: the add page is a
form that builds the schedule (a common shape through ``grants.schedules.build_schedule``,
or explicit rows) and hands it to the verb, which refuses a schedule that does not add up,
a grant beyond the plan's reserve or a term beyond the plan's maximum. An existing grant is
a contract: its page shows it read-only, with its schedule, position, expiration and
history. The list computes vested, exercised and exercisable shares through
``Grant.position`` on a page loaded by ``Grant.objects.with_facts()``, so it makes the same
number of queries whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal
from functools import reduce

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef, Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from grants import rules
from grants.admin.base import (
    AutocompleteSelect,
    HistoryAdmin,
    ReadOnlyInline,
    few_found_first,
    form_error,
    grant_label,
    render_admin_form,
    user_may,
    verb_screen,
)
from grants.admin.list_cache import ServedAgainChangeList
from grants.models import Company, Exercise, Grant, GrantTerms, Optionee, Plan, Termination
from grants.schedules import build_schedule
from grants.services import granting


def price_text(price: Decimal | None) -> str:
    """A price per share in cents, or with every recorded decimal when it has more."""
    if price is None:
        return ""
    cents = price.quantize(Decimal("0.01"))
    return str(cents if cents == price else price.normalize())


# --------------------------------------------------------------------------- date windows


def company_todays() -> dict[dt.date, list[int]]:
    """Company ids grouped by their local today (one query): every window below is read
    relative to the company's own date, as the contract rules are."""
    return Company.todays()


def expiring_within(days: int) -> Q:
    """Outstanding grants whose stored effective expiration date falls from their company's
    today through ``days`` days later."""
    windows = [
        Q(
            plan__company__in=ids,
            expires_on__gte=today,
            expires_on__lte=today + dt.timedelta(days=days),
        )
        for today, ids in company_todays().items()
    ]
    return Q(status=Grant.Status.GRANTED) & reduce(operator.or_, windows, Q(pk__in=[]))


def standing_termination() -> Exists:
    """The grant's optionee has a termination that stands (not reversed)."""
    return Exists(
        Termination.objects.filter(optionee=OuterRef("optionee"), reversed_at__isnull=True)
    )


# --------------------------------------------------------------------------- list filters


class TerminatedFilter(admin.SimpleListFilter):
    title = "service"
    parameter_name = "terminated"

    def lookups(self, request, model_admin):
        return [("yes", "Terminated (standing termination)"), ("no", "In service")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(standing_termination())
        if self.value() == "no":
            return queryset.exclude(standing_termination())
        return queryset


class ExpiringFilter(admin.SimpleListFilter):
    title = "expiring"
    parameter_name = "expiring"

    def lookups(self, request, model_admin):
        return [("30", "Within 30 days"), ("90", "Within 90 days")]

    def queryset(self, request, queryset):
        if self.value() in ("30", "90"):
            return few_found_first(queryset, expiring_within(int(self.value())))
        return queryset


# --------------------------------------------------------------------------- the add form


def parse_installments(text: str) -> list[tuple[dt.date, int]]:
    """Read custom installments, one ``YYYY-MM-DD, shares`` per line (blank lines skipped).

    Every unreadable line is reported with its number; the schedule itself (adding up,
    dates, duplicates) is judged by ``Grant.create``.
    """
    installments, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        date_text, comma, shares_text = (part.strip() for part in line.partition(","))
        if not comma or not shares_text:
            errors.append(
                f"Line {number}: write the vesting date and the shares separated by a comma, "
                f"for example 2006-07-13, 225000."
            )
            continue
        try:
            vest_date = dt.date.fromisoformat(date_text)
        except ValueError:
            errors.append(f"Line {number}: “{date_text}” is not a date; write it as YYYY-MM-DD.")
            continue
        try:
            shares = rules.whole_shares(shares_text)
        except ValidationError as error:
            errors.append(f"Line {number}: {error.messages[0]}")
            continue
        installments.append((vest_date, shares))
    if errors:
        raise ValidationError(errors)
    return installments


class GrantForm(forms.Form):
    """What a grant needs, with its vesting schedule built from a shape or typed as rows."""

    SHAPE, CUSTOM = "shape", "custom"

    number = forms.CharField(
        max_length=50, label="Grant number", validators=Grant._meta.get_field("number").validators
    )
    optionee = forms.ModelChoiceField(Optionee.objects.none())  # set up in __init__
    plan = forms.ModelChoiceField(Plan.objects.select_related("company"))
    terms = forms.ModelChoiceField(
        GrantTerms.objects.all(),
        label="Agreement form",
        help_text="The terms another agreement may set differently (minimum exercise, "
        "post-termination windows, ...).",
    )
    option_type = forms.ChoiceField(choices=Grant.Type.choices, initial=Grant.Type.NSO)
    grant_date = forms.DateField(widget=AdminDateWidget)
    shares = forms.CharField(label="Shares granted", max_length=20)
    exercise_price = forms.DecimalField(
        max_digits=14,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        label="Exercise price per share ($)",
        error_messages={"min_value": "The exercise price must be above zero."},
    )
    discount_confirmed = forms.BooleanField(
        required=False,
        label="Confirm a discounted price",
        help_text="Only after the warning that the price is below the closing price on the "
        "grant date: the plan allows a discounted option, and its tax consequences (Section "
        "409A) are understood.",
    )
    term_end = forms.DateField(
        widget=AdminDateWidget,
        label="End of term",
        help_text="No later than the plan's maximum term after the grant date.",
    )
    schedule_kind = forms.ChoiceField(
        choices=[
            (SHAPE, "A common shape, built from the fields below"),
            (CUSTOM, "Custom installments"),
        ],
        initial=SHAPE,
        widget=forms.RadioSelect,
        label="Vesting schedule",
    )
    immediate_shares = forms.CharField(
        initial="0",
        max_length=20,
        label="Immediate tranche (shares)",
        help_text="Shares that vest on the grant date; 0 for none.",
    )
    cliff_months = forms.IntegerField(
        min_value=0,
        initial=12,
        label="Cliff (months)",
        help_text="Nothing more vests before the cliff; the cliff installment carries its "
        "share. 0 for no cliff.",
    )
    vesting_months = forms.IntegerField(
        min_value=0,
        initial=48,
        label="Vesting period (months)",
        help_text="The rest has vested this many months after the vesting start date.",
    )
    vesting_start = forms.DateField(
        required=False,
        widget=AdminDateWidget,
        label="Vesting start date",
        help_text="The cliff and the installments count from it; empty for the grant date. "
        "Installments earned before the grant date vest on the grant date.",
    )
    every_months = forms.TypedChoiceField(
        choices=[
            (1, "Every month"),
            (3, "Every three months (quarterly)"),
            (6, "Every six months"),
            (12, "Every year"),
        ],
        coerce=int,
        initial=3,
        label="Installments",
        help_text="After the cliff; the last installment takes the remainder.",
    )
    custom_installments = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 40}),
        label="Custom installments",
        help_text="One installment a line: <code>YYYY-MM-DD, shares</code>, for example "
        "<code>2006-07-13, 225000</code>.",
    )

    SHAPE_FIELDS = ("immediate_shares", "cliff_months", "vesting_months", "every_months")
    NOT_FOR_PREVIEW = ("number", "optionee", "plan", "terms", "exercise_price", "term_end")
    NOT_A_SCHEDULE = ("discount_confirmed",)
    PREVIEW = "_preview"

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # Searched as the administrator types: a book can hold many thousands of optionees.
        self.fields["optionee"] = forms.ModelChoiceField(
            Optionee.objects.select_related("company"),
            widget=AutocompleteSelect(Grant._meta.get_field("optionee"), admin_site),
        )
        # A new grant starts with the form of the grant made last; the administrator chooses.
        latest = Grant.objects.order_by("-pk").values_list("terms", flat=True).first()
        if latest is not None:
            self.fields["terms"].initial = latest
        # Only the chosen way of giving the schedule needs its fields, and a preview needs
        # nothing but the schedule.
        optional = []
        if self.data.get(self.add_prefix("schedule_kind")) == self.CUSTOM:
            optional += self.SHAPE_FIELDS
        if self.PREVIEW in self.data:
            optional += self.NOT_FOR_PREVIEW
        for name in optional:
            self.fields[name].required = False

    def clean_shares(self) -> int:
        return rules.whole_shares(self.cleaned_data["shares"])

    def clean_immediate_shares(self) -> int:
        value = self.cleaned_data["immediate_shares"]
        if self.data.get(self.add_prefix("schedule_kind")) == self.CUSTOM or not value:
            return 0
        return rules.whole_shares(value)

    def clean(self):
        data = super().clean()
        needed = ("grant_date", "shares", "schedule_kind")
        if any(name not in data for name in needed):
            return data
        if data["schedule_kind"] == self.CUSTOM:
            try:
                data["installments"] = parse_installments(data.get("custom_installments", ""))
            except ValidationError as error:
                self.add_error("custom_installments", error)
            return data
        if any(name not in data for name in self.SHAPE_FIELDS):
            return data
        try:
            data["installments"] = build_schedule(
                grant_date=data["grant_date"],
                total_shares=data["shares"],
                immediate_shares=data["immediate_shares"],
                cliff_months=data["cliff_months"],
                vesting_months=data["vesting_months"],
                every_months=data["every_months"],
                vesting_start=data.get("vesting_start"),
            )
        except ValidationError as error:
            self.add_error(None, error)
        return data

    def preview(self) -> dict:
        """The installments as they would be saved, with a running total; a schedule that
        does not pass the schedule rule shows the rule's message (nothing is saved)."""
        data = self.cleaned_data
        rows, running = [], 0
        for vest_date, shares in data["installments"]:
            running += shares
            rows.append({"vest_date": vest_date, "shares": shares, "cumulative": running})
        try:
            granting.check_schedule(data["grant_date"], data["shares"], data["installments"])
        except ValidationError as error:
            form_error(self, error)
        return {"rows": rows, "total": running, "shares": data["shares"]}

    def save(self) -> Grant:
        data = self.cleaned_data
        return Grant.create(
            number=data["number"].strip(),
            plan=data["plan"],
            optionee=data["optionee"],
            grant_date=data["grant_date"],
            shares=data["shares"],
            exercise_price=data["exercise_price"],
            term_end=data["term_end"],
            installments=data["installments"],
            option_type=data["option_type"],
            grant_terms=data["terms"],
            discount_confirmed=data["discount_confirmed"],
        )

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields in the groups the add page shows."""
        schedule = ("schedule_kind", "vesting_start", *self.SHAPE_FIELDS, "custom_installments")
        return [
            ("Grant", [self[name] for name in self.fields if name not in schedule]),
            ("Vesting schedule", [self[name] for name in schedule]),
        ]


# --------------------------------------------------------------------------- grant admin


class ExerciseInline(ReadOnlyInline):
    model = Exercise
    fields = ["exercise_date", "shares", "payment_method", "aggregate_price", "status"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "exercises"


class ForfeitForm(forms.Form):
    on = forms.DateField(
        label="Forfeited from", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    why = forms.CharField(
        label="Why",
        max_length=300,
        help_text="For example, cause found or joining a competitor. The optionee is told.",
    )


@admin.register(Grant)
class GrantAdmin(ServedAgainChangeList, HistoryAdmin):
    # A million grants: no COUNT(*) over the whole table for each page.
    list_display = [
        "number",
        "optionee",
        "grant_date",
        "granted",
        "price",
        "vested",
        "exercised",
        "exercisable_today",
        "status_today",
        "expires_on",
    ]
    list_filter = [
        "status",
        "plan",
        "option_type",
        TerminatedFilter,
        ExpiringFilter,
        ("optionee__is_section16_insider", admin.BooleanFieldListFilter),
    ]
    list_select_related = ["optionee"]  # and the rest prefetched (get_queryset)
    search_fields = ["number", "optionee__legal_name", "optionee__email"]
    autocomplete_label = staticmethod(grant_label)
    search_help_text = "Grant number, optionee name or e-mail."
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "optionee",
                    "plan",
                    "terms",
                    "option_type",
                    "grant_date",
                    "granted",
                    "price",
                    "term_end",
                    "fair_value",
                ]
            },
        ),
        (
            "Status",
            {
                "fields": [
                    "status_today",
                    "expires_on",
                    "expiration_clause",
                    "returned_shares",
                    "documents_version",
                    "created_at",
                ]
            },
        ),
    ]
    readonly_fields = ["granted", "price", "status_today", "fair_value"]
    inlines = [ExerciseInline]

    @admin.display(description="grant-date fair value")
    def fair_value(self, grant: Grant) -> str:
        """The valuation's inputs, the value per share and in total (ASC 718)."""
        valuation = getattr(grant, "valuation", None)
        if valuation is None:
            return "None recorded (Grant valuations, or import_valuations)."
        if valuation.outside_valuation:
            inputs = "from an outside valuation"
        else:
            inputs = (
                f"Black-Scholes-Merton: share price ${valuation.spot}, volatility "
                f"{valuation.volatility}, risk-free rate {valuation.risk_free_rate}, dividend "
                f"yield {valuation.dividend_yield}, expected term {valuation.expected_term_years}"
                f" years{' (simplified method)' if valuation.simplified_term else ''}"
            )
        return f"${valuation.fair_value_per_share} a share, ${valuation.total:,} in all ({inputs})"

    change_form_template = "admin/grants/grant/change_form.html"

    # A grant is a contract: created by Grant.create, never edited or deleted by hand.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # Prefetches every row the rules read; the changelist evaluates only its page. The
        # plans, their company and the agreement forms are read once for a page (its fifty
        # grants share a few of each), not joined into every row: 4 ms of a page's fifty
        # rows of objects at a million grants.
        return (
            super()
            .get_queryset(request)
            .with_facts()
            .select_related(None)
            .select_related("optionee")
            .prefetch_related("plan__company", "terms")
        )

    def position_today(self, grant: Grant):
        """The grant's position today, computed once per row (the list shows no values, so
        no closing price is looked up)."""
        position = getattr(grant, "_position_today", None)
        if position is None:
            position = grant._position_today = grant.position(closing_price=None)
        return position

    @admin.display(description="shares", ordering="shares")
    def granted(self, grant: Grant) -> str:
        return f"{grant.shares:,}"

    @admin.display(description="exercise price", ordering="exercise_price")
    def price(self, grant: Grant) -> str:
        return f"${price_text(grant.exercise_price)}"

    @admin.display(description="vested")
    def vested(self, grant: Grant) -> str:
        return f"{self.position_today(grant).vested:,}"

    @admin.display(description="exercised")
    def exercised(self, grant: Grant) -> str:
        return f"{self.position_today(grant).exercised:,}"

    @admin.display(description="exercisable today")
    def exercisable_today(self, grant: Grant) -> str:
        return f"{self.position_today(grant).exercisable:,}"

    @admin.display(description="status", ordering="status")
    def status_today(self, grant: Grant) -> str:
        """The rules' answer for today: a grant past its last day is expired, whether or not
        the nightly job has stored it yet."""
        return self.position_today(grant).status_label

    def add_view(self, request, form_url="", extra_context=None):
        """Create a grant with its installments through ``Grant.create``; "Preview
        schedule" shows the installments without saving anything."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = GrantForm(request.POST or None, admin_site=self.admin_site)
        preview = None
        if request.method == "POST" and form.is_valid():
            if GrantForm.PREVIEW in request.POST:
                preview = form.preview()
            else:
                try:
                    grant = form.save()
                except ValidationError as error:
                    form_error(form, error)
                else:
                    self.log_addition(request, grant, [{"added": {}}])
                    self.message_user(
                        request,
                        f"Grant {grant.number} was created: {grant.shares:,} shares in "
                        f"{len(form.cleaned_data['installments'])} installments.",
                        messages.SUCCESS,
                    )
                    return redirect(reverse("admin:grants_grant_change", args=[grant.pk]))
        return render_admin_form(
            request,
            self,
            title="Add grant",
            form=form,
            template="admin/grants/grant/add_form.html",
            preview=preview,
        )

    def get_urls(self):
        cancel = path(
            "<path:object_id>/cancel/",
            self.admin_site.admin_view(require_POST(self.cancel_view)),
            name="grants_grant_cancel",
        )
        forfeit = path(
            "<path:object_id>/forfeit/",
            self.admin_site.admin_view(self.forfeit_view),
            name="grants_grant_forfeit",
        )
        return [cancel, forfeit, *super().get_urls()]

    def forfeit_view(self, request, object_id):
        """Forfeit the option (``Grant.forfeit``): the day and why, then the optionee is
        told in writing and the unexercised shares return to the plan."""
        if not user_may(request, "change", Grant):
            raise PermissionDenied
        grant = self.get_object(request, unquote(object_id))
        if grant is None:
            raise Http404("No grant with this id.")

        def act(data):
            grant.forfeit(data["on"], data["why"])
            return (
                f"Grant {grant.number} is forfeited from {data['on']:%Y-%m-%d}: its "
                f"{grant.returned_shares:,} unexercised shares are back in the plan's reserve, "
                f"and {grant.optionee.legal_name} has been told in writing."
            )

        position = grant.position()
        return verb_screen(
            request,
            self,
            form=ForfeitForm(request.POST or None),
            act=act,
            done="Forfeit the option",
            title=f"Forfeit grant {grant.number} of {grant.optionee.legal_name}",
            intro=(
                f"From the day of the forfeiture nothing of the option vests or can be "
                f"exercised, and its unexercised shares ({position.total - position.exercised:,} "
                f"today) return to the plan; exercises made before it stand, and a pending "
                f"request lapses. Use it when the agreement or the plan forfeits the option "
                f"at once: cause found, joining a competitor, a clawback."
            ),
            next_url=reverse("admin:grants_grant_change", args=[grant.pk]),
        )

    def cancel_view(self, request, object_id):
        """Cancel a grant recorded in error (``Grant.cancel``), with the reason."""
        if not user_may(request, "add", Grant):
            raise PermissionDenied
        grant = self.get_object(request, unquote(object_id))
        if grant is None:
            raise Http404("No grant with this id.")
        try:
            grant.cancel(request.POST.get("reason", ""))
        except ValidationError as refused:
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
        else:
            self.message_user(
                request,
                f"Grant {grant.number} is cancelled: its {grant.shares:,} shares are back in "
                f"the plan's reserve. Record the corrected grant with Add grant.",
                messages.SUCCESS,
            )
        return redirect(reverse("admin:grants_grant_change", args=[grant.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        grant = self.get_object(request, unquote(object_id))
        if grant is not None:
            position = grant.position()
            extra_context = {
                **(extra_context or {}),
                "may_forfeit": user_may(request, "change", Grant)
                and grant.status not in Grant.ENDED,
                "may_cancel": user_may(request, "add", Grant)
                and grant.status != Grant.Status.CANCELLED
                and not grant.exercises.filter(status__in=Exercise.TAKEN).exists(),
                "position": position,
                "expiration": position.expiration,
                "schedule": grant.schedule(),
                "history_url": reverse("admin:grants_grant_history", args=[grant.pk]),
            }
        return super().change_view(request, object_id, form_url, extra_context)


# --------------------------------------------------------------------------- plans and terms


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = ["company", "name", "share_reserve", "max_term_years"]

    def clean_share_reserve(self):
        reserve = self.cleaned_data["share_reserve"]
        if self.instance.pk is not None:
            used = self.instance.reserve_used()
            if reserve is not None and reserve < used:
                raise ValidationError(
                    f"The plan's grants already use {used:,} shares of its reserve; the "
                    f"reserve cannot be set below that.",
                    code="reserve_below_used",
                )
        return reserve


@admin.register(Plan)
class PlanAdmin(HistoryAdmin):
    form = PlanForm
    list_display = [
        "name",
        "company",
        "reserve",
        "reserve_used",
        "reserve_available",
        "max_term_years",
    ]
    list_select_related = ["company"]
    readonly_fields = ["reserve_used", "reserve_available"]

    def get_queryset(self, request):
        return Plan.with_reserve(Company.todays()).select_related("company")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # A plan's grants were checked against its company: it cannot move to another.
        if obj is not None and "company" not in readonly:
            readonly.insert(0, "company")
        return readonly

    @admin.display(description="share reserve", ordering="share_reserve")
    def reserve(self, plan: Plan) -> str:
        return f"{plan.share_reserve:,}"

    @admin.display(description="reserve used", ordering="reserve_used_shares")
    def reserve_used(self, plan: Plan) -> str:
        return f"{plan.reserve_used_shares:,}" if plan.pk else "–"

    @admin.display(
        description="reserve available",
        ordering=F("share_reserve") - F("reserve_used_shares"),
    )
    def reserve_available(self, plan: Plan) -> str:
        return f"{plan.reserve_available_shares:,}" if plan.pk else "–"
