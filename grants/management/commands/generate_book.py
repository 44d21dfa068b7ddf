"""A synthetic book of any size, for the benchmarks (docs/performance.md)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from grants.management.base import parse_date
from grants.synthetic import BENCH_ADMIN, BENCH_PASSWORD, BENCH_USER, generate_book


class Command(BaseCommand):
    help = (
        "Add a synthetic book for benchmarks: a new company with N grants (about 16 "
        "installments each, varied schedules, terminations, exercises, a past registration "
        "suspension), of which M are due for the nightly job on --as-of (half expire, half "
        "get an expiry warning). Uses COPY on PostgreSQL. Never run it on a real book."
    )

    def add_arguments(self, parser):
        parser.add_argument("--grants", type=int, default=10_000)
        parser.add_argument("--due", type=int, default=100)
        parser.add_argument("--as-of", type=parse_date, help="Default: today.")
        parser.add_argument("--seed", type=int, default=2005)

    def handle(self, *args, grants, due, as_of, seed, **options):
        import datetime as dt

        if grants < 1 or due < 0 or due > grants:
            raise CommandError("Give --grants ≥ 1 and 0 ≤ --due ≤ --grants.")
        started = time.perf_counter()

        def progress(done, total):
            if options["verbosity"] >= 1 and (done % 100_000 == 0 or done == total):
                self.stdout.write(f"  … {done:,} of {total:,} grants")

        made = generate_book(
            grants=grants, due=due, as_of=as_of or dt.date.today(), seed=seed, progress=progress
        )
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Generated {made.grants:,} grants, {made.installments:,} installments, "
            f"{made.optionees:,} optionees, {made.terminations:,} terminations, "
            f"{made.exercises:,} exercises ({made.due:,} due) in {seconds:.1f} s.\n"
            f"Benchmark logins: {BENCH_USER} (portal) and {BENCH_ADMIN} (admin), "
            f"password {BENCH_PASSWORD}"
        )
