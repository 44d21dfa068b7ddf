"""A synthetic book for benchmarks: many grants, realistic shapes, a chosen number due.

The stored figures of every generated grant (effective expiration, clause, returned
shares, status, next nightly action) are computed with the same rule functions the verbs
use, so ``check_books`` finds the generated book balanced. Rows go in by PostgreSQL's COPY
where it is available (16 installments a grant make installments the bulk of the data)
and by ``bulk_create`` elsewhere. Generated rows have no audit history: they were never
changed by anyone.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from grants import rules
from grants.agreement_forms import seed_form
from grants.models import (
    Company,
    Exercise,
    Grant,
    Installment,
    Optionee,
    Plan,
    RegistrationSuspension,
    Termination,
)
from grants.schedules import build_schedule

SHAPES = [  # (weight, immediate fraction, cliff, vesting months, every) — about 16 a grant
    (5, 0, 12, 48, 1),
    (9, 0, 12, 48, 3),
    (3, 0.25, 0, 36, 3),
    (2, 0, 12, 48, 12),
]
CHUNK = 5_000
BENCH_USER = "bench-optionee"
BENCH_ADMIN = "bench-admin"
BENCH_PASSWORD = "bench-password-not-secret"


@dataclass
class Generated:
    grants: int = 0
    installments: int = 0
    optionees: int = 0
    exercises: int = 0
    terminations: int = 0
    due: int = 0


def _copy_or_bulk(model, fields: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        columns = ", ".join(f'"{model._meta.get_field(f).column}"' for f in fields)
        sql = f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN'
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    else:
        model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=2_000
        )


def _reset_sequences(models: list) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table}"), 1))'
            )


def _next_id(model) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def generate_book(
    *,
    grants: int,
    due: int,
    as_of: dt.date,
    seed: int = 2005,
    progress: Callable[[int, int], None] | None = None,
) -> Generated:
    """Add a company with ``grants`` grants, of which ``due`` need the nightly job on
    ``as_of`` (half expire that night, half get an expiry warning)."""
    if due > grants:
        raise ValueError("--due cannot exceed --grants")
    rnd = random.Random(seed)
    result = Generated()
    with transaction.atomic():
        company = Company.objects.create(name=f"Synthetic Book {Company.objects.count() + 1}")
        plan = Plan.objects.create(
            company=company, name="Synthetic Plan", share_reserve=grants * 200_000
        )
        terms = seed_form()
        rule_terms = terms.as_rules()
        offsets = company.warning_offsets()
        suspension = rules.Period(
            as_of - relativedelta(years=2), as_of - relativedelta(years=2, days=-9)
        )
        RegistrationSuspension.objects.create(
            company=company, start=suspension.start, end=suspension.end, note="synthetic"
        )
        n_optionees = max(1, grants // 2)
        first_optionee = _next_id(Optionee)
        optionee_rows, termination_rows, terminated = [], [], {}
        for i in range(n_optionees):
            pk = first_optionee + i
            optionee_rows.append(
                (
                    pk,
                    company.pk,
                    f"Synthetic Optionee {pk}",
                    f"o{pk}@example.com",
                    f"SYN-{pk:08d}",
                    "employee",
                    False,
                )
            )
            if i > 0 and rnd.random() < 0.04:
                on = as_of - dt.timedelta(days=rnd.randint(120, 900))
                terminated[pk] = rules.Termination(on, rules.REASON_OTHER)
                termination_rows.append(
                    (pk, on, rules.REASON_OTHER, "", "", dt.datetime.now(dt.UTC))
                )
        _copy_or_bulk(
            Optionee,
            [
                "id",
                "company_id",
                "legal_name",
                "email",
                "employee_id",
                "relationship",
                "is_section16_insider",
            ],
            optionee_rows,
        )
        _copy_or_bulk(
            Termination,
            ["optionee_id", "on", "reason", "note", "reversal_reason", "recorded_at"],
            termination_rows,
        )
        result.optionees, result.terminations = len(optionee_rows), len(termination_rows)

        shapes = [shape for shape in SHAPES for _ in range(shape[0])]
        first_grant = _next_id(Grant)
        due_ids = set(rnd.sample(range(grants), due))
        for start in range(0, grants, CHUNK):
            grant_rows, installment_rows, exercise_rows = [], [], []
            for i in range(start, min(start + CHUNK, grants)):
                pk = first_grant + i
                optionee_id = first_optionee + (i % n_optionees)
                termination = terminated.get(optionee_id)
                shares = rnd.randrange(1_000, 100_000, 100)
                price = Decimal(rnd.randrange(100, 5_000)) / 100
                if i in due_ids:
                    while optionee_id in terminated:  # due grants belong to people in service
                        optionee_id = (
                            first_optionee + (optionee_id - first_optionee + 1) % n_optionees
                        )
                    # Half expire tonight (their last day was yesterday), half are warned.
                    term_end = (
                        as_of - dt.timedelta(days=1) if i % 2 else as_of + dt.timedelta(days=30)
                    )
                    granted = term_end - relativedelta(years=10)
                    termination = None
                else:
                    granted = as_of - dt.timedelta(days=rnd.randint(30, 9 * 365 - 90))
                    term_end = granted + relativedelta(years=10)
                    if termination and termination.on < granted:
                        # Granted during the service that has since ended.
                        granted = termination.on - dt.timedelta(days=rnd.randint(200, 2_000))
                        term_end = granted + relativedelta(years=10)
                _, immediate, cliff, months, every = rnd.choice(shapes)
                schedule = [
                    rules.Installment(day, n)
                    for day, n in build_schedule(
                        grant_date=granted,
                        total_shares=shares,
                        immediate_shares=int(shares * immediate),
                        cliff_months=cliff,
                        vesting_months=months,
                        every_months=every,
                    )
                ]
                service_end = termination.on if termination else None
                exercised = 0
                if i not in due_ids and rnd.random() < 0.1:
                    day = min(as_of - dt.timedelta(days=1), service_end or as_of)
                    vested = rules.vested_shares(schedule, day, service_end)
                    if vested >= 1_000:
                        exercised = rnd.randrange(1_000, vested + 1)
                        exercise_rows.append(
                            (
                                pk,
                                exercised,
                                day,
                                "cash",
                                price,
                                rules.aggregate_price(exercised, price),
                                "issued",
                                day,
                                day,
                                "",
                                0,
                                dt.datetime.now(dt.UTC),
                            )
                        )
                expires = rules.expiration(
                    term_end=term_end,
                    terms=rule_terms,
                    termination=termination,
                    suspensions=[suspension],
                    today=as_of,
                )
                forfeited = rules.forfeited_shares(schedule, service_end)
                expired = as_of > expires.on and i not in due_ids
                returned = rules.returned_shares(
                    shares=shares, exercised=exercised, forfeited=forfeited, expired=expired
                )
                if expired:
                    status, next_action = "expired", None
                else:
                    status = "granted"
                    next_action = rules.next_nightly_action(
                        expires.on, as_of, offsets, due_warning_sent=False
                    )
                done = rules.fully_exercised(
                    shares=shares, exercised=exercised, forfeited=forfeited
                )
                if done and status == "granted":
                    status, next_action = "exercised", None
                grant_rows.append(
                    (
                        pk,
                        f"SYN-{pk:09d}",
                        plan.pk,
                        optionee_id,
                        terms.pk,
                        "NSO",
                        granted,
                        shares,
                        price,
                        term_end,
                        status,
                        expires.on,
                        expires.clause,
                        returned,
                        next_action,
                        "",
                        "",
                        "1",
                        dt.datetime.now(dt.UTC),
                    )
                )
                installment_rows += [(pk, item.vest_date, item.shares) for item in schedule]
            _copy_or_bulk(
                Grant,
                [
                    "id",
                    "number",
                    "plan_id",
                    "optionee_id",
                    "terms_id",
                    "option_type",
                    "grant_date",
                    "shares",
                    "exercise_price",
                    "term_end",
                    "status",
                    "expires_on",
                    "expiration_clause",
                    "returned_shares",
                    "next_action_on",
                    "cancellation_reason",
                    "forfeiture_reason",
                    "documents_version",
                    "created_at",
                ],
                grant_rows,
            )
            _copy_or_bulk(Installment, ["grant_id", "vest_date", "shares"], installment_rows)
            _copy_or_bulk(
                Exercise,
                [
                    "grant_id",
                    "shares",
                    "exercise_date",
                    "payment_method",
                    "price_per_share",
                    "aggregate_price",
                    "status",
                    "payment_received_on",
                    "shares_issued_on",
                    "review_note",
                    "shares_withheld",
                    "created_at",
                ],
                exercise_rows,
            )
            result.grants += len(grant_rows)
            result.installments += len(installment_rows)
            result.exercises += len(exercise_rows)
            if progress:
                progress(result.grants, grants)
        result.due = due
        _reset_sequences([Optionee, Termination, Grant, Installment, Exercise])
        _bench_accounts(first_optionee)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # As a settled book is: its statistics taken and, outside a transaction (a
            # test's), vacuumed. A table filled by COPY has no visibility map until
            # autovacuum's first pass, and until then every index-only scan reads the
            # table's rows too (40,000 expired grants counted in 110 ms, not 5).
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    return result


def _bench_accounts(optionee_id: int) -> None:
    """A portal login for the first synthetic optionee and a staff login, for benchmarks."""
    User = get_user_model()
    user = User.objects.filter(username=BENCH_USER).first()
    if user is None:
        user = User.objects.create_user(BENCH_USER, password=BENCH_PASSWORD)
    Optionee.objects.filter(user=user).update(user=None)
    Optionee.objects.filter(pk=optionee_id).update(user=user)
    if not User.objects.filter(username=BENCH_ADMIN).exists():
        User.objects.create_superuser(BENCH_ADMIN, password=BENCH_PASSWORD)
