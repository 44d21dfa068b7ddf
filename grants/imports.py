"""Reading the operations feeds: the administrator's grant spreadsheet and the HR feed of
terminations (``docs/import-formats.md`` describes both files).

Pure: a file (its bytes, or a binary file read as a stream) in, checked rows and
line-numbered errors out, no query (the models are read only for their choices and field
lengths). A file is CSV, UTF-8 (a byte-order mark is accepted), strictly quoted, at most
``MAX_BYTES`` (grants; ``MAX_TERMINATION_BYTES`` for terminations), with a header line
naming its columns in any order (case, spaces and hyphens in names do not matter:
``Grant Date`` is ``grant_date``). Every line is checked and every problem reported, not
just the first.

What this module checks is the *form* of each value (a date is a date, shares are whole,
a name does not start like a spreadsheet formula, an identifier keeps to the safe
characters) and the consistency of the file with itself (a grant number once, one
person's details the same on every line). Whether the book accepts a row is the models'
decision: the commands hand the rows to the model verbs (``granting.create_many``, the
batch form of ``Grant.create``; ``Optionee.terminate``) and report each refusal against
the row's line.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from grants import csvfiles, rules, spreadsheet
from grants.csvfiles import RowError
from grants.models import Grant, GrantTerms, Optionee, Plan, Termination
from grants.schedules import build_schedule
from grants.validators import shown_character, validate_identifier

# A grant spreadsheet of 100,000 grants with explicit installments (about 16 each) is
# about 30 MB; the HR feed of terminations is a line per person.
MAX_BYTES = 100 * 1024 * 1024
MAX_TERMINATION_BYTES = 5 * 1024 * 1024

RELATIONSHIPS = tuple(Optionee.Relationship.values)
OPTION_TYPES = tuple(Grant.Type.values)
# A line without an agreement form: the seed agreement's (the project's own form file).
DEFAULT_TERMS = "Valence 2005 non-qualified stock option"
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PRICE = re.compile(r"(?P<whole>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")
_NUMBER = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]*)?")  # whole_shares judges the value
_PLAIN_INSTALLMENT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}):([0-9]+)")
_LONGEST = {
    column: model._meta.get_field(field).max_length
    for column, model, field in [
        ("employee_id", Optionee, "employee_id"),
        ("legal_name", Optionee, "legal_name"),
        ("grant_number", Grant, "number"),
        ("plan", Plan, "name"),
        ("terms", GrantTerms, "name"),
        ("note", Termination, "note"),
    ]
}

GRANT_COLUMNS = {
    # column: required
    "employee_id": True,
    "legal_name": True,
    "email": False,
    "relationship": False,
    "insider": False,
    "grant_number": True,
    "type": True,
    "grant_date": True,
    "shares": True,
    "exercise_price": True,
    "term_end": True,
    "plan": True,
    "terms": False,
    "immediate_shares": False,
    "cliff_months": False,
    "vesting_months": False,
    "every_months": False,
    "vesting_start": False,
    "schedule": False,
}
SHAPE_COLUMNS = ("immediate_shares", "cliff_months", "vesting_months", "every_months")
TERMINATION_COLUMNS = {
    "employee_id": False,
    "email": False,
    "date": True,
    "reason": True,
    "note": False,
}


# --------------------------------------------------------------------------- the file

# Names and numbers: refused when they start like a spreadsheet formula (OWASP) or hold a
# control character; the identifiers keep to the safe characters of
# ``grants.validators``. A NUL is refused in any column.
NAMES = ("legal_name", "plan", "terms")
IDENTIFIERS = ("employee_id", "grant_number")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the file: its number, its cells by column name (stripped; blank cells
    are ""), and what is wrong with the text of a cell, by column."""

    number: int
    cells: dict[str, str]
    unsafe: dict[str, str]


