from django.apps import AppConfig
from django.db.models.signals import post_migrate


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = "Stock option grants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from grants.roles import sync_roles_after_migrate

        # After every migrate (and test-database flush): the back-office roles cover
        # every model of the app, including ones added after the roles' migration.
        post_migrate.connect(
            sync_roles_after_migrate, sender=self, dispatch_uid="grants.sync_roles"
        )
