"""CSV cells that a spreadsheet would run as a formula (OWASP's "CSV injection"): the
writer every CSV export goes through, which writes such a cell as text, and the test the
imports use to refuse such text in names and numbers."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

# OWASP: a cell starting with any of these may be read as a formula by Excel, LibreOffice
# or Google Sheets (a tab or carriage return before "=" hides the "=" from a naive check).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A negative amount written as the plain number it is (an expense reversal): a spreadsheet
# reads it as that number and runs nothing, so it is written as it is.
NEGATIVE_NUMBER = re.compile(r"-[0-9]+(\.[0-9]+)?", re.ASCII)


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet might run ``text`` as a formula."""
    return text.startswith(FORMULA_STARTS) and not NEGATIVE_NUMBER.fullmatch(text)


def safe_cell(value: Any) -> str:
    """The cell as written: ``value`` as text (None as empty), with a single quote before
    it when it starts like a formula (OWASP's advice), so a spreadsheet shows it as text.

    Every cell is treated alike, numbers included, except a cell that is nothing but a
    negative decimal number (``-6174.54``, an expense reversal), which no spreadsheet runs
    as a formula: one rule for every cell cannot be got wrong by a new column.
    """
    text = "" if value is None else str(value)
    return f"'{text}" if looks_like_formula(text) else text


class SafeWriter:
    """``csv.writer``'s ``writerow`` and ``writerows``, each cell through ``safe_cell``."""

    def __init__(self, file, **options):
        self._writer = csv.writer(file, **options)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(file, **options) -> SafeWriter:
    """A CSV writer for a file (or an ``HttpResponse``) whose cells are safe to open in a
    spreadsheet. The only CSV writer the product uses."""
    return SafeWriter(file, **options)