def read_lines(
    source: bytes | BinaryIO,
    *,
    columns: dict[str, bool],
    one_of: Sequence[Sequence[str]] = (),
    max_bytes: int | None = None,
    errors: list[RowError],
) -> Iterator[Line]:
    """The lines of a CSV file whose header names ``columns`` (name: required), read as
    they are consumed (``grants.csvfiles.records``).

    ``one_of`` lists groups of columns of which the header must hold at least one.
    What is wrong with the file as a whole (line 0), its header or a line's number of
    values is appended to ``errors``; such a line is not yielded.
    """
    max_bytes = max_bytes or MAX_BYTES
    records = csvfiles.records(source, max_bytes=max_bytes, again="import it again", errors=errors)
    first = next(records, None)
    if first is None:
        if not errors:
            required = [name for name, needed in columns.items() if needed]
            errors.append(
                RowError(
                    0,
                    f"The file is empty; its first line must be the header, with at least the "
                    f"columns {', '.join(required)}.",
                )
            )
        return
    header_line, cells = first
    header = [_column_name(cell) for cell in cells]
    problems = _header_problems(header, columns, one_of)
    if problems:
        errors.extend(RowError(header_line, problem) for problem in problems)
        return
    read = 0
    for number, cells in records:
        read += 1
        if len(cells) != len(header):
            errors.append(
                RowError(
                    number,
                    f"expected {len(header)} values, one per column of the header, found "
                    f"{len(cells)}; put a value holding a comma in double quotes.",
                )
            )
            continue
        yield Line(
            number,
            {name: cell.strip() for name, cell in zip(header, cells, strict=True)},
            _unsafe_text(header, cells),
        )
    if not read and not errors:
        errors.append(RowError(0, "The file has the header but no rows."))


def _unsafe_text(header: list[str], cells: list[str]) -> dict[str, str]:
    """What is wrong with the text of each cell, as written in the file (before stripping:
    a tab before "=" hides a formula from a check of the stripped value)."""
    unsafe = {}
    for name, cell in zip(header, cells, strict=True):
        if name in NAMES or name in IDENTIFIERS:
            text = cell.lstrip(" ")
            if spreadsheet.looks_like_formula(text):
                unsafe[name] = (
                    f"{name} starts with {shown_character(text[0])}, which a spreadsheet may "
                    f"run as a formula; remove it."
                )
                continue
        if name in IDENTIFIERS:
            continue  # validate_identifier names any character outside its safe set
        if name in NAMES:
            control = next((c for c in cell.strip() if unicodedata.category(c) == "Cc"), None)
        else:
            control = "\x00" if "\x00" in cell else None
        if control is not None:
            unsafe[name] = f"{name} holds a control character (U+{ord(control):04X}); remove it."
    return unsafe


def _column_name(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().lower())


def _header_problems(
    header: list[str], columns: dict[str, bool], one_of: Sequence[Sequence[str]]
) -> list[str]:
    known = ", ".join(columns)
    problems = []
    for name in dict.fromkeys(header):
        if not name:
            problems.append("a column of the header has no name; name it or delete it.")
        elif name not in columns:
            problems.append(f"unknown column “{name}”; the columns are: {known}.")
        elif header.count(name) > 1:
            problems.append(f"the column “{name}” appears twice in the header.")
    for name, needed in columns.items():
        if needed and name not in header:
            problems.append(f"the column “{name}” is missing from the header.")
    for group in one_of:
        if not any(name in header for name in group):
            problems.append(f"the header needs at least one of the columns {', '.join(group)}.")
    return problems


class _Row:
    """Reads the cells of one line, collecting a message for each value that is wrong."""

    def __init__(self, line: Line):
        self.line = line
        self.problems: list[str] = list(line.unsafe.values())

    def text(self, column: str, *, required: bool = False) -> str:
        value = self.line.cells.get(column, "")
        if column in self.line.unsafe:
            return ""
        if not value and required:
            self.problems.append(f"{column} is missing.")
        elif column in _LONGEST and len(value) > _LONGEST[column]:
            self.problems.append(f"{column} is longer than {_LONGEST[column]} characters.")
            return ""
        elif value and column in IDENTIFIERS:
            try:
                validate_identifier(value)
            except ValidationError as error:
                self.problems.append(f"{column}: {' '.join(error.messages)}")
                return ""
        return value

    def value(self, column: str, parse: Callable[[str], object], *, required: bool = False):
        """The parsed value; None when blank (a problem if ``required``) or wrong."""
        text = self.text(column, required=required)
        if not text:
            return None
        try:
            return parse(text)
        except ValidationError as error:
            self.problems.append(f"{column}: {' '.join(error.messages)}")
            return None

    def errors(self) -> list[RowError]:
        return [RowError(self.line.number, problem) for problem in self.problems]


