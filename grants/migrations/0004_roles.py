"""The back-office roles: a "Stock administrator" group and an "Auditor" group.

Runs ``grants.roles.sync_roles`` on this migration's models; it creates the permissions it
needs (they normally appear only after ``migrate`` ends) and is safe to run again.
"""

from django.db import migrations

from grants.roles import sync_roles


def create_roles(apps, schema_editor):
    sync_roles(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("grants", "0003_exercise_submission_key"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop, elidable=False),
    ]
