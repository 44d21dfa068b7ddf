"""The stock administrator's back office at /admin/.

Every screen that records a contract event calls the model verbs (``request_exercise``,
``terminate``, ``suspend_registration``, ...), so the admin can never record what the
agreement forbids. Each module registers the screens of one area.
"""

from grants.admin import legacy  # noqa: F401
