"""E-mail to optionees: each step of an exercise, and the written notices the company gives.

The receivers of ``grants.events``' signals (connected in ``GrantsConfig.ready``). Each
message is stored in the outbox in the transaction of the event it reports and delivered
after the commit (``grants.outbox``): a refused or rolled-back change mails no one, and a
mail server that is down delays the message without losing it or undoing the event.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from grants import outbox
from grants.models import Exercise, Notice

logger = logging.getLogger(__name__)

EXERCISE_STEPS = {
    "recorded": "Your notice of exercise was received",
    "paid": "Payment received for your exercise",
    "issued": "Your shares have been issued",
    "cancelled": "Your exercise was cancelled",
}


def exercise_step(sender, *, exercise: Exercise, step: str, **kwargs) -> None:
    """Tell the person who exercises (the optionee, or after death the successor)."""
    grant = exercise.grant
    optionee = grant.optionee
    successor = exercise.successor
    if successor and successor.user and successor.user.email:
        recipient = successor.user.email
    else:
        recipient = optionee.email_address
    if not recipient:
        logger.warning("No e-mail address for %s; exercise %s %s", optionee, exercise.pk, step)
        return
    body = render_to_string(
        "email/exercise_step.txt", {"exercise": exercise, "step": step, "optionee": optionee}
    )
    outbox.queue(
        [
            EmailMessage(
                f"{EXERCISE_STEPS[step]}: grant {grant.number}",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [recipient],
            )
        ]
    )


def notices_given(sender, *, notices: list[Notice], **kwargs) -> None:
    """E-mail the written notices given by e-mail (paragraph 9); each is received when the
    mail server takes it (``Notice.email_delivered``)."""
    messages = []
    for notice in notices:
        if notice.method != Notice.Method.EMAIL or notice.direction != Notice.Direction.TO_OPTIONEE:
            continue
        optionee = notice.optionee
        recipient = optionee.email_address
        if not recipient:
            logger.warning("No e-mail address for %s; notice %s not e-mailed", optionee, notice.pk)
            continue
        body = render_to_string("email/notice.txt", {"notice": notice, "optionee": optionee})
        messages.append(
            EmailMessage(
                notice.subject,
                body,
                settings.DEFAULT_FROM_EMAIL,
                [recipient],
                headers={outbox.NOTICE_HEADER: str(notice.pk)},
            )
        )
    outbox.queue(messages)


def portal_invitation(optionee, set_password_link: str) -> None:
    """Invite the optionee to the portal: an e-mail with the link to set a password, stored
    in the outbox with the account it opens."""
    body = render_to_string(
        "email/portal_invitation.txt", {"optionee": optionee, "link": set_password_link}
    )
    outbox.queue(
        [
            EmailMessage(
                f"Your stock option portal at {optionee.company.name}",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [optionee.email],
            )
        ]
    )