def parse_date(text: str) -> dt.date:
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"“{text}” is not a date; write it as YYYY-MM-DD, e.g. 2025-01-31."
        ) from None


def parse_whole(text: str) -> int:
    """A whole number, thousands separators allowed (``1,000`` in a quoted cell).

    Written out in ASCII digits: a spreadsheet shows a large number as ``1.23457E+12``,
    which has lost its last digits, so exponents (and other scripts' digits) are refused
    rather than read as a different number of shares.
    """
    if not _NUMBER.fullmatch(text):
        raise ValidationError(
            f"“{text}” is not a whole number written out in digits; write it as e.g. 1500000 "
            f"(a spreadsheet may show a large number as 1.5E+06: format the column as a number)."
        )
    number = rules.whole_shares(text)
    if number < 0:
        raise ValidationError(f"{text} is negative; write a whole number of 0 or more.")
    return number


def parse_months(text: str) -> int:
    if not text.isdigit():
        raise ValidationError(f"“{text}” is not a whole number of months, such as 12.")
    return int(text)


def parse_price(text: str) -> Decimal:
    match = _PRICE.fullmatch(text)
    if match is None:
        raise ValidationError(
            f"“{text}” is not a price; write a plain number with a dot for the decimals, "
            f"e.g. 2.99 (no currency sign, no thousands separator, not negative)."
        )
    if len(match["fraction"] or "") > 4:
        raise ValidationError(f"“{text}” has more than 4 decimal places; round it.")
    if len(match["whole"].lstrip("0")) > 10:
        raise ValidationError(f"“{text}” is too large for a price per share.")
    return Decimal(text)


def _choice(choices: Sequence[str], *, upper: bool = False) -> Callable[[str], str]:
    canonical = {choice: choice for choice in choices}  # one string per choice, not per line

    def parse(text: str) -> str:
        value = canonical.get(text.upper() if upper else text.lower())
        if value is None:
            raise ValidationError(f"“{text}” is not one of {', '.join(choices)}.")
        return value

    return parse


def parse_reason(text: str) -> str:
    """A termination reason: OCF's names, in any case, or the short names."""
    value = text.strip()
    return rules.termination_reason(
        value.lower() if value.lower() in rules.SHORT_REASONS else value.upper()
    )


def parse_flag(text: str) -> bool:
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    raise ValidationError(f"“{text}” is not yes or no.")


def parse_email(text: str) -> str:
    validate_email(text)
    return text


def _not_after(today: dt.date | None, what: str) -> Callable[[str], dt.date]:
    def parse(text: str) -> dt.date:
        day = parse_date(text)
        if today is not None and day > today:
            raise ValidationError(
                f"{day:%Y-%m-%d} is after {today:%Y-%m-%d}, the day of this import; {what}"
            )
        return day

    return parse


# --------------------------------------------------------------------------- grants


@dataclass(frozen=True, slots=True)
class OptioneeDetails:
    """Who a line names; blank optional values are None ("not given")."""

    employee_id: str
    legal_name: str
    email: str | None
    relationship: str | None
    insider: bool | None


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """The data of a grant as a line of the file states it, for comparing with the book."""

    number: str
    employee_id: str
    plan: str
    terms: str
    option_type: str
    grant_date: dt.date
    shares: int
    exercise_price: Decimal
    term_end: dt.date
    installments: tuple[tuple[dt.date, int], ...]


@dataclass(frozen=True, slots=True)
class GrantLine:
    line: int
    optionee: OptioneeDetails
    grant: GrantRecord
    terms_given: bool


