"""What this product keeps that OCF v1.2.0 has no field for, carried in OCF's own ``comments``.

OCF objects may carry free-text ``comments``. A comment that starts with ``PREFIX`` holds
one JSON object of ours (``equity-admin/v1 {"kind": ..., ...}``): the agreement forms
(issuer), the company's calendar and suspensions (issuer), an optionee's termination,
Section 16 windows and holds (stakeholder), the form a grant was made under (issuance)
and why shares were cancelled (cancellation). Every file stays valid OCF, other systems
read these as plain comments, and ``docs/ocf.md`` lists each kind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

PREFIX = "equity-admin/v1 "


def comment(kind: str, **data) -> str:
    """One extension comment; keys sorted, so the same facts give the same text."""
    return PREFIX + json.dumps({"kind": kind, **data}, sort_keys=True, ensure_ascii=False)


def read(comments: Iterable[str] | None) -> dict[str, list[dict]]:
    """The extension comments of an object, by kind (other comments are left alone).
    A comment with our prefix that is not a JSON object raises ValueError."""
    found: dict[str, list[dict]] = {}
    for text in comments or ():
        if not isinstance(text, str) or not text.startswith(PREFIX):
            continue
        data = json.loads(text[len(PREFIX) :])
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise ValueError("an equity-admin comment must be a JSON object with a kind")
        found.setdefault(data.pop("kind"), []).append(data)
    return found


def one(comments: Iterable[str] | None, kind: str) -> dict | None:
    return (read(comments).get(kind) or [None])[0]
