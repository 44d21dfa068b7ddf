"""The characters an identifier may hold: grant numbers and employee ids travel into URLs,
file names, spreadsheets and other systems, so they keep to a small, safe set
(``docs/import-formats.md``)."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._#-]*")
IDENTIFIER_RULE = (
    "use only letters A–Z, digits, spaces and - _ . #, starting with a letter or a digit"
)


def validate_identifier(value: str) -> None:
    """A grant number or an employee id: ASCII letters and digits, spaces and ``- _ . #``,
    starting with a letter or a digit (so no control character, no NUL, no slash, and
    nothing a spreadsheet would read as a formula)."""
    if IDENTIFIER.fullmatch(value):
        return
    if not value:
        raise ValidationError(f"It is empty: {IDENTIFIER_RULE}.", code="identifier")
    first = value[0]
    if IDENTIFIER.fullmatch(first):
        wrong = next(c for c in value if not IDENTIFIER.fullmatch(f"a{c}"))
        found = f"It holds {shown_character(wrong)}"
    else:
        found = f"It starts with {shown_character(first)}"
    raise ValidationError(f"{found}: {IDENTIFIER_RULE}.", code="identifier")


def shown_character(character: str) -> str:
    """A character as a message names it: “/”, or a control character by its code."""
    if unicodedata.category(character)[0] in "CZ" and character != " ":
        return f"the control character U+{ord(character):04X}"
    return f"“{character}”"
