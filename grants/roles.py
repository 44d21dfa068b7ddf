"""Who may do what in the back office.

Two groups, defined here and nowhere else:

- **Stock administrator**: every permission of the grants app (the book, the company
  facts and their audit histories) and the right to see user accounts. Its members are
  staff but not superusers, so the permissions below are what the admin checks.
- **Auditor**: the ``view_*`` permissions of the grants app only, which include the
  historical (audit) models: an auditor sees every screen and every history and can change
  nothing.

``sync_roles`` creates both groups with exactly these permissions. The data migration runs
it, and so does a ``post_migrate`` handler (``GrantsConfig.ready``), so a model added later
joins both roles on the next ``migrate``. Edit the roles here, not the groups in the admin:
the next migrate puts them back.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS

STOCK_ADMINISTRATOR = "Stock administrator"
AUDITOR = "Auditor"
ROLES = (STOCK_ADMINISTRATOR, AUDITOR)

APP_LABEL = "grants"
EXTRA_ADMINISTRATOR_PERMISSIONS = [("auth", "view_user")]


def _create_missing_permissions(apps, using: str) -> None:
    """Permissions normally appear after ``migrate`` ends; a data migration needs them now.

    The app configs of a migration's historical apps have no ``models_module``, and
    ``create_permissions`` would skip them, hence the flag while it runs.
    """
    for label in ("auth", APP_LABEL):
        app_config = apps.get_app_config(label)
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        try:
            create_permissions(app_config, verbosity=0, apps=apps, using=using)
        finally:
            app_config.models_module = models_module


def sync_roles(apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> dict:
    """Create or update both groups so each holds exactly its permissions; idempotent.

    ``apps`` is the migration's app registry when a migration calls it. Returns the groups
    by name.
    """
    _create_missing_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission").objects.using(using)
    book = Permission.filter(content_type__app_label=APP_LABEL)
    extra = Permission.none()
    for app_label, codename in EXTRA_ADMINISTRATOR_PERMISSIONS:
        extra |= Permission.filter(content_type__app_label=app_label, codename=codename)
    wanted = {
        STOCK_ADMINISTRATOR: list(book) + list(extra),
        AUDITOR: list(book.filter(codename__startswith="view_")),
    }
    groups = {}
    for name, permissions in wanted.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(permissions)
        groups[name] = group
    return groups


def sync_roles_after_migrate(sender, *, apps=global_apps, using=DEFAULT_DB_ALIAS, **kwargs):
    """``post_migrate`` handler: keep the roles current with the app's models."""
    sync_roles(apps=apps, using=using)


def assign_role(user, role: str) -> None:
    """Make ``user`` a member of the back-office ``role`` (and staff, to enter /admin/)."""
    from django.contrib.auth.models import Group

    if role not in ROLES:
        raise ValueError(f"“{role}” is not a role; use one of {', '.join(ROLES)}.")
    group = Group.objects.filter(name=role).first() or sync_roles()[role]
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(group)
