"""Benchmarks of the cost that must follow the work, not the size of the book.

    make bench                      # 10,000 vs 100,000 grants
    make bench LARGE=1000000        # the target size (about 15 minutes to generate)

Needs PostgreSQL at 127.0.0.1:5432 (as .ci/run starts it). Creates the databases
bench_small and bench_large, fills them with generate_book, and prints a table; the
numbers go into docs/performance.md by hand, with the machine they were measured on.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
AS_OF = "2026-03-02"


def database(name: str) -> str:
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            os.environ.get("PGUSER", "postgres"),
            "-d",
            "postgres",
            "-qc",
            f"DROP DATABASE IF EXISTS {name}",
            "-c",
            f"CREATE DATABASE {name}",
        ],
        check=True,
    )
    return f"postgres://{os.environ.get('PGUSER', 'postgres')}@127.0.0.1:5432/{name}"


def manage(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def measure(url: str, what: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [PYTHON, str(ROOT / "tests/benchmarks/measure.py"), AS_OF, what],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def build(name: str, grants: int, due: int) -> tuple[str, float]:
    url = database(name)
    manage(url, "migrate", "-v0")
    started = time.perf_counter()
    manage(url, "generate_book", "--grants", str(grants), "--due", str(due), "--as-of", AS_OF)
    return url, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()
    small_url, small_build = build("bench_small", args.small, args.due)
    large_url, large_build = build("bench_large", args.large, args.due)
    small = measure(small_url, "nightly")
    large = measure(large_url, "nightly,books,pages")
    ratio = large["nightly"] / small["nightly"]
    rows = [
        ("generate_book", f"{args.small:,} grants", f"{small_build:.1f} s"),
        ("generate_book", f"{args.large:,} grants", f"{large_build:.1f} s"),
        ("expire_options", f"{args.small:,} grants, {args.due:,} due", f"{small['nightly']:.2f} s"),
        ("expire_options", f"{args.large:,} grants, {args.due:,} due", f"{large['nightly']:.2f} s"),
        ("expire_options ratio", "large / small (target < 1.5)", f"{ratio:.2f}"),
        ("check_books", f"{args.large:,} grants", f"{large['check_books']:.1f} s"),
    ]
    for name, figures in large["pages"].items():
        rows.append(
            (
                name,
                f"{args.large:,} grants",
                f"{figures['seconds'] * 1000:.1f} ms, {figures['queries']} queries",
            )
        )
    width = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    print(f"{'benchmark':<{width[0]}}  {'book':<{width[1]}}  result")
    for name, book, value in rows:
        print(f"{name:<{width[0]}}  {book:<{width[1]}}  {value}")
    if "books_error" in large:
        print(f"check_books reported: {large['books_error']}")


if __name__ == "__main__":
    main()
