"""Every CSV the product writes is safe to open in a spreadsheet (OWASP's advice on CSV
injection): a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is written with a single quote before it, so the spreadsheet shows it as text
instead of running it as a formula. Other cells are written as they are."""

import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from grants import spreadsheet
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
FORMULAS = [
    '=HYPERLINK("http://evil.example","Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "-2.5E3",
    "-1-1",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("cell", FORMULAS)
def test_a_cell_that_a_spreadsheet_would_run_is_written_as_text(cell):
    out = io.StringIO()
    spreadsheet.writer(out).writerow(["plan", cell, 7])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["plan", f"'{cell}", "7"]


@pytest.mark.parametrize(
    "cell",
    [
        "Compensatory Benefit Plan",
        "2.99",
        "1019000",
        "",
        "a=b",
        "O'Brien",
        "All plans",
        "-6174.54",  # a negative amount (an expense reversal) is the number it is
    ],
)
def test_other_cells_are_written_as_they_are(cell):
    out = io.StringIO()
    spreadsheet.writer(out).writerows([[cell], [cell, None]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [[cell], [cell, ""]]


def test_every_csv_writer_of_the_product_goes_through_the_helper():
    """A new export cannot forget the escaping: ``csv.writer`` appears in the helper only."""
    writers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("grants", "equity")
        for path in (ROOT / folder).rglob("*.py")
        if "csv.writer(" in path.read_text() or "csv.DictWriter(" in path.read_text()
    ]
    assert writers == ["grants/spreadsheet.py"]


@time_machine.travel(dt.datetime(2007, 5, 1, 12, tzinfo=ZoneInfo("America/Chicago")), tick=False)
def test_the_outstanding_options_csv_shows_a_plan_named_like_a_formula_as_text(client, grant):
    grant.plan.name = '=HYPERLINK("http://evil.example","Plan")'
    grant.plan.save()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(
        reverse("admin:report_outstanding_options"), {"company": grant.company.pk, "format": "csv"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","Plan")'
    assert rows[-1][0] == "All plans"
