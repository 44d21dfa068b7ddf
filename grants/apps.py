"""The stock option grants app: the book, its back office, its portal and its commands."""

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate, post_save


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = "Stock option grants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from grants import events, notifications
        from grants.models import Optionee
        from grants.roles import sync_roles_after_migrate

        post_save.connect(
            Optionee.portal_account_saved,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="grants.account_email",
        )
        events.exercise_step.connect(notifications.exercise_step, dispatch_uid="grants.mail")
        events.notices_given.connect(notifications.notices_given, dispatch_uid="grants.mail")

        # After every migrate (and test-database flush): the back-office roles cover
        # every model of the app, including ones added after the roles' migration.
        post_migrate.connect(
            sync_roles_after_migrate, sender=self, dispatch_uid="grants.sync_roles"
        )
