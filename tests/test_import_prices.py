"""``manage.py import_prices``: daily closing prices from a ``date,price`` file, through the
same parser and writer as the back office's upload, all or nothing, idempotent."""

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from grants.models import ClosingPrice
from tests.conftest import d
from tests.factories import CompanyFactory

SAMPLES = Path(__file__).resolve().parent.parent / "docs" / "samples"


def prices_file(tmp_path, *lines: str, name="prices.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join(["date,price", *lines]) + "\n", encoding="utf-8")
    return str(path)


def run(path: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_prices", path, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(path: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    before = list(ClosingPrice.objects.order_by("pk").values_list("pk", "date", "price"))
    with pytest.raises(CommandError):
        call_command("import_prices", path, *args, stdout=out, stderr=err)
    assert list(ClosingPrice.objects.order_by("pk").values_list("pk", "date", "price")) == before
    assert "Nothing was imported" in out.getvalue()
    return out.getvalue(), err.getvalue()


def book(company) -> dict[dt.date, Decimal]:
    return dict(company.closing_prices.values_list("date", "price"))


def test_the_sample_file_imports_and_a_second_run_changes_nothing(company):
    out, err = run(str(SAMPLES / "prices.csv"))
    assert err == ""
    assert "prices added: 8" in out
    assert book(company)[d("2007-03-01")] == Decimal("1.83")
    history = ClosingPrice.history.count()
    out, _ = run(str(SAMPLES / "prices.csv"))
    assert "prices added: 0" in out
    assert "prices updated: 0" in out
    assert "unchanged: 8" in out
    assert ClosingPrice.history.count() == history


def test_a_corrected_file_updates_the_price_and_keeps_the_old_one_in_history(company, tmp_path):
    run(prices_file(tmp_path, "2008-03-03,7.40", "2008-03-04,7.45"))
    out, _ = run(prices_file(tmp_path, "2008-03-03,7.40", "2008-03-04,7.54", name="fixed.csv"))
    assert "prices added: 0" in out
    assert "prices updated: 1" in out
    assert "unchanged: 1" in out
    price = company.closing_prices.get(date=d("2008-03-04"))
    assert price.price == Decimal("7.54")
    assert [h.price for h in price.history.order_by("history_date")] == [
        Decimal("7.45"),
        Decimal("7.54"),
    ]


def test_every_bad_line_is_reported_and_nothing_is_imported(company, tmp_path):
    path = prices_file(
        tmp_path, "2008-03-03,7.40", "2008-13-01,7.41", "2008-03-05,$7", "2008-03-03,7.50"
    )
    out, err = refused(path)
    assert f"{path}, line 3: “2008-13-01” is not a date" in err
    assert f"{path}, line 4: “$7” is not a price" in err
    assert f"{path}, line 5: 2008-03-03 is already on line 2" in err
    assert "line 2:" not in err
    assert "failed: 3" in out
    assert "prices added: 0" in out


def test_a_price_dated_after_the_as_of_date_is_refused(company, tmp_path):
    path = prices_file(tmp_path, "2008-03-03,7.40")
    _, err = refused(path, "--as-of", "2008-03-02")
    assert "2008-03-03 is after today (2008-03-02)" in err
    run(path, "--as-of", "2008-03-03")
    assert d("2008-03-03") in book(company)


def test_the_default_as_of_date_is_today_in_the_company_time_zone(company, tmp_path):
    path = prices_file(tmp_path, "2008-03-03,7.40")
    # 03:00 UTC on March 4 is still March 3 in Chicago: today's close is accepted.
    with time_machine.travel(dt.datetime(2008, 3, 4, 3, 0, tzinfo=dt.UTC), tick=False):
        run(path)
    assert d("2008-03-03") in book(company)
    tomorrow = prices_file(tmp_path, "2008-03-04,7.45", name="tomorrow.csv")
    with time_machine.travel(dt.datetime(2008, 3, 4, 3, 0, tzinfo=dt.UTC), tick=False):
        refused(tomorrow)


def test_a_dry_run_reports_and_writes_nothing(company, tmp_path):
    path = prices_file(tmp_path, "2008-03-03,7.40")
    out, err = run(path, "--dry-run")
    assert err == ""
    assert "(dry run: nothing was committed or sent)" in out
    assert "prices added: 1" in out
    assert book(company) == {}
    assert ClosingPrice.history.count() == 0


def test_with_several_companies_the_company_is_named(company, tmp_path):
    other = CompanyFactory(name="Other Corp.")
    path = prices_file(tmp_path, "2008-03-03,7.40")
    with pytest.raises(CommandError, match="several companies; give --company"):
        run(path)
    run(path, "--company", "Other Corp.")
    assert d("2008-03-03") in book(other)
    assert book(company) == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"day,close\n2008-03-03,7.40\n", "Line 1 must be the header date,price"),
        (b"date,price\n2008-03-03,7\xa540\n", "Line 2 is not UTF-8 text"),
        (b"date,price\n", "The file has the header but no prices."),
    ],
)
def test_a_file_that_cannot_be_read_is_refused(company, tmp_path, content, message):
    path = tmp_path / "prices.csv"
    path.write_bytes(content)
    _, err = refused(str(path))
    assert message in err


def test_an_oversized_file_is_refused(company, tmp_path, monkeypatch):
    monkeypatch.setattr("grants.prices.MAX_BYTES", 1024)
    lines = [f"{dt.date(2008, 1, 1) + dt.timedelta(days=n)},7.40" for n in range(100)]
    _, err = refused(prices_file(tmp_path, *lines))
    assert "Split it into smaller files." in err
