"""The stock administrator's back office at /admin/.

Every screen that records a contract event calls the model verbs (``request_exercise``,
``terminate``, ``suspend_registration``, ...), so the admin can never record what the
agreement forbids. Each module registers the screens of one area.
"""

from django.contrib import admin
from mailer.models import DontSendEntry, Message, MessageLog

from grants.admin import (
    agreement_forms,  # noqa: F401
    company,  # noqa: F401
    exercises,  # noqa: F401
    grants,  # noqa: F401
    notices,  # noqa: F401
    optionees,  # noqa: F401
    valuations,  # noqa: F401
)

# The outbox's tables (django-mailer) hold the text of every message: they stay out of the
# back office, whose dashboard shows how much mail waits (grants.admin.dashboard).
for _model in (Message, MessageLog, DontSendEntry):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
