"""E-mail to optionees: each step of an exercise, and the written notices the company gives.

The receivers of ``grants.events``' signals (connected in ``GrantsConfig.ready``); mail is
sent after the transaction commits, so a refused or rolled-back change never mails anyone.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.db import transaction
from django.template.loader import render_to_string

from grants.models import Exercise, Notice

logger = logging.getLogger(__name__)

EXERCISE_STEPS = {
    "recorded": "Your notice of exercise was received",
    "paid": "Payment received for your exercise",
    "issued": "Your shares have been issued",
    "cancelled": "Your exercise was cancelled",
}


def exercise_step(sender, *, exercise, step: str, **kwargs) -> None:
    """Tell the person who exercises (the optionee, or after death the successor)."""
    transaction.on_commit(lambda: _send_exercise_step(exercise.pk, step))


def _send_exercise_step(exercise_pk: int, step: str) -> None:
    exercise = Exercise.objects.select_related(
        "grant__optionee__user", "grant__plan__company", "successor__user"
    ).get(pk=exercise_pk)
    optionee = exercise.grant.optionee
    if exercise.successor and exercise.successor.user and exercise.successor.user.email:
        recipient = exercise.successor.user.email
    else:
        recipient = optionee.email or (optionee.user.email if optionee.user else "")
    if not recipient:
        logger.warning("No e-mail address for %s; exercise %s %s", optionee, exercise.pk, step)
        return
    body = render_to_string(
        "email/exercise_step.txt", {"exercise": exercise, "step": step, "optionee": optionee}
    )
    send_mail(
        f"{EXERCISE_STEPS[step]}: grant {exercise.grant.number}",
        body,
        settings.DEFAULT_FROM_EMAIL,
        [recipient],
    )


def notices_given(sender, *, notices, **kwargs) -> None:
    """E-mail the written notices given by e-mail (paragraph 9), after the commit: one query
    and one mail connection however many there are."""
    pks = [notice.pk for notice in notices if notice.method == Notice.Method.EMAIL]
    if pks:
        transaction.on_commit(lambda: _send_notices(pks))


def _send_notices(pks: list[int]) -> None:
    messages = []
    for notice in Notice.objects.filter(pk__in=pks).select_related("optionee__user", "company"):
        optionee = notice.optionee
        recipient = optionee.email or (optionee.user.email if optionee.user else "")
        if not recipient:
            logger.warning("No e-mail address for %s; notice %s not e-mailed", optionee, notice.pk)
            continue
        body = render_to_string("email/notice.txt", {"notice": notice, "optionee": optionee})
        messages.append(
            EmailMessage(notice.subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
        )
    if messages:
        get_connection().send_messages(messages)
