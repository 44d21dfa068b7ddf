"""The outbox: every e-mail is stored in the transaction of the event it reports (django-
mailer's database queue) and delivered after the commit, retried until the mail server
takes it, so a mail outage delays a message but never loses or doubles it.

``queue`` stores messages and asks for their delivery once the transaction commits;
``deliver`` sends what is queued (``python manage.py deliver_mail`` runs it from cron,
every minute, after putting the messages that failed back in the queue). The transport is
``settings.MAILER_EMAIL_BACKEND``: the ``EMAIL_BACKEND`` the operator configured (SMTP in
production), while Django's own ``EMAIL_BACKEND`` is the queue, so that the password-reset
mail waits in it too.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import smtplib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone
from mailer.engine import ensure_message_id, get_messages_for_sending
from mailer.models import (
    PRIORITY_MEDIUM,
    RESULT_FAILURE,
    RESULT_SUCCESS,
    Message,
    MessageLog,
    make_message,
)

logger = logging.getLogger(__name__)

# The header that ties an e-mail to the written notice it delivers (paragraph 9).
NOTICE_HEADER = "X-Equity-Notice"

# Refused for this one message (a bad address, say): the rest of the queue goes on.
MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
)


@dataclass
class Delivery:
    """What one delivery run did."""

    sent: int = 0
    deferred: int = 0
    stopped: str = ""  # why it stopped before the end of the queue (the server is down)


def queue(messages: list[EmailMessage]) -> list[int]:
    """Store ``messages`` in the current transaction; they are delivered after it commits
    (and by ``deliver_mail`` if that first attempt fails). Returns their queue ids."""
    rows = [make_message(priority=PRIORITY_MEDIUM) for _ in messages]
    for row, message in zip(rows, messages, strict=True):
        row.email = message
    if not rows:
        return []
    Message.objects.bulk_create(rows)
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: deliver_now(ids), robust=True)
    return ids


def deliver_now(ids: list[int]) -> None:
    """The first attempt, right after the commit. A failure is logged and leaves the
    messages queued for ``deliver_mail``: it never changes the answer to the request or
    command that queued them."""
    try:
        delivery = deliver(Message.objects.filter(pk__in=ids))
    except Exception:
        logger.exception("delivering %s queued e-mail(s) failed; deliver_mail retries", len(ids))
        return
    if delivery.stopped:
        logger.warning(
            "the mail server did not take the e-mail (%s); deliver_mail retries", delivery.stopped
        )


def deliver(queryset=None) -> Delivery:
    """Send the queued messages (those of ``queryset``, or all that are not deferred),
    oldest first, each once. A message the server refuses is deferred and the rest go on;
    when the server cannot be reached the message is deferred and the run stops, leaving
    the rest queued."""
    delivery = Delivery()
    with _only_sender() as alone:
        if not alone:
            delivery.stopped = "another delivery is running"
            return delivery
        smtp = None
        for context in get_messages_for_sending(queryset):
            with context as message:
                if message is None:  # another sender has it
                    continue
                email = message.email
                if email is None:
                    logger.warning("queued message %s cannot be read; discarded", message.pk)
                    message.delete()
                    continue
                try:
                    smtp = smtp or get_connection(backend=settings.MAILER_EMAIL_BACKEND)
                    email.connection = smtp
                    ensure_message_id(email)
                    email.send()
                except MESSAGE_ERRORS as refused:
                    _failed(message, refused)
                    delivery.deferred += 1
                    smtp = None
                    continue
                except Exception as down:  # no connection, a timeout: try again later
                    _failed(message, down)
                    delivery.deferred += 1
                    delivery.stopped = f"{type(down).__name__}: {down}"
                    break
                email.connection = None
                message.email = email
                MessageLog.objects.log(message, RESULT_SUCCESS)
                message.delete()
                _notice_delivered(email)
                delivery.sent += 1
        if smtp is not None:
            smtp.close()
    return delivery


def retry_failed() -> int:
    """Put every deferred message back in the queue; returns how many."""
    return Message.objects.retry_deferred()


def waiting() -> tuple[int, object]:
    """How many messages wait in the queue, and when the oldest was queued."""
    rows = Message.objects.order_by("when_added")
    oldest = rows.values_list("when_added", flat=True).first()
    return rows.count(), oldest


def _failed(message: Message, error: Exception) -> None:
    message.defer()
    MessageLog.objects.log(message, RESULT_FAILURE, log_message=f"{type(error).__name__}: {error}")
    logger.info("message %s deferred: %s", message.pk, error)


def _notice_delivered(email: EmailMessage) -> None:
    """Paragraph 9: an e-mailed notice is received when the mail server takes it."""
    notice_id = email.extra_headers.get(NOTICE_HEADER)
    if notice_id:
        from grants.models import Notice

        Notice.email_delivered(int(notice_id), timezone.now())


@contextmanager
def _only_sender() -> Iterator[bool]:
    """PostgreSQL locks each queued row while it is sent (``SELECT ... FOR UPDATE NOWAIT``),
    so two senders share the queue without sending a message twice. SQLite has no row
    locks: there, one sender at a time per database, by a lock file."""
    if connection.vendor != "sqlite":
        yield True
        return
    name = hashlib.sha256(str(connection.settings_dict["NAME"]).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"equity-outbox-{name}.lock"
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
