"""Grant-date fair values in the back office: entered as the Black-Scholes-Merton inputs
or as an outside valuation, computed by ``GrantValuation.compute`` (the same code as
``import_valuations``), each shown with its inputs, per share and in total."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from grants.admin.base import HistoryAdmin
from grants.models import GrantValuation


class GrantValuationForm(forms.ModelForm):
    given_fair_value = forms.DecimalField(
        label="fair value per share (outside valuation)",
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=4,
        help_text="Give it only for a value from an outside valuation; leave it empty to "
        "compute it by Black-Scholes-Merton from the inputs above.",
    )

    class Meta:
        model = GrantValuation
        fields = ["grant", "volatility", "risk_free_rate", "dividend_yield", "expected_term_years"]

    def clean(self):
        cleaned = super().clean()
        grant = cleaned.get("grant")
        if grant is None or self.errors:
            return cleaned
        try:
            self.computed = GrantValuation.compute(
                grant,
                volatility=cleaned.get("volatility"),
                risk_free_rate=cleaned.get("risk_free_rate"),
                dividend_yield=cleaned.get("dividend_yield"),
                expected_term_years=cleaned.get("expected_term_years"),
                fair_value_per_share=cleaned.get("given_fair_value"),
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        return cleaned


@admin.register(GrantValuation)
class GrantValuationAdmin(HistoryAdmin):
    form = GrantValuationForm
    list_display = [
        "grant",
        "fair_value_per_share",
        "total_value",
        "spot",
        "volatility",
        "risk_free_rate",
        "dividend_yield",
        "expected_term_years",
        "outside_valuation",
    ]
    list_select_related = ["grant"]
    search_fields = ["grant__number"]
    autocomplete_fields = ["grant"]
    readonly_fields = [
        "fair_value_per_share",
        "total_value",
        "spot",
        "simplified_term",
        "outside_valuation",
        "recorded_at",
    ]
    fieldsets = [
        (None, {"fields": ["grant"]}),
        (
            "Black-Scholes-Merton inputs",
            {"fields": ["volatility", "risk_free_rate", "dividend_yield", "expected_term_years"]},
        ),
        ("Or an outside valuation", {"fields": ["given_fair_value"]}),
        (
            "Fair value",
            {
                "fields": [
                    "spot",
                    "simplified_term",
                    "fair_value_per_share",
                    "total_value",
                    "outside_valuation",
                    "recorded_at",
                ]
            },
        ),
    ]

    @admin.display(description="fair value of the grant")
    def total_value(self, valuation: GrantValuation) -> str:
        if valuation.pk is None:
            return "Computed when saved."
        return f"${valuation.total:,}"

    @admin.display(description="fair value per share (outside valuation)")
    def given_fair_value(self, valuation: GrantValuation) -> str:
        """Shown read-only (to an auditor, on a past version): the value given, if any."""
        return f"${valuation.fair_value_per_share}" if valuation.outside_valuation else "–"

    def save_model(self, request, obj, form, change):
        for name, value in form.computed.items():
            setattr(obj, name, value)
        obj.save()