def parse_installments(text: str) -> tuple[tuple[dt.date, int], ...]:
    """The ``schedule`` column: ``date:shares`` pairs separated by semicolons."""
    installments = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        plain = _PLAIN_INSTALLMENT.fullmatch(part)
        if plain:  # the common case, read as parse_date and parse_whole read it, faster
            try:
                installments.append((dt.date.fromisoformat(plain[1]), int(plain[2])))
                continue
            except ValueError:  # not a date: parse_date says so below
                pass
        day, colon, shares = part.partition(":")
        if not colon:
            raise ValidationError(
                f"“{part}” is not an installment; write date:shares pairs separated by "
                f"semicolons, e.g. 2025-01-31:1000;2025-04-30:1000."
            )
        installments.append((parse_date(day.strip()), parse_whole(shares.strip())))
    if not installments:
        raise ValidationError("no installment given; write e.g. 2025-01-31:1000;2025-04-30:1000.")
    return tuple(sorted(installments))


def read_grants(
    source: bytes | BinaryIO, *, today: dt.date | None = None, errors: list[RowError]
) -> Iterator[GrantLine]:
    """The well-formed lines of the administrator's grant spreadsheet (see
    ``docs/import-formats.md``), read as they are consumed; every problem of the file or
    of a line is appended to ``errors`` with its line, and such a line is not yielded.

    What the file must say consistently is checked across it: a grant number once, and one
    person's details the same on every line (for which the first line of each grant number
    and person is kept, not the lines). A grant dated after ``today`` (when given) is
    refused: a grant is onboarded once made.
    """
    lines = read_lines(
        source, columns=GRANT_COLUMNS, one_of=[("schedule", *SHAPE_COLUMNS)], errors=errors
    )
    # What the file must say consistently, kept as plain tuples: a grant number's first
    # line; a person's first line and details.
    first_line_of_number: dict[str, int] = {}
    first_optionee: dict[str, tuple[int, tuple]] = {}
    for line in lines:
        row = _Row(line)
        optionee = OptioneeDetails(
            employee_id=row.text("employee_id", required=True),
            legal_name=row.text("legal_name", required=True),
            email=row.value("email", parse_email),
            relationship=row.value("relationship", _choice(RELATIONSHIPS)),
            insider=row.value("insider", parse_flag),
        )
        optionee_read = not row.problems
        number = row.text("grant_number", required=True)
        option_type = row.value("type", _choice(OPTION_TYPES, upper=True), required=True)
        grant_date = row.value(
            "grant_date",
            _not_after(today, "import it once granted, or give --as-of."),
            required=True,
        )
        shares = row.value("shares", parse_whole, required=True)
        price = row.value("exercise_price", parse_price, required=True)
        term_end = row.value("term_end", parse_date, required=True)
        plan = row.text("plan", required=True)
        terms = row.text("terms")
        installments = _schedule(row, grant_date, shares)

        if number in first_line_of_number:
            row.problems.append(
                f"grant number {number} is already on line {first_line_of_number[number]}; "
                f"each grant has its own number."
            )
        elif number:
            first_line_of_number[number] = line.number
        if optionee_read:
            details = (optionee.legal_name, optionee.email, optionee.relationship, optionee.insider)
            first = first_optionee.setdefault(optionee.employee_id, (line.number, details))
            if first[1] != details:
                row.problems.append(
                    f"employee {optionee.employee_id} is on line {first[0]} with other details; "
                    f"give the same legal_name, email, relationship and insider on every line "
                    f"of one person."
                )
        if row.problems:
            errors.extend(row.errors())
            continue
        yield GrantLine(
            line=line.number,
            optionee=optionee,
            grant=GrantRecord(
                number=number,
                employee_id=optionee.employee_id,
                plan=plan,
                terms=terms or DEFAULT_TERMS,
                option_type=option_type,
                grant_date=grant_date,
                shares=shares,
                exercise_price=price,
                term_end=term_end,
                installments=installments,
            ),
            terms_given=bool(terms),
        )


