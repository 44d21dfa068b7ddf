"""Reading a CSV file that a feed or an upload hands us, one record at a time: a size limit,
UTF-8 only, strict quoting, and a line-numbered message for whatever is wrong with the file
itself. Shared by the imports (``grants/imports.py``) and the closing prices
(``grants/prices.py``)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True)
class RowError:
    """What is wrong with one line of the file (line 0: the file as a whole)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


def records(
    source: bytes | BinaryIO, *, max_bytes: int, again: str, errors: list[RowError]
) -> Iterator[tuple[int, list[str]]]:
    """Each record of the file that is not blank, header first, as the number of the line it
    starts on and its cells as written (not stripped), read as the file is consumed.

    ``source`` is the file's bytes or a binary file open at its start (seekable). What is
    wrong with the file itself is appended to ``errors``, and reading stops there: a file
    over ``max_bytes``, text that is not UTF-8 (a byte-order mark is accepted), or broken
    quoting, which Python's reader would otherwise take silently: a value whose double
    quotes are not closed swallows the rest of the file, so a file cut off inside one
    would lose its last lines without a word. ``again`` ends the message about the
    encoding ("import it again").
    """
    binary = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    binary.seek(0, os.SEEK_END)
    size = binary.tell()
    binary.seek(0)
    if size > max_bytes:
        errors.append(
            RowError(
                0,
                f"The file is {size / 1024 / 1024:.1f} MB; the limit is "
                f"{max_bytes // 1024 // 1024} MB. Split it into smaller files.",
            )
        )
        return
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except UnicodeDecodeError:
        line, byte = _first_bad_byte(binary)
        errors.append(
            RowError(
                0,
                f"Line {line} is not UTF-8 text (byte 0x{byte:02x}); save the file as “CSV "
                f"UTF-8” and {again}.",
            )
        )
    except csv.Error as error:
        errors.append(RowError(start, _quoting_problem(str(error))))
    finally:
        text.detach()  # the caller's file stays open


def _first_bad_byte(binary: BinaryIO) -> tuple[int, int]:
    """The line and value of the file's first byte that is not UTF-8. Read line by line: a
    newline byte is never part of a longer UTF-8 character, so each line decodes alone."""
    binary.seek(0)
    for number, raw in enumerate(binary, start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            return number, raw[error.start]
    raise AssertionError("the decoder refused the file, so some line is not UTF-8")


def _quoting_problem(error: str) -> str:
    if error == "unexpected end of data":
        return (
            "a value in double quotes is not closed: the file ends inside it, so it may have "
            "been cut off. Close the quotes, or send the whole file again."
        )
    if "expected after" in error:
        return (
            "a double quote that closes a value must be followed by a comma or the end of "
            'the line; inside a quoted value, write a double quote twice ("").'
        )
    if "field larger than field limit" in error:
        return (
            f"a value is longer than {csv.field_size_limit():,} characters; most often a "
            f"value's double quotes are not closed."
        )
    return f"the line cannot be read as CSV ({error})."
