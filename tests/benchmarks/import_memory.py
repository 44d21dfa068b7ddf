"""Peak memory of ``manage.py import_grants`` as its file grows (docs/performance.md).

    DATABASE_URL=postgres://root@127.0.0.1:5432/DB .venv/bin/python \\
        tests/benchmarks/import_memory.py 50

For a size in MB, adds a company of its own (as ``import_bench.py`` does), writes a
grant spreadsheet of about that size, and runs the import in a child process; prints the
file's size and lines, the child's peak resident memory (its maximum RSS, as
``/usr/bin/time -v`` reports it) and its time. Not part of ``make test``.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equity.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

BYTES_PER_LINE = 310  # what import_bench.write_grants_csv writes, on average


def measure(megabytes: float) -> dict:
    import django

    django.setup()
    from tests.benchmarks.import_bench import AS_OF, prepare_company, write_grants_csv

    lines = int(megabytes * 1024 * 1024 / BYTES_PER_LINE)
    company, prefix, existing = prepare_company(lines)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "grants.csv")
        write_grants_csv(path, lines, prefix=prefix, existing=existing)
        size = os.path.getsize(path)
        command = [sys.executable, "manage.py", "import_grants", path, "--company", company]
        command += ["--as-of", f"{AS_OF}", "--verbosity", "0"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0 or f"grants imported: {lines:,}" not in done.stdout:
        raise RuntimeError(f"the import failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    if peak <= before:
        raise RuntimeError("measure one size per run: a child's peak is a maximum over all")
    return {"megabytes": size / 1024 / 1024, "lines": lines, "peak_mb": peak / 1024, "s": seconds}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} MEGABYTES (one size per run)")
    result = measure(float(sys.argv[1]))
    print(
        f"{result['megabytes']:.1f} MB file, {result['lines']:,} grants: peak RSS "
        f"{result['peak_mb']:,.0f} MB, {result['s']:.1f} s"
    )
