"""The seed grant: Valence Technology's 2005 grant to James R. Akridge, as DOMAIN.md fixes it.

Used by ``load_demo`` and as the canonical test fixture, so both always hold the same book.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from grants.agreement_forms import seed_form
from grants.models import Company, Grant, GrantTerms, NoticeAddress, Optionee, Plan

SEED_GRANT_NUMBER = "VLNC-2005-0001"
SEED_GRANT_DATE = dt.date(2005, 7, 13)
SEED_TERM_END = dt.date(2015, 7, 13)
SEED_PRICE = Decimal("2.99")
SEED_SHARES = 1_000_000


def seed_installments() -> list[tuple[dt.date, int]]:
    """100,000 at grant, 225,000 a year later, then 56,250 every third month (twelve)."""
    quarterly = [(dt.date(2006, 10, 13) + relativedelta(months=3 * n), 56_250) for n in range(12)]
    return [(SEED_GRANT_DATE, 100_000), (dt.date(2006, 7, 13), 225_000), *quarterly]


def seed_company() -> Company:
    company, _ = Company.objects.get_or_create(
        name="Valence Technology, Inc.",
        defaults={
            "time_zone": "America/Chicago",
            "opens_at": dt.time(9, 0),
            "closes_at": dt.time(17, 0),
            "business_days": "12345",
            "secretary": "Corporate Secretary",
            "address": "12303 Technology Boulevard, Suite 950\nAustin, Texas 78727",
        },
    )
    return company


def seed_plan(company: Company) -> Plan:
    plan, _ = Plan.objects.get_or_create(
        company=company,
        name="Compensatory Benefit Plan",
        defaults={"share_reserve": 20_000_000, "max_term_years": 10},
    )
    return plan


def standard_terms() -> GrantTerms:
    """The seed agreement's form, from the project's form file."""
    return seed_form()


def seed_grant() -> Grant:
    """The seed grant, created once (idempotent)."""
    existing = Grant.objects.filter(number=SEED_GRANT_NUMBER).first()
    if existing is not None:
        return existing
    company = seed_company()
    plan = seed_plan(company)
    optionee, created = Optionee.objects.get_or_create(
        company=company,
        legal_name="James R. Akridge",
        defaults={
            "email": "james.akridge@example.com",
            "employee_id": "V-0001",
            "relationship": Optionee.Relationship.EMPLOYEE,
        },
    )
    if created:
        NoticeAddress.objects.create(
            optionee=optionee,
            address="James R. Akridge\n4300 Bee Caves Road\nAustin, Texas 78746",
            effective_on=SEED_GRANT_DATE,
        )
    return Grant.create(
        number=SEED_GRANT_NUMBER,
        plan=plan,
        optionee=optionee,
        grant_date=SEED_GRANT_DATE,
        shares=SEED_SHARES,
        exercise_price=SEED_PRICE,
        term_end=SEED_TERM_END,
        installments=seed_installments(),
        option_type=Grant.Type.NSO,
        grant_terms=standard_terms(),
    )