def _schedule(
    row: _Row, grant_date: dt.date | None, shares: int | None
) -> tuple[tuple[dt.date, int], ...]:
    """The installments, from the ``schedule`` column or from the shape columns."""
    explicit = row.text("schedule")
    shape = {name: row.line.cells.get(name, "") for name in SHAPE_COLUMNS}
    if explicit and any(shape.values()):
        row.problems.append(
            "give the schedule either as installments (schedule) or as a shape "
            "(immediate_shares, cliff_months, vesting_months, every_months), not both."
        )
        return ()
    if explicit:
        if row.text("vesting_start"):
            row.problems.append(
                "vesting_start goes with a shape (vesting_months, every_months); the "
                "schedule column already dates each installment."
            )
            return ()
        return row.value("schedule", parse_installments) or ()
    if not any(shape.values()):
        row.problems.append(
            "the vesting schedule is missing: fill in schedule, or vesting_months and "
            "every_months (with immediate_shares and cliff_months if any)."
        )
        return ()
    known_problems = len(row.problems)
    numbers = {
        name: row.value(name, parse_whole if name == "immediate_shares" else parse_months) or 0
        for name in SHAPE_COLUMNS
    }
    if grant_date is None or shares is None or len(row.problems) > known_problems:
        return ()
    vesting_start = row.value("vesting_start", parse_date)
    if len(row.problems) > known_problems:
        return ()
    try:
        built = build_schedule(
            grant_date=grant_date, total_shares=shares, vesting_start=vesting_start, **numbers
        )
    except ValidationError as error:
        row.problems.append(f"schedule: {' '.join(error.messages)}")
        return ()
    return tuple(built)


def optionee_differences(given: OptioneeDetails, book: OptioneeDetails) -> list[str]:
    """What a line says about a person that the book says otherwise (blank: not compared)."""
    differences = []
    if given.legal_name != book.legal_name:
        differences.append(f"legal_name “{book.legal_name}” in the book")
    if given.email is not None and given.email.lower() != (book.email or "").lower():
        differences.append(f"email “{book.email or ''}” in the book")
    if given.relationship is not None and given.relationship != book.relationship:
        differences.append(f"relationship {book.relationship} in the book")
    if given.insider is not None and given.insider != book.insider:
        differences.append(f"insider {'yes' if book.insider else 'no'} in the book")
    return differences


def grant_differences(given: GrantRecord, book: GrantRecord) -> list[str]:
    """Each field in which a line differs from the grant of the same number in the book."""
    differences = []
    for field in (
        "employee_id",
        "plan",
        "terms",
        "option_type",
        "grant_date",
        "shares",
        "exercise_price",
        "term_end",
        "installments",
    ):
        mine, theirs = getattr(given, field), getattr(book, field)
        if mine != theirs:
            differences.append(f"{field} {_show(theirs)} in the book, {_show(mine)} in the file")
    return differences


def _show(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple):
        return ";".join(f"{day:%Y-%m-%d}:{shares}" for day, shares in value)
    return str(value)


# --------------------------------------------------------------------------- terminations


@dataclass(frozen=True)
class TerminationLine:
    line: int
    employee_id: str
    email: str
    on: dt.date
    reason: str
    note: str

    @property
    def who(self) -> str:
        return f"employee {self.employee_id}" if self.employee_id else self.email


@dataclass(frozen=True)
class ParsedTerminations:
    lines: list[TerminationLine]
    errors: list[RowError]


