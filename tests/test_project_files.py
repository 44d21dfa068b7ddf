"""What a new user reads and runs first: the README's configuration table and ``make run``."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_configuration_table_is_one_table():
    """A blank line inside a Markdown table ends it: the rows after it showed as text."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("| variable | default | meaning |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    variables = {name for row in rows for name in re.findall(r"`([A-Z_0-9]+)`", row.split("|")[1])}
    assert {"DATABASE_URL", "ADMIN_REQUIRE_2FA", "CONN_MAX_AGE", "TRUSTED_PROXY_COUNT"} <= variables
    assert all(row.count("|") == 4 for row in rows), "every row has the table's three cells"


def test_make_run_serves_on_the_port_asked_for():
    def runserver(*args: str) -> str:
        dry = subprocess.run(
            ["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return next(line for line in dry.stdout.splitlines() if "runserver" in line)

    assert runserver().endswith("runserver 127.0.0.1:8000")
    assert runserver("PORT=8010").endswith("runserver 127.0.0.1:8010")


def test_make_run_prints_the_address_of_the_port_asked_for():
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=8010"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "manage.py load_demo --port 8010" in dry.stdout
