"""Benchmark of ``manage.py import_grants``: n grants with their installments (issue 7's
target: 100,000 grants in under 60 seconds on PostgreSQL).

    psql -h 127.0.0.1 -U root -d postgres -c 'CREATE DATABASE bench_import'
    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_import .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_import \\
        .venv/bin/python tests/benchmarks/import_bench.py 100000 [--profile FILE]

Each run adds a company of its own ("Import Bench N") with a plan, closing prices for every
day of the grant dates (so the price check of paragraph 2a has something to compare) and a
few existing optionees, writes an n-line grant spreadsheet for it (varied vesting shapes,
mostly as explicit installments, about 18 installments a grant; mostly new optionees, one
line in ten for an optionee already in the book) and times the whole command: reading and
checking the file, the checks of ``granting.create_many`` and the writes with their history.
Not part of ``make test``.

Results are recorded in docs/performance.md (100,000 grants: about 30 s on one 2-core
development machine and 96 s on a slower one, against the issue's 60 s; where the time
goes is written there).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equity.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

AS_OF = dt.date(2026, 3, 2)
PLAN = "Import Bench Plan"
HEADER = [
    "employee_id",
    "legal_name",
    "email",
    "relationship",
    "insider",
    "grant_number",
    "type",
    "grant_date",
    "shares",
    "exercise_price",
    "term_end",
    "plan",
    "terms",
    "immediate_shares",
    "cliff_months",
    "vesting_months",
    "every_months",
    "schedule",
]
SHAPES = [  # (weight, immediate fraction, cliff, vesting months, every), as grants.synthetic
    (5, 0, 12, 48, 1),
    (9, 0, 12, 48, 3),
    (3, 0.25, 0, 36, 3),
    (2, 0, 12, 48, 12),
]
FIRST_GRANT_DATE = AS_OF - dt.timedelta(days=9 * 365)


def existing_optionee(i: int, prefix: str) -> tuple[str, str, str]:
    """Employee id, legal name and e-mail of the ``i``th optionee already in the book."""
    return f"{prefix}E-{i:06d}", f"Existing Person {i}", f"existing{i}@example.com"


def write_grants_csv(
    path: str | Path,
    n: int,
    *,
    plan: str = PLAN,
    prefix: str = "IB",
    existing: int = 0,
    seed: int = 7,
) -> None:
    """Write an ``n``-grant spreadsheet for the plan named ``plan``.

    Grant numbers and employee ids start with ``prefix``. One line in ten is for one of the
    ``existing`` optionees (``existing_optionee``; none when 0), the rest for new people
    with one to three grants each. Grants are dated over the nine years before ``AS_OF``
    with a ten-year term; three lines in five give their schedule as explicit
    installments, the others as a shape.
    """
    from grants.schedules import build_schedule

    rnd = random.Random(seed)
    shapes = [shape for shape in SHAPES for _ in range(shape[0])]
    person, left_for_person = 0, 0
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for i in range(n):
            if existing and i % 10 == 9:
                employee_id, name, email = existing_optionee(rnd.randrange(existing), prefix)
                relationship, insider = "", ""
            else:
                if left_for_person == 0:
                    person += 1
                    left_for_person = rnd.choice((1, 1, 2, 3))
                left_for_person -= 1
                employee_id = f"{prefix}-{person:06d}"
                name, email = f"New Person {person}", f"person{person}@example.com"
                relationship = "officer" if person % 50 == 0 else "employee"
                insider = "yes" if person % 50 == 0 else "no"
            granted = FIRST_GRANT_DATE + dt.timedelta(days=rnd.randrange(9 * 365 - 30))
            granted = granted.replace(day=min(granted.day, 28))
            term_end = granted.replace(year=granted.year + 10)
            shares = rnd.randrange(1_000, 100_000, 100)
            price = Decimal(rnd.randrange(100, 5_000)) / 100
            _, immediate, cliff, months, every = rnd.choice(shapes)
            immediate_shares = int(shares * immediate)
            shape = ["", "", "", "", ""]
            if rnd.random() < 0.6:
                installments = build_schedule(
                    grant_date=granted,
                    total_shares=shares,
                    immediate_shares=immediate_shares,
                    cliff_months=cliff,
                    vesting_months=months,
                    every_months=every,
                )
                shape[4] = ";".join(f"{day:%Y-%m-%d}:{count}" for day, count in installments)
            else:
                shape[:4] = [str(immediate_shares or ""), str(cliff or ""), str(months), str(every)]
            writer.writerow(
                [
                    employee_id,
                    name,
                    email,
                    relationship,
                    insider,
                    f"{prefix}-G-{i + 1:07d}",
                    "ISO" if i % 4 == 0 else "NSO",
                    f"{granted:%Y-%m-%d}",
                    str(shares),
                    str(price),
                    f"{term_end:%Y-%m-%d}",
                    plan,
                    "",
                    *shape,
                ]
            )


def prepare_company(n: int) -> tuple[str, str, int]:
    """A company of its own for one run: its name, the prefix of its numbers and ids, and
    how many optionees it already has."""
    from grants.models import ClosingPrice, Company, Optionee, Plan

    runs = Company.objects.filter(name__startswith="Import Bench ").count() + 1
    company = Company.objects.create(name=f"Import Bench {runs}")
    Plan.objects.create(company=company, name=PLAN, share_reserve=n * 100_000 + 1)
    days = (AS_OF - FIRST_GRANT_DATE).days + 1
    ClosingPrice.objects.bulk_create(
        ClosingPrice(
            company=company, date=FIRST_GRANT_DATE + dt.timedelta(days=k), price=Decimal("0.99")
        )
        for k in range(days)
    )
    prefix = f"IB{runs}"
    existing = max(1, n // 20)
    Optionee.objects.bulk_create(
        Optionee(
            company=company,
            employee_id=employee_id,
            legal_name=name,
            email=email,
            relationship=Optionee.Relationship.EMPLOYEE,
        )
        for employee_id, name, email in (existing_optionee(i, prefix) for i in range(existing))
    )
    return company.name, prefix, existing


def measure_import(n: int, *, profile: str | None = None) -> float:
    """Import n grants into the database of DATABASE_URL; returns the seconds it took."""
    import django

    django.setup()
    from django.core.management import call_command

    from grants.models import Grant

    company, prefix, existing = prepare_company(n)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "grants.csv")
        write_grants_csv(path, n, prefix=prefix, existing=existing)
        size = os.path.getsize(path)
        out = StringIO()
        arguments = ["import_grants", path, "--company", company, "--as-of", f"{AS_OF}"]
        started = time.perf_counter()
        if profile:
            import cProfile

            cProfile.runctx(
                "call_command(*arguments, stdout=out, stderr=out)",
                globals(),
                {"call_command": call_command, "arguments": arguments, "out": out},
                profile,
            )
        else:
            call_command(*arguments, stdout=out, stderr=out)
        seconds = time.perf_counter() - started
    summary = out.getvalue().split("Grant import for", 1)[-1]
    if f"grants imported: {n:,}" not in summary:
        raise RuntimeError(f"the import failed:\n{out.getvalue()[-3000:]}")
    imported = Grant.objects.filter(plan__company__name=company).count()
    print(
        f"{company}: {imported:,} grants from a {size / 1024 / 1024:.1f} MB file in "
        f"{seconds:.1f} s",
        file=sys.stderr,
    )
    return seconds


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=100_000)
    parser.add_argument("--profile", help="write a cProfile of the import to this file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    load = os.getloadavg()
    seconds = measure_import(args.n, profile=args.profile)
    if args.json:
        print(json.dumps({"seconds": seconds}))
        sys.exit()
    print(
        f"import_grants of {args.n:,} grants: {seconds:.1f} s "
        f"(load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f})"
    )