def parse_terminations(
    source: bytes | BinaryIO, *, today: dt.date | None = None
) -> ParsedTerminations:
    """Read the HR feed of terminations (see ``docs/import-formats.md``).

    Each line names a person by employee id or e-mail (or both), the termination date (for
    a death, the date of death) and the reason: one of the Open Cap Format's seven
    (``VOLUNTARY_RETIREMENT``, ...) or the short names other, disability, death. A termination
    dated after ``today`` (when given) is refused: the feed reports service that has ended.
    """
    errors: list[RowError] = []
    lines = read_lines(
        source,
        columns=TERMINATION_COLUMNS,
        one_of=[("employee_id", "email")],
        max_bytes=MAX_TERMINATION_BYTES,
        errors=errors,
    )
    parsed: list[TerminationLine] = []
    first_line_of: dict[str, int] = {}
    for line in lines:
        row = _Row(line)
        employee_id = row.text("employee_id")
        email = row.value("email", parse_email) or ""
        if not employee_id and not email and not row.problems:
            row.problems.append("give the person's employee_id or email.")
        on = row.value(
            "date", _not_after(today, "report a termination once it has happened."), required=True
        )
        reason = row.value("reason", parse_reason, required=True)
        note = row.text("note")
        keys = [
            key
            for key in (employee_id and f"id:{employee_id}", email and f"email:{email.lower()}")
            if key
        ]
        earlier = next((first_line_of[key] for key in keys if key in first_line_of), None)
        if earlier is not None:
            row.problems.append(
                f"this person is already on line {earlier}; one termination per person in a feed."
            )
        for key in keys:
            first_line_of.setdefault(key, line.number)
        if row.problems:
            errors.extend(row.errors())
            continue
        parsed.append(
            TerminationLine(
                line=line.number,
                employee_id=employee_id,
                email=email,
                on=on,
                reason=reason,
                note=note,
            )
        )
    return ParsedTerminations(lines=parsed, errors=errors)


# -- grant-date fair values (import_valuations)

VALUATION_COLUMNS = {
    "grant_number": True,
    "volatility": False,
    "risk_free_rate": False,
    "dividend_yield": False,
    "expected_term_years": False,
    "fair_value_per_share": False,
}
_RATE = re.compile(r"-?[0-9]+(?:\.(?P<fraction>[0-9]+))?")


def parse_rate(text: str) -> Decimal:
    """A fraction such as 0.45 (45%) or a number of years such as 6.25, up to 6 places."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise ValidationError(
            f"“{text}” is not a number; write it with a dot for the decimals, as a fraction "
            f"(0.45 for 45%, no % sign)."
        )
    if len(match["fraction"] or "") > 6:
        raise ValidationError(f"“{text}” has more than 6 decimal places; round it.")
    return Decimal(text)


@dataclass(frozen=True)
class ValuationLine:
    line: int
    grant_number: str
    values: dict  # the keyword arguments of ``GrantValuation.record``


def parse_valuations(source: bytes | BinaryIO) -> tuple[list[ValuationLine], list[RowError]]:
    """Read a file of grant-date fair values (see ``docs/import-formats.md``): per grant,
    the Black-Scholes-Merton inputs (volatility and risk-free rate; dividend yield 0 and the
    simplified expected term when blank) or a fair value per share from an outside
    valuation."""
    errors: list[RowError] = []
    lines = read_lines(
        source, columns=VALUATION_COLUMNS, max_bytes=MAX_TERMINATION_BYTES, errors=errors
    )
    parsed: list[ValuationLine] = []
    first_line_of: dict[str, int] = {}
    for line in lines:
        row = _Row(line)
        number = row.text("grant_number", required=True)
        values = {
            "volatility": row.value("volatility", parse_rate),
            "risk_free_rate": row.value("risk_free_rate", parse_rate),
            "dividend_yield": row.value("dividend_yield", parse_rate),
            "expected_term_years": row.value("expected_term_years", parse_rate),
            "fair_value_per_share": row.value("fair_value_per_share", parse_price),
        }
        given = values["fair_value_per_share"] is not None
        if given and any(values[k] is not None for k in ("volatility", "risk_free_rate")):
            row.problems.append(
                "give either fair_value_per_share (an outside valuation) or the volatility "
                "and risk_free_rate, not both."
            )
        elif not given and not row.problems:
            missing = [k for k in ("volatility", "risk_free_rate") if values[k] is None]
            if missing:
                row.problems.append(
                    f"{' and '.join(missing)} missing: give the volatility and risk_free_rate, "
                    f"or a fair_value_per_share."
                )
        if number in first_line_of:
            row.problems.append(
                f"grant {number} is already on line {first_line_of[number]}; one line a grant."
            )
        first_line_of.setdefault(number, line.number)
        if row.problems:
            errors.extend(row.errors())
            continue
        parsed.append(ValuationLine(line.number, number, values))
    return parsed, errors
