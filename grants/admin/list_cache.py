"""Back-office pages served again while nothing in the database has changed: the grant
list and the index (its dashboard).

A list of a million grants shows rows that any write to the book could move, so its key is
a version of the whole database: PostgreSQL's current snapshot (``pg_current_snapshot()``),
which changes whenever any transaction that wrote anything commits. Two moments with the
same snapshot saw the same committed data. The key is read first, so a page is never
older than its key (docs/performance.md); the cache only ever serves a page drawn from the
data its key names, or from newer data.

The key also names the session (so the page's user, permissions and second factor are
those it was drawn for), the whole address with its filters, and the company's date
(filters such as "expiring within 30 days" read it). Nothing is cached or served:

- on SQLite (no snapshot), or inside a transaction (the request's own writes would not
  change the snapshot), or for a request other than a plain GET;
- when a message is waiting to be shown, or the drawing of the page left one.

The page's CSRF token is the only part of it that belongs to the request: the page is
kept in pieces around each token and joined with the request's own token when served.
The pages live in each process's memory (``CACHES["lists"]``).
"""

from __future__ import annotations

import hashlib
import re
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone

ONE_DAY = 24 * 60 * 60
_TOKEN = re.compile(r'(?<=name="csrfmiddlewaretoken" value=")[^"]*(?=")')


def list_key(request) -> str | None:
    """The key of the list ``request`` asks for, or None when it must be drawn afresh."""
    if (
        request.method != "GET"
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
        or len(messages.get_messages(request))
    ):
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_current_snapshot()::text, "
            "array_agg(DISTINCT time_zone ORDER BY time_zone) FROM grants_company"
        )
        snapshot, zones = cursor.fetchone()
    now = timezone.now()
    days = [now.astimezone(ZoneInfo(zone)).date().isoformat() for zone in zones or []]
    verified = getattr(request.user, "is_verified", lambda: None)()
    parts = [
        snapshot,
        request.session.session_key or "",
        str(request.user.pk),
        str(verified),
        request.get_full_path(),
        *days,
    ]
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


def served_again(request, draw):
    """The page ``draw()`` answers with, served again under ``list_key`` while nothing it
    shows can have changed."""
    key = list_key(request)
    if key is None:
        return draw()
    cache = caches["lists"]
    pieces = cache.get(key)
    if pieces is not None:
        return HttpResponse(get_token(request).join(pieces))
    response = draw()
    if response.status_code != 200 or not hasattr(response, "add_post_render_callback"):
        return response

    def keep(rendered):
        if not getattr(messages.get_messages(request), "_queued_messages", None):
            cache.set(key, _TOKEN.split(rendered.content.decode()), ONE_DAY)

    # Kept once Django's handler has drawn it, where it draws every page. Drawn here, a few
    # frames deeper, the same template took four times as long on Python 3.11 (the grant
    # list's sidebar: 1.3 ms drawn by the handler, 5.8 ms drawn here): its calls crossed
    # the edge of a chunk of the interpreter's frame stack, allocated and freed again on
    # each call (docs/performance.md).
    response.add_post_render_callback(keep)
    return response


class ServedAgainChangeList:
    """A ModelAdmin mixin: its change list is served again under ``list_key``."""

    def changelist_view(self, request, extra_context=None):
        if extra_context is not None:
            return super().changelist_view(request, extra_context)
        return served_again(
            request, lambda: super(ServedAgainChangeList, self).changelist_view(request)
        )
