"""How long ``validate_package`` takes over an OCF package of 100,000 transactions.

    .venv/bin/python tests/benchmarks/ocf_bench.py                 # 100,000 transactions
    .venv/bin/python tests/benchmarks/ocf_bench.py --count 10000   # a quicker look

Writes two packages to a temporary folder and validates each in this process, timing the
first validation (validators built then, from cold) and a second one (validators kept), in
CPU seconds of this process and in wall-clock seconds:

- **an option book**: the transactions this app's book would export, per grant an
  equity compensation issuance (an option with fourteen vesting installments in the seed
  grant's shape, its dates and amounts its own), an exercise, a cancellation and a
  vesting event;
- **the official mix**: the coalition's sample transactions (warrants, convertibles, stock,
  splits, ... whose conversion rights are the schemas' deepest ``oneOf`` trees) repeated,
  less the two that v1.2.0 itself rejects (docs/ocf.md).

Prints a Markdown table for docs/ocf.md. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "ocf" / "samples"
sys.path.insert(0, str(ROOT))

from grants.ocf import validation  # noqa: E402
from grants.rules import add_months  # noqa: E402


def option_book(count: int) -> list[dict]:
    """A grant a business day or so from 2005 on, of 1,000 to 1,000,000 shares, each vesting
    in the seed grant's shape (10% at grant, 22.5% after a year, then 5.625% a quarter for
    three years): dates and amounts differ from grant to grant, as in a real book."""
    items = []
    for grant in range(count // 4):
        security = f"grant-{grant}"
        granted = dt.date(2005, 1, 3) + dt.timedelta(days=grant * 7 // 5 % 3650)
        shares = 1000 * (1 + grant * 7919 % 1000)
        amounts = [shares // 10, shares * 9 // 40] + [shares * 9 // 160] * 12
        amounts[1] += shares - sum(amounts)
        days = [granted] + [add_months(granted, 12 + 3 * n) for n in range(13)]
        items += [
            {
                "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
                "id": f"{security}-issuance",
                "security_id": security,
                "date": granted.isoformat(),
                "stakeholder_id": f"optionee-{grant % 5000}",
                "custom_id": f"G-{grant:06d}",
                "stock_plan_id": "plan-1997",
                "compensation_type": "OPTION_NSO",
                "quantity": str(shares),
                "exercise_price": {"amount": f"{1 + grant % 4000 / 100:.4f}", "currency": "USD"},
                "vestings": [
                    {"date": day.isoformat(), "amount": str(amount)}
                    for day, amount in zip(days, amounts, strict=True)
                ],
                "expiration_date": add_months(granted, 120).isoformat(),
                "termination_exercise_windows": [
                    {"reason": "VOLUNTARY_OTHER", "period": 3, "period_type": "MONTHS"},
                    {"reason": "INVOLUNTARY_DISABILITY", "period": 12, "period_type": "MONTHS"},
                    {"reason": "INVOLUNTARY_DEATH", "period": 18, "period_type": "MONTHS"},
                ],
                "security_law_exemptions": [],
            },
            {
                "object_type": "TX_EQUITY_COMPENSATION_EXERCISE",
                "id": f"{security}-exercise-1",
                "security_id": security,
                "date": add_months(granted, 13).isoformat(),
                "quantity": str(amounts[0]),
                "resulting_security_ids": [f"{security}-stock-1"],
            },
            {
                "object_type": "TX_EQUITY_COMPENSATION_CANCELLATION",
                "id": f"{security}-forfeiture",
                "security_id": security,
                "date": add_months(granted, 30).isoformat(),
                "quantity": str(sum(amounts[8:])),
                "reason_text": "Unvested shares forfeited at termination",
            },
            {
                "object_type": "TX_VESTING_EVENT",
                "id": f"{security}-vesting-2",
                "security_id": security,
                "date": days[1].isoformat(),
                "vesting_condition_id": "installment-2",
            },
        ]
    return items


def official_mix(count: int) -> list[dict]:
    sample = json.loads((SAMPLES / "Transactions.ocf.json").read_text())["items"]
    usable = [item for item in sample if item["object_type"] in _transaction_types()]
    return [dict(usable[n % len(usable)], id=f"tx-{n}") for n in range(count)]


def _transaction_types() -> set[str]:
    return set(validation._item_schema_ids("OCF_TRANSACTIONS_FILE"))


def write_package(folder: Path, items: list[dict]) -> None:
    manifest = json.loads((SAMPLES / "Manifest.ocf.json").read_text())
    raw = json.dumps({"file_type": "OCF_TRANSACTIONS_FILE", "items": items}).encode()
    (folder / "Transactions.ocf.json").write_bytes(raw)
    for key in validation.manifest_file_lists():
        manifest[key] = []
    manifest["transactions_files"] = [
        {"filepath": "./Transactions.ocf.json", "md5": hashlib.md5(raw).hexdigest()}
    ]
    (folder / "Manifest.ocf.json").write_text(json.dumps(manifest))


def clear_caches() -> None:
    for cached in (validation._catalogue, validation._type_validator, validation._item_schema_ids):
        cached.cache_clear()
    validation._known_valid.clear()


def timed(folder: str) -> tuple[list, float, float]:
    """validate_package's errors, wall-clock seconds and CPU seconds of this process (on a
    shared machine, the CPU time is the cost; the wall clock also counts others' work)."""
    wall, cpu = time.perf_counter(), time.process_time()
    errors = validation.validate_package(folder)
    return errors, time.perf_counter() - wall, time.process_time() - cpu


def measure(name: str, items: list[dict]) -> str:
    with tempfile.TemporaryDirectory() as folder:
        write_package(Path(folder), items)
        size = (Path(folder) / "Transactions.ocf.json").stat().st_size
        clear_caches()
        errors, cold, cold_cpu = timed(folder)
        _, warm, warm_cpu = timed(folder)
    if errors:
        raise SystemExit(f"{name}: {len(errors)} errors, first: {errors[0]}")
    per_item = warm_cpu / len(items) * 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"| {name} | {len(items):,} | {size / 1e6:.0f} MB | {cold_cpu:.1f} s ({cold:.1f} s) "
        f"| {warm_cpu:.1f} s ({warm:.1f} s) | {per_item:.0f} µs | {peak:.0f} MB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    count = parser.parse_args().count
    print(f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    print()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    print()
    print(
        "| package | transactions | file | first run, CPU (wall) | second run, CPU (wall) "
        "| CPU per transaction | peak memory so far |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(measure("option book", option_book(count)))
    print(measure("official mix", official_mix(count)))


if __name__ == "__main__":
    main()
