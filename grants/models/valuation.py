"""A grant's grant-date fair value (ASC 718-10-30): the Black-Scholes-Merton inputs, or a
value per share from an outside valuation, and the value the expense is built from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from simple_history.models import HistoricalRecords

from grants import expense, rollforward, rules, valuation
from grants.audit import AuditSource
from grants.models.grant import Grant

RATE = {"max_digits": 8, "decimal_places": 6, "null": True, "blank": True}


class GrantValuation(models.Model):
    """The grant-date fair value of one grant. Recorded by ``GrantValuation.record`` (the
    back office and ``import_valuations`` call it), which computes the value from the
    inputs, so the stored value always follows from what is shown beside it."""

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name="valuation")
    volatility = models.DecimalField(
        **RATE, validators=[MinValueValidator(Decimal(0))], help_text="0.45 for 45% a year."
    )
    risk_free_rate = models.DecimalField(**RATE, help_text="0.04 for 4%, continuously compounded.")
    dividend_yield = models.DecimalField(
        **RATE, validators=[MinValueValidator(Decimal(0))], help_text="0 for none."
    )
    expected_term_years = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(50))],
        help_text="Empty: the SEC's simplified method (the midpoint of the average vesting "
        "date and the end of the term).",
    )
    simplified_term = models.BooleanField(
        default=False, help_text="The expected term is the SEC's simplified method's."
    )
    spot = models.DecimalField(
        "share price at grant",
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="The closing price on the grant date.",
    )
    fair_value_per_share = models.DecimalField(max_digits=14, decimal_places=4)
    outside_valuation = models.BooleanField(
        default=False, help_text="The value per share was given by an outside valuation."
    )
    recorded_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[AuditSource])

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(fair_value_per_share__gte=0),
                name="valuation_fair_value_not_negative",
                violation_error_message="A fair value cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grant}: ${self.fair_value_per_share} a share"

    @property
    def total(self) -> Decimal:
        """The fair value of the whole grant."""
        return (self.fair_value_per_share * self.grant.shares).quantize(rules.CENT)

    def expense(self, on: dt.date) -> expense.Recognition:
        """The ASC 718 expense of the grant recognised through ``on``, what is left and
        over how long, by the company's policy, from the grant's facts as they stand."""
        grant = self.grant
        facts = grant.facts()
        last, _, accelerated = rollforward.service_end(
            facts.service_end, facts.accelerated, facts.forfeited_on
        )
        company = grant.company
        return expense.recognition(
            expense.Award(
                grant_date=grant.grant_date,
                fair_value=self.fair_value_per_share,
                installments=facts.installments,
                service_end=last,
                accelerated=accelerated,
            ),
            on,
            attribution=company.expense_attribution,
            forfeiture_rate=company.forfeiture_rate,
        )

    @classmethod
    def record(
        cls,
        grant: Grant,
        *,
        volatility: Decimal | None = None,
        risk_free_rate: Decimal | None = None,
        dividend_yield: Decimal | None = None,
        expected_term_years: Decimal | None = None,
        fair_value_per_share: Decimal | None = None,
    ) -> GrantValuation:
        """Record (or replace) the grant-date fair value of ``grant``: given directly, from
        an outside valuation; or by Black-Scholes-Merton from the volatility, risk-free rate
        and dividend yield, the expected term (blank: the simplified method) and the
        closing price on the grant date."""
        values = cls.compute(
            grant,
            volatility=volatility,
            risk_free_rate=risk_free_rate,
            dividend_yield=dividend_yield,
            expected_term_years=expected_term_years,
            fair_value_per_share=fair_value_per_share,
        )
        with transaction.atomic():
            row, _ = cls.objects.select_for_update().get_or_create(grant=grant, defaults=values)
            for name, value in values.items():
                setattr(row, name, value)
            row.full_clean()
            row.save()
        return row

    @classmethod
    def compute(cls, grant: Grant, **given) -> dict:
        """The field values of a valuation of ``grant`` from ``given`` (see ``record``),
        checked; raises ``ValidationError`` naming what to fix."""
        fair_value = given.get("fair_value_per_share")
        inputs = {k: given.get(k) for k in ("volatility", "risk_free_rate", "dividend_yield")}
        term = given.get("expected_term_years")
        if fair_value is not None:
            if fair_value < 0:
                raise ValidationError(
                    f"A fair value cannot be negative ({fair_value}).", code="fair_value_negative"
                )
            return {
                **inputs,
                "expected_term_years": term,
                "simplified_term": False,
                "spot": None,
                "fair_value_per_share": Decimal(fair_value),
                "outside_valuation": True,
            }
        required = ("volatility", "risk_free_rate")
        missing = [k.replace("_", " ") for k in required if inputs[k] is None]
        if missing:
            raise ValidationError(
                f"Give the {' and the '.join(missing)} of grant {grant.number}, or a fair value "
                f"per share from an outside valuation.",
                code="inputs_missing",
            )
        inputs["dividend_yield"] = inputs["dividend_yield"] or Decimal(0)
        closing = grant.company.closing_prices.filter(date=grant.grant_date).first()
        if closing is None:
            raise ValidationError(
                f"No closing price is recorded for the grant date {grant.grant_date:%Y-%m-%d} "
                f"of grant {grant.number}: record it (Closing prices) before valuing the grant.",
                code="no_grant_date_price",
            )
        simplified = term is None
        if simplified:
            installments = [
                rules.Installment(i.vest_date, i.shares) for i in grant.installments.all()
            ]
            term = valuation.simplified_expected_term(
                grant.grant_date, installments, grant.term_end
            )
        value = valuation.black_scholes_call(
            closing.price,
            grant.exercise_price,
            term,
            inputs["volatility"],
            inputs["risk_free_rate"],
            inputs["dividend_yield"],
        )
        return {
            **inputs,
            "expected_term_years": term,
            "simplified_term": simplified,
            "spot": closing.price,
            "fair_value_per_share": value,
            "outside_valuation": False,
        }
