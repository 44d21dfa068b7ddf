"""How long ``export_ocf`` and ``import_ocf`` take over a generated book, and what memory
the export holds.

    # a book first (PostgreSQL), e.g. 100,000 grants:
    DATABASE_URL=postgres://127.0.0.1:5432/ocf_bench .venv/bin/python manage.py migrate
    DATABASE_URL=... .venv/bin/python manage.py generate_book --grants 100000
    DATABASE_URL=... .venv/bin/python tests/benchmarks/ocf_export_bench.py [--validate]

Exports the book's company to a temporary folder, in this process, and prints the wall
and CPU time, the peak resident memory of the process and the Python memory the export
itself allocated at its peak (``tracemalloc``, measured in a second export: it slows the
run), the number of transactions and the package's size. ``--validate`` also validates the
package (``validate_package``). Not part of ``make test``; numbers in docs/ocf.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equity.settings")

import django  # noqa: E402

django.setup()

from grants.models import Company, Grant  # noqa: E402
from grants.ocf.export import export_package  # noqa: E402
from grants.ocf.validation import validate_package  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validate", action="store_true")
    args = parser.parse_args()
    company = Company.objects.order_by("pk").first()
    if company is None:
        sys.exit("The database holds no book: run generate_book first.")
    if company.formation_date is None:
        # generate_book's company has none; OCF's issuer needs one.
        company.formation_date = dt.date(1990, 1, 1)
        company.save(update_fields=["formation_date"])
    grants = Grant.objects.filter(plan__company=company).count()
    with tempfile.TemporaryDirectory() as folder:
        start, cpu = time.perf_counter(), time.process_time()
        summary = export_package(company, Path(folder) / "a")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = sum(p.stat().st_size for p in (Path(folder) / "a").iterdir()) / 1024 / 1024
        tracemalloc.start()
        export_package(company, Path(folder) / "b")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"grants: {grants:,}; {summary}")
        print(
            f"| {grants:,} | {summary.counts['transactions']:,} | {size:.0f} MB | {wall:.1f} s "
            f"| {cpu:.1f} s | {peak / 1024 / 1024:.1f} MB | {rss:.0f} MB |"
        )
        if args.validate:
            start = time.perf_counter()
            errors = validate_package(Path(folder) / "a")
            print(f"validated in {time.perf_counter() - start:.1f} s: {len(errors)} problem(s)")


if __name__ == "__main__":
    main()
