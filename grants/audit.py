"""Where a change came from, for the audit trail.

django-simple-history records who (the signed-in user) and when for every change; this
adds from where: "admin 203.0.113.5", "portal 198.51.100.7", "command expire_options" or
"code" (a shell, a migration, a test). The source is set for the duration of a request by
``AuditSourceMiddleware`` and of a command by ``OperationCommand``; every historical row
takes it as the default of its ``history_source`` field, so bulk-created history gets it
too.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

from django.db import models

from equity.signin import client_address

_source: contextvars.ContextVar[str] = contextvars.ContextVar("audit_source", default="code")


def current_source() -> str:
    return _source.get()


@contextmanager
def audit_source(source: str):
    token = _source.set(source[:200])
    try:
        yield
    finally:
        _source.reset(token)


class AuditSource(models.Model):
    """Abstract base of every historical model: the ``history_source`` column."""

    history_source = models.CharField(
        "from where", max_length=200, default=current_source, editable=False
    )

    class Meta:
        abstract = True


class AuditSourceMiddleware:
    """Tag every change made during a request with the screen family and the address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        area = "admin" if request.path.startswith("/admin/") else "portal"
        address = client_address(request)  # behind a trusted proxy, the person's own
        with audit_source(f"{area} {address}".strip()):
            return self.get_response(request)
