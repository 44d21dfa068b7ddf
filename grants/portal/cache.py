"""The portal's rendered pages, served again until anything they show changes.

A fragment is cached under the signed-in person's key: who is asking, the stamps of every
optionee they act for and of the company facts (``grants/page_stamps.py``: database
triggers give a stamp a new value in the very statement that changes a fact behind it),
and the company's date (positions, countdowns and values are as of that day). The key is
read before anything the fragment shows, so a fragment is never older than its key; a
person whose stamps are not all written gets every page fresh, and so does a request inside
a transaction.

Only fragments with nothing of the request in them are cached: no form, no CSRF token, no
message, no signed-in name (the layout around them is rendered each time). The cache is
each process's own memory (``CACHES["pages"]``), emptied when the app restarts, so a
release never serves a page drawn by the previous release's templates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from grants import page_stamps

ONE_DAY = 24 * 60 * 60  # a key names its day: no entry is read after the next one


def person_key(request) -> str | None:
    """The key of everything the signed-in person's pages show, read once per request (and
    before anything they show); None if a stamp is missing and pages must be drawn afresh."""
    if not hasattr(request, "_person_key"):
        request._person_key = _person_key(request.user.pk)
    return request._person_key


def _person_key(user_id: int) -> str | None:
    rows = page_stamps.person_stamps(connection, user_id)
    if any(stamp is None for _, stamp, _ in rows):
        return None
    now = timezone.now()
    days = sorted({now.astimezone(ZoneInfo(zone)).date() for _, _, zone in rows if zone})
    parts = [str(user_id), *map(dt.date.isoformat, days), *(f"{i}={s}" for i, s, _ in sorted(rows))]
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


def fragment(request, name: str, draw: Callable[[], object]):
    """``draw()``'s result for this person, as drawn when nothing it shows was different.

    Nothing is kept or served inside a transaction: a page drawn from its uncommitted
    writes would outlive a rollback (and Django's ``TestCase`` tests, each a transaction,
    always see pages drawn afresh)."""
    if connection.in_atomic_block:
        return draw()
    key = person_key(request)
    if key is None:
        return draw()
    cache = caches["pages"]
    full_key = hashlib.blake2b(f"{name}|{key}".encode(), digest_size=16).hexdigest()
    value = cache.get(full_key)
    if value is None:
        value = draw()
        cache.set(full_key, value, ONE_DAY)
    return value
