"""The demo book: the seed grant plus a few optionees that show the other states.

The seed grant keeps its historical dates and has no events recorded against it. The other
grants are dated relative to the day the demo is loaded, so the portal shows live vesting,
a running post-termination countdown and a pending exercise. Loading is idempotent: what
exists already (matched by grant number, user name or date) is left as it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from grants.models import (
    ClosingPrice,
    Company,
    Grant,
    GrantValuation,
    NoticeAddress,
    Optionee,
    WithholdingRate,
)
from grants.roles import AUDITOR, STOCK_ADMINISTRATOR, assign_role
from grants.schedules import build_schedule
from grants.seed import seed_grant, seed_plan, standard_terms

ADMIN_USERNAME = "stockadmin"
ADMIN_PASSWORD = "demo-admin-pass"
AUDITOR_USERNAME = "auditor"
AUDITOR_PASSWORD = "demo-auditor-pass"
ROLE_OF = {ADMIN_USERNAME: STOCK_ADMINISTRATOR, AUDITOR_USERNAME: AUDITOR}
OPTIONEE_PASSWORD = "demo-optionee-pass"


@dataclass(frozen=True)
class DemoOptionee:
    username: str
    legal_name: str
    email: str
    employee_id: str
    relationship: str
    insider: bool
    address: str


SEED_LOGIN = DemoOptionee(
    "jakridge", "James R. Akridge", "james.akridge@example.com", "V-0001", "employee", False, ""
)
DEMO_OPTIONEES = {
    "active": DemoOptionee(
        "mgarcia",
        "Maria Garcia",
        "maria.garcia@example.com",
        "V-1001",
        "employee",
        False,
        "Maria Garcia\n1100 Congress Avenue\nAustin, Texas 78701",
    ),
    "terminated": DemoOptionee(
        "tnguyen",
        "Thomas Nguyen",
        "thomas.nguyen@example.com",
        "V-1002",
        "employee",
        False,
        "Thomas Nguyen\n500 East 5th Street\nAustin, Texas 78701",
    ),
    "director": DemoOptionee(
        "ewalsh",
        "Eleanor Walsh",
        "eleanor.walsh@example.com",
        "V-1003",
        "director",
        True,
        "Eleanor Walsh\n2 Riverside Drive\nAustin, Texas 78704",
    ),
    "consultant": DemoOptionee(
        "rpatel",
        "Ravi Patel",
        "ravi.patel@example.com",
        "V-1004",
        "consultant",
        False,
        "Ravi Patel\n77 Lamar Boulevard\nAustin, Texas 78703",
    ),
}


def _user(spec: DemoOptionee, password: str):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=spec.username,
        defaults={"email": spec.email, "first_name": spec.legal_name.split()[0]},
    )
    if created:
        user.set_password(password)
        user.save()
    return user


def _staff(username: str, password: str, email: str, first: str, last: str):
    """A back-office user, member of their role (``ROLE_OF``)."""
    user, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={"email": email, "is_staff": True, "first_name": first, "last_name": last},
    )
    if created:
        user.set_password(password)
        user.save()
    assign_role(user, ROLE_OF[username])
    return user


def _optionee(company: Company, spec: DemoOptionee, on: dt.date) -> Optionee:
    optionee, created = Optionee.objects.get_or_create(
        company=company,
        employee_id=spec.employee_id,
        defaults={
            "legal_name": spec.legal_name,
            "email": spec.email,
            "relationship": spec.relationship,
            "is_section16_insider": spec.insider,
        },
    )
    if created and spec.address:
        NoticeAddress.objects.create(optionee=optionee, address=spec.address, effective_on=on)
    if optionee.user is None:
        optionee.user = _user(spec, OPTIONEE_PASSWORD)
        optionee.save(update_fields=["user"])
    return optionee


def _grant(number: str, optionee: Optionee, granted: dt.date, shares: int, price: str, schedule):
    existing = Grant.objects.filter(number=number).first()
    if existing:
        return existing
    company = optionee.company
    return Grant.create(
        number=number,
        plan=seed_plan(company),
        optionee=optionee,
        grant_date=granted,
        shares=shares,
        exercise_price=Decimal(price),
        term_end=granted + relativedelta(years=10),
        installments=schedule,
        grant_terms=standard_terms(),
    )


def _prices(company: Company, today: dt.date) -> None:
    """Sixty days of closing prices ending on the last business day before ``today``."""
    calendar = company.calendar()
    day, price, written = today - dt.timedelta(days=1), Decimal("7.40"), 0
    while written < 40:
        if calendar.is_business_day(day):
            ClosingPrice.objects.get_or_create(company=company, date=day, defaults={"price": price})
            # A gentle, deterministic walk so the chart is not a flat line.
            price = (price - Decimal("0.05") * ((written % 7) - 3)).quantize(Decimal("0.01"))
            written += 1
        day -= dt.timedelta(days=1)


def _value(grant: Grant) -> None:
    """A demo grant-date fair value: Black-Scholes-Merton with demo inputs (55% volatility,
    4.5% risk-free rate, no dividend, the simplified expected term) where the grant date has
    a closing price; otherwise a demo outside valuation of 45% of the exercise price."""
    try:
        GrantValuation.record(grant, volatility=Decimal("0.55"), risk_free_rate=Decimal("0.045"))
    except ValidationError:
        fair_value = (grant.exercise_price * Decimal("0.45")).quantize(Decimal("0.0001"))
        GrantValuation.record(grant, fair_value_per_share=fair_value)


@transaction.atomic
def load_demo(today: dt.date | None = None) -> dict[str, str]:
    """Load the demo book; returns the sign-in names of the people it set up."""
    grant = seed_grant()
    company = grant.company
    today = today or company.today()
    for name, rate in [
        ("Federal income tax (supplemental)", "0.2200"),
        ("Social Security", "0.0620"),
        ("Medicare", "0.0145"),
    ]:
        WithholdingRate.objects.get_or_create(
            company=company, name=name, defaults={"rate": Decimal(rate)}
        )
    _prices(company, today)
    if company.formation_date is None:
        # OCF's issuer needs a formation date. The agreement does not give Valence's, so the
        # demo records an illustrative one; a real company enters its own in the back office.
        company.formation_date = dt.date(1989, 1, 1)
        company.save(update_fields=["formation_date"])

    akridge = grant.optionee
    if akridge.user is None:
        akridge.user = _user(SEED_LOGIN, OPTIONEE_PASSWORD)
        akridge.save(update_fields=["user"])

    # Staff members of a role, not superusers: the back office checks real permissions.
    _staff(ADMIN_USERNAME, ADMIN_PASSWORD, "stock.admin@example.com", "Stock", "Administrator")
    _staff(AUDITOR_USERNAME, AUDITOR_PASSWORD, "auditor@example.com", "Audrey", "Auditor")

    # An employee with live vesting: 48,000 shares, one-year cliff, then monthly.
    garcia = _optionee(company, DEMO_OPTIONEES["active"], today - relativedelta(months=14))
    start = today - relativedelta(months=14)
    _grant(
        "VLNC-DEMO-0101",
        garcia,
        start,
        48_000,
        "6.15",
        build_schedule(
            grant_date=start,
            total_shares=48_000,
            cliff_months=12,
            vesting_months=48,
            every_months=1,
        ),
    )

    # A terminated employee inside the 3-month post-termination window.
    nguyen = _optionee(company, DEMO_OPTIONEES["terminated"], today - relativedelta(months=30))
    start = today - relativedelta(months=30)
    nguyen_grant = _grant(
        "VLNC-DEMO-0102",
        nguyen,
        start,
        24_000,
        "4.80",
        build_schedule(
            grant_date=start,
            total_shares=24_000,
            cliff_months=12,
            vesting_months=48,
            every_months=3,
        ),
    )
    if nguyen.active_termination() is None:
        nguyen.terminate(today - dt.timedelta(days=20), "other")
    del nguyen_grant

    # A director who is a Section 16 insider, with a pending broker-assisted exercise.
    walsh = _optionee(company, DEMO_OPTIONEES["director"], today - relativedelta(months=18))
    start = today - relativedelta(months=18)
    walsh_grant = _grant(
        "VLNC-DEMO-0103",
        walsh,
        start,
        60_000,
        "5.25",
        build_schedule(
            grant_date=start, total_shares=60_000, cliff_months=0, vesting_months=36, every_months=1
        ),
    )
    if not walsh_grant.exercises.exists():
        # A paper notice from three days ago, recorded by the administrator.
        walsh_grant.request_exercise(5_000, today - dt.timedelta(days=3), payment_method="regt")

    # A consultant whose quarterly installments are each under the 1,000-share minimum.
    patel = _optionee(company, DEMO_OPTIONEES["consultant"], today - relativedelta(months=9))
    start = today - relativedelta(months=9)
    _grant(
        "VLNC-DEMO-0104",
        patel,
        start,
        3_000,
        "6.90",
        build_schedule(
            grant_date=start, total_shares=3_000, cliff_months=3, vesting_months=12, every_months=3
        ),
    )

    for valued in Grant.objects.filter(plan__company=company, valuation__isnull=True):
        _value(valued)

    return {
        "admin": ADMIN_USERNAME,
        "admin_password": ADMIN_PASSWORD,
        "auditor": AUDITOR_USERNAME,
        "auditor_password": AUDITOR_PASSWORD,
        "optionees": ", ".join(
            [SEED_LOGIN.username] + [spec.username for spec in DEMO_OPTIONEES.values()]
        ),
        "optionee_password": OPTIONEE_PASSWORD,
    }
