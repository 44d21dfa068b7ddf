"""Delivers the outbox: the e-mail waiting to be sent, retried until the mail server takes
it (cron runs it every minute; docs/operations.md)."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

from grants import outbox
from grants.audit import audit_source

logger = logging.getLogger("grants.operations")


class Command(BaseCommand):
    help = (
        "Send the e-mail waiting in the outbox (notices, exercise steps, password resets), "
        "oldest first, through EMAIL_BACKEND. Messages that failed before are tried again. "
        "When the mail server cannot be reached the run stops, keeps every message and exits "
        "non-zero; the next run (cron, every minute) tries again. Nothing is ever sent twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only say how many messages wait and since when; send nothing.",
        )

    def handle(self, *args, **options):
        if options["dry_run"]:
            count, oldest = outbox.waiting()
            self.stdout.write(
                f"Outbox: {count:,} waiting"
                + (f", oldest from {oldest:%Y-%m-%d %H:%M %Z}" if oldest else "")
            )
            return
        with audit_source("command deliver_mail"):
            retried = outbox.retry_failed()
            delivery = outbox.deliver()
        count, oldest = outbox.waiting()
        self.stdout.write("Outbox delivery")
        self.stdout.write(f"  tried again after a failure: {retried:,}")
        self.stdout.write(f"  sent: {delivery.sent:,}")
        self.stdout.write(f"  failed, to try again: {delivery.deferred:,}")
        self.stdout.write(f"  still waiting: {count:,}")
        logger.info(
            "Outbox delivery: sent %s, failed %s, waiting %s",
            delivery.sent,
            delivery.deferred,
            count,
        )
        if delivery.stopped and delivery.stopped != "another delivery is running":
            raise CommandError(
                f"The mail server did not take the mail ({delivery.stopped}); {count:,} "
                f"message(s) wait in the outbox and the next run tries again."
            )
