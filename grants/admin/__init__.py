"""The stock administrator's back office at /admin/.

Every screen that records a contract event calls the model verbs (``request_exercise``,
``terminate``, ``suspend_registration``, ...), so the admin can never record what the
agreement forbids. Each module registers the screens of one area.
"""

from grants.admin import (
    company,  # noqa: F401
    exercises,  # noqa: F401
    grants,  # noqa: F401
    notices,  # noqa: F401
    optionees,  # noqa: F401
)
