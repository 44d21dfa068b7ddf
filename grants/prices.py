"""Closing prices from a CSV file: every row is checked, then all are imported or none.

The file has the header ``date,price`` on its first line, then one closing price per line:
a date written YYYY-MM-DD and a price per share as a plain positive number with at most
four decimal places (``7.40``, ``12.3125``). Blank lines are ignored. The file must be
strictly quoted UTF-8 text (a byte-order mark is accepted) of at most ``MAX_BYTES``
(``grants.csvfiles``).

``parse_closing_prices`` is pure (a file in, rows and errors out) so the upload screen of
the back office and the nightly ``import_prices`` command share it. ``import_closing_prices``
writes the rows of a file that passed every check.

A date the company already has a price for is *updated* to the file's price, and the old
price stays in the price's history: a vendor's corrected file, imported again, corrects the
book, and importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from grants import csvfiles
from grants.calendars import trading_day_problem
from grants.csvfiles import RowError
from grants.models import ClosingPrice, Company

MAX_BYTES = 1024 * 1024
HEADER = ("date", "price")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# ClosingPrice.price holds 14 digits, 4 of them decimals.
_PRICE = re.compile(r"(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")
_WHOLE_DIGITS = 10
_DECIMAL_PLACES = 4


@dataclass(frozen=True)
class PriceRow:
    line: int
    date: dt.date
    price: Decimal


@dataclass(frozen=True)
class ParsedPrices:
    rows: list[PriceRow]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


def _file_error(message: str) -> ParsedPrices:
    return ParsedPrices(rows=[], errors=[RowError(0, message)])


def _parse_date(text: str, today: dt.date | None) -> tuple[dt.date | None, str | None]:
    if not text:
        return None, "the date is missing; write it as YYYY-MM-DD, e.g. 2024-03-15."
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None, f"“{text}” is not a date; write it as YYYY-MM-DD, e.g. 2024-03-15."
    if today is not None and day > today:
        return None, (
            f"{day:%Y-%m-%d} is after today ({today:%Y-%m-%d}); a closing price is recorded "
            f"once the day's trading has closed."
        )
    closed = trading_day_problem(day)
    if closed:
        return None, f"{closed}, so there is no closing price; remove the line."
    return day, None


def _parse_price(text: str) -> tuple[Decimal | None, str | None]:
    if not text:
        return None, "the price is missing; write it as a number such as 7.40."
    match = _PRICE.fullmatch(text)
    if match is None:
        return None, (
            f"“{text}” is not a price; write a plain number with a dot for the decimals, "
            f"e.g. 7.40 (no currency sign, no thousands separator, not negative)."
        )
    if len(match["fraction"] or "") > _DECIMAL_PLACES:
        return None, f"“{text}” has more than {_DECIMAL_PLACES} decimal places; round it."
    if len(match["whole"].lstrip("0")) > _WHOLE_DIGITS:
        return None, f"“{text}” is too large for a price per share."
    price = Decimal(text)
    if price <= 0:
        return None, "the price must be more than zero."
    return price, None


def parse_closing_prices(source: bytes | BinaryIO, *, today: dt.date | None = None) -> ParsedPrices:
    """Read a ``date,price`` CSV file and check every row (see the module docstring).

    Returns the rows and, for every line that is wrong, its number and what to fix. A
    price dated after ``today`` (when given) is refused. The caller imports nothing unless
    ``errors`` is empty.
    """
    errors: list[RowError] = []
    records = csvfiles.records(source, max_bytes=MAX_BYTES, again="upload it again", errors=errors)
    first = next(records, None)
    if first is None:
        return ParsedPrices(
            rows=[],
            errors=errors
            or [RowError(0, "The file is empty; its first line must be the header date,price.")],
        )
    header_line, header = first
    if tuple(cell.strip().lower() for cell in header) != HEADER:
        found = ",".join(header)
        return _file_error(
            f"Line {header_line} must be the header date,price (found “{found}”); add or "
            f"correct it."
        )
    rows: list[PriceRow] = []
    first_line_of: dict[dt.date, int] = {}
    for line, cells in records:
        cells = [cell.strip() for cell in cells]
        if len(cells) != len(HEADER):
            errors.append(
                RowError(
                    line,
                    f"expected 2 values (date,price), found {len(cells)}; write prices "
                    f"without a thousands separator.",
                )
            )
            continue
        day, date_error = _parse_date(cells[0], today)
        price, price_error = _parse_price(cells[1])
        problems = [p for p in (date_error, price_error) if p]
        if day is not None and day in first_line_of:
            problems.append(
                f"{day:%Y-%m-%d} is already on line {first_line_of[day]}; keep one price per date."
            )
        if problems:
            errors.append(RowError(line, " Also, ".join(problems)))
        if day is not None:
            first_line_of.setdefault(day, line)
        if not problems:
            rows.append(PriceRow(line, day, price))
    if not rows and not errors:
        return _file_error("The file has the header but no prices.")
    return ParsedPrices(rows=rows if not errors else [], errors=errors)


def import_closing_prices(company: Company, rows: list[PriceRow], *, user=None) -> ImportResult:
    """Record the checked ``rows`` as ``company``'s closing prices, in one transaction.

    New dates are added and known dates updated to the file's price, each with its history
    entry. Imports for one company run one at a time (the company row is locked).
    """
    if not rows:
        return ImportResult(added=0, updated=0, unchanged=0)
    with transaction.atomic():
        Company.objects.select_for_update().filter(pk=company.pk).first()
        dates = [row.date for row in rows]
        existing = {
            price.date: price
            for price in ClosingPrice.objects.filter(
                company=company, date__gte=min(dates), date__lte=max(dates)
            )
        }
        new, changed = [], []
        for row in rows:
            known = existing.get(row.date)
            if known is None:
                new.append(ClosingPrice(company=company, date=row.date, price=row.price))
            elif known.price != row.price:
                known.price = row.price
                changed.append(known)
        if new:
            bulk_create_with_history(new, ClosingPrice, default_user=user)
        if changed:
            bulk_update_with_history(changed, ClosingPrice, ["price"], default_user=user)
    return ImportResult(
        added=len(new), updated=len(changed), unchanged=len(rows) - len(new) - len(changed)
    )
